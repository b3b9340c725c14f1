//! The objects of the workspace and the indexes that keep every per-object operation
//! O(log n) at Entra Sync scale (over a million objects, created one request at a time).
//!
//! Objects are kept by id; ids only grow, so id order is creation order and every listing
//! stays in creation order. Indexes: object ids per object type; object key → id; per
//! (object type, attribute) the objects holding a value, for the attributes whose values must
//! be unique (`uniqueAttribute`, and the label when unique labels are on); and, per object, the
//! objects referencing it. Value and key indexes are keyed by a hash of the ASCII-lowercased
//! text (uniqueness and AQL `=` ignore ASCII case) and every hit is checked against the object,
//! so a hash collision costs a comparison, never a wrong answer.
//!
//! Mutations go through [`Objects::insert`], [`Objects::update`], [`Objects::remove`] and
//! [`Objects::retain`], which keep the indexes right; anything else that changes what is
//! indexed (an attribute's `unique` / `label` flag, unique labels on or off) calls
//! [`Objects::rebuild`].

use super::{Attribute, Object};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The object ids under one index key: nearly always one.
#[derive(Debug, Clone)]
enum Ids {
    One(u64),
    Many(BTreeSet<u64>),
}

impl Ids {
    fn insert(&mut self, id: u64) {
        match self {
            Ids::One(one) if *one == id => {}
            Ids::One(one) => *self = Ids::Many(BTreeSet::from([*one, id])),
            Ids::Many(set) => {
                set.insert(id);
            }
        }
    }

    /// Removes `id`; true when none are left.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            Ids::One(one) => *one == id,
            Ids::Many(set) => {
                set.remove(&id);
                match set.first().copied() {
                    None => true,
                    Some(last) if set.len() == 1 => {
                        *self = Ids::One(last);
                        false
                    }
                    Some(_) => false,
                }
            }
        }
    }

    /// Ascending.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (one, many) = match self {
            Ids::One(id) => (Some(*id), None),
            Ids::Many(set) => (None, Some(set)),
        };
        one.into_iter().chain(many.into_iter().flatten().copied())
    }
}

fn add<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Ids>, key: K, id: u64) {
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(Ids::One(id));
        }
        Entry::Occupied(slot) => slot.into_mut().insert(id),
    }
}

fn take<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Ids>, key: K, id: u64) {
    if let Entry::Occupied(mut slot) = map.entry(key) {
        if slot.get_mut().remove(id) {
            slot.remove();
        }
    }
}

/// FNV-1a over the ASCII-lowercased bytes: equal for texts equal ignoring ASCII case.
fn fold_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether values of `attribute` are indexed.
fn indexed(attribute: &Attribute, labels: bool) -> bool {
    attribute.unique || (attribute.label && labels)
}

/// The workspace's objects, in creation order, with their indexes.
#[derive(Debug, Default)]
pub struct Objects {
    by_id: BTreeMap<u64, Object>,
    by_type: HashMap<u64, BTreeSet<u64>>,
    /// `fold_hash(key)` → objects.
    by_key: HashMap<u64, Ids>,
    /// (object type, attribute) → `fold_hash(value)` → objects of that type holding the value.
    by_value: HashMap<(u64, u64), HashMap<u64, Ids>>,
    /// Object id → the objects whose reference attributes hold it.
    referrers: HashMap<u64, Ids>,
    /// Whether label values are indexed (unique labels were on at the last rebuild).
    labels_indexed: bool,
}

impl Objects {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every object, in creation order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Object> + '_ {
        self.by_id.values()
    }

    pub fn get(&self, id: u64) -> Option<&Object> {
        self.by_id.get(&id)
    }

    /// The objects of one type (not of its children), in creation order.
    pub fn of_type(&self, type_id: u64) -> impl Iterator<Item = &Object> + '_ {
        self.by_type
            .get(&type_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
    }

    pub fn count_of_type(&self, type_id: u64) -> usize {
        self.by_type.get(&type_id).map_or(0, BTreeSet::len)
    }

    /// The ids of one type's objects, ascending.
    pub(super) fn type_ids(&self, type_id: u64) -> Option<&BTreeSet<u64>> {
        self.by_type.get(&type_id)
    }

    /// The objects whose key equals `key` ignoring ASCII case, ascending.
    pub(super) fn keyed(&self, key: &str) -> Vec<u64> {
        self.by_key
            .get(&fold_hash(key))
            .into_iter()
            .flat_map(Ids::iter)
            .filter(|id| {
                self.by_id
                    .get(id)
                    .is_some_and(|o| o.key.eq_ignore_ascii_case(key))
            })
            .collect()
    }

    /// The first object whose key equals `key` ignoring ASCII case.
    pub fn by_key(&self, key: &str) -> Option<&Object> {
        self.keyed(key).first().and_then(|id| self.by_id.get(id))
    }

    /// The objects of `type_id` holding `value` in the indexed attribute `attribute_id`
    /// (equal ignoring ASCII case), ascending.
    pub(super) fn with_value(&self, type_id: u64, attribute_id: u64, value: &str) -> Vec<u64> {
        self.by_value
            .get(&(type_id, attribute_id))
            .and_then(|values| values.get(&fold_hash(value)))
            .into_iter()
            .flat_map(Ids::iter)
            .filter(|id| {
                self.by_id.get(id).is_some_and(|o| {
                    o.values
                        .get(&attribute_id)
                        .is_some_and(|theirs| theirs.iter().any(|t| t.eq_ignore_ascii_case(value)))
                })
            })
            .collect()
    }

    /// The objects referencing `id` (through any reference attribute), ascending.
    pub(super) fn referrers(&self, id: u64) -> Vec<u64> {
        self.referrers
            .get(&id)
            .into_iter()
            .flat_map(Ids::iter)
            .collect()
    }

    pub(super) fn labels_indexed(&self) -> bool {
        self.labels_indexed
    }

    fn index(&mut self, o: &Object, attributes: &[Attribute]) {
        self.by_type
            .entry(o.object_type_id)
            .or_default()
            .insert(o.id);
        add(&mut self.by_key, fold_hash(&o.key), o.id);
        for (attribute_id, values) in &o.values {
            let Some(a) = attributes.iter().find(|a| a.id == *attribute_id) else {
                continue;
            };
            if a.kind == 1 {
                for v in values {
                    if let Ok(target) = v.parse::<u64>() {
                        add(&mut self.referrers, target, o.id);
                    }
                }
            }
            if indexed(a, self.labels_indexed) {
                let by_value = self.by_value.entry((o.object_type_id, a.id)).or_default();
                for v in values {
                    add(by_value, fold_hash(v), o.id);
                }
            }
        }
    }

    fn unindex(&mut self, o: &Object, attributes: &[Attribute]) {
        if let Entry::Occupied(mut slot) = self.by_type.entry(o.object_type_id) {
            slot.get_mut().remove(&o.id);
            if slot.get().is_empty() {
                slot.remove();
            }
        }
        take(&mut self.by_key, fold_hash(&o.key), o.id);
        for (attribute_id, values) in &o.values {
            let Some(a) = attributes.iter().find(|a| a.id == *attribute_id) else {
                continue;
            };
            if a.kind == 1 {
                for v in values {
                    if let Ok(target) = v.parse::<u64>() {
                        take(&mut self.referrers, target, o.id);
                    }
                }
            }
            if indexed(a, self.labels_indexed) {
                if let Entry::Occupied(mut slot) = self.by_value.entry((o.object_type_id, a.id)) {
                    for v in values {
                        take(slot.get_mut(), fold_hash(v), o.id);
                    }
                    if slot.get().is_empty() {
                        slot.remove();
                    }
                }
            }
        }
    }

    /// Adds a new object (its id must be new).
    pub(super) fn insert(&mut self, o: Object, attributes: &[Attribute]) {
        self.index(&o, attributes);
        let previous = self.by_id.insert(o.id, o);
        debug_assert!(previous.is_none(), "object ids are never reused");
    }

    /// Changes an object in place, keeping the indexes right; false when there is none.
    pub(super) fn update(
        &mut self,
        id: u64,
        attributes: &[Attribute],
        change: impl FnOnce(&mut Object),
    ) -> bool {
        let Some(mut o) = self.by_id.remove(&id) else {
            return false;
        };
        self.unindex(&o, attributes);
        change(&mut o);
        debug_assert_eq!(o.id, id, "an object's id does not change");
        self.index(&o, attributes);
        self.by_id.insert(id, o);
        true
    }

    pub(super) fn remove(&mut self, id: u64, attributes: &[Attribute]) -> Option<Object> {
        let o = self.by_id.remove(&id)?;
        self.unindex(&o, attributes);
        Some(o)
    }

    /// Keeps the objects `keep` says yes to (a bulk delete: rebuilds the indexes).
    pub(super) fn retain(
        &mut self,
        attributes: &[Attribute],
        labels: bool,
        keep: impl FnMut(&u64, &mut Object) -> bool,
    ) {
        self.by_id.retain(keep);
        self.rebuild(attributes, labels);
    }

    /// Changes every object (a bulk edit: rebuilds the indexes).
    pub(super) fn for_each_mut(
        &mut self,
        attributes: &[Attribute],
        labels: bool,
        mut change: impl FnMut(&mut Object),
    ) {
        self.by_id.values_mut().for_each(&mut change);
        self.rebuild(attributes, labels);
    }

    /// Rebuilds every index from the objects (after attribute flags or unique labels changed).
    pub fn rebuild(&mut self, attributes: &[Attribute], labels: bool) {
        let by_id = std::mem::take(&mut self.by_id);
        *self = Objects {
            labels_indexed: labels,
            ..Objects::default()
        };
        for o in by_id.values() {
            self.index(o, attributes);
        }
        self.by_id = by_id;
    }
}
