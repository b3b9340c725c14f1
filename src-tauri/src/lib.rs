//! The `crosswalk` binary's shell: the console window (Tauri, feature `desktop`) over the engine.
//!
//! Everything the window does goes through `crosswalk_api::Api`; this crate only wires it to
//! Tauri: commands, events, the tray, notifications, single instance and start at login. Built
//! without `desktop`, the binary is the headless CLI and this crate adds nothing.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "desktop")]
mod desktop;

/// The IPC commands the window may call. `src-tauri/build.rs` declares the same list to tauri-build
/// so the capability grants exactly these (a tidy test keeps the lists in step).
pub const COMMANDS: &[&str] = include!("commands.list.rs");

/// Opens the console window on `data_dir` and runs until the admin quits from the tray.
///
/// `demo` is the running sandbox of `crosswalk demo`, kept alive as long as the window.
pub fn open_console(data_dir: PathBuf, demo: Option<Box<crosswalk_cli::DemoSandbox>>) -> ExitCode {
    #[cfg(feature = "desktop")]
    {
        desktop::run(data_dir, demo)
    }
    #[cfg(not(feature = "desktop"))]
    {
        let _ = (data_dir, demo);
        eprintln!("This build of Crosswalk has no console window (it was built without the `desktop` feature).");
        eprintln!("Use a subcommand, e.g. `crosswalk serve` to run schedules headless; see `crosswalk --help`.");
        ExitCode::from(2)
    }
}
