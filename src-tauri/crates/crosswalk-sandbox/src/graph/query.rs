//! OData query options as Graph reads them: `$select`, `$top`, `$filter` (a parser and evaluator
//! for the subset directory objects and Intune support), `$count`, `$search`, and the opaque
//! page tokens that carry the original query (api/microsoft.md §B.1, §D.4).

use base64::Engine as _;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The query options of one request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub select: Option<Vec<String>>,
    pub top: Option<String>,
    pub filter: Option<String>,
    pub count: bool,
    pub orderby: Option<String>,
    pub search: Option<String>,
    pub expand: Option<String>,
    pub skip: Option<String>,
    pub skiptoken: Option<String>,
    pub deltatoken: Option<String>,
    /// The original query string without `$skiptoken` / `$deltatoken`.
    pub original: String,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let raw = raw.unwrap_or("");
        let mut query = Query::default();
        let mut kept: Vec<String> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let key_lower = key.to_ascii_lowercase();
            match key_lower.as_str() {
                "$skiptoken" => {
                    query.skiptoken = Some(value.into_owned());
                    continue;
                }
                "$deltatoken" => {
                    query.deltatoken = Some(value.into_owned());
                    continue;
                }
                "$select" => {
                    query.select = Some(
                        value
                            .split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    )
                }
                "$top" => query.top = Some(value.to_string()),
                "$filter" => query.filter = Some(value.to_string()),
                "$count" => query.count = value.eq_ignore_ascii_case("true"),
                "$orderby" => query.orderby = Some(value.to_string()),
                "$search" => query.search = Some(value.to_string()),
                "$expand" => query.expand = Some(value.to_string()),
                "$skip" => query.skip = Some(value.to_string()),
                _ => {}
            }
            // Keep `$` and the key readable, as Graph's own nextLinks do.
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            kept.push(format!("{key}={value}"));
        }
        query.original = kept.join("&");
        query
    }

    /// Whether `$select` names `property` (case-insensitive).
    pub fn selects(&self, property: &str) -> bool {
        self.select
            .as_ref()
            .is_some_and(|s| s.iter().any(|p| p.eq_ignore_ascii_case(property)))
    }
}

/// What an opaque page or delta token carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageToken {
    /// Which collection it belongs to (route key).
    pub r: String,
    /// The original query string.
    pub q: String,
    /// Position to resume at.
    pub o: usize,
    /// Sub-position (slice of `members@delta` within one group).
    #[serde(default)]
    pub s: usize,
    /// Delta: first change version of the round (exclusive); absent for an initial round.
    #[serde(default)]
    pub f: Option<u64>,
    /// Delta: last change version of the round (inclusive).
    #[serde(default)]
    pub v: u64,
    /// Unix time the round (or delta token) started.
    #[serde(default)]
    pub t: i64,
}

impl PageToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(token: &str) -> Option<PageToken> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
    Date(OffsetDateTime),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, Op, Lit),
    /// `startswith`, `endswith`, `contains`.
    Func(String, String, String),
    In(String, Vec<Lit>),
    /// `prop/any(var: inner)`
    Any(String, String, Box<Expr>),
}

/// One use of a property in a filter, for support checks: (property, operator or function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub property: String,
    pub operator: String,
    pub null_literal: bool,
}

impl Expr {
    /// Every (property, operator) the filter uses.
    pub fn uses(&self) -> Vec<Use> {
        let mut out = Vec::new();
        self.collect(&mut out, None);
        out
    }

    fn collect(&self, out: &mut Vec<Use>, var: Option<(&str, &str)>) {
        let name = |p: &str| match var {
            Some((v, prop)) if p == v => prop.to_owned(),
            _ => p.to_owned(),
        };
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect(out, var);
                b.collect(out, var);
            }
            Expr::Not(inner) => {
                out.push(Use {
                    property: String::new(),
                    operator: "not".into(),
                    null_literal: false,
                });
                inner.collect(out, var);
            }
            Expr::Cmp(p, op, lit) => out.push(Use {
                property: name(p),
                operator: op.as_str().into(),
                null_literal: *lit == Lit::Null,
            }),
            Expr::Func(f, p, _) => out.push(Use {
                property: name(p),
                operator: f.clone(),
                null_literal: false,
            }),
            Expr::In(p, _) => out.push(Use {
                property: name(p),
                operator: "in".into(),
                null_literal: false,
            }),
            Expr::Any(p, v, inner) => inner.collect(out, Some((v, p))),
        }
    }

    /// Evaluates against an object's full representation.
    pub fn matches(&self, object: &Map<String, Value>) -> bool {
        self.eval(object, None)
    }

    fn eval(&self, object: &Map<String, Value>, var: Option<(&str, &Value)>) -> bool {
        let get = |p: &str| -> Value {
            match var {
                Some((v, value)) if p == v => value.clone(),
                _ => lookup(object, p),
            }
        };
        match self {
            Expr::And(a, b) => a.eval(object, var) && b.eval(object, var),
            Expr::Or(a, b) => a.eval(object, var) || b.eval(object, var),
            Expr::Not(inner) => !inner.eval(object, var),
            Expr::Cmp(p, op, lit) => compare(&get(p), *op, lit),
            Expr::Func(f, p, arg) => {
                let Value::String(s) = get(p) else {
                    return false;
                };
                let s = s.to_lowercase();
                let arg = arg.to_lowercase();
                match f.as_str() {
                    "startswith" => s.starts_with(&arg),
                    "endswith" => s.ends_with(&arg),
                    _ => s.contains(&arg),
                }
            }
            Expr::In(p, lits) => {
                let value = get(p);
                lits.iter().any(|lit| compare(&value, Op::Eq, lit))
            }
            Expr::Any(p, v, inner) => match get(p) {
                Value::Array(items) => items
                    .iter()
                    .any(|item| inner.eval(object, Some((v.as_str(), item)))),
                _ => false,
            },
        }
    }
}

fn lookup(object: &Map<String, Value>, property: &str) -> Value {
    if let Some(value) = object.get(property) {
        return value.clone();
    }
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(property))
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null)
}

fn parse_date(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn compare(value: &Value, op: Op, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (value, lit) {
        (Value::Null, Lit::Null) => Some(Ordering::Equal),
        (_, Lit::Null) | (Value::Null, _) => None,
        (Value::String(s), Lit::Date(d)) => parse_date(s).map(|v| v.cmp(d)),
        (Value::String(s), Lit::Str(l)) => match (parse_date(s), parse_date(l)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        },
        (Value::Bool(b), Lit::Bool(l)) => Some(b.cmp(l)),
        (Value::Number(n), Lit::Num(l)) => n.as_f64().and_then(|n| n.partial_cmp(l)),
        (Value::String(s), Lit::Bool(l)) => Some(s.to_lowercase().cmp(&l.to_string())),
        _ => None,
    };
    match ordering {
        None => op == Op::Ne,
        Some(o) => match op {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Lit),
    Open,
    Close,
    Comma,
    Colon,
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Lit(Lit::Str(s)));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    // A colon ends a token except inside a date-time literal (digits around it).
                    if chars[i] == ':' && !chars[start].is_ascii_digit() {
                        break;
                    }
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let tok = if word.eq_ignore_ascii_case("true") {
                    Tok::Lit(Lit::Bool(true))
                } else if word.eq_ignore_ascii_case("false") {
                    Tok::Lit(Lit::Bool(false))
                } else if word.eq_ignore_ascii_case("null") {
                    Tok::Lit(Lit::Null)
                } else if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                    if let Some(date) = parse_date(&word) {
                        Tok::Lit(Lit::Date(date))
                    } else if let Ok(n) = word.parse::<f64>() {
                        Tok::Lit(Lit::Num(n))
                    } else {
                        return Err(format!("unexpected '{word}'"));
                    }
                } else {
                    Tok::Ident(word)
                };
                out.push(tok);
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.toks.get(self.pos).cloned();
        self.pos += 1;
        tok
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, tok: Tok) -> Result<(), String> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            other => Err(format!("expected {tok:?}, found {other:?}")),
        }
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
        self.primary()
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Lit(lit)) => Ok(lit),
            other => Err(format!("expected a literal, found {other:?}")),
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Open) => {
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                Ok(inner)
            }
            Some(Tok::Ident(word)) => {
                let lower = word.to_ascii_lowercase();
                if matches!(self.peek(), Some(Tok::Open)) {
                    self.pos += 1;
                    if let Some(prop) = lower.strip_suffix("/any").map(|_| &word[..word.len() - 4])
                    {
                        let var = match self.next() {
                            Some(Tok::Ident(v)) => v,
                            other => {
                                return Err(format!("expected a lambda variable, found {other:?}"))
                            }
                        };
                        self.expect(Tok::Colon)?;
                        let inner = self.or()?;
                        self.expect(Tok::Close)?;
                        return Ok(Expr::Any(prop.to_owned(), var, Box::new(inner)));
                    }
                    if matches!(lower.as_str(), "startswith" | "endswith" | "contains") {
                        let prop = match self.next() {
                            Some(Tok::Ident(p)) => p,
                            other => return Err(format!("expected a property, found {other:?}")),
                        };
                        self.expect(Tok::Comma)?;
                        let arg = match self.literal()? {
                            Lit::Str(s) => s,
                            other => return Err(format!("expected a string, found {other:?}")),
                        };
                        self.expect(Tok::Close)?;
                        return Ok(Expr::Func(lower, prop, arg));
                    }
                    return Err(format!("unknown function '{word}'"));
                }
                let op = match self.next() {
                    Some(Tok::Ident(op)) => op.to_ascii_lowercase(),
                    other => {
                        return Err(format!(
                            "expected an operator after '{word}', found {other:?}"
                        ))
                    }
                };
                let op = match op.as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    "in" => {
                        self.expect(Tok::Open)?;
                        let mut lits = vec![self.literal()?];
                        while matches!(self.peek(), Some(Tok::Comma)) {
                            self.pos += 1;
                            lits.push(self.literal()?);
                        }
                        self.expect(Tok::Close)?;
                        return Ok(Expr::In(word, lits));
                    }
                    other => return Err(format!("unknown operator '{other}'")),
                };
                Ok(Expr::Cmp(word, op, self.literal()?))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

/// Parses a `$filter` value.
pub fn parse_filter(input: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        toks: tokenize(input)?,
        pos: 0,
    };
    let expr = parser.or()?;
    if parser.pos != parser.toks.len() {
        return Err(format!("unexpected {:?}", parser.peek()));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn filters_parse_and_match() {
        let user = obj(json!({"displayName": "Adele Vance", "accountEnabled": true,
            "groupTypes": ["Unified"], "lastSyncDateTime": "2024-05-02T00:00:00Z", "mail": null}));
        let cases = [
            ("accountEnabled eq true", true),
            ("startswith(displayName,'adele')", true),
            ("endswith(displayName,'x')", false),
            ("groupTypes/any(c:c eq 'Unified')", true),
            ("lastSyncDateTime gt 2024-05-01T00:00:00Z", true),
            ("lastSyncDateTime lt 2024-05-01T00:00:00Z", false),
            ("mail eq null", true),
            (
                "not(accountEnabled eq true) or displayName in ('Adele Vance', 'x')",
                true,
            ),
            (
                "displayName eq 'O''Brien' and accountEnabled eq true",
                false,
            ),
        ];
        for (filter, expected) in cases {
            let expr = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!(expr.matches(&user), expected, "{filter}");
        }
        assert!(parse_filter("displayName eq").is_err());
        assert!(parse_filter("foo(bar)").is_err());
    }

    #[test]
    fn page_tokens_round_trip() {
        let token = PageToken {
            r: "users".into(),
            q: "$top=5".into(),
            o: 10,
            s: 0,
            f: None,
            v: 3,
            t: 1,
        };
        assert_eq!(PageToken::decode(&token.encode()), Some(token));
        assert_eq!(PageToken::decode("not a token"), None);
    }
}
