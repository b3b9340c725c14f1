//! Opens a web page in the admin's default browser with the system's own opener (`xdg-open`,
//! `open`, the URL protocol handler), so no browser plugin is compiled in.

use std::process::{Command, Stdio};

/// Starts the system opener on `url` and reaps it in the background.
///
/// # Errors
/// The opener could not be started (e.g. no `xdg-open` on a minimal Linux desktop).
pub fn open_in_browser(url: &url::Url) -> std::io::Result<()> {
    #[cfg(target_os = "macos")]
    let mut command = Command::new("open");
    #[cfg(windows)]
    let mut command = {
        let mut command = Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler");
        command
    };
    #[cfg(not(any(target_os = "macos", windows)))]
    let mut command = Command::new("xdg-open");
    let mut child = command
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
