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
