//! `crosswalk demo`: try every feature with no tenant. Starts the sandbox with demo data, points
//! demo connections and jobs at it in a separate data folder (`<data-dir>/demo`, never the real
//! configuration), then opens the console on that folder, or, headless, runs the demo jobs once.

use crate::args::DemoArgs;
use crate::{output, Outcome};
use anyhow::Context as _;
use crosswalk_api::config_file::{self, ConfigFile};
use crosswalk_core::{
    Cloud, ConnectionConfig, ConnectionSettings, JobConfig, RunStatus, Schedule, SecretRef, Trigger,
};
use crosswalk_engine::RunRequest;
use crosswalk_sandbox::{identity, jira, Sandbox, SandboxOptions, SandboxUrls};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Environment variables the demo's connections read their (sandbox-only) secrets from, so the
/// demo never writes to the OS keychain.
const ENTRA_SECRET_VAR: &str = "CROSSWALK_DEMO_ENTRA_SECRET";
const JIRA_TOKEN_VAR: &str = "CROSSWALK_DEMO_JIRA_TOKEN";
/// The demo's Smart Connected Item (Dynamics Cases ↔ the service project's issues).
const DYNAMICS_JOB: &str = "demo-cases-to-jira";

/// The running sandbox (and the runtime serving it), kept alive while the console is open.
pub struct DemoSandbox {
    _sandbox: Sandbox,
    _runtime: tokio::runtime::Runtime,
}

/// The demo data folder for a data folder.
pub fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo")
}

/// The demo's connections and jobs, pointing at a running sandbox.
pub fn demo_config(urls: &SandboxUrls) -> ConfigFile {
    let connections = vec![
        ConnectionConfig {
            name: "demo-entra".into(),
            settings: ConnectionSettings::Entra {
                tenant_id: identity::TENANT_ID.into(),
                client_id: identity::CLIENT_ID.into(),
                cloud: Cloud::Custom,
                authority_url: Some(urls.login.clone()),
                graph_url: Some(urls.graph.clone()),
            },
            secret: Some(SecretRef::Env(ENTRA_SECRET_VAR.into())),
        },
        ConnectionConfig {
            name: "demo-jira".into(),
            settings: ConnectionSettings::Jira {
                site_url: urls.jira.clone(),
                email: jira::ADMIN_EMAIL.into(),
                assets_api_url: Some(
                    urls.assets
                        .join(&format!(
                            "jsm/assets/workspace/{}/v1",
                            crosswalk_sandbox::generator::jira::WORKSPACE_ID
                        ))
                        .expect("workspace path joins the sandbox URL"),
                ),
            },
            secret: Some(SecretRef::Env(JIRA_TOKEN_VAR.into())),
        },
        ConnectionConfig {
            name: "demo-dynamics".into(),
            settings: ConnectionSettings::Dataverse {
                org_url: urls.dataverse.clone(),
                tenant_id: identity::TENANT_ID.into(),
                client_id: identity::CLIENT_ID.into(),
                cloud: Cloud::Custom,
                authority_url: Some(urls.login.clone()),
            },
            secret: Some(SecretRef::Env(ENTRA_SECRET_VAR.into())),
        },
    ];
    let jobs = vec![
        JobConfig {
            name: "demo-connection-health".into(),
            kind: "health-check".into(),
            schedule: Schedule::EveryMinutes(5),
            enabled: true,
            settings: serde_json::json!({}),
        },
        JobConfig {
            name: "demo-entra-to-assets".into(),
            kind: "entra-sync".into(),
            schedule: Schedule::Hourly,
            enabled: true,
            settings: serde_json::json!({
                "entra_connection": "demo-entra",
                "jira_connection": "demo-jira",
            }),
        },
        JobConfig {
            name: DYNAMICS_JOB.into(),
            kind: "dynamics-item".into(),
            schedule: Schedule::EveryMinutes(1),
            enabled: true,
            settings: serde_json::json!({
                "dataverse_connection": "demo-dynamics",
                "jira_connection": "demo-jira",
                "mode": "two_way",
                // The sandbox's service project and its "Service Request" issue type.
                "jira_project": "SUP",
                "jira_issue_type": "10004",
                "module": "Dynamics 365 Customer Service",
                "table": "incident",
                "auto_create": {"enabled": true},
                "fields": [
                    {"dataverse": "title", "jira": "summary"},
                    {"dataverse": "description", "jira": "description"}
                ],
                "status": {"enabled": true},
                "comments": true,
                "attachments": true,
            }),
        },
    ];
    ConfigFile { connections, jobs }
}

/// Runs `crosswalk demo`.
pub fn run(data_dir: &Path, args: &DemoArgs) -> Outcome {
    // Set before any thread exists: the demo connections read their sandbox secrets from here.
    std::env::set_var(ENTRA_SECRET_VAR, identity::CLIENT_SECRET);
    std::env::set_var(JIRA_TOKEN_VAR, jira::ADMIN_API_TOKEN);
    match prepare(data_dir, args) {
        Err(error) => Outcome::Exit(output::fail(&error)),
        Ok((runtime, sandbox, dir)) if args.headless => {
            let code = runtime
                .block_on(run_jobs_once(&dir, args.json))
                .unwrap_or_else(|error| output::fail(&error));
            drop(sandbox);
            Outcome::Exit(code)
        }
        Ok((runtime, sandbox, dir)) => {
            eprintln!(
                "Opening the console on demo data in {} (the sandbox runs until you quit).",
                dir.display()
            );
            Outcome::OpenConsole {
                data_dir: dir,
                demo: Some(Box::new(DemoSandbox {
                    _sandbox: sandbox,
                    _runtime: runtime,
                })),
            }
        }
    }
}

fn prepare(
    data_dir: &Path,
    args: &DemoArgs,
) -> anyhow::Result<(tokio::runtime::Runtime, Sandbox, PathBuf)> {
    let runtime = crate::commands::runtime()?;
    let started = std::time::Instant::now();
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxOptions {
            size: args.size,
            seed: args.seed,
            ..SandboxOptions::default()
        }))
        .context("starting the sandbox")?;
    eprintln!(
        "Sandbox with {:?} demo data (seed {}) started in {:.1} s.",
        args.size,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    let dir = demo_dir(data_dir);
    let store = crosswalk_store::Store::open(&dir)
        .map_err(|error| anyhow::Error::new(error.user_facing()))?;
    let config = demo_config(&sandbox.urls);
    config_file::validate(&config, &crosswalk_api::boot::registry())?;
    // The demo folder belongs to the demo: its configuration is replaced at every start
    // (the sandbox's ports change), run history is kept.
    config_file::apply(&store, &config, true)?;
    // A new sandbox is a new tenant and a new Assets site: forget what earlier demo runs wrote.
    for job in store.list_jobs()? {
        store.clear_cursors(job.id)?;
        store.map_clear(job.id)?;
        for link in store.list_links(job.id)? {
            store.delete_link(link.id)?;
        }
        for intent in store.list_link_intents(job.id)? {
            store.delete_link_intent(job.id, &intent.dataverse_table, &intent.dataverse_id)?;
        }
    }
    Ok((runtime, sandbox, dir))
}

async fn run_jobs_once(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let engine = crosswalk_api::boot::open_engine(dir)?;
    let mut summaries = Vec::new();
    let mut worst = ExitCode::SUCCESS;
    for job in engine.services().store.list_jobs()? {
        let (run_id, status) = engine
            .run_to_end(RunRequest {
                job_name: job.config.name.clone(),
                trigger: Trigger::Cli,
                dry_run: false,
            })
            .await?;
        if status != RunStatus::Succeeded {
            worst = ExitCode::from(9);
        }
        summaries.push(crosswalk_api::api::run_detail(
            &engine.services().store.get_run(run_id)?,
        ));
    }
    if json {
        output::json(&summaries);
    } else {
        output::run_table(
            &summaries
                .iter()
                .map(|run| run.summary.clone())
                .collect::<Vec<_>>(),
        );
        for run in &summaries {
            let events = engine.services().store.list_events(
                crosswalk_core::RunId(run.summary.id),
                &crosswalk_store::EventFilter::default(),
            )?;
            let events: Vec<_> = events
                .into_iter()
                .map(crosswalk_api::api::event_view)
                .collect();
            let total = events.len() as u64;
            output::run_detail(run, &events, total);
        }
        println!(
            "Demo data folder: {} (your real configuration is untouched).",
            dir.display()
        );
    }
    Ok(worst)
}
