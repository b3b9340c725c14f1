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

/// A Smart Connected Item's links as a table.
pub fn link_table(job: &str, links: &[crosswalk_api::dto::DynamicsLinkRow]) {
    if links.is_empty() {
        println!(
            "Item {job} has no links yet. Link by hand with `crosswalk link {job} ISSUE-KEY RECORD-ID`, \
             or pair existing ones with `crosswalk bulk-link {job} --column COLUMN --field FIELD`."
        );
        return;
    }
    println!(
        "{:<14} {:<38} {:<16} {:<7} {:<26} IN STEP SINCE",
        "ISSUE", "RECORD", "TABLE", "MANAGED", "LINKED AT"
    );
    for link in links {
        let managed = match link.managed {
            crosswalk_api::dto::LinkManaged::Auto => "auto",
            crosswalk_api::dto::LinkManaged::Manual => "manual",
        };
        println!(
            "{:<14} {:<38} {:<16} {:<7} {:<26} {}",
            link.jira_key,
            link.record_id,
            link.table,
            managed,
            link.created_at,
            link.baseline_at.as_deref().unwrap_or("-")
        );
    }
    println!("{} link(s).", links.len());
}

/// What `crosswalk search` found.
pub fn search_hits(hits: &crosswalk_api::dto::DynamicsHits) {
    let linked = |to: &Option<String>| {
        to.as_deref()
            .map_or_else(String::new, |to| format!("linked to {to}"))
    };
    match hits.side {
        crosswalk_api::dto::DynamicsSide::Jira => {
            if hits.issues.is_empty() {
                println!("No issues found.");
                return;
            }
            println!("{:<14} {:<16} {:<50} LINK", "ISSUE", "STATUS", "SUMMARY");
            for issue in &hits.issues {
                let row = format!(
                    "{:<14} {:<16} {:<50} {}",
                    issue.key,
                    issue.status,
                    issue.summary,
                    linked(&issue.linked_to)
                );
                println!("{}", row.trim_end());
            }
        }
        crosswalk_api::dto::DynamicsSide::Dynamics => {
            if hits.records.is_empty() {
                println!("No records found.");
                return;
            }
            println!("{:<38} {:<50} LINK", "RECORD", "NAME");
            for record in &hits.records {
                let row = format!(
                    "{:<38} {:<50} {}",
                    record.id,
                    record.name,
                    linked(&record.linked_to)
                );
                println!("{}", row.trim_end());
            }
        }
    }
}

/// Both sides of a link as they are now.
pub fn link_preview(preview: &crosswalk_api::dto::LinkPreview) {
    println!(
        "  issue:  {} \"{}\" [{}] {}",
        preview.jira_key, preview.issue_summary, preview.issue_status, preview.issue_url
    );
    println!(
        "  record: {} \"{}\"{} {}",
        preview.record_id,
        preview.record_name,
        preview
            .record_status
            .as_deref()
            .map_or_else(String::new, |s| format!(" [{s}]")),
        preview.record_url
    );
    println!("  managed: {}", preview.managed);
    if !preview.fields.is_empty() {
        println!("  {:<24} {:<24} {:<30} JIRA", "COLUMN", "FIELD", "DYNAMICS");
        for field in &preview.fields {
            println!(
                "  {:<24} {:<24} {:<30} {}",
                field.dataverse_column,
                field.jira_field,
                one_line(&field.dynamics, 30),
                one_line(&field.jira, 60)
            );
        }
    }
}

/// A value on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!(
            "{}…",
            flat.chars().take(max.saturating_sub(1)).collect::<String>()
        )
    }
}

/// What a bulk link would do: the counts and the first `show` pairs.
pub fn bulk_preview(preview: &crosswalk_api::dto::DynamicsBulkPreview, show: usize) {
    let rule = &preview.rule;
    println!(
        "Bulk link on {} = {}{}:",
        rule.dataverse_column,
        rule.jira_field,
        rule.filter
            .as_deref()
            .map_or_else(String::new, |f| format!(" (records where {f})"))
    );
    println!("  records read:    {}", preview.records_read);
    println!("  issues read:     {}", preview.issues_read);
    println!("  pairs to link:   {}", preview.pairs.len());
    println!(
        "  ambiguous:       {} (values held by more than one record or issue; never linked)",
        preview.ambiguous
    );
    println!(
        "  unmatched:       {} (no issue holds the value)",
        preview.unmatched
    );
    println!("  no value:        {}", preview.no_value);
    println!("  already linked:  {}", preview.already_linked);
    if !preview.pairs.is_empty() {
        println!("  {:<14} {:<38} {:<30} VALUE", "ISSUE", "RECORD", "NAME");
        for pair in preview.pairs.iter().take(show) {
            println!(
                "  {:<14} {:<38} {:<30} {}",
                pair.issue_key,
                pair.record_id,
                one_line(&pair.record_name, 30),
                one_line(&pair.value, 40)
            );
        }
        if preview.pairs.len() > show {
            println!(
                "  ... and {} more (--json lists all)",
                preview.pairs.len() - show
            );
        }
    }
    for ambiguity in preview.ambiguous_values.iter().take(show) {
        println!(
            "  ambiguous value \"{}\": {} record(s), {} issue(s)",
            one_line(&ambiguity.value, 40),
            ambiguity.records,
            ambiguity.issues
        );
    }
}
