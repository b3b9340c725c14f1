//! One poll of a Smart Connected Item: read what changed on both sides since the last poll,
//! create issues for new records, then bring every touched link in step (fields, status,
//! comments, attachments). Cursors move only after everything they cover was handled.

use crate::connect::Clients;
use crate::convert::{Ctx, UserDirectory};
use crate::error::{facing, Result};
use crate::journal::Journal;
use crate::meta::{ItemMeta, PollMeta};
use crate::settings::DynamicsItemSettings;
use crate::state::LinkState;
use crate::status::StatusMap;
use crosswalk_core::JobId;
use crosswalk_dataverse::{Change, DeltaLink, NextLink, Query, Record, TrackFrom};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::{RunContext, RunEvent, Services};
use crosswalk_http::RequestCounter;
use crosswalk_jira::Issue;
use crosswalk_jira::SearchRequest;
use crosswalk_store::LinkRow;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Cursor: the Dataverse change-tracking delta link.
pub const CURSOR_DELTA: &str = "dataverse.delta";
/// Cursor: the newest `modifiedon` seen (tables without change tracking).
pub const CURSOR_MODIFIED: &str = "dataverse.modified";
/// Cursor: the newest `createdon` handled by auto-create.
pub const CURSOR_CREATED: &str = "dataverse.created";
/// Cursor: the newest note `modifiedon` handled.
pub const CURSOR_NOTES: &str = "dataverse.notes";
/// Cursor: the newest issue `updated` handled.
pub const CURSOR_UPDATED: &str = "jira.updated";
/// Cursor: the mappings (`column>field`, sorted) the last poll synced, to notice new ones.
pub const CURSOR_MAPPED: &str = "mapped.fields";
/// Cursor: when the item started watching; records created before it never get an issue.
pub const CURSOR_BASELINE: &str = "baseline";

/// How far each poll reaches back before its cursor: Jira's JQL has minute resolution and
/// search is eventually consistent (§B.6); Dataverse `modifiedon` ties and clock skew.
pub const OVERLAP: Duration = Duration::minutes(2);
/// Issue key of the property stamped on issues and comments the connector creates.
pub const PROPERTY: &str = "com.crosswalk.link";
/// Issues per search page (full-field pages are ~100 at most, §B.5).
const PAGE: u32 = 100;

/// One item at work (a poll, or an admin action), with everything its steps share.
pub struct Item {
    pub services: Services,
    pub job_id: JobId,
    /// The job's name (shown in link notes and remote links).
    pub name: String,
    /// Compute and log the plan without writing.
    pub dry_run: bool,
    pub journal: Journal,
    pub settings: DynamicsItemSettings,
    pub clients: Clients,
    /// The table, its column types and the Jira account: what every poll reads.
    pub meta: Arc<PollMeta>,
    /// What converting and writing need, read on first need (see [`Item::details`]).
    details: tokio::sync::OnceCell<Details>,
    pub users: UserDirectory,
}

/// What converting and writing need: the item's metadata in detail and its status map.
pub struct Details {
    pub meta: Arc<ItemMeta>,
    pub status_map: StatusMap,
}

/// Records and issues that changed since the last poll.
#[derive(Default)]
pub struct Changes {
    pub records: HashMap<String, Record>,
    pub deleted_records: Vec<String>,
    pub issues: HashMap<String, Issue>,
    /// Cursor values to store once the changes are handled.
    pub cursors: BTreeMap<&'static str, String>,
}

/// Whether a stored delta link reads every column of `select`: its `$select` (Dataverse keeps
/// the first query's options in the link) lists them all, or it has none (every column).
fn selects_all(delta_link: &str, select: &[&str]) -> bool {
    let Ok(link) = url::Url::parse(delta_link) else {
        return true;
    };
    let Some(listed) = link
        .query_pairs()
        .find_map(|(name, value)| (name == "$select").then(|| value.into_owned()))
    else {
        return true;
    };
    let listed: Vec<&str> = listed.split(',').map(str::trim).collect();
    select
        .iter()
        .all(|column| listed.iter().any(|l| l.eq_ignore_ascii_case(column)))
}

/// Formats an instant as stored in cursors and sent in OData filters.
pub fn stamp(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Parses a stored instant (RFC 3339, or Jira's `+0000` form).
pub fn parse_stamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .or_else(|| crosswalk_jira::parse_timestamp(text))
}

impl Item {
    /// Connects and reads what a poll needs, for one run.
    ///
    /// # Errors
    /// Connection, metadata or settings failures, admin-facing.
    pub async fn prepare(ctx: RunContext, settings: DynamicsItemSettings) -> anyhow::Result<Item> {
        let services = ctx.services.clone();
        let (job_id, name, dry_run, requests) = (
            ctx.job_id,
            ctx.job.name.clone(),
            ctx.dry_run,
            ctx.requests.clone(),
        );
        Item::open(
            services,
            job_id,
            name,
            dry_run,
            Journal::Run(ctx),
            settings,
            requests,
        )
        .await
    }

    /// Connects and reads what every poll needs ([`PollMeta`]); the rest is read on first
    /// need ([`Item::details`]).
    ///
    /// # Errors
    /// Connection, metadata or settings failures, admin-facing.
    pub async fn open(
        services: Services,
        job_id: JobId,
        name: String,
        dry_run: bool,
        journal: Journal,
        settings: DynamicsItemSettings,
        requests: RequestCounter,
    ) -> anyhow::Result<Item> {
        let clients = crate::connect::clients(&services, &settings, requests).await?;
        let meta = PollMeta::cached(
            &services.store,
            job_id.0,
            &clients.dataverse,
            &clients.jira,
            &settings,
        )
        .await
        .map_err(facing)?;
        // Reads of the entity set then need no `EntityDefinitions` request of their own.
        clients.dataverse.know_table(meta.entity.clone());
        Ok(Item {
            services,
            job_id,
            name,
            dry_run,
            journal,
            settings,
            clients,
            meta,
            details: tokio::sync::OnceCell::new(),
            users: UserDirectory::default(),
        })
    }

    /// The item's metadata in detail and its status map, read once per item (and kept in
    /// memory for `META_TTL`): only a record or issue that needs converting or writing asks
    /// for them, so an idle poll never reads them. Status map problems are reported then.
    ///
    /// # Errors
    /// As [`ItemMeta::read`].
    pub async fn details(&self) -> Result<&Details> {
        self.details
            .get_or_try_init(|| async {
                let meta = ItemMeta::cached(
                    &self.services.store,
                    self.job_id.0,
                    &self.clients.dataverse,
                    &self.clients.jira,
                    &self.settings,
                )
                .await?;
                let (status_map, problems) = StatusMap::build(
                    &self.settings.table,
                    &self.settings.status.map,
                    &meta.statuses,
                    &meta.states,
                );
                if self.settings.status.enabled {
                    for problem in problems {
                        self.journal.event(
                            RunEvent::info(format!("Status map: {problem}"))
                                .with_level(crosswalk_core::EventLevel::Warn),
                        );
                    }
                }
                Ok(Details { meta, status_map })
            })
            .await
    }

    /// The conversion context of one mapping.
    pub fn convert_ctx<'a>(&'a self, values: &'a [crate::settings::ValuePair]) -> Ctx<'a> {
        Ctx {
            values,
            time_zone: &self.meta.time_zone,
            users: &self.users,
        }
    }

    /// The entity set (`incidents`).
    pub fn entity_set(&self) -> &str {
        &self.meta.entity.entity_set_name
    }

    /// Columns every record read selects: id, versions, status, name and the mapped columns.
    pub fn select(&self) -> Vec<String> {
        let entity = &self.meta.entity;
        let mut select = vec![
            entity.primary_id_attribute.clone(),
            "modifiedon".to_owned(),
            "createdon".to_owned(),
        ];
        if let Some(name) = &entity.primary_name_attribute {
            select.push(name.clone());
        }
        if self.settings.status.enabled {
            select.push("statecode".to_owned());
            select.push("statuscode".to_owned());
        }
        for mapping in &self.settings.fields {
            select.push(self.read_name(&mapping.dataverse));
        }
        select.sort();
        select.dedup();
        select
    }

    /// The name a column is read under (`_x_value` for lookups).
    pub fn read_name(&self, column: &str) -> String {
        match self.meta.columns.get(column) {
            Some(column_type) if column_type.is_lookup() => format!("_{column}_value"),
            _ => column.to_owned(),
        }
    }

    /// A record's value of a mapped column, as read.
    pub fn record_value<'r>(&self, record: &'r Record, column: &str) -> &'r Value {
        record
            .fields
            .get(&self.read_name(column))
            .unwrap_or(&Value::Null)
    }

    /// A record's human name for events.
    pub fn record_label(&self, record: &Record) -> String {
        self.meta
            .entity
            .primary_name_attribute
            .as_ref()
            .and_then(|name| record.fields.get(name))
            .and_then(Value::as_str)
            .unwrap_or(&record.id)
            .to_owned()
    }

    /// Jira fields every issue read asks for.
    pub fn issue_fields(&self) -> Vec<String> {
        let mut fields = vec![
            "summary".to_owned(),
            "updated".to_owned(),
            "created".to_owned(),
            "status".to_owned(),
        ];
        if self.settings.attachments {
            fields.push("attachment".to_owned());
        }
        for mapping in &self.settings.fields {
            fields.push(mapping.jira.clone());
        }
        fields.sort();
        fields.dedup();
        fields
    }

    pub(crate) fn cursor(&self, name: &str) -> Result<Option<String>> {
        Ok(self.services.store.get_cursor(self.job_id, name)?)
    }

    /// When the item started watching (set by its first run).
    pub fn baseline(&self) -> Result<OffsetDateTime> {
        if let Some(at) = self
            .cursor(CURSOR_BASELINE)?
            .as_deref()
            .and_then(parse_stamp)
        {
            return Ok(at);
        }
        let now = self.services.clock.now();
        self.services
            .store
            .set_cursor(self.job_id, CURSOR_BASELINE, &stamp(now))?;
        Ok(now)
    }

    /// The item's mappings as [`CURSOR_MAPPED`] stores them.
    pub fn mapping_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .settings
            .fields
            .iter()
            .map(|m| format!("{}>{}", m.dataverse, m.jira))
            .collect();
        keys.sort();
        keys
    }

    /// Mappings added (or re-pointed) since the last poll: every link then takes their values
    /// once, as a new link does. An item that never stored its mappings has none.
    ///
    /// # Errors
    /// Store failures.
    pub fn added_mappings(&self, changes: &mut Changes) -> Result<Vec<String>> {
        let keys = self.mapping_keys();
        let added = match self.cursor(CURSOR_MAPPED)? {
            None => Vec::new(),
            Some(stored) => keys
                .iter()
                .filter(|key| !stored.split(',').any(|old| old == key.as_str()))
                .cloned()
                .collect(),
        };
        changes.cursors.insert(CURSOR_MAPPED, keys.join(","));
        Ok(added)
    }

    /// Records and issues changed since the cursors.
    ///
    /// # Errors
    /// Remote failures (an expired delta link starts a full read instead).
    pub async fn read_changes(&self, baseline: OffsetDateTime) -> Result<Changes> {
        let mut changes = Changes::default();
        self.read_dataverse(&mut changes, baseline).await?;
        self.read_jira(&mut changes, baseline).await?;
        Ok(changes)
    }

    async fn read_dataverse(&self, changes: &mut Changes, baseline: OffsetDateTime) -> Result<()> {
        let dv = &self.clients.dataverse;
        let select = self.select();
        let select: Vec<&str> = select.iter().map(String::as_str).collect();
        if self.meta.entity.change_tracking_enabled {
            let stored = self.cursor(CURSOR_DELTA)?;
            let mut from = match &stored {
                // A delta link keeps the `$select` it was made with: a column mapped since
                // would be missing from every change (and read as empty), so start over.
                Some(link) if !selects_all(link, &select) => {
                    self.journal.event(RunEvent::info(
                        "The mapped columns changed since Dataverse change tracking started: it restarted with a full read, so the new columns are read too (records whose values did not change are not written).",
                    ));
                    TrackFrom::Initial
                }
                Some(link) => TrackFrom::Delta(DeltaLink(link.clone())),
                None => TrackFrom::Initial,
            };
            loop {
                let page = match dv
                    .track_changes(self.entity_set(), &select, &from, None)
                    .await
                {
                    Ok(page) => page,
                    // An expired token starts over with a full read; any other failure stops
                    // the poll with the cursor kept (a throttled or broken read must not cost
                    // a full read of the table).
                    Err(error @ crosswalk_dataverse::Error::FullSyncRequired { .. })
                        if matches!(from, TrackFrom::Delta(_)) =>
                    {
                        self.journal.event(RunEvent::info(format!(
                            "Dataverse change tracking restarted with a full read ({error})."
                        )));
                        from = TrackFrom::Initial;
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                };
                for change in page.changes {
                    match change {
                        Change::Upsert(record) => {
                            changes.records.insert(record.id.clone(), record);
                        }
                        Change::Deleted { id, .. } => changes.deleted_records.push(id),
                    }
                }
                match (page.next, page.delta_link) {
                    (Some(NextLink(next)), _) => from = TrackFrom::NextPage(NextLink(next)),
                    (None, Some(DeltaLink(delta))) => {
                        changes.cursors.insert(CURSOR_DELTA, delta);
                        break;
                    }
                    (None, None) => break,
                }
            }
        } else {
            let since = self
                .cursor(CURSOR_MODIFIED)?
                .as_deref()
                .and_then(parse_stamp)
                .unwrap_or(baseline);
            let query = Query {
                select: select.iter().map(|s| (*s).to_owned()).collect(),
                filter: Some(format!("modifiedon gt {}", stamp(since - OVERLAP))),
                orderby: Some("modifiedon asc".to_owned()),
                page_size: Some(500),
                formatted: false,
            };
            let mut newest = since;
            let mut server_now: Option<OffsetDateTime> = None;
            let mut next = None;
            loop {
                let page = dv.list(self.entity_set(), &query, next.as_ref()).await?;
                server_now = server_now.or(page.server_time);
                for record in page.records {
                    if let Some(at) = record
                        .fields
                        .get("modifiedon")
                        .and_then(Value::as_str)
                        .and_then(parse_stamp)
                    {
                        newest = newest.max(at);
                    }
                    changes.records.insert(record.id.clone(), record);
                }
                match page.next {
                    Some(link) => next = Some(link),
                    None => break,
                }
            }
            // As on Jira: every record modified before Dataverse's clock at the first page is
            // in the answer (up to the commit lag the overlap covers), so the window moves up
            // to that clock and an idle poll after a burst stops re-reading it.
            let cursor = server_now.map_or(newest, |now| newest.max(now));
            changes.cursors.insert(CURSOR_MODIFIED, stamp(cursor));
        }
        Ok(())
    }

    async fn read_jira(&self, changes: &mut Changes, baseline: OffsetDateTime) -> Result<()> {
        let since = self
            .cursor(CURSOR_UPDATED)?
            .as_deref()
            .and_then(parse_stamp)
            .unwrap_or(baseline);
        let clause = crosswalk_jira::jql::updated_since(since - OVERLAP, &self.meta.time_zone)?;
        let jql = format!("{} AND {clause} ORDER BY updated ASC", self.scope_jql());
        let fields = self.issue_fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let mut newest = since;
        let mut server_now: Option<OffsetDateTime> = None;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .jira
                .search(&SearchRequest {
                    jql: &jql,
                    fields: &fields,
                    properties: &[],
                    expand: None,
                    next_page_token: token.as_deref(),
                    max_results: PAGE,
                    reconcile_issues: &[],
                })
                .await;
            let page = match page {
                Ok(page) => page,
                // Jira refuses JQL naming a project or issue type that does not exist: the
                // metadata says which (and the fix), else Jira's own message stands.
                Err(error) if error.status() == Some(400) => {
                    self.details().await?;
                    return Err(error.into());
                }
                Err(error) => return Err(error.into()),
            };
            server_now = server_now.or(page.server_time);
            for issue in page.issues {
                if let Some(at) = issue.updated() {
                    newest = newest.max(at);
                }
                changes.issues.insert(issue.id.clone(), issue);
            }
            match page.next_page_token {
                Some(next) if !page.is_last => token = Some(next),
                _ => break,
            }
        }
        // Everything updated before Jira's clock at the first page was read (up to the index
        // lag the overlap covers), so the window may move up to it even when nothing changed:
        // an idle poll after a burst stops re-reading the burst once the overlap has passed.
        // Jira's own clock, not ours, so local clock skew cannot skip a change.
        let cursor = server_now.map_or(newest, |now| newest.max(now));
        changes.cursors.insert(CURSOR_UPDATED, stamp(cursor));
        Ok(())
    }

    /// Stores the cursors of handled changes.
    ///
    /// # Errors
    /// Store failures.
    pub fn save_cursors(&self, changes: &Changes) -> Result<()> {
        for (name, value) in &changes.cursors {
            self.services.store.set_cursor(self.job_id, name, value)?;
        }
        Ok(())
    }

    /// Reads one record with the item's columns.
    ///
    /// # Errors
    /// Remote failures (404 when it was deleted).
    pub async fn read_record(&self, id: &str) -> Result<Record> {
        let select = self.select();
        let select: Vec<&str> = select.iter().map(String::as_str).collect();
        let names = self.needs_names(self.details().await?);
        Ok(self
            .clients
            .dataverse
            .get(self.entity_set(), id, &select, names)
            .await?)
    }

    /// Whether a mapping shows a lookup's name in Jira (a lookup to a field other than a user
    /// field) or the labels of a multi-select choice whose options the metadata did not list:
    /// records must then be read with formatted values, which change tracking omits. A
    /// multi-select with known options takes its labels from them, so it costs no re-read.
    pub fn needs_names(&self, details: &Details) -> bool {
        self.settings.fields.iter().any(|mapping| {
            let column = details.meta.columns.get(&mapping.dataverse);
            (matches!(
                column.map(|c| &c.kind),
                Some(crosswalk_dataverse::AttributeKind::Lookup { .. })
            ) && !self.is_user_mapping(details, mapping))
                || column.is_some_and(crate::convert::labels_from_formatted)
        })
    }

    /// Whether a record was read without the lookup names its mappings show.
    pub fn lacks_names(&self, details: &Details, record: &Record) -> bool {
        self.needs_names(details)
            && self.settings.fields.iter().any(|mapping| {
                let read = self.read_name(&mapping.dataverse);
                record.fields.get(&read).is_some_and(|v| !v.is_null())
                    && !record.formatted.contains_key(&read)
            })
    }

    /// Reads one issue with the item's fields.
    ///
    /// # Errors
    /// Remote failures (404 when it was deleted or moved out of sight).
    pub async fn read_issue(&self, id: &str) -> Result<Issue> {
        let fields = self.issue_fields();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        Ok(self.clients.jira.get_issue(id, &fields, false).await?)
    }

    /// The item's issues in JQL: its project and issue type. Polls read only these, so links
    /// (by hand or bulk) are confined to them too.
    pub fn scope_jql(&self) -> String {
        // An issue type id goes unquoted (quoted, Jira reads it as a name).
        let issue_type = &self.settings.jira_issue_type;
        let issue_type = if issue_type.bytes().all(|b| b.is_ascii_digit()) {
            issue_type.clone()
        } else {
            crosswalk_jira::jql::quote(issue_type)
        };
        format!(
            "project = {} AND issuetype = {issue_type}",
            crosswalk_jira::jql::quote(&self.settings.jira_project)
        )
    }

    /// Saves a link's state.
    ///
    /// # Errors
    /// Store failures.
    pub fn save_state(&self, link: &LinkRow, state: &LinkState) -> Result<()> {
        self.services
            .store
            .set_link_state(link.id, link.baseline_at, &state.to_json())?;
        Ok(())
    }

    /// Records an event about a link's issue.
    pub fn issue_event(
        &self,
        link: &LinkRow,
        kind: &str,
        action: EventAction,
        message: impl Into<String>,
    ) -> RunEvent {
        RunEvent::object(kind, &link.jira_key, &link.dataverse_id, action, message)
    }

    /// The conversion of one Dataverse value for a mapping, for event details.
    pub fn describe(value: &Value) -> Value {
        match value {
            Value::String(text) if text.chars().count() > 500 => {
                Value::String(format!("{}…", text.chars().take(500).collect::<String>()))
            }
            other => other.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users: the directory is filled on demand, only for users the mapped user fields name.

impl Item {
    /// Whether a mapping pairs a user lookup (owner, systemuser lookup) with a Jira user field.
    fn is_user_mapping(&self, details: &Details, mapping: &crate::settings::FieldMapping) -> bool {
        let lookup = matches!(
            details.meta.columns.get(&mapping.dataverse).map(|c| &c.kind),
            Some(crosswalk_dataverse::AttributeKind::Lookup { targets })
                if targets.is_empty() || targets.iter().any(|t| t == "systemuser")
        );
        lookup
            && details
                .meta
                .fields
                .get(&mapping.jira)
                .is_some_and(|field| field.schema.kind == "user")
    }

    /// Looks up, by email, the counterparts of the users a record's and an issue's mapped user
    /// fields name, so conversions find them in [`Item::users`]. Users that cannot be matched
    /// (no email, Jira hiding it, nobody with that email) stay unmatched and their conversion
    /// reports it; a failed lookup is a warning, never a stop.
    pub async fn resolve_users(
        &self,
        details: &Details,
        record: Option<&Record>,
        issue: Option<&Issue>,
    ) {
        for mapping in self.settings.fields.iter() {
            if !self.is_user_mapping(details, mapping) {
                continue;
            }
            if let Some(id) = record.and_then(|r| self.record_value(r, &mapping.dataverse).as_str())
            {
                self.resolve_dataverse_user(id).await;
            }
            if let Some(user) = issue.and_then(|i| i.fields.get(&mapping.jira)) {
                self.resolve_jira_user(user).await;
            }
        }
    }

    fn user_lookup_failed(&self, who: &str, error: &dyn std::fmt::Display) {
        self.journal.event(
            RunEvent::info(format!("Could not look up the user {who}: {error}"))
                .with_level(crosswalk_core::EventLevel::Warn),
        );
    }

    /// A Dynamics user's email (`internalemailaddress`), then the Jira account with it
    /// (`GET /rest/api/3/user/search?query=<email>`; Jira matches hidden emails exactly).
    async fn resolve_dataverse_user(&self, systemuserid: &str) {
        let users = &self.users;
        if users.jira_for_dataverse(systemuserid).is_some() {
            return;
        }
        let mut email = users.email_of_dataverse(systemuserid);
        if email.is_none() && users.first_lookup(&format!("dataverse:{systemuserid}")) {
            match self
                .clients
                .dataverse
                .get(
                    "systemusers",
                    systemuserid,
                    &["internalemailaddress", "fullname"],
                    false,
                )
                .await
            {
                Ok(user) => {
                    email = user
                        .fields
                        .get("internalemailaddress")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if let Some(email) = &email {
                        users.add_dataverse(systemuserid, email);
                    }
                }
                // A team owning the record, or a user since deleted: left unmatched.
                Err(crosswalk_dataverse::Error::Http(e)) if e.status() == Some(404) => {}
                Err(error) => self.user_lookup_failed(systemuserid, &error),
            }
        }
        let Some(email) = email else { return };
        if users.jira_account_for_email(&email).is_some()
            || !users.first_lookup(&format!("jira:{email}"))
        {
            return;
        }
        match self.clients.jira.find_user_by_email(&email).await {
            Ok(Some(user)) => {
                users.add_jira(&user.account_id, &email);
            }
            Ok(None) => {}
            Err(error) => self.user_lookup_failed(&email, &error),
        }
    }

    /// A Jira user's email (as the issue shows it; hidden emails leave the user unmatched
    /// unless a Dynamics user's lookup already found the account), then the enabled Dynamics
    /// user with that `internalemailaddress`.
    async fn resolve_jira_user(&self, user: &Value) {
        let users = &self.users;
        let Some(account) = user.get("accountId").and_then(Value::as_str) else {
            return;
        };
        if users.dataverse_for_jira(account).is_some() {
            return;
        }
        let email = users.email_of_jira(account).or_else(|| {
            user.get("emailAddress")
                .and_then(Value::as_str)
                .filter(|email| !email.is_empty())
                .map(str::to_owned)
        });
        let Some(email) = email else { return };
        users.add_jira(account, &email);
        if users.dataverse_user_for_email(&email).is_some()
            || !users.first_lookup(&format!("dataverse:{email}"))
        {
            return;
        }
        let query = Query {
            select: vec!["systemuserid".to_owned(), "internalemailaddress".to_owned()],
            filter: Some(format!(
                "internalemailaddress eq '{}' and isdisabled eq false",
                email.replace('\'', "''")
            )),
            orderby: None,
            page_size: Some(5),
            formatted: false,
        };
        match self
            .clients
            .dataverse
            .list("systemusers", &query, None)
            .await
        {
            Ok(page) => {
                if let Some(found) = page.records.first() {
                    users.add_dataverse(&found.id, &email);
                }
            }
            Err(error) => self.user_lookup_failed(&email, &error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::selects_all;

    #[test]
    fn a_delta_link_reads_the_columns_its_select_lists() {
        let link = "https://org.crm.dynamics.com/api/data/v9.2/incidents?$select=title,modifiedon&$deltatoken=919042%2108%2f22%2f2017";
        assert!(selects_all(link, &["title", "modifiedon"]));
        assert!(selects_all(link, &["title"]));
        assert!(!selects_all(link, &["title", "description"]));
        let encoded =
            "https://org/api/data/v9.2/incidents?%24select=title%2Cdescription&%24deltatoken=1";
        assert!(selects_all(encoded, &["description", "title"]));
        // No `$select`: every column.
        assert!(selects_all(
            "https://org/api/data/v9.2/incidents?$deltatoken=1",
            &["x"]
        ));
    }
}
