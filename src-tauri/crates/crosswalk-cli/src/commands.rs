//! One function per subcommand. Read-only commands open the database read-only, so they work
//! while the console or `serve` holds the data folder; commands that write take the lock.

use crate::args::{
    Cli, Command, ConfigCommand, ConnectionCommand, JsonFlag, RunCommand, RunsArgs, SandboxArgs,
    SecretCommand, SyncArgs,
};
use crate::output;
use crate::Outcome;
use anyhow::Context as _;
use crosswalk_api::config_file;
use crosswalk_core::{Code, EventLevel, RunId, RunStatus, Secret, Trigger, UserFacing};
use crosswalk_engine::{EngineEvent, RunRequest};
use crosswalk_store::Store;
use std::io::{IsTerminal as _, Read as _};
use std::path::Path;
use std::process::ExitCode;

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Outcome {
    let data_dir = match crosswalk_store::resolve_data_dir(cli.data_dir.clone()) {
        Ok(dir) => dir,
        Err(error) => return Outcome::Exit(output::fail(&anyhow::Error::new(error.user_facing()))),
    };
    let Some(command) = cli.command else {
        return Outcome::OpenConsole {
            data_dir,
            demo: None,
        };
    };
    if let Command::Demo(args) = &command {
        crate::logging::init_stderr_logging(cli.verbose);
        return crate::demo::run(&data_dir, args);
    }
    let _log_guard = match &command {
        Command::Serve => match crate::logging::init_file_logging(
            &crosswalk_api::boot::log_dir(&data_dir),
            cli.verbose,
        ) {
            Ok(guard) => Some(guard),
            Err(error) => {
                crate::logging::init_stderr_logging(cli.verbose);
                tracing::warn!(message = "Could not open the log file; logging to stderr.", error = %error);
                None
            }
        },
        _ => {
            crate::logging::init_stderr_logging(cli.verbose);
            None
        }
    };
    let res = match command {
        Command::Config(ConfigCommand::Apply {
            file,
            prune,
            dry_run,
            json,
        }) => config_apply(&data_dir, &file, prune, dry_run, json),
        Command::Config(ConfigCommand::Export { output }) => {
            config_export(&data_dir, output.as_deref())
        }
        Command::Secret(SecretCommand::Set { name }) => secret_set(&name),
        Command::Secret(SecretCommand::Delete { name }) => secret_delete(&name),
        Command::Connection(ConnectionCommand::List(JsonFlag { json })) => {
            connection_list(&data_dir, json)
        }
        Command::Connection(ConnectionCommand::Test { name, json }) => {
            connection_test(&data_dir, &name, json)
        }
        Command::Jobs(JsonFlag { json }) => jobs(&data_dir, json),
        Command::Sync(args) => sync(&data_dir, &args),
        Command::Runs(args) => runs(&data_dir, &args),
        Command::Run(RunCommand::Show {
            run,
            level,
            events,
            json,
        }) => run_show(&data_dir, run, level.as_deref(), events, json),
        Command::Links(args) => crate::links::list(&data_dir, &args),
        Command::Search(args) => crate::links::search(&data_dir, &args),
        Command::Link(args) => crate::links::link(&data_dir, &args),
        Command::Unlink(args) => crate::links::unlink(&data_dir, &args),
        Command::BulkLink(args) => crate::links::bulk_link(&data_dir, &args),
        Command::Serve => serve(&data_dir),
        Command::Sandbox(args) => sandbox(&args),
        Command::Demo(_) => unreachable!("demo is dispatched above"),
    };
    Outcome::Exit(res.unwrap_or_else(|error| output::fail(&error)))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn open_read_only(data_dir: &Path) -> anyhow::Result<Store> {
    Store::open_read_only(data_dir).map_err(|error| anyhow::Error::new(error.user_facing()))
}

pub(crate) fn open_writer(data_dir: &Path) -> anyhow::Result<Store> {
    Store::open(data_dir).map_err(|error| anyhow::Error::new(error.user_facing()))
}

fn config_apply(
    data_dir: &Path,
    file: &Path,
    prune: bool,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).map_err(|error| {
        UserFacing::new(
            Code::Validation,
            format!("Cannot read {}: {error}.", file.display()),
        )
        .with_fix("Check the path and that the file is readable.")
    })?;
    let config = config_file::parse(&text)?;
    config_file::validate(&config, &crosswalk_api::boot::registry())?;
    if dry_run {
        println!(
            "{} is valid: {} connection(s), {} job(s). Nothing was changed (--dry-run).",
            file.display(),
            config.connections.len(),
            config.jobs.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_writer(data_dir)?;
    let report = config_file::apply(&store, &config, prune)?;
    if json {
        output::json(&report);
    } else {
        for item in &report {
            println!("{:<10} {:<24} {:?}", item.what, item.name, item.change);
        }
    }
    // Point out connections that cannot work yet because their secret is missing.
    let secrets = crosswalk_secrets::Secrets::from_os();
    for connection in &config.connections {
        if !secrets.is_available(&connection.secret_ref()) {
            match connection.secret_ref() {
                crosswalk_core::SecretRef::Keychain(name) => {
                    eprintln!("note: connection {} has no secret in the OS keychain yet: run `crosswalk secret set {name}`", connection.name)
                }
                crosswalk_core::SecretRef::Env(var) => {
                    eprintln!(
                        "note: connection {} reads its secret from ${var}, which is not set here",
                        connection.name
                    )
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn config_export(data_dir: &Path, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = open_read_only(data_dir)?;
    let text = config_file::export(&store)?;
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn secret_set(name: &str) -> anyhow::Result<ExitCode> {
    crosswalk_core::validate::check_name("NAME", name)
        .map_err(|e| UserFacing::new(Code::Validation, e.to_string()))?;
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Secret for {name} (input hidden): "))
            .context("reading the secret from the terminal")?
    } else {
        let mut value = String::new();
        std::io::stdin()
            .read_to_string(&mut value)
            .context("reading the secret from standard input")?;
        value
    };
    let secret = Secret::new(value);
    if secret.is_empty() {
        return Err(
            UserFacing::new(Code::Validation, "The secret is empty; nothing was stored.")
                .with_fix(format!(
                    "Pipe the value in, e.g. `printf %s \"$TOKEN\" | crosswalk secret set {name}`."
                ))
                .into(),
        );
    }
    crosswalk_secrets::Secrets::from_os()
        .keychain()
        .set(name, &secret)
        .map_err(|error| anyhow::Error::new(error.user_facing()))?;
    eprintln!("Stored the secret \"{name}\" in the OS keychain.");
    Ok(ExitCode::SUCCESS)
}

fn secret_delete(name: &str) -> anyhow::Result<ExitCode> {
    let removed = crosswalk_secrets::Secrets::from_os()
        .keychain()
        .delete(name)
        .map_err(|error| anyhow::Error::new(error.user_facing()))?;
    if removed {
        eprintln!("Removed the secret \"{name}\" from the OS keychain.");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(UserFacing::new(
            Code::NotFound,
            format!("There is no secret named \"{name}\" in the OS keychain."),
        )
        .into())
    }
}

fn connection_list(data_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_read_only(data_dir)?;
    let connections = store.list_connections()?;
    if json {
        output::json(&connections.iter().map(|c| &c.config).collect::<Vec<_>>());
    } else if connections.is_empty() {
        println!("No connections. Add one in the console or with `crosswalk config apply FILE`.");
    } else {
        for c in &connections {
            println!(
                "{:<24} {:<10} {}  (secret: {})",
                c.config.name,
                c.config.settings.kind().as_str(),
                crosswalk_api::forms::connection_target(&c.config),
                crosswalk_api::api::secret_location(&c.config.secret_ref())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn connection_test(data_dir: &Path, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_read_only(data_dir)?;
    let connection = store
        .get_connection(name)
        .map_err(|error| anyhow::Error::new(error.user_facing()))?;
    let services = crosswalk_engine::Services::new(
        std::sync::Arc::new(store),
        std::sync::Arc::new(crosswalk_secrets::Secrets::from_os()),
    );
    let report = runtime()?.block_on(crosswalk_engine::checks::test_connection(
        &services,
        &connection.config,
    ));
    if json {
        output::json(&report);
    } else {
        output::check_report(&report);
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(Code::PermissionDenied.exit_code())
    })
}

fn jobs(data_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_read_only(data_dir)?;
    let jobs = store.list_jobs()?;
    if json {
        output::json(&jobs.iter().map(|j| &j.config).collect::<Vec<_>>());
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        println!("No jobs. Create one in the console or with `crosswalk config apply FILE`.");
    }
    for job in &jobs {
        let last = store.last_run(job.id)?.map_or_else(
            || "never ran".to_owned(),
            |run| format!("last run {} {}", run.id, run.status.as_str()),
        );
        let next = job.next_due_at.map_or_else(String::new, |at| {
            format!(", next {}", crosswalk_api::api::timestamp(at))
        });
        println!(
            "{:<24} {:<14} {:<16} {}{}{}",
            job.config.name,
            job.config.kind,
            job.config.schedule.label(),
            if job.config.enabled {
                ""
            } else {
                "(disabled) "
            },
            last,
            next
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn sync(data_dir: &Path, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let engine = crosswalk_api::boot::open_engine(data_dir)?;
        if args.confirm_retirements && !args.dry_run {
            crosswalk_api::entra::confirm_retirements(engine.services(), &args.job)?;
        }
        let mut events = engine.subscribe();
        let started = engine.start(RunRequest {
            job_name: args.job.clone(),
            trigger: Trigger::Cli,
            dry_run: args.dry_run,
        })?;
        let show_bar = !args.json && std::io::stderr().is_terminal();
        let bar = indicatif::ProgressBar::hidden();
        if show_bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg:40!} [{bar:30}] {pos}/{len} {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        let mut finished = started.finished;
        let status = loop {
            tokio::select! {
                status = &mut finished => break status.unwrap_or(RunStatus::Interrupted),
                event = events.recv() => {
                    if let Ok(EngineEvent::Progress { run_id, done, total, message, .. }) = event {
                        if run_id == started.run_id {
                            bar.set_length(total);
                            bar.set_position(done);
                            bar.set_message(message);
                        }
                    }
                }
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("Cancelling run {} ...", started.run_id);
                    engine.cancel(started.run_id);
                }
            }
        };
        bar.finish_and_clear();
        let run = crosswalk_api::api::run_detail(&engine.services().store.get_run(started.run_id)?);
        if args.json {
            output::json(&run);
        } else {
            output::run_table(std::slice::from_ref(&run.summary));
            if let Some(error) = &run.summary.error {
                output::print_user_facing(&UserFacing {
                    code: error.code,
                    message: error.message.clone(),
                    fix: error.fix.clone(),
                });
            }
            println!("Details: crosswalk run show {}", run.summary.id);
        }
        Ok(run_exit_code(status, &run))
    })
}

/// A finished run's exit code: 0 succeeded, 9 some objects failed, else its error's code.
pub(crate) fn run_exit_code(status: RunStatus, run: &crosswalk_api::dto::RunDetail) -> ExitCode {
    match status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::CompletedWithErrors => ExitCode::from(9),
        _ => ExitCode::from(
            run.summary
                .error
                .as_ref()
                .map_or(Code::Unknown, |e| e.code)
                .exit_code(),
        ),
    }
}

fn runs(data_dir: &Path, args: &RunsArgs) -> anyhow::Result<ExitCode> {
    let store = open_read_only(data_dir)?;
    let job = match &args.job {
        Some(name) => Some(
            store
                .get_job(name)
                .map_err(|error| anyhow::Error::new(error.user_facing()))?
                .id,
        ),
        None => None,
    };
    let rows = store.list_runs(&crosswalk_store::RunFilter {
        job,
        limit: args.limit.clamp(1, 10_000),
        before: None,
    })?;
    let runs: Vec<_> = rows.iter().map(crosswalk_api::api::run_summary).collect();
    if args.json {
        output::json(&runs);
    } else {
        output::run_table(&runs);
    }
    Ok(ExitCode::SUCCESS)
}

fn run_show(
    data_dir: &Path,
    run: i64,
    level: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let level = match level {
        None => None,
        Some(word) => Some(EventLevel::parse(word).ok_or_else(|| {
            UserFacing::new(
                Code::Validation,
                format!("Unknown level \"{word}\"; use info, warn or error."),
            )
        })?),
    };
    let store = open_read_only(data_dir)?;
    let row = store
        .get_run(RunId(run))
        .map_err(|error| anyhow::Error::new(error.user_facing()))?;
    let detail = crosswalk_api::api::run_detail(&row);
    let filter = crosswalk_store::EventFilter {
        min_level: level,
        limit: Some(limit),
        ..crosswalk_store::EventFilter::default()
    };
    let total = store.count_events(RunId(run), &filter)?;
    let events: Vec<_> = store
        .list_events(RunId(run), &filter)?
        .into_iter()
        .map(crosswalk_api::api::event_view)
        .collect();
    if json {
        output::json(&serde_json::json!({ "run": detail, "events": events, "totalEvents": total }));
    } else {
        output::run_detail(&detail, &events, total);
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async {
        let api = crosswalk_api::boot::start(data_dir, env!("CARGO_PKG_VERSION"), false)?;
        eprintln!(
            "Crosswalk is running its schedules headless on {}. Logs: {}. Stop with Ctrl-C.",
            data_dir.display(),
            crosswalk_api::boot::log_dir(data_dir).display()
        );
        tracing::info!(message = "Serving.", data_dir = %data_dir.display());
        wait_for_shutdown_signal().await;
        eprintln!("Stopping: cancelling running runs ...");
        api.scheduler().shutdown().await;
        // Give running runs a moment to record their end.
        for _ in 0..100 {
            if api.engine().running().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub(crate) async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn sandbox(args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    let mut faults = Vec::new();
    for spec in &args.faults {
        faults.push(
            crosswalk_sandbox::FaultRule::parse(spec).map_err(|problem| {
                UserFacing::new(Code::Validation, format!("--faults {spec}: {problem}."))
                    .with_fix("Use server[:route]=fault[*times], e.g. graph:/users=throttle:2*3.")
            })?,
        );
    }
    let rt = runtime()?;
    rt.block_on(async {
        let started = std::time::Instant::now();
        let sandbox = crosswalk_sandbox::Sandbox::start(crosswalk_sandbox::SandboxOptions {
            size: args.size,
            seed: args.seed,
            faults,
            time_scale: args.time_scale,
            latency: args.latency.clone(),
            assets_limits: args.assets_limits.clone(),
            jira_limits: args.jira_limits.clone(),
        })
        .await?;
        let info = crosswalk_sandbox::describe(&sandbox);
        if args.json {
            output::json(&info);
        } else {
            println!(
                "Crosswalk sandbox ({:?}, seed {}) started in {:.1} s:",
                args.size,
                args.seed,
                started.elapsed().as_secs_f64()
            );
            for (key, value) in info.as_object().into_iter().flatten() {
                println!(
                    "  {key:<22} {}",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                );
            }
            println!("Stop with Ctrl-C.");
        }
        wait_for_shutdown_signal().await;
        drop(sandbox);
        Ok(ExitCode::SUCCESS)
    })
}
