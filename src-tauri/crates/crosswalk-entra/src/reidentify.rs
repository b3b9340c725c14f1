//! A job with no local state over a schema that already holds its objects (a lost or new
//! database): find the objects by Entra object ID and rebuild, from Assets' own values, the
//! documents that were written, so the run that follows writes only the objects that differ
//! from Entra — no duplicate, and no rewrite of the whole schema.

use crate::doc::{Doc, Status, Value, NAME};
use crate::kinds::ObjectKind;
use crate::mapping::{self, AttrDef, AttrType, OBJECT_ID, REMOVED_ON, STATUS};
use crate::schema::SchemaMap;
use crosswalk_assets::{AssetsClient, Object};
use crosswalk_core::JobId;
use crosswalk_engine::RunContext;
use crosswalk_store::{MapChange, MapEntry, Store};
use futures_util::future::join_all;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Objects per AQL page.
const PAGE: u32 = 1000;
/// AQL pages read at once: the reads overlap their latency; 4 measured no faster against the
/// sandbox on a shared machine and peaked at 288 MiB at the large size (pages of 1,000 objects
/// with attributes are 18-32 MB of JSON).
const PAGES_IN_FLIGHT: u64 = 2;
/// Map entries rewritten per store transaction while references are translated.
const STORE_PAGE: usize = 5000;

/// Reads every object of the job's kinds back into the map; returns how many were found.
///
/// Two passes: the first records each object with references still as Assets ids (and
/// remembers which Entra object each referenceable Assets object is); the second translates
/// them. An entry whose references cannot all be translated keeps an empty hash and is
/// rewritten once. A crash between the passes leaves empty hashes: one rewrite, never a
/// duplicate.
///
/// # Errors
/// Assets failures (as admin-facing errors) and the store.
pub(crate) async fn reidentify(
    ctx: &RunContext,
    job: JobId,
    assets: &AssetsClient,
    schema: &SchemaMap,
    kinds: &[ObjectKind],
    attributes: &HashMap<ObjectKind, Vec<AttrDef>>,
    now: OffsetDateTime,
) -> anyhow::Result<usize> {
    let store = &ctx.services.store;
    let mut entra_ids: HashMap<String, String> = HashMap::new();
    let mut total = 0usize;
    let none = Vec::new();
    for &kind in kinds {
        let (Some(type_id), Some(id_attribute)) =
            (schema.type_id(kind), schema.attribute_id(kind, OBJECT_ID))
        else {
            continue;
        };
        let defs = attributes.get(&kind).unwrap_or(&none);
        let aql = format!("objectTypeId = {type_id}");
        let mut start = 0;
        'pages: loop {
            // AQL pages by offset, so several can be read at once (AQL's budget is 1000/min,
            // far above what one page at a time uses); only pages that continue exactly where
            // the last one kept ended are used, so a server with a smaller page than asked for
            // costs extra reads, never a gap.
            let offsets: Vec<u64> = (0..PAGES_IN_FLIGHT)
                .map(|k| start + k * u64::from(PAGE))
                .collect();
            let batch = join_all(
                offsets
                    .iter()
                    .map(|&offset| assets.search(&aql, offset, PAGE, true)),
            )
            .await;
            for (offset, page) in offsets.into_iter().zip(batch) {
                if offset != start {
                    continue 'pages;
                }
                // A failure matters only for a page that is used.
                let page = page.map_err(crate::error::facing)?;
                let next = (!page.is_last && !page.values.is_empty())
                    .then(|| offset + page.values.len() as u64);
                let mut changes = Vec::with_capacity(page.values.len());
                for object in &page.values {
                    let Some(remote_id) = object.values(id_attribute).into_iter().next() else {
                        continue;
                    };
                    if kind.is_reference_target() {
                        entra_ids.insert(object.id.clone(), remote_id.clone());
                    }
                    changes.push(MapChange::Put(entry_of(
                        kind, remote_id, object, defs, schema, now,
                    )));
                }
                total += changes.len();
                store.map_apply(job, &changes)?;
                ctx.progress(
                    0,
                    0,
                    &format!(
                        "No local state: reading existing {} back from Assets ({total} objects read)",
                        kind.plural()
                    ),
                );
                match next {
                    Some(next) => start = next,
                    None => break 'pages,
                }
            }
        }
    }
    for &kind in kinds {
        let refers = attributes
            .get(&kind)
            .is_some_and(|defs| defs.iter().any(|d| matches!(d.ty, AttrType::Ref(..))));
        if refers {
            ctx.progress(
                0,
                0,
                &format!(
                    "No local state: matching the references of {}",
                    kind.plural()
                ),
            );
            translate_references(store, job, kind, &entra_ids)?;
        }
    }
    Ok(total)
}

/// The map entry for one object found in Assets (references still as Assets ids).
fn entry_of(
    kind: ObjectKind,
    remote_id: String,
    object: &Object,
    defs: &[AttrDef],
    schema: &SchemaMap,
    now: OffsetDateTime,
) -> MapEntry {
    let doc = doc_of(kind, object, defs, schema);
    let removed_at = match doc.values.get(STATUS) {
        Some(Value::Status(Status::Removed)) => Some(
            match doc.values.get(REMOVED_ON) {
                Some(Value::DateTime(text)) => OffsetDateTime::parse(text, &Rfc3339).ok(),
                _ => None,
            }
            // Unknown: count from now, so a hard-delete policy never fires early.
            .unwrap_or(now),
        ),
        _ => None,
    };
    // Without references the copy is complete now; with them, once they are translated.
    let hash = if doc.references().next().is_none() {
        doc.hash()
    } else {
        String::new()
    };
    let member_id = (kind == ObjectKind::Membership)
        .then(|| remote_id.split_once(':').map(|(_, m)| m.to_owned()))
        .flatten();
    MapEntry {
        target_id: Some(object.id.clone()),
        hash,
        member_id,
        removed_at,
        ..MapEntry::intent(kind.word(), &remote_id, &object.label, doc.to_json())
    }
}

/// The document an object holds in Assets, in the engine's terms (references as Assets ids).
/// A value it cannot read back is left out, which only costs one rewrite.
fn doc_of(kind: ObjectKind, object: &Object, defs: &[AttrDef], schema: &SchemaMap) -> Doc {
    let mut doc = Doc::new(object.label.clone());
    for def in defs.iter().filter(|d| d.name != NAME) {
        let Some(attribute) = schema.attribute_id(kind, &def.name) else {
            continue;
        };
        let raw = object.values(attribute);
        let first = raw.first().map(String::as_str);
        let value = match def.ty {
            AttrType::Text => first.map(|t| Value::Text(t.to_owned())),
            AttrType::Integer => first
                .and_then(|t| t.trim().parse().ok())
                .map(Value::Integer),
            AttrType::Boolean => first
                .and_then(|t| t.trim().parse().ok())
                .map(Value::Boolean),
            AttrType::DateTime => first.and_then(|t| mapping::datetime(parse_instant(t))),
            AttrType::Status => first.and_then(|id| schema.status_of(id)).map(Value::Status),
            AttrType::Ref(target, _) => (!raw.is_empty()).then_some(Value::Refs(target, raw)),
        };
        doc.set(&def.name, value);
    }
    doc
}

/// An instant as Assets returns it: RFC 3339, or with a `+0000` offset.
fn parse_instant(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let (head, offset) = text.split_at(text.len().checked_sub(5)?);
        let colon = format!("{head}{}:{}", &offset[..3], &offset[3..]);
        OffsetDateTime::parse(&colon, &Rfc3339).ok()
    })
}

/// Second pass: references from Assets ids to Entra ids; the hash is set only when every
/// reference translated, so the next write is skipped only for a faithful copy.
fn translate_references(
    store: &Store,
    job: JobId,
    kind: ObjectKind,
    entra_ids: &HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut after: Option<String> = None;
    loop {
        let page = store.map_page(job, kind.word(), after.as_deref(), STORE_PAGE)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.remote_id.clone());
        let changes: Vec<MapChange> = page
            .into_iter()
            .map(|mut entry| {
                let mut doc = Doc::from_json(&entry.doc);
                let mut faithful = true;
                for value in doc.values.values_mut() {
                    if let Value::Refs(_, ids) = value {
                        let translated: Vec<String> = ids
                            .iter()
                            .filter_map(|id| entra_ids.get(id).cloned())
                            .collect();
                        faithful &= translated.len() == ids.len();
                        *ids = translated;
                    }
                }
                doc.values
                    .retain(|_, v| !matches!(v, Value::Refs(_, ids) if ids.is_empty()));
                entry.hash = if faithful { doc.hash() } else { String::new() };
                entry.doc = doc.to_json();
                MapChange::Put(entry)
            })
            .collect();
        store.map_apply(job, &changes)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_back_in_either_form_compare_equal_to_what_was_written() {
        let written =
            mapping::datetime(OffsetDateTime::parse("2025-01-31T10:00:00Z", &Rfc3339).ok());
        for text in ["2025-01-31T10:00:00.000Z", "2025-01-31T11:00:00.000+0100"] {
            assert_eq!(mapping::datetime(parse_instant(text)), written, "{text}");
        }
        assert_eq!(parse_instant("31/Jan/25 10:00 AM"), None);
    }
}
