//! Memberships of objects that entered the sync's scope in an incremental round.
//!
//! Memberships come only from the groups round's `members@delta`, and an incremental delta round
//! reports only the memberships that changed. A user, device or group that starts matching the
//! job's filters (its department changed so the OData filter matches, it was re-enabled, a group
//! became a Microsoft 365 group) is created in Assets by its own round, but its memberships did
//! not change, so no incremental groups round would ever report them. So after the kinds'
//! rounds, every user, device and group this run created in Assets or brought back from "Removed"
//! has its memberships read directly: the groups it is a direct member of (`memberOf` cast to
//! groups) and, for a group, its members. Pairs whose both sides are mirrored are written as the
//! groups round writes them; pairs already mirrored (the groups round wrote them this run, or
//! earlier) are skipped.
//!
//! Only a kind the job filters has objects that enter its scope without being new to Entra, so
//! a new object of an unfiltered kind is left to the groups delta, which reports all its
//! memberships. In a filtered kind a new object is read too: nothing tells it apart from one that
//! entered the scope, and one that entered and also joined a group since the last run would
//! otherwise keep only the new membership. Nothing is read when the groups round was a full one
//! (it reported every membership) or nothing entered. Objects noted in an incremental round wait
//! in a cursor until their memberships are read, so a run stopped in between, or one Graph
//! refused (a user's memberships need Directory.Read.All), leaves them to the next run; one
//! refusal per kind is enough to know, so the rest of that kind is not asked.

use super::{graph_error, Sync, BATCH};
use crate::kinds::ObjectKind;
use crate::mapping;
use crate::writer::Upsert;
use crosswalk_core::EventLevel;
use crosswalk_engine::RunEvent;
use crosswalk_graph::{GraphClient, MemberOf};
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The cursor holding objects whose memberships are still to be read (JSON list of kind + id).
const CURSOR: &str = "memberships.entered";

/// A `(group, member, member's @odata.type)` membership as the groups round handles it.
type Pair = (String, String, Option<String>);

/// What the run noted about objects entering the scope.
#[derive(Debug, Default)]
pub(super) struct Entered {
    /// Users, devices and groups created or brought back by this run (plus the cursor's, once
    /// `loaded`).
    objects: BTreeSet<(ObjectKind, String)>,
    loaded: bool,
    /// A full groups round ran this run: it reported every membership.
    groups_full: bool,
}

/// What the reads gave: the memberships found, the objects to read again next run, Graph's
/// refusals (per permission: how many objects, one error) and the first other failure.
#[derive(Default)]
struct Reads {
    pairs: BTreeMap<String, Pair>,
    unread: BTreeSet<(ObjectKind, String)>,
    denied: BTreeMap<&'static str, (u64, crosswalk_graph::Error)>,
    failure: Option<crosswalk_graph::Error>,
}

impl Reads {
    /// Takes one object's result; the permission Graph found missing, if it refused.
    fn record(
        &mut self,
        object: (ObjectKind, String),
        result: Result<Vec<Pair>, crosswalk_graph::Error>,
    ) -> Option<&'static str> {
        let refused = match result {
            Ok(read) => {
                for pair in read {
                    self.pairs
                        .insert(mapping::membership_id(&pair.0, &pair.1), pair);
                }
                return None;
            }
            Err(error @ crosswalk_graph::Error::PermissionMissing { permission, .. }) => {
                self.denied.entry(permission).or_insert((0, error)).0 += 1;
                Some(permission)
            }
            Err(error) => {
                self.failure.get_or_insert(error);
                None
            }
        };
        self.unread.insert(object);
        refused
    }

    /// `objects` are not asked: Graph already refused their kind for `permission`.
    fn refused(&mut self, permission: &'static str, objects: Vec<(ObjectKind, String)>) {
        if let Some((count, _)) = self.denied.get_mut(permission) {
            *count += objects.len() as u64;
        }
        self.unread.extend(objects);
    }
}

/// The `@odata.type` of a mirrored kind, as `mapping::member_kind` reads it.
fn odata_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Group => "#microsoft.graph.group",
        ObjectKind::Device => "#microsoft.graph.device",
        _ => "#microsoft.graph.user",
    }
}

/// The memberships of one object: the groups it is directly in, and a group's own members.
/// An object deleted since it was written (404) has none.
async fn read_one(
    graph: GraphClient,
    kind: ObjectKind,
    id: String,
) -> Result<Vec<Pair>, crosswalk_graph::Error> {
    let of = match kind {
        ObjectKind::User => MemberOf::User,
        ObjectKind::Device => MemberOf::Device,
        _ => MemberOf::Group,
    };
    let mut pairs = Vec::new();
    let first = match graph.list_member_of_groups(of, &id).await {
        Ok(first) => first,
        Err(error) if error.status() == Some(404) => return Ok(pairs),
        Err(error) => return Err(error),
    };
    for group in graph.collect_pages(first).await? {
        pairs.push((group.id, id.clone(), Some(odata_type(kind).to_owned())));
    }
    if kind == ObjectKind::Group {
        let first = match graph.list_group_members(&id).await {
            Ok(first) => first,
            Err(error) if error.status() == Some(404) => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        for member in graph.collect_pages(first).await? {
            pairs.push((id.clone(), member.id, member.odata_type));
        }
    }
    Ok(pairs)
}

impl Sync {
    /// Notes the users, devices and groups among `items` that have no Assets object yet or come
    /// back from "Removed" (called for every write), and whether a full groups round is writing.
    pub(super) fn note_entered(&mut self, items: &[Upsert], full: bool) -> anyhow::Result<()> {
        if !self.includes(ObjectKind::Membership) {
            return Ok(());
        }
        if full && items.iter().any(|u| u.kind == ObjectKind::Group) {
            self.entered.groups_full = true;
        }
        let before = self.entered.objects.len();
        let noted: Vec<(ObjectKind, String)> = items
            .iter()
            .filter(|u| u.kind.is_reference_target())
            .filter(|u| match &u.entry {
                None => self.filters(u.kind),
                Some(entry) => entry.removed_at.is_some(),
            })
            .map(|u| (u.kind, u.id.clone()))
            .collect();
        self.entered.objects.extend(noted);
        // Kept for a stopped run only from incremental rounds: a full one (a first run) may create
        // every object, and the groups round that follows it is full too.
        if full || self.ctx.dry_run || self.entered.objects.len() == before {
            return Ok(());
        }
        self.load_entered()?;
        let text = serde_json::to_string(&self.entered.objects)?;
        self.store().set_cursor(self.job, CURSOR, &text)?;
        Ok(())
    }

    /// Adds the objects a stopped run left in the cursor.
    fn load_entered(&mut self) -> anyhow::Result<()> {
        if self.entered.loaded {
            return Ok(());
        }
        self.entered.loaded = true;
        if let Some(text) = self.store().get_cursor(self.job, CURSOR)? {
            let stored: Vec<(ObjectKind, String)> = serde_json::from_str(&text).unwrap_or_default();
            self.entered.objects.extend(stored);
        }
        Ok(())
    }

    /// Whether the job narrows which objects of `kind` it mirrors, so that an object can enter
    /// the scope without being new to Entra.
    fn filters(&self, kind: ObjectKind) -> bool {
        let filters = &self.settings.filters;
        let odata = !filters.odata.get(kind).is_empty();
        match kind {
            ObjectKind::User => {
                odata
                    || !filters.user_types.is_empty()
                    || filters.skip_disabled_users
                    || !filters.member_of_groups.is_empty()
            }
            ObjectKind::Device => odata || !filters.device_platforms.is_empty(),
            _ => odata,
        }
    }

    /// Whether `id` is mirrored and stays so this run.
    fn stays(&self, kind: ObjectKind, id: &str) -> bool {
        self.targets.contains_key(&(kind, id.to_owned()))
            && !self.retire.get(&kind).is_some_and(|r| r.contains_key(id))
    }

    /// Reads and writes the memberships of the objects that entered the sync's scope in an
    /// incremental round (see the module docs); a dry run plans them.
    pub(super) async fn add_memberships_of_entered(&mut self) -> anyhow::Result<()> {
        if !self.includes(ObjectKind::Membership) || self.ctx.is_cancelled() {
            return Ok(());
        }
        self.load_entered()?;
        let noted = std::mem::take(&mut self.entered.objects);
        if noted.is_empty() {
            return Ok(());
        }
        if self.entered.groups_full {
            return self.keep_entered(&BTreeSet::new());
        }
        let objects: Vec<(ObjectKind, String)> = noted
            .into_iter()
            .filter(|(kind, id)| self.stays(*kind, id))
            .collect();
        if objects.is_empty() {
            return self.keep_entered(&BTreeSet::new());
        }
        let total = objects.len() as u64;
        self.ctx.progress(
            0,
            total,
            &format!("Reading the memberships of {total} objects that entered the sync's scope"),
        );
        let mut by_kind: BTreeMap<ObjectKind, Vec<String>> = BTreeMap::new();
        for (kind, id) in objects {
            by_kind.entry(kind).or_default().push(id);
        }
        let mut reads = Reads::default();
        let mut done = 0;
        for (kind, ids) in by_kind {
            let mut ids = ids.into_iter();
            // One object first: a missing permission costs one request, not one per object.
            let Some(first) = ids.next() else { continue };
            let result = read_one(self.graph.clone(), kind, first.clone()).await;
            done += 1;
            if let Some(permission) = reads.record((kind, first), result) {
                reads.refused(permission, ids.map(|id| (kind, id)).collect());
                continue;
            }
            let graph = self.graph.clone();
            let mut rest = stream::iter(ids)
                .map(|id| {
                    let graph = graph.clone();
                    async move { (id.clone(), read_one(graph, kind, id).await) }
                })
                .buffered(crosswalk_graph::GRAPH_CONCURRENCY);
            while let Some((id, result)) = rest.next().await {
                done += 1;
                self.ctx.progress(
                    done,
                    total,
                    "Reading the memberships of objects that entered the sync's scope",
                );
                reads.record((kind, id), result);
                if self.ctx.is_cancelled() {
                    // The cursor still holds what was noted: the next run reads it.
                    return Ok(());
                }
            }
        }
        let Reads {
            pairs,
            unread,
            denied,
            failure,
        } = reads;
        let added = self.write_entered_pairs(pairs).await?;
        let objects = if total == 1 { "object" } else { "objects" };
        let memberships = if added == 1 {
            "membership"
        } else {
            "memberships"
        };
        self.ctx.event(RunEvent::info(format!(
            "{total} {objects} entered the sync's scope: {added} {memberships} {}.",
            if self.ctx.dry_run {
                "would be added"
            } else {
                "added"
            }
        )));
        for (count, error) in denied.into_values() {
            let facing = error.user_facing();
            let mut event = RunEvent::info(format!(
                "The memberships of {count} objects that entered the sync's scope were not read (they are read again next run): {}",
                facing.message
            ))
            .with_level(EventLevel::Warn);
            event.fix = facing.fix;
            self.ctx.event(event);
        }
        self.keep_entered(&unread)?;
        match failure {
            Some(error) => Err(graph_error(error)),
            None => Ok(()),
        }
    }

    /// Writes the pairs whose group is mirrored and stays, whose member stays, and which are not
    /// mirrored yet; returns how many were written (or planned).
    async fn write_entered_pairs(
        &mut self,
        pairs: BTreeMap<String, Pair>,
    ) -> anyhow::Result<usize> {
        let planned: HashSet<String> = self
            .dry_seen
            .get(&ObjectKind::Membership)
            .cloned()
            .unwrap_or_default();
        let mut fresh: Vec<Pair> = Vec::new();
        let candidates: Vec<(String, Pair)> = pairs
            .into_iter()
            .filter(|(id, (group, member, odata_type))| {
                let member_kind = mapping::member_kind(odata_type.as_deref());
                !planned.contains(id)
                    && self.stays(ObjectKind::Group, group)
                    && member_kind.is_none_or(|k| {
                        !self.retire.get(&k).is_some_and(|r| r.contains_key(member))
                    })
            })
            .collect();
        for chunk in candidates.chunks(BATCH) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let mirrored = self.entries(ObjectKind::Membership, &ids)?;
            fresh.extend(
                chunk
                    .iter()
                    .filter(|(id, _)| {
                        !mirrored
                            .get(id)
                            .is_some_and(|e| e.target_id.is_some() && e.removed_at.is_none())
                    })
                    .map(|(_, pair)| pair.clone()),
            );
        }
        self.write_memberships(&fresh, false).await
    }

    /// Leaves `objects` in the cursor for the next run (clears it when empty).
    fn keep_entered(&self, objects: &BTreeSet<(ObjectKind, String)>) -> anyhow::Result<()> {
        if self.ctx.dry_run {
            return Ok(());
        }
        if objects.is_empty() {
            self.store().delete_cursor(self.job, CURSOR)?;
        } else {
            let text = serde_json::to_string(objects)?;
            self.store().set_cursor(self.job, CURSOR, &text)?;
        }
        Ok(())
    }
}
