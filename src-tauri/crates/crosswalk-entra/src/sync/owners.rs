//! App registration owners, which application delta never reports.
//!
//! Graph's delta query tracks relationships only where `$select` names them, and only users'
//! `manager` and groups' `members` can be named (delta query overview, "Optional query
//! parameters"; api/microsoft.md §C.3). Application delta takes `$select` of properties and
//! `$filter` by id, nothing else (application: delta, "Optional query parameters"), and `owners`
//! is a relationship: adding or removing an owner never brings the app into a delta round.
//! Owners read only when the app itself changed would leave "Owners" and "Owner count" wrong for
//! good.
//!
//! So owners are also read in bulk (`$expand=owners`: a request per 100 apps, plus the owners
//! endpoint for each app whose expanded list hit Graph's cap of 20). A full applications round
//! takes every app's owners from that read instead of one request per app; otherwise the bulk read
//! runs once a day and on the first run after the owners mapping changed, and each mapped app's
//! stored document gets the owners read, so only the apps whose document changed are written.

use super::{graph_error, KindUnreadable, Sync, BATCH};
use crate::doc::{Doc, Value};
use crate::kinds::ObjectKind;
use crate::mapping::{self, Mapping};
use crate::writer::Upsert;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::{RunContext, RunEvent};
use crosswalk_graph::GraphClient;
use futures_util::stream::{self, StreamExt};
use std::collections::{HashMap, HashSet};
use time::{Duration, OffsetDateTime};

/// How often owners are read in bulk when no full applications round did it.
const REFRESH_EVERY: Duration = Duration::hours(24);
/// The cursor remembering the last bulk read.
const CURSOR: &str = "applications.owners";

/// Owner object IDs (sorted) by app registration object ID.
pub(super) type Owners = HashMap<String, Vec<String>>;

/// When owners were last read in bulk, and which attributes they filled then.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct OwnersCursor {
    #[serde(with = "time::serde::rfc3339")]
    refreshed_at: OffsetDateTime,
    attributes: Vec<String>,
}

/// The attributes owners fill under `mapping`; empty when the job does not sync owners.
pub(super) fn owner_attributes(mapping: &Mapping) -> Vec<String> {
    ["owners", "ownerCount"]
        .into_iter()
        .filter_map(|property| mapping.attribute(ObjectKind::Application, property))
        .map(str::to_owned)
        .collect()
}

/// Owner ids in one order whichever endpoint listed them, so the first [`mapping::MAX_REFS`]
/// referenced (and the document's hash) do not depend on the read path.
fn normalize(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// `doc` with the owner values [`mapping::application_doc`] would set for `owners`.
fn with_owners(mapping: &Mapping, mut doc: Doc, owners: &[String]) -> Doc {
    let kind = ObjectKind::Application;
    if let Some(name) = mapping.attribute(kind, "owners") {
        let referenced: Vec<String> = owners.iter().take(mapping::MAX_REFS).cloned().collect();
        doc.set(
            name,
            (!referenced.is_empty()).then_some(Value::Refs(ObjectKind::User, referenced)),
        );
    }
    if let Some(name) = mapping.attribute(kind, "ownerCount") {
        let count = i64::try_from(owners.len()).unwrap_or(i64::MAX);
        doc.set(name, Some(Value::Integer(count)));
    }
    doc
}

/// Says so when an app has more owners than its reference attribute holds.
pub(super) fn note_many_owners(ctx: &RunContext, id: &str, label: &str, owners: usize) {
    if owners > mapping::MAX_REFS {
        ctx.event(RunEvent::object(
            ObjectKind::Application.word(),
            id,
            label,
            EventAction::Info,
            format!(
                "Has {owners} owners; the first {} are referenced (Assets' reference limit) and \"Owner count\" holds the total.",
                mapping::MAX_REFS
            ),
        ));
    }
}

/// The owners of each app in `ids`, from its owners endpoint (a few apps at a time). An app
/// deleted since it was listed (404) is left out.
async fn read_each(
    graph: &GraphClient,
    ids: Vec<String>,
) -> Result<Owners, crosswalk_graph::Error> {
    let read: Vec<Option<(String, Vec<String>)>> = stream::iter(ids)
        .map(|id| {
            let graph = graph.clone();
            async move {
                let first = match graph.list_application_owners(&id).await {
                    Ok(first) => first,
                    Err(error) if error.status() == Some(404) => return Ok(None),
                    Err(error) => return Err(error),
                };
                let all = graph.collect_pages(first).await?;
                Ok(Some((
                    id,
                    normalize(all.into_iter().map(|o| o.id).collect()),
                )))
            }
        })
        .buffered(crosswalk_graph::GRAPH_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(read.into_iter().flatten().collect())
}

/// Every app's owners: the bulk listing, completed from the owners endpoint where Graph's
/// expand cap may have cut the list.
async fn read_all(graph: &GraphClient) -> Result<Owners, crosswalk_graph::Error> {
    let first = graph.list_applications_with_owners().await?;
    let mut owners = Owners::new();
    let mut cut = Vec::new();
    graph
        .for_each_page(first, |apps| {
            for app in apps {
                if app.may_be_truncated() {
                    cut.push(app.id.clone());
                }
                let ids = app.owners.into_iter().map(|o| o.id).collect();
                owners.insert(app.id, normalize(ids));
            }
        })
        .await?;
    for id in &cut {
        owners.remove(id);
    }
    owners.extend(read_each(graph, cut).await?);
    Ok(owners)
}

impl Sync {
    /// Owners of the apps on one delta page: from this run's bulk read (made at the first page
    /// of a full round), else from each app's owners endpoint. Apps deleted meanwhile are absent.
    pub(super) async fn owners_of(
        &mut self,
        ids: Vec<String>,
        full: bool,
    ) -> anyhow::Result<Owners> {
        if full && self.app_owners.is_none() {
            self.app_owners = Some(read_all(&self.graph).await.map_err(graph_error)?);
        }
        let bulk = self.app_owners.as_ref();
        let (known, unknown): (Vec<String>, Vec<String>) = ids
            .into_iter()
            .partition(|id| bulk.is_some_and(|b| b.contains_key(id)));
        let mut owners: Owners = known
            .into_iter()
            .filter_map(|id| Some((id.clone(), bulk?.get(&id)?.clone())))
            .collect();
        owners.extend(read_each(&self.graph, unknown).await.map_err(graph_error)?);
        Ok(owners)
    }

    /// Brings every mapped app's owners up to date when a bulk read is due (daily, or the
    /// owners mapping changed). A full applications round this run already read them all.
    pub(super) async fn refresh_owners(&mut self) -> anyhow::Result<()> {
        let kind = ObjectKind::Application;
        let attributes = owner_attributes(&self.mapping);
        if attributes.is_empty() || !self.includes(kind) || self.ctx.is_cancelled() {
            return Ok(());
        }
        let stored: Option<OwnersCursor> = self
            .store()
            .get_cursor(self.job, CURSOR)?
            .and_then(|text| serde_json::from_str(&text).ok());
        let due = stored.is_none_or(|c| {
            c.attributes != attributes || self.now - c.refreshed_at >= REFRESH_EVERY
        });
        if !due && self.app_owners.is_none() {
            return Ok(());
        }
        let failed = |sync: &Sync| sync.ctx.counts().get(kind.word()).map_or(0, |c| c.failed);
        let failed_before = failed(self);
        if self.app_owners.is_none() {
            let owners = match read_all(&self.graph).await {
                Ok(owners) => owners,
                Err(error) => {
                    let error = graph_error(error);
                    let Some(KindUnreadable(facing)) = error.downcast_ref::<KindUnreadable>()
                    else {
                        return Err(error);
                    };
                    let mut event = RunEvent::info(format!(
                        "Owners of app registrations were not refreshed: {}",
                        facing.message
                    ));
                    event.fix = facing.fix.clone();
                    self.ctx.event(event);
                    return Ok(());
                }
            };
            self.write_owners(&owners).await?;
        }
        // A failed write is retried by the next run rather than a day later.
        if !self.ctx.dry_run && failed(self) == failed_before {
            let cursor = OwnersCursor {
                refreshed_at: self.now,
                attributes,
            };
            self.store()
                .set_cursor(self.job, CURSOR, &serde_json::to_string(&cursor)?)?;
        }
        Ok(())
    }

    /// Puts `owners` into the stored document of every mapped app and writes those that changed.
    async fn write_owners(&mut self, owners: &Owners) -> anyhow::Result<()> {
        let kind = ObjectKind::Application;
        // A dry run's delta round already planned its apps with their current owners.
        let planned: HashSet<String> = self.dry_seen.get(&kind).cloned().unwrap_or_default();
        let mut ids: Vec<&str> = owners.keys().map(String::as_str).collect();
        ids.sort_unstable();
        let (mut mapped, mut changed) = (0usize, 0usize);
        for chunk in ids.chunks(BATCH) {
            let mut entries: Vec<_> = self.entries(kind, chunk)?.into_values().collect();
            entries.sort_by(|a, b| a.remote_id.cmp(&b.remote_id));
            let mut upserts = Vec::new();
            for entry in entries {
                let before = Doc::from_json(&entry.doc);
                let leaving = self
                    .retire
                    .get(&kind)
                    .is_some_and(|r| r.contains_key(&entry.remote_id));
                let written = entry.target_id.is_some()
                    && entry.removed_at.is_none()
                    && entry.missing_since.is_none()
                    && !leaving;
                // An unknown document (re-identified objects) is rewritten whole by its round.
                if !written || before == Doc::default() {
                    continue;
                }
                mapped += 1;
                let list = &owners[&entry.remote_id];
                let doc = with_owners(&self.mapping, before, list);
                if planned.contains(&entry.remote_id) || doc.hash() == entry.hash {
                    continue;
                }
                changed += 1;
                note_many_owners(&self.ctx, &entry.remote_id, &doc.label, list.len());
                upserts.push(Upsert {
                    kind,
                    id: entry.remote_id.clone(),
                    doc,
                    member_id: None,
                    entry: Some(entry),
                });
            }
            self.write(upserts, false).await?;
        }
        self.ctx.event(RunEvent::info(if self.ctx.dry_run {
            format!("Read the owners of {mapped} app registrations: {changed} would change.")
        } else {
            format!("Refreshed owners of {mapped} app registrations: {changed} changed.")
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::EntraSyncSettings;

    fn app(id: &str) -> crosswalk_graph::Application {
        serde_json::from_value(serde_json::json!({
            "id": id, "appId": "client", "displayName": "Payroll",
            "passwordCredentials": [{"endDateTime": "2030-01-01T00:00:00Z"}],
        }))
        .expect("a valid application")
    }

    fn mapping(overrides: serde_json::Value) -> Mapping {
        let mut settings = serde_json::json!({"entra_connection": "e", "jira_connection": "j"});
        if !overrides.is_null() {
            settings["attributes"] = serde_json::json!({ "application": overrides });
        }
        EntraSyncSettings::parse(&settings)
            .expect("valid settings")
            .1
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("user-{i:02}")).collect()
    }

    /// Patching a stored document gives exactly what building it from Graph gives.
    fn check(mapping: &Mapping, before: usize, after: usize) {
        let stored = mapping::application_doc(mapping, &app("a1"), &ids(before));
        let patched = with_owners(mapping, stored, &ids(after));
        assert_eq!(
            patched,
            mapping::application_doc(mapping, &app("a1"), &ids(after))
        );
    }

    #[test]
    fn patched_owners_equal_a_document_built_from_graph() {
        let default = mapping(serde_json::Value::Null);
        for (before, after) in [(0, 2), (2, 0), (3, 1), (1, 25), (25, 10), (0, 0)] {
            check(&default, before, after);
        }
        let renamed = mapping(serde_json::json!({"owners": "App owners", "ownerCount": false}));
        check(&renamed, 1, 3);
        assert_eq!(owner_attributes(&renamed), vec!["App owners".to_owned()]);
        assert_eq!(
            owner_attributes(&default),
            vec!["Owners".to_owned(), "Owner count".to_owned()]
        );
        let none = mapping(serde_json::json!({"owners": false, "ownerCount": false}));
        assert!(owner_attributes(&none).is_empty());
    }

    #[test]
    fn owners_are_ordered_the_same_from_either_endpoint() {
        let listed = vec!["b".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(normalize(listed), vec!["a".to_owned(), "b".to_owned()]);
    }
}
