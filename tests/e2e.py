"""End-to-end test of the Crosswalk console in its real window (driven by tests/e2e.sh).

Adds a Jira connection through the window, tests it against a small local Jira responder (real
HTTP over loopback; the full sandbox replaces it later), and checks what an admin relies on:
the connection is listed, its API token is in the OS keychain (Secret Service), and the token
appears nowhere in the data folder (database, WAL, logs).

Usage: python tests/e2e.py APP DATA_DIR [SCREENSHOT]
"""
import base64
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import Select, WebDriverWait

APP, DATA_DIR = sys.argv[1], pathlib.Path(sys.argv[2])
SHOT = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
EMAIL = "admin@example.com"
TOKEN = "e2e-token-" + os.urandom(8).hex()  # unique, so finding it anywhere means it leaked


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


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JiraResponder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{server.server_address[1]}"

    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": APP})
    t0 = time.monotonic()
    driver = webdriver.Remote(command_executor="http://127.0.0.1:4444", options=opts)
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
        server.shutdown()

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
    print(f"e2e total {time.monotonic() - t0:.2f}s")


if __name__ == "__main__":
    main()
