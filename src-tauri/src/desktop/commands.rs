//! The IPC commands: thin wrappers over `crosswalk_api::Api`, errors as `AppError`.

use crosswalk_api::dto::*;
use crosswalk_api::{Api, AppError};
use crosswalk_core::RunId;
use tauri::State;

type Res<T> = Result<T, AppError>;

#[tauri::command]
async fn list_connections(api: State<'_, Api>) -> Res<Vec<ConnectionView>> {
    Ok(api.list_connections().await?)
}

#[tauri::command]
async fn save_connection(api: State<'_, Api>, form: ConnectionForm) -> Res<ConnectionView> {
    Ok(api.save_connection(form).await?)
}

#[tauri::command]
async fn delete_connection(api: State<'_, Api>, name: String) -> Res<()> {
    Ok(api.delete_connection(&name).await?)
}

#[tauri::command]
async fn test_connection(api: State<'_, Api>, name: String) -> Res<ConnectionTestReport> {
    Ok(api.test_connection(&name).await?)
}

#[tauri::command]
fn list_secret_expiries(api: State<'_, Api>) -> Res<Vec<SecretExpiryView>> {
    Ok(api.list_secret_expiries()?)
}

#[tauri::command]
fn list_job_kinds(api: State<'_, Api>) -> Vec<JobKindView> {
    api.list_job_kinds()
}

#[tauri::command]
fn list_jobs(api: State<'_, Api>) -> Res<Vec<JobView>> {
    Ok(api.list_jobs()?)
}

#[tauri::command]
async fn save_job(api: State<'_, Api>, form: JobForm) -> Res<JobView> {
    Ok(api.save_job(form).await?)
}

#[tauri::command]
async fn delete_job(api: State<'_, Api>, name: String) -> Res<()> {
    Ok(api.delete_job(&name).await?)
}

#[tauri::command]
async fn run_job_now(api: State<'_, Api>, name: String) -> Res<i64> {
    Ok(api.run_job_now(&name).await?.0)
}

#[tauri::command]
async fn preview_job(api: State<'_, Api>, name: String) -> Res<i64> {
    Ok(api.preview_job(&name).await?.0)
}

#[tauri::command]
fn confirm_retirements(api: State<'_, Api>, name: String) -> Res<()> {
    Ok(api.confirm_retirements(&name)?)
}

#[tauri::command]
fn entra_catalogue(api: State<'_, Api>) -> EntraCatalogue {
    api.entra_catalogue()
}

#[tauri::command]
async fn list_asset_schemas(
    api: State<'_, Api>,
    jira_connection: String,
) -> Res<Vec<AssetsSchemaView>> {
    Ok(api.list_asset_schemas(&jira_connection).await?)
}

#[tauri::command]
async fn dynamics_catalogue(
    api: State<'_, Api>,
    dataverse_connection: String,
    jira_connection: String,
    table: Option<String>,
    project: Option<String>,
    issue_type: Option<String>,
) -> Res<DynamicsCatalogue> {
    let query = DynamicsCatalogueQuery {
        dataverse_connection,
        jira_connection,
        table,
        project,
        issue_type,
    };
    Ok(api.dynamics_catalogue(&query).await?)
}

#[tauri::command]
fn dynamics_link_page(
    api: State<'_, Api>,
    job: String,
    query: DynamicsLinkQuery,
) -> Res<DynamicsLinkPage> {
    Ok(api.dynamics_link_page(&job, &query)?)
}

#[tauri::command]
async fn dynamics_link_names(
    api: State<'_, Api>,
    job: String,
    issue_keys: Vec<String>,
    record_ids: Vec<String>,
) -> Res<DynamicsLinkNames> {
    Ok(api
        .dynamics_link_names(&job, &issue_keys, &record_ids)
        .await?)
}

#[tauri::command]
async fn dynamics_search(
    api: State<'_, Api>,
    job: String,
    side: DynamicsSide,
    text: String,
) -> Res<DynamicsHits> {
    Ok(api.dynamics_search(&job, side, &text).await?)
}

#[tauri::command]
async fn dynamics_link(
    api: State<'_, Api>,
    job: String,
    issue_key: String,
    record_id: String,
) -> Res<LinkPreview> {
    Ok(api.dynamics_link(&job, &issue_key, &record_id).await?)
}

#[tauri::command]
async fn dynamics_unlink(api: State<'_, Api>, job: String, issue_key_or_record: String) -> Res<()> {
    Ok(api.dynamics_unlink(&job, &issue_key_or_record).await?)
}

#[tauri::command]
async fn dynamics_preview(api: State<'_, Api>, job: String, issue_key: String) -> Res<LinkPreview> {
    Ok(api.dynamics_preview(&job, &issue_key).await?)
}

#[tauri::command]
async fn dynamics_bulk_preview(
    api: State<'_, Api>,
    job: String,
    rule: DynamicsBulkRule,
) -> Res<DynamicsBulkPreview> {
    Ok(api.dynamics_bulk_preview(&job, &rule).await?)
}

#[tauri::command]
async fn dynamics_bulk_link(
    api: State<'_, Api>,
    job: String,
    pairs: Vec<DynamicsBulkPair>,
) -> Res<DynamicsBulkResult> {
    Ok(api.dynamics_bulk_link(&job, &pairs).await?)
}

#[tauri::command]
async fn cancel_run(api: State<'_, Api>, run_id: i64) -> Res<bool> {
    Ok(api.cancel_run(RunId(run_id)).await?)
}

#[tauri::command]
fn list_runs(api: State<'_, Api>, job_name: Option<String>, limit: u32) -> Res<Vec<RunSummary>> {
    Ok(api.list_runs(job_name.as_deref(), limit)?)
}

#[tauri::command]
fn get_run(api: State<'_, Api>, run_id: i64) -> Res<RunDetail> {
    Ok(api.get_run(RunId(run_id))?)
}

#[tauri::command]
fn list_run_events(api: State<'_, Api>, run_id: i64, query: EventQuery) -> Res<EventPage> {
    Ok(api.list_run_events(RunId(run_id), query)?)
}

#[tauri::command]
fn get_dashboard(api: State<'_, Api>) -> Res<DashboardView> {
    Ok(api.get_dashboard()?)
}

#[tauri::command]
fn get_settings(api: State<'_, Api>) -> Res<AppSettings> {
    Ok(api.get_settings()?)
}

#[tauri::command]
async fn save_settings(
    app: tauri::AppHandle,
    api: State<'_, Api>,
    settings: AppSettings,
) -> Res<AppSettings> {
    use tauri_plugin_autostart::ManagerExt as _;
    let saved = api.save_settings(settings).await?;
    let autostart = app.autolaunch();
    let res = if saved.start_at_login {
        autostart.enable()
    } else {
        autostart.disable()
    };
    if let Err(error) = res {
        // Disabling an entry that was never created is not worth bothering the admin about.
        if saved.start_at_login {
            return Err(AppError::from(
                crosswalk_core::UserFacing::new(crosswalk_core::Code::Unknown, format!("Could not register Crosswalk to start at login: {error}."))
                    .with_fix("Check that your desktop allows autostart entries (~/.config/autostart on Linux)."),
            ));
        }
    }
    Ok(saved)
}

#[tauri::command]
fn get_app_info(api: State<'_, Api>) -> AppInfo {
    api.app_info()
}

/// "Try with demo data": opens `crosswalk demo` in a process of its own, on its own data folder
/// (`<data>/demo`) and its own window, so the admin's real configuration is never touched.
#[tauri::command]
fn start_demo(api: State<'_, Api>) -> Res<()> {
    let exe = std::env::current_exe().map_err(|error| {
        AppError::from(crosswalk_core::UserFacing::new(
            crosswalk_core::Code::Unknown,
            format!("Cannot find the Crosswalk program: {error}."),
        ))
    })?;
    let data_dir = api.app_info().data_dir;
    std::process::Command::new(exe)
        .args(["--data-dir", &data_dir, "demo"])
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|error| {
            AppError::from(
                crosswalk_core::UserFacing::new(
                    crosswalk_core::Code::Unknown,
                    format!("Could not start the demo: {error}."),
                )
                .with_fix("Run `crosswalk demo` from a terminal to see what is wrong."),
            )
        })?;
    Ok(())
}

/// "Open in Dynamics" / "Open in Jira": the page in the default browser, if it is on a
/// configured site or environment.
#[tauri::command]
fn open_link(api: State<'_, Api>, url: String) -> Res<()> {
    let url = api.openable_url(&url)?;
    super::open::open_in_browser(&url).map_err(|error| {
        AppError::from(
            crosswalk_core::UserFacing::new(
                crosswalk_core::Code::Unknown,
                format!("Could not open the browser: {error}."),
            )
            .with_fix(format!("Copy the address instead: {url}")),
        )
    })
}

/// The handler registering every command in [`crate::COMMANDS`].
pub(super) fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        list_connections,
        save_connection,
        delete_connection,
        test_connection,
        list_secret_expiries,
        list_job_kinds,
        list_jobs,
        save_job,
        delete_job,
        run_job_now,
        preview_job,
        confirm_retirements,
        entra_catalogue,
        list_asset_schemas,
        dynamics_catalogue,
        dynamics_link_page,
        dynamics_link_names,
        dynamics_search,
        dynamics_link,
        dynamics_unlink,
        dynamics_preview,
        dynamics_bulk_preview,
        dynamics_bulk_link,
        cancel_run,
        list_runs,
        get_run,
        list_run_events,
        get_dashboard,
        get_settings,
        save_settings,
        get_app_info,
        start_demo,
        open_link,
    ]
}
