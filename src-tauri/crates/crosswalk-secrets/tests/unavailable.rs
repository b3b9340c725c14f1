//! With no reachable D-Bus session (and no X display to autolaunch one), the keychain reports
//! `Unavailable` with a message naming the Secret Service.
//!
//! The environment must be in place before keyring first touches D-Bus and must not leak into
//! other tests, so the test re-runs this binary as a child with that environment.

#![cfg(target_os = "linux")]

use crosswalk_secrets::{Error, Keychain, Secret};
use std::process::Command;

const CHILD: &str = "CROSSWALK_UNAVAILABLE_CHILD";

#[test]
fn without_a_session_bus_set_is_unavailable_and_names_the_secret_service() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_a_session_bus_set_is_unavailable_and_names_the_secret_service",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/crosswalk-test-bus",
        )
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("CHILD OK"),
        "child did not run the check:\n{stdout}\n{stderr}"
    );
    eprintln!(
        "{}",
        stdout
            .lines()
            .find(|line| line.starts_with("CHILD OK"))
            .unwrap_or_default()
    );
}

fn child() {
    let keychain = Keychain::with_service("crosswalk-test-unavailable");
    let error = keychain
        .set("jira-prod", &Secret::new("never-stored-value"))
        .unwrap_err();
    let Error::Unavailable { detail } = &error else {
        panic!("expected Unavailable, got {error:?}")
    };
    assert!(!detail.is_empty());
    let facing = error.user_facing();
    assert_eq!(facing.code, crosswalk_core::Code::SecretsUnavailable);
    assert!(facing.message.contains("Secret Service"), "{facing}");
    assert!(error.to_string().contains("Secret Service"));
    assert!(!format!("{error} {error:?}").contains("never-stored-value"));
    assert!(matches!(
        keychain.get("jira-prod"),
        Err(Error::Unavailable { .. })
    ));
    println!("CHILD OK: {error}");
}
