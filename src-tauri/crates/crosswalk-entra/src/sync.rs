//! One run of an Entra Sync job: provision the schema, settle open intents, read each kind
//! (delta rounds, or Intune's sync-time passes), write what changed, complete late references,
//! then retire what left Entra behind the mass-retirement guard.

use crate::doc::{Doc, Value};
use crate::error::facing;
use crate::kinds::ObjectKind;
use crate::mapping::{self, AttrDef, Mapping, OBJECT_ID};
use crate::schema::{self, SchemaMap};
use crate::scope::{self, Scope, WithJson};
use crate::settings::{EntraSyncSettings, RetireMode};
use crate::writer::{Target, Targets, Upsert, Writer};
use crosswalk_assets::AssetsClient;
use crosswalk_core::JobId;
use crosswalk_engine::context::EventAction;
use crosswalk_engine::{RunContext, RunEvent};
use crosswalk_graph::{
    Application, DeltaEntity, DeltaItem, DeltaLink, DeltaNext, DeltaStart, Device, GraphClient,
    Group, User,
};
use crosswalk_store::{MapChange, MapEntry, MapFilter};
use std::collections::{BTreeMap, HashMap, HashSet};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

mod entered;
mod owners;

/// Objects handed to the writer at once: bounds memory and makes each store commit small.
const BATCH: usize = 500;
/// How often Intune devices are compared in full (their list has no delta, so removals only
/// show in a full listing).
const MANAGED_FULL_EVERY: Duration = Duration::hours(24);
/// The cursor naming the Assets site and schema the map's objects live in.
const SCHEMA_CURSOR: &str = "assets.schema";
/// The cursor caching the provisioned schema map, so a no-change run reads no schema.
const SCHEMA_CACHE: &str = "assets.schema_map";
/// How long a provisioned schema is trusted before it is checked again.
const SCHEMA_CHECK_EVERY: Duration = Duration::hours(24);
/// Overlap of Intune's incremental passes, for devices that synced while the last pass ran.
const MANAGED_OVERLAP: Duration = Duration::minutes(10);

/// The store settings key that confirms a held-back mass retirement for one run of a job.
pub fn confirm_key(job: JobId) -> String {
    format!("entra_sync.confirm_retirements.{job}")
}

/// A page of one kind's delta round.
enum Items {
    Users(Vec<DeltaItem<User>>),
    Groups(Vec<DeltaItem<Group>>),
    Applications(Vec<DeltaItem<Application>>),
    Devices(Vec<DeltaItem<Device>>),
}

/// Where the managed-device passes stand (stored as the cursor's JSON).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ManagedCursor {
    #[serde(default, with = "time::serde::rfc3339::option")]
    full_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
}

/// The provisioned schema, remembered between runs.
#[derive(serde::Serialize, serde::Deserialize)]
struct SchemaCache {
    fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    checked_at: OffsetDateTime,
    map: SchemaMap,
}

/// What the schema depends on: the Assets site, the schema, the kinds and the attributes.
fn schema_fingerprint(
    assets: &AssetsClient,
    settings: &EntraSyncSettings,
    mapping: &Mapping,
    kinds: &[ObjectKind],
) -> String {
    let attributes: Vec<(ObjectKind, Vec<String>)> = kinds
        .iter()
        .map(|k| {
            (
                *k,
                schema::needed_attributes(mapping, *k, kinds)
                    .into_iter()
                    .map(|a| format!("{}:{:?}", a.name, a.ty))
                    .collect(),
            )
        })
        .collect();
    let mut doc = Doc::new(assets.http().base_url().as_str());
    doc.set(
        "schema",
        Some(crate::doc::Value::Text(format!(
            "{}|{}|{attributes:?}",
            settings.schema_name, settings.schema_key
        ))),
    );
    doc.hash()
}

/// The remembered schema map, if it was provisioned for the same settings recently.
fn cached_schema(
    ctx: &RunContext,
    fingerprint: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Option<SchemaMap>> {
    let Some(text) = ctx.services.store.get_cursor(ctx.job_id, SCHEMA_CACHE)? else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<SchemaCache>(&text)
        .ok()
        .filter(|c| c.fingerprint == fingerprint && now - c.checked_at < SCHEMA_CHECK_EVERY)
        .map(|c| c.map))
}

/// Graph would not let the run read one kind (a missing permission, Intune not licensed).
#[derive(Debug)]
struct KindUnreadable(crosswalk_core::UserFacing);

impl std::fmt::Display for KindUnreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for KindUnreadable {}

/// A Graph failure as the run reports it; a 403 affects only the kind being read.
fn graph_error(error: crosswalk_graph::Error) -> anyhow::Error {
    let facing = error.user_facing();
    if matches!(error, crosswalk_graph::Error::PermissionMissing { .. }) {
        anyhow::Error::new(KindUnreadable(facing))
    } else {
        anyhow::Error::new(facing)
    }
}

/// State of one run.
pub struct Sync {
    pub ctx: RunContext,
    pub job: JobId,
    run: i64,
    now: OffsetDateTime,
    graph: GraphClient,
    assets: AssetsClient,
    schema: Option<SchemaMap>,
    mapping: Mapping,
    settings: EntraSyncSettings,
    kinds: Vec<ObjectKind>,
    attributes: HashMap<ObjectKind, Vec<AttrDef>>,
    targets: Targets,
    /// Retirement candidates per kind, by Entra id (deduplicated).
    retire: BTreeMap<ObjectKind, BTreeMap<String, MapEntry>>,
    /// Dry runs mark "seen" here instead of in the store.
    dry_seen: HashMap<ObjectKind, HashSet<String>>,
    /// Users the job's group filter covers (`None`: every user).
    user_scope: Option<HashSet<String>>,
    /// What the job's filters let in (see `scope`).
    scope: Scope,
    /// Members of groups that the sync does not mirror, counted once per run.
    skipped_members: u64,
    /// Every app registration's owners, when this run read them in bulk (see `owners`).
    app_owners: Option<owners::Owners>,
    /// Objects that entered the sync's scope, whose memberships `entered` reads.
    entered: entered::Entered,
    processed: u64,
}

impl Sync {
    /// Prepares a run: provisions the schema (or plans it in a dry run).
    ///
    /// # Errors
    /// Schema conflicts and Assets failures, as admin-facing errors.
    pub async fn prepare(
        ctx: RunContext,
        graph: GraphClient,
        assets: AssetsClient,
        settings: EntraSyncSettings,
        mapping: Mapping,
    ) -> anyhow::Result<Sync> {
        let kinds = settings.kinds.enabled();
        let scope = Scope::new(&settings).map_err(|problems| {
            let text: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
            anyhow::Error::new(crate::Error::Settings(text.join("; ")).user_facing())
        })?;
        let now = ctx.services.clock.now();
        let fingerprint = schema_fingerprint(&assets, &settings, &mapping, &kinds);
        let cached = if ctx.dry_run {
            None
        } else {
            cached_schema(&ctx, &fingerprint, now)?
        };
        let provisioned = match cached {
            Some(map) => schema::Provisioned {
                map: Some(map),
                created: Vec::new(),
            },
            None => {
                ctx.progress(0, 0, "Checking the object schema");
                let provisioned = schema::provision(
                    &assets,
                    &settings.schema_name,
                    &settings.schema_key,
                    &mapping,
                    &kinds,
                    ctx.dry_run,
                )
                .await
                .map_err(facing)?;
                if let (false, Some(map)) = (ctx.dry_run, &provisioned.map) {
                    let cache = SchemaCache {
                        fingerprint,
                        checked_at: now,
                        map: map.clone(),
                    };
                    ctx.services.store.set_cursor(
                        ctx.job_id,
                        SCHEMA_CACHE,
                        &serde_json::to_string(&cache)?,
                    )?;
                }
                provisioned
            }
        };
        if !provisioned.created.is_empty() {
            let verb = if ctx.dry_run {
                "Would create"
            } else {
                "Created"
            };
            ctx.event(
                RunEvent::info(format!(
                    "{verb} in Assets: {}.",
                    provisioned.created.join(", ")
                ))
                .with_change(None, Some(serde_json::json!(provisioned.created))),
            );
        }
        let attributes = kinds
            .iter()
            .map(|k| (*k, schema::needed_attributes(&mapping, *k, &kinds)))
            .collect();
        Ok(Sync {
            job: ctx.job_id,
            run: ctx.run_id.0,
            now,
            graph,
            assets,
            schema: provisioned.map,
            mapping,
            settings,
            kinds,
            attributes,
            targets: Targets::new(),
            retire: BTreeMap::new(),
            dry_seen: HashMap::new(),
            user_scope: None,
            scope,
            skipped_members: 0,
            app_owners: None,
            entered: entered::Entered::default(),
            processed: 0,
            ctx,
        })
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            ctx: &self.ctx,
            job: self.job,
            run: self.run,
            now: self.now,
            assets: &self.assets,
            schema: self.schema.as_ref(),
            attributes: &self.attributes,
        }
    }

    fn store(&self) -> &crosswalk_store::Store {
        &self.ctx.services.store
    }

    fn includes(&self, kind: ObjectKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// The whole run.
    ///
    /// # Errors
    /// Failures that stop the run, as admin-facing errors.
    pub async fn run(mut self) -> anyhow::Result<()> {
        if !self.ctx.dry_run {
            self.forget_state_of_another_schema()?;
            self.settle_open_intents().await?;
            self.reidentify_if_lost().await?;
        }
        self.load_targets()?;
        self.user_scope = self.read_user_scope().await?;
        for kind in self.kinds.clone() {
            if self.ctx.is_cancelled() {
                return Ok(());
            }
            let result = match kind {
                ObjectKind::User => match self.delta_round::<User>(kind, Items::Users).await {
                    Ok(()) => self.settle_user_scope().await,
                    Err(error) => Err(error),
                },
                ObjectKind::Group => self.delta_round::<Group>(kind, Items::Groups).await,
                ObjectKind::Application => {
                    self.delta_round::<Application>(kind, Items::Applications)
                        .await
                }
                ObjectKind::Device => self.delta_round::<Device>(kind, Items::Devices).await,
                ObjectKind::ManagedDevice => self.managed_devices().await,
                ObjectKind::Membership => Ok(()), // read with groups
            };
            if let Err(error) = result {
                // Graph refused to read this kind (permission, licence): sync the others and say
                // what to fix. Anything else stops the run.
                let Some(KindUnreadable(facing)) = error.downcast_ref::<KindUnreadable>() else {
                    return Err(error);
                };
                let mut event = RunEvent::object(
                    kind.word(),
                    "",
                    kind.plural(),
                    EventAction::Failed,
                    format!("No {} were synced: {}", kind.plural(), facing.message),
                );
                event.fix = facing.fix.clone();
                self.ctx.event(event);
            }
        }
        self.add_memberships_of_entered().await?;
        self.refresh_owners().await?;
        if self.skipped_members > 0 {
            self.ctx.event(RunEvent::info(format!(
                "{} group members are service principals, contacts or objects outside the sync's scope; their memberships are not mirrored.",
                self.skipped_members
            )));
        }
        self.complete_references().await?;
        self.retire_with_guard().await?;
        self.hard_delete().await?;
        if self.ctx.counts().values().any(|c| c.failed > 0) {
            // A write failed: the schema may have changed under us; check it next run.
            self.store().delete_cursor(self.job, SCHEMA_CACHE)?;
        }
        self.ctx.progress(self.processed, self.processed, "Done");
        Ok(())
    }

    /// The job now writes to another object schema (or another site): what the map says was
    /// written is elsewhere, so start over (objects already in the new schema are re-identified).
    fn forget_state_of_another_schema(&mut self) -> anyhow::Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let place = format!("{}#{}", self.assets.http().base_url(), schema.schema_id);
        let stored = self.store().get_cursor(self.job, SCHEMA_CURSOR)?;
        if stored.as_deref() == Some(place.as_str()) {
            return Ok(());
        }
        if stored.is_some() {
            self.store().map_clear(self.job)?;
            self.store().clear_cursors(self.job)?;
            self.ctx.event(RunEvent::info(format!(
                "The job now writes to another object schema (\"{}\"); its record of earlier writes was reset and every object is read again.",
                schema.schema_name
            )));
        }
        self.store().set_cursor(self.job, SCHEMA_CURSOR, &place)?;
        Ok(())
    }

    /// Journaled creates from an interrupted run: find each in Assets by its Entra object ID;
    /// found ones are recorded (and rewritten), missing ones are created again by this run.
    async fn settle_open_intents(&mut self) -> anyhow::Result<()> {
        let open = self.store().map_select(self.job, &MapFilter::Open)?;
        if open.is_empty() {
            return Ok(());
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(());
        };
        let mut found = 0;
        let mut changes = Vec::new();
        for entry in &open {
            let Some(kind) = ObjectKind::from_word(&entry.kind) else {
                continue;
            };
            let Some(type_id) = schema.type_id(kind) else {
                continue;
            };
            let hit = self
                .assets
                .find_by_attribute(type_id, OBJECT_ID, &entry.remote_id)
                .await
                .map_err(facing)?;
            match hit {
                Some(object) => {
                    found += 1;
                    changes.push(MapChange::Put(MapEntry {
                        target_id: Some(object.id),
                        hash: String::new(),
                        ..entry.clone()
                    }));
                }
                None => changes.push(MapChange::Delete {
                    kind: entry.kind.clone(),
                    remote_id: entry.remote_id.clone(),
                }),
            }
        }
        self.store().map_apply(self.job, &changes)?;
        self.ctx.event(RunEvent::info(format!(
            "The previous run stopped between writing to Assets and recording it: {} of {} pending creates were found in Assets and kept; the rest will be created now.",
            found,
            open.len()
        )));
        Ok(())
    }

    /// A job with no local state whose schema already holds objects (a lost or new database
    /// over an existing schema): read the objects back by Entra object ID instead of creating
    /// duplicates, with their values, so only the ones that differ from Entra are written.
    async fn reidentify_if_lost(&mut self) -> anyhow::Result<()> {
        if !self.store().map_is_empty(self.job)? {
            return Ok(());
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(());
        };
        let total = crate::reidentify::reidentify(
            &self.ctx,
            self.job,
            &self.assets,
            &schema,
            &self.kinds,
            &self.attributes,
            self.now,
        )
        .await?;
        if total > 0 {
            self.ctx.event(RunEvent::info(format!(
                "No local sync state for this job: found {total} objects already in \"{}\" by their Entra Object ID and matched them instead of creating duplicates. Only objects whose values in Assets differ from Entra are written.",
                schema.schema_name
            )));
            // Forget delta links: with no state, every object must be read again.
            self.store().clear_cursors(self.job)?;
        }
        Ok(())
    }

    /// Loads every mirrored object as a possible reference target.
    fn load_targets(&mut self) -> anyhow::Result<()> {
        let kinds: Vec<&str> = [ObjectKind::User, ObjectKind::Group, ObjectKind::Device]
            .iter()
            .map(|k| k.word())
            .collect();
        for target in self.store().map_targets(self.job, &kinds)? {
            if let Some(kind) = ObjectKind::from_word(&target.kind) {
                self.targets.insert(
                    (kind, target.remote_id),
                    Target {
                        assets_id: Some(target.target_id),
                        label: target.label,
                    },
                );
            }
        }
        Ok(())
    }

    /// Progress within the current kind: a bar when Graph could count it, a counter otherwise.
    fn progress(&self, kind: ObjectKind, read: u64, expected: Option<u64>) {
        let steps: Vec<ObjectKind> = self
            .kinds
            .iter()
            .copied()
            .filter(|k| *k != ObjectKind::Membership)
            .collect();
        let step = steps.iter().position(|k| *k == kind).map_or(0, |i| i + 1);
        let what = if kind == ObjectKind::Group && self.includes(ObjectKind::Membership) {
            "groups and memberships"
        } else {
            kind.plural()
        };
        let message = match expected {
            Some(total) => format!(
                "Step {step} of {}: {what} ({} of {total})",
                steps.len(),
                read.min(total)
            ),
            None => format!("Step {step} of {}: {what} ({read} read)", steps.len()),
        };
        // Large groups repeat on several pages (one slice of members each): never past 100%.
        let done = expected.map_or(read, |total| read.min(total));
        self.ctx
            .progress(done, expected.unwrap_or(0).max(done), &message);
    }

    /// One delta round of `kind`: from the stored link, or a full round when there is none
    /// (or Graph refuses it). The link is stored only after every write of the round.
    async fn delta_round<T: DeltaEntity>(
        &mut self,
        kind: ObjectKind,
        wrap: fn(Vec<DeltaItem<T>>) -> Items,
    ) -> anyhow::Result<()> {
        let graph_error = graph_error;
        let mut cursor = self.store().get_cursor(self.job, kind.cursor())?;
        if cursor.is_some() && self.scope.changed(self.store(), self.job, kind)? {
            self.ctx
                .event(RunEvent::info(scope::full_round_notice(kind)));
            cursor = None;
        }
        let mut full = cursor.is_none();
        let select = self.delta_select(kind);
        let initial = || DeltaStart::Initial {
            select: select.clone(),
        };
        let start = match cursor {
            Some(link) => DeltaStart::Link(DeltaLink::new(link)),
            None => initial(),
        };
        let mut page = match self.graph.delta::<WithJson<T>>(start).await {
            Ok(page) => page,
            Err(crosswalk_graph::Error::ResyncRequired { reason, .. }) if !full => {
                self.ctx.event(RunEvent::info(format!(
                    "Graph no longer accepts the saved change token for {} ({reason}); reading them all again. Nothing is duplicated.",
                    kind.plural()
                )));
                full = true;
                self.graph
                    .delta::<WithJson<T>>(initial())
                    .await
                    .map_err(graph_error)?
            }
            Err(error) => return Err(graph_error(error)),
        };
        // A first (full) round reads everything: count it so the console can draw a real bar.
        let expected = if full {
            self.graph.count(T::RESOURCE).await.ok().flatten()
        } else {
            None
        };
        let mut read = 0u64;
        loop {
            read += page.items.len() as u64;
            let items = self.scope.apply(kind, page.items);
            self.handle(wrap(items), full).await?;
            self.progress(kind, read, expected);
            if self.ctx.is_cancelled() {
                return Ok(());
            }
            match page.next {
                DeltaNext::More(link) => {
                    page = self
                        .graph
                        .delta_next_page(&link)
                        .await
                        .map_err(graph_error)?;
                }
                DeltaNext::Done(link) => {
                    if full {
                        self.retire_unseen(kind)?;
                        if kind == ObjectKind::Group && self.includes(ObjectKind::Membership) {
                            self.retire_unseen(ObjectKind::Membership)?;
                        }
                    }
                    if !self.ctx.dry_run {
                        self.store()
                            .set_cursor(self.job, kind.cursor(), link.as_str())?;
                        self.scope.remember(self.store(), self.job, kind)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// `$select` of an initial round: the mapped properties and those the kind's filter reads
    /// (unselected ones are not tracked).
    fn delta_select(&self, kind: ObjectKind) -> Option<String> {
        let mapped = match kind {
            ObjectKind::User => Some(crosswalk_graph::USER_DELTA_SELECT.to_owned()),
            ObjectKind::Group => Some(if self.includes(ObjectKind::Membership) {
                crosswalk_graph::GROUP_DELTA_SELECT.to_owned()
            } else {
                crosswalk_graph::GROUP_DELTA_SELECT.replace(",members", "")
            }),
            _ => None,
        };
        self.scope.select(kind, mapped)
    }

    async fn handle(&mut self, items: Items, full: bool) -> anyhow::Result<()> {
        match items {
            Items::Users(items) => self.handle_users(items, full).await,
            Items::Groups(items) => self.handle_groups(items, full).await,
            Items::Applications(items) => self.handle_applications(items, full).await,
            Items::Devices(items) => self.handle_devices(items, full).await,
        }
    }

    /// Map entries of `kind` for these ids.
    fn entries(&self, kind: ObjectKind, ids: &[&str]) -> anyhow::Result<HashMap<String, MapEntry>> {
        Ok(self.store().map_get(self.job, kind.word(), ids)?)
    }

    /// Queues an object that left Entra (or the sync's scope) for retirement.
    fn queue_retire(&mut self, kind: ObjectKind, entry: Option<MapEntry>) {
        if let Some(entry) = entry.filter(|e| e.removed_at.is_none() && e.target_id.is_some()) {
            self.retire
                .entry(kind)
                .or_default()
                .insert(entry.remote_id.clone(), entry);
        }
    }

    /// A user or group left: its memberships end too.
    fn queue_memberships_of(&mut self, id: &str, as_group: bool) -> anyhow::Result<()> {
        if !self.includes(ObjectKind::Membership) {
            return Ok(());
        }
        let filter = if as_group {
            MapFilter::Prefix {
                kind: ObjectKind::Membership.word().into(),
                prefix: format!("{id}:"),
            }
        } else {
            MapFilter::MembershipsOfMember(id.to_owned())
        };
        for entry in self.store().map_select(self.job, &filter)? {
            self.queue_retire(ObjectKind::Membership, Some(entry));
        }
        Ok(())
    }

    /// Records that a full round saw these ids (dry runs keep them in memory).
    fn mark_seen_dry(&mut self, kind: ObjectKind, ids: impl IntoIterator<Item = String>) {
        if self.ctx.dry_run {
            self.dry_seen.entry(kind).or_default().extend(ids);
        }
    }

    async fn write(&mut self, items: Vec<Upsert>, full: bool) -> anyhow::Result<()> {
        self.note_entered(&items, full)?;
        let renamed = self.renamed_targets(&items);
        self.upsert_batches(&items, full).await?;
        self.relabel_memberships(renamed).await
    }

    /// Hands `items` to the writer [`BATCH`] at a time (bounded memory, small store commits).
    async fn upsert_batches(&mut self, items: &[Upsert], full: bool) -> anyhow::Result<()> {
        for chunk in items.chunks(BATCH) {
            let mut targets = std::mem::take(&mut self.targets);
            let result = self
                .writer()
                .upsert(chunk.to_vec(), full, &mut targets)
                .await;
            self.targets = targets;
            let stats = result?;
            self.processed += stats.written + stats.unchanged;
        }
        Ok(())
    }

    /// Users, groups and devices about to be written under a new label.
    fn renamed_targets(&self, items: &[Upsert]) -> Vec<(ObjectKind, String)> {
        if !self.includes(ObjectKind::Membership) {
            return Vec::new();
        }
        items
            .iter()
            .filter(|u| {
                u.kind.is_reference_target()
                    && u.entry.as_ref().is_some_and(|e| e.label != u.doc.label)
            })
            .map(|u| (u.kind, u.id.clone()))
            .collect()
    }

    /// Memberships are named "Group → Member": renaming either side renames them (Graph's
    /// membership delta says nothing about a rename, so the run must).
    async fn relabel_memberships(
        &mut self,
        renamed: Vec<(ObjectKind, String)>,
    ) -> anyhow::Result<()> {
        let mut upserts: BTreeMap<String, Upsert> = BTreeMap::new();
        for (kind, id) in renamed {
            let mut filters = vec![MapFilter::MembershipsOfMember(id.clone())];
            if kind == ObjectKind::Group {
                filters.push(MapFilter::Prefix {
                    kind: ObjectKind::Membership.word().into(),
                    prefix: format!("{id}:"),
                });
            }
            for filter in filters {
                for entry in self.store().map_select(self.job, &filter)? {
                    let Some((group, member)) = entry.remote_id.split_once(':') else {
                        continue;
                    };
                    let mut doc = Doc::from_json(&entry.doc);
                    let member_kind = doc.values.iter().find_map(|(name, value)| match value {
                        Value::Refs(k, ids)
                            if name != mapping::MEMBERSHIP_GROUP
                                && ids.iter().any(|i| i == member) =>
                        {
                            Some(*k)
                        }
                        _ => None,
                    });
                    let Some(member_kind) = member_kind else {
                        continue;
                    };
                    let label = |k: ObjectKind, id: &str| {
                        self.targets
                            .get(&(k, id.to_owned()))
                            .map(|t| t.label.clone())
                    };
                    let (Some(group_label), Some(member_label)) =
                        (label(ObjectKind::Group, group), label(member_kind, member))
                    else {
                        continue;
                    };
                    doc.label = mapping::membership_label(&group_label, &member_label);
                    if doc.label == entry.label {
                        continue;
                    }
                    upserts.insert(
                        entry.remote_id.clone(),
                        Upsert {
                            kind: ObjectKind::Membership,
                            id: entry.remote_id.clone(),
                            doc,
                            member_id: entry.member_id.clone(),
                            entry: Some(entry),
                        },
                    );
                }
            }
        }
        let upserts: Vec<Upsert> = upserts.into_values().collect();
        self.upsert_batches(&upserts, false).await
    }

    async fn handle_users(
        &mut self,
        items: Vec<DeltaItem<User>>,
        full: bool,
    ) -> anyhow::Result<()> {
        let ids: Vec<&str> = items.iter().map(DeltaItem::id).collect();
        let mut entries = self.entries(ObjectKind::User, &ids)?;
        let mut upserts = Vec::new();
        let mut gone = Vec::new();
        for item in items {
            match item {
                // Property filters were applied by `scope` (out-of-scope users come as removals).
                DeltaItem::Upsert(user)
                    if self
                        .user_scope
                        .as_ref()
                        .is_none_or(|scope| scope.contains(&user.id)) =>
                {
                    let entry = entries.remove(&user.id);
                    let manager_attribute = self.mapping.attribute(ObjectKind::User, "manager");
                    let previous = entry.as_ref().and_then(|e| {
                        let doc = Doc::from_json(&e.doc);
                        manager_attribute.and_then(|a| doc.values.get(a).cloned())
                    });
                    let doc = mapping::user_doc(&self.mapping, &user, previous.as_ref());
                    upserts.push(Upsert {
                        kind: ObjectKind::User,
                        id: user.id.clone(),
                        doc,
                        member_id: None,
                        entry,
                    });
                }
                other => gone.push(other.id().to_owned()),
            }
        }
        self.mark_seen_dry(ObjectKind::User, upserts.iter().map(|u| u.id.clone()));
        for id in gone {
            let entry = entries.remove(&id);
            self.queue_retire(ObjectKind::User, entry);
            self.queue_memberships_of(&id, false)?;
        }
        self.write(upserts, full).await
    }

    /// The users the group filter covers: transitive members of the chosen groups.
    async fn read_user_scope(&mut self) -> anyhow::Result<Option<HashSet<String>>> {
        let groups = self.settings.filters.member_of_groups.clone();
        if groups.is_empty() || !self.includes(ObjectKind::User) {
            return Ok(None);
        }
        let mut scope = HashSet::new();
        for group in &groups {
            let first = match self.graph.list_group_transitive_members(group).await {
                Ok(first) => first,
                Err(error) if error.status() == Some(404) => {
                    return Err(anyhow::Error::new(
                        crosswalk_core::UserFacing::new(
                            crosswalk_core::Code::Validation,
                            format!("The job's user filter names group {group}, which does not exist in Entra; nothing was synced, so no user was retired by mistake."),
                        )
                        .with_fix("Edit the job's filters: pick the group again (its object ID is on its Overview page in the Entra admin center)"),
                    ))
                }
                Err(error) => return Err(graph_error(error)),
            };
            let members = self.graph.collect_pages(first).await.map_err(graph_error)?;
            scope.extend(
                members
                    .into_iter()
                    .filter(|m| {
                        mapping::member_kind(m.odata_type.as_deref()) == Some(ObjectKind::User)
                    })
                    .map(|m| m.id),
            );
        }
        Ok(Some(scope))
    }

    /// After the users round, with a group filter: users who joined a chosen group without any
    /// change to themselves are read and written; users who left every chosen group retire.
    async fn settle_user_scope(&mut self) -> anyhow::Result<()> {
        let Some(scope) = self.user_scope.clone() else {
            return Ok(());
        };
        let known: HashSet<String> = self
            .targets
            .keys()
            .filter(|(k, _)| *k == ObjectKind::User)
            .map(|(_, id)| id.clone())
            .collect();
        let leaving: Vec<String> = known.difference(&scope).cloned().collect();
        for chunk in leaving.chunks(BATCH) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let mut entries = self.entries(ObjectKind::User, &ids)?;
            for id in chunk {
                self.queue_retire(ObjectKind::User, entries.remove(id));
                self.queue_memberships_of(id, false)?;
            }
        }
        let entering: Vec<String> = scope.difference(&known).cloned().collect();
        let select = self
            .scope
            .select(
                ObjectKind::User,
                Some(crosswalk_graph::USER_SELECT.to_owned()),
            )
            .unwrap_or_default();
        let mut upserts = Vec::new();
        for id in entering {
            let found = self.graph.get_user_as::<WithJson<User>>(&id, &select);
            let Some(found) = found.await.map_err(graph_error)? else {
                continue;
            };
            if !self.scope.admits(ObjectKind::User, &found.json) {
                continue;
            }
            let user = found.object;
            let manager = self.graph.get_manager(&id).await.map_err(graph_error)?;
            let manager = manager.map(|m| crate::doc::Value::Refs(ObjectKind::User, vec![m]));
            let doc = mapping::user_doc(&self.mapping, &user, manager.as_ref());
            let entry = self.entries(ObjectKind::User, &[id.as_str()])?.remove(&id);
            upserts.push(Upsert {
                kind: ObjectKind::User,
                id,
                doc,
                member_id: None,
                entry,
            });
        }
        self.write(upserts, false).await
    }

    async fn handle_devices(
        &mut self,
        items: Vec<DeltaItem<Device>>,
        full: bool,
    ) -> anyhow::Result<()> {
        let ids: Vec<&str> = items.iter().map(DeltaItem::id).collect();
        let mut entries = self.entries(ObjectKind::Device, &ids)?;
        let mut upserts = Vec::new();
        let mut gone = Vec::new();
        for item in items {
            match item {
                // Filters were applied by `scope` (out-of-scope devices come as removals).
                DeltaItem::Upsert(device) => {
                    let doc = mapping::device_doc(&self.mapping, &device);
                    upserts.push(Upsert {
                        kind: ObjectKind::Device,
                        entry: entries.remove(&device.id),
                        id: device.id,
                        doc,
                        member_id: None,
                    });
                }
                other => gone.push(other.id().to_owned()),
            }
        }
        self.mark_seen_dry(ObjectKind::Device, upserts.iter().map(|u| u.id.clone()));
        for id in gone {
            let entry = entries.remove(&id);
            self.queue_retire(ObjectKind::Device, entry);
            self.queue_memberships_of(&id, false)?;
        }
        self.write(upserts, full).await
    }

    async fn handle_applications(
        &mut self,
        items: Vec<DeltaItem<Application>>,
        full: bool,
    ) -> anyhow::Result<()> {
        let ids: Vec<&str> = items.iter().map(DeltaItem::id).collect();
        let mut entries = self.entries(ObjectKind::Application, &ids)?;
        let mut apps = Vec::new();
        for item in items {
            match item {
                DeltaItem::Upsert(app) => apps.push(app),
                DeltaItem::Removed { id, .. } => {
                    let entry = entries.remove(&id);
                    self.queue_retire(ObjectKind::Application, entry);
                }
            }
        }
        // Owners are a relationship application delta does not track: read here for the apps
        // that changed, and refreshed for all in bulk by `refresh_owners`.
        let mut owners = if owners::owner_attributes(&self.mapping).is_empty() {
            apps.iter().map(|a| (a.id.clone(), Vec::new())).collect()
        } else {
            self.owners_of(apps.iter().map(|a| a.id.clone()).collect(), full)
                .await?
        };
        let mut upserts = Vec::new();
        for app in apps {
            // Gone between the delta page and the owners read: its removal comes next round.
            let Some(owners) = owners.remove(&app.id) else {
                continue;
            };
            let label = app.display_name.as_deref().unwrap_or(&app.id);
            owners::note_many_owners(&self.ctx, &app.id, label, owners.len());
            let doc = mapping::application_doc(&self.mapping, &app, &owners);
            upserts.push(Upsert {
                kind: ObjectKind::Application,
                entry: entries.remove(&app.id),
                id: app.id,
                doc,
                member_id: None,
            });
        }
        self.mark_seen_dry(
            ObjectKind::Application,
            upserts.iter().map(|u| u.id.clone()),
        );
        self.write(upserts, full).await
    }

    async fn handle_groups(
        &mut self,
        items: Vec<DeltaItem<Group>>,
        full: bool,
    ) -> anyhow::Result<()> {
        let ids: Vec<&str> = items.iter().map(DeltaItem::id).collect();
        let mut entries = self.entries(ObjectKind::Group, &ids)?;
        let mut upserts = Vec::new();
        let mut members: Vec<(String, String, Option<String>)> = Vec::new(); // (group, member, type)
        let mut ended: Vec<String> = Vec::new();
        let memberships = self.includes(ObjectKind::Membership);
        for item in items {
            match item {
                DeltaItem::Upsert(group) => {
                    if memberships {
                        for entry in group.members_delta.iter().flatten() {
                            let id = mapping::membership_id(&group.id, &entry.id);
                            if entry.is_removed() {
                                ended.push(id);
                            } else {
                                members.push((
                                    group.id.clone(),
                                    entry.id.clone(),
                                    entry.odata_type.clone(),
                                ));
                            }
                        }
                    }
                    // A group repeated on a later page with another slice of members: write
                    // it once per page (the hash makes the repeats free).
                    if upserts.iter().any(|u: &Upsert| u.id == group.id) {
                        continue;
                    }
                    let doc = mapping::group_doc(&self.mapping, &group);
                    upserts.push(Upsert {
                        kind: ObjectKind::Group,
                        entry: entries.remove(&group.id),
                        id: group.id,
                        doc,
                        member_id: None,
                    });
                }
                DeltaItem::Removed { id, .. } => {
                    let entry = entries.remove(&id);
                    self.queue_retire(ObjectKind::Group, entry);
                    self.queue_memberships_of(&id, true)?;
                }
            }
        }
        self.mark_seen_dry(ObjectKind::Group, upserts.iter().map(|u| u.id.clone()));
        self.write(upserts, full).await?;
        if !memberships {
            return Ok(());
        }
        // Memberships after their groups, so both references resolve.
        self.write_memberships(&members, full).await?;
        for chunk in ended.chunks(BATCH) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let existing = self.entries(ObjectKind::Membership, &refs)?;
            for entry in existing.into_values() {
                self.queue_retire(ObjectKind::Membership, Some(entry));
            }
        }
        Ok(())
    }

    /// Writes the memberships `(group, member, member @odata.type)` whose member is mirrored (a
    /// member outside the sync's scope is counted, and its stored membership retires); returns
    /// how many were handed to the writer.
    async fn write_memberships(
        &mut self,
        members: &[(String, String, Option<String>)],
        full: bool,
    ) -> anyhow::Result<usize> {
        let mut handed = 0;
        for chunk in members.chunks(BATCH) {
            let ids: Vec<String> = chunk
                .iter()
                .map(|(g, m, _)| mapping::membership_id(g, m))
                .collect();
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut existing = self.entries(ObjectKind::Membership, &refs)?;
            let mut upserts = Vec::new();
            for ((group, member, odata_type), id) in chunk.iter().zip(ids) {
                let member_kind =
                    mapping::member_kind(odata_type.as_deref()).filter(|k| self.includes(*k));
                let member_target =
                    member_kind.and_then(|k| self.targets.get(&(k, member.clone())));
                let (Some(member_kind), Some(member_target)) = (member_kind, member_target) else {
                    self.skipped_members += 1;
                    if let Some(entry) = existing.remove(&id) {
                        // The member left the sync's scope: the membership goes too.
                        self.queue_retire(ObjectKind::Membership, Some(entry));
                    }
                    continue;
                };
                let group_label = self
                    .targets
                    .get(&(ObjectKind::Group, group.clone()))
                    .map_or_else(|| group.clone(), |t| t.label.clone());
                let doc = mapping::membership_doc(
                    group,
                    &group_label,
                    member_kind,
                    member,
                    &member_target.label,
                );
                upserts.push(Upsert {
                    kind: ObjectKind::Membership,
                    entry: existing.remove(&id),
                    id,
                    doc,
                    member_id: Some(member.clone()),
                });
            }
            self.mark_seen_dry(ObjectKind::Membership, upserts.iter().map(|u| u.id.clone()));
            handed += upserts.len();
            self.write(upserts, full).await?;
        }
        Ok(handed)
    }

    /// Intune devices have no delta: a `lastSyncDateTime` pass each run, a full listing daily
    /// (the only way removals show).
    async fn managed_devices(&mut self) -> anyhow::Result<()> {
        let kind = ObjectKind::ManagedDevice;
        let stored: ManagedCursor = self
            .store()
            .get_cursor(self.job, kind.cursor())?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let mut full = stored
            .full_at
            .is_none_or(|at| self.now - at >= MANAGED_FULL_EVERY);
        if !full && self.scope.changed(self.store(), self.job, kind)? {
            self.ctx
                .event(RunEvent::info(scope::full_round_notice(kind)));
            full = true;
        }
        let filter = match (full, stored.since) {
            (false, Some(since)) => (since - MANAGED_OVERLAP)
                .format(&Rfc3339)
                .ok()
                .map(|at| format!("lastSyncDateTime gt {at}")),
            _ => None,
        };
        let graph_error = graph_error;
        let select = self
            .scope
            .select(kind, None)
            .unwrap_or_else(|| crosswalk_graph::MANAGED_DEVICE_SELECT.to_owned());
        let mut page = self
            .graph
            .list_managed_devices_as::<WithJson<crosswalk_graph::ManagedDevice>>(
                filter.as_deref(),
                &select,
            )
            .await
            .map_err(graph_error)?;
        let mut read = 0u64;
        loop {
            read += page.items.len() as u64;
            let ids: Vec<&str> = page.items.iter().map(|d| d.object.id.as_str()).collect();
            let mut entries = self.entries(kind, &ids)?;
            let mut upserts = Vec::new();
            for WithJson {
                object: device,
                json,
            } in &page.items
            {
                if !self.scope.admits(kind, json) {
                    let entry = entries.remove(&device.id);
                    self.queue_retire(kind, entry);
                    continue;
                }
                upserts.push(Upsert {
                    kind,
                    id: device.id.clone(),
                    doc: mapping::managed_device_doc(&self.mapping, device),
                    member_id: None,
                    entry: entries.remove(&device.id),
                });
            }
            self.mark_seen_dry(kind, upserts.iter().map(|u| u.id.clone()));
            self.write(upserts, full).await?;
            self.progress(kind, read, None);
            if self.ctx.is_cancelled() {
                return Ok(());
            }
            match page.next {
                Some(next) => page = self.graph.next_page(&next).await.map_err(graph_error)?,
                None => break,
            }
        }
        if full {
            self.retire_unseen(kind)?;
        }
        if !self.ctx.dry_run {
            let cursor = ManagedCursor {
                full_at: if full { Some(self.now) } else { stored.full_at },
                since: Some(self.now),
            };
            self.store()
                .set_cursor(self.job, kind.cursor(), &serde_json::to_string(&cursor)?)?;
            self.scope.remember(self.store(), self.job, kind)?;
        }
        Ok(())
    }

    /// After a full round: every active object of `kind` the round did not see left Entra.
    fn retire_unseen(&mut self, kind: ObjectKind) -> anyhow::Result<()> {
        let unseen = self.store().map_select(
            self.job,
            &MapFilter::Unseen {
                kind: kind.word().into(),
                run: self.run,
            },
        )?;
        let seen_dry = self.dry_seen.remove(&kind).unwrap_or_default();
        for entry in unseen {
            if self.ctx.dry_run && seen_dry.contains(&entry.remote_id) {
                continue;
            }
            self.queue_retire(kind, Some(entry));
        }
        Ok(())
    }

    /// Objects written before their reference targets existed (a manager later on the same
    /// pages): rewrite them once every target is in Assets.
    async fn complete_references(&mut self) -> anyhow::Result<()> {
        if self.ctx.dry_run {
            return Ok(());
        }
        let pending = self.store().map_select(self.job, &MapFilter::Unresolved)?;
        let mut upserts = Vec::new();
        for entry in pending {
            let Some(kind) = ObjectKind::from_word(&entry.kind) else {
                continue;
            };
            let doc = Doc::from_json(&entry.doc);
            let ready = doc.references().all(|(k, id)| {
                self.targets
                    .get(&(k, id.to_owned()))
                    .is_some_and(|t| t.assets_id.is_some())
            });
            if ready {
                upserts.push(Upsert {
                    kind,
                    id: entry.remote_id.clone(),
                    doc,
                    member_id: entry.member_id.clone(),
                    entry: Some(entry),
                });
            }
        }
        self.write(upserts, false).await
    }

    /// Retires what left Entra, unless a kind would lose more than the configured share at
    /// once: then nothing of that kind is retired until the admin confirms.
    async fn retire_with_guard(&mut self) -> anyhow::Result<()> {
        let confirmed = !self.ctx.dry_run
            && self
                .store()
                .get_setting::<bool>(&confirm_key(self.job))?
                .unwrap_or(false);
        let mut held_before: BTreeMap<ObjectKind, Vec<MapEntry>> = BTreeMap::new();
        for entry in self.store().map_select(self.job, &MapFilter::Missing)? {
            if let Some(kind) = ObjectKind::from_word(&entry.kind) {
                held_before.entry(kind).or_default().push(entry);
            }
        }
        let candidates = std::mem::take(&mut self.retire);
        // Counting reads every entry of the job: only when something is to be retired.
        let counts = if candidates.is_empty() && held_before.is_empty() {
            crosswalk_store::MapCounts::default()
        } else {
            self.store().map_counts(self.job)?
        };
        let mut kinds: Vec<ObjectKind> = candidates
            .keys()
            .chain(held_before.keys())
            .copied()
            .collect();
        kinds.sort();
        kinds.dedup();
        let retire = &self.settings.retire;
        for kind in kinds {
            let mut entries: BTreeMap<String, MapEntry> =
                candidates.get(&kind).cloned().unwrap_or_default();
            if confirmed {
                for entry in held_before.get(&kind).into_iter().flatten() {
                    entries
                        .entry(entry.remote_id.clone())
                        .or_insert_with(|| entry.clone());
                }
            }
            if entries.is_empty() {
                continue;
            }
            let active = counts.get(kind.word()).map_or(0, |(active, _)| *active);
            let n = entries.len() as u64;
            let over_share = n * 100 > active * u64::from(retire.max_share_percent);
            if n > u64::from(retire.guard_floor) && over_share && !confirmed {
                let share = (n * 100).checked_div(active).unwrap_or(100);
                if !self.ctx.dry_run {
                    let holds: Vec<MapChange> = entries
                        .into_values()
                        .map(|mut entry| {
                            entry.missing_since.get_or_insert(self.now);
                            MapChange::Put(entry)
                        })
                        .collect();
                    self.store().map_apply(self.job, &holds)?;
                }
                self.ctx.event(
                    RunEvent::object(
                        kind.word(),
                        "",
                        kind.plural(),
                        EventAction::Skipped,
                        format!(
                            "Held back: {n} of {active} {} ({share}%) are gone from Entra, more than the {}% this job may retire in one run. Nothing was retired.",
                            kind.plural(),
                            retire.max_share_percent
                        ),
                    )
                    .with_fix(format!(
                        "If the removals are intended, confirm them: click \"Confirm retirements\" on the job, or run `crosswalk sync {} --confirm-retirements`. If not, check the job's filters and the Entra connection (a wrong tenant or a new filter makes objects look deleted).",
                        self.ctx.job.name
                    )),
                );
                continue;
            }
            let mut targets = std::mem::take(&mut self.targets);
            let result = self
                .writer()
                .retire(entries.into_values().collect(), &mut targets)
                .await;
            self.targets = targets;
            result?;
        }
        if confirmed {
            self.store().delete_setting(&confirm_key(self.job))?;
        }
        Ok(())
    }

    /// Hard delete after N days, when the admin chose it.
    async fn hard_delete(&mut self) -> anyhow::Result<()> {
        if self.settings.retire.mode != RetireMode::Delete {
            return Ok(());
        }
        let cutoff = self.now - Duration::days(i64::from(self.settings.retire.delete_after_days));
        for kind in self.kinds.clone() {
            let expired = self.store().map_select(
                self.job,
                &MapFilter::RemovedBefore {
                    kind: kind.word().into(),
                    cutoff,
                },
            )?;
            if expired.is_empty() {
                continue;
            }
            let mut targets = std::mem::take(&mut self.targets);
            let result = self.writer().delete(expired, &mut targets).await;
            self.targets = targets;
            result?;
        }
        Ok(())
    }
}
