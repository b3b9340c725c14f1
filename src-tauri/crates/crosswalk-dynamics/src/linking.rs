//! Admin actions on links outside a poll (the console stands in for the seed's Jira issue
//! panel): search both sides, link an issue to a record by hand, preview a link, unlink.
//!
//! Manual links work in every mode. Unlinking removes the stored link, the "Linked to Jira"
//! note and the remote link — never the issue or the record. Auto-managed links (from
//! auto-create) cannot be unlinked by hand, as in the seed.

use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::settings::DynamicsItemSettings;
use crate::state::{LinkState, StatusSide};
use crate::sync::Item;
use crosswalk_dataverse::{Query, Record};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::{RunContext, RunEvent, Services};
use crosswalk_http::RequestCounter;
use crosswalk_jira::{Issue, SearchRequest};
use crosswalk_store::{LinkRow, Managed, NewLink};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Results per search.
const HITS: u32 = 20;

/// A Dataverse record found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordHit {
    pub id: String,
    pub name: String,
    /// The record's page in Dynamics.
    pub url: String,
    /// The Jira key it is already linked to by this item, if any.
    pub linked_to: Option<String>,
}

/// A Jira issue found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IssueHit {
    pub id: String,
    pub key: String,
    pub summary: String,
    pub status: String,
    pub url: String,
    /// The record it is already linked to by this item, if any.
    pub linked_to: Option<String>,
}

/// One mapped field of a link preview, as each side holds it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewField {
    pub dataverse_column: String,
    pub jira_field: String,
    /// Display text of the Dataverse value.
    pub dynamics: String,
    /// Display text of the Jira value.
    pub jira: String,
}

/// A link as the console shows it: both sides' names, statuses and mapped values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkPreview {
    pub jira_key: String,
    pub jira_issue_id: String,
    pub issue_url: String,
    pub issue_summary: String,
    pub issue_status: String,
    pub record_id: String,
    pub record_name: String,
    pub record_url: String,
    pub record_status: Option<String>,
    /// `auto` or `manual`.
    pub managed: String,
    pub fields: Vec<PreviewField>,
    /// The seed panel's status sync indicator: `off` (the item does not sync status),
    /// `in_step`, or `pending` (a status move failed and is retried; see `status_pending`).
    pub status_sync: String,
    /// Why a status move is pending: which side, how many attempts, the last refusal.
    pub status_pending: Option<String>,
}

/// Opens an item by its job name for an admin action.
///
/// # Errors
/// No such job, not a Dynamics item, invalid settings, or a connection failure.
pub async fn open(services: &Services, job_name: &str) -> anyhow::Result<Item> {
    let job = services
        .store
        .get_job(job_name)
        .map_err(|e| anyhow::Error::new(Error::Store(e).user_facing()))?;
    if job.config.kind != crate::KIND {
        return Err(anyhow::Error::new(
            Error::Settings(format!(
                "\"{job_name}\" is a {} job, not a Smart Connected Item",
                job.config.kind
            ))
            .user_facing(),
        ));
    }
    let settings = DynamicsItemSettings::parse(&job.config.settings).map_err(|problems| {
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        anyhow::Error::new(Error::Settings(text.join("; ")).user_facing())
    })?;
    Item::open(
        services.clone(),
        job.id,
        job.config.name,
        false,
        Journal::collect(),
        settings,
        RequestCounter::default(),
    )
    .await
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("doc") => {
            crosswalk_jira::adf::to_plain_text(value)
        }
        Value::Object(map) => ["displayName", "name", "value", "key"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .map_or_else(|| value.to_string(), str::to_owned),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// OData string literal: single quotes doubled.
fn odata_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Item {
    /// Records of the item's table whose name contains `text` (or whose id is `text`).
    ///
    /// # Errors
    /// Remote failures (a role that cannot read the table is Dataverse's privilege error).
    pub async fn search_records(&self, text: &str) -> Result<Vec<RecordHit>> {
        let Some(name) = self.meta.entity.primary_name_attribute.clone() else {
            return Ok(Vec::new());
        };
        let id_attr = &self.meta.entity.primary_id_attribute;
        let trimmed = text.trim();
        let is_guid =
            trimmed.len() == 36 && trimmed.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let filter = if is_guid {
            format!("{id_attr} eq {trimmed}")
        } else {
            format!("contains({name},{})", odata_string(trimmed))
        };
        let query = Query {
            select: vec![id_attr.clone(), name.clone()],
            filter: Some(filter),
            orderby: Some(format!("{name} asc")),
            page_size: Some(HITS),
            formatted: false,
        };
        let page = self
            .clients
            .dataverse
            .list(self.entity_set(), &query, None)
            .await?;
        let mut hits = Vec::new();
        for record in page.records.into_iter().take(HITS as usize) {
            let linked_to = self
                .services
                .store
                .find_link_by_record(self.job_id, &self.settings.table, &record.id)?
                .map(|link| link.jira_key);
            hits.push(RecordHit {
                name: record.fields.get(&name).map(text_of).unwrap_or_default(),
                url: self.record_url(&record.id),
                id: record.id,
                linked_to,
            });
        }
        Ok(hits)
    }

    /// Issues of the item's project and issue type matching `text` (a key, or words in summary
    /// or text).
    ///
    /// # Errors
    /// Remote failures.
    pub async fn search_issues(&self, text: &str) -> Result<Vec<IssueHit>> {
        let trimmed = text.trim();
        let scope = self.scope_jql();
        let looks_like_key = trimmed.split_once('-').is_some_and(|(p, n)| {
            !p.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
        let jql = if looks_like_key {
            format!(
                "{scope} AND key = {} ORDER BY updated DESC",
                crosswalk_jira::jql::quote(trimmed)
            )
        } else if trimmed.is_empty() {
            format!("{scope} ORDER BY updated DESC")
        } else {
            format!(
                "{scope} AND text ~ {} ORDER BY updated DESC",
                crosswalk_jira::jql::quote(trimmed)
            )
        };
        let page = self
            .clients
            .jira
            .search(&SearchRequest {
                jql: &jql,
                fields: &["summary", "status"],
                properties: &[],
                expand: None,
                next_page_token: None,
                max_results: HITS,
                reconcile_issues: &[],
            })
            .await?;
        let mut hits = Vec::new();
        for issue in page.issues {
            let linked_to = self
                .services
                .store
                .find_link_by_issue(self.job_id, &issue.id)?
                .map(|link| link.dataverse_id);
            hits.push(IssueHit {
                summary: issue.fields.get("summary").map(text_of).unwrap_or_default(),
                status: issue.status().map(|s| s.name).unwrap_or_default(),
                url: self.issue_url(&issue.key),
                id: issue.id,
                key: issue.key,
                linked_to,
            });
        }
        Ok(hits)
    }

    /// Links an issue of the item's project and issue type to a record of its table by hand,
    /// writes the link note and remote link; the next poll pushes Dynamics' mapped values once.
    ///
    /// # Errors
    /// `AlreadyLinked` when either side is linked already; `OutOfScope` for an issue of another
    /// project or issue type; remote failures (a record or issue that does not exist is their
    /// 404).
    pub async fn link(&self, issue_key: &str, record_id: &str) -> Result<LinkRow> {
        let mut fields = self.issue_fields();
        fields.extend(["project".to_owned(), "issuetype".to_owned()]);
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let issue = self
            .clients
            .jira
            .get_issue(issue_key, &fields, false)
            .await?;
        let named = |field: &str, key: &str| {
            issue
                .fields
                .get(field)
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let (project, issue_type) = (&self.settings.jira_project, &self.settings.jira_issue_type);
        let scope =
            format!("this item links issues of project {project} with issue type {issue_type}");
        let out_of_scope = |what: String| Error::OutOfScope {
            message: format!("{} is {what}; {scope}", issue.key),
            project: project.clone(),
            issue_type: issue_type.clone(),
        };
        if let Some(other) = named("project", "key").filter(|p| p != project) {
            return Err(out_of_scope(format!("in project {other}")));
        }
        let type_id = named("issuetype", "id");
        let type_name = named("issuetype", "name");
        let same_type = type_id.as_deref() == Some(issue_type.as_str())
            || type_name
                .as_deref()
                .is_some_and(|name| name.eq_ignore_ascii_case(issue_type));
        if type_id.is_some() && !same_type {
            return Err(out_of_scope(format!(
                "of issue type {} ({})",
                type_id.unwrap_or_default(),
                type_name.unwrap_or_default()
            )));
        }
        let record = self.read_record(record_id).await?;
        let store = &self.services.store;
        if let Some(existing) = store.find_link_by_issue(self.job_id, &issue.id)? {
            return Err(Error::AlreadyLinked(format!(
                "{} is already linked to record {}",
                issue.key, existing.dataverse_id
            )));
        }
        if let Some(existing) =
            store.find_link_by_record(self.job_id, &self.settings.table, &record.id)?
        {
            return Err(Error::AlreadyLinked(format!(
                "record {} is already linked to {}",
                record.id, existing.jira_key
            )));
        }
        let mut state = LinkState::default();
        state.remember_names(self.primary_name_of(&record), issue.fields.get("summary"));
        let link = self
            .link_new(
                &record.id,
                &self.record_label(&record),
                &issue.id,
                &issue.key,
                "by hand",
                state,
            )
            .await?;
        Ok(store
            .find_link_by_issue(self.job_id, &issue.id)?
            .unwrap_or(link))
    }

    /// Links a record and an issue that are both free: the "Linked to Jira" note first (its
    /// id is derived from the pair, so a retry after a crash before the link was stored finds
    /// the same note instead of adding one), then the stored link remembering the note, then
    /// the remote link. Note and remote-link failures are events; the link stands. `state`
    /// holds the names the caller read (the link's first sync pushes Dynamics' values).
    ///
    /// # Errors
    /// Store failures.
    async fn link_new(
        &self,
        record_id: &str,
        record_label: &str,
        issue_id: &str,
        issue_key: &str,
        how: &str,
        mut state: LinkState,
    ) -> Result<LinkRow> {
        if self.settings.link_note {
            match self
                .write_link_note_for(record_id, issue_id, issue_key, Managed::Manual)
                .await
            {
                Ok(note) => state.link_note = Some(note),
                Err(error) => {
                    let facing = error.user_facing();
                    self.journal.event(
                        RunEvent::object(
                            "link",
                            issue_key,
                            record_id,
                            EventAction::Failed,
                            format!(
                                "Could not write the \"Linked to Jira\" note: {}",
                                facing.message
                            ),
                        )
                        .with_fix(facing.fix.unwrap_or_else(|| {
                            "Grant the application user Create on Notes (annotation)".to_owned()
                        })),
                    );
                }
            }
        }
        let store = &self.services.store;
        store.insert_link(&NewLink {
            job_id: self.job_id,
            jira_issue_id: issue_id.to_owned(),
            jira_key: issue_key.to_owned(),
            dataverse_table: self.settings.table.clone(),
            dataverse_id: record_id.to_owned(),
            managed: Managed::Manual,
            baseline_at: Some(self.services.clock.now()),
            state: state.to_json(),
        })?;
        let link = store
            .find_link_by_issue(self.job_id, issue_id)?
            .expect("the link was just stored");
        self.add_remote_link(&link).await;
        self.journal.event(RunEvent::object(
            "link",
            issue_key,
            record_label,
            EventAction::Created,
            format!("Linked {issue_key} to {record_label} {how}"),
        ));
        Ok(link)
    }

    /// Removes a manual link (by issue key or record id): the stored link, the link note and
    /// the remote link. Neither the issue nor the record is deleted.
    ///
    /// # Errors
    /// No such link; `AutoManaged` for links made by auto-create.
    pub async fn unlink(&self, issue_key_or_record: &str) -> Result<()> {
        let store = &self.services.store;
        let link = store
            .list_links(self.job_id)?
            .into_iter()
            .find(|l| {
                l.jira_key.eq_ignore_ascii_case(issue_key_or_record)
                    || l.jira_issue_id == issue_key_or_record
                    || l.dataverse_id.eq_ignore_ascii_case(issue_key_or_record)
            })
            .ok_or_else(|| {
                Error::Store(crosswalk_store::Error::NotFound {
                    what: "link",
                    name: issue_key_or_record.to_owned(),
                })
            })?;
        if link.managed == Managed::Auto {
            return Err(Error::AutoManaged { key: link.jira_key });
        }
        // Our note: the one the link remembers and the one its id would have had (a link
        // stored before its note was remembered); a note already gone counts as deleted.
        for note in &Item::own_link_notes(&link) {
            self.clients.dataverse.delete_note(note).await?;
        }
        // Our remote link only (by its global id); one that was never made is fine.
        match self
            .clients
            .jira
            .delete_remote_link(&link.jira_issue_id, &self.global_id(&link.dataverse_id))
            .await
        {
            Err(error) if error.status() != Some(404) => return Err(error.into()),
            _ => {}
        }
        self.remember_unlinked(&link.dataverse_id)?;
        store.delete_link(link.id)?;
        self.journal.event(RunEvent::object(
            "link",
            &link.jira_key,
            &link.dataverse_id,
            EventAction::Deleted,
            format!(
                "Unlinked {} (the issue and the record are kept)",
                link.jira_key
            ),
        ));
        Ok(())
    }

    /// Both sides of a link as they are now (the "refresh preview" of the seed's panel).
    ///
    /// # Errors
    /// Remote failures (a deleted record or issue is their 404).
    pub async fn preview(&self, link: &LinkRow) -> Result<LinkPreview> {
        let record = self
            .clients
            .dataverse
            .get(
                self.entity_set(),
                &link.dataverse_id,
                &self.select().iter().map(String::as_str).collect::<Vec<_>>(),
                true,
            )
            .await?;
        let issue = self.read_issue(&link.jira_issue_id).await?;
        let details = self.details().await?;
        let fields =
            self.settings
                .fields
                .iter()
                .map(|mapping| {
                    let read = self.read_name(&mapping.dataverse);
                    let dynamics = record.formatted.get(&read).cloned().unwrap_or_else(|| {
                        text_of(record.fields.get(&read).unwrap_or(&Value::Null))
                    });
                    PreviewField {
                        dataverse_column: mapping.dataverse.clone(),
                        jira_field: details
                            .meta
                            .fields
                            .get(&mapping.jira)
                            .map_or_else(|| mapping.jira.clone(), |f| f.name.clone()),
                        dynamics,
                        jira: text_of(issue.fields.get(&mapping.jira).unwrap_or(&Value::Null)),
                    }
                })
                .collect();
        let record_status = record.formatted.get("statuscode").cloned();
        let pending = LinkState::from_json(&link.state).status_pending;
        let (status_sync, status_pending) = match (self.settings.status.enabled, pending) {
            (false, _) => ("off", None),
            (true, None) => ("in_step", None),
            (true, Some(pending)) => {
                let side = match pending.side {
                    StatusSide::Jira => "Jira issue",
                    StatusSide::Dynamics => "Dynamics record",
                };
                let times = if pending.attempts == 1 {
                    "once"
                } else {
                    "times"
                };
                let attempts = if pending.attempts == 1 {
                    String::new()
                } else {
                    format!("{} ", pending.attempts)
                };
                (
                    "pending",
                    Some(format!(
                        "Moving the {side}'s status failed {attempts}{times}; it is tried again at the next polls. Last reason: {}",
                        pending.reason
                    )),
                )
            }
        };
        Ok(LinkPreview {
            jira_key: issue.key.clone(),
            jira_issue_id: issue.id.clone(),
            issue_url: self.issue_url(&issue.key),
            issue_summary: issue.fields.get("summary").map(text_of).unwrap_or_default(),
            issue_status: issue.status().map(|s| s.name).unwrap_or_default(),
            record_id: record.id.clone(),
            record_name: self.record_label(&record),
            record_url: self.record_url(&record.id),
            record_status,
            managed: link.managed.as_str().to_owned(),
            fields,
            status_sync: status_sync.to_owned(),
            status_pending,
        })
    }
}

// --- Bulk link: pair existing records and issues by a matching value ---

/// Cursor: the bulk link waiting for (or interrupted in) a run, as JSON [`BulkPlan`].
pub const CURSOR_BULK: &str = "bulk.pending";
/// Records per Dataverse page of a bulk preview.
const BULK_RECORD_PAGE: u32 = 1000;
/// Issues per Jira search page (pages with fields hold at most 100, §B.5).
const BULK_ISSUE_PAGE: u32 = 100;
/// Issue ids per verification search (`id in (…)`).
const BULK_VERIFY_IDS: usize = 50;
/// Pairs a bulk link run links at the same time (as a poll syncs links).
const BULK_IN_FLIGHT: usize = 4;
/// Ambiguous values listed in a preview (all are counted).
const AMBIGUOUS_SHOWN: usize = 100;

/// How a bulk link pairs records and issues: a Dataverse column's value equals a Jira field's
/// (trimmed, case-insensitive), on the records the optional OData filter selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsBulkRule"))]
pub struct BulkRule {
    /// Column logical name (`ticketnumber`, `title`).
    pub dataverse_column: String,
    /// Jira field id (`summary`, `customfield_10010`).
    pub jira_field: String,
    /// An OData `$filter` on the table (`statecode eq 0`); none reads every record.
    #[serde(default)]
    pub filter: Option<String>,
}

/// One proposed (or requested) pair of a bulk link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsBulkPair"))]
pub struct BulkPair {
    pub record_id: String,
    pub record_name: String,
    pub issue_id: String,
    pub issue_key: String,
    pub issue_summary: String,
    /// The value both sides hold.
    pub value: String,
}

/// A value more than one record or issue holds: never linked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsBulkAmbiguity"))]
pub struct BulkAmbiguity {
    pub value: String,
    pub records: u32,
    pub issues: u32,
}

/// What a bulk link would do, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "DynamicsBulkPreview"))]
pub struct BulkPreview {
    pub rule: BulkRule,
    /// One record and one issue, both free, holding the same value: what "Link" writes.
    pub pairs: Vec<BulkPair>,
    /// Records the filter selected.
    pub records_read: u32,
    /// Issues of the project holding a value in the field.
    pub issues_read: u32,
    /// Records whose value no issue holds.
    pub unmatched: u32,
    /// Records with no value in the column.
    pub no_value: u32,
    /// Records whose value more than one record or issue holds.
    pub ambiguous: u32,
    /// The ambiguous values (the first 100).
    pub ambiguous_values: Vec<BulkAmbiguity>,
    /// Records matched to an issue when either is linked already (by this item).
    pub already_linked: u32,
}

/// A bulk link waiting for a run (stored under [`CURSOR_BULK`] until the run finishes it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkPlan {
    pub pairs: Vec<BulkPair>,
}

/// A value as compared: trimmed, case-insensitive.
fn comparable(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A Jira field id as JQL names it (`cf[10010]` for custom fields).
fn jql_field(id: &str) -> String {
    match id.strip_prefix("customfield_") {
        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => format!("cf[{n}]"),
        _ => id.to_owned(),
    }
}

/// Queues a bulk link for the item's next run (merged with one still waiting; a pair is
/// listed once per record).
///
/// # Errors
/// Store failures.
pub fn queue_bulk(
    store: &crosswalk_store::Store,
    job_id: crosswalk_core::JobId,
    pairs: &[BulkPair],
) -> Result<usize> {
    let mut plan = pending_bulk(store, job_id)?.unwrap_or_default();
    for pair in pairs {
        if !plan
            .pairs
            .iter()
            .any(|p| p.record_id.eq_ignore_ascii_case(&pair.record_id))
        {
            plan.pairs.push(pair.clone());
        }
    }
    let text = serde_json::to_string(&plan).unwrap_or_default();
    store.set_cursor(job_id, CURSOR_BULK, &text)?;
    Ok(plan.pairs.len())
}

/// The bulk link waiting for the item's next run, if any.
///
/// # Errors
/// Store failures.
pub fn pending_bulk(
    store: &crosswalk_store::Store,
    job_id: crosswalk_core::JobId,
) -> Result<Option<BulkPlan>> {
    Ok(store
        .get_cursor(job_id, CURSOR_BULK)?
        .and_then(|text| serde_json::from_str::<BulkPlan>(&text).ok())
        .filter(|plan| !plan.pairs.is_empty()))
}

/// Runs a queued bulk link as this run of the item (instead of a poll): each pair linked with
/// its note and remote link, one event per record, progress as it goes. Returns false when
/// nothing was queued.
///
/// # Errors
/// Settings, connection and store failures; sign-in and network failures stop the run with
/// the plan kept, so the next run continues it (pairs already linked are skipped).
pub async fn run_pending_bulk(
    ctx: &RunContext,
    settings: &DynamicsItemSettings,
) -> anyhow::Result<bool> {
    let store = &ctx.services.store;
    let Some(plan) = pending_bulk(store, ctx.job_id).map_err(crate::error::facing)? else {
        return Ok(false);
    };
    let item = Item::prepare(ctx.clone(), settings.clone()).await?;
    item.run_bulk(&plan).await.map_err(crate::error::facing)?;
    if !ctx.dry_run && !ctx.is_cancelled() {
        store
            .delete_cursor(ctx.job_id, CURSOR_BULK)
            .map_err(|e| crate::error::facing(Error::Store(e)))?;
    }
    Ok(true)
}

impl Item {
    /// Proposes pairs of records and issues holding the same value under `rule`: records read
    /// in pages of 1000 with only the columns needed, issues of the project in search pages of
    /// 100 with only the field needed (no request per record). Nothing is written.
    ///
    /// # Errors
    /// An unknown column or field (`Settings`), an invalid filter (Dataverse's 400), remote
    /// failures.
    pub async fn bulk_preview(&self, rule: &BulkRule) -> Result<BulkPreview> {
        let column = rule.dataverse_column.trim();
        let field = rule.jira_field.trim();
        if !self.meta.columns.contains_key(column) {
            return Err(Error::NoColumn {
                table: self.settings.table.clone(),
                column: column.to_owned(),
            });
        }
        let known_field = field == "summary" || jql_field(field) != field || {
            let details = self.details().await?;
            details.meta.fields.contains_key(field)
        };
        if !known_field {
            return Err(Error::Settings(format!(
                "Jira field \"{field}\" cannot be matched on; pick summary or a field of the item's issue type (its id, e.g. customfield_10010)"
            )));
        }

        // Dataverse: id, name and the column.
        let id_attr = self.meta.entity.primary_id_attribute.clone();
        let name_attr = self.meta.entity.primary_name_attribute.clone();
        let read = self.read_name(column);
        let mut select = vec![id_attr.clone(), read.clone()];
        select.extend(name_attr.clone());
        select.sort();
        select.dedup();
        let query = Query {
            select,
            filter: rule
                .filter
                .as_deref()
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
            orderby: Some(format!("{id_attr} asc")),
            page_size: Some(BULK_RECORD_PAGE),
            formatted: true,
        };
        // (id, name, comparable value, shown value)
        let mut records: Vec<(String, String, String, String)> = Vec::new();
        let mut no_value = 0u32;
        let mut next = None;
        loop {
            let page = self
                .clients
                .dataverse
                .list(self.entity_set(), &query, next.as_ref())
                .await?;
            for record in page.records {
                let raw = record.fields.get(&read).unwrap_or(&Value::Null);
                let shown = match raw {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => record
                        .formatted
                        .get(&read)
                        .cloned()
                        .unwrap_or_else(|| text_of(other)),
                };
                if shown.trim().is_empty() {
                    no_value += 1;
                    continue;
                }
                let name = name_attr
                    .as_ref()
                    .and_then(|n| record.fields.get(n))
                    .map(text_of)
                    .unwrap_or_default();
                records.push((record.id, name, comparable(&shown), shown.trim().to_owned()));
            }
            match page.next {
                Some(link) => next = Some(link),
                None => break,
            }
        }

        // Jira: the item's issues holding a value in the field.
        let scope = self.scope_jql();
        let jql = if field.starts_with("customfield_") {
            format!(
                "{scope} AND {} IS NOT EMPTY ORDER BY key ASC",
                jql_field(field)
            )
        } else {
            format!("{scope} ORDER BY key ASC")
        };
        let mut issues: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
        let mut issues_read = 0u32;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .jira
                .search(&SearchRequest {
                    jql: &jql,
                    fields: &[field, "summary"],
                    properties: &[],
                    expand: None,
                    next_page_token: token.as_deref(),
                    max_results: BULK_ISSUE_PAGE,
                    reconcile_issues: &[],
                })
                .await?;
            for issue in page.issues {
                let value = text_of(issue.fields.get(field).unwrap_or(&Value::Null));
                if value.trim().is_empty() {
                    continue;
                }
                issues_read += 1;
                let summary = issue.fields.get("summary").map(text_of).unwrap_or_default();
                issues
                    .entry(comparable(&value))
                    .or_default()
                    .push((issue.id, issue.key, summary));
            }
            match page.next_page_token {
                Some(next) if !page.is_last => token = Some(next),
                _ => break,
            }
        }

        let mut by_value: HashMap<&str, Vec<usize>> = HashMap::new();
        for (at, record) in records.iter().enumerate() {
            by_value.entry(record.2.as_str()).or_default().push(at);
        }
        let store = &self.services.store;
        let mut preview = BulkPreview {
            rule: BulkRule {
                dataverse_column: column.to_owned(),
                jira_field: field.to_owned(),
                filter: query.filter.clone(),
            },
            pairs: Vec::new(),
            records_read: u32::try_from(records.len()).unwrap_or(u32::MAX) + no_value,
            issues_read,
            unmatched: 0,
            no_value,
            ambiguous: 0,
            ambiguous_values: Vec::new(),
            already_linked: 0,
        };
        let mut seen: HashSet<&str> = HashSet::new();
        for record in &records {
            if !seen.insert(record.2.as_str()) {
                continue;
            }
            let same = &by_value[record.2.as_str()];
            let count = u32::try_from(same.len()).unwrap_or(u32::MAX);
            let Some(matched) = issues.get(&record.2) else {
                preview.unmatched += count;
                continue;
            };
            if same.len() > 1 || matched.len() > 1 {
                preview.ambiguous += count;
                if preview.ambiguous_values.len() < AMBIGUOUS_SHOWN {
                    preview.ambiguous_values.push(BulkAmbiguity {
                        value: record.3.clone(),
                        records: count,
                        issues: u32::try_from(matched.len()).unwrap_or(u32::MAX),
                    });
                }
                continue;
            }
            let (issue_id, issue_key, summary) = &matched[0];
            let linked = store
                .find_link_by_record(self.job_id, &self.settings.table, &record.0)?
                .is_some()
                || store.find_link_by_issue(self.job_id, issue_id)?.is_some();
            if linked {
                preview.already_linked += 1;
                continue;
            }
            preview.pairs.push(BulkPair {
                record_id: record.0.clone(),
                record_name: record.1.clone(),
                issue_id: issue_id.clone(),
                issue_key: issue_key.clone(),
                issue_summary: summary.clone(),
                value: record.3.clone(),
            });
        }
        preview.pairs.sort_by(|a, b| {
            a.record_name
                .to_lowercase()
                .cmp(&b.record_name.to_lowercase())
                .then_with(|| a.record_id.cmp(&b.record_id))
        });
        Ok(preview)
    }

    /// Links the pairs of a bulk plan: both sides checked first in batches (the issue in the
    /// item's project, the record in its table), then each free pair linked as by hand. A pair
    /// linked already (a retry) is skipped, its note and remote link made sure of; a side
    /// linked elsewhere is skipped with the reason. One event per record.
    ///
    /// # Errors
    /// Failures that stop the run (sign-in, network, store); the plan stays for the next run.
    pub async fn run_bulk(&self, plan: &BulkPlan) -> Result<()> {
        let total = plan.pairs.len() as u64;
        self.journal.event(RunEvent::info(format!(
            "Bulk link of {total} pair(s) previewed in the console."
        )));
        self.journal.progress(0, total, "Checking both sides");
        let ids: Vec<String> = plan.pairs.iter().map(|p| p.issue_id.clone()).collect();
        // The checks read the issue's summary and the record's name in the same requests, so
        // each new link starts with both sides' names (the console's filter matches them).
        let mut issues_ok: HashMap<String, Issue> = HashMap::new();
        let scope = self.scope_jql();
        for chunk in ids.chunks(BULK_VERIFY_IDS) {
            let numeric: Vec<&str> = chunk
                .iter()
                .map(String::as_str)
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            if numeric.is_empty() {
                continue;
            }
            let jql = format!("{scope} AND id in ({})", numeric.join(", "));
            let page = self
                .clients
                .jira
                .search(&SearchRequest {
                    jql: &jql,
                    fields: &["summary"],
                    properties: &[],
                    expand: None,
                    next_page_token: None,
                    max_results: BULK_ISSUE_PAGE,
                    reconcile_issues: &[],
                })
                .await?;
            issues_ok.extend(page.issues.into_iter().map(|i| (i.id.clone(), i)));
        }
        let record_ids: Vec<String> = plan
            .pairs
            .iter()
            .map(|p| p.record_id.clone())
            .filter(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
            .collect();
        let id_attr = self.meta.entity.primary_id_attribute.clone();
        let mut columns = vec![id_attr.as_str()];
        columns.extend(self.meta.entity.primary_name_attribute.as_deref());
        let records_ok: HashMap<String, Record> = self
            .clients
            .dataverse
            .list_by_ids(self.entity_set(), &id_attr, &record_ids, &columns, false)
            .await?
            .into_iter()
            .map(|r| (r.id.to_ascii_lowercase(), r))
            .collect();

        // Pairs are independent (one issue, one record each), so a few are linked at a time; a
        // pair naming an issue or record an earlier pair already names is skipped, so two
        // concurrent links can never race for the same side.
        let mut seen_issues = HashSet::new();
        let mut seen_records = HashSet::new();
        let mut work = Vec::new();
        for pair in &plan.pairs {
            let fresh_issue = seen_issues.insert(pair.issue_id.clone());
            let fresh_record = seen_records.insert(pair.record_id.to_ascii_lowercase());
            if fresh_issue && fresh_record {
                work.push(self.link_pair(pair, &issues_ok, &records_ok));
            } else {
                self.journal.event(RunEvent::object(
                    "link",
                    &pair.issue_key,
                    &pair.record_id,
                    EventAction::Skipped,
                    "The plan names this issue or record twice; only its first pair is linked",
                ));
            }
        }
        let planned = work.len() as u64;
        let mut results = futures_util::stream::iter(work).buffer_unordered(BULK_IN_FLIGHT);
        let mut done = 0u64;
        while let Some(outcome) = results.next().await {
            outcome?;
            done += 1;
            self.journal.progress(
                done,
                planned,
                &format!("Linking pairs ({done} of {planned})"),
            );
            if let Journal::Run(ctx) = &self.journal {
                if ctx.is_cancelled() {
                    return Ok(());
                }
            }
        }
        drop(results);
        self.journal.progress(total, total, "Done");
        Ok(())
    }

    /// Links one previewed pair after checking both sides still hold it (a retry of a pair
    /// already linked only makes sure of its note and remote link).
    async fn link_pair(
        &self,
        pair: &BulkPair,
        issues_ok: &HashMap<String, Issue>,
        records_ok: &HashMap<String, Record>,
    ) -> Result<()> {
        let store = &self.services.store;
        let label = if pair.record_name.is_empty() {
            pair.record_id.clone()
        } else {
            pair.record_name.clone()
        };
        let skip = |message: String| {
            RunEvent::object(
                "link",
                &pair.issue_key,
                &label,
                EventAction::Skipped,
                message,
            )
        };
        let Some(issue) = issues_ok.get(&pair.issue_id) else {
            self.journal.event(
                RunEvent::object(
                    "link",
                    &pair.issue_key,
                    &label,
                    EventAction::Failed,
                    format!(
                        "{} is not an issue of project {} with issue type {} (deleted or moved since the preview)",
                        pair.issue_key, self.settings.jira_project, self.settings.jira_issue_type
                    ),
                )
                .with_fix("Preview the bulk link again"),
            );
            return Ok(());
        };
        let key = &issue.key;
        let Some(record) = records_ok.get(&pair.record_id.to_ascii_lowercase()) else {
            self.journal.event(
                RunEvent::object(
                    "link",
                    key,
                    &label,
                    EventAction::Failed,
                    format!(
                        "Record {} is not in table {} (deleted since the preview?)",
                        pair.record_id, self.settings.table
                    ),
                )
                .with_fix("Preview the bulk link again"),
            );
            return Ok(());
        };
        let by_issue = store.find_link_by_issue(self.job_id, &pair.issue_id)?;
        let by_record =
            store.find_link_by_record(self.job_id, &self.settings.table, &pair.record_id)?;
        match (by_issue, by_record) {
            (Some(link), _) if link.dataverse_id.eq_ignore_ascii_case(&pair.record_id) => {
                // A retry: make sure of the note and the remote link, write nothing else.
                if !self.dry_run {
                    self.ensure_decorated(&link).await?;
                }
                self.journal
                    .event(skip(format!("{key} and {label} are linked already")));
            }
            (Some(link), _) => self.journal.event(skip(format!(
                "{key} is already linked to record {}",
                link.dataverse_id
            ))),
            (None, Some(link)) => self.journal.event(skip(format!(
                "{label} is already linked to {}",
                link.jira_key
            ))),
            (None, None) if self.dry_run => self.journal.event(RunEvent::object(
                "link",
                key,
                &label,
                EventAction::Created,
                format!("Would link {key} to {label} (bulk link)"),
            )),
            (None, None) => {
                let mut state = LinkState::default();
                state.remember_names(self.primary_name_of(record), issue.fields.get("summary"));
                self.link_new(
                    &pair.record_id,
                    &label,
                    &pair.issue_id,
                    key,
                    "(bulk link)",
                    state,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Makes sure a manual link has its note (remembered in its state) and remote link.
    async fn ensure_decorated(&self, link: &LinkRow) -> Result<()> {
        let mut state = LinkState::from_json(&link.state);
        if self.settings.link_note && state.link_note.is_none() {
            if let Ok(note) = self
                .write_link_note_for(
                    &link.dataverse_id,
                    &link.jira_issue_id,
                    &link.jira_key,
                    link.managed,
                )
                .await
            {
                state.link_note = Some(note);
                self.save_state(link, &state)?;
            }
        }
        self.add_remote_link(link).await;
        Ok(())
    }
}
