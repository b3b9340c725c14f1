#!/usr/bin/env python3
"""Dynamics 365 connector benchmark: one Smart Connected Item (`dynamics-item`) with N linked
records against the sandbox.

The sandbox runs as its own process with realistic latency (Dataverse 60-120 ms, Jira
80-150 ms, sign-in 80-120 ms per request), Dataverse's service protection limits (always on
in the sandbox: 6,000 requests and 1,200 s of execution per 5 minutes per application user, 52
concurrent requests) and Jira Cloud's rate limits (`--jira-limits documented` by default, since
the real site has them: a burst bucket per endpoint and method, per-issue write windows; `off`
to leave them out), sped up by --scale (every delay and every limit window divided by it).
Each poll's throttled requests are reported per remote next to its requests.
Each poll runs as `crosswalk sync <job> --json` in a separate process, timed as a whole process.
A poll syncs up to 4 links (and creates up to 4 issues) at a time (poll.rs LINKS_IN_FLIGHT), so
the time at real latency is given as a range: requests spread over 4 in flight (optimistic) to
one at a time (pessimistic); `--scale 1` measures it directly.

Steps (setup is not measured):
  1. baseline poll (existing cases get no issue; the first poll only sets the baseline);
  2. setup: N new cases through the Dataverse Web API (thread pool), right after the baseline
     (auto-create reads `createdon ge baseline`, so no wait is needed);
  3. the poll that auto-creates N issues and links (the initial bulk link);
  4. the next two polls (they re-read what the bulk poll wrote: Jira's 2-minute overlap);
  5. after 2+ minutes with no change: 3 idle polls (median), then one with the check for
     deleted issues due (it runs every 15 minutes; the bench makes it due);
  6. propagation: a case title edited in Dataverse -> polls until the issue's summary shows it;
     an issue summary edited in Jira -> polls until the case title shows it;
  7. with --bulk-link N: setup, N new Jira issues whose summary is the Case Number
     (ticketnumber) of N unlinked generated cases; then `crosswalk bulk-link <job> --column
     ticketnumber --field summary` timed twice as a whole process: the preview alone (no --yes,
     writes nothing) and with --yes (the preview again, then the pairs linked as a run of the
     item); then the poll that first syncs those links.

    cargo build --release --no-default-features --bin crosswalk
    bench/dynamics_items.py --size large --records 10000 --scale 20 --bulk-link 1000
    bench/dynamics_items.py --size large --records 300 --scale 1 --settle 0 --bulk-link 100

Prints Markdown tables and a JSON line per run on stderr; nothing here is asserted.
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

from common import (apply_config, dataverse_connection, jira_connection, start_sandbox,
                    stop_sandbox, timed)

# Mean of the sandbox's realistic latency per server (faults.rs, LatencyProfile::realistic), ms.
MEAN_LATENCY_MS = {"jira": 115.0, "dataverse": 90.0, "login": 100.0}
# Jira's JQL window re-reads this much before the cursor (crosswalk-dynamics sync.rs OVERLAP).
OVERLAP_SECS = int(os.environ.get("BENCH_OVERLAP_SECS", "120"))
# Links synced / issues created at a time within one poll (crosswalk-dynamics poll.rs).
LINKS_IN_FLIGHT = 4
# Page sizes of a bulk-link preview (crosswalk-dynamics linking.rs BULK_RECORD_PAGE / _ISSUE_PAGE).
BULK_RECORD_PAGE, BULK_ISSUE_PAGE = 1000, 100


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def config(info, deletion_check_minutes=15):
    return (dataverse_connection(info, "bench-dataverse", "BENCH_DATAVERSE_SECRET")
            + jira_connection(info, "bench-jira", "BENCH_JIRA_TOKEN")
            + """
[[job]]
name = "bench-cases"
kind = "dynamics-item"
schedule = { every_minutes = 1 }
[job.settings]
dataverse_connection = "bench-dataverse"
jira_connection = "bench-jira"
mode = "two_way"
jira_project = "SUP"
jira_issue_type = "10004"
module = "Dynamics 365 Customer Service"
table = "incident"
auto_create = { enabled = true }
fields = [
  { dataverse = "title", jira = "summary" },
  { dataverse = "description", jira = "description" },
]
status = { enabled = true }
comments = true
attachments = false
deletion_check_minutes = %d
""" % deletion_check_minutes)


class Http:
    """One keep-alive connection per thread to one server; retries 429 after Retry-After."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.prefix = url.hostname, url.port, url.path.rstrip("/")
        self.local = threading.local()
        self.throttled = 0
        self.lock = threading.Lock()

    def _conn(self, fresh=False):
        if fresh or getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return self.local.conn

    def request(self, method, path, body=None, headers=None):
        payload = None if body is None else (body if isinstance(body, bytes) else
                                             json.dumps(body).encode())
        for attempt in range(50):
            conn = self._conn(fresh=attempt > 0 and getattr(self.local, "broken", False))
            try:
                conn.request(method, self.prefix + path, body=payload, headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
                self.local.broken = False
            except (OSError, http.client.HTTPException):
                self.local.broken = True
                time.sleep(0.2)
                continue
            if resp.status == 429:
                with self.lock:
                    self.throttled += 1
                time.sleep(float(resp.getheader("Retry-After") or 1))
                continue
            return resp.status, resp.getheaders(), data
        raise RuntimeError(f"{method} {path}: gave up after 50 attempts")


class Remotes:
    """The sandbox's Dataverse Web API (app token) and Jira REST API (admin basic auth)."""

    def __init__(self, info):
        self.info = info
        self.dv = Http(info["dataverse_url"])
        self.jira = Http(info["jira_url"])
        login = Http(info["login_url"])
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "scope": info["dataverse_url"].rstrip("/") + "/.default"}).encode()
        status, _, data = login.request(
            "POST", f"/{info['tenant_id']}/oauth2/v2.0/token", form,
            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, data
        token = json.loads(data)["access_token"]
        self.dv_headers = {"Authorization": f"Bearer {token}", "OData-Version": "4.0",
                           "OData-MaxVersion": "4.0", "Accept": "application/json",
                           "Content-Type": "application/json"}
        basic = base64.b64encode(f"{info['jira_email']}:{info['jira_api_token']}".encode()).decode()
        self.jira_headers = {"Authorization": f"Basic {basic}", "Accept": "application/json",
                             "Content-Type": "application/json"}

    def dv_call(self, method, path, body=None, expect=(200, 204)):
        status, headers, data = self.dv.request(method, "/api/data/v9.2" + path, body,
                                                self.dv_headers)
        if status not in expect:
            raise RuntimeError(f"Dataverse {method} {path}: {status} {data[:300]!r}")
        return headers, json.loads(data) if data else None

    def jira_call(self, method, path, body=None, expect=(200, 204)):
        status, _, data = self.jira.request(method, path, body, self.jira_headers)
        if status not in expect:
            raise RuntimeError(f"Jira {method} {path}: {status} {data[:300]!r}")
        return json.loads(data) if data else None

    def create_cases(self, n, threads):
        _, accounts = self.dv_call("GET", "/accounts?$select=accountid&$top=20")
        accounts = [a["accountid"] for a in accounts["value"]]

        def create(i):
            body = {"title": f"Bench case {i}",
                    "description": f"Bench case {i}: created by bench/dynamics_items.py.",
                    "prioritycode": 2, "caseorigincode": 1}
            if accounts:
                body["customerid_account@odata.bind"] = f"/accounts({accounts[i % len(accounts)]})"
            self.dv_call("POST", "/incidents", body)

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            for future in concurrent.futures.as_completed([pool.submit(create, i)
                                                           for i in range(n)]):
                future.result()

    def create_issues(self, summaries, threads):
        """Issues of SUP / 10004 made in Jira (not by the connector), one per summary: the bulk
        link's issues."""
        def create(summary):
            issue = self.jira_call("POST", "/rest/api/3/issue", {"fields": {
                "project": {"key": "SUP"}, "issuetype": {"id": "10004"},
                "summary": summary}}, expect=(200, 201))
            return issue["id"], issue["key"], summary

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return list(pool.map(create, summaries))

    def unlinked_cases(self, n, linked):
        """N existing (generated, pre-baseline) cases no link holds: (id, ticketnumber)."""
        out, path = [], ("/incidents?$select=incidentid,ticketnumber"
                         "&$orderby=createdon%20asc")
        headers = dict(self.dv_headers, Prefer="odata.maxpagesize=5000")
        while path and len(out) < n:
            status, _, data = self.dv.request("GET", path if path.startswith("/api/") else
                                              "/api/data/v9.2" + path, None, headers)
            assert status == 200, data[:300]
            page = json.loads(data)
            out += [(r["incidentid"], r["ticketnumber"]) for r in page["value"]
                    if r["incidentid"].lower() not in linked and r.get("ticketnumber")]
            nxt = page.get("@odata.nextLink")
            path = urllib.parse.urlsplit(nxt)._replace(scheme="", netloc="").geturl() if nxt else None
        return out[:n]

    def case_title(self, case_id):
        return self.dv_call("GET", f"/incidents({case_id})?$select=title")[1]["title"]

    def issue_summary(self, key):
        return self.jira_call("GET", f"/rest/api/3/issue/{key}?fields=summary")["fields"]["summary"]


def mean_latency(remote):
    for name, ms in MEAN_LATENCY_MS.items():
        if name in remote:
            return ms
    return 100.0


def real_estimate(wall, requests, scale, in_flight=LINKS_IN_FLIGHT):
    """(optimistic, pessimistic) wall at unscaled latency: the measured wall plus the latency the
    scale took away, spread over `in_flight` requests in flight or paid one at a time."""
    extra = sum(n * mean_latency(k) / 1000 for k, n in requests.items()) * (1 - 1 / scale)
    return wall + extra / in_flight, wall + extra


class Bench:
    def __init__(self, args, info, work):
        self.args, self.info = args, info
        self.data = os.path.join(work, "data")
        self.env = dict(os.environ, BENCH_DATAVERSE_SECRET=info["client_secret"],
                        BENCH_JIRA_TOKEN=info["jira_api_token"], RUST_LOG="warn")
        self.rows = []

    def poll(self, label):
        out, wall, cpu, rss = timed([self.args.binary, "--data-dir", self.data, "sync",
                                     "bench-cases", "--json"], self.env)
        return self.row(label, json.loads(out), wall, cpu, rss)

    def row(self, label, run, wall, cpu, rss, extra_requests=None, in_flight=LINKS_IN_FLIGHT):
        requests = {k: v.get("requests", 0) for k, v in run.get("requests", {}).items()}
        throttled = {k: v.get("throttled", 0) for k, v in run.get("requests", {}).items()}
        # For the estimate only: requests made outside the run (a bulk link's preview).
        counted = dict(requests)
        for k, n in (extra_requests or {}).items():
            counted[k] = counted.get(k, 0) + n
        lo, hi = real_estimate(wall, counted, self.args.scale, in_flight)
        row = {"label": label, "wall": wall, "real_lo": lo, "real_hi": hi, "cpu": cpu,
               "rss": rss, "requests": requests, "extra_requests": extra_requests or {},
               "throttled": throttled, "counts": run.get("counts", {}),
               "status": run.get("summary", {}).get("status"),
               "run_ms": run.get("summary", {}).get("durationMs"), "links": self.links()}
        self.rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        return row

    def bulk_link(self, label, yes):
        """`crosswalk bulk-link bench-cases --column ticketnumber --field summary [--yes] --json`
        timed as a whole process. The preview's reads are made outside any run, so the run's
        request counts leave them out; they are computed from the preview's page sizes (plus the
        item's sign-in and metadata reads, not counted) and added to the estimate only."""
        cmd = [self.args.binary, "--data-dir", self.data, "bulk-link", "bench-cases",
               "--column", "ticketnumber", "--field", "summary", "--json"]
        out, wall, cpu, rss = timed(cmd + (["--yes"] if yes else []), self.env)
        answer = json.loads(out)
        preview, result = answer["preview"], answer.get("result")
        pages = {"dataverse": -(-preview["records_read"] // BULK_RECORD_PAGE),
                 "jira": -(-preview["issues_read"] // BULK_ISSUE_PAGE)}
        if result:
            run_id = result["runId"]
            shown, _, _, _ = timed([self.args.binary, "--data-dir", self.data, "run", "show",
                                    str(run_id), "--json", "--events", "0"], self.env)
            run = json.loads(shown)["run"]
        else:
            run = {"summary": {"status": "preview only"}}
        # A bulk link's preview and its run (linking.rs run_bulk) go one pair at a time.
        row = self.row(label, run, wall, cpu, rss, extra_requests=pages, in_flight=1)
        row["preview"] = {k: v for k, v in preview.items() if k not in ("pairs", "ambiguous_values")}
        row["pairs"] = len(preview["pairs"])
        row["result"] = result
        print(json.dumps({"bulk_link": label, "preview": row["preview"], "pairs": row["pairs"],
                          "result": result}), file=sys.stderr, flush=True)
        return row

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.data, 'crosswalk.db')}?mode=ro", uri=True)

    def links(self):
        with self.db() as db:
            return db.execute("SELECT count(*) FROM links").fetchone()[0]

    def linked_records(self):
        with self.db() as db:
            return {r[0].lower() for r in db.execute("SELECT dataverse_id FROM links")}

    def some_links(self, n):
        with self.db() as db:
            return db.execute("SELECT dataverse_id, jira_key FROM links ORDER BY id LIMIT ?",
                              (n,)).fetchall()


def fmt_throttled(throttled):
    return " / ".join(f"{throttled.get(k, 0):,}" for k in ("dataverse", "jira"))


def fmt_requests(requests):
    return " / ".join(f"{requests.get(k, 0):,}" for k in ("dataverse", "jira")) + \
        "".join(f" / {k} {v}" for k, v in sorted(requests.items()) if k not in ("dataverse", "jira"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="large")
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--scale", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--bulk-link", type=int, default=0, metavar="N",
                        help="finally: N new Jira issues bulk-linked to N existing cases")
    parser.add_argument("--settle", type=float, default=None, metavar="SECONDS",
                        help="wait after each setup step for Dataverse's service-protection "
                             "window to pass (default: 5 minutes / scale + 1 s; 0 when the "
                             "setup is far below the limits, e.g. a small run at --scale 1)")
    parser.add_argument("--jira-limits", default="documented",
                        help="the sandbox's Jira rate limits: documented (default), "
                             "documented-no-retry-after, documented-mixed, or off")
    parser.add_argument("--binary", default="target/release/crosswalk")
    args = parser.parse_args()
    if args.settle is None:
        args.settle = 300 / args.scale + 1
    work = tempfile.mkdtemp(prefix="crosswalk-bench-dyn-")
    steps = {}
    t = time.monotonic()
    jira_limits = None if args.jira_limits == "off" else args.jira_limits
    sandbox, info = start_sandbox(args.binary, args.size, args.scale, os.path.join(work, "sandbox"),
                                  jira_limits=jira_limits)
    steps["sandbox start"] = time.monotonic() - t
    log(f"sandbox up in {steps['sandbox start']:.1f} s (Jira limits: {args.jira_limits}); "
        f"work dir {work}")
    try:
        bench = Bench(args, info, work)
        apply_config(args.binary, bench.data, os.path.join(work, "bench.toml"), config(info),
                     bench.env)
        remotes = Remotes(info)

        bench.poll("baseline (first poll)")
        # No wait: auto-create reads `createdon ge baseline`, so cases made in the baseline's
        # second get an issue too (checked below: links == records after the bulk poll).
        t = time.monotonic()
        remotes.create_cases(args.records, args.threads)
        steps["setup: create cases"] = time.monotonic() - t
        log(f"created {args.records} cases in {steps['setup: create cases']:.1f} s "
            f"({remotes.dv.throttled} throttled)")
        # Let the setup's requests leave Dataverse's service-protection window (5 min, scaled).
        time.sleep(args.settle)

        t = time.monotonic()
        bulk = bench.poll(f"bulk auto-create ({args.records:,} new cases)")
        steps["bulk poll"] = time.monotonic() - t
        bulk_end = time.monotonic()
        log(f"bulk poll {bulk['wall']:.1f} s, {bulk['links']} links")
        if bulk["links"] != args.records:
            log(f"WARNING: {bulk['links']} links after auto-creating {args.records} cases")
        bench.poll("next poll (re-reads the bulk poll's issues)")
        bench.poll("poll after that")
        quiet = OVERLAP_SECS + 10 - (time.monotonic() - bulk_end)
        if quiet > 0:
            log(f"waiting {quiet:.0f} s for Jira's 2-minute overlap window to pass")
            time.sleep(quiet)
        idle = [bench.poll(f"idle poll {i + 1}") for i in range(3)]
        # The check for deleted issues (every 15 minutes by default): made due with 0.
        apply_config(args.binary, bench.data, os.path.join(work, "bench.toml"),
                     config(info, deletion_check_minutes=0), bench.env)
        bench.poll(f"idle poll with the deletion check ({args.records:,} links)")
        apply_config(args.binary, bench.data, os.path.join(work, "bench.toml"), config(info),
                     bench.env)

        # Propagation: Dataverse -> Jira.
        (case_a, key_a), (case_b, key_b) = bench.some_links(2)
        new_title = f"Bench edit in Dynamics {int(time.time())}"
        remotes.dv_call("PATCH", f"/incidents({case_a})", {"title": new_title})
        propagation = {}
        for direction, check in (
                ("Dynamics -> Jira", lambda: remotes.issue_summary(key_a) == new_title),
                ("Jira -> Dynamics", lambda: remotes.case_title(case_b) == new_summary)):
            if direction == "Jira -> Dynamics":
                new_summary = f"Bench edit in Jira {int(time.time())}"
                remotes.jira_call("PUT", f"/rest/api/3/issue/{key_b}",
                                  {"fields": {"summary": new_summary}})
            polls = []
            for attempt in range(3):
                polls.append(bench.poll(f"change poll {direction} #{attempt + 1}"))
                if check():
                    break
            propagation[direction] = (polls, check())
        idle_after = bench.poll("idle poll after the edits (overlap window)")
        bulk_link = None
        if args.bulk_link:
            t = time.monotonic()
            cases = remotes.unlinked_cases(args.bulk_link, bench.linked_records())
            remotes.create_issues([ticket for _, ticket in cases], args.threads)
            steps["setup: bulk-link issues"] = time.monotonic() - t
            time.sleep(args.settle)
            before = bench.links()
            bench.bulk_link(f"bulk-link preview only ({len(cases):,} matching pairs)", yes=False)
            bulk_link = bench.bulk_link(f"bulk-link --yes ({len(cases):,} pairs)", yes=True)
            bulk_link["new_links"] = bulk_link["links"] - before
            bench.poll("poll after the bulk link (first sync of the new links)")
    finally:
        stop_sandbox(sandbox)

    print(f"\nsize {args.size}, {args.records:,} new cases, scale {args.scale:g}, "
          f"setup {steps['setup: create cases']:.0f} s\n")
    print("| poll | status | wall at scale (s) | est. wall at real latency (s, 4 in flight – 1) | CPU (s) | requests (dataverse / jira / other) | throttled (dataverse / jira) | counts | links | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in bench.rows:
        counts = ", ".join(f"{k}: " + " ".join(f"{a} {n}" for a, n in v.items() if n)
                           for k, v in r["counts"].items() if any(v.values())) or "—"
        extra = (" (+ preview ≈ " + fmt_requests(r["extra_requests"]) + " pages)"
                 if r["extra_requests"] else "")
        print(f"| {r['label']} | {r['status']} | {r['wall']:.1f} | {r['real_lo']:.1f}–{r['real_hi']:.1f} | "
              f"{r['cpu']:.1f} | {fmt_requests(r['requests'])}{extra} | {fmt_throttled(r['throttled'])} | {counts} | "
              f"{r['links']:,} | {r['rss']:.0f} |")
    created = bulk["links"]
    total = sum(bulk["requests"].values())
    print(f"\nbulk: {created:,} links, {created / bulk['wall']:.1f} issues/s at scale, "
          f"{created / bulk['real_hi']:.2f}–{created / bulk['real_lo']:.2f} issues/s est. at real "
          f"latency, {total / max(created, 1):.2f} requests per link")
    med = lambda key: statistics.median(r[key] for r in idle)
    print(f"idle median: wall {med('wall'):.2f} s (real est. {med('real_lo'):.2f}–{med('real_hi'):.2f}), CPU {med('cpu'):.2f} s, "
          f"RSS {med('rss'):.0f} MiB, requests {fmt_requests(idle[1]['requests'])}")
    for direction, (polls, ok) in propagation.items():
        print(f"propagation {direction}: visible={ok} after {len(polls)} poll(s); poll wall "
              f"{sum(p['wall'] for p in polls):.2f} s at scale, {sum(p['real_lo'] for p in polls):.2f}–"
              f"{sum(p['real_hi'] for p in polls):.2f} s est. at real latency (+ up to 60 s poll interval)")
    if bulk_link:
        n = max(bulk_link["new_links"], 1)
        print(f"bulk link: {bulk_link['new_links']:,} links of {bulk_link['pairs']:,} previewed pairs "
              f"(result {bulk_link['result']}), {n / bulk_link['wall']:.1f} links/s at scale "
              f"(whole process, preview included), {n / bulk_link['real_hi']:.2f}–"
              f"{n / bulk_link['real_lo']:.2f} links/s est. at real latency, "
              f"{sum(bulk_link['requests'].values()) / n:.2f} run requests per link; "
              f"preview {bulk_link['preview']}")
    print(f"idle poll after the edits: {idle_after['wall']:.2f} s, {fmt_requests(idle_after['requests'])}")
    jira_429 = sum(r["throttled"].get("jira", 0) for r in bench.rows)
    jira_requests = sum(r["requests"].get("jira", 0) for r in bench.rows)
    not_ok = [f"{r['label']}: {r['status']}" for r in bench.rows
              if r["status"] not in ("succeeded", "preview only")]
    print(f"Jira limits {args.jira_limits}: {jira_429:,} of {jira_requests:,} Jira requests of the "
          f"polls throttled (429); setup requests throttled: jira {remotes.jira.throttled:,}, "
          f"dataverse {remotes.dv.throttled:,}; runs not succeeded: {not_ok or 'none'}")
    print("steps: " + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()))


if __name__ == "__main__":
    main()
