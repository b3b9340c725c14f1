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
import shutil
import subprocess
import sys
import tempfile

from common import (apply_config, entra_connection, jira_connection, start_sandbox, stop_sandbox,
                    timed)

# Assets' documented per-minute budgets (api/atlassian.md §D.10).
CREATE_PER_MIN = 2000
UPDATE_PER_MIN = 1000  # PUT /object/{id} is not listed: the 1000/min default
INSTANCE_PER_MIN = 10000


def config(info, memberships):
    kinds = "" if memberships else ", kinds = { memberships = false }"
    return (entra_connection(info, "bench-entra", "BENCH_ENTRA_SECRET")
            + jira_connection(info, "bench-jira", "BENCH_JIRA_TOKEN", assets=True)
            + f"""
[[job]]
name = "bench"
kind = "entra-sync"
settings = {{ entra_connection = "bench-entra", jira_connection = "bench-jira"{kinds} }}
""")


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
    sandbox, info = start_sandbox(args.binary, args.size, args.scale, os.path.join(work, "sandbox"),
                                  assets_limits="documented")
    try:
        env = dict(os.environ, BENCH_ENTRA_SECRET=info["client_secret"],
                   BENCH_JIRA_TOKEN=info["jira_api_token"], RUST_LOG="warn")
        data = os.path.join(work, "data")
        cfg = os.path.join(work, "bench.toml")
        apply_config(args.binary, data, cfg, config(info, not args.no_memberships), env)
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
        stop_sandbox(sandbox)


if __name__ == "__main__":
    main()
