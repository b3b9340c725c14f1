//! Metadata (api/microsoft.md §F.3): `EntityDefinitions` with `$select`/`$filter`/`$expand`,
//! `(LogicalName='x')` keys, `/Attributes`, casts to `Microsoft.Dynamics.CRM.<Type>AttributeMetadata`
//! with `$expand=OptionSet,GlobalOptionSet`, `GlobalOptionSetDefinitions`, and a small `$metadata`.
//! Metadata queries don't page.

use super::query;
use super::{
    bad_request, error, json_response, pseudo_guid, segment_not_found, split_key, AttributeMeta,
    AttributeType, Ctx, DataverseState, OptionMeta, TableMeta,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

const NS: &str = "Microsoft.Dynamics.CRM.";

fn label(text: &str, id_seed: &str) -> Value {
    let localized = json!({
        "Label": text, "LanguageCode": 1033, "IsManaged": true,
        "MetadataId": pseudo_guid(id_seed), "HasChanged": null
    });
    json!({ "LocalizedLabels": [localized.clone()], "UserLocalizedLabel": localized })
}

fn managed(value: bool, name: &str) -> Value {
    json!({ "Value": value, "CanBeChanged": true, "ManagedPropertyLogicalName": name })
}

fn entity_json(t: &TableMeta) -> Map<String, Value> {
    let v = json!({
        "MetadataId": t.metadata_id,
        "LogicalName": t.logical_name,
        "SchemaName": t.schema_name,
        "EntitySetName": t.entity_set_name,
        "LogicalCollectionName": t.entity_set_name,
        "CollectionSchemaName": format!("{}s", t.schema_name),
        "ObjectTypeCode": t.object_type_code,
        "DisplayName": label(&t.display_name, &format!("{}#dn", t.logical_name)),
        "DisplayCollectionName": label(&t.display_collection_name, &format!("{}#dcn", t.logical_name)),
        "Description": label("", &format!("{}#d", t.logical_name)),
        "PrimaryIdAttribute": t.primary_id_attribute,
        "PrimaryNameAttribute": t.primary_name_attribute,
        "ChangeTrackingEnabled": t.change_tracking_enabled,
        "CanChangeTrackingBeEnabled": managed(t.can_change_tracking_be_enabled, "canchangetrackingbeenabled"),
        "CanCreateAttributes": managed(true, "cancreateattributes"),
        "HasNotes": t.has_notes,
        "HasActivities": !t.is_activity,
        "IsActivity": t.is_activity,
        "IsCustomEntity": t.is_custom,
        "IsManaged": !t.is_custom,
        "IsValidForAdvancedFind": true,
        "IsIntersect": false,
        "IsPrivate": false,
        "IsOptimisticConcurrencyEnabled": true,
        "OwnershipType": t.ownership_type,
        "TableType": "Standard",
    });
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn option_json(table: &TableMeta, attr: &AttributeMeta, option: &OptionMeta) -> Value {
    let mut v = json!({
        "Value": option.value,
        "Color": null,
        "IsManaged": !attr.is_custom,
        "ExternalValue": "",
        "ParentValues": [],
        "MetadataId": null,
        "HasChanged": null,
        "Label": label(&option.label, &format!("{}.{}.{}", table.logical_name, attr.logical_name, option.value)),
        "Description": label("", &format!("{}.{}.{}#d", table.logical_name, attr.logical_name, option.value)),
    });
    if attr.attribute_type == AttributeType::Status {
        v["State"] = json!(option.state);
        v["TransitionData"] = Value::Null;
        v["@odata.type"] = json!("#Microsoft.Dynamics.CRM.StatusOptionMetadata");
    }
    if attr.attribute_type == AttributeType::State {
        v["DefaultStatus"] = json!(option.default_status);
        v["InvariantName"] = json!(option.invariant_name);
        v["@odata.type"] = json!("#Microsoft.Dynamics.CRM.StateOptionMetadata");
    }
    v
}

fn option_set_json(table: &TableMeta, attr: &AttributeMeta) -> Value {
    let global = attr.global_option_set.is_some();
    let name = attr
        .global_option_set
        .clone()
        .unwrap_or_else(|| format!("{}_{}", table.logical_name, attr.logical_name));
    let kind = match attr.attribute_type {
        AttributeType::State => "State",
        AttributeType::Status => "Status",
        AttributeType::Boolean => "Boolean",
        _ => "Picklist",
    };
    let mut v = json!({
        "MetadataId": pseudo_guid(&format!("optionset:{name}")),
        "Name": name,
        "IsGlobal": global,
        "IsCustomOptionSet": attr.is_custom,
        "OptionSetType": kind,
        "DisplayName": label(&attr.display_name, &format!("optionset:{name}#dn")),
    });
    if attr.attribute_type == AttributeType::Boolean {
        let find = |value: i32| {
            attr.options
                .iter()
                .find(|o| o.value == value)
                .map(|o| option_json(table, attr, o))
        };
        v["TrueOption"] = json!(find(1));
        v["FalseOption"] = json!(find(0));
    } else {
        v["Options"] = Value::Array(
            attr.options
                .iter()
                .map(|o| option_json(table, attr, o))
                .collect(),
        );
    }
    v
}

fn attribute_json(t: &TableMeta, a: &AttributeMeta) -> Map<String, Value> {
    let mut v = json!({
        "@odata.type": format!("#{NS}{}", a.attribute_type.metadata_type()),
        "MetadataId": a.metadata_id,
        "LogicalName": a.logical_name,
        "SchemaName": a.schema_name,
        "EntityLogicalName": t.logical_name,
        "AttributeType": a.attribute_type.as_str(),
        "AttributeTypeName": { "Value": a.attribute_type.type_name() },
        "AttributeOf": null,
        "DisplayName": label(&a.display_name, &format!("{}.{}#dn", t.logical_name, a.logical_name)),
        "Description": label("", &format!("{}.{}#d", t.logical_name, a.logical_name)),
        "RequiredLevel": { "Value": a.required_level, "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings" },
        "IsPrimaryId": a.logical_name == t.primary_id_attribute,
        "IsPrimaryName": a.logical_name == t.primary_name_attribute,
        "IsValidForCreate": a.valid_for_create,
        "IsValidForUpdate": a.valid_for_update,
        "IsValidForRead": true,
        "IsCustomAttribute": a.is_custom,
        "IsManaged": !a.is_custom,
        "IsLogical": false,
        "ColumnNumber": super::audit::column_number(t, a),
    });
    if let Some(max) = a.max_length {
        v["MaxLength"] = json!(max);
        // `FormatName` (a complex type) says the format; the legacy `Format` enum has no
        // `RichText`, so a rich-text column answers with its type's default there.
        let default = if a.attribute_type == AttributeType::Memo {
            "TextArea"
        } else {
            "Text"
        };
        let name = a.format_name.unwrap_or(default);
        let legacy = match name {
            "Email" | "Text" | "TextArea" | "Url" | "TickerSymbol" | "PhoneticGuide"
            | "VersionNumber" | "Phone" => name,
            _ => default,
        };
        v["Format"] = json!(legacy);
        v["FormatName"] = json!({ "Value": name });
    }
    if let Some(behavior) = &a.date_time_behavior {
        v["DateTimeBehavior"] = json!({ "Value": behavior });
        v["Format"] = json!(if behavior == "DateOnly" {
            "DateOnly"
        } else {
            "DateAndTime"
        });
        v["CanChangeDateTimeBehavior"] = managed(true, "canchangedatetimebehavior");
    }
    if let Some(precision) = a.precision {
        v["Precision"] = json!(precision);
    }
    match a.attribute_type {
        AttributeType::Integer => {
            v["MinValue"] = json!(-2_147_483_648i64);
            v["MaxValue"] = json!(2_147_483_647i64);
            v["Format"] = json!("None");
        }
        AttributeType::Decimal | AttributeType::Money => {
            v["MinValue"] = json!(-100_000_000_000.0);
            v["MaxValue"] = json!(100_000_000_000.0);
        }
        AttributeType::Boolean => {
            v["DefaultValue"] = json!(false);
        }
        AttributeType::Picklist | AttributeType::MultiSelectPicklist => {
            v["DefaultFormValue"] = json!(-1);
        }
        AttributeType::Status | AttributeType::State => {
            v["DefaultFormValue"] = json!(null);
        }
        _ => {}
    }
    if a.attribute_type.is_lookup() {
        v["Targets"] = json!(a.targets);
    }
    match v {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A table's definition with its audit setting (`IsAuditEnabled`, kept on the state).
fn entity_full(dv: &DataverseState, t: &TableMeta) -> Map<String, Value> {
    let mut map = entity_json(t);
    map.insert(
        "IsAuditEnabled".into(),
        dv.table_audit_property(&t.logical_name),
    );
    map
}

/// A column's definition with its audit setting (`IsAuditEnabled`, kept on the state).
fn attribute_full(dv: &DataverseState, t: &TableMeta, a: &AttributeMeta) -> Map<String, Value> {
    let mut map = attribute_json(t, a);
    map.insert(
        "IsAuditEnabled".into(),
        dv.column_audit_property(&t.logical_name, &a.logical_name),
    );
    map
}

/// Keeps `MetadataId` (always returned) and the selected properties.
fn select(mut map: Map<String, Value>, select: Option<&str>) -> Map<String, Value> {
    let Some(select) = select else { return map };
    let keep: Vec<&str> = select.split(',').map(str::trim).collect();
    map.retain(|k, _| k == "MetadataId" || k == "@odata.type" || keep.contains(&k.as_str()));
    map
}

fn path_value(map: &Map<String, Value>, path: &str) -> Value {
    let mut current = Value::Object(map.clone());
    for part in path.split('/') {
        current = current.get(part).cloned().unwrap_or(Value::Null);
    }
    current
}

fn parse_filter(filter: Option<&str>) -> Result<Option<query::Expr>, Response> {
    filter
        .map(query::parse_filter)
        .transpose()
        .map_err(bad_request)
}

/// Whether the full (unselected) metadata object passes the filter.
fn passes(expr: Option<&query::Expr>, item: &Map<String, Value>) -> bool {
    expr.is_none_or(|e| query::evaluate(e, &|p| path_value(item, p)))
}

/// Options inside `$expand=Attributes($select=...;$filter=...)`.
fn nested_options(options: Option<&str>) -> (Option<String>, Option<String>) {
    let mut sel = None;
    let mut fil = None;
    for part in options.unwrap_or("").split(';') {
        match part.split_once('=') {
            Some(("$select", v)) => sel = Some(v.to_owned()),
            Some(("$filter", v)) => fil = Some(v.to_owned()),
            _ => {}
        }
    }
    (sel, fil)
}

fn find_table<'a>(dv: &'a DataverseState, key: &str) -> Result<&'a TableMeta, Response> {
    let (name, value) = match key.split_once('=') {
        Some((name, value)) => (name.trim(), value.trim().trim_matches('\'')),
        None => ("MetadataId", key.trim().trim_matches('\'')),
    };
    let found = match name {
        "LogicalName" => dv.tables.iter().find(|t| t.logical_name == value),
        "MetadataId" => dv
            .tables
            .iter()
            .find(|t| t.metadata_id.eq_ignore_ascii_case(value)),
        other => {
            return Err(bad_request(format!(
                "'{other}' is not a valid key of EntityMetadata."
            )))
        }
    };
    found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "0x80040217",
            format!("Could not find entity with {name} '{value}'."),
        )
    })
}

fn find_attribute<'a>(t: &'a TableMeta, key: &str) -> Result<&'a AttributeMeta, Response> {
    let (name, value) = match key.split_once('=') {
        Some((name, value)) => (name.trim(), value.trim().trim_matches('\'')),
        None => ("MetadataId", key.trim().trim_matches('\'')),
    };
    let found = match name {
        "LogicalName" => t.attributes.iter().find(|a| a.logical_name == value),
        _ => t
            .attributes
            .iter()
            .find(|a| a.metadata_id.eq_ignore_ascii_case(value)),
    };
    found.ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "0x80040217",
            format!(
                "Could not find attribute with {name} '{value}' on entity '{}'.",
                t.logical_name
            ),
        )
    })
}

/// `Microsoft.Dynamics.CRM.PicklistAttributeMetadata` → the attribute types it covers.
fn cast_types(cast: &str) -> Option<Vec<AttributeType>> {
    let name = cast.strip_prefix(NS)?;
    let all = [
        AttributeType::String,
        AttributeType::Memo,
        AttributeType::Integer,
        AttributeType::BigInt,
        AttributeType::Decimal,
        AttributeType::Double,
        AttributeType::Money,
        AttributeType::DateTime,
        AttributeType::Boolean,
        AttributeType::Picklist,
        AttributeType::MultiSelectPicklist,
        AttributeType::State,
        AttributeType::Status,
        AttributeType::Lookup,
        AttributeType::Customer,
        AttributeType::Owner,
        AttributeType::Uniqueidentifier,
        AttributeType::EntityName,
    ];
    let types: Vec<AttributeType> = if name == "EnumAttributeMetadata" {
        vec![
            AttributeType::Picklist,
            AttributeType::MultiSelectPicklist,
            AttributeType::State,
            AttributeType::Status,
            AttributeType::Boolean,
        ]
    } else {
        all.into_iter()
            .filter(|t| t.metadata_type() == name)
            .collect()
    };
    (!types.is_empty()).then_some(types)
}

/// Renders one attribute with `$select` and (on cast types) `$expand=OptionSet,GlobalOptionSet`.
fn attribute_out(
    dv: &DataverseState,
    t: &TableMeta,
    a: &AttributeMeta,
    cast: bool,
    ctx: &Ctx,
) -> Result<Map<String, Value>, Response> {
    let mut map = select(attribute_full(dv, t, a), ctx.option("$select"));
    if let Some(expand) = ctx.option("$expand") {
        for item in split_top(expand) {
            let (nav, options) = split_key(item.trim());
            let (sel, _) = nested_options(options.as_deref());
            let is_option_nav = nav == "OptionSet" || nav == "GlobalOptionSet";
            if !is_option_nav || !cast || !a.attribute_type.has_options() {
                let on = if cast {
                    a.attribute_type.metadata_type()
                } else {
                    "AttributeMetadata"
                };
                return Err(bad_request(format!(
                    "Could not find a property named '{nav}' on type '{NS}{on}'."
                )));
            }
            let global = a.global_option_set.is_some();
            let set = option_set_json(t, a);
            let value = match (nav.as_str(), global) {
                ("GlobalOptionSet", true) => set,
                ("OptionSet", false) => set,
                ("OptionSet", true) if dv.global_options_in_option_set => set,
                _ => Value::Null,
            };
            let value = match value {
                Value::Object(m) => Value::Object(select(m, sel.as_deref())),
                other => other,
            };
            map.insert(nav, value);
        }
    }
    Ok(map)
}

pub(crate) fn split_top(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in input.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn entity_out(
    dv: &DataverseState,
    t: &TableMeta,
    ctx: &Ctx,
) -> Result<Map<String, Value>, Response> {
    let mut map = select(entity_full(dv, t), ctx.option("$select"));
    if let Some(expand) = ctx.option("$expand") {
        for item in split_top(expand) {
            let (nav, options) = split_key(item.trim());
            if nav != "Attributes" {
                return Err(bad_request(format!(
                    "Could not find a property named '{nav}' on type '{NS}EntityMetadata'."
                )));
            }
            let (sel, fil) = nested_options(options.as_deref());
            let expr = parse_filter(fil.as_deref())?;
            let attrs: Vec<Map<String, Value>> = t
                .attributes
                .iter()
                .map(|a| attribute_full(dv, t, a))
                .filter(|full| passes(expr.as_ref(), full))
                .map(|full| select(full, sel.as_deref()))
                .collect();
            map.insert(
                "Attributes".into(),
                Value::Array(attrs.into_iter().map(Value::Object).collect()),
            );
        }
    }
    Ok(map)
}

pub(crate) fn entity_definitions(
    dv: &mut DataverseState,
    ctx: &Ctx,
    key: Option<&str>,
    rest: &[String],
) -> Response {
    if ctx.method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "0x80060888",
            "Only GET is supported on EntityDefinitions by the sandbox.",
        );
    }
    let base = dv.api_base();
    let result: Result<Value, Response> = (|| {
        let Some(key) = key else {
            if let Some(segment) = rest.first() {
                return Err(segment_not_found(segment));
            }
            let expr = parse_filter(ctx.option("$filter"))?;
            let items = dv
                .tables
                .iter()
                .filter(|t| passes(expr.as_ref(), &entity_full(dv, t)))
                .map(|t| entity_out(dv, t, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(json!({
                "@odata.context": format!("{base}/$metadata#EntityDefinitions"),
                "value": items,
            }));
        };
        let t = find_table(dv, key)?;
        match rest {
            [] => {
                let mut out = Map::new();
                out.insert(
                    "@odata.context".into(),
                    json!(format!("{base}/$metadata#EntityDefinitions/$entity")),
                );
                out.extend(entity_out(dv, t, ctx)?);
                Ok(Value::Object(out))
            }
            [attrs, tail @ ..] => {
                let (name, attr_key) = split_key(attrs);
                if name != "Attributes" {
                    return Err(segment_not_found(&name));
                }
                let cast = match tail {
                    [] => None,
                    [cast] => Some(cast_types(cast).ok_or_else(|| segment_not_found(cast))?),
                    [_, more, ..] => return Err(segment_not_found(more)),
                };
                let context = format!(
                    "{base}/$metadata#EntityDefinitions('{}')/Attributes{}",
                    t.logical_name,
                    tail.first().map(|c| format!("/{c}")).unwrap_or_default()
                );
                match attr_key {
                    Some(attr_key) => {
                        let a = find_attribute(t, &attr_key)?;
                        if let Some(types) = &cast {
                            if !types.contains(&a.attribute_type) {
                                return Err(segment_not_found(tail[0].as_str()));
                            }
                        }
                        let mut out = Map::new();
                        out.insert("@odata.context".into(), json!(format!("{context}/$entity")));
                        out.extend(attribute_out(dv, t, a, cast.is_some(), ctx)?);
                        Ok(Value::Object(out))
                    }
                    None => {
                        let expr = parse_filter(ctx.option("$filter"))?;
                        let items = t
                            .attributes
                            .iter()
                            .filter(|a| {
                                cast.as_ref()
                                    .is_none_or(|types| types.contains(&a.attribute_type))
                            })
                            .filter(|a| passes(expr.as_ref(), &attribute_full(dv, t, a)))
                            .map(|a| attribute_out(dv, t, a, cast.is_some(), ctx))
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(json!({ "@odata.context": context, "value": items }))
                    }
                }
            }
        }
    })();
    match result {
        Ok(body) => json_response(StatusCode::OK, &body, &[]),
        Err(response) => response,
    }
}

pub(crate) fn global_option_sets(
    dv: &mut DataverseState,
    ctx: &Ctx,
    key: Option<&str>,
) -> Response {
    let _ = ctx;
    let mut sets = Vec::new();
    for t in &dv.tables {
        for a in &t.attributes {
            if let Some(name) = &a.global_option_set {
                if !sets.iter().any(|(n, _): &(String, Value)| n == name) {
                    sets.push((name.clone(), option_set_json(t, a)));
                }
            }
        }
    }
    let base = dv.api_base();
    match key {
        None => json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{base}/$metadata#GlobalOptionSetDefinitions"),
                "value": sets.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            }),
            &[],
        ),
        Some(key) => {
            let wanted = key
                .split_once('=')
                .map_or(key, |(_, v)| v)
                .trim()
                .trim_matches('\'');
            match sets
                .into_iter()
                .find(|(n, v)| n == wanted || v["MetadataId"] == wanted)
            {
                Some((_, mut v)) => {
                    v["@odata.context"] = json!(format!(
                        "{base}/$metadata#GlobalOptionSetDefinitions/$entity"
                    ));
                    json_response(StatusCode::OK, &v, &[])
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    "0x80040217",
                    format!("Could not find optionset with name '{wanted}'."),
                ),
            }
        }
    }
}

/// A small CSDL: entity types with their keys and properties, entity sets, and (with
/// `?annotations=true`) the change-tracking capability of each set.
pub(crate) fn csdl(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    let annotations = ctx.option("annotations") == Some("true");
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><edmx:Edmx Version=\"4.0\" xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\"><edmx:DataServices><Schema Namespace=\"Microsoft.Dynamics.CRM\" Alias=\"mscrm\" xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">");
    for t in &dv.tables {
        xml.push_str(&format!(
            "<EntityType Name=\"{}\"><Key><PropertyRef Name=\"{}\" /></Key>",
            t.logical_name, t.primary_id_attribute
        ));
        for a in &t.attributes {
            let name = if a.attribute_type.is_lookup() {
                format!("_{}_value", a.logical_name)
            } else {
                a.logical_name.clone()
            };
            let kind = match a.attribute_type {
                AttributeType::Integer
                | AttributeType::Picklist
                | AttributeType::State
                | AttributeType::Status => "Edm.Int32",
                AttributeType::BigInt => "Edm.Int64",
                AttributeType::Decimal | AttributeType::Money => "Edm.Decimal",
                AttributeType::Double => "Edm.Double",
                AttributeType::Boolean => "Edm.Boolean",
                AttributeType::DateTime if a.date_time_behavior.as_deref() == Some("DateOnly") => {
                    "Edm.Date"
                }
                AttributeType::DateTime => "Edm.DateTimeOffset",
                AttributeType::Uniqueidentifier
                | AttributeType::Lookup
                | AttributeType::Customer
                | AttributeType::Owner => "Edm.Guid",
                _ => "Edm.String",
            };
            xml.push_str(&format!("<Property Name=\"{name}\" Type=\"{kind}\" />"));
        }
        xml.push_str("</EntityType>");
    }
    xml.push_str("<EntityContainer Name=\"System\">");
    for t in &dv.tables {
        xml.push_str(&format!(
            "<EntitySet Name=\"{}\" EntityType=\"Microsoft.Dynamics.CRM.{}\">",
            t.entity_set_name, t.logical_name
        ));
        if annotations && t.change_tracking_enabled {
            xml.push_str("<Annotation Term=\"Org.OData.Capabilities.V1.ChangeTracking\"><Record><PropertyValue Property=\"Supported\" Bool=\"true\" /></Record></Annotation>");
        }
        xml.push_str("</EntitySet>");
    }
    xml.push_str("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>");
    let mut response = xml.into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/xml"));
    response
        .headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    response
}

#[cfg(test)]
mod tests {
    use super::attribute_json;
    use crate::generator::dataverse::tables;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn text_columns_say_their_format_as_dataverse_does() {
        let all = tables(&mut StdRng::seed_from_u64(1));
        let incident = all.iter().find(|t| t.logical_name == "incident").unwrap();
        let column = |name: &str| attribute_json(incident, incident.attribute(name).unwrap());
        let rich = column("cw_richnotes");
        assert_eq!(
            rich["@odata.type"],
            "#Microsoft.Dynamics.CRM.MemoAttributeMetadata"
        );
        // FormatName says RichText; the legacy Format enum has no such member.
        assert_eq!(rich["FormatName"], json!({"Value": "RichText"}));
        assert_eq!(rich["Format"], "TextArea");
        let plain = column("description");
        assert_eq!(plain["FormatName"], json!({"Value": "TextArea"}));
        assert_eq!(plain["Format"], "TextArea");
        let title = column("title");
        assert_eq!(title["FormatName"], json!({"Value": "Text"}));
        assert_eq!(title["Format"], "Text");
    }
}
