//! Schema provisioning: the object schema, statuses, object types and attributes a job needs,
//! created idempotently (a second run creates nothing; attributes an admin added are left
//! alone), with conflicts in a shared schema explained instead of written over.

use crate::doc::Status;
use crate::error::{Error, Result};
use crate::kinds::ObjectKind;
use crate::mapping::{AttrDef, AttrType, Mapping, OBJECT_ID};
use crosswalk_assets::{
    AssetsClient, AttributeKind, DefaultType, NewAttribute, NewObjectSchema, NewObjectType,
    NewStatusType, ObjectTypeAttribute, StatusCategory,
};
use std::collections::HashMap;

/// Where each kind's objects and attributes live in Assets.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SchemaMap {
    pub schema_id: String,
    pub schema_name: String,
    types: HashMap<ObjectKind, TypeMap>,
    statuses: HashMap<String, String>,
}

/// One object type: its id and its attributes by lower-case name.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TypeMap {
    pub type_id: String,
    attributes: HashMap<String, String>,
}

impl SchemaMap {
    /// The object type id of `kind`.
    pub fn type_id(&self, kind: ObjectKind) -> Option<&str> {
        self.types.get(&kind).map(|t| t.type_id.as_str())
    }

    /// The attribute id of `name` on `kind`'s type.
    pub fn attribute_id(&self, kind: ObjectKind, name: &str) -> Option<&str> {
        self.types
            .get(&kind)?
            .attributes
            .get(&name.to_lowercase())
            .map(String::as_str)
    }

    /// The status id for an `Entra Status` value.
    pub fn status_id(&self, status: Status) -> Option<&str> {
        self.statuses.get(status.name()).map(String::as_str)
    }

    /// The `Entra Status` value of a status id read back from Assets.
    pub fn status_of(&self, id: &str) -> Option<Status> {
        [Status::Active, Status::Disabled, Status::Removed]
            .into_iter()
            .find(|status| self.status_id(*status) == Some(id))
    }
}

/// What provisioning did or, in a dry run, would do.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// `None` in a dry run when the schema does not exist yet.
    pub map: Option<SchemaMap>,
    /// Human lines: "object type Entra User", "attribute Manager on Entra User".
    pub created: Vec<String>,
}

const STATUSES: [(Status, StatusCategory); 3] = [
    (Status::Active, StatusCategory::Active),
    (Status::Disabled, StatusCategory::Inactive),
    (Status::Removed, StatusCategory::Inactive),
];

/// The attributes `kind` needs, without references to kinds the job does not sync.
pub fn needed_attributes(
    mapping: &Mapping,
    kind: ObjectKind,
    kinds: &[ObjectKind],
) -> Vec<AttrDef> {
    mapping
        .attributes(kind)
        .into_iter()
        .filter(|a| match a.ty {
            AttrType::Ref(target, _) => kinds.contains(&target),
            _ => true,
        })
        .collect()
}

fn describe(ty: AttrType) -> String {
    match ty {
        AttrType::Text => "text".into(),
        AttrType::Integer => "integers".into(),
        AttrType::Boolean => "booleans".into(),
        AttrType::DateTime => "date-times".into(),
        AttrType::Status => "a status".into(),
        AttrType::Ref(kind, _) => format!("references to {}", kind.type_name()),
    }
}

fn describe_existing(attribute: &ObjectTypeAttribute, types: &HashMap<String, String>) -> String {
    match attribute.kind() {
        AttributeKind::Default => attribute
            .default_type
            .as_ref()
            .map_or("values".into(), |d| {
                format!("{} values", d.name.to_lowercase())
            }),
        AttributeKind::Reference => {
            let target = attribute
                .reference_object_type_id
                .as_ref()
                .and_then(|id| types.get(id))
                .cloned()
                .unwrap_or_else(|| "another type".into());
            format!("references to {target}")
        }
        AttributeKind::Status => "a status".into(),
        AttributeKind::User => "Jira users".into(),
        AttributeKind::Group => "Jira groups".into(),
        AttributeKind::Other(_) => "another kind of value".into(),
    }
}

/// Whether an existing attribute can hold what we write.
fn compatible(
    existing: &ObjectTypeAttribute,
    ty: AttrType,
    type_ids: &HashMap<ObjectKind, String>,
) -> bool {
    let default = existing.default_type.as_ref().map(|d| d.id);
    match ty {
        AttrType::Text => {
            existing.kind() == AttributeKind::Default && matches!(default, Some(0 | 7 | 8 | 9))
        }
        AttrType::Integer => existing.kind() == AttributeKind::Default && default == Some(1),
        AttrType::Boolean => existing.kind() == AttributeKind::Default && default == Some(2),
        AttrType::DateTime => {
            existing.kind() == AttributeKind::Default && matches!(default, Some(4 | 6))
        }
        AttrType::Status => existing.kind() == AttributeKind::Status,
        AttrType::Ref(target, _) => {
            existing.kind() == AttributeKind::Reference
                && existing.reference_object_type_id.as_deref()
                    == type_ids.get(&target).map(String::as_str)
        }
    }
}

fn new_attribute(
    def: &AttrDef,
    type_ids: &HashMap<ObjectKind, String>,
    reference_type: &str,
    status_ids: &[String],
) -> NewAttribute {
    let attribute = match def.ty {
        AttrType::Text => NewAttribute::text(&def.name),
        AttrType::Integer => NewAttribute::default_type(&def.name, DefaultType::Integer),
        AttrType::Boolean => NewAttribute::default_type(&def.name, DefaultType::Boolean),
        AttrType::DateTime => NewAttribute::default_type(&def.name, DefaultType::DateTime),
        AttrType::Status => NewAttribute::status(&def.name, status_ids.iter().cloned()),
        AttrType::Ref(target, max) => NewAttribute::reference(
            &def.name,
            type_ids.get(&target).cloned().unwrap_or_default(),
            reference_type,
        )
        .cardinality(0, i64::try_from(max).unwrap_or(-1)),
    };
    if def.unique {
        attribute.unique().description(
            "Immutable Microsoft Entra object ID; Crosswalk identifies the object by it",
        )
    } else {
        attribute
    }
}

/// Makes sure the schema has what `kinds` need; in a dry run only reports what is missing.
///
/// # Errors
/// `TypeConflict` / `AttributeConflict` when the schema has types or attributes of our names
/// that we cannot use; Assets errors otherwise.
pub async fn provision(
    assets: &AssetsClient,
    schema_name: &str,
    schema_key: &str,
    mapping: &Mapping,
    kinds: &[ObjectKind],
    dry_run: bool,
) -> Result<Provisioned> {
    let mut created = Vec::new();
    let schema = match assets.find_schema(schema_key).await? {
        Some(schema) => Some(schema),
        None => assets.find_schema(schema_name).await?,
    };
    let schema = match schema {
        Some(schema) => schema,
        None if dry_run => {
            created.push(format!("object schema \"{schema_name}\" ({schema_key})"));
            for kind in kinds {
                created.push(format!("object type \"{}\"", kind.type_name()));
            }
            return Ok(Provisioned { map: None, created });
        }
        None => {
            let new = NewObjectSchema::new(schema_name, schema_key)
                .description("Mirrored from Microsoft Entra ID by Crosswalk. Objects here are overwritten by the sync.");
            let schema = assets.create_schema(&new).await?;
            created.push(format!(
                "object schema \"{}\" ({})",
                schema.name, schema.object_schema_key
            ));
            schema
        }
    };
    let mut map = SchemaMap {
        schema_id: schema.id.clone(),
        schema_name: schema.name.clone(),
        ..SchemaMap::default()
    };

    // Statuses (scoped to the schema, so other schemas' status lists stay as they are).
    let existing = assets.status_types(Some(&schema.id)).await?;
    for (status, category) in STATUSES {
        match existing
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(status.name()))
        {
            Some(found) => {
                map.statuses
                    .insert(status.name().to_owned(), found.id.clone());
            }
            None if dry_run => created.push(format!("status \"{}\"", status.name())),
            None => {
                let new = NewStatusType::new(status.name(), category, Some(schema.id.clone()));
                let made = assets.create_status_type(&new).await?;
                created.push(format!("status \"{}\"", made.name));
                map.statuses.insert(status.name().to_owned(), made.id);
            }
        }
    }
    let status_ids: Vec<String> = map.statuses.values().cloned().collect();

    // Object types first (references need their targets), then attributes.
    let types = assets.object_types(&schema.id).await?;
    let names_by_id: HashMap<String, String> = types
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let mut type_ids: HashMap<ObjectKind, String> = HashMap::new();
    let mut icons = None;
    for kind in kinds {
        if let Some(found) = types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(kind.type_name()))
        {
            type_ids.insert(*kind, found.id.clone());
            continue;
        }
        if dry_run {
            created.push(format!("object type \"{}\"", kind.type_name()));
            continue;
        }
        if icons.is_none() {
            icons = Some(assets.global_icons().await?);
        }
        let icons = icons.as_deref().unwrap_or_default();
        let icon = kind
            .icons()
            .iter()
            .find_map(|name| icons.iter().find(|i| i.name.eq_ignore_ascii_case(name)))
            .or(icons.first())
            .map(|i| i.id.clone())
            .unwrap_or_default();
        let new = NewObjectType::new(&schema.id, kind.type_name(), icon)
            .description("Mirrored from Microsoft Entra ID by Crosswalk");
        let made = assets.create_object_type(&new).await?;
        created.push(format!("object type \"{}\"", made.name));
        type_ids.insert(*kind, made.id);
    }

    let reference_type = if kinds.iter().any(|k| {
        needed_attributes(mapping, *k, kinds)
            .iter()
            .any(|a| matches!(a.ty, AttrType::Ref(..)))
    }) {
        let all = assets.reference_types(Some(&schema.id)).await?;
        all.iter()
            .find(|r| r.name.eq_ignore_ascii_case("Reference"))
            .or_else(|| all.iter().find(|r| r.name.eq_ignore_ascii_case("Link")))
            .or(all.first())
            .map(|r| r.id.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };

    for kind in kinds {
        let Some(type_id) = type_ids.get(kind).cloned() else {
            // Dry run with a missing type: every attribute would be created.
            for def in needed_attributes(mapping, *kind, kinds) {
                created.push(format!(
                    "attribute \"{}\" on \"{}\"",
                    def.name,
                    kind.type_name()
                ));
            }
            continue;
        };
        let existing = assets.attributes(&type_id).await?;
        let ours = existing
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(OBJECT_ID));
        if !ours {
            // A type of our name without our identity attribute: adopt it only if it is empty.
            let aql = format!("objectTypeId = {type_id}");
            let holders = assets.search(&aql, 0, 1, false).await?;
            if !holders.values.is_empty() {
                return Err(Error::TypeConflict {
                    schema: schema.name.clone(),
                    type_name: kind.type_name().to_owned(),
                });
            }
        }
        let mut type_map = TypeMap {
            type_id: type_id.clone(),
            attributes: existing
                .iter()
                .map(|a| (a.name.to_lowercase(), a.id.clone()))
                .collect(),
        };
        for def in needed_attributes(mapping, *kind, kinds) {
            match existing
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(&def.name))
            {
                Some(found) if compatible(found, def.ty, &type_ids) => {}
                Some(found) => {
                    return Err(Error::AttributeConflict {
                        type_name: kind.type_name().to_owned(),
                        attribute: found.name.clone(),
                        found: describe_existing(found, &names_by_id),
                        expected: describe(def.ty),
                    })
                }
                None if dry_run => {
                    created.push(format!(
                        "attribute \"{}\" on \"{}\"",
                        def.name,
                        kind.type_name()
                    ));
                }
                None => {
                    let new = new_attribute(&def, &type_ids, &reference_type, &status_ids);
                    let made = assets.create_attribute(&type_id, &new).await?;
                    created.push(format!(
                        "attribute \"{}\" on \"{}\"",
                        made.name,
                        kind.type_name()
                    ));
                    type_map
                        .attributes
                        .insert(made.name.to_lowercase(), made.id);
                }
            }
        }
        map.types.insert(*kind, type_map);
    }
    let complete = kinds.iter().all(|k| map.types.contains_key(k))
        && STATUSES
            .iter()
            .all(|(s, _)| map.statuses.contains_key(s.name()));
    Ok(Provisioned {
        map: complete.then_some(map),
        created,
    })
}

/// An object schema as the job editor offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChoice {
    pub id: String,
    pub name: String,
    pub key: String,
    pub object_count: u64,
    /// It already holds types Crosswalk created (it is, or was, an Entra Sync schema).
    pub ours: bool,
    /// Types with Crosswalk's names that Crosswalk did not create: choosing it would fail.
    pub conflicts: Vec<String>,
}

/// The workspace's object schemas, each checked for types that clash with ours.
///
/// # Errors
/// Assets failures (permissions, no Assets).
pub async fn inspect_schemas(assets: &AssetsClient) -> Result<Vec<SchemaChoice>> {
    let mut out = Vec::new();
    for schema in assets.all_schemas().await? {
        let mut choice = SchemaChoice {
            id: schema.id.clone(),
            name: schema.name.clone(),
            key: schema.object_schema_key.clone(),
            object_count: schema.object_count,
            ours: false,
            conflicts: Vec::new(),
        };
        for object_type in assets.object_types(&schema.id).await? {
            if !ObjectKind::ALL
                .iter()
                .any(|k| k.type_name().eq_ignore_ascii_case(&object_type.name))
            {
                continue;
            }
            let attributes = assets.attributes(&object_type.id).await?;
            if attributes
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case(OBJECT_ID))
            {
                choice.ours = true;
            } else {
                choice.conflicts.push(object_type.name.clone());
            }
        }
        out.push(choice);
    }
    Ok(out)
}
