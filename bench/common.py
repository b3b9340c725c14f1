"""What the benchmarks share: the sandbox as its own process, the connection TOML pointing at it,
and timing a command as a whole process (wall, CPU, peak RSS).

The benchmarks run `crosswalk sandbox` and every measured `crosswalk` command as separate
processes, so a command's wall time and peak memory are its own, not the sandbox's.
"""

import json
import re
import subprocess
import sys
import time


def start_sandbox(binary, size, scale, data, assets_limits=None, jira_limits=None):
    """Starts `crosswalk sandbox --json` with realistic latency at time scale `scale` (and the
    given `--assets-limits` / `--jira-limits` modes); returns (process, its URLs and credentials)
    once it printed them."""
    cmd = [binary, "--data-dir", data, "sandbox", "--size", size, "--latency", "realistic"]
    if assets_limits:
        cmd += ["--assets-limits", assets_limits]
    if jira_limits:
        cmd += ["--jira-limits", jira_limits]
    cmd += ["--time-scale", str(scale), "--json"]
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


def stop_sandbox(proc):
    proc.terminate()
    proc.wait()


def entra_connection(info, name, secret_env):
    """An Entra connection to the sandbox's sign-in and Graph (client secret from `secret_env`)."""
    return f"""
[[connection]]
name = "{name}"
kind = "entra"
tenant_id = "{info['tenant_id']}"
client_id = "{info['client_id']}"
cloud = "custom"
authority_url = "{info['login_url']}"
graph_url = "{info['graph_url']}"
secret = {{ env = "{secret_env}" }}
"""


def jira_connection(info, name, secret_env, assets=False):
    """A Jira connection to the sandbox's site (API token from `secret_env`), with its Assets API
    when `assets`."""
    assets_line = f"assets_api_url = \"{info['assets_api_url']}\"\n" if assets else ""
    return f"""
[[connection]]
name = "{name}"
kind = "jira"
site_url = "{info['jira_url']}"
email = "{info['jira_email']}"
{assets_line}secret = {{ env = "{secret_env}" }}
"""


def dataverse_connection(info, name, secret_env):
    """A Dataverse connection to the sandbox's organization (client secret from `secret_env`)."""
    return f"""
[[connection]]
name = "{name}"
kind = "dataverse"
org_url = "{info['dataverse_url']}"
tenant_id = "{info['tenant_id']}"
client_id = "{info['client_id']}"
cloud = "custom"
authority_url = "{info['login_url']}"
secret = {{ env = "{secret_env}" }}
"""


def apply_config(binary, data, path, text, env):
    """Writes `text` to `path` and applies it to the data folder `data` (not measured)."""
    with open(path, "w") as f:
        f.write(text)
    subprocess.run([binary, "--data-dir", data, "config", "apply", path], env=env, check=True,
                   capture_output=True)


def timed(cmd, env):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall s, CPU s, peak RSS MiB)."""
    started = time.monotonic()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", res.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", res.stderr)
    cpu = float(user.group(1)) + float(system.group(1)) if user and system else float("nan")
    if res.returncode != 0:
        sys.stderr.write(res.stderr[-4000:])
    return res.stdout, wall, cpu, int(rss.group(1)) / 1024 if rss else float("nan")
