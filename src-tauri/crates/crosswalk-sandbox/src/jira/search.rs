//! Issue search (api/atlassian.md §B.5, §B.6): `/search/jql` (GET and POST) with
//! `nextPageToken`, the `fields` default of `id`, the bounded-JQL rule, `reconcileIssues`, and a
//! JQL subset — `field op value` with `= != > >= < <= ~ !~ IN, NOT IN, IS [NOT] EMPTY`, AND / OR /
//! NOT / parentheses, `ORDER BY` (≤7 keys). Date literals (`"yyyy/MM/dd HH:mm"`,
//! `"yyyy-MM-dd"`, …) are read in the caller's profile time zone; relative periods (`-5m`,
//! `-1h`, `"4w 2d"`) and `now()` / `startOfDay()` / `endOfDay()` are relative to the sandbox
//! clock. The removed `/rest/api/{2,3}/search` answer 410 (CHANGE-2046).

use super::fields::change_strings;
use super::issues::{issue_json, FieldSelection};
use super::{begin, error, int_param, json_body, list_param, param, Issue, JiraState, Query};
use crate::world::World;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn tokenize(jql: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = jql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("Error in the JQL Query: The quoted string '{text}' has not been completed. (line 1, character {})", i + 1)),
                        Some('\\') => {
                            if let Some(n) = chars.get(i + 1) {
                                text.push(*n);
                            }
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            text.push(*ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(text));
            }
            '=' | '!' | '<' | '>' | '~' => {
                let mut op = c.to_string();
                if let Some(n) = chars.get(i + 1) {
                    if (*n == '=' && c != '=' && c != '~') || (c == '!' && *n == '~') {
                        op.push(*n);
                        i += 1;
                    }
                }
                if op == "!" {
                    return Err(format!("Error in the JQL Query: The character '!' is a reserved JQL character. (line 1, character {})", i + 1));
                }
                tokens.push(Token::Op(op));
                i += 1;
            }
            _ => {
                let mut word = String::new();
                while let Some(ch) = chars.get(i) {
                    if ch.is_whitespace()
                        || matches!(
                            ch,
                            '(' | ')' | ',' | '"' | '\'' | '=' | '!' | '<' | '>' | '~'
                        )
                    {
                        break;
                    }
                    word.push(*ch);
                    i += 1;
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone)]
enum Operand {
    Text(String),
    Func(String),
    Empty,
}

#[derive(Debug, Clone)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Clause {
        field: String,
        op: String,
        values: Vec<Operand>,
    },
}

/// A parsed query.
#[derive(Debug, Clone)]
struct Jql {
    filter: Option<Expr>,
    order: Vec<(String, bool)>,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn syntax(message: &str) -> String {
    format!("Error in the JQL Query: {message}")
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn keyword_at(&self, offset: usize, word: &str) -> bool {
        matches!(self.tokens.get(self.pos + offset), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn parse(mut self) -> Result<Jql, String> {
        let filter = if self.peek().is_none() || (self.keyword("order") && self.keyword_at(1, "by"))
        {
            None
        } else {
            Some(self.or()?)
        };
        let mut order = Vec::new();
        if self.keyword("order") {
            self.pos += 1;
            if !self.keyword("by") {
                return Err(syntax("Expecting 'by' after 'order'."));
            }
            self.pos += 1;
            loop {
                let field = match self.next() {
                    Some(Token::Word(w)) | Some(Token::Str(w)) => w,
                    _ => return Err(syntax("Expecting a field name after 'order by'.")),
                };
                let mut ascending = !matches!(
                    field.to_lowercase().as_str(),
                    "updated" | "created" | "resolutiondate"
                );
                if self.keyword("asc") {
                    ascending = true;
                    self.pos += 1;
                } else if self.keyword("desc") {
                    ascending = false;
                    self.pos += 1;
                }
                order.push((field, ascending));
                if self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            if order.len() > 7 {
                return Err("The ORDER BY clause may list at most 7 fields.".into());
            }
        }
        if let Some(t) = self.peek() {
            return Err(syntax(&format!(
                "Expecting either 'OR' or 'AND' but got '{}'.",
                token_text(t)
            )));
        }
        Ok(Jql { filter, order })
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            if self.next() != Some(Token::RParen) {
                return Err(syntax("Expecting ')'."));
            }
            return Ok(inner);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Token::Word(w)) | Some(Token::Str(w)) => w,
            Some(t) => {
                return Err(syntax(&format!(
                    "Expecting a field name but got '{}'.",
                    token_text(&t)
                )))
            }
            None => {
                return Err(syntax(
                    "Expecting a field name but reached the end of the query.",
                ))
            }
        };
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => "in".into(),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("is") => {
                if self.keyword("not") {
                    self.pos += 1;
                    "is not".into()
                } else {
                    "is".into()
                }
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") && self.keyword("in") => {
                self.pos += 1;
                "not in".into()
            }
            Some(t) => {
                return Err(syntax(&format!(
                    "Expecting operator but got '{}'.",
                    token_text(&t)
                )))
            }
            None => {
                return Err(syntax(
                    "Expecting operator but reached the end of the query.",
                ))
            }
        };
        let values = if op == "in" || op == "not in" {
            if self.next() != Some(Token::LParen) {
                return Err(syntax("Expecting '(' after 'in'."));
            }
            let mut values = Vec::new();
            loop {
                values.push(self.operand()?);
                match self.next() {
                    Some(Token::Comma) => continue,
                    Some(Token::RParen) => break,
                    _ => return Err(syntax("Expecting ',' or ')'.")),
                }
            }
            values
        } else {
            vec![self.operand()?]
        };
        Ok(Expr::Clause { field, op, values })
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Operand::Text(s)),
            Some(Token::Word(w)) => {
                if self.peek() == Some(&Token::LParen) {
                    self.pos += 1;
                    while !matches!(self.next(), Some(Token::RParen) | None) {}
                    return Ok(Operand::Func(w.to_lowercase()));
                }
                if w.eq_ignore_ascii_case("empty") || w.eq_ignore_ascii_case("null") {
                    return Ok(Operand::Empty);
                }
                Ok(Operand::Text(w))
            }
            Some(t) => Err(syntax(&format!(
                "Expecting a value but got '{}'.",
                token_text(&t)
            ))),
            None => Err(syntax(
                "Expecting a value but reached the end of the query.",
            )),
        }
    }
}

fn token_text(t: &Token) -> String {
    match t {
        Token::Word(w) | Token::Str(w) | Token::Op(w) => w.clone(),
        Token::LParen => "(".into(),
        Token::RParen => ")".into(),
        Token::Comma => ",".into(),
    }
}

/// What a search runs with.
pub(crate) struct Context<'a> {
    state: &'a JiraState,
    now: OffsetDateTime,
    offset_minutes: i32,
    account_id: String,
}

fn date_error(value: &str, field: &str) -> String {
    format!("Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.")
}

/// A JQL date literal or period → instant.
fn parse_jql_date(ctx: &Context<'_>, value: &str, field: &str) -> Result<OffsetDateTime, String> {
    let text = value.trim();
    // Relative periods: -5m, 1h, "4w 2d", -1d 2h.
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => (-1i64, r),
        None => (1i64, text.strip_prefix('+').unwrap_or(text)),
    };
    let mut seconds = 0i64;
    let mut parsed_period = !rest.is_empty();
    for part in rest.split_whitespace() {
        let (num, unit) = part.split_at(
            part.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(part.len()),
        );
        let Ok(n) = num.parse::<i64>() else {
            parsed_period = false;
            break;
        };
        let unit_secs = match unit {
            "w" => 7 * 86_400,
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            _ => {
                parsed_period = false;
                break;
            }
        };
        seconds += n * unit_secs;
    }
    if parsed_period {
        return Ok(ctx.now + time::Duration::seconds(sign * seconds));
    }
    let offset = time::UtcOffset::from_whole_seconds(ctx.offset_minutes * 60)
        .unwrap_or(time::UtcOffset::UTC);
    let (date_part, time_part) = match text.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (text, None),
    };
    let nums: Vec<&str> = date_part.split(['/', '-']).collect();
    let bad = || date_error(value, field);
    if nums.len() != 3 || nums[0].len() != 4 {
        return Err(bad());
    }
    let year: i32 = nums[0].parse().map_err(|_| bad())?;
    let month: u8 = nums[1].parse().map_err(|_| bad())?;
    let day: u8 = nums[2].parse().map_err(|_| bad())?;
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    let (hour, minute) = match time_part {
        None => (0, 0),
        Some(t) => {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            (
                h.parse::<u8>().map_err(|_| bad())?,
                m.parse::<u8>().map_err(|_| bad())?,
            )
        }
    };
    let at = time::Time::from_hms(hour, minute, 0).map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(date, at).assume_offset(offset))
}

fn function_date(ctx: &Context<'_>, name: &str) -> Option<OffsetDateTime> {
    let offset = time::UtcOffset::from_whole_seconds(ctx.offset_minutes * 60)
        .unwrap_or(time::UtcOffset::UTC);
    let local = ctx.now.to_offset(offset);
    match name {
        "now" => Some(ctx.now),
        "startofday" => Some(local.replace_time(time::Time::MIDNIGHT)),
        "endofday" => Some(local.replace_time(time::Time::from_hms_milli(23, 59, 59, 999).ok()?)),
        _ => None,
    }
}

fn compare_dates(
    ctx: &Context<'_>,
    field: &str,
    value: Option<OffsetDateTime>,
    op: &str,
    operands: &[Operand],
) -> Result<bool, String> {
    let mut targets = Vec::new();
    for operand in operands {
        match operand {
            Operand::Empty => targets.push(None),
            Operand::Text(t) => targets.push(Some(parse_jql_date(ctx, t, field)?)),
            Operand::Func(f) => targets.push(Some(function_date(ctx, f).ok_or_else(|| {
                format!("Function '{f}' is not supported by the field '{field}'.")
            })?)),
        }
    }
    Ok(match op {
        "is" => value.is_none(),
        "is not" => value.is_some(),
        "in" => targets.contains(&value),
        "not in" => !targets.contains(&value),
        _ => {
            let (Some(v), Some(Some(t))) = (value, targets.first()) else {
                return Ok(false);
            };
            match op {
                "=" => v == *t,
                "!=" => v != *t,
                ">" => v > *t,
                ">=" => v >= *t,
                "<" => v < *t,
                "<=" => v <= *t,
                _ => {
                    return Err(format!(
                        "The operator '{op}' is not supported by the '{field}' field."
                    ))
                }
            }
        }
    })
}

/// String candidates for equality: each value an issue has for `field` (ids, keys, names).
fn candidates(ctx: &Context<'_>, issue: &Issue, field: &str) -> Result<Vec<String>, String> {
    let s = ctx.state;
    let project = s
        .projects
        .iter()
        .find(|p| p.id == issue.project)
        .expect("project");
    Ok(match field {
        "project" => vec![
            project.key.clone(),
            project.id.clone(),
            project.name.clone(),
        ],
        "issuetype" | "type" => s
            .issue_type(&issue.issue_type)
            .map(|t| vec![t.id.clone(), t.name.clone()])
            .unwrap_or_default(),
        "status" => s
            .status(&issue.status)
            .map(|st| vec![st.id.clone(), st.name.clone()])
            .unwrap_or_default(),
        "statuscategory" => s
            .status(&issue.status)
            .map(|st| {
                vec![
                    st.category.id().to_string(),
                    st.category.key().into(),
                    st.category.name().into(),
                ]
            })
            .unwrap_or_default(),
        "key" | "issuekey" | "id" => vec![issue.key.clone(), issue.id.to_string()],
        "resolution" => issue
            .resolution
            .as_ref()
            .and_then(|r| s.resolutions.iter().find(|x| x.id == *r))
            .map(|r| vec![r.id.clone(), r.name.clone()])
            .unwrap_or_default(),
        "assignee" | "reporter" | "creator" => {
            let id = match field {
                "assignee" => issue
                    .fields
                    .get("assignee")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                "reporter" => issue.reporter.clone(),
                _ => Some(issue.creator.clone()),
            };
            id.map(|id| {
                let mut v = vec![id.clone()];
                if let Some(u) = s.user(&id) {
                    v.push(u.email.clone());
                    v.push(u.display_name.clone());
                }
                v
            })
            .unwrap_or_default()
        }
        "summary" | "description" | "text" | "comment" => Vec::new(),
        other => {
            let def = resolve_field(s, other).ok_or_else(|| {
                format!("Field '{other}' does not exist or you do not have permission to view it.")
            })?;
            let stored = issue.fields.get(&def.id);
            let Some(stored) = stored else {
                return Ok(Vec::new());
            };
            let mut values = Vec::new();
            match stored {
                Value::Array(items) => {
                    for item in items {
                        let (id, text) = change_strings(
                            s,
                            project,
                            def,
                            Some(&Value::Array(vec![item.clone()])),
                        );
                        values.extend(id);
                        values.extend(text);
                    }
                }
                Value::Number(n) => values.push(n.to_string()),
                _ => {
                    let (id, text) = change_strings(s, project, def, Some(stored));
                    values.extend(id);
                    values.extend(text);
                }
            }
            values
        }
    })
}

fn resolve_field<'a>(s: &'a JiraState, name: &str) -> Option<&'a crate::generator::jira::FieldDef> {
    if let Some(n) = name.strip_prefix("cf[").and_then(|r| r.strip_suffix(']')) {
        return s.field(&format!("customfield_{n}"));
    }
    s.fields
        .iter()
        .find(|f| f.id.eq_ignore_ascii_case(name) || f.name.eq_ignore_ascii_case(name))
}

fn text_of(ctx: &Context<'_>, issue: &Issue, field: &str) -> String {
    let s = ctx.state;
    let summary = issue
        .fields
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let description = issue
        .fields
        .get("description")
        .map(super::adf_to_text)
        .unwrap_or_default();
    let comments = || {
        issue
            .comments
            .iter()
            .map(|c| super::adf_to_text(&c.body))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match field {
        "summary" => summary,
        "description" => description,
        "comment" => comments(),
        "text" => format!("{summary}\n{description}\n{}", comments()),
        other => resolve_field(s, other)
            .and_then(|def| {
                issue.fields.get(&def.id).map(|v| {
                    if def.is_adf() {
                        super::adf_to_text(v)
                    } else {
                        v.as_str().unwrap_or_default().to_owned()
                    }
                })
            })
            .unwrap_or_default(),
    }
}

fn eval(ctx: &Context<'_>, expr: &Expr, issue: &Issue) -> Result<bool, String> {
    match expr {
        Expr::And(a, b) => Ok(eval(ctx, a, issue)? && eval(ctx, b, issue)?),
        Expr::Or(a, b) => Ok(eval(ctx, a, issue)? || eval(ctx, b, issue)?),
        Expr::Not(a) => Ok(!eval(ctx, a, issue)?),
        Expr::Clause { field, op, values } => {
            let lower = field.to_lowercase();
            let date = match lower.as_str() {
                "updated" | "updateddate" => Some(Some(issue.updated)),
                "created" | "createddate" => Some(Some(issue.created)),
                "resolutiondate" | "resolved" => Some(issue.resolution_date),
                "statuscategorychangeddate" => Some(Some(issue.status_category_changed)),
                _ => None,
            };
            if let Some(value) = date {
                return compare_dates(ctx, field, value, op, values);
            }
            if op == "~" || op == "!~" {
                let Some(Operand::Text(needle)) = values.first() else {
                    return Err(format!(
                        "The operator '{op}' is not supported by the '{field}' field."
                    ));
                };
                let hay = text_of(ctx, issue, &lower).to_lowercase();
                let found = needle
                    .trim_matches('*')
                    .to_lowercase()
                    .split_whitespace()
                    .all(|w| hay.contains(w));
                return Ok(if op == "~" { found } else { !found });
            }
            let have = candidates(ctx, issue, &lower)?;
            let unresolved = lower == "resolution";
            let matches_one = |operand: &Operand| match operand {
                Operand::Empty => have.is_empty(),
                Operand::Text(t) if unresolved && t.eq_ignore_ascii_case("unresolved") => {
                    have.is_empty()
                }
                Operand::Text(t) => have.iter().any(|h| h.eq_ignore_ascii_case(t)),
                Operand::Func(f) if f == "currentuser" => have.contains(&ctx.account_id),
                Operand::Func(_) => false,
            };
            let numeric = |t: &Operand| match t {
                Operand::Text(t) => t.parse::<f64>().ok(),
                _ => None,
            };
            Ok(match op.as_str() {
                "=" | "in" | "is" => values.iter().any(matches_one),
                "!=" | "not in" | "is not" => {
                    !values.iter().any(matches_one) && (op == "is not" || !have.is_empty())
                }
                ">" | ">=" | "<" | "<=" => {
                    let (Some(target), Some(v)) = (
                        values.first().and_then(numeric),
                        have.first().and_then(|h| h.parse::<f64>().ok()),
                    ) else {
                        return Ok(false);
                    };
                    match op.as_str() {
                        ">" => v > target,
                        ">=" => v >= target,
                        "<" => v < target,
                        _ => v <= target,
                    }
                }
                other => {
                    return Err(format!(
                        "The operator '{other}' is not supported by the '{field}' field."
                    ))
                }
            })
        }
    }
}

/// Checks values that must exist (projects, issue types, keys) the way Jira reports them.
fn check_values(ctx: &Context<'_>, expr: &Expr) -> Result<(), String> {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_values(ctx, a)?;
            check_values(ctx, b)
        }
        Expr::Not(a) => check_values(ctx, a),
        Expr::Clause { field, values, .. } => {
            let s = ctx.state;
            let lower = field.to_lowercase();
            for value in values {
                let Operand::Text(v) = value else { continue };
                match lower.as_str() {
                    "project"
                        if s.project(v).is_none()
                            && !s.projects.iter().any(|p| p.name.eq_ignore_ascii_case(v)) =>
                    {
                        return Err(format!(
                            "The value '{v}' does not exist for the field 'project'."
                        ));
                    }
                    "issuetype" | "type"
                        if !s
                            .issue_types
                            .iter()
                            .any(|t| t.id == *v || t.name.eq_ignore_ascii_case(v)) =>
                    {
                        return Err(format!(
                            "The value '{v}' does not exist for the field '{field}'."
                        ));
                    }
                    "status"
                        if !s
                            .statuses
                            .iter()
                            .any(|t| t.id == *v || t.name.eq_ignore_ascii_case(v)) =>
                    {
                        return Err(format!(
                            "The value '{v}' does not exist for the field 'status'."
                        ));
                    }
                    "key" | "issuekey" => {
                        let valid = v
                            .rsplit_once('-')
                            .is_some_and(|(p, n)| !p.is_empty() && n.parse::<u64>().is_ok())
                            || v.parse::<u64>().is_ok();
                        if !valid {
                            return Err(format!(
                                "The issue key '{v}' for field '{field}' is invalid."
                            ));
                        }
                        if s.issue(v).is_none() {
                            return Err(format!(
                                "An issue with key '{v}' does not exist for field '{field}'."
                            ));
                        }
                    }
                    "project"
                    | "issuetype"
                    | "type"
                    | "status"
                    | "statuscategory"
                    | "id"
                    | "resolution"
                    | "assignee"
                    | "reporter"
                    | "creator"
                    | "updated"
                    | "created"
                    | "updateddate"
                    | "createddate"
                    | "resolutiondate"
                    | "resolved"
                    | "statuscategorychangeddate"
                    | "summary"
                    | "description"
                    | "text"
                    | "comment" => {}
                    other => {
                        if resolve_field(s, other).is_none() {
                            return Err(format!("Field '{field}' does not exist or you do not have permission to view it."));
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn key_order(a: &Issue, b: &Issue) -> Ordering {
    let split = |k: &str| {
        let (p, n) = k.rsplit_once('-').unwrap_or((k, "0"));
        (p.to_owned(), n.parse::<u64>().unwrap_or(0))
    };
    split(&a.key).cmp(&split(&b.key))
}

fn sort(ctx: &Context<'_>, issues: &mut [&Issue], order: &[(String, bool)]) -> Result<(), String> {
    for (field, _) in order {
        let ok = matches!(
            field.to_lowercase().as_str(),
            "updated"
                | "created"
                | "key"
                | "issuekey"
                | "id"
                | "priority"
                | "status"
                | "summary"
                | "issuetype"
                | "project"
                | "resolutiondate"
        );
        if !ok {
            return Err(format!("Not able to sort using field '{field}'."));
        }
    }
    let s = ctx.state;
    let priority_rank = |i: &Issue| {
        i.fields
            .get("priority")
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(99)
    };
    issues.sort_by(|a, b| {
        for (field, asc) in order {
            let ord = match field.to_lowercase().as_str() {
                "updated" => a.updated.cmp(&b.updated),
                "created" => a.created.cmp(&b.created),
                "resolutiondate" => a.resolution_date.cmp(&b.resolution_date),
                "key" | "issuekey" => key_order(a, b),
                "id" => a.id.cmp(&b.id),
                // Highest first is "descending" priority in Jira.
                "priority" => priority_rank(b).cmp(&priority_rank(a)),
                "status" => s
                    .status(&a.status)
                    .map(|x| x.name.clone())
                    .cmp(&s.status(&b.status).map(|x| x.name.clone())),
                "summary" => a
                    .fields
                    .get("summary")
                    .and_then(Value::as_str)
                    .cmp(&b.fields.get("summary").and_then(Value::as_str)),
                "issuetype" => a.issue_type.cmp(&b.issue_type),
                _ => a.project.cmp(&b.project),
            };
            let ord = if *asc { ord } else { ord.reverse() };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        // Jira's default order when none is given: newest first.
        if order.is_empty() {
            b.created.cmp(&a.created).then(b.id.cmp(&a.id))
        } else {
            Ordering::Equal
        }
    });
    Ok(())
}

const UNBOUNDED: &str =
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";

fn run<'s>(
    ctx: &Context<'s>,
    jql: &str,
    reconcile: &[String],
    lag_secs: i64,
) -> Result<Vec<&'s Issue>, String> {
    let parsed = Parser {
        tokens: tokenize(jql)?,
        pos: 0,
    }
    .parse()?;
    let Some(filter) = parsed.filter else {
        return Err(UNBOUNDED.into());
    };
    check_values(ctx, &filter)?;
    let mut found = Vec::new();
    for issue in &ctx.state.issues {
        let fresh = lag_secs > 0 && (ctx.now - issue.created).whole_seconds() < lag_secs;
        if fresh && !reconcile.iter().any(|r| *r == issue.id.to_string()) {
            continue;
        }
        if eval(ctx, &filter, issue)? {
            found.push(issue);
        }
    }
    sort(ctx, &mut found, &parsed.order)?;
    Ok(found)
}

fn hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// An opaque page token: offset + a hash of the query it belongs to.
pub(crate) fn encode_token(offset: usize, query: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("cw1:{offset}:{:x}", hash(query)))
}

/// Decodes a page token → (offset, query hash).
pub(crate) fn decode_token(token: &str) -> Option<(usize, u64)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let mut parts = raw.split(':');
    if parts.next()? != "cw1" {
        return None;
    }
    let offset = parts.next()?.parse().ok()?;
    let h = u64::from_str_radix(parts.next()?, 16).ok()?;
    Some((offset, h))
}

/// One search request, from GET parameters or the POST body.
struct Request {
    jql: String,
    next_page_token: Option<String>,
    max_results: Option<i64>,
    fields: Vec<String>,
    expand: Vec<String>,
    properties: Vec<String>,
    reconcile: Vec<String>,
}

fn search(world: &World, headers: &HeaderMap, request: Request) -> Response {
    let call = match begin(world, headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let s = &*call.state;
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, &[m], &[]);
    if request.properties.len() > 5 {
        return bad("You can request at most 5 properties.");
    }
    if request.reconcile.len() > 50 {
        return bad("You can reconcile at most 50 issues.");
    }
    let offset = match &request.next_page_token {
        None => 0,
        Some(token) => match decode_token(token) {
            Some((offset, h)) if h == hash(&request.jql) => offset,
            _ => return bad("Invalid format of nextPageToken"),
        },
    };
    let offset_minutes = s
        .user(&call.account.account_id)
        .map_or(0, |u| u.utc_offset_minutes);
    let ctx = Context {
        state: s,
        now: call.now,
        offset_minutes,
        account_id: call.account.account_id.clone(),
    };
    let found = match run(&ctx, &request.jql, &request.reconcile, s.search_lag_secs) {
        Ok(f) => f,
        Err(m) => return bad(&m),
    };
    let selection = FieldSelection::parse(&request.fields, false);
    let cap = if selection.wants_fields() || !request.expand.is_empty() {
        s.search_max_results_with_fields
    } else {
        s.search_max_results_ids_only
    };
    let max = request.max_results.unwrap_or(50).clamp(1, cap as i64) as usize;
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(max)
        .map(|i| {
            issue_json(
                s,
                i,
                &selection,
                &request.expand,
                &request.properties,
                &call.account,
            )
        })
        .collect();
    let is_last = offset + page.len() >= found.len();
    let mut answer = json!({"issues": page, "isLast": is_last});
    if !is_last {
        answer["nextPageToken"] = json!(encode_token(offset + max, &request.jql));
    }
    if request.expand.iter().any(|e| e == "names") {
        answer["names"] = Value::Object(
            s.fields
                .iter()
                .map(|f| (f.id.clone(), json!(f.name)))
                .collect(),
        );
    }
    if request.expand.iter().any(|e| e == "schema") {
        answer["schema"] = Value::Object(
            s.fields
                .iter()
                .map(|f| (f.id.clone(), super::fields::field_json(f)["schema"].clone()))
                .collect(),
        );
    }
    Json(answer).into_response()
}

/// `GET /rest/api/3/search/jql`.
pub(super) async fn search_get(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    axum::extract::Query(query): Query,
) -> Response {
    let max_results = match int_param(&query, "maxResults") {
        Ok(m) => m,
        Err(r) => return r,
    };
    let request = Request {
        jql: param(&query, "jql").unwrap_or_default().to_owned(),
        next_page_token: param(&query, "nextPageToken").map(str::to_owned),
        max_results,
        fields: list_param(&query, "fields"),
        expand: list_param(&query, "expand"),
        properties: list_param(&query, "properties"),
        reconcile: list_param(&query, "reconcileIssues"),
    };
    search(&world, &headers, request)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
            .flat_map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// `POST /rest/api/3/search/jql`: the body has `additionalProperties:false`.
pub(super) async fn search_post(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    const KNOWN: [&str; 9] = [
        "jql",
        "nextPageToken",
        "maxResults",
        "fields",
        "expand",
        "properties",
        "fieldsByKeys",
        "failFast",
        "reconcileIssues",
    ];
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(obj) = body.as_object() else {
        return error(
            StatusCode::BAD_REQUEST,
            &["The request body must be a JSON object."],
            &[],
        );
    };
    if let Some(unknown) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return error(
            StatusCode::BAD_REQUEST,
            &[&format!(
                "Unrecognized field \"{unknown}\", not marked as ignorable."
            )],
            &[],
        );
    }
    let request = Request {
        jql: obj
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        next_page_token: obj
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
        max_results: obj.get("maxResults").and_then(Value::as_i64),
        fields: strings(obj.get("fields")),
        expand: strings(obj.get("expand")),
        properties: strings(obj.get("properties")),
        reconcile: strings(obj.get("reconcileIssues")),
    };
    search(&world, &headers, request)
}

/// `POST /rest/api/3/search/approximate-count` → `{"count":n}`.
pub(super) async fn approximate_count(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let call = match begin(&world, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let s = &*call.state;
    let ctx = Context {
        state: s,
        now: call.now,
        offset_minutes: s
            .user(&call.account.account_id)
            .map_or(0, |u| u.utc_offset_minutes),
        account_id: call.account.account_id.clone(),
    };
    match run(
        &ctx,
        body.get("jql").and_then(Value::as_str).unwrap_or_default(),
        &[],
        0,
    ) {
        Ok(found) => Json(json!({"count": found.len()})).into_response(),
        Err(m) => error(StatusCode::BAD_REQUEST, &[&m], &[]),
    }
}

/// The removed `/rest/api/{2,3}/search` (CHANGE-2046): 410.
pub(super) async fn removed() -> Response {
    error(
        StatusCode::GONE,
        &["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"],
        &[],
    )
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn jql_parses_the_polling_query() {
        let tokens = tokenize(r#"project in (SUP, ENG) AND updated >= "2025/01/31 10:05" ORDER BY updated ASC, key ASC"#).unwrap();
        let jql = Parser { tokens, pos: 0 }.parse().unwrap();
        assert!(jql.filter.is_some());
        assert_eq!(
            jql.order,
            vec![("updated".to_owned(), true), ("key".to_owned(), true)]
        );
        let unbounded = Parser {
            tokens: tokenize("order by key desc").unwrap(),
            pos: 0,
        }
        .parse()
        .unwrap();
        assert!(unbounded.filter.is_none());
        assert!(tokenize("summary ~ \"open").is_err());
    }

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let t = encode_token(50, "project = SUP");
        assert_eq!(decode_token(&t), Some((50, hash("project = SUP"))));
        assert_eq!(decode_token("garbage!"), None);
    }
}
