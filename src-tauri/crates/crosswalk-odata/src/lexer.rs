//! Splits a filter into tokens, each with the character position it starts at and its text.

use crate::ast::Literal;
use crate::ParseError;
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Open,
    Close,
    Comma,
    Colon,
    Slash,
    /// A name: a property, a keyword (`and`, `eq`, `any`…), a function or `$count`.
    Word(String),
    Lit(Literal),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based character position.
    pub position: usize,
    /// The source text, for messages.
    pub text: String,
}

impl Token {
    /// How a message names this token.
    pub fn describe(&self) -> String {
        match self.tok {
            Tok::End => "the end of the filter".to_owned(),
            _ => {
                let text: String = self.text.chars().take(40).collect();
                let cut = if text.len() < self.text.len() {
                    "…"
                } else {
                    ""
                };
                if matches!(self.tok, Tok::Lit(Literal::Text(_))) {
                    format!("{text}{cut}")
                } else {
                    format!("'{text}{cut}'")
                }
            }
        }
    }
}

/// Every token of `input`, ending with [`Tok::End`].
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let punct = match c {
            '(' => Some(Tok::Open),
            ')' => Some(Tok::Close),
            ',' => Some(Tok::Comma),
            ':' => Some(Tok::Colon),
            '/' => Some(Tok::Slash),
            _ => None,
        };
        let tok = if let Some(tok) = punct {
            i += 1;
            tok
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '\'' {
            let (text, end) = string(&chars, i)?;
            i = end;
            Tok::Lit(Literal::Text(text))
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, date-times (with ':' and '+'), dates and GUIDs.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "-+:.".contains(chars[i]))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            Tok::Lit(number_like(&word).ok_or_else(|| {
                ParseError::new(
                    start + 1,
                    format!(
                        "'{word}' is not a number, date-time (2024-05-01T00:00:00Z), date or GUID"
                    ),
                )
            })?)
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            while i < chars.len() && (chars[i].is_alphanumeric() || "_$-.".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            word_token(word, start + 1)?
        } else {
            return Err(ParseError::new(
                start + 1,
                format!("unexpected character '{c}'"),
            ));
        };
        out.push(Token {
            tok,
            position: start + 1,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::End,
        position: chars.len() + 1,
        text: String::new(),
    });
    Ok(out)
}

/// A quoted text starting at `start`; `''` is one quote. Returns the text and the index after it.
fn string(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(ParseError::new(
                    start + 1,
                    "text not closed: a ' is missing after the text that starts",
                ))
            }
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, i + 1)),
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
}

fn word_token(word: String, position: usize) -> Result<Tok, ParseError> {
    let lower = word.to_ascii_lowercase();
    let tok = match lower.as_str() {
        "null" => Tok::Lit(Literal::Null),
        "true" => Tok::Lit(Literal::Bool(true)),
        "false" => Tok::Lit(Literal::Bool(false)),
        _ if is_guid(&word) => Tok::Lit(Literal::Guid(lower)),
        _ if is_name(&word) => Tok::Word(word),
        _ => {
            return Err(ParseError::new(
                position,
                format!("'{word}' is not a property name, operator or value"),
            ))
        }
    };
    Ok(tok)
}

/// A property or keyword: letters, digits and `_`, or `$count`-style system names.
fn is_name(word: &str) -> bool {
    let body = word.strip_prefix('$').unwrap_or(word);
    body.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && body.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// `8-4-4-4-12` hex digits.
fn is_guid(word: &str) -> bool {
    let groups: Vec<&str> = word.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn number_like(word: &str) -> Option<Literal> {
    if is_guid(word) {
        return Some(Literal::Guid(word.to_ascii_lowercase()));
    }
    if let Some(at) = date_time(word) {
        return Some(Literal::DateTime(at));
    }
    if let Some(date) = date(word) {
        return Some(Literal::Date(date));
    }
    let digits_only = word
        .trim_start_matches('-')
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if digits_only {
        if let Ok(n) = word.parse::<f64>() {
            if n.is_finite() {
                return Some(Literal::Number(n));
            }
        }
    }
    None
}

/// `YYYY-MM-DD`.
pub(crate) fn date(word: &str) -> Option<Date> {
    let mut parts = word.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// An OData `DateTimeOffset`: RFC 3339, where OData also allows leaving out the seconds.
pub(crate) fn date_time(word: &str) -> Option<OffsetDateTime> {
    let upper = word.to_ascii_uppercase();
    let (day, rest) = upper.split_once('T')?;
    let zone_at = rest.find(['Z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let clock = if clock.matches(':').count() == 1 {
        format!("{clock}:00")
    } else {
        clock.to_owned()
    };
    OffsetDateTime::parse(&format!("{day}T{clock}{zone}"), &Rfc3339).ok()
}
