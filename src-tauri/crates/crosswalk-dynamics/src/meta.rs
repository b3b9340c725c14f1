//! What an item needs to know about both sides before it syncs: the table, its mapped columns
//! and states, the issue type's fields and workflow statuses, and whom Jira thinks we are.
//!
//! Metadata changes rarely and costs about ten requests, so it is kept in memory per item for
//! [`META_TTL`]: an idle poll of a long-running console then costs only its change reads.

use crate::convert::JiraField;
use crate::error::{Error, Result};
use crate::settings::DynamicsItemSettings;
use crate::status::DataverseStates;
use crosswalk_dataverse::{Attribute, AttributeKind, DataverseClient, EntityInfo};
use crosswalk_jira::JiraClient;
use crosswalk_jira::{Myself, Status};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long metadata read for an item is trusted.
pub const META_TTL: Duration = Duration::from_secs(15 * 60);

/// Both sides' metadata for one item.
#[derive(Debug, Clone)]
pub struct ItemMeta {
    pub entity: EntityInfo,
    /// Every column of the table by logical name.
    pub columns: HashMap<String, Attribute>,
    /// `statecode` / `statuscode` options.
    pub states: DataverseStates,
    /// Fields on the issue type's create screen by id (plus `status`, never on a screen).
    pub fields: HashMap<String, JiraField>,
    /// The issue type's workflow statuses.
    pub statuses: Vec<Status>,
    /// The connector's own Jira account (its comments and attachments are recognised by it).
    pub myself: Myself,
    /// The IANA zone Jira reads JQL dates in for this account.
    pub time_zone: String,
}

impl ItemMeta {
    /// Reads both sides' metadata for `settings`.
    ///
    /// # Errors
    /// Remote failures, an unknown table or issue type, or a mapping naming a column or field
    /// that does not exist.
    pub async fn read(
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<ItemMeta> {
        let entity = dataverse.entity(&settings.table).await?;
        let columns: HashMap<String, Attribute> = dataverse
            .attributes(&settings.table)
            .await?
            .into_iter()
            .map(|column| (column.logical_name.clone(), column))
            .collect();
        let options = |name: &str| match columns.get(name).map(|c| &c.kind) {
            Some(AttributeKind::State { options } | AttributeKind::Status { options }) => {
                options.clone()
            }
            _ => Vec::new(),
        };
        let states = DataverseStates {
            states: options("statecode"),
            statuses: options("statuscode"),
        };
        for mapping in &settings.fields {
            if !columns.contains_key(&mapping.dataverse) {
                return Err(Error::NoColumn {
                    table: settings.table.clone(),
                    column: mapping.dataverse.clone(),
                });
            }
        }

        let myself = jira.myself().await?;
        let time_zone = myself.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        let mut fields = HashMap::new();
        let mut start = 0;
        loop {
            let page = jira
                .create_meta(
                    &settings.jira_project,
                    &settings.jira_issue_type,
                    start,
                    200,
                )
                .await;
            let page = match page {
                Ok(page) => page,
                // The project itself may be gone (or hidden from the account): say which.
                Err(error) if error.status() == Some(404) => {
                    return Err(match jira.get_project(&settings.jira_project).await {
                        Err(gone) if gone.status() == Some(404) => {
                            Error::NoProject(settings.jira_project.clone())
                        }
                        _ => Error::NoIssueType {
                            project: settings.jira_project.clone(),
                            issue_type: settings.jira_issue_type.clone(),
                        },
                    });
                }
                Err(error) => return Err(Error::Jira(error)),
            };
            let count = page.fields.len() as u64;
            for field in page.fields {
                fields.insert(
                    field.field_id.clone(),
                    JiraField {
                        id: field.field_id,
                        name: field.name,
                        schema: field.schema,
                        allowed_values: field.allowed_values,
                    },
                );
            }
            start += count;
            if count == 0 || start >= page.total {
                break;
            }
        }
        for mapping in &settings.fields {
            if !fields.contains_key(&mapping.jira) {
                return Err(Error::NoField {
                    field: mapping.jira.clone(),
                    project: settings.jira_project.clone(),
                    issue_type: settings.jira_issue_type.clone(),
                });
            }
        }
        let statuses = jira
            .project_statuses(&settings.jira_project)
            .await?
            .into_iter()
            .find(|of_type| of_type.id == settings.jira_issue_type)
            .map(|of_type| of_type.statuses)
            .unwrap_or_default();
        Ok(ItemMeta {
            entity,
            columns,
            states,
            fields,
            statuses,
            myself,
            time_zone,
        })
    }

    /// The metadata of an item, from memory when read less than [`META_TTL`] ago for the same
    /// item, services and settings.
    ///
    /// # Errors
    /// As [`ItemMeta::read`].
    pub async fn cached(
        item: i64,
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<Arc<ItemMeta>> {
        static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        // Two data folders in one process (tests, the demo beside real data) reuse job ids.
        let key = format!(
            "{item}|{}|{}|{}",
            dataverse.http().base_url(),
            jira.http().base_url(),
            serde_json::to_string(settings).unwrap_or_default()
        );
        if let Some(hit) = cache.lock().expect("meta cache").get(&key) {
            if hit.at.elapsed() < META_TTL {
                return Ok(hit.meta.clone());
            }
        }
        let meta = Arc::new(ItemMeta::read(dataverse, jira, settings).await?);
        let mut cache = cache.lock().expect("meta cache");
        cache.retain(|_, old| old.at.elapsed() < META_TTL);
        cache.insert(
            key,
            Cached {
                at: Instant::now(),
                meta: meta.clone(),
            },
        );
        Ok(meta)
    }
}

struct Cached {
    at: Instant,
    meta: Arc<ItemMeta>,
}
