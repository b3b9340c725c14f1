//! Applies planned changes to Assets: journal creates in the store, write with bounded
//! concurrency, record what was written (map entry + hash) and what happened (run events).
//! In a dry run it only logs the plan.

use crate::doc::{Doc, Status, Value, NAME};
use crate::kinds::ObjectKind;
use crate::mapping::{AttrDef, OBJECT_ID, REMOVED_ON, STATUS};
use crate::schema::SchemaMap;
use crosswalk_assets::{AssetsClient, AttributeValue, Object, ObjectInput};
use crosswalk_core::{Code, JobId};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::{RunContext, RunEvent};
use crosswalk_store::{MapChange, MapEntry};
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Object writes in flight at once; the Assets client's own limit and the HTTP layer's
/// Retry-After handling pace them further.
const WRITES_IN_FLIGHT: usize = 8;

/// A referenced object: its Assets id (none yet in a dry run) and its label.
#[derive(Debug, Clone)]
pub struct Target {
    pub assets_id: Option<String>,
    pub label: String,
}

/// Every object a reference may point to, by kind and Entra id.
pub type Targets = HashMap<(ObjectKind, String), Target>;

/// One object to bring to its desired state.
#[derive(Debug, Clone)]
pub struct Upsert {
    pub kind: ObjectKind,
    pub id: String,
    pub doc: Doc,
    /// For memberships: the member's Entra id.
    pub member_id: Option<String>,
    /// The object's map entry, if it has one.
    pub entry: Option<MapEntry>,
}

/// What a batch did, for progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchStats {
    pub written: u64,
    pub unchanged: u64,
}

enum Write {
    Create {
        input: ObjectInput,
        type_id: String,
        id_attribute: String,
    },
    Update {
        target: String,
        input: ObjectInput,
    },
    Delete {
        target: String,
    },
}

enum Planned {
    Create,
    Update { before: Doc },
    Retire { before: Doc },
    Delete,
}

/// A write failure an admin must fix before anything else can work: the run stops on it.
fn is_fatal(error: &crosswalk_assets::Error) -> bool {
    matches!(
        error.user_facing().code,
        Code::AuthExpired
            | Code::PermissionDenied
            | Code::RemoteUnavailable
            | Code::SecretsUnavailable
    )
}

/// A create failure that proves nothing was created (the intent can be dropped).
fn nothing_created(error: &crosswalk_assets::Error) -> bool {
    matches!(
        error,
        crosswalk_assets::Error::ValidationFailed { .. }
            | crosswalk_assets::Error::NameConflict { .. }
            | crosswalk_assets::Error::PermissionDenied { .. }
    ) || error
        .status()
        .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
}

async fn run_write(
    assets: &AssetsClient,
    write: Write,
) -> Result<Option<Object>, crosswalk_assets::Error> {
    match write {
        Write::Create {
            input,
            type_id,
            id_attribute,
        } => match assets.create_object(&input).await {
            Ok(object) => Ok(Some(object)),
            // Already in Assets (a lost map, or a create whose answer was lost): adopt it.
            Err(crosswalk_assets::Error::UniqueViolation { attribute, .. })
                if attribute.eq_ignore_ascii_case(OBJECT_ID) =>
            {
                let value = input
                    .values(&id_attribute)
                    .first()
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                let found = assets
                    .find_by_attribute(&type_id, OBJECT_ID, &value)
                    .await?;
                match found {
                    Some(existing) => assets.update_object(&existing.id, &input).await.map(Some),
                    None => assets.create_object(&input).await.map(Some),
                }
            }
            Err(error) => Err(error),
        },
        Write::Update { target, input } => match assets.update_object(&target, &input).await {
            Ok(object) => Ok(Some(object)),
            // Deleted in Assets by someone: create it again rather than lose it.
            Err(crosswalk_assets::Error::Http(crosswalk_http::Error::NotFound { .. })) => {
                let mut fresh = input.clone();
                fresh.attributes.retain(|a| !a.values.is_empty());
                assets.create_object(&fresh).await.map(Some)
            }
            Err(error) => Err(error),
        },
        Write::Delete { target } => assets.delete_object(&target).await.map(|()| None),
    }
}

/// Writes planned changes for one run.
pub struct Writer<'a> {
    pub ctx: &'a RunContext,
    pub job: JobId,
    pub run: i64,
    pub now: OffsetDateTime,
    pub assets: &'a AssetsClient,
    pub schema: Option<&'a SchemaMap>,
    /// Attributes per kind (what `needed_attributes` gives).
    pub attributes: &'a HashMap<ObjectKind, Vec<AttrDef>>,
}

impl Writer<'_> {
    fn dry_run(&self) -> bool {
        self.ctx.dry_run
    }

    /// The Assets body for `doc`; the flag is true when a reference target is not in Assets yet.
    fn input(
        &self,
        kind: ObjectKind,
        doc: &Doc,
        targets: &Targets,
        create: bool,
    ) -> Option<(ObjectInput, bool)> {
        let schema = self.schema?;
        let mut input = ObjectInput::new(schema.type_id(kind)?);
        if let Some(name) = schema.attribute_id(kind, NAME) {
            input = input.set(name, AttributeValue::text(&doc.label));
        }
        let mut unresolved = false;
        for def in self.attributes.get(&kind).into_iter().flatten() {
            let Some(attribute) = schema.attribute_id(kind, &def.name) else {
                continue;
            };
            let values: Vec<AttributeValue> = match doc.values.get(&def.name) {
                None => Vec::new(),
                Some(Value::Text(text)) => vec![AttributeValue::text(text)],
                Some(Value::Integer(n)) => vec![AttributeValue::integer(*n)],
                Some(Value::Boolean(b)) => vec![AttributeValue::boolean(*b)],
                Some(Value::Date(text)) => vec![AttributeValue::text(text)],
                Some(Value::DateTime(text)) => OffsetDateTime::parse(text, &Rfc3339)
                    .map(AttributeValue::datetime)
                    .into_iter()
                    .collect(),
                Some(Value::Status(status)) => schema
                    .status_id(*status)
                    .map(AttributeValue::status)
                    .into_iter()
                    .collect(),
                Some(Value::Refs(target_kind, ids)) => {
                    let resolved: Vec<AttributeValue> = ids
                        .iter()
                        .filter_map(|id| {
                            targets
                                .get(&(*target_kind, id.clone()))
                                .and_then(|t| t.assets_id.clone())
                        })
                        .map(AttributeValue::reference)
                        .collect();
                    unresolved |= resolved.len() < ids.len();
                    resolved
                }
            };
            if values.is_empty() {
                if !create {
                    input = input.clear(attribute);
                }
            } else {
                input = input.set_many(attribute, values);
            }
        }
        Some((input, unresolved))
    }

    /// Brings each object to its desired state: unchanged ones are only counted (and marked
    /// seen in a full round), new ones are journaled then created, changed ones updated.
    ///
    /// # Errors
    /// A failure that stops the run (credentials, permissions, Assets down, the store).
    pub async fn upsert(
        &self,
        items: Vec<Upsert>,
        full_round: bool,
        targets: &mut Targets,
    ) -> anyhow::Result<BatchStats> {
        let mut stats = BatchStats::default();
        let mut seen: HashMap<ObjectKind, Vec<String>> = HashMap::new();
        let mut planned = Vec::new();
        for item in items {
            let hash = item.doc.hash();
            let entry = item.entry.as_ref();
            let written = entry.and_then(|e| e.target_id.clone());
            let same = entry.is_some_and(|e| {
                e.hash == hash
                    && !e.unresolved
                    && e.removed_at.is_none()
                    && e.missing_since.is_none()
            });
            if item.kind.is_reference_target() {
                targets.insert(
                    (item.kind, item.id.clone()),
                    Target {
                        assets_id: written.clone(),
                        label: item.doc.label.clone(),
                    },
                );
            }
            if same && written.is_some() {
                stats.unchanged += 1;
                self.ctx.count_unchanged(item.kind.word(), 1);
                if full_round && entry.and_then(|e| e.seen_run) != Some(self.run) {
                    seen.entry(item.kind).or_default().push(item.id.clone());
                }
                continue;
            }
            let plan = match (written, entry) {
                (Some(_), Some(entry)) => Planned::Update {
                    before: crate::doc::Doc::from_json(&entry.doc),
                },
                _ => Planned::Create,
            };
            planned.push((item, plan));
        }
        let changes: Vec<MapChange> = seen
            .into_iter()
            .map(|(kind, remote_ids)| MapChange::Seen {
                kind: kind.word().to_owned(),
                remote_ids,
                run: self.run,
            })
            .collect();
        stats.written = planned.len() as u64;
        self.execute(planned, full_round, targets, changes).await?;
        Ok(stats)
    }

    /// Marks objects removed (memberships: deletes them).
    ///
    /// # Errors
    /// As [`Writer::upsert`].
    pub async fn retire(
        &self,
        entries: Vec<MapEntry>,
        targets: &mut Targets,
    ) -> anyhow::Result<()> {
        let mut planned = Vec::new();
        for entry in entries {
            let Some(kind) = ObjectKind::from_word(&entry.kind) else {
                continue;
            };
            targets.remove(&(kind, entry.remote_id.clone()));
            let before = Doc::from_json(&entry.doc);
            let plan = if kind == ObjectKind::Membership {
                Planned::Delete
            } else {
                Planned::Retire {
                    before: before.clone(),
                }
            };
            let mut doc = before;
            if kind != ObjectKind::Membership {
                doc.set(STATUS, Some(Value::Status(Status::Removed)));
                doc.set(
                    REMOVED_ON,
                    self.now.format(&Rfc3339).ok().map(Value::DateTime),
                );
            }
            let item = Upsert {
                kind,
                id: entry.remote_id.clone(),
                doc,
                member_id: entry.member_id.clone(),
                entry: Some(entry),
            };
            planned.push((item, plan));
        }
        self.execute(planned, false, targets, Vec::new()).await
    }

    /// Deletes the Assets objects of entries retired long enough ago (hard-delete policy).
    ///
    /// # Errors
    /// As [`Writer::upsert`].
    pub async fn delete(
        &self,
        entries: Vec<MapEntry>,
        targets: &mut Targets,
    ) -> anyhow::Result<()> {
        let planned = entries
            .into_iter()
            .filter_map(|entry| {
                let kind = ObjectKind::from_word(&entry.kind)?;
                Some((
                    Upsert {
                        kind,
                        id: entry.remote_id.clone(),
                        doc: Doc::from_json(&entry.doc),
                        member_id: entry.member_id.clone(),
                        entry: Some(entry),
                    },
                    Planned::Delete,
                ))
            })
            .collect();
        self.execute(planned, false, targets, Vec::new()).await
    }

    fn event_for(&self, item: &Upsert, plan: &Planned) -> RunEvent {
        let kind = item.kind.word();
        let verb = |done: &str, would: &str| {
            if self.dry_run() {
                would.to_owned()
            } else {
                done.to_owned()
            }
        };
        match plan {
            Planned::Create => RunEvent::object(
                kind,
                &item.id,
                &item.doc.label,
                EventAction::Created,
                verb("Created in Assets.", "Would be created in Assets."),
            )
            .with_change(None, Some(item.doc.display())),
            Planned::Update { before } => {
                let (old, new) = item.doc.diff(before);
                let message = if old.as_object().is_some_and(serde_json::Map::is_empty) {
                    verb(
                        "References completed: their targets were created later in this run.",
                        "References would be completed.",
                    )
                } else if before.values.is_empty() && before.label.is_empty() {
                    verb(
                        "Written again (its earlier values were not known).",
                        "Would be written again (its earlier values are not known).",
                    )
                } else {
                    verb("Updated in Assets.", "Would be updated in Assets.")
                };
                RunEvent::object(
                    kind,
                    &item.id,
                    &item.doc.label,
                    EventAction::Updated,
                    message,
                )
                .with_change(Some(old), Some(new))
            }
            Planned::Retire { before } => {
                let (old, new) = item.doc.diff(before);
                RunEvent::object(
                    kind,
                    &item.id,
                    &item.doc.label,
                    EventAction::Retired,
                    verb(
                        "Gone from Entra: marked \"Removed from Entra\" in Assets.",
                        "Gone from Entra: would be marked \"Removed from Entra\" in Assets.",
                    ),
                )
                .with_change(Some(old), Some(new))
            }
            Planned::Delete => RunEvent::object(
                kind,
                &item.id,
                &item.doc.label,
                EventAction::Deleted,
                if item.kind == ObjectKind::Membership {
                    verb(
                        "Membership ended: deleted from Assets.",
                        "Membership ended: would be deleted from Assets.",
                    )
                } else {
                    verb(
                        "Removed long enough ago: deleted from Assets (retirement policy).",
                        "Would be deleted from Assets (retirement policy).",
                    )
                },
            ),
        }
    }

    /// Writes `planned` and records the outcome, together with `changes` (seen marks), in the
    /// store; a dry run only logs the plan.
    async fn execute(
        &self,
        planned: Vec<(Upsert, Planned)>,
        full_round: bool,
        targets: &mut Targets,
        mut changes: Vec<MapChange>,
    ) -> anyhow::Result<()> {
        if self.dry_run() {
            for (item, plan) in &planned {
                self.ctx.event(self.event_for(item, plan));
            }
            return Ok(());
        }
        if planned.is_empty() {
            if !changes.is_empty() {
                self.ctx.services.store.map_apply(self.job, &changes)?;
            }
            return Ok(());
        }
        // Journal every create before it is sent: a crash after the create but before the
        // record leaves an open intent, which the next run resolves by AQL instead of creating.
        let intents: Vec<MapChange> = planned
            .iter()
            .filter(|(_, plan)| matches!(plan, Planned::Create))
            .map(|(item, _)| {
                let mut intent = MapEntry::intent(
                    item.kind.word(),
                    &item.id,
                    &item.doc.label,
                    item.doc.to_json(),
                );
                intent.member_id = item.member_id.clone();
                MapChange::Put(intent)
            })
            .collect();
        if !intents.is_empty() {
            self.ctx.services.store.map_apply(self.job, &intents)?;
        }
        let schema = self.schema.expect("a non-dry run has a schema");
        let mut writes = Vec::with_capacity(planned.len());
        for (index, (item, plan)) in planned.iter().enumerate() {
            let write = match plan {
                Planned::Delete => {
                    let target = item.entry.as_ref().and_then(|e| e.target_id.clone());
                    target.map(|target| (Write::Delete { target }, false))
                }
                Planned::Create => {
                    self.input(item.kind, &item.doc, targets, true)
                        .map(|(input, unresolved)| {
                            let type_id = input.object_type_id.clone();
                            let id_attribute = schema
                                .attribute_id(item.kind, OBJECT_ID)
                                .unwrap_or_default()
                                .to_owned();
                            (
                                Write::Create {
                                    input,
                                    type_id,
                                    id_attribute,
                                },
                                unresolved,
                            )
                        })
                }
                Planned::Update { .. } | Planned::Retire { .. } => {
                    let target = item.entry.as_ref().and_then(|e| e.target_id.clone());
                    match (target, self.input(item.kind, &item.doc, targets, false)) {
                        (Some(target), Some((input, unresolved))) => {
                            Some((Write::Update { target, input }, unresolved))
                        }
                        _ => None,
                    }
                }
            };
            if let Some((write, unresolved)) = write {
                writes.push((index, write, unresolved));
            } else if let Planned::Delete = plan {
                // Never written (an intent that was dropped): just forget it.
                changes.push(MapChange::Delete {
                    kind: item.kind.word().to_owned(),
                    remote_id: item.id.clone(),
                });
            }
        }
        let assets = self.assets.clone();
        let mut results: Vec<(usize, bool, Result<Option<Object>, crosswalk_assets::Error>)> =
            stream::iter(writes)
                .map(move |(index, write, unresolved)| {
                    let assets = assets.clone();
                    async move { (index, unresolved, run_write(&assets, write).await) }
                })
                .buffer_unordered(WRITES_IN_FLIGHT)
                .collect()
                .await;
        results.sort_by_key(|(index, ..)| *index);
        let mut fatal = None;
        for (index, unresolved, result) in results {
            let (item, plan) = &planned[index];
            match result {
                Ok(object) => {
                    if let Planned::Delete = plan {
                        changes.push(MapChange::Delete {
                            kind: item.kind.word().to_owned(),
                            remote_id: item.id.clone(),
                        });
                        self.ctx.event(self.event_for(item, plan));
                        continue;
                    }
                    let target_id = object
                        .map(|o| o.id)
                        .or_else(|| item.entry.as_ref().and_then(|e| e.target_id.clone()));
                    let retired = matches!(plan, Planned::Retire { .. });
                    let entry = MapEntry {
                        kind: item.kind.word().to_owned(),
                        remote_id: item.id.clone(),
                        target_id: target_id.clone(),
                        label: item.doc.label.clone(),
                        hash: item.doc.hash(),
                        doc: item.doc.to_json(),
                        unresolved,
                        member_id: item.member_id.clone(),
                        seen_run: if full_round {
                            Some(self.run)
                        } else {
                            item.entry.as_ref().and_then(|e| e.seen_run)
                        },
                        missing_since: None,
                        removed_at: retired.then_some(self.now),
                    };
                    if !retired && item.kind.is_reference_target() {
                        targets.insert(
                            (item.kind, item.id.clone()),
                            Target {
                                assets_id: target_id,
                                label: item.doc.label.clone(),
                            },
                        );
                    }
                    changes.push(MapChange::Put(entry));
                    self.ctx.event(self.event_for(item, plan));
                }
                Err(error) => {
                    if matches!(plan, Planned::Create) && nothing_created(&error) {
                        changes.push(MapChange::Delete {
                            kind: item.kind.word().to_owned(),
                            remote_id: item.id.clone(),
                        });
                    }
                    let facing = error.user_facing();
                    let mut event = RunEvent::object(
                        item.kind.word(),
                        &item.id,
                        &item.doc.label,
                        EventAction::Failed,
                        facing.message.clone(),
                    );
                    event.fix = facing.fix.clone();
                    self.ctx.event(event);
                    if fatal.is_none() && is_fatal(&error) {
                        fatal = Some(facing);
                    }
                }
            }
        }
        // Recorded before a fatal error is returned too: what did succeed is kept.
        if !changes.is_empty() {
            self.ctx.services.store.map_apply(self.job, &changes)?;
        }
        match fatal {
            Some(facing) => Err(anyhow::Error::new(facing)),
            None => Ok(()),
        }
    }
}
