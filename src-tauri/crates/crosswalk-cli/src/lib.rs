//! The `crosswalk` command line: the same engine as the console, for servers, scripts and CI.
//!
//! `parse_and_run` handles every subcommand and returns either an exit code or a request to open
//! the console (no subcommand), which only the GUI build can honour. Nothing here depends on Tauri.
//! Tested through the real binary (`tests/cli.rs` at the repository root).

mod args;
mod commands;
mod demo;
mod links;
mod logging;
mod output;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

pub use args::Cli;
pub use demo::DemoSandbox;
pub use logging::{init_file_logging, LogGuard};

/// What `main` should do after parsing the command line.
pub enum Outcome {
    /// A subcommand ran; exit with this code.
    Exit(ExitCode),
    /// No subcommand (or `demo`): open the console on this data folder.
    OpenConsole {
        data_dir: PathBuf,
        /// For `crosswalk demo`: the running sandbox, kept alive while the console is open.
        demo: Option<Box<demo::DemoSandbox>>,
    },
}

/// Parses `args` (including the program name) and runs the subcommand.
pub fn parse_and_run(args: Vec<OsString>) -> Outcome {
    use clap::Parser as _;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return Outcome::Exit(ExitCode::from(code));
        }
    };
    commands::dispatch(cli)
}
