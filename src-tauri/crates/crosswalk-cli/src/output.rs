//! Printing for humans (aligned text, progress bars) and for scripts (JSON), and turning errors
//! into a message, a fix and an exit code.

use crosswalk_api::dto::{RunDetail, RunEventView, RunSummary};
use crosswalk_core::{CheckReport, CheckStatus, Code, UserFacing};
use std::process::ExitCode;

/// Prints an admin-facing error to stderr and returns its exit code.
pub fn fail(error: &anyhow::Error) -> ExitCode {
    if let Some(invalid) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<crosswalk_api::Invalid>())
    {
        eprintln!(
            "error: the {} has {} problem(s):",
            invalid.what,
            invalid.problems.len()
        );
        for problem in &invalid.problems {
            eprintln!("  - {}: {}", problem.field, problem.message);
        }
        eprintln!("Nothing was changed.");
        return ExitCode::from(Code::Validation.exit_code());
    }
    let user_facing = crosswalk_engine::engine::user_facing_of(error);
    print_user_facing(&user_facing);
    if user_facing.code == Code::Unknown {
        tracing::error!(message = "Command failed.", error = format!("{error:#}"));
    }
    ExitCode::from(user_facing.code.exit_code())
}

/// Prints a message and its fix to stderr.
pub fn print_user_facing(user_facing: &UserFacing) {
    eprintln!("error: {}", user_facing.message);
    if let Some(fix) = &user_facing.fix {
        eprintln!("fix: {fix}");
    }
}

/// Pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: could not encode JSON: {error}"),
    }
}

fn mark(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "[ok]  ",
        CheckStatus::Warn => "[warn]",
        CheckStatus::Fail => "[FAIL]",
        CheckStatus::Skipped => "[skip]",
    }
}

/// The connection test checklist.
pub fn check_report(report: &CheckReport) {
    println!(
        "Connection {} ({} ms)",
        report.connection, report.elapsed_ms
    );
    for item in &report.items {
        println!("  {} {}: {}", mark(item.status), item.label, item.detail);
        if let Some(fix) = &item.fix {
            println!("         fix: {fix}");
        }
    }
    println!(
        "{}",
        if report.passed() {
            "All checks passed."
        } else {
            "Some checks failed."
        }
    );
}

fn duration(ms: Option<u64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// The run list as a table.
pub fn run_table(runs: &[RunSummary]) {
    if runs.is_empty() {
        println!("No runs yet.");
        return;
    }
    println!(
        "{:>6}  {:<22} {:<10} {:<21} {:<25} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8}",
        "RUN",
        "JOB",
        "TRIGGER",
        "STATUS",
        "STARTED",
        "DURATION",
        "CREATED",
        "UPDATED",
        "SAME",
        "RETIRED",
        "FAILED",
        "REQUESTS"
    );
    for run in runs {
        let status = if run.dry_run {
            format!("{} (dry run)", run.status.as_str())
        } else {
            run.status.as_str().to_owned()
        };
        println!(
            "{:>6}  {:<22} {:<10} {:<21} {:<25} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8}",
            run.id,
            run.job_name,
            run.trigger.as_str(),
            status,
            run.started_at,
            duration(run.duration_ms),
            run.totals.created,
            run.totals.updated,
            run.totals.unchanged,
            run.totals.retired,
            run.totals.failed,
            run.requests
        );
    }
}

/// One run in detail.
pub fn run_detail(run: &RunDetail, events: &[RunEventView], total_events: u64) {
    let s = &run.summary;
    println!("Run {} of job {}", s.id, s.job_name);
    println!(
        "  status:   {}{}",
        s.status.as_str(),
        if s.dry_run {
            " (dry run: nothing was written)"
        } else {
            ""
        }
    );
    println!("  trigger:  {}", s.trigger.as_str());
    println!("  started:  {}", s.started_at);
    println!("  finished: {}", s.finished_at.as_deref().unwrap_or("-"));
    println!("  duration: {}", duration(s.duration_ms));
    if let Some(error) = &s.error {
        println!("  error:    {}", error.message);
        if let Some(fix) = &error.fix {
            println!("  fix:      {fix}");
        }
    }
    if !run.counts.is_empty() {
        println!(
            "  {:<18} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7}",
            "KIND", "CREATED", "UPDATED", "UNCHANGED", "RETIRED", "DELETED", "SKIPPED", "FAILED"
        );
        for (kind, c) in &run.counts {
            println!(
                "  {:<18} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7}",
                kind, c.created, c.updated, c.unchanged, c.retired, c.deleted, c.skipped, c.failed
            );
        }
    }
    for (remote, r) in &run.requests {
        println!(
            "  requests to {remote}: {} ({} throttled, {} retried)",
            r.requests, r.throttled, r.retries
        );
    }
    println!("Events ({} of {total_events}):", events.len());
    for event in events {
        let object = if event.object_kind.is_empty() {
            String::new()
        } else {
            format!(
                " {} {}",
                event.object_kind,
                if event.object_label.is_empty() {
                    &event.object_id
                } else {
                    &event.object_label
                }
            )
        };
        println!(
            "  {} {:<5} {:<9}{object}: {}",
            event.at,
            event.level.as_str(),
            event.action,
            event.message
        );
        if let Some(fix) = &event.fix {
            println!("      fix: {fix}");
        }
    }
}
