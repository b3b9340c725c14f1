//! The types that cross the IPC boundary. TypeScript twins are generated from these by ts-rs
//! (`cargo gen`) into `ui/src/lib/bindings/`; never write them by hand on the UI side.

use crosswalk_core::{
    CheckReport, Cloud, Code, ConnectionKind, EventLevel, RunCounts, RunStatus, Schedule, Trigger,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;

/// The connection form: every field of every kind, flat, as the console edits it.
///
/// `secret` is write-only: it is filled by the admin when saving and always `null` when read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionForm {
    /// The name before an edit (renames), `null` for a new connection.
    pub original_name: Option<String>,
    pub name: String,
    pub kind: Option<ConnectionKind>,
    pub site_url: Option<String>,
    pub email: Option<String>,
    pub assets_api_url: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub cloud: Option<Cloud>,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub org_url: Option<String>,
    /// Read the secret from this environment variable instead of the keychain (headless servers).
    pub secret_env: Option<String>,
    /// New secret value; `null` keeps the stored one.
    pub secret: Option<String>,
}

/// A stored connection as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionView {
    pub name: String,
    pub kind: ConnectionKind,
    /// One line naming what it points at (site URL, tenant, org URL).
    pub target: String,
    /// Where the secret lives, in words ("OS keychain", "environment variable X").
    pub secret_location: String,
    /// False when the keychain has no entry for it yet (it cannot work until one is saved).
    pub secret_stored: bool,
    /// The form, for editing; its `secret` is always `null`.
    pub form: ConnectionForm,
    pub updated_at: String,
}

/// The last known expiry of a connection's client secret (Entra and Dataverse connections), as
/// the last health check or sync read it from the app registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SecretExpiryView {
    pub connection: String,
    pub kind: ConnectionKind,
    /// The app registration the secret belongs to.
    pub app_display_name: String,
    pub expires_at: String,
    /// Whole days left as of now (negative once expired).
    #[ts(type = "number")]
    pub days_left: i64,
    /// 30, 14, 7 or 1 within 30 days of expiry, 0 once expired, `null` with more time left.
    pub threshold: Option<u32>,
    pub expired: bool,
    /// False when Crosswalk could not tell which of the app's secrets it uses (the earliest
    /// expiry is shown).
    pub matched_by_hint: bool,
    /// When the expiry was last read.
    pub checked_at: String,
    /// One sentence naming the connection and the date.
    pub message: String,
    /// Where to create the new secret and how to give it to Crosswalk.
    pub fix: String,
}

/// A field the admin must correct, named as in [`ConnectionForm`] / [`JobForm`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every failure the UI sees: a stable code, a sentence, the fix, and per-field problems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub fix: Option<String>,
    pub fields: Vec<FieldError>,
}

/// The job form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JobForm {
    pub original_name: Option<String>,
    pub name: String,
    pub kind: String,
    pub schedule: Schedule,
    pub enabled: bool,
    /// Kind-specific settings as JSON text (each engine documents its own).
    pub settings_json: String,
}

/// A job kind the console can create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JobKindView {
    pub kind: String,
    pub label: String,
}

/// A job as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JobView {
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub schedule: Schedule,
    pub schedule_label: String,
    pub enabled: bool,
    pub next_due_at: Option<String>,
    #[ts(type = "number | null")]
    pub running_run_id: Option<i64>,
    pub last_run: Option<RunSummary>,
    pub form: JobForm,
}

/// Requests one run made to one remote system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RequestStats {
    #[ts(type = "number")]
    pub requests: u64,
    #[ts(type = "number")]
    pub throttled: u64,
    #[ts(type = "number")]
    pub retries: u64,
}

/// One line of the run list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunSummary {
    #[ts(type = "number")]
    pub id: i64,
    pub job_name: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub dry_run: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    /// Totals over all object kinds.
    pub totals: RunCounts,
    #[ts(type = "number")]
    pub requests: u64,
    pub error: Option<AppError>,
    #[ts(type = "number")]
    pub progress_done: u64,
    #[ts(type = "number")]
    pub progress_total: u64,
    pub progress_message: Option<String>,
}

/// A run with its per-kind counts and per-remote requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunDetail {
    pub summary: RunSummary,
    pub counts: BTreeMap<String, RunCounts>,
    pub requests: BTreeMap<String, RequestStats>,
}

/// Filters for a run's events (all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EventQuery {
    pub level: Option<EventLevel>,
    pub action: Option<String>,
    pub object_kind: Option<String>,
    pub text: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

/// One event of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunEventView {
    #[ts(type = "number")]
    pub id: i64,
    pub at: String,
    pub level: EventLevel,
    pub object_kind: String,
    pub object_id: String,
    pub object_label: String,
    pub action: String,
    pub message: String,
    #[ts(type = "unknown")]
    pub before: Option<serde_json::Value>,
    #[ts(type = "unknown")]
    pub after: Option<serde_json::Value>,
    pub fix: Option<String>,
}

/// A page of events plus how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EventPage {
    pub events: Vec<RunEventView>,
    #[ts(type = "number")]
    pub total: u64,
}

/// App-wide preferences the Settings screen edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppSettings {
    /// "system", "light" or "dark".
    pub theme: String,
    pub schedules_paused: bool,
    pub notify_on_failure: bool,
    pub start_at_login: bool,
}

impl Default for AppSettings {
    fn default() -> AppSettings {
        AppSettings {
            theme: "system".into(),
            schedules_paused: false,
            notify_on_failure: true,
            start_at_login: false,
        }
    }
}

/// Read-only facts for the Settings/About screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub log_dir: String,
    pub keychain: String,
    /// True when the console runs on `crosswalk demo` data against the local sandbox.
    pub demo: bool,
}

/// What the dashboard shows at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DashboardView {
    pub connections: u32,
    pub jobs: u32,
    pub enabled_jobs: u32,
    pub running: Vec<RunSummary>,
    pub recent_runs: Vec<RunSummary>,
    pub failed_last_24h: u32,
    pub schedules_paused: bool,
}

/// Live progress of a run, pushed to the UI as the `run:progress` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunProgress {
    #[ts(type = "number")]
    pub run_id: i64,
    pub job_name: String,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
    pub message: String,
}

/// A run started or finished, pushed as the `run:changed` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunChanged {
    #[ts(type = "number")]
    pub run_id: i64,
    pub job_name: String,
    pub status: RunStatus,
}

/// Re-exported so the UI gets the checklist type from the same place.
pub type ConnectionTestReport = CheckReport;

/// A Graph property the Entra Sync job editor can map, with its default Assets attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EntraPropertyView {
    /// Graph's property name (the key in the job's `attributes` overrides).
    pub graph: String,
    /// The attribute it fills unless renamed.
    pub attribute: String,
    /// What Assets stores: text, integer, boolean, date-time, or "reference to Entra User".
    pub data_type: String,
}

/// A kind of Entra object the job editor offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EntraKindView {
    /// Its switch in the job's `kinds` settings (`users`, `managed_devices`...).
    pub setting: String,
    /// Its key in the `attributes` overrides (`user`, `managed_device`...).
    pub word: String,
    /// The Assets object type it becomes.
    pub type_name: String,
    /// Plural for labels ("Intune devices").
    pub label: String,
    /// The Graph application permission reading it needs.
    pub permission: String,
    /// What the admin should know (e.g. how memberships are modelled).
    pub note: Option<String>,
    pub properties: Vec<EntraPropertyView>,
}

/// Everything the Entra Sync job editor needs to draw itself (no network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EntraCatalogue {
    pub kinds: Vec<EntraKindView>,
    /// Settings of a new job (connections empty).
    pub defaults: crosswalk_entra::EntraSyncSettings,
    /// Attributes every type has that cannot be remapped.
    pub fixed_attributes: Vec<String>,
}

/// An Assets object schema offered for an Entra Sync job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AssetsSchemaView {
    pub id: String,
    pub name: String,
    pub key: String,
    #[ts(type = "number")]
    pub object_count: u64,
    /// Already an Entra Sync schema (its types were created by Crosswalk).
    pub ours: bool,
    /// Types with Crosswalk's names that Crosswalk did not create: this schema cannot be used.
    pub conflicts: Vec<String>,
}
