//! List and single-object endpoints: paging with opaque `$skiptoken`s, `$select`, `$top`,
//! `$filter`, `$count`, `$search`, `$orderby`, `$expand` (in `expand`; api/microsoft.md §B, §D.4).

use super::expand;
use super::query::{parse_filter, Expr, PageToken, Query};
use super::repr::{self, project};
use super::{error, not_found, respond, Ctx, GraphState};
use crate::generator::directory::{Directory, Kind, Member};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Where a list's items come from.
enum Source {
    Table(Kind),
    Refs(Vec<Member>),
}

/// One list endpoint.
struct Spec {
    /// Route key stored in page tokens (a token is only valid on its own list).
    route: String,
    /// Path after `/v1.0/` for nextLinks.
    link: String,
    /// `@odata.context` fragment.
    context: String,
    /// The item type for typed collections (`None` = directoryObjects).
    kind: Option<Kind>,
    source: Source,
    intune: bool,
}

fn bad_request(code: &str, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, message)
}

fn unknown_property(name: &str, kind: Kind) -> Response {
    bad_request(
        "Request_BadRequest",
        &format!(
            "Could not find a property named '{name}' on type '{}'.",
            repr::type_name(kind)
        ),
    )
}

fn unsupported_filter(property: &str, kind: Kind) -> Response {
    bad_request(
        "Request_UnsupportedQuery",
        &format!(
            "Unsupported or invalid query filter clause specified for property '{property}' of resource '{}'.",
            repr::resource_name(kind)
        ),
    )
}

fn is_known(kind: Kind, name: &str) -> bool {
    repr::known_properties(kind)
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// Properties filterable without advanced query parameters, and those that need them.
fn filter_rules(kind: Kind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        Kind::User => (
            &[
                "id",
                "displayName",
                "givenName",
                "surname",
                "userPrincipalName",
                "mail",
                "mailNickname",
                "jobTitle",
                "department",
                "accountEnabled",
                "employeeId",
                "userType",
                "city",
                "country",
                "usageLocation",
                "companyName",
                "mobilePhone",
                "businessPhones",
                "preferredLanguage",
                "onPremisesSyncEnabled",
                "state",
                "proxyAddresses",
                "otherMails",
                "identities",
                "assignedLicenses",
                "imAddresses",
                "onPremisesImmutableId",
                "onPremisesSamAccountName",
                "onPremisesUserPrincipalName",
                "creationType",
                "externalUserState",
                "ageGroup",
            ],
            &[
                "createdDateTime",
                "officeLocation",
                "employeeType",
                "lastPasswordChangeDateTime",
                "streetAddress",
                "postalCode",
                "employeeHireDate",
                "employeeLeaveDateTime",
                "faxNumber",
                "showInAddressList",
                "passwordPolicies",
                "onPremisesLastSyncDateTime",
                "onPremisesDistinguishedName",
                "onPremisesDomainName",
                "onPremisesSecurityIdentifier",
                "securityIdentifier",
                "legalAgeGroupClassification",
                "consentProvidedForMinor",
            ],
        ),
        Kind::Group => (
            &[
                "id",
                "displayName",
                "mail",
                "mailNickname",
                "mailEnabled",
                "securityEnabled",
                "groupTypes",
                "onPremisesSyncEnabled",
                "proxyAddresses",
                "expirationDateTime",
                "isAssignableToRole",
                "securityIdentifier",
            ],
            &[
                "description",
                "createdDateTime",
                "membershipRule",
                "membershipRuleProcessingState",
                "visibility",
                "classification",
                "renewedDateTime",
                "preferredDataLocation",
                "theme",
            ],
        ),
        Kind::Application => (
            &[
                "id",
                "appId",
                "displayName",
                "identifierUris",
                "signInAudience",
                "publisherDomain",
                "tags",
                "uniqueName",
            ],
            &[
                "createdDateTime",
                "description",
                "notes",
                "passwordCredentials",
                "keyCredentials",
            ],
        ),
        Kind::Device => (
            &[
                "id",
                "deviceId",
                "displayName",
                "operatingSystem",
                "operatingSystemVersion",
                "accountEnabled",
                "trustType",
                "approximateLastSignInDateTime",
                "profileType",
                "physicalIds",
                "systemLabels",
                "onPremisesSyncEnabled",
                "mdmAppId",
            ],
            &[
                "registrationDateTime",
                "isCompliant",
                "isManaged",
                "manufacturer",
                "model",
            ],
        ),
        Kind::ManagedDevice => (&[], &[]),
    }
}

/// Whether Intune supports this (property, operator) in `$filter` (§B.7).
fn intune_supports(property: &str, operator: &str) -> bool {
    let p = property.to_ascii_lowercase();
    match p.as_str() {
        "lastsyncdatetime" | "enrolleddatetime" => matches!(operator, "gt" | "lt"),
        "serialnumber" | "operatingsystem" | "manufacturer" | "compliancestate"
        | "managementagent" | "imei" | "azureaddeviceid" | "userid" | "id" | "managementstate" => {
            operator == "eq"
        }
        "devicename" | "model" => matches!(operator, "eq" | "contains"),
        "osversion" | "emailaddress" => operator == "contains",
        "userprincipalname" => matches!(operator, "eq" | "ne"),
        _ => false,
    }
}

/// Checks a directory-object filter; the error answer when it is not allowed here.
fn check_filter(expr: &Expr, kind: Option<Kind>, advanced: bool) -> Result<(), Response> {
    for u in expr.uses() {
        let Some(kind) = kind else {
            // Filters on directoryObject relationships are advanced queries.
            if !advanced {
                return Err(bad_request(
                    "Request_UnsupportedQuery",
                    "Unsupported Query.",
                ));
            }
            continue;
        };
        if u.operator == "not" {
            if !advanced {
                return Err(unsupported_filter("not", kind));
            }
            continue;
        }
        if !is_known(kind, &u.property) {
            return Err(unknown_property(&u.property, kind));
        }
        let (basic, advanced_only) = filter_rules(kind);
        let is_basic = basic.iter().any(|p| p.eq_ignore_ascii_case(&u.property));
        let is_advanced = advanced_only
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&u.property));
        if u.operator == "contains" || (!is_basic && !is_advanced) {
            return Err(unsupported_filter(&u.property, kind));
        }
        let needs_advanced = is_advanced
            || matches!(u.operator.as_str(), "ne" | "endswith")
            || (u.null_literal && u.operator == "eq");
        if needs_advanced && !advanced {
            return Err(unsupported_filter(&u.property, kind));
        }
    }
    Ok(())
}

/// `$search="displayName:foo" AND "mail:bar"`: every (or any, with OR) clause's property
/// contains its term.
fn search_matches(search: &str, object: &Map<String, Value>) -> bool {
    let any = search.to_ascii_uppercase().contains(" OR ");
    let clauses: Vec<(String, String)> = search
        .split('"')
        .filter_map(|c| c.split_once(':'))
        .map(|(p, t)| (p.trim().to_owned(), t.trim().to_lowercase()))
        .collect();
    let test = |(p, t): &(String, String)| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(p))
            .and_then(|(_, v)| v.as_str())
            .is_some_and(|v| v.to_lowercase().contains(t.as_str()))
    };
    if clauses.is_empty() {
        return true;
    }
    if any {
        clauses.iter().any(test)
    } else {
        clauses.iter().all(test)
    }
}

fn item(
    dir: &Directory,
    source: &Source,
    position: usize,
) -> Option<Option<(Kind, Map<String, Value>)>> {
    match source {
        Source::Table(kind) => repr::at(dir, *kind, position).map(|o| o.map(|m| (*kind, m))),
        Source::Refs(refs) => refs
            .get(position)
            .map(|m| repr::object(dir, m.kind, &m.id).map(|o| (m.kind, o))),
    }
}

fn context(ctx: &Ctx, fragment: &str, select: Option<&[String]>) -> String {
    match select {
        Some(select) => format!(
            "{}/v1.0/$metadata#{fragment}({})",
            ctx.base,
            select.join(",")
        ),
        None => format!("{}/v1.0/$metadata#{fragment}", ctx.base),
    }
}

/// Validates `$select` for a typed collection.
fn check_select(query: &Query, kind: Kind, ctx: &Ctx, collection: bool) -> Result<(), Response> {
    let Some(select) = &query.select else {
        return Ok(());
    };
    for name in select {
        if !is_known(kind, name) {
            return Err(unknown_property(name, kind));
        }
        if collection
            && kind == Kind::User
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
        if kind == Kind::User
            && name.eq_ignore_ascii_case("signInActivity")
            && !ctx.roles.iter().any(|r| r == "AuditLog.Read.All")
        {
            return Err(error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ));
        }
    }
    Ok(())
}

/// Adds `signInActivity` when selected (only reachable with AuditLog.Read.All).
fn with_sign_in(
    dir: &Directory,
    kind: Kind,
    query: &Query,
    mut out: Map<String, Value>,
    full: &Map<String, Value>,
) -> Map<String, Value> {
    if kind == Kind::User && query.selects("signInActivity") {
        let id = full.get("id").and_then(Value::as_str).unwrap_or_default();
        let last = dir
            .users
            .get(id)
            .map(|u| repr::iso(u.last_password_change))
            .unwrap_or_default();
        out.insert(
            "signInActivity".into(),
            json!({"lastSignInDateTime": last, "lastSignInRequestId": null,
                   "lastNonInteractiveSignInDateTime": last, "lastNonInteractiveSignInRequestId": null,
                   "lastSuccessfulSignInDateTime": last, "lastSuccessfulSignInRequestId": null}),
        );
    }
    out
}

fn run(state: &mut GraphState, ctx: &Ctx, mut query: Query, spec: Spec) -> Response {
    let mut offset = 0usize;
    let first_page = query.skiptoken.is_none();
    if let Some(token) = &query.skiptoken {
        match PageToken::decode(token).filter(|t| t.r == spec.route) {
            Some(token) => {
                offset = token.o;
                query = Query::parse(Some(&token.q));
            }
            None => {
                return bad_request(
                    "Directory_ExpiredPageToken",
                    "The specified page token value has expired and can no longer be included in your request.",
                )
            }
        }
    }
    let dir = &state.directory;
    let advanced = ctx.eventual() && query.count;
    let max_page = if spec.intune {
        state.intune_page_size
    } else {
        999
    };
    // $top
    let mut page_size = if spec.intune {
        state.intune_page_size
    } else {
        100
    };
    if let Some(top) = &query.top {
        match top.parse::<i64>() {
            Ok(n) if (1..=999).contains(&n) || (spec.intune && n >= 1) => {
                page_size = (n as usize).min(max_page)
            }
            _ => {
                return bad_request(
                    "Request_BadRequest",
                    &format!(
                    "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
                ),
                )
            }
        }
    }
    if !spec.intune {
        if query.skip.is_some() {
            return bad_request(
                "Request_BadRequest",
                "'$skip' is not supported by the service.",
            );
        }
        if query.count && !ctx.eventual() {
            return bad_request("Request_BadRequest", "$count is not currently supported.");
        }
        if query.search.is_some() && !ctx.eventual() {
            return bad_request(
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
            );
        }
    }
    if let Some(kind) = spec.kind {
        if let Err(response) = check_select(&query, kind, ctx, true) {
            return response;
        }
        if kind == Kind::User && query.selects("signInActivity") {
            page_size = page_size.min(120);
        }
    }
    // $expand: pages shrink to 100, expanded collections to 20 (see `expand`).
    let expand = match query.expand.as_deref().map(|e| expand::parse(e, spec.kind)) {
        None => None,
        Some(Ok(expand)) => {
            page_size = page_size.min(expand::MAX_PAGE);
            Some(expand)
        }
        Some(Err(response)) => return response,
    };
    // $filter
    let mut filter: Option<Expr> = None;
    if let Some(text) = &query.filter {
        let expr = match parse_filter(text) {
            Ok(expr) => expr,
            Err(detail) => {
                return bad_request("BadRequest", &format!("Invalid filter clause: {detail}"))
            }
        };
        if spec.intune {
            let supported = expr
                .uses()
                .iter()
                .all(|u| intune_supports(&u.property, &u.operator));
            if supported {
                filter = Some(expr);
            } else if !state.intune_ignores_unsupported_filters {
                return bad_request("BadRequest", "Invalid filter clause");
            }
        } else {
            if let Err(response) = check_filter(&expr, spec.kind, advanced) {
                return response;
            }
            filter = Some(expr);
        }
    }
    // $orderby
    let orderby = match &query.orderby {
        None => None,
        Some(order) => {
            let mut parts = order.split_whitespace();
            let property = parts.next().unwrap_or("").to_owned();
            let descending = parts.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            let simple = ["displayName", "userPrincipalName"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&property));
            if !spec.intune && !advanced && (!simple || filter.is_some()) {
                return bad_request(
                    "Request_UnsupportedQuery",
                    "Sorting not supported for current query.",
                );
            }
            if let Some(kind) = spec.kind {
                if !is_known(kind, &property) {
                    return unknown_property(&property, kind);
                }
            }
            Some((property, descending))
        }
    };
    let search = query.search.clone();
    let keep = |object: &Map<String, Value>| {
        filter.as_ref().is_none_or(|f| f.matches(object))
            && search.as_deref().is_none_or(|s| search_matches(s, object))
    };

    let mut items: Vec<(Kind, Map<String, Value>)> = Vec::new();
    let mut next: Option<usize> = None;
    let mut count: Option<usize> = None;
    let want_count = first_page && (query.count || spec.intune);
    if let Some((property, descending)) = &orderby {
        let mut all: Vec<(Kind, Map<String, Value>)> = Vec::new();
        let mut position = 0;
        while let Some(found) = item(dir, &spec.source, position) {
            if let Some((kind, object)) = found {
                if keep(&object) {
                    all.push((kind, object));
                }
            }
            position += 1;
        }
        let key = |o: &Map<String, Value>| -> String {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(property))
                .map(|(_, v)| {
                    v.as_str()
                        .map(str::to_lowercase)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default()
        };
        all.sort_by_key(|(_, o)| key(o));
        if *descending {
            all.reverse();
        }
        if want_count {
            count = Some(all.len());
        }
        if offset + page_size < all.len() {
            next = Some(offset + page_size);
        }
        items = all.into_iter().skip(offset).take(page_size).collect();
    } else {
        if want_count {
            let mut n = 0;
            let mut position = 0;
            while let Some(found) = item(dir, &spec.source, position) {
                if found.is_some_and(|(_, o)| keep(&o)) {
                    n += 1;
                }
                position += 1;
            }
            count = Some(n);
        }
        let mut position = offset;
        while let Some(found) = item(dir, &spec.source, position) {
            if let Some((kind, object)) = found {
                if keep(&object) {
                    if items.len() == page_size {
                        next = Some(position);
                        break;
                    }
                    items.push((kind, object));
                }
            }
            position += 1;
        }
    }

    let select = query.select.as_deref();
    let values: Vec<Value> = items
        .iter()
        .map(|(kind, full)| {
            let mut out = project(full, *kind, select, false);
            out = with_sign_in(dir, *kind, &query, out, full);
            if spec.kind.is_none() {
                out.insert("@odata.type".into(), json!(kind.odata_type()));
            }
            if let Some(expand) = &expand {
                expand::apply(dir, expand, full, &mut out);
            }
            Value::Object(out)
        })
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context(ctx, &spec.context, select)),
    );
    if let Some(count) = count {
        body.insert("@odata.count".into(), json!(count));
    }
    if let Some(next) = next {
        let token = PageToken {
            r: spec.route.clone(),
            q: query.original.clone(),
            o: next,
            s: 0,
            f: None,
            v: 0,
            t: ctx.now.unix_timestamp(),
        };
        let sep = if query.original.is_empty() { "" } else { "&" };
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/v1.0/{}?{}{sep}$skiptoken={}",
                ctx.base,
                spec.link,
                query.original,
                token.encode()
            )),
        );
    }
    body.insert("value".into(), Value::Array(values));
    respond(StatusCode::OK, &Value::Object(body))
}

fn kind_segment(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "users",
        Kind::Group => "groups",
        Kind::Application => "applications",
        Kind::Device => "devices",
        Kind::ManagedDevice => "deviceManagement/managedDevices",
    }
}

/// `GET /users`, `/groups`, `/applications`, `/devices`.
pub(super) fn collection(state: &mut GraphState, ctx: &Ctx, query: Query, kind: Kind) -> Response {
    let segment = kind_segment(kind);
    run(
        state,
        ctx,
        query,
        Spec {
            route: segment.into(),
            link: segment.into(),
            context: segment.into(),
            kind: Some(kind),
            source: Source::Table(kind),
            intune: false,
        },
    )
}

/// `GET /deviceManagement/managedDevices`.
pub(super) fn managed_devices(state: &mut GraphState, ctx: &Ctx, query: Query) -> Response {
    let segment = kind_segment(Kind::ManagedDevice);
    run(
        state,
        ctx,
        query,
        Spec {
            route: segment.into(),
            link: segment.into(),
            context: segment.into(),
            kind: Some(Kind::ManagedDevice),
            source: Source::Table(Kind::ManagedDevice),
            intune: true,
        },
    )
}

fn entity(
    ctx: &Ctx,
    fragment: &str,
    select: Option<&[String]>,
    object: Map<String, Value>,
) -> Response {
    let mut body = object;
    let context = match select {
        Some(select) => format!(
            "{}/v1.0/$metadata#{fragment}({})/$entity",
            ctx.base,
            select.join(",")
        ),
        None => format!("{}/v1.0/$metadata#{fragment}/$entity", ctx.base),
    };
    body.insert("@odata.context".into(), json!(context));
    respond(StatusCode::OK, &Value::Object(body))
}

fn find_user<'a>(dir: &'a Directory, id: &str) -> Option<&'a crate::generator::directory::User> {
    dir.users.get(id).or_else(|| {
        dir.users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(id))
    })
}

/// `GET /users/{id | userPrincipalName}`, `/groups/{id}`, `/applications/{id}`, `/devices/{id}`.
pub(super) fn single(
    state: &mut GraphState,
    ctx: &Ctx,
    query: &Query,
    kind: Kind,
    id: &str,
) -> Response {
    if let Err(response) = check_select(query, kind, ctx, false) {
        return response;
    }
    let dir = &state.directory;
    let full = match kind {
        Kind::User => find_user(dir, id).map(repr::user),
        other => repr::object(dir, other, id),
    };
    let Some(full) = full else {
        return not_found(id);
    };
    let mut out = project(&full, kind, query.select.as_deref(), false);
    if kind == Kind::User {
        if let Some(select) = &query.select {
            for name in select {
                if let Some(p) = repr::USER_SINGLE_ONLY
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(name))
                {
                    out.insert((*p).to_owned(), Value::Null);
                }
            }
        }
    }
    let out = with_sign_in(dir, kind, query, out, &full);
    entity(ctx, kind_segment(kind), query.select.as_deref(), out)
}

/// `GET /deviceManagement/managedDevices/{id}` (blank-in-list properties filled here).
pub(super) fn managed_device(
    state: &mut GraphState,
    ctx: &Ctx,
    query: &Query,
    id: &str,
) -> Response {
    if let Err(response) = check_select(query, Kind::ManagedDevice, ctx, false) {
        return response;
    }
    let Some(device) = state.directory.managed_devices.get(id) else {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("{{\r\n  \"_version\": 3,\r\n  \"Message\": \"Resource not found for the segment '{id}'.\"\r\n}}"),
        );
    };
    let full = repr::managed_device(device, true);
    let out = project(&full, Kind::ManagedDevice, query.select.as_deref(), false);
    entity(
        ctx,
        "deviceManagement/managedDevices",
        query.select.as_deref(),
        out,
    )
}

/// `GET /users/{id}/manager`: 404 when the user has none (§B.2, by design).
pub(super) fn manager(state: &mut GraphState, ctx: &Ctx, query: &Query, id: &str) -> Response {
    let dir = &state.directory;
    let Some(user) = find_user(dir, id) else {
        return not_found(id);
    };
    let Some(manager) = user.manager_id.as_deref().and_then(|m| dir.users.get(m)) else {
        return not_found("manager");
    };
    let mut out = project(
        &repr::user(manager),
        Kind::User,
        query.select.as_deref(),
        false,
    );
    out.insert("@odata.type".into(), json!(Kind::User.odata_type()));
    entity(ctx, "directoryObjects", None, out)
}

/// `GET /groups/{id}/members | transitiveMembers | owners`.
pub(super) fn group_relation(
    state: &mut GraphState,
    ctx: &Ctx,
    query: Query,
    id: &str,
    relation: &str,
) -> Response {
    let Some(group) = state.directory.groups.get(id) else {
        return not_found(id);
    };
    let refs = match relation {
        "members" => group.members.clone(),
        "transitiveMembers" => state.directory.transitive_members(id),
        _ => group.owners.iter().map(|o| Member::user(o)).collect(),
    };
    run(
        state,
        ctx,
        query,
        Spec {
            route: format!("groups/{id}/{relation}"),
            link: format!("groups/{id}/{relation}"),
            context: "directoryObjects".into(),
            kind: None,
            source: Source::Refs(refs),
            intune: false,
        },
    )
}

/// `GET /applications/{id}/owners`.
pub(super) fn application_owners(
    state: &mut GraphState,
    ctx: &Ctx,
    query: Query,
    id: &str,
) -> Response {
    let Some(app) = state.directory.applications.get(id) else {
        return not_found(id);
    };
    let refs = app.owners.iter().map(|o| Member::user(o)).collect();
    run(
        state,
        ctx,
        query,
        Spec {
            route: format!("applications/{id}/owners"),
            link: format!("applications/{id}/owners"),
            context: "directoryObjects".into(),
            kind: None,
            source: Source::Refs(refs),
            intune: false,
        },
    )
}

/// `GET /users/{id | userPrincipalName}/memberOf`, `/devices/{id}/memberOf`, `/groups/{id}/memberOf`:
/// the groups the object is a direct member of, not transitively (user-list-memberof,
/// device-list-memberof, group-list-memberof); default page 100, `$top` up to 999. The directory
/// holds no directory roles or administrative units, so every item is a group, with its
/// `@odata.type` as in any directoryObject collection. `cast` is the OData cast
/// `…/memberOf/microsoft.graph.group`: a typed collection (`$metadata#groups`, no `@odata.type` on
/// items, `$select` checked against group properties), which those pages' request-header tables
/// say needs `ConsistencyLevel: eventual` and `$count=true`.
pub(super) fn member_of(
    state: &mut GraphState,
    ctx: &Ctx,
    query: Query,
    kind: Kind,
    id: &str,
    cast: bool,
) -> Response {
    let dir = &state.directory;
    let object_id = match kind {
        Kind::User => find_user(dir, id).map(|u| u.id.clone()),
        Kind::Device => dir.devices.get(id).map(|d| d.id.clone()),
        Kind::Group => dir.groups.get(id).map(|g| g.id.clone()),
        Kind::Application | Kind::ManagedDevice => None,
    };
    let Some(object_id) = object_id else {
        return not_found(id);
    };
    if cast && !(ctx.eventual() && query.count) {
        return bad_request("Request_UnsupportedQuery", "Unsupported Query.");
    }
    let refs: Vec<Member> = dir
        .groups
        .iter()
        .filter(|g| g.members.iter().any(|m| m.id == object_id))
        .map(|g| Member::group(&g.id))
        .collect();
    let path = format!(
        "{}/{object_id}/memberOf{}",
        kind_segment(kind),
        if cast { "/microsoft.graph.group" } else { "" }
    );
    run(
        state,
        ctx,
        query,
        Spec {
            route: path.clone(),
            link: path,
            context: if cast { "groups" } else { "directoryObjects" }.into(),
            kind: cast.then_some(Kind::Group),
            source: Source::Refs(refs),
            intune: false,
        },
    )
}

/// `GET /users/$count` etc.: `text/plain`, needs `ConsistencyLevel: eventual` (§D.4).
pub(super) fn count(state: &mut GraphState, ctx: &Ctx, query: Query, kind: Kind) -> Response {
    if !ctx.eventual() {
        return bad_request("Request_BadRequest", "$count is not currently supported.");
    }
    let mut filter = None;
    if let Some(text) = &query.filter {
        match parse_filter(text) {
            Ok(expr) => {
                if let Err(response) = check_filter(&expr, Some(kind), true) {
                    return response;
                }
                filter = Some(expr);
            }
            Err(detail) => {
                return bad_request("BadRequest", &format!("Invalid filter clause: {detail}"))
            }
        }
    }
    let mut n = 0usize;
    let mut position = 0;
    while let Some(found) = repr::at(&state.directory, kind, position) {
        if found.is_some_and(|o| filter.as_ref().is_none_or(|f| f.matches(&o))) {
            n += 1;
        }
        position += 1;
    }
    let mut response = Response::new(Body::from(n.to_string()));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    response
}
