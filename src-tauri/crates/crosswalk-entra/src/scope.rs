//! Which Entra objects a job mirrors, decided in one place: the job's property filters (user
//! types, disabled accounts, device platforms) and its OData `$filter` per kind, evaluated on the
//! JSON Graph returned for each object.
//!
//! Graph delta queries accept no `$filter` but `id eq '…'` (api/microsoft.md §C.3), so every
//! delta round (and Intune pass) reads all objects; an object that does not match is handed on as
//! removed and retires like a deleted one, one that starts matching is created. The properties a
//! filter names are added to `$select`, because delta returns and tracks only selected ones.
//! When what decides a kind's scope changes, its stored delta link no longer fits (objects that
//! left or entered the scope would only show when they next change, and the link's `$select`
//! lacks new properties), so the kind's next round is a full one: the fingerprint of the scope a
//! link was read under is kept next to it in `cursors`.
//! (The group filter `member_of_groups` is a membership, not a property: `sync` settles it.)

use crate::kinds::ObjectKind;
use crate::settings::{EntraSyncSettings, Filters, ODataFilters};
use crosswalk_core::{JobId, ValidationError};
use crosswalk_graph::{DeltaEntity, DeltaItem, RemovedReason, Resource};
use crosswalk_odata::Filter;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Graph relationships: delta reports them as `…@delta` changes (or not at all), never as a value
/// a filter could read.
const RELATIONSHIPS: &[&str] = &[
    "manager",
    "members",
    "owners",
    "memberOf",
    "transitiveMemberOf",
    "directReports",
    "registeredOwners",
    "registeredUsers",
];

/// A Graph object with the JSON it came from, so the scope can read properties the typed object
/// does not keep (`…@delta` arrays are dropped once the typed object has them).
#[derive(Debug, Clone)]
pub struct WithJson<T> {
    pub object: T,
    pub json: Value,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for WithJson<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut json = Value::deserialize(d)?;
        let object = T::deserialize(&json).map_err(D::Error::custom)?;
        if let Value::Object(map) = &mut json {
            map.retain(|key, _| !key.ends_with("@delta"));
        }
        Ok(WithJson { object, json })
    }
}

impl<T: DeltaEntity> DeltaEntity for WithJson<T> {
    const RESOURCE: Resource = T::RESOURCE;
    const PATH: &'static str = T::PATH;
    const DEFAULT_SELECT: &'static str = T::DEFAULT_SELECT;

    fn id(&self) -> &str {
        self.object.id()
    }

    fn merge(&mut self, later: Self) {
        self.object.merge(later.object);
        match (&mut self.json, later.json) {
            (Value::Object(earlier), Value::Object(later)) => earlier.extend(later),
            (slot, later) => *slot = later,
        }
    }
}

/// A job's scope, compiled once per run (and at settings parse time, to report bad filters).
#[derive(Debug, Clone)]
pub struct Scope {
    filters: Filters,
    odata: BTreeMap<ObjectKind, Filter>,
    memberships: bool,
}

/// The settings word of a kind's filter (`filters.odata.<word>`).
fn setting(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "users",
        ObjectKind::Group => "groups",
        ObjectKind::Membership => "memberships",
        ObjectKind::Application => "applications",
        ObjectKind::Device => "devices",
        ObjectKind::ManagedDevice => "managed_devices",
    }
}

/// The `$select` Crosswalk sends for `kind` when it adds nothing.
fn default_select(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => crosswalk_graph::USER_DELTA_SELECT,
        ObjectKind::Group | ObjectKind::Membership => crosswalk_graph::GROUP_DELTA_SELECT,
        ObjectKind::Application => crosswalk_graph::APPLICATION_SELECT,
        ObjectKind::Device => crosswalk_graph::DEVICE_SELECT,
        ObjectKind::ManagedDevice => crosswalk_graph::MANAGED_DEVICE_SELECT,
    }
}

fn sorted_lower(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|s| s.trim().to_lowercase()).collect();
    out.sort();
    out.dedup();
    out
}

impl Scope {
    /// Compiles the filters of `settings`.
    ///
    /// # Errors
    /// Every filter that does not parse or reads a relationship, with its field
    /// (`filters.odata.users`) and the character position.
    pub fn new(settings: &EntraSyncSettings) -> Result<Scope, Vec<ValidationError>> {
        let filters = &settings.filters;
        let mut odata = BTreeMap::new();
        let mut problems = Vec::new();
        for kind in ODataFilters::KINDS {
            let text = filters.odata.get(kind);
            if text.is_empty() {
                continue;
            }
            let field = format!("filters.odata.{}", setting(kind));
            let what = format!("Filter for {}", kind.plural());
            match Filter::parse(text) {
                Err(error) => {
                    problems.push(ValidationError::new(field, format!("{what}: {error}")))
                }
                Ok(filter) => {
                    let relationship = filter
                        .properties()
                        .into_iter()
                        .find(|p| RELATIONSHIPS.iter().any(|r| r.eq_ignore_ascii_case(p)));
                    match relationship {
                        Some(name) => problems.push(ValidationError::new(
                            field,
                            format!("{what}: '{name}' is a relationship, which Graph delta reports as changes, not as a value a filter can read; filter on the object's own properties"),
                        )),
                        None => {
                            odata.insert(kind, filter);
                        }
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Scope {
            filters: filters.clone(),
            odata,
            memberships: settings.kinds.includes(ObjectKind::Membership),
        })
    }

    /// Whether an object of `kind`, as Graph returned it, is mirrored.
    pub fn admits(&self, kind: ObjectKind, json: &Value) -> bool {
        let text = |name: &str| json.get(name).and_then(Value::as_str);
        let properties_ok = match kind {
            ObjectKind::User => self.filters.user_in_scope(
                text("userType"),
                json.get("accountEnabled").and_then(Value::as_bool),
            ),
            ObjectKind::Device | ObjectKind::ManagedDevice => {
                self.filters.device_in_scope(text("operatingSystem"))
            }
            _ => true,
        };
        properties_ok && self.odata.get(&kind).is_none_or(|f| f.matches(json))
    }

    /// A page of delta changes with the objects out of scope turned into removals.
    pub fn apply<T: DeltaEntity>(
        &self,
        kind: ObjectKind,
        items: Vec<DeltaItem<WithJson<T>>>,
    ) -> Vec<DeltaItem<T>> {
        items
            .into_iter()
            .map(|item| match item {
                DeltaItem::Upsert(with) if self.admits(kind, &with.json) => {
                    DeltaItem::Upsert(with.object)
                }
                DeltaItem::Upsert(with) => DeltaItem::Removed {
                    id: with.object.id().to_owned(),
                    reason: RemovedReason::Changed,
                },
                DeltaItem::Removed { id, reason } => DeltaItem::Removed { id, reason },
            })
            .collect()
    }

    /// `base` (or Crosswalk's usual `$select` of `kind` when `base` is `None`) plus what the
    /// kind's filter reads; `base` unchanged when there is no filter.
    pub fn select(&self, kind: ObjectKind, base: Option<String>) -> Option<String> {
        let Some(filter) = self.odata.get(&kind) else {
            return base;
        };
        let mut select = base.unwrap_or_else(|| default_select(kind).to_owned());
        for property in filter.properties() {
            let present = select
                .split(',')
                .any(|s| s.trim().eq_ignore_ascii_case(&property));
            if !present {
                select.push(',');
                select.push_str(&property);
            }
        }
        Some(select)
    }

    /// Everything that decides whether an object of `kind` is mirrored, as stable text. Groups
    /// include their members' scopes: a membership is mirrored only when its member is.
    fn fingerprint(&self, kind: ObjectKind) -> String {
        let odata = self.odata.get(&kind).map(Filter::text);
        let value = match kind {
            ObjectKind::User => json!({
                "user_types": sorted_lower(&self.filters.user_types),
                "skip_disabled": self.filters.skip_disabled_users,
                "odata": odata,
            }),
            ObjectKind::Device | ObjectKind::ManagedDevice => json!({
                "platforms": sorted_lower(&self.filters.device_platforms),
                "odata": odata,
            }),
            ObjectKind::Group => json!({
                "odata": odata,
                "memberships": self.memberships.then(|| json!({
                    "users": self.fingerprint(ObjectKind::User),
                    "devices": self.fingerprint(ObjectKind::Device),
                })),
            }),
            ObjectKind::Application | ObjectKind::Membership => json!({ "odata": odata }),
        };
        value.to_string()
    }

    /// Whether `kind`'s scope is the unfiltered one.
    fn is_everything(&self, kind: ObjectKind) -> bool {
        let unfiltered = Scope {
            filters: Filters::default(),
            odata: BTreeMap::new(),
            memberships: self.memberships,
        };
        self.fingerprint(kind) == unfiltered.fingerprint(kind)
    }

    /// Whether `kind`'s stored delta link (or Intune sync time) was read under another scope, so
    /// the next round must be a full one. A job from before scopes were remembered counts as
    /// changed only when it filters this kind.
    ///
    /// # Errors
    /// Store failures.
    pub fn changed(
        &self,
        store: &crosswalk_store::Store,
        job: JobId,
        kind: ObjectKind,
    ) -> anyhow::Result<bool> {
        let stored = store.get_cursor(job, &cursor(kind))?;
        Ok(match stored {
            Some(stored) => stored != self.fingerprint(kind),
            None => !self.is_everything(kind),
        })
    }

    /// Records that `kind`'s stored link was read under this scope (after a full round).
    ///
    /// # Errors
    /// Store failures.
    pub fn remember(
        &self,
        store: &crosswalk_store::Store,
        job: JobId,
        kind: ObjectKind,
    ) -> anyhow::Result<()> {
        store.set_cursor(job, &cursor(kind), &self.fingerprint(kind))?;
        Ok(())
    }
}

/// The store cursor holding the scope fingerprint of `kind`'s link.
fn cursor(kind: ObjectKind) -> String {
    format!("scope.{}", kind.word())
}

/// The run event when a changed scope makes a round full.
pub fn full_round_notice(kind: ObjectKind) -> String {
    format!(
        "The job's filters for {} changed: reading them all again, so those that left the filters are retired and those that entered are created.",
        kind.plural()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosswalk_graph::User;

    fn scope(settings: Value) -> Result<Scope, Vec<ValidationError>> {
        let mut all = json!({"entra_connection": "e", "jira_connection": "j"});
        all["filters"] = settings;
        Scope::new(&serde_json::from_value(all).unwrap())
    }

    #[test]
    fn odata_and_property_filters_decide_together() {
        let scope = scope(json!({
            "user_types": ["Member"],
            "device_platforms": ["Windows"],
            "odata": {"users": "department eq 'Sales'", "devices": "trustType ne 'Workplace'"}
        }))
        .unwrap();
        let user =
            |t: &str, d: &str| json!({"userType": t, "department": d, "accountEnabled": true});
        assert!(scope.admits(ObjectKind::User, &user("Member", "sales")));
        assert!(!scope.admits(ObjectKind::User, &user("Member", "HR")));
        assert!(!scope.admits(ObjectKind::User, &user("Guest", "Sales")));
        let device = json!({"operatingSystem": "Windows", "trustType": "AzureAd"});
        assert!(scope.admits(ObjectKind::Device, &device));
        // The devices filter is the Entra devices' only; the platform list covers both.
        let intune = json!({"operatingSystem": "Windows", "trustType": "Workplace"});
        assert!(scope.admits(ObjectKind::ManagedDevice, &intune));
        assert!(!scope.admits(ObjectKind::Device, &intune));
        assert!(scope.admits(ObjectKind::Group, &json!({})));
    }

    #[test]
    fn out_of_scope_upserts_become_removals() {
        let scope = scope(json!({"odata": {"users": "department eq 'Sales'"}})).unwrap();
        let page: Vec<DeltaItem<WithJson<User>>> = serde_json::from_value(json!([
            {"id": "a", "department": "Sales", "manager@delta": [{"id": "m"}]},
            {"id": "b", "department": "HR"},
            {"id": "c", "@removed": {"reason": "deleted"}}
        ]))
        .unwrap();
        let DeltaItem::Upsert(first) = &page[0] else {
            panic!("an upsert")
        };
        assert!(first.json.get("manager@delta").is_none());
        assert!(first.object.manager_change().is_some());
        let items = scope.apply(ObjectKind::User, page);
        assert!(matches!(&items[0], DeltaItem::Upsert(u) if u.id == "a"));
        assert!(matches!(&items[1], DeltaItem::Removed { id, .. } if id == "b"));
        assert!(matches!(&items[2], DeltaItem::Removed { id, .. } if id == "c"));
    }

    #[test]
    fn the_select_gains_what_the_filter_reads() {
        let scope = scope(json!({"odata": {
            "users": "companyName eq 'Contoso' and Department ne null",
            "devices": "isManaged eq true",
        }}))
        .unwrap();
        let users = scope
            .select(ObjectKind::User, Some("id,department".into()))
            .unwrap();
        assert_eq!(users, "id,department,companyName");
        let devices = scope.select(ObjectKind::Device, None).unwrap();
        assert!(
            devices.starts_with(crosswalk_graph::DEVICE_SELECT) && devices.ends_with(",isManaged")
        );
        assert_eq!(scope.select(ObjectKind::Application, None), None);
        assert_eq!(
            scope
                .select(ObjectKind::Group, Some("id".into()))
                .as_deref(),
            Some("id")
        );
    }

    #[test]
    fn bad_filters_are_reported_with_field_and_position() {
        let problems = scope(json!({"odata": {
            "users": "department eq 'Sales' and (jobTitle eq 'x'",
            "groups": "members/any(m: m eq 'x')",
            "applications": "   ",
        }}))
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].field, "filters.odata.users");
        assert_eq!(
            problems[0].message,
            "Filter for users: expected ')' at character 43, found the end of the filter"
        );
        assert_eq!(problems[1].field, "filters.odata.groups");
        assert!(problems[1].message.contains("'members' is a relationship"));
    }

    #[test]
    fn fingerprints_follow_what_decides_the_scope() {
        let plain = scope(json!({})).unwrap();
        for kind in ODataFilters::KINDS {
            assert!(plain.is_everything(kind), "{kind:?}");
        }
        let users = scope(json!({"odata": {"users": "department eq 'Sales'"}})).unwrap();
        assert!(!users.is_everything(ObjectKind::User));
        // Memberships follow their members, so the groups' scope changed too.
        assert!(!users.is_everything(ObjectKind::Group));
        assert!(users.is_everything(ObjectKind::Application));
        let reordered = scope(json!({"user_types": ["guest", "Member"]})).unwrap();
        let same = scope(json!({"user_types": ["member", "Guest"]})).unwrap();
        assert_eq!(
            reordered.fingerprint(ObjectKind::User),
            same.fingerprint(ObjectKind::User)
        );
        let platforms = scope(json!({"device_platforms": ["iOS"]})).unwrap();
        assert!(!platforms.is_everything(ObjectKind::ManagedDevice));
        assert!(platforms.is_everything(ObjectKind::User));
    }
}
