//! Evaluation over an object's JSON.
//!
//! Text comparisons (`eq`, `ne`, `in`, ordering, `startswith` / `endswith` / `contains`) ignore
//! case. That is how Graph compares directory-object strings: `userPrincipalName eq 'ADELEV@…'`
//! finds `AdeleV@…` (observed; learn.microsoft.com Q&A 1274766, "It is case insensitive"), and
//! the sandbox does the same. Intune's managed devices are filtered with the same rule, so one
//! filter text means the same on every kind.
//!
//! Nulls follow OData: `x eq null` holds when `x` is null or missing, `x ne 'a'` holds when `x`
//! is null, and an ordering (`gt`…) with a null side is false. Values of different types are
//! never equal (`5 eq '5'` is false). A date-time literal is compared with a text value as an
//! instant (`createdDateTime ge 2024-01-01T00:00:00Z` matches `2024-01-01T02:00:00+01:00`).

use crate::ast::{CmpOp, Expr, Literal, Operand, Path, TextFn};
use crate::lexer;
use serde_json::Value;
use std::cmp::Ordering;
use time::{Date, OffsetDateTime};

/// Whether `expr` holds for `object`.
pub(crate) fn matches(expr: &Expr, object: &Value) -> bool {
    Env {
        root: object,
        vars: Vec::new(),
    }
    .eval(expr)
}

/// The object and the lambda variables in scope (innermost last). One lifetime for the
/// expression and the object: values compared borrow from either.
struct Env<'a> {
    root: &'a Value,
    vars: Vec<(&'a str, &'a Value)>,
}

/// A value as comparisons see it.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Text(&'a str),
    DateTime(OffsetDateTime),
    Date(Date),
    Guid(&'a str),
    /// An array or object: equal to nothing.
    Complex,
}

impl<'a> Val<'a> {
    fn of_json(value: Option<&'a Value>) -> Val<'a> {
        match value {
            None | Some(Value::Null) => Val::Null,
            Some(Value::Bool(b)) => Val::Bool(*b),
            Some(Value::Number(n)) => n.as_f64().map_or(Val::Complex, Val::Num),
            Some(Value::String(s)) => Val::Text(s),
            Some(Value::Array(_) | Value::Object(_)) => Val::Complex,
        }
    }

    fn of_literal(literal: &'a Literal) -> Val<'a> {
        match literal {
            Literal::Null => Val::Null,
            Literal::Bool(b) => Val::Bool(*b),
            Literal::Number(n) => Val::Num(*n),
            Literal::Text(s) => Val::Text(s),
            Literal::DateTime(at) => Val::DateTime(*at),
            Literal::Date(date) => Val::Date(*date),
            Literal::Guid(s) => Val::Guid(s),
        }
    }

    fn text(self) -> Option<&'a str> {
        match self {
            Val::Text(s) | Val::Guid(s) => Some(s),
            _ => None,
        }
    }
}

/// Case-insensitive order of two texts, without allocating.
fn fold_cmp(a: &str, b: &str) -> Ordering {
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

/// Reads a Graph date or date-time text as a calendar date (in UTC for date-times).
fn text_date(text: &str) -> Option<Date> {
    lexer::date(text)
        .or_else(|| lexer::date_time(text).map(|at| at.to_offset(time::UtcOffset::UTC).date()))
}

/// How `a` orders against `b`; `None` when they cannot be compared (a null side, other types).
fn compare(a: Val<'_>, b: Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, Val::Null) => Some(Ordering::Equal),
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y),
        (Val::Text(x) | Val::Guid(x), Val::Text(y) | Val::Guid(y)) => Some(fold_cmp(x, y)),
        (Val::DateTime(x), Val::DateTime(y)) => Some(x.cmp(&y)),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(&y)),
        (Val::Text(s), Val::DateTime(at)) => lexer::date_time(s).map(|v| v.cmp(&at)),
        (Val::Text(s), Val::Date(date)) => text_date(s).map(|v| v.cmp(&date)),
        (Val::DateTime(_) | Val::Date(_), Val::Text(_)) => compare(b, a).map(Ordering::reverse),
        _ => None,
    }
}

fn holds(op: CmpOp, ordering: Option<Ordering>) -> bool {
    match op {
        CmpOp::Eq => ordering == Some(Ordering::Equal),
        CmpOp::Ne => ordering != Some(Ordering::Equal),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
    }
}

/// A property of an object: the exact name first, then ignoring case (Graph's names are
/// case-insensitive in queries).
fn property<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

impl<'a> Env<'a> {
    fn resolve(&self, path: &Path) -> Option<&'a Value> {
        let (first, rest) = path.0.split_first()?;
        let mut value = match self.vars.iter().rev().find(|(name, _)| name == first) {
            Some((_, bound)) => *bound,
            None => property(self.root, first)?,
        };
        for segment in rest {
            value = property(value, segment)?;
        }
        Some(value)
    }

    fn value(&self, operand: &'a Operand) -> Val<'a> {
        match operand {
            Operand::Lit(literal) => Val::of_literal(literal),
            Operand::Path(path) => Val::of_json(self.resolve(path)),
            Operand::Count(path) => match self.resolve(path) {
                Some(Value::Array(items)) => Val::Num(items.len() as f64),
                None | Some(Value::Null) => Val::Num(0.0),
                Some(_) => Val::Null,
            },
        }
    }

    fn eval(&mut self, expr: &'a Expr) -> bool {
        match expr {
            Expr::And(a, b) => self.eval(a) && self.eval(b),
            Expr::Or(a, b) => self.eval(a) || self.eval(b),
            Expr::Not(inner) => !self.eval(inner),
            Expr::Compare(left, op, right) => {
                let (left, right) = (self.value(left), self.value(right));
                holds(*op, compare(left, right))
            }
            Expr::In(left, list) => {
                let left = self.value(left);
                list.iter()
                    .any(|item| compare(left, Val::of_literal(item)) == Some(Ordering::Equal))
            }
            Expr::Text(function, haystack, needle) => {
                let (Some(haystack), Some(needle)) =
                    (self.value(haystack).text(), self.value(needle).text())
                else {
                    return false;
                };
                let (haystack, needle) = (haystack.to_lowercase(), needle.to_lowercase());
                match function {
                    TextFn::StartsWith => haystack.starts_with(&needle),
                    TextFn::EndsWith => haystack.ends_with(&needle),
                    TextFn::Contains => haystack.contains(&needle),
                }
            }
            Expr::Lambda {
                collection,
                all,
                var,
                body,
            } => {
                let items: &'a [Value] = match self.resolve(collection) {
                    Some(Value::Array(items)) => items,
                    // A missing or null collection is empty.
                    _ => &[],
                };
                let Some(body) = body else {
                    return !items.is_empty();
                };
                let mut test = |item: &'a Value| {
                    self.vars.push((var.as_str(), item));
                    let result = self.eval(body);
                    self.vars.pop();
                    result
                };
                if *all {
                    items.iter().all(&mut test)
                } else {
                    items.iter().any(&mut test)
                }
            }
        }
    }
}
