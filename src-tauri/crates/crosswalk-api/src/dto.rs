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

pub use crate::dynamics::DynamicsBulkResult;
/// The bulk link's rule, preview and pairs (generated as TS types too).
pub use crosswalk_dynamics::linking::{
    BulkAmbiguity as DynamicsBulkAmbiguity, BulkPair as DynamicsBulkPair,
    BulkPreview as DynamicsBulkPreview, BulkRule as DynamicsBulkRule,
};
/// The links panel's answers come straight from the connector (generated as TS types too).
pub use crosswalk_dynamics::linking::{IssueHit, LinkPreview, PreviewField, RecordHit};

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

/// What the Smart Connected Item wizard asks the two services for: the connections, and, as the
/// admin chooses them, the table, the Jira project and its issue type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsCatalogueQuery {
    pub dataverse_connection: String,
    pub jira_connection: String,
    /// Table logical name; with `project` and `issue_type` the mapping catalogue is read too.
    pub table: Option<String>,
    /// Jira project key; its issue types are listed.
    pub project: Option<String>,
    /// Jira issue type id.
    pub issue_type: Option<String>,
}

/// A Dataverse table the wizard offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsTableView {
    /// What the item's `table` setting stores (`incident`).
    pub logical_name: String,
    /// Its name in Dynamics ("Case"); the logical name when it has none.
    pub display_name: String,
    pub entity_set_name: String,
    /// The module it is grouped under (a [`DynamicsModuleView::name`]).
    pub module: String,
    /// Whether changes are read by change tracking (else by `modifiedon`).
    pub change_tracking: bool,
}

/// A Dynamics module (product area) with its tables, as the seed's step 1 groups them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsModuleView {
    /// What the item's `module` setting stores ("Dynamics 365 Customer Service").
    pub name: String,
    /// As the wizard shows it: "Dynamics 365 Customer Service (Case)".
    pub label: String,
    pub tables: Vec<DynamicsTableView>,
}

/// A Jira project the wizard offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JiraProjectView {
    pub id: String,
    pub key: String,
    pub name: String,
}

/// An issue type that can be created in the chosen project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JiraIssueTypeView {
    pub id: String,
    pub name: String,
    pub subtask: bool,
}

/// One option of a Dataverse choice, yes/no, state or status column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsOptionView {
    /// As an explicit value map stores it: the integer as text, or "true"/"false".
    pub value: String,
    pub label: String,
    /// For a status reason: the state (`statecode`) it belongs to.
    pub state: Option<i32>,
}

/// A column of the chosen table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsColumnView {
    /// Logical name (what a field mapping stores).
    pub name: String,
    /// Display name in Dynamics; the logical name when it has none.
    pub label: String,
    /// Its type as Dynamics names it ("Choice", "Lookup to account").
    pub data_type: String,
    /// Options of choice, yes/no, state and status columns (for explicit value maps).
    pub options: Vec<DynamicsOptionView>,
}

/// A field on the create screen of the chosen issue type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JiraFieldView {
    /// Field id (what a field mapping stores): `summary`, `customfield_10010`.
    pub id: String,
    pub name: String,
    /// Its kind ("Jira text", "select list", "priority").
    pub data_type: String,
    /// Jira refuses a create without it (unless it has a default).
    pub required: bool,
    pub has_default: bool,
    /// Labels of its allowed values (options, priorities, components, versions).
    pub allowed_values: Vec<String>,
}

/// How well one column converts to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CompatibilityLevel {
    /// Values go both ways unchanged.
    Exact,
    /// Values convert; the reason says what is lost or how they are matched.
    Lossy,
    /// The types do not convert.
    Incompatible,
}

/// One entry of the column × field compatibility matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsCompatibilityView {
    pub column: String,
    pub field: String,
    pub level: CompatibilityLevel,
    /// Why, in the admin's words ("Text → Labels: split at commas; spaces become '_'");
    /// `null` for exact pairs.
    pub reason: Option<String>,
}

/// A workflow status of the chosen issue type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JiraStatusView {
    pub id: String,
    pub name: String,
    /// `new`, `indeterminate`, `done` or `undefined`.
    pub category: String,
}

/// What step 2 of the wizard needs once the table, project and issue type are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsMappingCatalogue {
    pub table: String,
    pub project: String,
    pub issue_type: String,
    /// The table's columns, by label.
    pub columns: Vec<DynamicsColumnView>,
    /// The issue type's create-screen fields (project and issue type left out: the item sets
    /// them), required first.
    pub fields: Vec<JiraFieldView>,
    /// Every column × field pair.
    pub compatibility: Vec<DynamicsCompatibilityView>,
    /// The issue type's workflow statuses, in workflow order.
    pub jira_statuses: Vec<JiraStatusView>,
    /// The table's `statecode` options.
    pub states: Vec<DynamicsOptionView>,
    /// The table's `statuscode` options, each with its state.
    pub statuses: Vec<DynamicsOptionView>,
    /// The status map Crosswalk would use with no explicit pairs (all heuristic).
    pub status_rows: Vec<crosswalk_dynamics::status::StatusRow>,
    /// What that map cannot pair, as sentences.
    pub status_problems: Vec<String>,
}

/// Everything the Smart Connected Item wizard offers, read live from both services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsCatalogue {
    /// Tables grouped by module: Customer Service, Sales, Activities, then other Dataverse tables.
    pub modules: Vec<DynamicsModuleView>,
    pub projects: Vec<JiraProjectView>,
    /// Issue types of the query's project (empty without one).
    pub issue_types: Vec<JiraIssueTypeView>,
    /// With table, project and issue type: columns, fields, compatibility, statuses.
    pub mapping: Option<DynamicsMappingCatalogue>,
}

/// Who made a link: auto-create (`auto`, cannot be unlinked by hand) or an admin (`manual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum LinkManaged {
    Auto,
    Manual,
}

/// A stored link of a Smart Connected Item (no remote calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsLinkRow {
    pub jira_key: String,
    pub jira_issue_id: String,
    pub table: String,
    pub record_id: String,
    pub managed: LinkManaged,
    pub created_at: String,
    /// When the link's values were last in step (its first sync), `null` before.
    pub baseline_at: Option<String>,
    /// The issue's summary as the link or its last sync read it (`null` before): shown until
    /// the live names arrive, and matched by the filter.
    #[ts(optional = nullable)]
    pub issue_summary: Option<String>,
    /// The record's primary name as the link or its last sync read it (`null` before).
    #[ts(optional = nullable)]
    pub record_name: Option<String>,
}

/// Which page of a Smart Connected Item's links the panel asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsLinkQuery {
    /// Keeps links whose issue key, issue id, record id, or stored issue summary or record name
    /// contains it (any case, surrounding spaces ignored); empty: all.
    pub filter: String,
    /// Rows to skip (of those matching).
    pub offset: u32,
    /// Rows per page (at most [`MAX_LINKS_PER_PAGE`]).
    pub limit: u32,
}

/// Most links one page holds.
pub const MAX_LINKS_PER_PAGE: u32 = 200;

/// One page of an item's stored links, newest first (no remote calls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsLinkPage {
    pub rows: Vec<DynamicsLinkRow>,
    /// The first row's position among the matching links.
    pub offset: u32,
    /// Links matching the filter.
    pub matching: u32,
    /// All links of the item.
    pub total: u32,
}

/// The display name of an issue (its summary, by key) or a record (its primary name, by id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsName {
    pub id: String,
    pub name: String,
}

/// The names of the links on one page, read in batches from Jira and Dataverse. Issues and
/// records that were not found (deleted, or not visible) are missing; a side that could not
/// be read has its error instead, so the other side's names still show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsLinkNames {
    /// Issue key → summary.
    pub issues: Vec<DynamicsName>,
    /// Record id → primary name.
    pub records: Vec<DynamicsName>,
    pub issues_error: Option<String>,
    pub records_error: Option<String>,
}

/// Which side a links-panel search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum DynamicsSide {
    Jira,
    Dynamics,
}

/// What a links-panel search found: issues for `jira`, records for `dynamics`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsHits {
    pub side: DynamicsSide,
    pub issues: Vec<crosswalk_dynamics::linking::IssueHit>,
    pub records: Vec<crosswalk_dynamics::linking::RecordHit>,
}
