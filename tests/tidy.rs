//! Checks that keep the layers honest: the window may call exactly the app's commands, every
//! command is registered and wrapped in ipc.ts, and only ipc.ts talks to Tauri.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_capability_grants_exactly_the_apps_commands_and_event_listening() {
    let conf: serde_json::Value = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let capabilities = conf["app"]["security"]["capabilities"].as_array().unwrap();
    assert_eq!(capabilities.len(), 1, "one capability, for the main window");
    let mut granted: Vec<String> = capabilities[0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    granted.sort();
    let mut expected: Vec<String> = crosswalk::COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    expected.extend([
        "core:event:allow-listen".to_owned(),
        "core:event:allow-unlisten".to_owned(),
    ]);
    expected.sort();
    assert_eq!(granted, expected);
    let csp = &conf["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
}

#[test]
fn every_command_is_registered_and_has_an_ipc_wrapper() {
    let handlers = read("src-tauri/src/desktop/commands.rs");
    let ipc = read("ui/src/lib/ipc.ts");
    for command in crosswalk::COMMANDS {
        assert!(
            handlers.contains(&format!("fn {command}(")),
            "{command} has no #[tauri::command]"
        );
        assert!(
            handlers.contains(&format!("        {command},")),
            "{command} is not in generate_handler!"
        );
        assert!(
            ipc.contains(&format!("'{command}'")) || ipc.contains(&format!("\"{command}\"")),
            "ui/src/lib/ipc.ts does not call {command}"
        );
    }
}

#[test]
fn only_ipc_ts_imports_the_tauri_api() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("ts" | "svelte" | "js")
            ) {
                let text = std::fs::read_to_string(&path).unwrap();
                let is_test = path.to_string_lossy().contains(".test.")
                    || path.components().any(|c| c.as_os_str() == "test");
                if text.contains("@tauri-apps/api") && !is_test {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src"),
        &mut found,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("ui/src/lib/ipc.ts"), "{found:?}");
}

#[test]
fn engine_crates_never_depend_on_tauri() {
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri/crates"))
        .unwrap()
        .flatten()
    {
        let manifest = std::fs::read_to_string(entry.path().join("Cargo.toml")).unwrap();
        for banned in ["tauri", "wry", "webkit2gtk", "gtk"] {
            assert!(
                !manifest
                    .lines()
                    .any(|line| line.trim_start().starts_with(banned)),
                "{} depends on {banned}",
                entry.path().display()
            );
        }
    }
}
