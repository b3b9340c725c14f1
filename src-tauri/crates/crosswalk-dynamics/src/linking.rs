//! Admin actions on links outside a poll (the console stands in for the seed's Jira issue
//! panel): search both sides, link an issue to a record by hand, preview a link, unlink.
//!
//! Manual links work in every mode. Unlinking removes the stored link, the "Linked to Jira"
//! note and the remote link — never the issue or the record. Auto-managed links (from
//! auto-create) cannot be unlinked by hand, as in the seed.

use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::settings::DynamicsItemSettings;
use crate::state::LinkState;
use crate::sync::Item;
use crosswalk_dataverse::Query;
use crosswalk_engine::{RunEvent, Services};
use crosswalk_http::RequestCounter;
use crosswalk_jira::SearchRequest;
use crosswalk_store::{LinkRow, Managed};
use serde::Serialize;
use serde_json::Value;

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

    /// Issues of the item's project matching `text` (a key, or words in summary or text).
    ///
    /// # Errors
    /// Remote failures.
    pub async fn search_issues(&self, text: &str) -> Result<Vec<IssueHit>> {
        let trimmed = text.trim();
        let project = crosswalk_jira::jql::quote(&self.settings.jira_project);
        let looks_like_key = trimmed.split_once('-').is_some_and(|(p, n)| {
            !p.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        });
        let jql = if looks_like_key {
            format!(
                "project = {project} AND key = {} ORDER BY updated DESC",
                crosswalk_jira::jql::quote(trimmed)
            )
        } else if trimmed.is_empty() {
            format!("project = {project} ORDER BY updated DESC")
        } else {
            format!(
                "project = {project} AND text ~ {} ORDER BY updated DESC",
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

    /// Links an issue of the item's project to a record of its table by hand, writes the link
    /// note and remote link; the next poll pushes Dynamics' mapped values once.
    ///
    /// # Errors
    /// `AlreadyLinked` when either side is linked already; an issue outside the project;
    /// remote failures (a record or issue that does not exist is their 404).
    pub async fn link(&self, issue_key: &str, record_id: &str) -> Result<LinkRow> {
        let issue = self.read_issue(issue_key).await?;
        let project = issue
            .fields
            .get("project")
            .and_then(|p| p.get("key"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(project) = project.filter(|p| p != &self.settings.jira_project) {
            return Err(Error::AlreadyLinked(format!(
                "{} is in project {project}; this item links issues of {}",
                issue.key, self.settings.jira_project
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
        let link = self.record_link(&record.id, &issue.id, &issue.key, Managed::Manual)?;
        self.decorate_link(&link).await;
        self.journal.event(RunEvent::object(
            "link",
            &issue.key,
            &self.record_label(&record),
            crosswalk_engine::context::EventAction::Created,
            format!(
                "Linked {} to {} by hand",
                issue.key,
                self.record_label(&record)
            ),
        ));
        Ok(store
            .find_link_by_issue(self.job_id, &issue.id)?
            .unwrap_or(link))
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
        let state = LinkState::from_json(&link.state);
        if let Some(note) = state.link_note.as_deref() {
            self.clients.dataverse.delete_note(note).await?;
        }
        self.clients
            .jira
            .delete_remote_link(&link.jira_issue_id, &self.global_id(&link.dataverse_id))
            .await?;
        store.delete_link(link.id)?;
        self.journal.event(RunEvent::object(
            "link",
            &link.jira_key,
            &link.dataverse_id,
            crosswalk_engine::context::EventAction::Deleted,
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
                        jira_field: self
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
        })
    }
}
