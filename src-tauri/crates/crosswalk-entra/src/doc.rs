//! What an object should look like in Assets: its label and attribute values by attribute name,
//! with references as Entra object IDs (resolved to Assets ids only when written). Stored in the
//! object map, hashed for change detection, diffed for the run log's before/after.

use crate::kinds::ObjectKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// The three states of the `Entra Status` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Disabled,
    Removed,
}

impl Status {
    /// The Assets status name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Disabled => "Disabled",
            Status::Removed => "Removed from Entra",
        }
    }
}

/// One attribute value, typed so it can be encoded for Assets and compared across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Value {
    Text(String),
    Integer(i64),
    Boolean(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    /// RFC 3339 in UTC.
    DateTime(String),
    Status(Status),
    /// Entra object IDs of the referenced objects, in order.
    Refs(ObjectKind, Vec<String>),
}

impl Value {
    /// The value as the run log shows it.
    pub fn display(&self) -> serde_json::Value {
        match self {
            Value::Text(text) | Value::Date(text) | Value::DateTime(text) => json!(text),
            Value::Integer(n) => json!(n),
            Value::Boolean(b) => json!(b),
            Value::Status(status) => json!(status.name()),
            Value::Refs(_, ids) if ids.len() == 1 => json!(ids[0]),
            Value::Refs(_, ids) => json!(ids),
        }
    }
}

/// The desired state of one Assets object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Doc {
    /// The `Name` (label) attribute.
    pub label: String,
    /// Attribute name → value; an absent attribute is written empty.
    pub values: BTreeMap<String, Value>,
}

/// Attribute name of the label, created by Assets with every object type.
pub const NAME: &str = "Name";

impl Doc {
    /// A document with just a label.
    pub fn new(label: impl Into<String>) -> Doc {
        Doc {
            label: label.into(),
            values: BTreeMap::new(),
        }
    }

    /// Sets `name` when `value` is present; leaves it absent (written empty) otherwise.
    pub fn set(&mut self, name: &str, value: Option<Value>) {
        match value {
            Some(value) => {
                self.values.insert(name.to_owned(), value);
            }
            None => {
                self.values.remove(name);
            }
        }
    }

    /// Stable JSON text, for the store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a doc always serializes")
    }

    /// Reads stored JSON text; a damaged entry reads as empty (and is rewritten).
    pub fn from_json(text: &str) -> Doc {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Stable 64-bit FNV-1a hash of the JSON text, as hex: equal docs, equal hashes, every run.
    pub fn hash(&self) -> String {
        let hash = self
            .to_json()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{hash:016x}")
    }

    /// The attributes that differ from `before`, as (before, after) display maps.
    pub fn diff(&self, before: &Doc) -> (serde_json::Value, serde_json::Value) {
        let mut old = serde_json::Map::new();
        let mut new = serde_json::Map::new();
        if self.label != before.label {
            old.insert(NAME.into(), json!(before.label));
            new.insert(NAME.into(), json!(self.label));
        }
        let names: std::collections::BTreeSet<&String> =
            self.values.keys().chain(before.values.keys()).collect();
        for name in names {
            let (a, b) = (before.values.get(name), self.values.get(name));
            if a != b {
                old.insert(
                    name.clone(),
                    a.map_or(serde_json::Value::Null, Value::display),
                );
                new.insert(
                    name.clone(),
                    b.map_or(serde_json::Value::Null, Value::display),
                );
            }
        }
        (old.into(), new.into())
    }

    /// Every attribute for display (a create's "after").
    pub fn display(&self) -> serde_json::Value {
        let mut all = serde_json::Map::new();
        all.insert(NAME.into(), json!(self.label));
        for (name, value) in &self.values {
            all.insert(name.clone(), value.display());
        }
        all.into()
    }

    /// Every (kind, Entra id) this document references.
    pub fn references(&self) -> impl Iterator<Item = (ObjectKind, &str)> {
        self.values.values().flat_map(|value| match value {
            Value::Refs(kind, ids) => ids.iter().map(|id| (*kind, id.as_str())).collect(),
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(title: &str) -> Doc {
        let mut doc = Doc::new("Ada");
        doc.set("Job title", Some(Value::Text(title.into())));
        doc.set(
            "Manager",
            Some(Value::Refs(ObjectKind::User, vec!["m1".into()])),
        );
        doc
    }

    #[test]
    fn equal_docs_hash_equal_and_any_change_changes_the_hash() {
        assert_eq!(doc("Eng").hash(), doc("Eng").hash());
        assert_ne!(doc("Eng").hash(), doc("Ops").hash());
        let stored = doc("Eng").to_json();
        assert_eq!(Doc::from_json(&stored), doc("Eng"));
        assert_eq!(Doc::from_json("not json"), Doc::default());
    }

    #[test]
    fn diff_lists_only_changed_attributes_with_readable_values() {
        let mut after = doc("Ops");
        after.set("Manager", None);
        let (before, after) = after.diff(&doc("Eng"));
        assert_eq!(before, json!({"Job title": "Eng", "Manager": "m1"}));
        assert_eq!(after, json!({"Job title": "Ops", "Manager": null}));
    }
}
