//! Measures generating the Large directory and serving a delta round over it:
//! `cargo run --release -p crosswalk-sandbox --example directory_large`.

use crosswalk_sandbox::generator::directory;
use crosswalk_sandbox::Size;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let started = Instant::now();
    let mut dir = directory::generate(Size::Large, 42);
    let generated = started.elapsed();
    let memberships: usize = dir.groups.iter().map(|g| g.members.len()).sum();
    let largest = dir
        .groups
        .iter()
        .map(|g| g.members.len())
        .max()
        .unwrap_or(0);
    println!(
        "Large: {} users, {} groups ({memberships} memberships, largest {largest}), {} apps, {} devices, {} managed devices",
        dir.users.len(),
        dir.groups.len(),
        dir.applications.len(),
        dir.devices.len(),
        dir.managed_devices.len()
    );
    println!(
        "generated in {:.2?}, peak RSS {:.0} MB",
        generated,
        peak_rss_mb()
    );
    let started = Instant::now();
    let mutations = dir.mutate(1, 1_000);
    println!(
        "1000 mutations ({}) in {:.2?}",
        mutations.len(),
        started.elapsed()
    );
    println!("peak RSS {:.0} MB", peak_rss_mb());
}
