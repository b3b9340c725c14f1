//! AQL search (api/atlassian.md §D.7): `POST /object/aql?startAt&maxResults&includeAttributes`
//! with `{"qlQuery"}`, and `POST /object/aql/totalcount`.
//!
//! The AQL subset: `attribute op value` where attribute is `objectType`, `objectTypeId`,
//! `objectSchema`, `objectSchemaId`, `objectId`, `Key`, `Label`, `Created`, `Updated` or an
//! attribute name (quoted when it has spaces); ops `= == != < > <= >= LIKE, NOT LIKE, IN, NOT IN,
//! IS EMPTY, IS NOT EMPTY, STARTSWITH, ENDSWITH`; `AND` / `OR` / parentheses; `now(-15m)`;
//! `ORDER BY attribute [ASC|DESC]`. `=` ignores case, `==` does not. References match the
//! referenced object's label, key or id; statuses their name or id; users account id or name.
//!
//! Evaluation is by object, but the candidates come from the object indexes when the query
//! allows ([`narrow`]): `objectTypeId = N` alone pages the type's objects without evaluating
//! anything; `objectTypeId = N` or `objectType = "T"` with `"<unique attribute>" = "v"`,
//! `Key = "K-1"` and `objectId = 5` (in any conjunction) evaluate the whole query on the few
//! objects they name, and a type alone on that type's objects. The answers are the same as
//! evaluating every object (tested).

use super::{assets_time, begin, fail, AssetsState, Need, Object, Params, Query};
use crate::jira::JiraState;
use crate::world::World;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("AQL: the quoted value is not closed.".into()),
                        Some('\\') => {
                            if let Some(n) = chars.get(i + 1) {
                                s.push(*n);
                            }
                            i += 2;
                        }
                        Some(ch) if *ch == c => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if chars.get(i + 1) == Some(&'=') {
                    op.push('=');
                    i += 1;
                }
                if op == "!" {
                    return Err("AQL: unexpected '!'.".into());
                }
                out.push(Tok::Op(op));
                i += 1;
            }
            _ => {
                let mut w = String::new();
                while let Some(ch) = chars.get(i) {
                    if ch.is_whitespace()
                        || matches!(ch, '(' | ')' | ',' | '"' | '\'' | '=' | '!' | '<' | '>')
                    {
                        break;
                    }
                    w.push(*ch);
                    i += 1;
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
enum Val {
    Text(String),
    Now(i64),
    Empty,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Clause {
        attr: String,
        op: String,
        values: Vec<Val>,
    },
}

/// A parsed query: filter and `ORDER BY` (attribute, ascending).
type Parsed = (Option<Expr>, Vec<(String, bool)>);

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn query(mut self) -> Result<Parsed, String> {
        let filter = if self.toks.is_empty() || self.peek_kw("order") {
            None
        } else {
            Some(self.or()?)
        };
        let mut order = Vec::new();
        if self.peek_kw("order") {
            self.pos += 1;
            if !self.peek_kw("by") {
                return Err("AQL: expected BY after ORDER.".into());
            }
            self.pos += 1;
            loop {
                let attr = match self.next() {
                    Some(Tok::Word(w)) | Some(Tok::Str(w)) => w,
                    _ => return Err("AQL: expected an attribute after ORDER BY.".into()),
                };
                let mut asc = true;
                if self.peek_kw("asc") {
                    self.pos += 1;
                } else if self.peek_kw("desc") {
                    asc = false;
                    self.pos += 1;
                }
                order.push((attr, asc));
                if self.toks.get(self.pos) == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if let Some(t) = self.toks.get(self.pos) {
            return Err(format!(
                "AQL: unexpected {t:?} at position {}.",
                self.pos + 1
            ));
        }
        Ok((filter, order))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.primary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err("AQL: expected ')'.".into());
            }
            return Ok(e);
        }
        let attr = match self.next() {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => w,
            other => return Err(format!("AQL: expected an attribute name, got {other:?}.")),
        };
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(Tok::Word(w)) => match w.to_lowercase().as_str() {
                "like" | "in" | "startswith" | "endswith" => w.to_lowercase(),
                "is" => {
                    if self.peek_kw("not") {
                        self.pos += 1;
                        "is not".into()
                    } else {
                        "is".into()
                    }
                }
                "not" => {
                    let n = match self.next() {
                        Some(Tok::Word(n)) => n.to_lowercase(),
                        _ => return Err("AQL: expected LIKE or IN after NOT.".into()),
                    };
                    if n != "like" && n != "in" {
                        return Err("AQL: expected LIKE or IN after NOT.".into());
                    }
                    format!("not {n}")
                }
                _ => return Err(format!("AQL: unknown operator '{w}'.")),
            },
            other => {
                return Err(format!(
                    "AQL: expected an operator after {attr}, got {other:?}."
                ))
            }
        };
        let values = if op == "in" || op == "not in" {
            if self.next() != Some(Tok::LParen) {
                return Err("AQL: expected '(' after IN.".into());
            }
            let mut values = Vec::new();
            if self.toks.get(self.pos) == Some(&Tok::RParen) {
                self.pos += 1;
            } else {
                loop {
                    values.push(self.value()?);
                    match self.next() {
                        Some(Tok::Comma) => {}
                        Some(Tok::RParen) => break,
                        _ => return Err("AQL: expected ',' or ')'.".into()),
                    }
                }
            }
            values
        } else {
            vec![self.value()?]
        };
        Ok(Expr::Clause { attr, op, values })
    }

    fn value(&mut self) -> Result<Val, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Val::Text(s)),
            Some(Tok::Word(w)) => {
                if self.toks.get(self.pos) == Some(&Tok::LParen) {
                    self.pos += 1;
                    let mut arg = String::new();
                    loop {
                        match self.next() {
                            Some(Tok::RParen) | None => break,
                            Some(Tok::Word(a)) | Some(Tok::Str(a)) => arg.push_str(&a),
                            Some(Tok::Op(o)) => arg.push_str(&o),
                            Some(_) => {}
                        }
                    }
                    return match w.to_lowercase().as_str() {
                        "now" => Ok(Val::Now(
                            period(&arg).ok_or_else(|| format!("AQL: invalid period '{arg}'."))?,
                        )),
                        other => Err(format!(
                            "AQL: the function '{other}()' is not supported here."
                        )),
                    };
                }
                if w.eq_ignore_ascii_case("empty") || w.eq_ignore_ascii_case("null") {
                    return Ok(Val::Empty);
                }
                Ok(Val::Text(w))
            }
            other => Err(format!("AQL: expected a value, got {other:?}.")),
        }
    }
}

/// `-15m`, `1h`, `-2d`, `1w` → seconds (empty = 0).
fn period(arg: &str) -> Option<i64> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Some(0);
    }
    let (sign, rest) = match arg.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, arg.strip_prefix('+').unwrap_or(arg)),
    };
    let (num, unit) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    Some(sign * n * unit)
}

pub(super) struct Ctx<'a> {
    pub s: &'a AssetsState,
    pub jira: &'a JiraState,
    pub now: OffsetDateTime,
}

const SPECIAL: [&str; 9] = [
    "objecttype",
    "objecttypeid",
    "objectschema",
    "objectschemaid",
    "objectid",
    "key",
    "label",
    "created",
    "updated",
];

/// The values an object has for `attr`, as (match candidates per value).
fn values_of(ctx: &Ctx<'_>, o: &Object, attr: &str) -> Option<Vec<Vec<String>>> {
    let s = ctx.s;
    let t = s.object_type(o.object_type_id)?;
    let one = |v: String| Some(vec![vec![v]]);
    match attr.to_lowercase().as_str() {
        "objecttype" => return one(t.name.clone()),
        "objecttypeid" => return one(t.id.to_string()),
        "objectschema" => return one(s.schema(t.schema_id)?.name.clone()),
        "objectschemaid" => return one(t.schema_id.to_string()),
        "objectid" => return one(o.id.to_string()),
        "key" => return one(o.key.clone()),
        "label" => return one(s.label(o)),
        "created" => return one(assets_time(o.created)),
        "updated" => return one(assets_time(o.updated)),
        _ => {}
    }
    let a = s
        .type_attributes(o.object_type_id)
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(attr))?;
    let stored = o.values.get(&a.id).cloned().unwrap_or_default();
    Some(
        stored
            .into_iter()
            .map(|v| match a.kind {
                1 => match v.parse::<u64>().ok().and_then(|id| s.object(id)) {
                    Some(r) => vec![s.label(r), r.key.clone(), r.id.to_string()],
                    None => vec![v],
                },
                7 => match s.status_types.iter().find(|st| st.id.to_string() == v) {
                    Some(st) => vec![st.name.clone(), st.id.to_string()],
                    None => vec![v],
                },
                2 => match ctx.jira.user(&v) {
                    Some(u) => vec![v.clone(), u.display_name.clone(), u.email.clone()],
                    None => vec![v],
                },
                _ => vec![v],
            })
            .collect(),
    )
}

fn as_time(text: &str) -> Option<OffsetDateTime> {
    if let Some(t) = crate::jira::parse_datetime_pub(text) {
        return Some(t);
    }
    let (d, rest) = text.split_at(text.len().min(10));
    let date = crate::jira::parse_date_pub(&d.replace('/', "-"))?;
    let time = match rest.trim() {
        "" => time::Time::MIDNIGHT,
        hm => {
            let (h, m) = hm.split_once(':')?;
            time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()?
        }
    };
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

fn compare(have: &str, want: &Val, now: OffsetDateTime) -> Option<Ordering> {
    match want {
        Val::Now(secs) => Some(as_time(have)?.cmp(&(now + time::Duration::seconds(*secs)))),
        Val::Text(w) => {
            if let (Ok(a), Ok(b)) = (have.parse::<f64>(), w.parse::<f64>()) {
                return a.partial_cmp(&b);
            }
            if let (Some(a), Some(b)) = (as_time(have), as_time(w)) {
                return Some(a.cmp(&b));
            }
            Some(have.to_lowercase().cmp(&w.to_lowercase()))
        }
        Val::Empty => None,
    }
}

fn eval(ctx: &Ctx<'_>, e: &Expr, o: &Object) -> bool {
    match e {
        Expr::And(a, b) => eval(ctx, a, o) && eval(ctx, b, o),
        Expr::Or(a, b) => eval(ctx, a, o) || eval(ctx, b, o),
        Expr::Clause { attr, op, values } => {
            let Some(have) = values_of(ctx, o, attr) else {
                return false;
            };
            let any =
                |f: &dyn Fn(&str) -> bool| have.iter().any(|cands| cands.iter().any(|c| f(c)));
            let eq = |want: &Val, sensitive: bool| match want {
                Val::Empty => have.is_empty(),
                Val::Text(w) => any(&|c| {
                    if sensitive {
                        c == w
                    } else {
                        c.eq_ignore_ascii_case(w)
                    }
                }),
                Val::Now(_) => false,
            };
            let first = values.first().cloned().unwrap_or(Val::Empty);
            match op.as_str() {
                "=" => eq(&first, false),
                "==" => eq(&first, true),
                "!=" => !eq(&first, false),
                "in" => values.iter().any(|v| eq(v, false)),
                "not in" => !values.iter().any(|v| eq(v, false)),
                "is" => have.is_empty(),
                "is not" => !have.is_empty(),
                "like" | "not like" => {
                    let Val::Text(w) = &first else { return false };
                    let w = w.to_lowercase();
                    let found = any(&|c| c.to_lowercase().contains(&w));
                    if op == "like" {
                        found
                    } else {
                        !found
                    }
                }
                "startswith" => {
                    matches!(&first, Val::Text(w) if any(&|c| c.to_lowercase().starts_with(&w.to_lowercase())))
                }
                "endswith" => {
                    matches!(&first, Val::Text(w) if any(&|c| c.to_lowercase().ends_with(&w.to_lowercase())))
                }
                "<" | ">" | "<=" | ">=" => have.iter().any(|cands| {
                    cands
                        .first()
                        .and_then(|c| compare(c, &first, ctx.now))
                        .is_some_and(|ord| match op.as_str() {
                            "<" => ord == Ordering::Less,
                            ">" => ord == Ordering::Greater,
                            "<=" => ord != Ordering::Greater,
                            _ => ord != Ordering::Less,
                        })
                }),
                _ => false,
            }
        }
    }
}

fn check_names(s: &AssetsState, e: &Expr) -> Result<(), String> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_names(s, a)?;
            check_names(s, b)
        }
        Expr::Clause { attr, .. } => {
            let known = SPECIAL.contains(&attr.to_lowercase().as_str())
                || s.attributes
                    .iter()
                    .any(|a| a.name.eq_ignore_ascii_case(attr));
            if known {
                Ok(())
            } else {
                Err(format!("AQL: the attribute \"{attr}\" does not exist."))
            }
        }
    }
}

/// What a query found, in result order.
pub(super) enum Found<'a> {
    /// Every object of one type, in creation order (`objectTypeId = N` alone).
    Type(Option<&'a BTreeSet<u64>>),
    List(Vec<&'a Object>),
}

impl<'a> Found<'a> {
    pub(super) fn len(&self) -> usize {
        match self {
            Found::Type(ids) => ids.map_or(0, BTreeSet::len),
            Found::List(list) => list.len(),
        }
    }

    pub(super) fn page(&self, s: &'a AssetsState, start: usize, max: usize) -> Vec<&'a Object> {
        match self {
            Found::Type(ids) => ids
                .iter()
                .copied()
                .flatten()
                .skip(start)
                .take(max)
                .filter_map(|id| s.objects.get(*id))
                .collect(),
            Found::List(list) => list.iter().skip(start).take(max).copied().collect(),
        }
    }

    #[cfg(test)]
    pub(super) fn ids(&self, s: &'a AssetsState) -> Vec<u64> {
        self.page(s, 0, usize::MAX).iter().map(|o| o.id).collect()
    }
}

/// The text of `attr = "text"` / `attr == "text"` when `e` is that clause for the special
/// attribute `name` (lower case).
fn equals<'e>(e: &'e Expr, name: &str) -> Option<&'e str> {
    match e {
        Expr::Clause { attr, op, values }
            if (op == "=" || op == "==") && attr.to_lowercase() == name =>
        {
            match values.first() {
                Some(Val::Text(w)) => Some(w),
                _ => None,
            }
        }
        _ => None,
    }
}

/// An object id written as the id is (`objectTypeId` and `objectId` compare the id's text).
fn exact_id(text: &str) -> Option<u64> {
    text.parse::<u64>().ok().filter(|id| id.to_string() == text)
}

fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// Ids (ascending) of a superset of the objects `filter` matches, from the indexes; `None`
/// when the query names no index (every object is a candidate).
fn narrow(s: &AssetsState, filter: &Expr) -> Option<Vec<u64>> {
    let mut all = Vec::new();
    conjuncts(filter, &mut all);
    for c in &all {
        if let Some(w) = equals(c, "objectid") {
            return Some(
                exact_id(w)
                    .filter(|id| s.objects.get(*id).is_some())
                    .into_iter()
                    .collect(),
            );
        }
        if let Some(w) = equals(c, "key") {
            return Some(s.objects.keyed(w));
        }
    }
    // The types the query is limited to: `objectTypeId = N` (no type's id reads "abc": none)
    // or `objectType = "name"` (types of that name in any schema).
    let types: Vec<u64> = all.iter().find_map(|c| {
        if let Some(w) = equals(c, "objecttypeid") {
            return Some(exact_id(w).into_iter().collect());
        }
        equals(c, "objecttype").map(|w| {
            s.object_types
                .iter()
                .filter(|t| t.name.eq_ignore_ascii_case(w))
                .map(|t| t.id)
                .collect()
        })
    })?;
    let mut found = Vec::new();
    for type_id in types {
        found.extend(narrow_type(s, &all, type_id));
    }
    found.sort_unstable();
    Some(found)
}

/// Within one type: the objects a unique attribute's `=` names, none when a conjunct names an
/// attribute the type does not have, else all of them.
fn narrow_type(s: &AssetsState, all: &[&Expr], type_id: u64) -> Vec<u64> {
    let attributes = s.type_attributes(type_id);
    for c in all {
        let Expr::Clause { attr, op, values } = c else {
            continue;
        };
        let Some(Val::Text(w)) = values.first() else {
            continue;
        };
        if (op != "=" && op != "==") || SPECIAL.contains(&attr.to_lowercase().as_str()) {
            continue;
        }
        match attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(attr))
        {
            // The type has no such attribute: none of its objects match.
            None => return Vec::new(),
            // A unique attribute whose stored values are what `=` compares (not a reference,
            // user or status, which also match names, keys and e-mails).
            Some(a) if a.unique && !matches!(a.kind, 1 | 2 | 7) => {
                return s.objects.with_value(type_id, a.id, w);
            }
            Some(_) => {}
        }
    }
    s.objects
        .type_ids(type_id)
        .map(|ids| ids.iter().copied().collect())
        .unwrap_or_default()
}

/// Runs a query; `indexes: false` evaluates every object (the reference the indexed answers
/// are tested against).
pub(super) fn run<'a>(ctx: &Ctx<'a>, query: &str, indexes: bool) -> Result<Found<'a>, String> {
    let (filter, order) = Parser {
        toks: tokenize(query)?,
        pos: 0,
    }
    .query()?;
    if let Some(f) = &filter {
        check_names(ctx.s, f)?;
    }
    if indexes && order.is_empty() {
        if let Some(w) = filter.as_ref().and_then(|f| equals(f, "objecttypeid")) {
            return Ok(match exact_id(w) {
                Some(id) => Found::Type(ctx.s.objects.type_ids(id)),
                None => Found::List(Vec::new()),
            });
        }
    }
    let matches = |o: &&Object| filter.as_ref().is_none_or(|f| eval(ctx, f, o));
    let candidates = if indexes {
        filter.as_ref().and_then(|f| narrow(ctx.s, f))
    } else {
        None
    };
    let mut found: Vec<&Object> = match candidates {
        Some(ids) => ids
            .iter()
            .filter_map(|id| ctx.s.objects.get(*id))
            .filter(matches)
            .collect(),
        None => ctx.s.objects.iter().filter(matches).collect(),
    };
    // Candidates come in creation (= id) order; only ORDER BY needs sorting.
    if !order.is_empty() {
        found.sort_by(|a, b| {
            for (attr, asc) in &order {
                let key = |o: &Object| {
                    values_of(ctx, o, attr)
                        .and_then(|v| v.first().and_then(|c| c.first().cloned()))
                        .unwrap_or_default()
                };
                let (ka, kb) = (key(a), key(b));
                let ord =
                    compare(&ka, &Val::Text(kb.clone()), ctx.now).unwrap_or_else(|| ka.cmp(&kb));
                let ord = if *asc { ord } else { ord.reverse() };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.id.cmp(&b.id)
        });
    }
    Ok(Found::List(found))
}

fn query_text(body: &str) -> Result<String, Response> {
    let v: Value = serde_json::from_str(body).map_err(|e| {
        super::bad(&format!("The request body is not valid JSON: {e}")).into_response()
    })?;
    v.get("qlQuery")
        .or_else(|| v.get("iql"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                &["qlQuery is required."],
                &[("qlQuery".into(), "qlQuery is required.".into())],
            )
            .into_response()
        })
}

/// `POST /object/aql` (§D.7).
pub(super) async fn search(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    axum::extract::Query(query): Query,
    body: String,
) -> Response {
    let call = match begin(&world, &headers, &params, Need::Read) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ql = match query_text(&body) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let s = &*call.state;
    let start: usize = super::param(&query, "startAt")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let max: usize = super::param(&query, "maxResults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
        .clamp(1, s.aql_max_results);
    let include = super::param(&query, "includeAttributes") != Some("false");
    let ctx = Ctx {
        s,
        jira: &call.jira,
        now: call.now,
    };
    let found = match run(&ctx, &ql, true) {
        Ok(f) => f,
        Err(m) => {
            return fail(StatusCode::BAD_REQUEST, &[&m], &[("iql".into(), m.clone())])
                .into_response()
        }
    };
    let total = found.len();
    let page: Vec<&Object> = found.page(s, start, max);
    let is_last = start + page.len() >= total;
    let mut type_ids: Vec<u64> = page.iter().map(|o| o.object_type_id).collect();
    type_ids.sort_unstable();
    type_ids.dedup();
    let attrs: Vec<Value> = if include {
        type_ids
            .iter()
            .flat_map(|t| s.type_attributes(*t))
            .map(|a| s.attribute_json(a))
            .collect()
    } else {
        Vec::new()
    };
    let mut answer = json!({
        "startAt": start,
        "maxResults": max,
        "isLast": is_last,
        "last": is_last,
        "values": page.iter().map(|o| s.object_json(o, include, &call.jira)).collect::<Vec<_>>(),
        "objectTypeAttributes": attrs,
    });
    if s.aql_include_total {
        answer["total"] = json!(total);
    }
    Json(answer).into_response()
}

/// `POST /object/aql/totalcount` → `{"totalCount":n}`.
pub(super) async fn total_count(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(params): Params,
    body: String,
) -> Response {
    let call = match begin(&world, &headers, &params, Need::Read) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ql = match query_text(&body) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let ctx = Ctx {
        s: &call.state,
        jira: &call.jira,
        now: call.now,
    };
    match run(&ctx, &ql, true) {
        Ok(found) => Json(json!({"totalCount": found.len()})).into_response(),
        Err(m) => fail(StatusCode::BAD_REQUEST, &[&m], &[]).into_response(),
    }
}
