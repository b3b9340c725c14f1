//! What an item needs to know about both sides, in two parts read at different times.
//!
//! [`PollMeta`] is what every poll needs before it knows whether anything changed: the table
//! (entity set, keys, change tracking), which columns are lookups (read as `_x_value`), and
//! the connector's Jira account with its time zone (JQL dates): two Dataverse requests and one
//! Jira request. [`ItemMeta`] is what converting and writing need: column types with their
//! options, date behaviours and text formats, the issue type's fields and workflow statuses.
//! It costs about a dozen requests, so a poll reads it only once a record or issue actually
//! needs converting or writing (`Item::details`): an idle poll never pays for it, even in a
//! new process.
//!
//! Both are kept in memory per item and open store for [`META_TTL`], so an idle poll of a
//! long-running console costs only its change reads.

use crate::convert::{compatibility, Compatibility, JiraField};
use crate::error::{Error, Result};
use crate::settings::DynamicsItemSettings;
use crate::status::DataverseStates;
use crosswalk_dataverse::{Attribute, AttributeKind, ColumnType, DataverseClient, EntityInfo};
use crosswalk_jira::JiraClient;
use crosswalk_jira::{Myself, Status};
use crosswalk_store::Store;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How long metadata read for an item is trusted.
pub const META_TTL: Duration = Duration::from_secs(15 * 60);

/// What every poll of an item needs before it knows whether anything changed.
#[derive(Debug, Clone)]
pub struct PollMeta {
    pub entity: EntityInfo,
    /// Every column of the table by logical name, with its `AttributeType` only.
    pub columns: HashMap<String, ColumnType>,
    /// The connector's own Jira account (its comments and attachments are recognised by it).
    pub myself: Myself,
    /// The IANA zone Jira reads JQL dates in for this account.
    pub time_zone: String,
}

/// What converting and writing need, beyond [`PollMeta`].
#[derive(Debug, Clone)]
pub struct ItemMeta {
    /// Every column of the table by logical name, with its options, behaviour and format.
    pub columns: HashMap<String, Attribute>,
    /// `statecode` / `statuscode` options.
    pub states: DataverseStates,
    /// Fields on the issue type's create screen by id (plus `status`, never on a screen).
    pub fields: HashMap<String, JiraField>,
    /// The issue type's workflow statuses.
    pub statuses: Vec<Status>,
}

/// `NoColumn` for the first mapping whose column the table does not have.
fn check_columns(settings: &DynamicsItemSettings, exists: impl Fn(&str) -> bool) -> Result<()> {
    for mapping in &settings.fields {
        if !exists(&mapping.dataverse) {
            return Err(Error::NoColumn {
                table: settings.table.clone(),
                column: mapping.dataverse.clone(),
            });
        }
    }
    Ok(())
}

/// Refuses mappings whose column and field types do not convert, all named in one error with
/// the types that would: the config file and CLI save without the remote metadata (no
/// network), so this is the first place the pair can be judged, before any write of the run.
fn check_compatible(
    settings: &DynamicsItemSettings,
    columns: &HashMap<String, Attribute>,
    fields: &HashMap<String, JiraField>,
) -> Result<()> {
    let problems: Vec<String> = settings
        .fields
        .iter()
        .filter_map(|mapping| {
            let column = columns.get(&mapping.dataverse)?;
            let field = fields.get(&mapping.jira)?;
            match compatibility(column, field) {
                Compatibility::Incompatible(reason) => Some(format!(
                    "the mapping {} → {} does not convert ({reason})",
                    mapping.dataverse, mapping.jira
                )),
                Compatibility::Exact | Compatibility::Lossy(_) => None,
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Settings(problems.join("; ")))
    }
}

impl PollMeta {
    /// Reads the table, its column types and the Jira account: three requests.
    ///
    /// # Errors
    /// Remote failures, an unknown table, or a mapping naming a column that does not exist.
    pub async fn read(
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<PollMeta> {
        let entity = dataverse.entity(&settings.table).await?;
        let columns: HashMap<String, ColumnType> = dataverse
            .column_types(&settings.table)
            .await?
            .into_iter()
            .map(|column| (column.logical_name.clone(), column))
            .collect();
        check_columns(settings, |name| columns.contains_key(name))?;
        let myself = jira.myself().await?;
        let time_zone = myself.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        Ok(PollMeta {
            entity,
            columns,
            myself,
            time_zone,
        })
    }

    /// The poll metadata of an item, from memory when read less than [`META_TTL`] ago for the
    /// same store, item, services and settings.
    ///
    /// # Errors
    /// As [`PollMeta::read`].
    pub async fn cached(
        store: &Arc<Store>,
        item: i64,
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<Arc<PollMeta>> {
        static CACHE: MemoCache<PollMeta> = MemoCache::new();
        CACHE
            .get_or_read(store, &key(item, dataverse, jira, settings), || {
                PollMeta::read(dataverse, jira, settings)
            })
            .await
    }
}

impl ItemMeta {
    /// Reads what converting and writing need for `settings`: the table's columns in detail
    /// (ten Dataverse requests), the issue type's create fields and the project's statuses.
    ///
    /// # Errors
    /// Remote failures, an unknown project or issue type, a mapping naming a column or field
    /// that does not exist, or mappings whose types do not convert (`Error::Settings`).
    pub async fn read(
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<ItemMeta> {
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
        check_columns(settings, |name| columns.contains_key(name))?;

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
        check_compatible(settings, &columns, &fields)?;
        let statuses = jira
            .project_statuses(&settings.jira_project)
            .await?
            .into_iter()
            .find(|of_type| of_type.id == settings.jira_issue_type)
            .map(|of_type| of_type.statuses)
            .unwrap_or_default();
        Ok(ItemMeta {
            columns,
            states,
            fields,
            statuses,
        })
    }

    /// The metadata of an item, from memory when read less than [`META_TTL`] ago for the same
    /// store, item, services and settings.
    ///
    /// # Errors
    /// As [`ItemMeta::read`].
    pub async fn cached(
        store: &Arc<Store>,
        item: i64,
        dataverse: &DataverseClient,
        jira: &JiraClient,
        settings: &DynamicsItemSettings,
    ) -> Result<Arc<ItemMeta>> {
        static CACHE: MemoCache<ItemMeta> = MemoCache::new();
        CACHE
            .get_or_read(store, &key(item, dataverse, jira, settings), || {
                ItemMeta::read(dataverse, jira, settings)
            })
            .await
    }
}

/// The item, both services and the settings the metadata was read for.
fn key(
    item: i64,
    dataverse: &DataverseClient,
    jira: &JiraClient,
    settings: &DynamicsItemSettings,
) -> String {
    format!(
        "{item}|{}|{}|{}",
        dataverse.http().base_url(),
        jira.http().base_url(),
        serde_json::to_string(settings).unwrap_or_default()
    )
}

/// Values kept for [`META_TTL`] per open store and key. Two data folders in one process
/// (tests, the demo beside real data) reuse job ids, and a store opened again starts cold, as
/// a new process does.
struct MemoCache<T> {
    entries: Mutex<Vec<Memo<T>>>,
}

struct Memo<T> {
    /// The store's allocation stays reserved while this is held, so a live store found equal
    /// to it is the same store, never a later one at the same address.
    store: Weak<Store>,
    key: String,
    at: Instant,
    value: Arc<T>,
}

impl<T> MemoCache<T> {
    const fn new() -> MemoCache<T> {
        MemoCache {
            entries: Mutex::new(Vec::new()),
        }
    }

    fn find(&self, store: &Arc<Store>, key: &str) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|memo| {
                memo.key == key
                    && memo.at.elapsed() < META_TTL
                    && std::ptr::eq(memo.store.as_ptr(), Arc::as_ptr(store))
            })
            .map(|memo| memo.value.clone())
    }

    async fn get_or_read<F, Fut>(&self, store: &Arc<Store>, key: &str, read: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(hit) = self.find(store, key) {
            return Ok(hit);
        }
        let value = Arc::new(read().await?);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|memo| {
            memo.at.elapsed() < META_TTL
                && memo.store.strong_count() > 0
                && !(memo.key == key && std::ptr::eq(memo.store.as_ptr(), Arc::as_ptr(store)))
        });
        entries.push(Memo {
            store: Arc::downgrade(store),
            key: key.to_owned(),
            at: Instant::now(),
            value: value.clone(),
        });
        Ok(value)
    }
}
