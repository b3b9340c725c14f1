//! Delta queries for users, groups, applications and devices (api/microsoft.md §C): initial
//! rounds paged with `@odata.nextLink` and ended by `@odata.deltaLink`, `$deltatoken=latest`,
//! incremental rounds replayed from the directory's change log, `@removed`, `members@delta`
//! split across pages (the group repeated), `manager@delta`, `Prefer: return=minimal`, and the
//! resync answers for expired or unknown tokens.
//!
//! Cost per page stays flat at Large scale: an incremental round's changes are aggregated once
//! and reused by its later pages ([`RoundCache`]), and a group's `members@delta` entries are
//! built a page slice at a time, not the whole membership for every page the group spans.

use super::query::{parse_filter, Expr, Lit, Op, PageToken, Query};
use super::repr::{self, project, USER_DEFAULT};
use super::{error, respond, Ctx, DeltaResync, GraphState};
use crate::generator::directory::{Directory, Kind, Member, RemovedReason, What};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

fn segment(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
        Kind::Application => "applications",
        Kind::Device => "devices",
        Kind::ManagedDevice => "deviceManagement/managedDevices",
    }
}

fn route(kind: Kind) -> String {
    format!("delta:{}", segment(kind))
}

fn unsupported(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message)
}

/// The answer to an expired or unknown delta token.
fn resync(how: DeltaResync, ctx: &Ctx, kind: Kind) -> Response {
    match how {
        DeltaResync::SyncStateNotFound => error(
            StatusCode::BAD_REQUEST,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        ),
        DeltaResync::ResyncRequired => error(
            StatusCode::BAD_REQUEST,
            "resyncRequired",
            "Resync required. Replace any local items with the server's items. Delete any local items not in the server's items.",
        ),
        DeltaResync::Gone => {
            let mut response = error(
                StatusCode::GONE,
                "syncStateNotFound",
                "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
            );
            let location = format!("{}/v1.0/{}/delta?$deltatoken=", ctx.base, segment(kind));
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert("location", value);
            }
            response
        }
    }
}

/// `id eq 'a' or id eq 'b'` (at most 50) → the ids; anything else is unsupported on delta.
fn id_filter(expr: &Expr, out: &mut Vec<String>) -> bool {
    match expr {
        Expr::Or(a, b) => id_filter(a, out) && id_filter(b, out),
        Expr::Cmp(p, Op::Eq, Lit::Str(id)) if p.eq_ignore_ascii_case("id") => {
            out.push(id.to_ascii_lowercase());
            true
        }
        _ => false,
    }
}

/// What the round tracks, from the first request's query.
struct Tracking {
    select: Option<Vec<String>>,
    members: bool,
    manager: bool,
    ids: Option<Vec<String>>,
}

fn tracking(query: &Query, kind: Kind) -> Result<Tracking, Response> {
    let members = kind == Kind::Group
        && (query.selects("members")
            || query
                .expand
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("members")));
    let manager = kind == Kind::User && query.selects("manager");
    let mut ids = None;
    if let Some(filter) = &query.filter {
        let mut list = Vec::new();
        let ok = parse_filter(filter).is_ok_and(|expr| id_filter(&expr, &mut list));
        if !ok || list.len() > 50 {
            return Err(unsupported(
                "Only 'id eq' filters, or-ed together (at most 50), are supported with delta.",
            ));
        }
        ids = Some(list);
    }
    let select = match &query.select {
        Some(select) => {
            let mut tracked = Vec::new();
            for name in select {
                if (kind == Kind::Group && name.eq_ignore_ascii_case("members"))
                    || (kind == Kind::User && name.eq_ignore_ascii_case("manager"))
                {
                    continue;
                }
                if kind == Kind::User
                    && repr::USER_SINGLE_ONLY
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(name))
                {
                    return Err(error(
                        StatusCode::NOT_IMPLEMENTED,
                        "NotImplemented",
                        "This operation target is not yet supported.",
                    ));
                }
                if !repr::known_properties(kind)
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(name))
                {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "Request_BadRequest",
                        &format!(
                            "Could not find a property named '{name}' on type '{}'.",
                            repr::type_name(kind)
                        ),
                    ));
                }
                tracked.push(name.clone());
            }
            Some(tracked)
        }
        None if kind == Kind::User => Some(USER_DEFAULT.iter().map(|s| (*s).to_owned()).collect()),
        None => None,
    };
    Ok(Tracking {
        select,
        members,
        manager,
        ids,
    })
}

/// The options delta does not take (§C.3).
fn check_options(query: &Query, kind: Kind) -> Result<(), Response> {
    for (name, present) in [
        ("$top", query.top.is_some()),
        ("$orderby", query.orderby.is_some()),
        ("$search", query.search.is_some()),
        ("$count", query.count),
        ("$skip", query.skip.is_some()),
    ] {
        if present {
            return Err(unsupported(&format!(
                "The query option '{name}' is not supported with delta."
            )));
        }
    }
    if let Some(expand) = &query.expand {
        if !(kind == Kind::Group && expand.eq_ignore_ascii_case("members")) {
            return Err(unsupported(
                "The query option '$expand' is not supported with delta.",
            ));
        }
    }
    Ok(())
}

/// Where a group's `members@delta` entries come from (built per page slice).
#[derive(Clone, Copy)]
enum Members<'a> {
    /// Not tracked or nothing to say: no `members@delta`.
    None,
    /// The current members, all as added (initial rounds, groups created in the round).
    Current(&'a [Member]),
    /// The round's membership changes (added or removed).
    Changes(&'a [(Member, bool)]),
}

impl Members<'_> {
    fn len(self) -> Option<usize> {
        match self {
            Members::None => None,
            Members::Current(list) => Some(list.len()),
            Members::Changes(list) => Some(list.len()),
        }
    }

    fn entry(self, i: usize) -> Value {
        match self {
            Members::None => Value::Null,
            Members::Current(list) => member_entry(&list[i], true),
            Members::Changes(list) => member_entry(&list[i].0, list[i].1),
        }
    }
}

/// An object's representation and, for groups, its `members@delta` entries.
type Entry<'a> = (Map<String, Value>, Members<'a>);

/// One object's changes within a round.
#[derive(Debug, Default)]
struct Agg {
    id: String,
    created: bool,
    removed: Option<RemovedReason>,
    props: Vec<&'static str>,
    members: Vec<(Member, bool)>,
    manager: Option<(Option<String>, Option<String>)>,
}

/// A round's changes per object, in first-change order; each member once, at its last change.
fn aggregate(dir: &Directory, kind: Kind, from: u64, to: u64) -> Vec<Agg> {
    let mut order: Vec<Agg> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    // Per object: its member changes (a member's earlier ones blanked) and where each member's
    // latest is, so a group with many member changes aggregates in linear time.
    type MemberChanges<'d> = (Vec<Option<(Member, bool)>>, HashMap<&'d str, usize>);
    let mut members: Vec<MemberChanges<'_>> = Vec::new();
    for change in dir.changes_between(from, to) {
        if change.kind != kind {
            continue;
        }
        let i = *index.entry(change.id.as_str()).or_insert_with(|| {
            order.push(Agg {
                id: change.id.clone(),
                ..Agg::default()
            });
            members.push(Default::default());
            order.len() - 1
        });
        let agg = &mut order[i];
        match &change.what {
            What::Created => {
                agg.created = true;
                agg.removed = None;
            }
            What::Removed(reason) => agg.removed = Some(*reason),
            What::Updated(props) => {
                for p in props {
                    if !agg.props.contains(p) {
                        agg.props.push(p);
                    }
                }
            }
            What::MemberAdded(m) | What::MemberRemoved(m) => {
                let added = matches!(change.what, What::MemberAdded(_));
                let (list, latest) = &mut members[i];
                if let Some(earlier) = latest.insert(m.id.as_str(), list.len()) {
                    list[earlier] = None;
                }
                list.push(Some((m.clone(), added)));
            }
            What::ManagerChanged { from, to } => {
                let first = agg
                    .manager
                    .as_ref()
                    .map_or(from.clone(), |(f, _)| f.clone());
                agg.manager = Some((first, to.clone()));
            }
        }
    }
    for (agg, (list, _)) in order.iter_mut().zip(members) {
        agg.members = list.into_iter().flatten().collect();
    }
    order
}

/// The aggregates of the last few incremental rounds served, so that every page of a round
/// does not aggregate the round's changes again (which made a round quadratic in its changes).
#[derive(Debug, Default)]
pub(super) struct RoundCache {
    /// Most recent last.
    entries: Vec<(RoundKey, Arc<Vec<Agg>>)>,
}

/// A round: kind, `from`, `to`, and where and how long the change log's slice for it is (a
/// replaced directory or a reallocated log is a different slice: aggregated again).
type RoundKey = (Kind, u64, u64, usize, usize);

impl RoundCache {
    const KEEP: usize = 8;

    fn aggregate(&mut self, dir: &Directory, kind: Kind, from: u64, to: u64) -> Arc<Vec<Agg>> {
        let slice = dir.changes_between(from, to);
        let key = (kind, from, to, slice.as_ptr() as usize, slice.len());
        if let Some(i) = self.entries.iter().position(|(k, _)| *k == key) {
            let entry = self.entries.remove(i);
            let aggs = Arc::clone(&entry.1);
            self.entries.push(entry);
            return aggs;
        }
        let aggs = Arc::new(aggregate(dir, kind, from, to));
        if self.entries.len() >= Self::KEEP {
            self.entries.remove(0);
        }
        self.entries.push((key, Arc::clone(&aggs)));
        aggs
    }
}

fn member_entry(member: &Member, added: bool) -> Value {
    if added {
        json!({"@odata.type": member.kind.odata_type(), "id": member.id})
    } else {
        json!({"@odata.type": member.kind.odata_type(), "id": member.id, "@removed": {"reason": "deleted"}})
    }
}

fn manager_delta(from: Option<&str>, to: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(from) = from.filter(|f| Some(*f) != to) {
        out.push(json!({"@odata.type": Kind::User.odata_type(), "id": from, "@removed": {"reason": "deleted"}}));
    }
    if let Some(to) = to {
        out.push(json!({"@odata.type": Kind::User.odata_type(), "id": to}));
    }
    out
}

/// Appends an object's entries (one per `members@delta` slice) from slice `sub` on, while the
/// page has room. Returns the slice to resume at, or `None` when the object is done.
fn push_slices(
    page: &mut Vec<Value>,
    page_size: usize,
    base: &Map<String, Value>,
    members: Members<'_>,
    per_page: usize,
    mut sub: usize,
) -> Option<usize> {
    let Some(count) = members.len() else {
        page.push(Value::Object(base.clone()));
        return None;
    };
    let per_page = per_page.max(1);
    let slices = count.div_ceil(per_page).max(1);
    while sub < slices {
        if page.len() >= page_size {
            return Some(sub);
        }
        let mut item = base.clone();
        let slice: Vec<Value> = (sub * per_page..count.min((sub + 1) * per_page))
            .map(|i| members.entry(i))
            .collect();
        item.insert("members@delta".into(), Value::Array(slice));
        page.push(Value::Object(item));
        sub += 1;
    }
    None
}

/// `GET /{users|groups|applications|devices}/delta`.
pub(super) fn delta(state: &mut GraphState, ctx: &Ctx, query: Query, kind: Kind) -> Response {
    let now = ctx.now.unix_timestamp();
    let version = state.directory.version();
    // Where this request starts: (query, from, to, position, slice, round start).
    let (query, from, to, mut position, mut sub, started) = if let Some(token) = &query.skiptoken {
        match PageToken::decode(token).filter(|t| t.r == route(kind)) {
            Some(t) => (Query::parse(Some(&t.q)), t.f, t.v, t.o, t.s, t.t),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Directory_ExpiredPageToken",
                    "The specified page token value has expired and can no longer be included in your request.",
                )
            }
        }
    } else if let Some(token) = query.deltatoken.clone().filter(|t| !t.is_empty()) {
        if token.eq_ignore_ascii_case("latest") {
            if let Err(response) =
                check_options(&query, kind).and_then(|_| tracking(&query, kind).map(|_| ()))
            {
                return response;
            }
            let link = PageToken {
                r: route(kind),
                q: query.original.clone(),
                o: 0,
                s: 0,
                f: None,
                v: version,
                t: now,
            };
            return page(ctx, kind, Vec::new(), None, Some(link), false);
        }
        if let Some(forced) = state.delta.force_resync_next.take() {
            return resync(forced, ctx, kind);
        }
        let Some(t) = PageToken::decode(&token).filter(|t| t.r == route(kind)) else {
            return resync(state.delta.expired, ctx, kind);
        };
        if now - t.t > state.delta.token_ttl_secs {
            return resync(state.delta.expired, ctx, kind);
        }
        (Query::parse(Some(&t.q)), Some(t.v), version, 0, 0, now)
    } else {
        if let Err(response) = check_options(&query, kind) {
            return response;
        }
        (query, None, version, 0, 0, now)
    };
    let tracking = match tracking(&query, kind) {
        Ok(t) => t,
        Err(response) => return response,
    };
    let minimal = ctx.minimal();
    let dir = &state.directory;
    let page_size = state.delta.page_size.max(1);
    let per_page = state.delta.members_per_page;
    let select = tracking.select.as_deref();
    let wanted = |id: &str| {
        tracking
            .ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|i| i.eq_ignore_ascii_case(id)))
    };
    let current_members = |id: &str| -> Members<'_> {
        Members::Current(dir.groups.get(id).map_or(&[][..], |g| &g.members[..]))
    };
    let current_manager = |id: &str| dir.users.get(id).and_then(|u| u.manager_id.clone());
    let mut items: Vec<Value> = Vec::new();
    let mut done = false;
    match from {
        None => loop {
            if items.len() >= page_size {
                break;
            }
            let Some(found) = repr::at(dir, kind, position) else {
                done = true;
                break;
            };
            let Some(full) = found else {
                position += 1;
                continue;
            };
            let id = full
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if !wanted(&id) {
                position += 1;
                continue;
            }
            let mut base = project(&full, kind, select, true);
            if tracking.manager {
                if let Some(m) = current_manager(&id) {
                    base.insert(
                        "manager@delta".into(),
                        Value::Array(manager_delta(None, Some(&m))),
                    );
                }
            }
            let members = if tracking.members {
                current_members(&id)
            } else {
                Members::None
            };
            match push_slices(&mut items, page_size, &base, members, per_page, sub) {
                Some(resume) => {
                    sub = resume;
                    break;
                }
                None => {
                    sub = 0;
                    position += 1;
                }
            }
        },
        Some(from) => {
            let aggs = state.delta_rounds.aggregate(dir, kind, from, to);
            loop {
                if items.len() >= page_size {
                    break;
                }
                let Some(agg) = aggs.get(position) else {
                    done = true;
                    break;
                };
                let full = repr::object(dir, kind, &agg.id);
                if !wanted(&agg.id) {
                    position += 1;
                    continue;
                }
                let entry: Option<Entry> = match (&full, agg.removed) {
                    (None, Some(reason)) => {
                        let mut removed = Map::new();
                        removed.insert("id".into(), json!(agg.id));
                        removed.insert("@removed".into(), json!({"reason": reason.as_str()}));
                        Some((removed, Members::None))
                    }
                    (None, None) => None,
                    (Some(full), _) if agg.created => {
                        let mut base = project(full, kind, select, true);
                        if tracking.manager {
                            if let Some(m) = current_manager(&agg.id) {
                                base.insert(
                                    "manager@delta".into(),
                                    Value::Array(manager_delta(None, Some(&m))),
                                );
                            }
                        }
                        let members = if tracking.members {
                            current_members(&agg.id)
                        } else {
                            Members::None
                        };
                        Some((base, members))
                    }
                    (Some(full), _) => {
                        let relevant: Vec<&str> = agg
                            .props
                            .iter()
                            .copied()
                            .filter(|p| {
                                select.is_none_or(|s| s.iter().any(|x| x.eq_ignore_ascii_case(p)))
                            })
                            .collect();
                        let members = if tracking.members && !agg.members.is_empty() {
                            Members::Changes(&agg.members)
                        } else {
                            Members::None
                        };
                        let manager = agg
                            .manager
                            .as_ref()
                            .filter(|_| tracking.manager)
                            .map(|(f, t)| manager_delta(f.as_deref(), t.as_deref()))
                            .filter(|m| !m.is_empty());
                        if relevant.is_empty()
                            && matches!(members, Members::None)
                            && manager.is_none()
                        {
                            None
                        } else {
                            let mut base = if minimal {
                                let names: Vec<String> =
                                    relevant.iter().map(|s| (*s).to_owned()).collect();
                                project(full, kind, Some(&names), true)
                            } else {
                                project(full, kind, select, true)
                            };
                            if let Some(manager) = manager {
                                base.insert("manager@delta".into(), Value::Array(manager));
                            }
                            Some((base, members))
                        }
                    }
                };
                let Some((base, members)) = entry else {
                    position += 1;
                    continue;
                };
                match push_slices(&mut items, page_size, &base, members, per_page, sub) {
                    Some(resume) => {
                        sub = resume;
                        break;
                    }
                    None => {
                        sub = 0;
                        position += 1;
                    }
                }
            }
        }
    }
    let token = PageToken {
        r: route(kind),
        q: query.original.clone(),
        o: position,
        s: sub,
        f: from,
        v: to,
        t: if done { now } else { started },
    };
    if done {
        page(ctx, kind, items, None, Some(token), minimal)
    } else {
        page(ctx, kind, items, Some(token), None, minimal)
    }
}

fn page(
    ctx: &Ctx,
    kind: Kind,
    items: Vec<Value>,
    next: Option<PageToken>,
    delta: Option<PageToken>,
    minimal: bool,
) -> Response {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#{}", ctx.base, segment(kind))),
    );
    if let Some(next) = next {
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/v1.0/{}/delta?$skiptoken={}",
                ctx.base,
                segment(kind),
                next.encode()
            )),
        );
    }
    if let Some(delta) = delta {
        let token = PageToken {
            o: 0,
            s: 0,
            f: None,
            ..delta
        };
        body.insert(
            "@odata.deltaLink".into(),
            json!(format!(
                "{}/v1.0/{}/delta?$deltatoken={}",
                ctx.base,
                segment(kind),
                token.encode()
            )),
        );
    }
    body.insert("value".into(), Value::Array(items));
    let mut response = respond(StatusCode::OK, &Value::Object(body));
    if minimal {
        response.headers_mut().insert(
            "preference-applied",
            HeaderValue::from_static("return=minimal"),
        );
    }
    response
}
