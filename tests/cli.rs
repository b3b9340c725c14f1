//! The `crosswalk` command line as an admin or a script uses it: the real binary, a real data
//! folder in a temp dir, real exit codes and messages. No keychain is reachable here on purpose
//! (D-Bus points nowhere), so secrets come from the documented environment-variable fallback.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_crosswalk");

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("CROSSWALK_DATA_DIR", self.data_dir().join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env_remove("DISPLAY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.data_dir().join(name);
        std::fs::write(&path, text).expect("write file");
        path.display().to_string()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

const CONFIG: &str = r#"
[[connection]]
name = "jira-prod"
kind = "jira"
site_url = "https://acme.atlassian.net"
email = "admin@acme.com"
secret = { env = "CW_TEST_JIRA_TOKEN" }

[[job]]
name = "health"
kind = "health-check"
schedule = "hourly"
"#;

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let cli = Cli::new();
    let out = cli.run(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = text(&out.stdout);
    for word in [
        "config",
        "secret",
        "connection",
        "jobs",
        "sync",
        "runs",
        "run",
        "serve",
        "--data-dir",
        "Exit codes:",
        "7  conflict",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    for sub in [
        &["config", "apply", "--help"][..],
        &["config", "export", "--help"],
        &["secret", "set", "--help"],
        &["connection", "test", "--help"],
        &["sync", "--help"],
        &["runs", "--help"],
        &["run", "show", "--help"],
        &["serve", "--help"],
        &["sandbox", "--help"],
        &["demo", "--help"],
    ] {
        let out = cli.run(sub);
        assert_eq!(code(&out), 0, "{sub:?}");
        assert!(text(&out.stdout).len() > 80, "{sub:?} help is too thin");
    }
}

#[test]
fn config_apply_is_idempotent_and_export_round_trips_without_secrets() {
    let cli = Cli::new();
    let file = cli.write("crosswalk.toml", CONFIG);
    let first = cli.run(&["config", "apply", &file]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("Created"));
    let second = cli.run(&["config", "apply", &file]);
    assert_eq!(code(&second), 0);
    assert!(
        !text(&second.stdout).contains("Created") && !text(&second.stdout).contains("Updated"),
        "{}",
        text(&second.stdout)
    );
    let export = cli.run(&["config", "export"]);
    assert_eq!(code(&export), 0);
    let exported = text(&export.stdout);
    assert!(
        exported.contains("name = \"jira-prod\"")
            && exported.contains("env = \"CW_TEST_JIRA_TOKEN\""),
        "{exported}"
    );
    let again = cli.write("exported.toml", &exported);
    let third = cli.run(&["config", "apply", &again]);
    assert_eq!(code(&third), 0);
    assert!(
        text(&third.stdout).matches("Unchanged").count() == 2,
        "{}",
        text(&third.stdout)
    );
}

#[test]
fn malformed_or_invalid_configuration_changes_nothing() {
    let cli = Cli::new();
    let broken = cli.write("broken.toml", "[[connection]]\nname = \"x\"\nkind = \n");
    let out = cli.run(&["config", "apply", &broken]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );

    let invalid = CONFIG
        .replace("https://acme.atlassian.net", "ftp://acme")
        .replace("health-check", "no-such-kind");
    let invalid = cli.write("invalid.toml", &format!("{invalid}\n[[connection]]\nname = \"t\"\nkind = \"entra\"\ntenant_id = \"common\"\nclient_id = \"x\"\n"));
    let out = cli.run(&["config", "apply", &invalid]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    for needle in [
        "site_url",
        "no-such-kind",
        "tenant_id",
        "client_id",
        "Nothing was changed",
    ] {
        assert!(err.contains(needle), "missing {needle} in:\n{err}");
    }
    let out = cli.run(&["config", "export"]);
    // Nothing was written: the data folder was never even created by the failed applies.
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("No Crosswalk data"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unknown_job_and_unknown_run_are_clear_errors() {
    let cli = Cli::new();
    let file = cli.write("c.toml", CONFIG);
    assert_eq!(code(&cli.run(&["config", "apply", &file])), 0);
    let out = cli.run(&["sync", "nope"]);
    assert_eq!(code(&out), 3);
    assert!(
        text(&out.stderr).contains("There is no job named \"nope\""),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["run", "show", "999"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let out = cli.run(&["connection", "test", "nope"]);
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
}

#[test]
fn sync_records_a_run_that_runs_and_run_show_read_back() {
    let cli = Cli::new();
    // The job checks a connection whose secret variable is unset: the run completes, the
    // connection's failure is an event with the fix, and the exit code says "some failed".
    let file = cli.write("c.toml", CONFIG);
    assert_eq!(code(&cli.run(&["config", "apply", &file])), 0);
    let out = cli.run(&["sync", "health", "--json"]);
    assert_eq!(
        code(&out),
        9,
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("sync --json prints JSON");
    assert_eq!(run["summary"]["status"], "completed_with_errors");
    assert_eq!(run["summary"]["trigger"], "cli");
    assert_eq!(run["counts"]["connection"]["failed"], 1);
    let id = run["summary"]["id"].as_i64().expect("run id");

    let out = cli.run(&["runs", "--json"]);
    assert_eq!(code(&out), 0);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs[0]["id"].as_i64(), Some(id));

    let out = cli.run(&["run", "show", &id.to_string()]);
    assert_eq!(code(&out), 0);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("CW_TEST_JIRA_TOKEN") && shown.contains("fix:"),
        "{shown}"
    );
}

#[test]
fn missing_keychain_is_explained_and_changes_nothing() {
    let cli = Cli::new();
    let mut cmd = cli.command(&["secret", "set", "jira-prod"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"super-secret-value\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 6, "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Secret Service") && err.contains("secret = { env"),
        "{err}"
    );
    assert!(!err.contains("super-secret-value"));
}

#[test]
fn a_second_writer_is_refused_while_readers_still_work() {
    let cli = Cli::new();
    let file = cli.write("c.toml", CONFIG);
    assert_eq!(code(&cli.run(&["config", "apply", &file])), 0);
    let mut serve = cli
        .command(&["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until serve holds the lock (it logs to its file once up).
    let lock = cli.data_dir().join("data").join("crosswalk.lock");
    let log = cli
        .data_dir()
        .join("data")
        .join("logs")
        .join("crosswalk.log");
    for _ in 0..100 {
        if log.exists()
            && std::fs::read_to_string(&lock)
                .map(|s| !s.trim().is_empty())
                .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = cli.run(&["sync", "health"]);
    let err = text(&out.stderr);
    let readers = cli.run(&["runs"]);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(serve.id().to_string())
        .status();
    let status = serve.wait().unwrap();
    assert_eq!(code(&out), 7, "{err}");
    assert!(
        err.contains("Another Crosswalk process") && err.contains(&serve.id().to_string()),
        "{err}"
    );
    assert_eq!(code(&readers), 0, "{}", text(&readers.stderr));
    assert!(status.success(), "serve should stop cleanly on SIGTERM");
}

#[test]
fn demo_headless_runs_the_demo_jobs_against_the_sandbox_and_leaves_real_config_alone() {
    let cli = Cli::new();
    let out = cli.run(&["demo", "--headless", "--size", "tiny"]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("demo-connection-health") && stdout.contains("succeeded"),
        "{stdout}"
    );
    // Every demo job ran and succeeded, the Smart Connected Item included (its first poll sets
    // the baseline: existing Cases get no issue).
    for job in [
        "demo-connection-health",
        "demo-entra-to-assets",
        "demo-cases-to-jira",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.contains(job) && line.contains("succeeded")),
            "{job} in {stdout}"
        );
    }
    for name in ["demo-entra", "demo-jira", "demo-dynamics"] {
        assert!(
            stdout.contains(&format!("connection {name}: All checks passed.")),
            "{name} in {stdout}"
        );
    }
    // The demo lives in <data-dir>/demo; the real configuration stays empty.
    let real = cli.run(&["connection", "list"]);
    assert_eq!(code(&real), 3, "{}", text(&real.stderr));
    let mut demo = cli.command(&["connection", "list"]);
    demo.env(
        "CROSSWALK_DATA_DIR",
        cli.data_dir().join("data").join("demo"),
    );
    let listed = text(&demo.output().unwrap().stdout);
    assert!(listed.contains("demo-jira"), "{listed}");
}

#[test]
fn sandbox_subcommand_rejects_bad_fault_rules() {
    let cli = Cli::new();
    let out = cli.run(&["sandbox", "--size", "tiny", "--faults", "mars=reset"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("unknown server"),
        "{}",
        text(&out.stderr)
    );
    let out = cli.run(&["sandbox", "--size", "huge"]);
    assert_eq!(code(&out), 2);
}

// --- Smart Connected Item links (`links`, `search`, `link`, `unlink`, `bulk-link`) ---

/// `crosswalk sandbox --size tiny --json` running in the background; killed when dropped.
struct SandboxProcess {
    child: std::process::Child,
    info: serde_json::Value,
}

impl SandboxProcess {
    fn start(cli: &Cli) -> SandboxProcess {
        use std::io::BufRead as _;
        let mut child = cli
            .command(&["sandbox", "--size", "tiny", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sandbox starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut json = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.expect("sandbox output");
            json.push_str(&line);
            json.push('\n');
            if line == "}" {
                break;
            }
        }
        let info = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("sandbox --json printed {json:?}: {e}"));
        SandboxProcess { child, info }
    }

    fn get(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {}", self.info))
            .to_owned()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data folder with one Smart Connected Item (`cases`: Cases ↔ SUP service requests, title ↔
/// summary, auto-create on) pointing at a running sandbox; secrets from the environment.
struct ItemCli {
    cli: Cli,
    sandbox: SandboxProcess,
}

impl ItemCli {
    fn new() -> ItemCli {
        let cli = Cli::new();
        let sandbox = SandboxProcess::start(&cli);
        let config = format!(
            r#"
[[connection]]
name = "dv"
kind = "dataverse"
org_url = "{dataverse}"
tenant_id = "{tenant}"
client_id = "{client}"
cloud = "custom"
authority_url = "{login}"
secret = {{ env = "CW_TEST_DV_SECRET" }}

[[connection]]
name = "jira"
kind = "jira"
site_url = "{jira}"
email = "{email}"
secret = {{ env = "CW_TEST_JIRA_TOKEN" }}

[[job]]
name = "cases"
kind = "dynamics-item"
schedule = "off"
[job.settings]
dataverse_connection = "dv"
jira_connection = "jira"
mode = "two_way"
jira_project = "SUP"
jira_issue_type = "10004"
module = "Dynamics 365 Customer Service"
table = "incident"
auto_create = {{ enabled = true }}
fields = [{{ dataverse = "title", jira = "summary" }}]
status = {{ enabled = false }}
comments = false
attachments = false

[[job]]
name = "health"
kind = "health-check"
schedule = "off"
"#,
            dataverse = sandbox.get("dataverse_url"),
            tenant = sandbox.get("tenant_id"),
            client = sandbox.get("client_id"),
            login = sandbox.get("login_url"),
            jira = sandbox.get("jira_url"),
            email = sandbox.get("jira_email"),
        );
        let item = ItemCli { cli, sandbox };
        let file = item.cli.write("item.toml", &config);
        let out = item.run(&["config", "apply", &file]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        item
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.cli.command(args);
        cmd.env("CW_TEST_DV_SECRET", self.sandbox.get("client_secret"))
            .env("CW_TEST_JIRA_TOKEN", self.sandbox.get("jira_api_token"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("binary runs")
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            code(&out),
            0,
            "{args:?}\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed {stdout}: {e}"))
    }

    fn links(&self) -> Vec<serde_json::Value> {
        self.json(&["links", "cases", "--json"])
            .as_array()
            .expect("links --json is a list")
            .clone()
    }

    /// A new Case in the sandbox's Dataverse (as someone working in Dynamics would add it).
    fn create_case(&self, title: &str) {
        let login = self.sandbox.get("login_url");
        let org = self.sandbox.get("dataverse_url");
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
            percent(&self.sandbox.get("client_id")),
            percent(&self.sandbox.get("client_secret")),
            percent(&format!("{org}/.default"))
        );
        let (status, body) = http(
            "POST",
            &format!(
                "{login}/{}/oauth2/v2.0/token",
                self.sandbox.get("tenant_id")
            ),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form,
        );
        assert_eq!(status, 200, "{body}");
        let token: serde_json::Value = serde_json::from_str(&body).unwrap();
        let token = token["access_token"].as_str().expect("access token");
        let (status, body) = http(
            "POST",
            &format!("{org}/api/data/v9.2/incidents"),
            &[
                ("Authorization", &format!("Bearer {token}")),
                ("Content-Type", "application/json"),
                ("OData-Version", "4.0"),
                ("Accept", "application/json"),
            ],
            &serde_json::json!({ "title": title }).to_string(),
        );
        assert!(status == 204 || status == 201, "{status} {body}");
    }

    /// A new service request in the sandbox's Jira SUP project; returns its key.
    fn create_issue(&self, summary: &str) -> String {
        let auth = base64(&format!(
            "{}:{}",
            self.sandbox.get("jira_email"),
            self.sandbox.get("jira_api_token")
        ));
        let body = serde_json::json!({"fields": {
            "project": {"key": "SUP"},
            "issuetype": {"id": "10004"},
            "summary": summary,
        }});
        let (status, body) = http(
            "POST",
            &format!("{}/rest/api/3/issue", self.sandbox.get("jira_url")),
            &[
                ("Authorization", &format!("Basic {auth}")),
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            &body.to_string(),
        );
        assert_eq!(status, 201, "{body}");
        let created: serde_json::Value = serde_json::from_str(&body).unwrap();
        created["key"].as_str().expect("issue key").to_owned()
    }
}

/// One HTTP/1.1 request over loopback (the sandbox speaks plain HTTP); returns status and body.
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("sandbox URLs are http");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the sandbox");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, payload) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let payload = if chunked {
        let mut out = String::new();
        let mut rest = payload;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = after[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        payload.to_owned()
    };
    (status, payload)
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn link_commands_are_listed_in_help() {
    let cli = Cli::new();
    let help = text(&cli.run(&["--help"]).stdout);
    for word in ["links", "search", "link", "unlink", "bulk-link"] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    for sub in ["links", "search", "link", "unlink", "bulk-link"] {
        let out = cli.run(&[sub, "--help"]);
        assert_eq!(code(&out), 0, "{sub}");
        assert!(text(&out.stdout).len() > 80, "{sub} help is too thin");
    }
    // Missing arguments are invalid input.
    assert_eq!(code(&cli.run(&["link", "cases", "SUP-1"])), 2);
    assert_eq!(
        code(&cli.run(&["bulk-link", "cases", "--column", "title"])),
        2
    );
}

#[test]
fn link_search_list_and_unlink_round_trip_and_readers_work_beside_a_writer() {
    let item = ItemCli::new();
    let empty = item.ok(&["links", "cases"]);
    assert!(empty.contains("no links yet"), "{empty}");
    assert!(item.links().is_empty());

    let issues = item.json(&["search", "cases", "issues", "--json"]);
    let issue = issues["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hit| hit["linked_to"].is_null())
        .expect("an unlinked SUP issue")
        .clone();
    let key = issue["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("SUP-"), "{issue}");
    let records = item.json(&["search", "cases", "records", "--json"]);
    let record = records["records"][0].clone();
    let id = record["id"].as_str().expect("a case").to_owned();
    let listed = item.ok(&["search", "cases", "records"]);
    assert!(listed.contains(&id), "{listed}");

    let linked = item.ok(&["link", "cases", &key, &id]);
    assert!(
        linked.contains(&format!("Linked {key} to record {id}"))
            && linked.contains(record["name"].as_str().unwrap()),
        "{linked}"
    );
    let again = item.run(&["link", "cases", &key, &id]);
    assert_eq!(code(&again), 7, "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already linked"),
        "{}",
        text(&again.stderr)
    );

    let links = item.links();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["jiraKey"], key.as_str());
    assert_eq!(links[0]["recordId"], id.as_str());
    assert_eq!(links[0]["table"], "incident");
    assert_eq!(links[0]["managed"], "manual");
    let table = item.ok(&["links", "cases"]);
    assert!(
        table.contains(&key) && table.contains(&id) && table.contains("manual"),
        "{table}"
    );

    // One writer per data folder: while `serve` holds it, listing and searching still work and
    // linking is refused with the lock's message.
    let mut serve = item
        .command(&["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = item.cli.data_dir().join("data").join("crosswalk.lock");
    let log = item
        .cli
        .data_dir()
        .join("data")
        .join("logs")
        .join("crosswalk.log");
    for _ in 0..100 {
        if log.exists()
            && std::fs::read_to_string(&lock)
                .map(|s| !s.trim().is_empty())
                .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let listed = item.run(&["links", "cases", "--json"]);
    let searched = item.run(&["search", "cases", "issues", &key]);
    let refused = item.run(&["unlink", "cases", &key]);
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(serve.id().to_string())
        .status();
    assert!(serve.wait().unwrap().success());
    assert_eq!(code(&listed), 0, "{}", text(&listed.stderr));
    assert_eq!(code(&searched), 0, "{}", text(&searched.stderr));
    assert!(
        text(&searched.stdout).contains(&id),
        "{}",
        text(&searched.stdout)
    );
    assert_eq!(code(&refused), 7, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("Another Crosswalk process"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(item.links().len(), 1, "the refused unlink changed nothing");

    let unlinked = item.ok(&["unlink", "cases", &key.to_lowercase()]);
    assert!(
        unlinked.contains(&format!("Unlinked {key}")) && unlinked.contains("kept"),
        "{unlinked}"
    );
    assert!(item.links().is_empty());
    let gone = item.run(&["unlink", "cases", &key]);
    assert_eq!(code(&gone), 3, "{}", text(&gone.stderr));

    // Only Smart Connected Items have links; unknown jobs are not found.
    let other = item.run(&["links", "health"]);
    assert_eq!(code(&other), 2, "{}", text(&other.stderr));
    let none = item.run(&["links", "nope"]);
    assert_eq!(code(&none), 3, "{}", text(&none.stderr));
}

#[test]
fn bulk_link_previews_without_yes_links_with_it_and_auto_links_cannot_be_unlinked() {
    let item = ItemCli::new();
    // The first poll sets the item's baseline: existing Cases get no issue.
    let first = item.run(&["sync", "cases"]);
    assert_eq!(
        code(&first),
        0,
        "{}\n{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    assert!(item.links().is_empty());

    // An existing Case and a new issue holding its title: one pair for title = summary.
    let records = item.json(&["search", "cases", "records", "--json"]);
    let record = records["records"][0].clone();
    let (id, title) = (
        record["id"].as_str().unwrap().to_owned(),
        record["name"].as_str().unwrap().to_owned(),
    );
    let key = item.create_issue(&title);
    let filter = format!("title eq '{}'", title.replace('\'', "''"));
    let args = [
        "bulk-link",
        "cases",
        "--column",
        "title",
        "--field",
        "summary",
        "--filter",
        &filter,
    ];

    let preview = item.ok(&args);
    assert!(
        preview.contains("pairs to link:   1")
            && preview.contains(&key)
            && preview.contains(&id)
            && preview.contains("--yes")
            && preview.contains("Nothing was written"),
        "{preview}"
    );
    let json = item.json(&[&args[..], &["--json"]].concat());
    assert_eq!(json["preview"]["pairs"][0]["issue_key"], key.as_str());
    assert_eq!(json["preview"]["pairs"][0]["record_id"], id.as_str());
    assert!(json["result"].is_null());
    assert!(item.links().is_empty(), "a preview writes nothing");
    // A filter Dataverse refuses is invalid input, named in the message.
    let bad = item.run(&[
        "bulk-link",
        "cases",
        "--column",
        "title",
        "--field",
        "summary",
        "--filter",
        "nosuchfunction(title)",
    ]);
    assert_eq!(code(&bad), 2, "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("nosuchfunction(title)"),
        "{}",
        text(&bad.stderr)
    );

    let done = item.ok(&[&args[..], &["--yes"]].concat());
    assert!(done.contains("Linked 1 of 1 pair(s)"), "{done}");
    let links = item.links();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["jiraKey"], key.as_str());
    assert_eq!(links[0]["recordId"], id.as_str());
    assert_eq!(links[0]["managed"], "manual");
    let runs = item.json(&["runs", "--job", "cases", "--json"]);
    assert_eq!(runs[0]["trigger"], "cli");
    assert_eq!(runs[0]["status"], "succeeded");
    // Linked already: a second preview finds nothing to do, and --yes writes nothing.
    let again = item.json(&[&args[..], &["--yes", "--json"]].concat());
    assert_eq!(again["preview"]["already_linked"], 1);
    assert!(again["result"].is_null(), "{again}");

    // A Case created after the baseline gets an issue from auto-create: an auto link, which
    // cannot be unlinked by hand.
    item.create_case("CLI auto-create case");
    let second = item.run(&["sync", "cases"]);
    assert_eq!(
        code(&second),
        0,
        "{}\n{}",
        text(&second.stdout),
        text(&second.stderr)
    );
    let auto = item
        .links()
        .into_iter()
        .find(|link| link["managed"] == "auto")
        .expect("an auto link");
    let auto_key = auto["jiraKey"].as_str().unwrap().to_owned();
    let refused = item.run(&["unlink", "cases", &auto_key]);
    assert_eq!(code(&refused), 7, "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("auto-create"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(item.links().len(), 2, "the auto link stays");
}
