"""End-to-end test of the Crosswalk console in its real window (driven by tests/e2e.sh).

Adds a Jira connection through the window, tests it against a small local Jira responder (real
HTTP over loopback; the full sandbox replaces it later), and checks what an admin relies on:
the connection is listed, its API token is in the OS keychain (Secret Service), and the token
appears nowhere in the data folder (database, WAL, logs).

Then the demo (`crosswalk demo`, what "Try with demo data" opens in a window of its own) runs
its Entra Sync job against the sandbox through the window: Sync now (or the run the schedule
already started), the progress bar, the finished run's counts per object kind, and the job's
Entra Sync settings form with its connections. In the same demo window an admin then creates a
Smart Connected Item (Dynamics Tasks → Jira) with the two-step wizard, syncs it once (the baseline),
creates a task in the sandbox's Dataverse over its Web API, syncs again and sees the Jira issue the
item created: in Jira, in the item's Links panel and in the run's page.

The desktop around the windows is observed through a stand-in on the session bus
(tests/desktop_bus.py: notification server and tray watcher). After the first window the admin
sets up a nightly Entra Sync from the CLI (`config apply`, secrets in the keychain) whose Entra
tenant is a sandbox started 410 days in the past (faketime), so its app's client secret expires in
about 20 days, and whose Jira API token has been revoked. In the console opened next, its tray item has
registered; the menu, read over com.canonical.dbusmenu as a panel would, lists the four actions,
and "Sync all now" clicked there starts the job (trigger sync_now; it fails, and since the admin
started it there is no failure notification), while the secret-expiry watch notifies. After the
demo, the console is opened once more when the job is due: the scheduled run fails at start-up
and the desktop gets a notification naming the job, what went wrong and the fix.

Usage: python tests/e2e.py APP DATA_DIR [SCREENSHOT]
Env: E2E_SYNC_TIMEOUT (seconds to wait for the demo's Entra Sync run; default 3600),
E2E_DESKTOP_RECORD (the file tests/desktop_bus.py records the desktop's calls in).
"""
import base64
import datetime
import http.server
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import desktop_bus

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import Select, WebDriverWait

APP, DATA_DIR = sys.argv[1], pathlib.Path(sys.argv[2])
ENTRA_JOB = "demo-entra-to-assets"
SYNC_TIMEOUT = float(os.environ.get("E2E_SYNC_TIMEOUT", "3600"))
SHOT = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
EMAIL = "admin@example.com"
TOKEN = "e2e-token-" + os.urandom(8).hex()  # unique, so finding it anywhere means it leaked
# The sandbox's app registration and Jira admin (crosswalk-sandbox identity.rs / jira/mod.rs):
# the test acts as a Dynamics user and reads Jira through the same documented APIs.
SANDBOX_TENANT = "8d3c5b2a-1f4e-4b6a-9c7d-2e5f8a1b3c4d"
SANDBOX_CLIENT_ID = "3f1d9e7a-5b2c-4d8e-a6f0-9c1b2d3e4f5a"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret~Kq8Q~value"
SANDBOX_JIRA = ("admin@contoso.com", "sandbox-jira-api-token")
ITEM_JOB = "e2e-tasks-to-jira"
DESKTOP = desktop_bus.Desktop(os.environ["E2E_DESKTOP_RECORD"])
# The admin's own nightly sync (set up from the CLI): the Entra tenant is a sandbox whose clock
# runs SANDBOX_AGE behind, the Jira API token has been revoked.
NIGHTLY_JOB = "e2e-nightly"
SANDBOX_AGE = "-410d"
TRAY_ACTIONS = ["Open Crosswalk", "Sync all now", "Pause schedules", "Quit Crosswalk"]


class JiraResponder(http.server.BaseHTTPRequestHandler):
    """Answers the two calls "Test connection" makes, checking Basic auth like Jira Cloud."""

    def do_GET(self):  # noqa: N802 (http.server naming)
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self.reply(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
        if self.path.startswith("/rest/api/3/myself"):
            return self.reply(200, {"accountId": "e2e", "displayName": "E2E Admin", "emailAddress": EMAIL})
        if self.path.startswith("/rest/servicedeskapi/assets/workspace"):
            return self.reply(200, {"size": 1, "start": 0, "limit": 50, "isLastPage": True,
                                    "values": [{"workspaceId": "f1668d0c-828c-470c-b7d1-8c4f48cd345a"}]})
        return self.reply(404, {"errorMessages": ["Not found"], "errors": {}})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def wait_for_demo_process():
    """The pid of the `crosswalk ... demo` process the console spawned."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-f", f"{APP} --data-dir .* demo"], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.2)
    raise AssertionError("no demo process appeared")


def session(*args):
    """A WebDriver session on a new Crosswalk window started with `args`."""
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": APP, "args": list(args)})
    return webdriver.Remote(command_executor="http://127.0.0.1:4444", options=opts)


def count(text):
    """A number as the console formats it ("27,773")."""
    digits = "".join(c for c in text if c.isdigit())
    return int(digits) if digits else 0


def job_row(driver, job=ENTRA_JOB):
    return driver.find_element(By.CSS_SELECTOR, f'[data-job="{job}"]')


def row_attr(driver, name, job=ENTRA_JOB):
    """An attribute of a job's row, re-finding it when the list re-renders."""
    for _ in range(5):
        try:
            return job_row(driver, job).get_attribute(name)
        except StaleElementReferenceException:
            time.sleep(0.2)
    return job_row(driver, job).get_attribute(name)


def http_json(method, url, body=None, headers=None):
    """One JSON request over loopback; returns (status, headers, parsed body or None)."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return response.status, response.headers, (json.loads(raw) if raw else None)


def sync_now_and_wait(driver, job, timeout=120):
    """Clicks Sync now on an idle job and waits for that run to end; returns (run id, status)."""
    WebDriverWait(driver, timeout).until(lambda d: row_attr(d, "data-running", job) == "false")
    before = row_attr(driver, "data-last-run-id", job)
    job_row(driver, job).find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').click()
    # The row can list the new run as its last one (status running) a moment before it shows
    # the job running, so "ended" also needs the last run's status to be a final one.
    WebDriverWait(driver, timeout).until(
        lambda d: row_attr(d, "data-running", job) == "false"
        and row_attr(d, "data-last-run-id", job) not in (None, "", before)
        and row_attr(d, "data-last-status", job) not in (None, "", "running"))
    return row_attr(driver, "data-last-run-id", job), row_attr(driver, "data-last-status", job)


def progress_snapshot(driver):
    """The Entra Sync job's progress bar as {text, max, value}, or None while there is none."""
    return driver.execute_script(
        """const row = document.querySelector(arguments[0]);
           const bar = row && row.querySelector('progress');
           if (!bar) return null;
           const box = row.querySelector('.progress');
           return {text: (box ? box.innerText : '').replace(/\\n/g, ' '),
                   max: bar.getAttribute('max'), value: bar.getAttribute('value')};""",
        f'[data-job="{ENTRA_JOB}"]')


def demo_entra_sync():
    """The demo's Entra Sync job, synced and inspected through its own console window."""
    t0 = time.monotonic()
    # Small demo data (2.5k objects): the same paths as medium, in seconds rather than minutes.
    driver = session("--data-dir", str(DATA_DIR), "demo", "--size", "small")
    print(f"demo window up in {time.monotonic() - t0:.2f}s")
    wait = WebDriverWait(driver, 60)
    try:
        wait.until(lambda d: d.find_element(By.ID, "nav-jobs")).click()
        wait.until(lambda d: job_row(d))
        assert "entra" in row_attr(driver, "data-kind"), row_attr(driver, "data-kind")

        # The job is hourly and due at once, so the scheduler may have started it already; Sync
        # now is refused while a run is going, so only click it when the job is idle.
        t_sync = time.monotonic()
        if row_attr(driver, "data-running") == "true":
            print("the schedule had already started a run; following it")
        else:
            job_row(driver).find_element(By.CSS_SELECTOR, '[data-action="sync-now"]').click()
        WebDriverWait(driver, 60).until(lambda d: row_attr(d, "data-running") == "true")
        run_id = row_attr(driver, "data-run-id")
        # Read the bar in one script call: the row re-renders on every progress tick, so element
        # handles taken a moment earlier can already be stale.
        bar = wait.until(lambda d: progress_snapshot(d))
        print(f"PASS progress bar of run #{run_id} appeared: {bar['text']} (max={bar['max']})")

        if SHOT:
            driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-entra-jobs.png")
        last_report = time.monotonic()
        deadline = time.monotonic() + SYNC_TIMEOUT
        while True:
            try:
                running = row_attr(driver, "data-running")
                if running == "false" and row_attr(driver, "data-last-run-id") == run_id:
                    break
                if time.monotonic() - last_report > 120:
                    progress = job_row(driver).find_elements(By.CSS_SELECTOR, ".progress")
                    text = progress[0].text.replace("\n", " ") if progress else "?"
                    print(f"  {time.monotonic() - t_sync:5.0f}s run #{run_id}: {text}", flush=True)
                    last_report = time.monotonic()
            except WebDriverException as error:  # the row re-rendered between two reads
                print("  (retrying after", type(error).__name__, ")")
            assert time.monotonic() < deadline, f"run #{run_id} still running after {SYNC_TIMEOUT:.0f}s"
            time.sleep(2)
        elapsed = time.monotonic() - t_sync
        status = row_attr(driver, "data-last-status")
        print(f"demo Entra Sync run #{run_id} finished in {elapsed:.0f}s with status {status}")
        assert status == "succeeded", f"run #{run_id} ended {status}"
        print(f"PASS Entra Sync run #{run_id} succeeded ({elapsed:.0f}s)")

        # The run's page shows what was created, per object kind.
        job_row(driver).find_element(By.CSS_SELECTOR, "a.run-link").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'[data-run-id="{run_id}"][data-status]'))
        created = {}
        for kind in ("user", "group", "membership", "device", "managed_device", "application"):
            cells = driver.find_elements(By.CSS_SELECTOR, f'tr[data-kind="{kind}"] td[data-count="created"]')
            created[kind] = count(cells[0].text) if cells else 0
        total = count(driver.find_element(By.CSS_SELECTOR, '[data-total="created"] .tile-value').text)
        print("run counts, created per kind:", created, "total", total)
        assert created["user"] > 0 and created["group"] > 0, created
        assert total >= sum(created.values()), (total, created)
        print("PASS run page shows created users and groups")
        if SHOT:
            driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-entra-run.png")

        # The job's editor shows the Entra Sync form, not raw JSON, with the demo's connections.
        driver.find_element(By.ID, "nav-jobs").click()
        wait.until(lambda d: job_row(d)).find_element(By.CSS_SELECTOR, '[data-action="edit"]').click()
        entra = wait.until(lambda d: d.find_element(By.ID, "job-entra-connection"))
        wait.until(lambda d: Select(d.find_element(By.ID, "job-entra-connection")).first_selected_option
                   .get_attribute("value") == "demo-entra")
        jira = Select(driver.find_element(By.ID, "job-jira-connection")).first_selected_option.get_attribute("value")
        assert jira == "demo-jira", jira
        assert driver.find_element(By.ID, "job-schema-key").get_attribute("value") == "ENTRA"
        intune = driver.find_element(By.CSS_SELECTOR, '[data-kind="managed_devices"]').text
        assert "DeviceManagementManagedDevices.Read.All" in intune, intune
        assert not driver.find_elements(By.ID, "job-settings"), "the raw JSON is shown by default"
        print("PASS Entra Sync form shows connections", Select(entra).first_selected_option.text, "and", jira)
        if SHOT:
            driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-entra-form.png")
        driver.find_element(By.CSS_SELECTOR, "#job-form .dialog-footer .button:not(.button-primary)").click()
        wait.until(lambda d: not d.find_elements(By.ID, "job-form"))

        demo_dynamics_item(driver, wait)
    finally:
        driver.quit()
    print(f"demo e2e {time.monotonic() - t0:.2f}s")


def connection_field(driver, wait, connection, field_id):
    """A field's value in a connection's editor (the demo's sandbox URLs change every start)."""
    driver.find_element(By.ID, "nav-connections").click()
    row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'[data-connection="{connection}"]'))
    row.find_element(By.CSS_SELECTOR, '[data-action="edit"]').click()
    value = wait.until(lambda d: d.find_element(By.ID, field_id).get_attribute("value"))
    driver.find_element(By.CSS_SELECTOR, "#connection-form .dialog-footer .button:not(.button-primary)").click()
    wait.until(lambda d: not d.find_elements(By.ID, "connection-form"))
    return value.rstrip("/")


def select_when_offered(wait, element_id, value):
    """Picks `value` in a select once the live catalogue has offered it."""
    def offered(d):
        element = d.find_element(By.ID, element_id)
        values = [o.get_attribute("value") for o in element.find_elements(By.TAG_NAME, "option")]
        return element if value in values else False
    Select(wait.until(offered)).select_by_value(value)


def demo_dynamics_item(driver, wait):
    """A Smart Connected Item made with the wizard: a new Dynamics task becomes a Jira issue."""
    t0 = time.monotonic()
    org = connection_field(driver, wait, "demo-dynamics", "conn-org-url")
    login = connection_field(driver, wait, "demo-dynamics", "conn-authority-url")
    site = connection_field(driver, wait, "demo-jira", "conn-site-url")

    # Step 1 of the wizard: mode, connections, project + issue type, module + table.
    driver.find_element(By.ID, "nav-jobs").click()
    wait.until(lambda d: d.find_element(By.ID, "add-job")).click()
    form = wait.until(lambda d: d.find_element(By.ID, "job-form"))
    form.find_element(By.ID, "job-name").send_keys(ITEM_JOB)
    Select(form.find_element(By.ID, "job-kind")).select_by_value("dynamics-item")
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-dynamics-step="1"]'))
    driver.find_element(By.CSS_SELECTOR, 'input[name="dynamics-mode"][value="one_way"]').click()
    select_when_offered(wait, "dynamics-dataverse-connection", "demo-dynamics")
    select_when_offered(wait, "dynamics-jira-connection", "demo-jira")
    select_when_offered(wait, "dynamics-project", "SUP")
    select_when_offered(wait, "dynamics-issue-type", "10004")
    select_when_offered(wait, "dynamics-module", "Activities")
    select_when_offered(wait, "dynamics-table", "task")
    driver.find_element(By.ID, "dynamics-next").click()

    # Step 2: auto-create on (mappings left to the defaults: the summary is the task's subject).
    auto = wait.until(lambda d: d.find_element(By.ID, "dynamics-auto-create"))
    if not auto.is_selected():
        auto.click()
    if SHOT:
        driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-dynamics-wizard.png")
    driver.find_element(By.ID, "job-save").click()
    wait.until(lambda d: not d.find_elements(By.ID, "job-form"))
    wait.until(lambda d: job_row(d, ITEM_JOB))
    print(f"PASS wizard saved Smart Connected Item {ITEM_JOB} ({time.monotonic() - t0:.1f}s)")

    # The first poll sets the item's baseline: records older than it never get an issue.
    run_id, status = sync_now_and_wait(driver, ITEM_JOB)
    assert status == "succeeded", f"baseline run #{run_id} ended {status}"

    # A Dynamics user creates a task (Web API, as the Dynamics UI would).
    _, _, token = http_json(
        "POST", f"{login}/{SANDBOX_TENANT}/oauth2/v2.0/token",
        urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": SANDBOX_CLIENT_ID,
                                "client_secret": SANDBOX_CLIENT_SECRET, "scope": f"{org}/.default"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    subject = "E2E: laptop screen flickers " + os.urandom(3).hex()
    status_code, headers, _ = http_json(
        "POST", f"{org}/api/data/v9.2/tasks", {"subject": subject},
        {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json",
         "OData-MaxVersion": "4.0", "OData-Version": "4.0"})
    assert status_code == 204, status_code
    print("created Dataverse task", headers.get("OData-EntityId"))

    t_sync = time.monotonic()
    run_id, status = sync_now_and_wait(driver, ITEM_JOB)
    assert status == "succeeded", f"run #{run_id} ended {status}"
    print(f"PASS item run #{run_id} succeeded ({time.monotonic() - t_sync:.1f}s)")

    # The item's Links panel lists the new, automatically managed link.
    job_row(driver, ITEM_JOB).find_element(By.CSS_SELECTOR, '[data-action="links"]').click()
    link = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-link][data-managed="auto"]'))
    key = link.get_attribute("data-link")
    # Names come after the list, in one batched read per side: the task's subject is both the
    # record's name and the issue's summary.
    link = wait.until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'tr[data-link="{key}"][data-names="loaded"]'))
    assert link.text.count(subject) == 2, link.text
    print("PASS links panel lists", key, "|", link.text.replace("\n", " | ")[:120])
    if SHOT:
        time.sleep(0.5)  # let WebKit paint the names just filled in before the capture
        driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-dynamics-links.png")

    # Jira holds that issue, named after the task.
    basic = "Basic " + base64.b64encode(":".join(SANDBOX_JIRA).encode()).decode()
    _, _, issue = http_json("GET", f"{site}/rest/api/3/issue/{key}?fields=summary,project",
                            headers={"Authorization": basic, "Accept": "application/json"})
    assert issue["fields"]["summary"] == subject, issue["fields"]
    assert issue["fields"]["project"]["key"] == "SUP", issue["fields"]["project"]
    print(f"PASS Jira issue {key} has the task's subject")

    # Its preview reads both sides now, offers to open either in the browser and shows the
    # status sync indicator (the seed's issue panel).
    link.find_element(By.CSS_SELECTOR, '[data-action="preview"]').click()
    shown = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'[data-preview="{key}"]'))
    assert shown.text.count(subject) == 2, shown.text
    for button in ("links-open-jira", "links-open-dynamics"):
        assert driver.find_element(By.ID, button).is_enabled(), button
    indicator = driver.find_element(By.CSS_SELECTOR, "[data-status-sync]")
    assert indicator.get_attribute("data-status-sync") in ("off", "in_step"), indicator.text
    assert indicator.text.startswith("Status sync:"), indicator.text
    print("PASS preview of", key, "|", indicator.text)
    driver.find_element(By.CSS_SELECTOR, "[aria-label='Close']").click()
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'tr[data-link]'))

    # The run's page shows the created issue.
    wait.until(lambda d: job_row(d, ITEM_JOB)).find_element(By.CSS_SELECTOR, "a.run-link").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'[data-run-id="{run_id}"][data-status]'))
    cells = driver.find_elements(By.CSS_SELECTOR, 'tr[data-kind="issue"] td[data-count="created"]')
    assert cells and count(cells[0].text) == 1, [c.text for c in cells]
    print(f"PASS run #{run_id} page shows 1 issue created ({time.monotonic() - t0:.1f}s for the item)")


def cli(*args, stdin=None):
    """`crosswalk --data-dir DATA_DIR ARGS` (the admin's terminal); returns its standard output."""
    done = subprocess.run([APP, "--data-dir", str(DATA_DIR), *args], input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, f"crosswalk {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done.stdout


def start_aged_sandbox():
    """`crosswalk sandbox` with its clock set SANDBOX_AGE back (faketime; monotonic time left alone).

    The sandbox's app registration gets its client secret when the sandbox starts, so in real
    time that secret expires SANDBOX_AGE earlier: what an admin sees in a tenant whose secret was
    created long ago. Returns the process and its URLs and credentials (`--json`)."""
    env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1")
    proc = subprocess.Popen(
        ["faketime", "-f", SANDBOX_AGE, APP, "--data-dir", str(DATA_DIR.parent / "aged-sandbox"),
         "sandbox", "--size", "tiny", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env,
        start_new_session=True)  # faketime runs the sandbox as its child: stop_aged_sandbox ends both
    text = ""
    while not text.startswith("{") or not text.rstrip().endswith("}"):
        line = proc.stdout.readline()
        assert line, f"the aged sandbox exited ({proc.wait()}) before printing its URLs"
        text += line
    return proc, json.loads(text)


def stop_aged_sandbox(proc):
    """Ends faketime and the sandbox it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    proc.wait(timeout=20)


def secret_end(sandbox):
    """When the sandbox app's client secret expires, as Graph lists it (Entra admin center's view)."""
    _, _, token = http_json(
        "POST", f"{sandbox['login_url']}/{sandbox['tenant_id']}/oauth2/v2.0/token",
        urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": sandbox["client_id"],
                                "client_secret": sandbox["client_secret"],
                                "scope": f"{sandbox['graph_url']}/.default"}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    query = urllib.parse.quote(f"appId eq '{sandbox['client_id']}'")
    _, _, apps = http_json("GET", f"{sandbox['graph_url']}/v1.0/applications?$filter={query}",
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    (app,) = apps["value"]
    (credential,) = app["passwordCredentials"]
    return app["displayName"], datetime.datetime.fromisoformat(credential["endDateTime"])


def configure_nightly_sync(sandbox):
    """The admin's nightly Entra Sync, set up from the CLI: both connections point at the aged
    sandbox with secrets in the keychain; the Jira API token is one Jira no longer accepts (a
    revoked token fails a run at once, so the scheduled run fails while the window is still
    being built)."""
    config = DATA_DIR.parent / "nightly.toml"
    config.write_text(f"""
[[connection]]
name = "entra-e2e"
kind = "entra"
tenant_id = "{sandbox['tenant_id']}"
client_id = "{sandbox['client_id']}"
cloud = "custom"
authority_url = "{sandbox['login_url']}"
graph_url = "{sandbox['graph_url']}"

[[connection]]
name = "jira-revoked"
kind = "jira"
site_url = "{sandbox['jira_url']}"
email = "{sandbox['jira_email']}"
assets_api_url = "{sandbox['assets_api_url']}"

[[job]]
name = "{NIGHTLY_JOB}"
kind = "entra-sync"
schedule = {{ every_minutes = 1 }}
settings = {{ entra_connection = "entra-e2e", jira_connection = "jira-revoked" }}
""")
    cli("secret", "set", "entra-e2e", stdin=sandbox["client_secret"])
    cli("secret", "set", "jira-revoked", stdin="revoked-" + sandbox["jira_api_token"])
    print("config apply:", cli("config", "apply", str(config)).strip().replace("\n", " | "))


def console_tray_item(tray, timeout=30):
    """(bus name, object path) of the tray item the running console (not a demo) registered."""
    def ours(row):
        if row["event"] != "item":
            return False
        try:
            pid = tray.pid_of(row["sender"])
            argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            return os.path.realpath(f"/proc/{pid}/exe") == APP and b"demo" not in argv
        except (RuntimeError, OSError):  # that process has quit
            return False
    row = DESKTOP.wait_for("tray item of the console", ours, timeout)
    return row["service"], row["path"]


def last_run(driver, job):
    """(run id, status) of the job's last run, once its row shows it finished."""
    WebDriverWait(driver, 60).until(
        lambda d: row_attr(d, "data-last-run-id", job) not in (None, "") and row_attr(d, "data-running", job) == "false"
        and row_attr(d, "data-last-status", job) not in (None, "", "running"))
    return row_attr(driver, "data-last-run-id", job), row_attr(driver, "data-last-status", job)


def tray_sync_all(driver, wait, sandbox):
    """The tray menu as a panel reads it; "Sync all now" clicked there. Returns the job's due time."""
    app_name, expires = secret_end(sandbox)
    days = (expires - datetime.datetime.now(datetime.timezone.utc)) // datetime.timedelta(days=1)
    assert 0 < days < 30, f"the aged sandbox's secret expires in {days} days; adjust SANDBOX_AGE"

    tray = desktop_bus.TrayClient()
    try:
        service, path = console_tray_item(tray)
        menu_path = tray.item_property(service, path, "Menu")
        entries = tray.menu(service, menu_path)
        actions = [e for e in entries if e.get("type") != "separator"]
        labels = [e.get("label", "").replace("_", "") for e in actions]
        assert labels == TRAY_ACTIONS, entries
        pause = actions[TRAY_ACTIONS.index("Pause schedules")]
        assert pause.get("toggle-type") == "checkmark" and pause.get("toggle-state") == 0, pause
        print(f"PASS tray item {service}{path} registered; its menu {menu_path} lists", " / ".join(labels))
        tray.click(service, menu_path, actions[TRAY_ACTIONS.index("Sync all now")]["id"])
    finally:
        tray.close()

    driver.find_element(By.ID, "nav-jobs").click()
    run_id, status = last_run(driver, NIGHTLY_JOB)
    (run,) = [r for r in json.loads(cli("runs", "--json", "--job", NIGHTLY_JOB)) if str(r["id"]) == run_id]
    assert run["trigger"] == "sync_now" and status == run["status"] == "failed", (run, status)
    print(f"PASS tray 'Sync all now' started run #{run_id} of {NIGHTLY_JOB} (trigger {run['trigger']}, {status}:"
          f" {run['error']['message']})")

    note = DESKTOP.wait_for("secret-expiry notification",
                            lambda r: r["event"] == "notify" and "entra-e2e" in r["summary"], 60)
    assert note["summary"] == "Crosswalk: the client secret of entra-e2e expires soon", note
    assert f"entra-e2e expires in {days} days (on {expires:%Y-%m-%d})" in note["body"], note
    assert f"App registrations › {app_name} › Certificates & secrets" in note["body"], note
    print("PASS secret-expiry notification:", note["summary"], "|", note["body"][:110], "...")

    # The scheduler gave the job its first due time, one interval after it first saw the job.
    due = wait.until(lambda d: job_row(d, NIGHTLY_JOB).find_elements(By.CSS_SELECTOR, ".cell-schedule time"))
    return datetime.datetime.fromisoformat(due[0].get_attribute("datetime"))


def scheduled_failure(due):
    """The console opened once the nightly job is due: its run fails, the desktop is told."""
    wait_s = (due - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 1
    if wait_s > 0:
        print(f"waiting {wait_s:.0f}s for {NIGHTLY_JOB} to be due ({due:%H:%M:%S})")
        time.sleep(wait_s)
    t0 = time.monotonic()
    driver = session()
    try:
        # The due run starts with the console and fails within a second; the next one would come
        # a minute later, so waiting longer could only hide a lost notification.
        title = f"Crosswalk: {NIGHTLY_JOB} failed"
        note = DESKTOP.wait_for("failure notification", lambda r: r["event"] == "notify" and r["summary"] == title, 40)
        print(f"notification {time.monotonic() - t0:.1f}s after opening the console")
        runs = json.loads(cli("runs", "--json", "--job", NIGHTLY_JOB))
        run = min((r for r in runs if r["trigger"] in ("schedule", "missed")), key=lambda r: r["id"])
        error = run["error"]
        assert run["status"] == "failed" and error["fix"], run
        assert note["body"] == f"{error['message']} Fix: {error['fix']}", (note, error)
        # The run "Sync all now" started failed the same way; the admin was there, so no notification.
        failures = [r for r in DESKTOP.notifications() if r["summary"] == title]
        assert len(failures) == 1 and any(r["trigger"] == "sync_now" for r in runs), (failures, runs)
        print(f"PASS scheduled run #{run['id']} ({run['trigger']}) failed and notified:", note["summary"], "|", note["body"])

        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "nav-jobs")).click()
        run_id, status = last_run(driver, NIGHTLY_JOB)
        assert (run_id, status) == (str(run["id"]), "failed"), (run_id, status)
        print(f"PASS the window lists run #{run_id} of {NIGHTLY_JOB} as failed")
        if SHOT:
            driver.save_screenshot(str(pathlib.Path(SHOT).with_suffix("")) + "-nightly-failed.png")
    finally:
        driver.quit()


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JiraResponder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"
    aged, aged_urls = start_aged_sandbox()
    try:
        t0 = time.monotonic()
        console_first_run(site)
        server.shutdown()
        # The CLI needs the data folder to itself, so the nightly sync is set up between windows.
        configure_nightly_sync(aged_urls)
        due = console_tray(aged_urls)
        demo_entra_sync()
        scheduled_failure(due)
        print(f"e2e total {time.monotonic() - t0:.2f}s")
    finally:
        server.shutdown()
        server.server_close()
        stop_aged_sandbox(aged)


def console_first_run(site):
    """A new admin's console: the demo offer, a Jira connection, its token in the keychain only."""
    t0 = time.monotonic()
    driver = session()
    print(f"window up in {time.monotonic() - t0:.2f}s")
    wait = WebDriverWait(driver, 20)
    try:
        # A new admin is offered the demo; it opens in a process (and window) of its own.
        wait.until(lambda d: d.find_element(By.ID, "try-demo")).click()
        demo = wait_for_demo_process()
        print(f"PASS 'Try with demo data' started the demo (pid {demo})")
        os.kill(demo, 15)

        wait.until(lambda d: d.find_element(By.ID, "nav-connections")).click()
        assert driver.title.startswith("Crosswalk"), driver.title
        wait.until(lambda d: d.find_element(By.ID, "add-connection")).click()
        form = wait.until(lambda d: d.find_element(By.ID, "connection-form"))
        Select(form.find_element(By.ID, "conn-kind")).select_by_value("jira")
        form.find_element(By.ID, "conn-name").send_keys("jira-e2e")
        wait.until(lambda d: d.find_element(By.ID, "conn-site-url")).send_keys(site)
        form.find_element(By.ID, "conn-email").send_keys(EMAIL)
        form.find_element(By.ID, "conn-secret").send_keys(TOKEN)
        form.find_element(By.ID, "conn-save").click()

        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-connection="jira-e2e"]'))
        print("PASS connection listed:", row.text.replace("\n", " | ")[:120])
        assert TOKEN not in driver.page_source, "the token is still in the page after saving"
        print("PASS token not in the page after saving")

        row.find_element(By.CSS_SELECTOR, '[data-action="test"]').click()
        report = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#test-report[data-passed]'))
        wait.until(lambda d: "E2E Admin" in d.find_element(By.ID, "test-report").text)
        assert report.get_attribute("data-passed") == "true", report.text
        print("PASS test connection signed in with the keychain token:", report.text.replace("\n", " | ")[:160])
        if SHOT:
            driver.save_screenshot(SHOT)
    finally:
        driver.quit()

    stored = subprocess.run(["secret-tool", "lookup", "service", "crosswalk", "username", "jira-e2e"],
                            capture_output=True, text=True, check=False).stdout
    assert stored == TOKEN, f"keychain holds {len(stored)} chars, expected the token"
    print("PASS token is in the OS keychain (Secret Service)")

    files = [p for p in DATA_DIR.rglob("*") if p.is_file()]
    assert any(p.name == "crosswalk.db" for p in files), [str(p) for p in files]
    assert any(p.suffix == ".log" for p in files), [str(p) for p in files]
    for path in files:
        assert TOKEN.encode() not in path.read_bytes(), f"the token leaked into {path}"
    print(f"PASS token in none of {len(files)} files of the data folder:", ", ".join(p.name for p in files))


def console_tray(sandbox):
    """The console with the nightly sync configured: its tray, and "Sync all now" from there.

    Returns when the nightly job is due next, as the window shows it."""
    t0 = time.monotonic()
    driver = session()
    try:
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "nav-jobs"))
        due = tray_sync_all(driver, wait, sandbox)
    finally:
        driver.quit()
    print(f"tray window {time.monotonic() - t0:.1f}s")
    return due


if __name__ == "__main__":
    main()
