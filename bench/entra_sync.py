#!/usr/bin/env python3
"""Entra Sync benchmark: a first full sync and a no-change re-sync against the sandbox.

The sandbox runs as its own process with realistic latency and Assets' documented rate limits,
sped up by --scale (every per-minute bucket and every delay is divided by it, so the ratio to
the theoretical floor stays meaningful). The sync runs as `crosswalk sync` in a separate
process, so its wall time and peak memory are its own.

    cargo build --release --no-default-features --bin crosswalk
    bench/entra_sync.py --size large --scale 20

Runs: a first full sync, a no-change re-sync, and a re-sync after the local database is lost
(every object must be found in Assets by its Entra Object ID, and only what differs written).
Prints a Markdown table row per run and the floor; nothing here is asserted.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Assets' documented per-minute budgets (api/atlassian.md §D.10).
CREATE_PER_MIN = 2000
UPDATE_PER_MIN = 1000  # PUT /object/{id} is not listed: the 1000/min default
INSTANCE_PER_MIN = 10000


def start_sandbox(binary, size, scale, data):
    cmd = [binary, "--data-dir", data, "sandbox", "--size", size, "--latency", "realistic",
           "--assets-limits", "documented", "--time-scale", str(scale), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    text = ""
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("sandbox exited before printing its URLs")
        text += line
        try:
            return proc, json.loads(text)
        except json.JSONDecodeError:
            continue


def config(info, memberships):
    kinds = "" if memberships else ", kinds = { memberships = false }"
    return f"""
[[connection]]
name = "bench-entra"
kind = "entra"
tenant_id = "{info['tenant_id']}"
client_id = "{info['client_id']}"
cloud = "custom"
authority_url = "{info['login_url']}"
graph_url = "{info['graph_url']}"
secret = {{ env = "BENCH_ENTRA_SECRET" }}

[[connection]]
name = "bench-jira"
kind = "jira"
site_url = "{info['jira_url']}"
email = "{info['jira_email']}"
assets_api_url = "{info['assets_api_url']}"
secret = {{ env = "BENCH_JIRA_TOKEN" }}

[[job]]
name = "bench"
kind = "entra-sync"
settings = {{ entra_connection = "bench-entra", jira_connection = "bench-jira"{kinds} }}
"""


def timed(cmd, env):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall seconds, peak RSS MiB)."""
    started = time.monotonic()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", res.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", res.stderr)
    cpu = float(user.group(1)) + float(system.group(1)) if user and system else float("nan")
    if res.returncode not in (0,):
        sys.stderr.write(res.stderr[-4000:])
    return res.stdout, wall, cpu, int(rss.group(1)) / 1024 if rss else float("nan")


def floor_seconds(counts, requests, scale):
    created = sum(c.get("created", 0) for c in counts.values())
    updated = sum(c.get("updated", 0) + c.get("retired", 0) for c in counts.values())
    assets = requests.get("assets", {}).get("requests", 0)
    minutes = max(created / CREATE_PER_MIN, updated / UPDATE_PER_MIN, assets / INSTANCE_PER_MIN)
    return minutes * 60 / scale


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="large")
    parser.add_argument("--scale", type=float, default=20)
    parser.add_argument("--binary", default="target/release/crosswalk")
    parser.add_argument("--no-memberships", action="store_true",
                        help="leave group memberships out (they are most of the objects)")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="crosswalk-bench-")
    sandbox, info = start_sandbox(args.binary, args.size, args.scale, os.path.join(work, "sandbox"))
    try:
        env = dict(os.environ, BENCH_ENTRA_SECRET=info["client_secret"],
                   BENCH_JIRA_TOKEN=info["jira_api_token"], RUST_LOG="warn")
        data = os.path.join(work, "data")
        cfg = os.path.join(work, "bench.toml")
        with open(cfg, "w") as f:
            f.write(config(info, not args.no_memberships))
        subprocess.run([args.binary, "--data-dir", data, "config", "apply", cfg], env=env,
                       check=True, capture_output=True)
        print(f"| run | wall (s) | sync CPU (s) | floor (s) | ratio | objects written | requests (graph / assets / login) | requests per object written | peak RSS (MiB) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for label in ("first full sync", "no-change re-sync", "re-sync after a lost database"):
            if label.endswith("lost database"):
                # The job's local state is gone (a new machine, a deleted data folder): the
                # config is applied again and the run must find every object, not create it.
                shutil.rmtree(data)
                subprocess.run([args.binary, "--data-dir", data, "config", "apply", cfg], env=env,
                               check=True, capture_output=True)
            out, wall, cpu, rss = timed([args.binary, "--data-dir", data, "sync", "bench", "--json"], env)
            run = json.loads(out)
            summary = run["summary"]
            counts = run.get("counts", {})
            requests = run.get("requests", {})
            written = sum(c.get("created", 0) + c.get("updated", 0) + c.get("retired", 0)
                          for c in counts.values())
            total = sum(r.get("requests", 0) for r in requests.values())
            floor = floor_seconds(counts, requests, args.scale)
            ratio = f"{wall / floor:.2f}" if floor > 0 else "n/a"
            per_object = f"{total / written:.2f}" if written else "n/a"
            rq = " / ".join(str(requests.get(k, {}).get("requests", 0))
                            for k in ("graph", "assets", "entra-login"))
            print(f"| {label} | {wall:.1f} | {cpu:.1f} | {floor:.1f} | {ratio} | {written} | {rq} | {per_object} | {rss:.0f} |")
            print(json.dumps({"label": label, "status": summary.get("status"), "counts": counts,
                              "requests": requests}), file=sys.stderr)
    finally:
        sandbox.terminate()
        sandbox.wait()


if __name__ == "__main__":
    main()
