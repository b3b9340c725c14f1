//! Rows of entity sets (api/microsoft.md §F.4-F.6, F.8-F.10): list with `$select`, `$filter`,
//! `$orderby`, `$top`, `$count`, `$expand`; paging with XML paging cookies; change tracking;
//! single rows and properties; create, upsert/update with ETags, delete.

use super::query::{self, Expr, OrderBy};
use super::{
    bad_request, encode_query_value, error, json_response, no_content, percent_decode,
    percent_encode, row_not_found, segment_not_found, split_key, AttributeMeta, AttributeType, Ctx,
    DataverseState, LookupValue, Prefer, Privilege, Row, TableMeta, Tombstone,
};
use crate::generator::dataverse::{guid, iso};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

pub(crate) type Reply = Result<Response, Response>;

const FORMATTED: &str = "OData.Community.Display.V1.FormattedValue";
const LOOKUP_NAME: &str = "Microsoft.Dynamics.CRM.lookuplogicalname";
const NAV_PROPERTY: &str = "Microsoft.Dynamics.CRM.associatednavigationproperty";

pub(crate) fn dispatch(
    dv: &mut DataverseState,
    ctx: &Ctx,
    table: &str,
    key: Option<&str>,
    rest: &[String],
) -> Response {
    let meta = dv
        .table(table)
        .cloned()
        .expect("dispatch checked the table");
    let result = match (key, rest) {
        (None, []) => match ctx.method {
            Method::GET => list(dv, ctx, &meta),
            Method::POST => create(dv, ctx, &meta, None),
            _ => Err(method_not_allowed(ctx)),
        },
        (None, [count]) if count == "$count" && ctx.method == Method::GET => {
            count_rows(dv, ctx, &meta)
        }
        (Some(key), rest) => match parse_key(&meta, key) {
            Err(response) => Err(response),
            Ok(id) => match (rest, &ctx.method) {
                ([], &Method::GET) => get_one(dv, ctx, &meta, &id),
                ([], &Method::PATCH) => upsert(dv, ctx, &meta, &id),
                ([], &Method::DELETE) => delete(dv, ctx, &meta, &id),
                ([property], &Method::GET) => get_property(dv, ctx, &meta, &id, property, false),
                ([property, value], &Method::GET) if value == "$value" => {
                    get_property(dv, ctx, &meta, &id, property, true)
                }
                ([], _) => Err(method_not_allowed(ctx)),
                (segments, _) => Err(segment_not_found(&segments[0])),
            },
        },
        (None, segments) => Err(segment_not_found(&segments[0])),
    };
    result.unwrap_or_else(|response| response)
}

fn method_not_allowed(ctx: &Ctx) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "0x80060888",
        format!(
            "The HTTP method '{}' is not allowed for this resource.",
            ctx.method
        ),
    )
}

/// `(<guid>)` or `(incidentid=<guid>)` → the lower-case GUID.
fn parse_key(meta: &TableMeta, key: &str) -> Result<String, Response> {
    let value = match key.split_once('=') {
        Some((name, value)) if name.trim() == meta.primary_id_attribute => value.trim(),
        Some((name, _)) => {
            return Err(bad_request(format!(
                "'{}' is not a valid key or alternate key of entity '{}'.",
                name.trim(),
                meta.logical_name
            )))
        }
        None => key.trim(),
    };
    let value = value.trim_matches('\'').trim_matches(['{', '}']);
    if is_guid(value) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(bad_request(format!(
            "Bad Request - Error in query syntax. '{value}' is not a valid key for '{}'.",
            meta.entity_set_name
        )))
    }
}

pub(crate) fn is_guid(value: &str) -> bool {
    value.len() == 36
        && value.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn not_a_property(meta: &TableMeta, name: &str) -> Response {
    bad_request(format!(
        "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'.",
        meta.logical_name
    ))
}

/// The column behind a query property name: `_x_value` for lookups, the logical name otherwise.
fn column<'a>(meta: &'a TableMeta, name: &str) -> Option<&'a AttributeMeta> {
    if let Some(inner) = name
        .strip_prefix('_')
        .and_then(|n| n.strip_suffix("_value"))
    {
        return meta
            .attribute(inner)
            .filter(|a| a.attribute_type.is_lookup());
    }
    meta.attribute(name)
        .filter(|a| !a.attribute_type.is_lookup())
}

/// The stored value a filter or sort sees.
fn stored(meta: &TableMeta, row: &Row, name: &str) -> Value {
    if let Some(inner) = name
        .strip_prefix('_')
        .and_then(|n| n.strip_suffix("_value"))
    {
        return row
            .lookups
            .get(inner)
            .map_or(Value::Null, |l| Value::String(l.id.clone()));
    }
    if name == meta.primary_id_attribute {
        return Value::String(row.id.clone());
    }
    row.values.get(name).cloned().unwrap_or(Value::Null)
}

fn parse_select(
    meta: &TableMeta,
    ctx: &Ctx,
    option: Option<&str>,
) -> Result<Option<Vec<String>>, Response> {
    let _ = ctx;
    let Some(select) = option else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for name in select.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if column(meta, name).is_none() {
            return Err(not_a_property(meta, name));
        }
        names.push(name.to_owned());
    }
    Ok(Some(names))
}

fn parse_filter(meta: &TableMeta, option: Option<&str>) -> Result<Option<Expr>, Response> {
    let Some(filter) = option else {
        return Ok(None);
    };
    let expr = query::parse_filter(filter).map_err(bad_request)?;
    let mut names = Vec::new();
    query::properties(&expr, &mut names);
    for name in names {
        if column(meta, &name).is_none() {
            return Err(not_a_property(meta, &name));
        }
    }
    Ok(Some(expr))
}

fn parse_orderby(meta: &TableMeta, option: Option<&str>) -> Result<Vec<OrderBy>, Response> {
    let Some(orderby) = option else {
        return Ok(Vec::new());
    };
    let keys = query::parse_orderby(orderby).map_err(bad_request)?;
    for key in &keys {
        if column(meta, &key.property).is_none() {
            return Err(not_a_property(meta, &key.property));
        }
    }
    Ok(keys)
}

fn group(n: i128) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn format_decimal(value: f64, precision: usize, currency: bool) -> String {
    let text = format!("{:.*}", precision, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = group(whole.parse::<i128>().unwrap_or(0));
    let sign = if value < 0.0 { "-" } else { "" };
    let symbol = if currency { "$" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{symbol}{whole}")
    } else {
        format!("{sign}{symbol}{whole}.{fraction}")
    }
}

/// The formatted value (en-US, UTC) of a stored value.
fn formatted(attr: &AttributeMeta, value: &Value) -> Option<String> {
    match attr.attribute_type {
        AttributeType::Picklist | AttributeType::State | AttributeType::Status => {
            let v = value.as_i64()?;
            attr.options
                .iter()
                .find(|o| i64::from(o.value) == v)
                .map(|o| o.label.clone())
        }
        // The labels of the selected options, separated by "; " (Microsoft Learn, "Choices
        // columns": formatted values are a semicolon-separated string of the labels).
        AttributeType::MultiSelectPicklist => {
            let labels: Vec<String> = multi_values(value.as_str()?)?
                .into_iter()
                .map(|v| {
                    attr.options
                        .iter()
                        .find(|o| i64::from(o.value) == v)
                        .map_or_else(|| v.to_string(), |o| o.label.clone())
                })
                .collect();
            (!labels.is_empty()).then(|| labels.join("; "))
        }
        AttributeType::Boolean => {
            let v = i32::from(value.as_bool()?);
            attr.options
                .iter()
                .find(|o| o.value == v)
                .map(|o| o.label.clone())
        }
        AttributeType::Integer | AttributeType::BigInt => Some(group(i128::from(value.as_i64()?))),
        AttributeType::Decimal | AttributeType::Double => Some(format_decimal(
            value.as_f64()?,
            attr.precision.unwrap_or(2) as usize,
            false,
        )),
        AttributeType::Money => Some(format_decimal(value.as_f64()?, 2, true)),
        AttributeType::DateTime => {
            let at = query::parse_stored_datetime(value.as_str()?)?;
            let date = format!("{}/{}/{}", u8::from(at.month()), at.day(), at.year());
            if attr.date_time_behavior.as_deref() == Some("DateOnly") {
                return Some(date);
            }
            let (hour, meridiem) = match at.hour() {
                0 => (12, "AM"),
                h @ 1..=11 => (h, "AM"),
                12 => (12, "PM"),
                h => (h - 12, "PM"),
            };
            Some(format!("{date} {hour}:{:02} {meridiem}", at.minute()))
        }
        _ => None,
    }
}

/// The navigation property of a lookup for one target (`customerid_account`, `ownerid`).
pub(crate) fn nav_property(attr: &AttributeMeta, target: &str) -> String {
    if attr.targets.len() == 1 || attr.attribute_type == AttributeType::Owner {
        attr.logical_name.clone()
    } else {
        format!("{}_{target}", attr.logical_name)
    }
}

/// A row as the Web API returns it.
pub(crate) fn render(
    meta: &TableMeta,
    row: &Row,
    select: Option<&[String]>,
    prefer: &Prefer,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "@odata.etag".into(),
        json!(format!("W/\"{}\"", row.version)),
    );
    let want_formatted = prefer.wants(FORMATTED);
    let want_lookup_name = prefer.wants(LOOKUP_NAME);
    let want_nav = prefer.wants(NAV_PROPERTY);
    for attr in &meta.attributes {
        let key = if attr.attribute_type.is_lookup() {
            format!("_{}_value", attr.logical_name)
        } else {
            attr.logical_name.clone()
        };
        let is_id = attr.logical_name == meta.primary_id_attribute;
        if let Some(select) = select {
            if !is_id && !select.contains(&key) {
                continue;
            }
        }
        if attr.attribute_type.is_lookup() {
            match row.lookups.get(&attr.logical_name) {
                Some(lookup) => {
                    out.insert(key.clone(), json!(lookup.id));
                    if want_formatted {
                        out.insert(format!("{key}@{FORMATTED}"), json!(lookup.name));
                    }
                    if want_nav {
                        out.insert(
                            format!("{key}@{NAV_PROPERTY}"),
                            json!(nav_property(attr, &lookup.logical_name)),
                        );
                    }
                    if want_lookup_name {
                        out.insert(format!("{key}@{LOOKUP_NAME}"), json!(lookup.logical_name));
                    }
                }
                None => {
                    out.insert(key, Value::Null);
                }
            }
            continue;
        }
        let value = if is_id {
            json!(row.id)
        } else {
            row.values
                .get(&attr.logical_name)
                .cloned()
                .unwrap_or(Value::Null)
        };
        if want_formatted && !value.is_null() {
            if let Some(text) = formatted(attr, &value) {
                out.insert(format!("{key}@{FORMATTED}"), json!(text));
            }
        }
        out.insert(key, value);
    }
    out
}

fn context_url(
    dv: &DataverseState,
    meta: &TableMeta,
    select: Option<&[String]>,
    suffix: &str,
) -> String {
    let columns = select
        .map(|s| format!("({})", s.join(",")))
        .unwrap_or_default();
    format!(
        "{}/$metadata#{}{columns}{suffix}",
        dv.api_base(),
        meta.entity_set_name
    )
}

fn applied(prefer: &Prefer, extra: &[String]) -> Vec<(&'static str, String)> {
    let mut items: Vec<String> = extra.to_vec();
    if let Some(annotations) = &prefer.annotations {
        items.push(format!("odata.include-annotations=\"{annotations}\""));
    }
    if items.is_empty() {
        Vec::new()
    } else {
        vec![("preference-applied", items.join(","))]
    }
}

/// One item of `$expand`: navigation property and its `$select`.
struct ExpandItem {
    nav: String,
    select: Option<String>,
    top: Option<usize>,
}

fn parse_expand(option: Option<&str>) -> Result<Vec<ExpandItem>, Response> {
    let Some(expand) = option else {
        return Ok(Vec::new());
    };
    let mut items = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    let mut parts = Vec::new();
    for c in expand.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    for part in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (nav, options) = split_key(part);
        let mut item = ExpandItem {
            nav: nav.trim().to_owned(),
            select: None,
            top: None,
        };
        for option in options
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter(|o| !o.is_empty())
        {
            match option.split_once('=') {
                Some(("$select", v)) => item.select = Some(v.to_owned()),
                Some(("$top", v)) => item.top = v.parse().ok(),
                Some(("$filter" | "$orderby", _)) => {}
                _ => {
                    return Err(bad_request(format!(
                        "The query option '{option}' is not supported inside $expand."
                    )))
                }
            }
        }
        items.push(item);
    }
    Ok(items)
}

/// Adds expanded navigation properties to a rendered row.
fn expand(
    dv: &DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    row: &Row,
    items: &[ExpandItem],
    out: &mut Map<String, Value>,
) -> Result<(), Response> {
    for item in items {
        // Single-valued: a lookup's navigation property.
        let single = meta
            .attributes
            .iter()
            .filter(|a| a.attribute_type.is_lookup())
            .find_map(|attr| {
                attr.targets
                    .iter()
                    .find(|t| nav_property(attr, t) == item.nav)
                    .map(|t| (attr, t.clone()))
            });
        if let Some((attr, target)) = single {
            let target_meta = dv
                .table(&target)
                .ok_or_else(|| not_a_property(meta, &item.nav))?;
            ctx.require(dv, &target, Privilege::Read)?;
            let select = parse_select(target_meta, ctx, item.select.as_deref())?;
            let value = row
                .lookups
                .get(&attr.logical_name)
                .filter(|l| l.logical_name == target)
                .and_then(|l| dv.row(&target, &l.id))
                .map_or(Value::Null, |r| {
                    Value::Object(render(target_meta, r, select.as_deref(), &ctx.prefer))
                });
            out.insert(item.nav.clone(), value);
            continue;
        }
        // Collection-valued: the notes of the row (`Incident_Annotation`).
        if item
            .nav
            .eq_ignore_ascii_case(&format!("{}_annotation", meta.logical_name))
            || item
                .nav
                .eq_ignore_ascii_case(&format!("{}_annotations", meta.logical_name))
        {
            let notes = dv
                .table("annotation")
                .ok_or_else(|| not_a_property(meta, &item.nav))?;
            ctx.require(dv, "annotation", Privilege::Read)?;
            let select = parse_select(notes, ctx, item.select.as_deref())?;
            let values: Vec<Value> = dv
                .rows_of("annotation")
                .filter(|n| n.lookups.get("objectid").is_some_and(|l| l.id == row.id))
                .take(item.top.unwrap_or(usize::MAX))
                .map(|n| Value::Object(render(notes, n, select.as_deref(), &ctx.prefer)))
                .collect();
            out.insert(item.nav.clone(), Value::Array(values));
            continue;
        }
        return Err(not_a_property(meta, &item.nav));
    }
    Ok(())
}

// ---------------------------------------------------------------- paging cookies

/// `<cookie pagenumber="2" pagingcookie="..." istracking="False" />` (§F.5), with the inner
/// cookie double URL-encoded as the real service does.
pub(crate) fn skiptoken(
    id_attribute: &str,
    page: usize,
    last: &str,
    first: &str,
    tracking: Option<(u64, u64)>,
) -> String {
    let extra = tracking
        .map(|(from, to)| format!(" from=\"{from}\" to=\"{to}\""))
        .unwrap_or_default();
    let inner = format!(
        "<cookie page=\"{}\"{extra}><{id} last=\"{{{last}}}\" first=\"{{{first}}}\" /></cookie>",
        page - 1,
        id = id_attribute,
        last = last.to_uppercase(),
        first = first.to_uppercase(),
    );
    format!(
        "<cookie pagenumber=\"{page}\" pagingcookie=\"{}\" istracking=\"{}\" />",
        percent_encode(&percent_encode(&inner)),
        if tracking.is_some() { "True" } else { "False" }
    )
}

fn xml_attr(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = xml[start..].find('"')? + start;
    Some(xml[start..end].to_owned())
}

pub(crate) struct Cookie {
    pub page: usize,
    pub last: Option<String>,
    pub tracking: Option<(u64, u64)>,
}

pub(crate) fn parse_skiptoken(token: &str) -> Result<Cookie, Response> {
    let invalid = || bad_request("The $skiptoken value is not a valid paging cookie.");
    let page: usize = xml_attr(token, "pagenumber")
        .and_then(|p| p.parse().ok())
        .ok_or_else(invalid)?;
    let inner = percent_decode(&percent_decode(
        &xml_attr(token, "pagingcookie").unwrap_or_default(),
    ));
    let last = xml_attr(&inner, "last").map(|l| l.trim_matches(['{', '}']).to_ascii_lowercase());
    let tracking = match (xml_attr(&inner, "from"), xml_attr(&inner, "to")) {
        (Some(from), Some(to)) => Some((
            from.parse().map_err(|_| invalid())?,
            to.parse().map_err(|_| invalid())?,
        )),
        _ => None,
    };
    Ok(Cookie {
        page,
        last,
        tracking,
    })
}

/// The collection URL with the request's options, minus `drop`, plus `add`.
fn link(
    dv: &DataverseState,
    meta: &TableMeta,
    ctx: &Ctx,
    drop: &[&str],
    add: &[(&str, String)],
) -> String {
    let mut parts: Vec<String> = ctx
        .query
        .iter()
        .filter(|(k, _)| !drop.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
        .collect();
    for (k, v) in add {
        parts.push(format!("{k}={v}"));
    }
    let query = if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    };
    format!("{}/{}{query}", dv.api_base(), meta.entity_set_name)
}

// ---------------------------------------------------------------- list

fn list(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta) -> Reply {
    if ctx.option("$skip").is_some() {
        return Err(bad_request("The query parameter $skip is not supported."));
    }
    ctx.require(dv, &meta.logical_name, Privilege::Read)?;
    if ctx.prefer.track_changes || ctx.option("$deltatoken").is_some() {
        return changes(dv, ctx, meta);
    }
    let select = parse_select(meta, ctx, ctx.option("$select"))?;
    let filter = parse_filter(meta, ctx.option("$filter"))?;
    let orderby = parse_orderby(meta, ctx.option("$orderby"))?;
    let expand_items = parse_expand(ctx.option("$expand"))?;
    let top: Option<usize> = match ctx.option("$top") {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| {
            bad_request(format!("Invalid value '{v}' for $top query option found."))
        })?),
    };
    let (page_size, size_applied) = ctx.prefer.page_size();
    let mut rows: Vec<&Row> = dv
        .rows_of(&meta.logical_name)
        .filter(|row| {
            filter
                .as_ref()
                .is_none_or(|f| query::evaluate(f, &|p| stored(meta, row, p)))
        })
        .collect();
    if !orderby.is_empty() {
        rows.sort_by(|a, b| {
            for key in &orderby {
                let ordering = query::compare_values(
                    &stored(meta, a, &key.property),
                    &stored(meta, b, &key.property),
                );
                let ordering = if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                };
                if ordering.is_ne() {
                    return ordering;
                }
            }
            a.id.cmp(&b.id)
        });
    }
    // `$top` caps the total unless a page size is asked for (then it is ignored).
    if let (Some(top), false) = (top, size_applied) {
        rows.truncate(top);
    }
    let total = rows.len();
    let start = match ctx.option("$skiptoken") {
        None => 0,
        Some(token) => {
            let cookie = parse_skiptoken(token)?;
            cookie
                .last
                .and_then(|last| rows.iter().position(|r| r.id == last).map(|p| p + 1))
                .unwrap_or((cookie.page - 1) * page_size)
        }
    };
    let page: Vec<&Row> = rows.iter().skip(start).take(page_size).copied().collect();
    let mut values = Vec::with_capacity(page.len());
    for row in &page {
        let mut rendered = render(meta, row, select.as_deref(), &ctx.prefer);
        expand(dv, ctx, meta, row, &expand_items, &mut rendered)?;
        values.push(Value::Object(rendered));
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(dv, meta, select.as_deref(), "")),
    );
    if ctx.option("$count") == Some("true") {
        body.insert("@odata.count".into(), json!(total.min(5000)));
        if ctx
            .prefer
            .wants("Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded")
        {
            body.insert(
                "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded".into(),
                json!(total > 5000),
            );
        }
    }
    body.insert("value".into(), Value::Array(values));
    if start + page.len() < total {
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let page_number = start / page_size + 2;
            let token = skiptoken(
                &meta.primary_id_attribute,
                page_number,
                &last.id,
                &first.id,
                None,
            );
            body.insert(
                "@odata.nextLink".into(),
                json!(link(
                    dv,
                    meta,
                    ctx,
                    &["$skiptoken"],
                    &[("$skiptoken", percent_encode(&token))]
                )),
            );
        }
    }
    let extra: Vec<String> = if size_applied {
        vec![format!("odata.maxpagesize={page_size}")]
    } else {
        Vec::new()
    };
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(body),
        &applied(&ctx.prefer, &extra),
    ))
}

fn count_rows(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta) -> Reply {
    ctx.require(dv, &meta.logical_name, Privilege::Read)?;
    let count = match ctx.option("$deltatoken") {
        Some(token) => {
            let (from, _) = parse_delta_token(dv, ctx, token)?;
            delta_entries(dv, meta, Some(from), dv.current_version()).len()
        }
        None => dv.rows_of(&meta.logical_name).count().min(5000),
    };
    let mut response = count.to_string().into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    response
        .headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    Ok(response)
}

// ---------------------------------------------------------------- change tracking (§F.6)

/// Error code for change-tracking refusals [UNSURE: the notes give texts, not codes].
const CHANGE_TRACKING_CODE: &str = "0x80044352";

fn delta_token(version: u64, at: OffsetDateTime) -> String {
    format!(
        "{version}!{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        u8::from(at.month()),
        at.day(),
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `<version>!MM/dd/yyyy HH:mm:ss` → (version, issued at); expired tokens fail as documented.
fn parse_delta_token(
    dv: &DataverseState,
    ctx: &Ctx,
    token: &str,
) -> Result<(u64, OffsetDateTime), Response> {
    let invalid = || {
        error(
            StatusCode::BAD_REQUEST,
            CHANGE_TRACKING_CODE,
            format!("The delta token '{token}' is not valid."),
        )
    };
    let (version, stamp) = token.split_once('!').ok_or_else(invalid)?;
    let version: u64 = version.parse().map_err(|_| invalid())?;
    let format = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    let issued = time::PrimitiveDateTime::parse(stamp, format)
        .map_err(|_| invalid())?
        .assume_utc();
    let max_age =
        time::Duration::days(i64::try_from(dv.expire_change_tracking_days()).unwrap_or(90));
    if ctx.now - issued > max_age {
        return Err(error(
            StatusCode::from_u16(dv.expired_token_status).unwrap_or(StatusCode::BAD_REQUEST),
            CHANGE_TRACKING_CODE,
            "Version stamp associated with the client has expired. Please perform a full sync.",
        ));
    }
    Ok((version, issued))
}

enum DeltaEntry<'a> {
    Row(&'a Row),
    Deleted(String),
}

impl DeltaEntry<'_> {
    fn id(&self) -> &str {
        match self {
            DeltaEntry::Row(row) => &row.id,
            DeltaEntry::Deleted(id) => id,
        }
    }
}

/// New and changed rows (by version), then deletions; everything when `from` is None.
fn delta_entries<'a>(
    dv: &'a DataverseState,
    meta: &TableMeta,
    from: Option<u64>,
    to: u64,
) -> Vec<DeltaEntry<'a>> {
    let Some(from) = from else {
        return dv
            .rows_of(&meta.logical_name)
            .map(DeltaEntry::Row)
            .collect();
    };
    let mut changed: Vec<&Row> = dv
        .rows_of(&meta.logical_name)
        .filter(|r| r.version > from && r.version <= to)
        .collect();
    changed.sort_by_key(|r| r.version);
    let mut entries: Vec<DeltaEntry> = changed.into_iter().map(DeltaEntry::Row).collect();
    let mut deleted: Vec<&Tombstone> = dv
        .tombstones
        .iter()
        .filter(|t| t.table == meta.logical_name && t.version > from && t.version <= to)
        .collect();
    deleted.sort_by_key(|t| t.version);
    entries.extend(
        deleted
            .into_iter()
            .map(|t| DeltaEntry::Deleted(t.id.clone())),
    );
    entries
}

fn changes(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta) -> Reply {
    if !meta.change_tracking_enabled {
        return Err(error(
            StatusCode::BAD_REQUEST,
            CHANGE_TRACKING_CODE,
            format!(
                "Entity: {} isn't enabled for change tracking.",
                meta.logical_name
            ),
        ));
    }
    for option in ["$filter", "$orderby", "$expand", "$top"] {
        if ctx.option(option).is_some() {
            return Err(bad_request(format!(
                "The \"{option}\" query parameter isn't supported when Change Tracking is enabled."
            )));
        }
    }
    let select = parse_select(meta, ctx, ctx.option("$select"))?;
    let (page_size, size_applied) = ctx.prefer.page_size();
    let cookie = ctx.option("$skiptoken").map(parse_skiptoken).transpose()?;
    let delta = ctx.option("$deltatoken");
    let (from, to) = match (&cookie, delta) {
        (
            Some(Cookie {
                tracking: Some((from, to)),
                ..
            }),
            _,
        ) => ((*from != 0).then_some(*from), *to),
        (_, Some(token)) => (
            Some(parse_delta_token(dv, ctx, token)?.0),
            dv.current_version(),
        ),
        _ => (None, dv.current_version()),
    };
    let entries = delta_entries(dv, meta, from, to);
    let start = match &cookie {
        None => 0,
        Some(c) => c
            .last
            .as_ref()
            .and_then(|last| entries.iter().position(|e| e.id() == last).map(|p| p + 1))
            .unwrap_or((c.page - 1) * page_size),
    };
    let page: Vec<&DeltaEntry> = entries.iter().skip(start).take(page_size).collect();
    let deleted_context = format!(
        "{}/$metadata#{}/$deletedEntity",
        dv.api_base(),
        meta.entity_set_name
    );
    let values: Vec<Value> = page
        .iter()
        .map(|entry| match entry {
            DeltaEntry::Row(row) => {
                Value::Object(render(meta, row, select.as_deref(), &ctx.prefer))
            }
            DeltaEntry::Deleted(id) => {
                json!({"@odata.context": deleted_context, "id": id, "reason": "deleted"})
            }
        })
        .collect();
    let suffix = if from.is_some() { "/$delta" } else { "" };
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context_url(dv, meta, select.as_deref(), suffix)),
    );
    body.insert("value".into(), Value::Array(values));
    if start + page.len() < entries.len() {
        let (first, last) = (
            page.first().map_or("", |e| e.id()),
            page.last().map_or("", |e| e.id()),
        );
        let token = skiptoken(
            &meta.primary_id_attribute,
            start / page_size + 2,
            last,
            first,
            Some((from.unwrap_or(0), to)),
        );
        body.insert(
            "@odata.nextLink".into(),
            json!(link(
                dv,
                meta,
                ctx,
                &["$skiptoken"],
                &[("$skiptoken", percent_encode(&token))]
            )),
        );
    } else {
        let token = delta_token(to, ctx.now);
        body.insert(
            "@odata.deltaLink".into(),
            json!(link(
                dv,
                meta,
                ctx,
                &["$skiptoken", "$deltatoken"],
                &[("$deltatoken", percent_encode(&token))]
            )),
        );
    }
    let mut extra = vec!["odata.track-changes".to_owned()];
    if size_applied {
        extra.push(format!("odata.maxpagesize={page_size}"));
    }
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(body),
        &applied(&ctx.prefer, &extra),
    ))
}

// ---------------------------------------------------------------- single rows

fn etag_of(row: &Row) -> String {
    format!("W/\"{}\"", row.version)
}

fn etag_matches(header: &str, row: &Row) -> bool {
    let version = |s: &str| {
        s.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_owned()
    };
    header
        .split(',')
        .any(|h| version(h) == row.version.to_string())
}

fn get_one(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta, id: &str) -> Reply {
    ctx.require(dv, &meta.logical_name, Privilege::Read)?;
    let select = parse_select(meta, ctx, ctx.option("$select"))?;
    let expand_items = parse_expand(ctx.option("$expand"))?;
    let row = dv
        .row(&meta.logical_name, id)
        .ok_or_else(|| row_not_found(&meta.logical_name, id))?;
    if let Some(if_none_match) = ctx.header("if-none-match") {
        if if_none_match != "null"
            && expand_items.is_empty()
            && ctx.prefer.annotations.is_none()
            && etag_matches(if_none_match, row)
        {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(&etag_of(row)) {
                response.headers_mut().insert("etag", v);
            }
            return Ok(response);
        }
    }
    let mut body = render(meta, row, select.as_deref(), &ctx.prefer);
    expand(dv, ctx, meta, row, &expand_items, &mut body)?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(context_url(dv, meta, select.as_deref(), "/$entity")),
    );
    out.extend(body);
    Ok(json_response(
        StatusCode::OK,
        &Value::Object(out),
        &[applied(&ctx.prefer, &[]), vec![("etag", etag_of(row))]].concat(),
    ))
}

fn get_property(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    id: &str,
    property: &str,
    raw: bool,
) -> Reply {
    ctx.require(dv, &meta.logical_name, Privilege::Read)?;
    let attr = column(meta, property).ok_or_else(|| segment_not_found(property))?;
    let row = dv
        .row(&meta.logical_name, id)
        .ok_or_else(|| row_not_found(&meta.logical_name, id))?;
    let value = stored(meta, row, property);
    if raw {
        // `documentbody/$value` is the base64 text as text/plain (§F.8).
        let text = match &value {
            Value::Null => return Ok(StatusCode::NO_CONTENT.into_response()),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut response = text.into_response();
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain"));
        response
            .headers_mut()
            .insert("odata-version", HeaderValue::from_static("4.0"));
        return Ok(response);
    }
    if value.is_null() {
        return Ok(no_content(&[]));
    }
    let _ = attr;
    let body = json!({
        "@odata.context": format!("{}/$metadata#{}({id})/{property}", dv.api_base(), meta.entity_set_name),
        "value": value,
    });
    Ok(json_response(StatusCode::OK, &body, &[]))
}

// ---------------------------------------------------------------- writes

/// `/incidents(<guid>)` or an absolute URL → (table, id).
pub(crate) fn parse_bind(dv: &DataverseState, value: &str) -> Option<(String, String)> {
    let path = match value.find(super::API_PATH) {
        Some(i) => &value[i + super::API_PATH.len()..],
        None => value,
    };
    let (set, key) = split_key(path.trim_start_matches('/'));
    let table = dv.table_by_set(&set)?.logical_name.clone();
    let id = key?.trim_matches(['{', '}']).to_ascii_lowercase();
    is_guid(&id).then_some((table, id))
}

fn validation(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "0x80044331", message)
}

/// Applies a request body to a row: typed columns and `@odata.bind` lookups.
pub(crate) fn apply_body(
    dv: &DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    row: &mut Row,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<(), Response> {
    for (key, value) in body {
        if let Some(nav) = key.strip_suffix("@odata.bind") {
            let found = meta
                .attributes
                .iter()
                .filter(|a| a.attribute_type.is_lookup())
                .find_map(|attr| {
                    attr.targets
                        .iter()
                        .find(|t| nav_property(attr, t) == nav)
                        .map(|t| (attr, t.clone()))
                });
            let Some((attr, nav_target)) = found else {
                return Err(bad_request(format!(
                    "An undeclared property '{nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
                )));
            };
            if value.is_null() {
                row.lookups.remove(&attr.logical_name);
                continue;
            }
            let text = value.as_str().unwrap_or("");
            let (target, id) = parse_bind(dv, text).ok_or_else(|| {
                bad_request(format!(
                    "The URI '{text}' is not valid for binding '{nav}'."
                ))
            })?;
            if !attr.targets.contains(&target)
                || (nav_property(attr, &target) != nav
                    && nav_target != target
                    && attr.attribute_type != AttributeType::Owner)
            {
                return Err(bad_request(format!(
                    "The entity '{target}' is not a valid target of '{nav}'."
                )));
            }
            let target_row = dv
                .row(&target, &id)
                .ok_or_else(|| row_not_found(&target, &id))?;
            ctx.require(dv, &meta.logical_name, Privilege::Append)?;
            ctx.require(dv, &target, Privilege::AppendTo)?;
            let target_meta = dv.table(&target).expect("bound table exists");
            let name = target_row
                .values
                .get(&target_meta.primary_name_attribute)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            row.lookups.insert(
                attr.logical_name.clone(),
                LookupValue {
                    id,
                    logical_name: target.clone(),
                    name,
                },
            );
            if meta.logical_name == "annotation" && attr.logical_name == "objectid" {
                row.values.insert("objecttypecode".into(), json!(target));
            }
            continue;
        }
        if key.starts_with('@') || key.contains('@') {
            continue;
        }
        let Some(attr) = meta.attribute(key) else {
            return Err(bad_request(format!(
                "The property '{key}' does not exist on type 'Microsoft.Dynamics.CRM.{}'. Make sure to only use property names that are defined by the type.",
                meta.logical_name
            )));
        };
        if attr.attribute_type.is_lookup() {
            return Err(bad_request(format!(
                "Invalid property '{key}' was found in entity 'Microsoft.Dynamics.CRM.{}'. Use '{}@odata.bind' to set a lookup.",
                meta.logical_name,
                nav_property(attr, &attr.targets[0])
            )));
        }
        if key == &meta.primary_id_attribute {
            if creating {
                let id = value.as_str().filter(|s| is_guid(s)).ok_or_else(|| {
                    bad_request(format!("'{value}' is not a valid value for '{key}'."))
                })?;
                row.id = id.to_ascii_lowercase();
            }
            continue;
        }
        if !(if creating {
            attr.valid_for_create
        } else {
            attr.valid_for_update
        }) {
            continue; // read-only columns are ignored, as the platform does
        }
        let checked = check_value(meta, attr, value)?;
        row.values.insert(key.clone(), checked);
    }
    Ok(())
}

fn check_value(meta: &TableMeta, attr: &AttributeMeta, value: &Value) -> Result<Value, Response> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let wrong = || {
        bad_request(format!(
            "Cannot convert the literal '{value}' to the expected type '{}' of property '{}'.",
            edm_type(attr.attribute_type),
            attr.logical_name
        ))
    };
    let table = &meta.logical_name;
    match attr.attribute_type {
        AttributeType::String | AttributeType::Memo | AttributeType::EntityName => {
            let s = value.as_str().ok_or_else(wrong)?;
            if let Some(max) = attr.max_length {
                if s.chars().count() > max as usize && attr.logical_name != "documentbody" {
                    return Err(validation(format!(
                        "A validation error occurred. The length of the '{}' attribute of the '{table}' entity exceeded the maximum allowed length of '{max}'.",
                        attr.logical_name
                    )));
                }
            }
            Ok(value.clone())
        }
        AttributeType::Integer | AttributeType::BigInt => {
            value.as_i64().map(Value::from).ok_or_else(wrong)
        }
        AttributeType::Decimal | AttributeType::Double | AttributeType::Money => {
            value.as_f64().ok_or_else(wrong)?;
            Ok(value.clone())
        }
        AttributeType::Boolean => value.as_bool().map(Value::from).ok_or_else(wrong),
        AttributeType::Uniqueidentifier => {
            let s = value.as_str().filter(|s| is_guid(s)).ok_or_else(wrong)?;
            Ok(json!(s.to_ascii_lowercase()))
        }
        AttributeType::DateTime => {
            let s = value.as_str().ok_or_else(wrong)?;
            let at = query::parse_stored_datetime(s).ok_or_else(wrong)?;
            if attr.date_time_behavior.as_deref() == Some("DateOnly") {
                Ok(json!(format!(
                    "{:04}-{:02}-{:02}",
                    at.year(),
                    u8::from(at.month()),
                    at.day()
                )))
            } else {
                Ok(json!(iso(at)))
            }
        }
        AttributeType::Picklist | AttributeType::State | AttributeType::Status => {
            let v = value.as_i64().ok_or_else(wrong)?;
            if attr.options.iter().any(|o| i64::from(o.value) == v) {
                Ok(Value::from(v))
            } else {
                Err(validation(format!(
                    "A validation error occurred. The value {v} of '{}' on record of type '{table}' is outside the valid range.",
                    attr.logical_name
                )))
            }
        }
        // Written as a string of option values separated by commas ("1,3"), stored and read
        // back the same way; an empty string clears the column.
        AttributeType::MultiSelectPicklist => {
            let text = value.as_str().ok_or_else(wrong)?;
            let values = multi_values(text).ok_or_else(wrong)?;
            if let Some(v) = values
                .iter()
                .find(|v| !attr.options.iter().any(|o| i64::from(o.value) == **v))
            {
                return Err(validation(format!(
                    "A validation error occurred. The value {v} of '{}' on record of type '{table}' is outside the valid range.",
                    attr.logical_name
                )));
            }
            Ok(if values.is_empty() {
                Value::Null
            } else {
                Value::String(
                    values
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                )
            })
        }
        AttributeType::Lookup | AttributeType::Customer | AttributeType::Owner => Err(wrong()),
    }
}

/// The option values of a multi-select choice value (`"1,3"`), distinct, in order; `None`
/// when a part is not a whole number.
fn multi_values(text: &str) -> Option<Vec<i64>> {
    let mut out: Vec<i64> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v: i64 = part.parse().ok()?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Some(out)
}

fn edm_type(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::Integer
        | AttributeType::Picklist
        | AttributeType::State
        | AttributeType::Status => "Edm.Int32",
        AttributeType::BigInt => "Edm.Int64",
        AttributeType::Decimal | AttributeType::Money => "Edm.Decimal",
        AttributeType::Double => "Edm.Double",
        AttributeType::Boolean => "Edm.Boolean",
        AttributeType::DateTime => "Edm.DateTimeOffset",
        AttributeType::Uniqueidentifier => "Edm.Guid",
        _ => "Edm.String",
    }
}

/// Error code for state/status refusals [UNSURE].
const STATE_CODE: &str = "0x80040203";

/// The request that alone may move a `table` row to `state` (§F.9): the platform refuses a
/// plain update there. Reopening (statecode 0) and the other closed states are updates.
fn action_only_state(table: &str, state: i64) -> Option<&'static str> {
    match (table, state) {
        ("incident", 1) => Some("CloseIncidentRequest"),
        ("opportunity", 1) => Some("WinOpportunityRequest"),
        ("opportunity", 2) => Some("LoseOpportunityRequest"),
        _ => None,
    }
}

/// Completes and checks statecode/statuscode after a write (§F.9).
pub(crate) fn settle_state(
    meta: &TableMeta,
    row: &mut Row,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<(), Response> {
    let (Some(state_attr), Some(status_attr)) =
        (meta.attribute("statecode"), meta.attribute("statuscode"))
    else {
        return Ok(());
    };
    let has_state = body.get("statecode").is_some_and(|v| !v.is_null());
    let has_status = body.get("statuscode").is_some_and(|v| !v.is_null());
    let default_of = |state: i64| {
        state_attr
            .options
            .iter()
            .find(|o| i64::from(o.value) == state)
            .and_then(|o| o.default_status)
            .map(i64::from)
    };
    let state_of = |status: i64| {
        status_attr
            .options
            .iter()
            .find(|o| i64::from(o.value) == status)
            .and_then(|o| o.state)
            .map(i64::from)
    };
    let mut state = row.values.get("statecode").and_then(Value::as_i64);
    let mut status = row.values.get("statuscode").and_then(Value::as_i64);
    if has_state && !has_status {
        status = state.and_then(default_of);
    } else if has_status && !has_state {
        state = status.and_then(state_of);
    }
    if creating && state.is_none() {
        state = Some(0);
    }
    if status.is_none() {
        status = state.and_then(default_of);
    }
    let (Some(state), Some(status)) = (state, status) else {
        return Ok(());
    };
    if let Some(request) = (has_state || has_status)
        .then(|| action_only_state(&meta.logical_name, state))
        .flatten()
    {
        let label = state_attr
            .options
            .iter()
            .find(|o| i64::from(o.value) == state)
            .map_or_else(|| state.to_string(), |o| o.label.clone());
        let table = &meta.logical_name;
        return Err(error(
            StatusCode::BAD_REQUEST,
            STATE_CODE,
            format!("This message can not be used to set the state of {table} to {label}. In order to set state of {table} to {label}, use the {request} message instead."),
        ));
    }
    if state_of(status) != Some(state) {
        let label = state_attr
            .options
            .iter()
            .find(|o| i64::from(o.value) == state)
            .map_or_else(|| state.to_string(), |o| o.label.clone());
        return Err(error(
            StatusCode::BAD_REQUEST,
            STATE_CODE,
            format!("{status} is not a valid status code for state code {}State.{label} on {} with Id {}.", meta.schema_name, meta.logical_name, row.id),
        ));
    }
    row.values.insert("statecode".into(), json!(state));
    row.values.insert("statuscode".into(), json!(status));
    Ok(())
}

/// `0x80044a02` when a note's base64 body is over `maxuploadfilesize` (§F.8).
pub(crate) fn check_attachment(
    dv: &DataverseState,
    row: &mut Row,
    auto_isdocument: bool,
) -> Result<(), Response> {
    use base64::Engine as _;
    let Some(body) = row.values.get("documentbody").and_then(Value::as_str) else {
        return Ok(());
    };
    if body.len() as u64 > dv.max_upload_file_size() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "0x80044a02",
            "Attachment file size is too big.",
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| bad_request("The value of 'documentbody' is not a valid base64 string."))?;
    row.values.insert("filesize".into(), json!(bytes.len()));
    if auto_isdocument {
        row.values.insert("isdocument".into(), json!(true));
    }
    Ok(())
}

fn app_user_lookup(ctx: &Ctx) -> LookupValue {
    LookupValue {
        id: ctx.user.systemuser_id.clone(),
        logical_name: "systemuser".into(),
        name: ctx.user.name.clone(),
    }
}

/// Stamps modifiedon/modifiedby/version (and the created ones) on a written row.
///
/// Then writes the audit record of the change (`action` is its `audit.action`), when the
/// environment and the table are audited: the row as stored before is the "old value".
pub(crate) fn stamp(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    row: &mut Row,
    creating: bool,
    action: i32,
) {
    let audited = dv.organization_auditing() && dv.table_auditing(&meta.logical_name);
    let before = (audited && !creating)
        .then(|| dv.row(&meta.logical_name, &row.id).cloned())
        .flatten();
    stamp_columns(dv, ctx, meta, row, creating);
    if audited && (creating || before.is_some()) {
        dv.audit_write(ctx, meta, before.as_ref(), row, action);
    }
}

fn stamp_columns(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    row: &mut Row,
    creating: bool,
) {
    let now = json!(iso(ctx.now));
    let me = app_user_lookup(ctx);
    if creating {
        row.values.insert("createdon".into(), now.clone());
        row.lookups.insert("createdby".into(), me.clone());
        if meta.attribute("ownerid").is_some() && !row.lookups.contains_key("ownerid") {
            row.lookups.insert("ownerid".into(), me.clone());
        }
    }
    row.values.insert("modifiedon".into(), now);
    row.lookups.insert("modifiedby".into(), me);
    if matches!(meta.logical_name.as_str(), "lead" | "contact") {
        let first = row
            .values
            .get("firstname")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = row
            .values
            .get("lastname")
            .and_then(Value::as_str)
            .unwrap_or("");
        row.values.insert(
            "fullname".into(),
            json!(format!("{first} {last}").trim().to_owned()),
        );
    }
    row.version = dv.next_version();
    row.values
        .insert("versionnumber".into(), json!(row.version));
}

fn entity_id_header(dv: &DataverseState, meta: &TableMeta, id: &str) -> (&'static str, String) {
    (
        "odata-entityid",
        format!("{}/{}({id})", dv.api_base(), meta.entity_set_name),
    )
}

fn written(dv: &DataverseState, ctx: &Ctx, meta: &TableMeta, id: &str, created: bool) -> Reply {
    let row = dv.row(&meta.logical_name, id).expect("just written");
    let mut headers = vec![entity_id_header(dv, meta, id), ("etag", etag_of(row))];
    if ctx.prefer.return_representation {
        let select = parse_select(meta, ctx, ctx.option("$select"))?;
        let mut out = Map::new();
        out.insert(
            "@odata.context".into(),
            json!(context_url(dv, meta, select.as_deref(), "/$entity")),
        );
        out.extend(render(meta, row, select.as_deref(), &ctx.prefer));
        headers.extend(applied(&ctx.prefer, &["return=representation".to_owned()]));
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok(json_response(status, &Value::Object(out), &headers));
    }
    Ok(no_content(&headers))
}

fn create(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta, forced_id: Option<&str>) -> Reply {
    ctx.require(dv, &meta.logical_name, Privilege::Create)?;
    let body = ctx.json_body()?;
    let id = create_row(dv, ctx, meta, &body, forced_id)?;
    written(dv, ctx, meta, &id, true)
}

/// Creates a row from a body as `POST`/upserting `PATCH` do (defaults, state/status, ticket
/// number, note attachment checks, stamps); the caller checked the Create privilege.
pub(crate) fn create_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    body: &Map<String, Value>,
    forced_id: Option<&str>,
) -> Result<String, Response> {
    let mut row = Row {
        id: String::new(),
        version: 0,
        values: Default::default(),
        lookups: Default::default(),
    };
    apply_body(dv, ctx, meta, &mut row, body, true)?;
    if let Some(id) = forced_id {
        row.id = id.to_owned();
    }
    if row.id.is_empty() {
        row.id = new_id();
    }
    if dv.row(&meta.logical_name, &row.id).is_some() {
        return Err(error(
            StatusCode::PRECONDITION_FAILED,
            "0x80040237",
            "A record with matching key values already exists.",
        ));
    }
    settle_state(meta, &mut row, body, true)?;
    if meta.logical_name == "incident" && !row.values.contains_key("ticketnumber") {
        let n = dv.rows_of("incident").count() + 1000;
        row.values.insert(
            "ticketnumber".into(),
            json!(format!("CAS-{n:05}-{}", &row.id[..6].to_uppercase())),
        );
    }
    if meta.logical_name == "annotation" {
        check_attachment(dv, &mut row, dv.auto_isdocument)?;
        row.values
            .entry("isdocument".to_owned())
            .or_insert(json!(false));
        row.values.entry("filesize".to_owned()).or_insert(json!(0));
    }
    stamp(dv, ctx, meta, &mut row, true, super::audit::ACTION_CREATE);
    let id = row.id.clone();
    dv.rows
        .entry(meta.logical_name.clone())
        .or_default()
        .insert(id.clone(), row);
    Ok(id)
}

fn upsert(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta, id: &str) -> Reply {
    let existing = dv.row(&meta.logical_name, id).cloned();
    if let Some(if_match) = ctx.header("if-match") {
        let Some(row) = &existing else {
            return Err(row_not_found(&meta.logical_name, id));
        };
        if if_match.trim() != "*" && !etag_matches(if_match, row) {
            return Err(error(
                StatusCode::PRECONDITION_FAILED,
                &dv.concurrency_error_code,
                "The version of the existing record doesn't match the RowVersion property provided.",
            ));
        }
    }
    if ctx.header("if-none-match").is_some_and(|v| v.trim() == "*") && existing.is_some() {
        return Err(error(
            StatusCode::PRECONDITION_FAILED,
            "0x80040237",
            "A record with matching key values already exists.",
        ));
    }
    let Some(mut row) = existing else {
        return create(dv, ctx, meta, Some(id));
    };
    ctx.require(dv, &meta.logical_name, Privilege::Write)?;
    let body = ctx.json_body()?;
    update_existing(dv, ctx, meta, &mut row, &body)?;
    written(dv, ctx, meta, id, false)
}

/// Updates an existing row from a body as an updating `PATCH` does (checks, state/status rules,
/// stamps: new version, `modifiedon`); the caller checked the Write privilege and ETags.
pub(crate) fn update_existing(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    row: &mut Row,
    body: &Map<String, Value>,
) -> Result<(), Response> {
    apply_body(dv, ctx, meta, row, body, false)?;
    settle_state(meta, row, body, false)?;
    if meta.logical_name == "annotation" && body.contains_key("documentbody") {
        check_attachment(dv, row, dv.auto_isdocument)?;
    }
    stamp(dv, ctx, meta, row, false, super::audit::ACTION_UPDATE);
    dv.rows
        .entry(meta.logical_name.clone())
        .or_default()
        .insert(row.id.clone(), row.clone());
    Ok(())
}

/// Removes a row, leaving a tombstone for change tracking; notes regarding it go too.
pub(crate) fn remove_row(dv: &mut DataverseState, table: &str, id: &str) {
    if dv.rows.get_mut(table).and_then(|t| t.remove(id)).is_none() {
        return;
    }
    let version = dv.next_version();
    dv.tombstones.push(Tombstone {
        table: table.to_owned(),
        id: id.to_owned(),
        version,
    });
    let notes: Vec<String> = dv
        .rows_of("annotation")
        .filter(|n| n.lookups.get("objectid").is_some_and(|l| l.id == id))
        .map(|n| n.id.clone())
        .collect();
    for note in notes {
        remove_row(dv, "annotation", &note);
    }
}

fn delete(dv: &mut DataverseState, ctx: &Ctx, meta: &TableMeta, id: &str) -> Reply {
    let row = dv
        .row(&meta.logical_name, id)
        .ok_or_else(|| row_not_found(&meta.logical_name, id))?;
    if let Some(if_match) = ctx.header("if-match") {
        if if_match.trim() != "*" && !etag_matches(if_match, row) {
            return Err(error(
                StatusCode::PRECONDITION_FAILED,
                &dv.concurrency_error_code,
                "The version of the existing record doesn't match the RowVersion property provided.",
            ));
        }
    }
    ctx.require(dv, &meta.logical_name, Privilege::Delete)?;
    remove_row(dv, &meta.logical_name, id);
    Ok(no_content(&[]))
}

/// Creates a row from an action (CloseIncident's resolution, block-upload commits).
pub(crate) fn insert_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    mut row: Row,
) -> String {
    stamp(dv, ctx, meta, &mut row, true, super::audit::ACTION_CREATE);
    let id = row.id.clone();
    dv.rows
        .entry(meta.logical_name.clone())
        .or_default()
        .insert(id.clone(), row);
    id
}

/// Replaces a row after an action changed it (new version and modifiedon); `action` is the
/// `audit.action` of its audit record.
pub(crate) fn update_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    meta: &TableMeta,
    mut row: Row,
    action: i32,
) {
    stamp(dv, ctx, meta, &mut row, false, action);
    dv.rows
        .entry(meta.logical_name.clone())
        .or_default()
        .insert(row.id.clone(), row);
}

/// A fresh random GUID (server-assigned ids).
pub(crate) fn new_id() -> String {
    let seed: u64 = rand::Rng::random(&mut rand::rng());
    guid(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed))
}
