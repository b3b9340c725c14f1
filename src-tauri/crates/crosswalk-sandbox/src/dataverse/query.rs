//! The OData query-option subset Dataverse understands (api/microsoft.md §F.4): `$filter`
//! (eq/ne/gt/ge/lt/le, and/or/not, parentheses, contains/startswith/endswith, null, booleans,
//! numbers, quoted strings, GUIDs, unquoted date-times, enum literals
//! `Microsoft.Dynamics.CRM.X'Y'`, `A/B` paths) and `$orderby`.

use serde_json::Value;
use std::cmp::Ordering;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A parsed `$filter` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(String, CmpOp, Literal),
    Function(String, String, Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    DateTime(OffsetDateTime),
    Date(time::Date),
    Guid(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Word(String),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == ',' {
            tokens.push(Token::Comma);
            i += 1;
        } else if c == '\'' {
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
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(s));
        } else {
            let start = i;
            while i < chars.len()
                && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'')
                && !chars[i].is_whitespace()
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // Enum literal: Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'
            if chars.get(i) == Some(&'\'') && word.contains('.') {
                let end = chars[i + 1..]
                    .iter()
                    .position(|ch| *ch == '\'')
                    .ok_or("unterminated enum literal")?;
                let value: String = chars[i + 1..i + 1 + end].iter().collect();
                tokens.push(Token::Str(value));
                i += end + 2;
                continue;
            }
            let is_ident = word
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphabetic() || ch == '_');
            if is_ident && !is_keyword(&word) && !looks_like_guid(&word) {
                tokens.push(Token::Ident(word));
            } else {
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "eq" | "ne" | "gt" | "ge" | "lt" | "le" | "and" | "or" | "not" | "null" | "true" | "false"
    )
}

fn looks_like_guid(word: &str) -> bool {
    word.len() == 36
        && word.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

/// Parses a `$filter` value.
pub fn parse_filter(input: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
    };
    let expr = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!(
            "Syntax error at position {} in '{input}'.",
            parser.pos
        ));
    }
    Ok(expr)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn word_is(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.word_is("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.word_is("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.word_is("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("')' expected".into()),
                }
            }
            Some(Token::Ident(name)) => {
                if self.peek() == Some(&Token::Open) {
                    self.pos += 1;
                    let function = name.to_ascii_lowercase();
                    if !matches!(function.as_str(), "contains" | "startswith" | "endswith") {
                        return Err(format!("An unknown function with name '{name}' was found."));
                    }
                    let Some(Token::Ident(property)) = self.next() else {
                        return Err(format!("{name}: a property name was expected"));
                    };
                    if self.next() != Some(Token::Comma) {
                        return Err("',' expected".into());
                    }
                    let value = self.literal()?;
                    if self.next() != Some(Token::Close) {
                        return Err("')' expected".into());
                    }
                    return Ok(Expr::Function(function, property, value));
                }
                let op = match self.next() {
                    Some(Token::Word(w)) => match w.as_str() {
                        "eq" => CmpOp::Eq,
                        "ne" => CmpOp::Ne,
                        "gt" => CmpOp::Gt,
                        "ge" => CmpOp::Ge,
                        "lt" => CmpOp::Lt,
                        "le" => CmpOp::Le,
                        other => return Err(format!("Unknown operator '{other}'.")),
                    },
                    _ => return Err(format!("An operator was expected after '{name}'.")),
                };
                Ok(Expr::Compare(name, op, self.literal()?))
            }
            other => Err(format!("Unexpected token {other:?}.")),
        }
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Str(s)),
            Some(Token::Word(w)) => parse_word(&w),
            Some(Token::Ident(w)) => parse_word(&w),
            other => Err(format!("A literal was expected, found {other:?}.")),
        }
    }
}

fn parse_word(word: &str) -> Result<Literal, String> {
    match word {
        "null" => return Ok(Literal::Null),
        "true" => return Ok(Literal::Bool(true)),
        "false" => return Ok(Literal::Bool(false)),
        _ => {}
    }
    if looks_like_guid(word) {
        return Ok(Literal::Guid(word.to_ascii_lowercase()));
    }
    if let Ok(at) = OffsetDateTime::parse(word, &Rfc3339) {
        return Ok(Literal::DateTime(at));
    }
    if let Ok(date) = time::Date::parse(
        word,
        time::macros::format_description!("[year]-[month]-[day]"),
    ) {
        return Ok(Literal::Date(date));
    }
    let number = word.trim_end_matches(['M', 'm', 'L', 'l', 'd', 'D', 'f', 'F']);
    number
        .parse::<f64>()
        .map(Literal::Number)
        .map_err(|_| format!("Unrecognized literal '{word}'."))
}

/// Every property name the expression mentions (to check they exist).
pub fn properties(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::And(a, b) | Expr::Or(a, b) => {
            properties(a, out);
            properties(b, out);
        }
        Expr::Not(a) => properties(a, out),
        Expr::Compare(p, _, _) | Expr::Function(_, p, _) => out.push(p.clone()),
    }
}

/// Evaluates `expr`; `get` resolves a property (path) to its stored JSON value.
pub fn evaluate(expr: &Expr, get: &dyn Fn(&str) -> Value) -> bool {
    match expr {
        Expr::And(a, b) => evaluate(a, get) && evaluate(b, get),
        Expr::Or(a, b) => evaluate(a, get) || evaluate(b, get),
        Expr::Not(a) => !evaluate(a, get),
        Expr::Compare(property, op, literal) => {
            let value = get(property);
            let ordering = compare_literal(&value, literal);
            match (op, ordering) {
                (CmpOp::Eq, o) => o == Some(Ordering::Equal),
                (CmpOp::Ne, o) => o != Some(Ordering::Equal),
                (_, None) => false,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (CmpOp::Ge, Some(o)) => o != Ordering::Less,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Le, Some(o)) => o != Ordering::Greater,
            }
        }
        Expr::Function(function, property, literal) => {
            let (Value::String(value), Literal::Str(needle)) = (get(property), literal) else {
                return false;
            };
            let (value, needle) = (value.to_lowercase(), needle.to_lowercase());
            match function.as_str() {
                "contains" => value.contains(&needle),
                "startswith" => value.starts_with(&needle),
                _ => value.ends_with(&needle),
            }
        }
    }
}

/// Compares a stored value with a literal (`None` = not comparable, e.g. null vs a number).
fn compare_literal(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Literal::Number(b)) => a.as_f64()?.partial_cmp(b),
        (Value::Number(a), Literal::Bool(b)) => Some((a.as_f64()? != 0.0).cmp(b)),
        (Value::String(a), Literal::DateTime(b)) => {
            let a = parse_stored_datetime(a)?;
            Some(a.cmp(b))
        }
        (Value::String(a), Literal::Date(b)) => {
            let a = parse_stored_datetime(a)?.date();
            Some(a.cmp(b))
        }
        (Value::String(a), Literal::Guid(b)) => Some(a.to_ascii_lowercase().cmp(b)),
        (Value::String(a), Literal::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Value::String(a), Literal::Number(b)) => a.parse::<f64>().ok()?.partial_cmp(b),
        _ => None,
    }
}

/// Parses a stored DateTime (`2024-05-02T09:30:00Z`) or DateOnly (`2024-05-02`) value.
pub fn parse_stored_datetime(value: &str) -> Option<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(at);
    }
    let date = time::Date::parse(
        value,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(date.midnight().assume_utc())
}

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub property: String,
    pub descending: bool,
}

/// Parses `$orderby=modifiedon asc,title desc`.
pub fn parse_orderby(input: &str) -> Result<Vec<OrderBy>, String> {
    input
        .split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let property = words.next().ok_or("empty $orderby item")?.to_owned();
            let descending = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => return Err(format!("Unknown sort direction '{other}'.")),
            };
            Ok(OrderBy {
                property,
                descending,
            })
        })
        .collect()
}

/// Orders two stored values (nulls first, strings case-insensitively).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dataverse_filter_subset_parses_and_evaluates() {
        let row = json!({"title": "Printer jam", "statecode": 0, "modifiedon": "2024-05-02T09:30:00Z",
            "_customerid_value": "F1E2A3B4-0000-0000-0000-000000000001", "isescalated": false, "cw_targetdate": null});
        let get = |p: &str| row.get(p).cloned().unwrap_or(Value::Null);
        let cases = [
            ("statecode eq 0", true),
            ("statecode ne 0", false),
            ("modifiedon gt 2024-05-01T00:00:00Z", true),
            ("modifiedon lt 2024-05-01T00:00:00Z", false),
            ("contains(title,'JAM') and statecode le 1", true),
            ("startswith(title,'x') or isescalated eq false", true),
            ("not (title eq 'Printer jam')", false),
            (
                "_customerid_value eq f1e2a3b4-0000-0000-0000-000000000001",
                true,
            ),
            ("cw_targetdate eq null", true),
            ("title eq 'it''s'", false),
            (
                "AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'",
                false,
            ),
        ];
        for (filter, expected) in cases {
            let expr = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
            assert_eq!(evaluate(&expr, &get), expected, "{filter}");
        }
        assert!(parse_filter("title eq").is_err());
        assert!(parse_filter("frobnicate(title,'x')").is_err());
    }
}
