//! Smart Connected Item links from the command line: the console's links panel over the same
//! `crosswalk_api::dynamics` use cases. Listing, searching and a bulk-link preview only read the
//! database, so they work alongside a running console; linking, unlinking and `bulk-link --yes`
//! write, so they take the data folder's lock like `sync`.

use crate::args::{BulkLinkArgs, LinkArgs, LinksArgs, SearchArgs, SearchSide, UnlinkArgs};
use crate::commands::{open_read_only, open_writer, run_exit_code, runtime};
use crate::output;
use crosswalk_api::dto::{DynamicsBulkRule, DynamicsSide};
use crosswalk_api::dynamics;
use crosswalk_core::Trigger;
use crosswalk_engine::Services;
use crosswalk_store::Store;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

fn services(store: Store) -> Services {
    Services::new(
        Arc::new(store),
        Arc::new(crosswalk_secrets::Secrets::from_os()),
    )
}

/// `crosswalk links JOB`: the item's stored links, newest first.
pub fn list(data_dir: &Path, args: &LinksArgs) -> anyhow::Result<ExitCode> {
    let services = services(open_read_only(data_dir)?);
    let rows = dynamics::links(&services, &args.job)?;
    if args.json {
        output::json(&rows);
    } else {
        output::link_table(&args.job, &rows);
    }
    Ok(ExitCode::SUCCESS)
}

/// `crosswalk search JOB issues|records [TEXT]`.
pub fn search(data_dir: &Path, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let services = services(open_read_only(data_dir)?);
    let side = match args.side {
        SearchSide::Issues => DynamicsSide::Jira,
        SearchSide::Records => DynamicsSide::Dynamics,
    };
    let hits = runtime()?.block_on(dynamics::search(&services, &args.job, side, &args.text))?;
    if args.json {
        output::json(&hits);
    } else {
        output::search_hits(&hits);
    }
    Ok(ExitCode::SUCCESS)
}

/// `crosswalk link JOB ISSUE RECORD`: a manual link, then both sides as they are now.
pub fn link(data_dir: &Path, args: &LinkArgs) -> anyhow::Result<ExitCode> {
    let services = services(open_writer(data_dir)?);
    let preview = runtime()?.block_on(dynamics::link(
        &services,
        &args.job,
        &args.issue_key,
        &args.record_id,
    ))?;
    if args.json {
        output::json(&preview);
    } else {
        println!(
            "Linked {} to record {} ({}) by hand.",
            preview.jira_key, preview.record_id, preview.record_name
        );
        output::link_preview(&preview);
        println!(
            "The item's next sync brings the mapped fields in step (`crosswalk sync {}`).",
            args.job
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `crosswalk unlink JOB ISSUE`: removes a manual link; refuses auto-managed ones.
pub fn unlink(data_dir: &Path, args: &UnlinkArgs) -> anyhow::Result<ExitCode> {
    let services = services(open_writer(data_dir)?);
    let key = args.issue_key.trim();
    // What is about to go, for the message (the API says which link it cannot find).
    let row = dynamics::links(&services, &args.job)?
        .into_iter()
        .find(|l| {
            l.jira_key.eq_ignore_ascii_case(key)
                || l.jira_issue_id == key
                || l.record_id.eq_ignore_ascii_case(key)
        });
    runtime()?.block_on(dynamics::unlink(&services, &args.job, key))?;
    if args.json {
        output::json(&serde_json::json!({ "unlinked": row }));
    } else if let Some(row) = row {
        println!(
            "Unlinked {} from {} record {}. The issue and the record are kept; the \"Linked to Jira\" note and the remote link were removed.",
            row.jira_key, row.table, row.record_id
        );
    } else {
        println!("Unlinked {key}.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `crosswalk bulk-link JOB --column C --field F [--filter F] [--yes]`: the preview, then (only
/// with `--yes`) the pairs linked as a run of the item, exactly as the console's bulk link.
pub fn bulk_link(data_dir: &Path, args: &BulkLinkArgs) -> anyhow::Result<ExitCode> {
    let rule = DynamicsBulkRule {
        dataverse_column: args.column.trim().to_owned(),
        jira_field: args.field.trim().to_owned(),
        filter: args
            .filter
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned),
    };
    let rt = runtime()?;
    if !args.yes {
        // Only reads: works while the console or `serve` holds the data folder.
        let services = services(open_read_only(data_dir)?);
        let preview = rt.block_on(dynamics::bulk_preview(&services, &args.job, &rule))?;
        if args.json {
            output::json(&serde_json::json!({ "preview": preview, "result": null }));
        } else {
            output::bulk_preview(&preview, args.show);
            if preview.pairs.is_empty() {
                println!("Nothing to link. Nothing was written.");
            } else {
                println!(
                    "Nothing was written. To link these {} pair(s), run the same command with --yes.",
                    preview.pairs.len()
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    rt.block_on(async {
        // Take the lock first: a console holding the folder refuses before any remote reads.
        let engine = crosswalk_api::boot::open_engine(data_dir)?;
        let preview = dynamics::bulk_preview(engine.services(), &args.job, &rule).await?;
        if preview.pairs.is_empty() {
            if args.json {
                output::json(&serde_json::json!({ "preview": preview, "result": null }));
            } else {
                output::bulk_preview(&preview, args.show);
                println!("Nothing to link. Nothing was written.");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !args.json {
            output::bulk_preview(&preview, args.show);
            println!("Linking {} pair(s) ...", preview.pairs.len());
        }
        let result =
            dynamics::bulk_link_as(&engine, &args.job, &preview.pairs, Trigger::Cli).await?;
        let run = crosswalk_api::api::run_detail(
            &engine
                .services()
                .store
                .get_run(crosswalk_core::RunId(result.run_id))?,
        );
        if args.json {
            output::json(&serde_json::json!({ "preview": preview, "result": result }));
        } else {
            output::run_table(std::slice::from_ref(&run.summary));
            println!(
                "Linked {} of {} pair(s) ({} skipped: linked already or since; {} failed).",
                result.linked, result.requested, result.skipped, result.failed
            );
            if let Some(error) = &run.summary.error {
                output::print_user_facing(&crosswalk_core::UserFacing {
                    code: error.code,
                    message: error.message.clone(),
                    fix: error.fix.clone(),
                });
            }
            println!("Details: crosswalk run show {}", run.summary.id);
        }
        Ok(run_exit_code(result.status, &run))
    })
}
