// Prevents an additional console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    match crosswalk_cli::parse_and_run(std::env::args_os().collect()) {
        crosswalk_cli::Outcome::Exit(code) => code,
        crosswalk_cli::Outcome::OpenConsole { data_dir, demo } => {
            crosswalk::open_console(data_dir, demo)
        }
    }
}
