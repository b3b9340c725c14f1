//! Delta queries for users, groups and applications (api/microsoft.md §C): initial rounds,
//! incremental rounds from a persisted delta link, `@removed`, `members@delta` split over pages,
//! `manager@delta`, and expired links mapped to [`Error::ResyncRequired`].

use crate::models::RefChange;
use crate::{
    encode, Application, Device, Envelope, Error, GraphClient, Group, Resource, Result, User,
};
use crate::{APPLICATION_SELECT, DEVICE_SELECT, GROUP_DELTA_SELECT, USER_DELTA_SELECT};
use crosswalk_http::{RequestSpec, Response, StatusCode};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

/// Where a delta round starts.
#[derive(Debug, Clone)]
pub enum DeltaStart {
    /// A full round; `select` overrides the type's default `$select` (which decides what is
    /// tracked: unselected properties never produce changes).
    Initial { select: Option<String> },
    /// The changes since the round that produced this link.
    Link(DeltaLink),
}

/// A finished round's `@odata.deltaLink`: opaque, persisted by the caller, valid about 7 days.
#[derive(Clone, PartialEq, Eq)]
pub struct DeltaLink(String);

impl DeltaLink {
    /// Restores a link read back from storage.
    pub fn new(link: impl Into<String>) -> DeltaLink {
        DeltaLink(link.into())
    }

    /// The link, for storing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeltaLink {
    // The query holds the delta token; keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeltaLink([opaque])")
    }
}

/// Why an object left the collection (`@removed.reason`). Both mean "remove from the active set".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedReason {
    /// Soft-deleted (restorable for 30 days): what an ordinary deletion in the portal produces.
    Changed,
    /// Hard-deleted (also used for any reason Graph may add later).
    Deleted,
}

/// One change in a delta round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaItem<T> {
    /// Created or changed (all selected properties, changed or not).
    Upsert(T),
    /// Deleted or otherwise gone from the collection.
    Removed { id: String, reason: RemovedReason },
}

impl<T: DeltaEntity> DeltaItem<T> {
    /// The object ID the change is about.
    pub fn id(&self) -> &str {
        match self {
            DeltaItem::Upsert(item) => item.id(),
            DeltaItem::Removed { id, .. } => id,
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for DeltaItem<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        if let Some(removed) = map.remove("@removed") {
            let id = map
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| D::Error::missing_field("id"))?
                .to_owned();
            let changed = removed
                .get("reason")
                .and_then(Value::as_str)
                .is_some_and(|r| r.eq_ignore_ascii_case("changed"));
            let reason = if changed {
                RemovedReason::Changed
            } else {
                RemovedReason::Deleted
            };
            return Ok(DeltaItem::Removed { id, reason });
        }
        T::deserialize(Value::Object(map))
            .map(DeltaItem::Upsert)
            .map_err(D::Error::custom)
    }
}

/// A Graph type with a delta function this client reads.
pub trait DeltaEntity: DeserializeOwned + Send + 'static {
    /// Its collection (for routes and the permission named on 403).
    const RESOURCE: Resource;
    /// Path of the delta function under the Graph root.
    const PATH: &'static str;
    /// `$select` of an initial round when the caller gives none.
    const DEFAULT_SELECT: &'static str;
    /// The object ID.
    fn id(&self) -> &str;
    /// Folds a later entry for the same object into this one (properties: later wins;
    /// `members@delta` / `manager@delta`: combined, later entries win per referenced ID).
    fn merge(&mut self, later: Self);
}

fn merge_refs(
    earlier: Option<Vec<RefChange>>,
    later: Option<Vec<RefChange>>,
) -> Option<Vec<RefChange>> {
    match (earlier, later) {
        (Some(mut all), Some(later)) => {
            for entry in later {
                all.retain(|e| e.id != entry.id);
                all.push(entry);
            }
            Some(all)
        }
        (earlier, later) => later.or(earlier),
    }
}

impl DeltaEntity for User {
    const RESOURCE: Resource = Resource::Users;
    const PATH: &'static str = "/v1.0/users/delta";
    const DEFAULT_SELECT: &'static str = USER_DELTA_SELECT;
    fn id(&self) -> &str {
        &self.id
    }
    fn merge(&mut self, mut later: Self) {
        later.manager_delta = merge_refs(self.manager_delta.take(), later.manager_delta);
        *self = later;
    }
}

impl DeltaEntity for Group {
    const RESOURCE: Resource = Resource::Groups;
    const PATH: &'static str = "/v1.0/groups/delta";
    const DEFAULT_SELECT: &'static str = GROUP_DELTA_SELECT;
    fn id(&self) -> &str {
        &self.id
    }
    fn merge(&mut self, mut later: Self) {
        later.members_delta = merge_refs(self.members_delta.take(), later.members_delta);
        *self = later;
    }
}

impl DeltaEntity for Application {
    const RESOURCE: Resource = Resource::Applications;
    const PATH: &'static str = "/v1.0/applications/delta";
    const DEFAULT_SELECT: &'static str = APPLICATION_SELECT;
    fn id(&self) -> &str {
        &self.id
    }
    fn merge(&mut self, later: Self) {
        *self = later;
    }
}

impl DeltaEntity for Device {
    const RESOURCE: Resource = Resource::Devices;
    const PATH: &'static str = "/v1.0/devices/delta";
    const DEFAULT_SELECT: &'static str = DEVICE_SELECT;
    fn id(&self) -> &str {
        &self.id
    }
    fn merge(&mut self, later: Self) {
        *self = later;
    }
}

/// One page of a delta round.
#[derive(Debug)]
pub struct DeltaPage<T> {
    /// Changes as Graph sent them: one object may appear again on later pages (merge them).
    pub items: Vec<DeltaItem<T>>,
    pub next: DeltaNext<T>,
}

/// What follows a delta page.
#[derive(Debug)]
pub enum DeltaNext<T> {
    /// More pages of this round: follow with [`GraphClient::delta_next_page`].
    More(DeltaNextLink<T>),
    /// The round is complete; persist the link for the next round.
    Done(DeltaLink),
}

/// An `@odata.nextLink` inside a delta round (opaque).
pub struct DeltaNextLink<T> {
    url: String,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for DeltaNextLink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeltaNextLink([opaque])")
    }
}

/// A whole delta round, merged: each object once, in first-seen order.
#[derive(Debug)]
pub struct DeltaRound<T> {
    pub items: Vec<DeltaItem<T>>,
    /// Persist this and start the next round from it.
    pub delta_link: DeltaLink,
}

/// Merges the entries of a round by object ID, so a group repeated on several pages with
/// slices of `members@delta` comes out once with all of them, and a replayed change once.
#[derive(Debug)]
pub struct DeltaMerger<T> {
    items: Vec<DeltaItem<T>>,
    index: HashMap<String, usize>,
}

impl<T> Default for DeltaMerger<T> {
    fn default() -> Self {
        DeltaMerger {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: DeltaEntity> DeltaMerger<T> {
    /// An empty merger.
    pub fn new() -> DeltaMerger<T> {
        DeltaMerger::default()
    }

    /// Adds one entry: a later upsert folds into an earlier one; otherwise the later entry wins
    /// (removed after upsert = removed; upsert after removed = restored).
    pub fn push(&mut self, item: DeltaItem<T>) {
        let id = item.id().to_owned();
        match self.index.get(&id) {
            Some(&i) => match (&mut self.items[i], item) {
                (DeltaItem::Upsert(earlier), DeltaItem::Upsert(later)) => earlier.merge(later),
                (slot, item) => *slot = item,
            },
            None => {
                self.index.insert(id, self.items.len());
                self.items.push(item);
            }
        }
    }

    /// The merged entries, in first-seen order.
    pub fn finish(self) -> Vec<DeltaItem<T>> {
        self.items
    }
}

impl GraphClient {
    /// First page of a delta round over users (with `manager@delta`).
    ///
    /// # Errors
    /// See [`GraphClient::delta`].
    pub async fn users_delta(&self, start: DeltaStart) -> Result<DeltaPage<User>> {
        self.delta(start).await
    }

    /// First page of a delta round over groups (with `members@delta`).
    ///
    /// # Errors
    /// See [`GraphClient::delta`].
    pub async fn groups_delta(&self, start: DeltaStart) -> Result<DeltaPage<Group>> {
        self.delta(start).await
    }

    /// First page of a delta round over app registrations.
    ///
    /// # Errors
    /// See [`GraphClient::delta`].
    pub async fn applications_delta(&self, start: DeltaStart) -> Result<DeltaPage<Application>> {
        self.delta(start).await
    }

    /// First page of a delta round over `T`, initial or from a persisted link.
    ///
    /// # Errors
    /// `ResyncRequired` when Graph no longer accepts the link (410, or a 400 such as
    /// `syncStateNotFound`/`resyncRequired`); `PermissionMissing` on 403; `Http` otherwise.
    pub async fn delta<T: DeltaEntity>(&self, start: DeltaStart) -> Result<DeltaPage<T>> {
        match start {
            DeltaStart::Initial { select } => {
                let select = select.as_deref().unwrap_or(T::DEFAULT_SELECT);
                let target = format!("{}?$select={}", T::PATH, encode(select));
                self.delta_get(target, false).await
            }
            DeltaStart::Link(link) => self.delta_get(link.0, true).await,
        }
    }

    /// The next page of a delta round, following the link verbatim.
    ///
    /// # Errors
    /// As [`GraphClient::delta`]; an expired page token is `ResyncRequired` too.
    pub async fn delta_next_page<T: DeltaEntity>(
        &self,
        link: &DeltaNextLink<T>,
    ) -> Result<DeltaPage<T>> {
        self.delta_get(link.url.clone(), true).await
    }

    /// Follows a round from `first` to its delta link, merging entries per object.
    ///
    /// # Errors
    /// The first page that fails.
    pub async fn collect_delta<T: DeltaEntity>(
        &self,
        first: DeltaPage<T>,
    ) -> Result<DeltaRound<T>> {
        let mut merger = DeltaMerger::new();
        let mut page = first;
        loop {
            page.items.into_iter().for_each(|item| merger.push(item));
            match page.next {
                DeltaNext::More(link) => page = self.delta_next_page(&link).await?,
                DeltaNext::Done(delta_link) => {
                    return Ok(DeltaRound {
                        items: merger.finish(),
                        delta_link,
                    })
                }
            }
        }
    }

    /// One delta request. On links Graph minted (`continuation`), 400 and 410 mean the link
    /// is no longer usable (§C.5: treat 410, any `syncState*`/`resync*` code, and any 400 on a
    /// stored link as "start over").
    async fn delta_get<T: DeltaEntity>(
        &self,
        target: String,
        continuation: bool,
    ) -> Result<DeltaPage<T>> {
        let mut spec = RequestSpec::get(T::PATH, target);
        if continuation {
            spec = spec
                .allow_status(StatusCode::BAD_REQUEST)
                .allow_status(StatusCode::GONE);
        }
        let response = self
            .http
            .send(spec)
            .await
            .map_err(|error| T::RESOURCE.map_err(error))?;
        if matches!(
            response.status(),
            StatusCode::BAD_REQUEST | StatusCode::GONE
        ) {
            return Err(resync(T::RESOURCE, &response));
        }
        let envelope: Envelope<DeltaItem<T>> = response.json()?;
        let next = match (envelope.next_link, envelope.delta_link) {
            (Some(url), _) => DeltaNext::More(DeltaNextLink {
                url,
                _item: PhantomData,
            }),
            (None, Some(link)) => DeltaNext::Done(DeltaLink(link)),
            (None, None) => {
                return Err(Error::IncompleteDelta {
                    resource: T::RESOURCE.name(),
                })
            }
        };
        Ok(DeltaPage {
            items: envelope.value,
            next,
        })
    }
}

/// `ResyncRequired` with Graph's error code (letters only, so no token or URL can leak).
fn resync(resource: Resource, response: &Response) -> Error {
    let code = serde_json::from_slice::<Value>(response.body())
        .ok()
        .and_then(|body| {
            body.pointer("/error/code")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .map(|code| {
            code.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(60)
                .collect::<String>()
        })
        .filter(|code| !code.is_empty());
    let status = response.status().as_u16();
    let reason = match code {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    };
    tracing::info!(
        message = "Graph refused a delta link; a full round is needed.",
        resource = resource.name(),
        reason = %reason,
    );
    Error::ResyncRequired {
        resource: resource.name(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_page(json: &str) -> Vec<DeltaItem<Group>> {
        serde_json::from_str::<Envelope<DeltaItem<Group>>>(json)
            .expect("valid delta page")
            .value
    }

    #[test]
    fn group_repeated_across_pages_merges_member_slices() {
        let mut merger = DeltaMerger::new();
        for page in [
            r#"{"value":[{"id":"g1","displayName":"A","members@delta":[{"id":"u1"},{"id":"u2"}]},
                          {"id":"g2","@removed":{"reason":"changed"}}]}"#,
            r#"{"value":[{"id":"g1","displayName":"A","members@delta":[{"id":"u3"},
                          {"id":"u1","@removed":{"reason":"deleted"}}]}]}"#,
        ] {
            group_page(page).into_iter().for_each(|i| merger.push(i));
        }
        let items = merger.finish();
        assert_eq!(items.len(), 2);
        let DeltaItem::Upsert(g1) = &items[0] else {
            panic!("g1 should be an upsert: {items:?}")
        };
        assert_eq!(g1.members_added().collect::<Vec<_>>(), ["u2", "u3"]);
        assert_eq!(g1.members_removed().collect::<Vec<_>>(), ["u1"]);
        assert_eq!(
            items[1],
            DeltaItem::Removed {
                id: "g2".into(),
                reason: RemovedReason::Changed
            }
        );
    }

    #[test]
    fn removed_after_upsert_wins_and_upsert_after_removed_restores() {
        let mut merger = DeltaMerger::new();
        for item in group_page(
            r#"{"value":[{"id":"g1"},{"id":"g1","@removed":{"reason":"deleted"}},
                         {"id":"g2","@removed":{}},{"id":"g2","displayName":"back"}]}"#,
        ) {
            merger.push(item);
        }
        let items = merger.finish();
        assert!(matches!(
            &items[0],
            DeltaItem::Removed {
                reason: RemovedReason::Deleted,
                ..
            }
        ));
        assert!(
            matches!(&items[1], DeltaItem::Upsert(g) if g.display_name.as_deref() == Some("back"))
        );
    }
}
