//! Scrubbing of text that came from a remote or a request before it reaches an error or a log.

/// Keys whose value is a credential, matched case-insensitively before `=` or `:`.
const SECRET_KEYS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "api_token",
    "api_key",
    "apikey",
    "password",
];

/// Authorization schemes whose following word is a credential even without a key in front.
const SCHEMES: &[&str] = &["bearer", "basic"];

/// The text put where a credential was.
const REDACTED: &str = "[redacted]";

/// Replaces credential values in `text` with `[redacted]`.
///
/// Covers `Authorization: Bearer …`, `client_secret=…`, `"access_token":"…"` and similar forms, so
/// a remote's error body or a request dump can be shown without leaking what it echoed back.
pub fn redact(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut idx = 0;
    while idx < text.len() {
        if let Some(end) = redact_key_at(text, &lower, idx, &mut out) {
            idx = end;
            continue;
        }
        if let Some(end) = redact_scheme_at(text, &lower, idx, &mut out) {
            idx = end;
            continue;
        }
        // `idx` always sits on a char boundary: it only moves by whole chars or ASCII matches.
        let ch = text[idx..].chars().next().unwrap_or_default();
        out.push(ch);
        idx += ch.len_utf8().max(1);
    }
    out
}

/// Cuts `text` to at most `max_chars` characters (adding `…`), on a char boundary.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Text from a remote made fit for one line of an error: credentials redacted, control characters
/// and runs of whitespace collapsed, and cut to `max_chars`.
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cleaned: String = collapsed.chars().filter(|ch| !ch.is_control()).collect();
    truncate(&redact(&cleaned), max_chars)
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

fn starts_word(lower: &str, idx: usize) -> bool {
    idx == 0 || !is_word_byte(lower.as_bytes()[idx - 1])
}

fn ends_word(lower: &str, end: usize) -> bool {
    lower
        .as_bytes()
        .get(end)
        .is_none_or(|byte| !is_word_byte(*byte))
}

/// End of a credential value starting at `idx`: up to a quote, separator or whitespace.
fn value_end(text: &str, idx: usize) -> usize {
    text[idx..]
        .find(|ch: char| {
            ch.is_whitespace() || matches!(ch, '"' | '\'' | '&' | ',' | ';' | '}' | ']' | '<')
        })
        .map_or(text.len(), |offset| idx + offset)
}

fn skip_while(text: &str, idx: usize, pred: impl Fn(char) -> bool) -> usize {
    text[idx..]
        .find(|ch: char| !pred(ch))
        .map_or(text.len(), |offset| idx + offset)
}

/// Handles `key = value` / `"key": "value"` at `idx`; returns where scanning continues.
fn redact_key_at(text: &str, lower: &str, idx: usize, out: &mut String) -> Option<usize> {
    if !starts_word(lower, idx) {
        return None;
    }
    let key = SECRET_KEYS
        .iter()
        .find(|key| lower[idx..].starts_with(**key))?;
    let key_end = idx + key.len();
    if !ends_word(lower, key_end) {
        return None;
    }
    let before_sep = skip_while(text, key_end, |ch| matches!(ch, '"' | '\'' | ' ' | '\t'));
    if !matches!(text[before_sep..].chars().next(), Some('=' | ':')) {
        return None;
    }
    let mut value_start = skip_while(text, before_sep + 1, |ch| {
        matches!(ch, '"' | '\'' | ' ' | '\t')
    });
    // `Authorization: Bearer xyz`: keep the scheme word, hide what follows it.
    let scheme_end = skip_while(text, value_start, |ch| ch.is_ascii_alphabetic());
    if scheme_end > value_start
        && text[scheme_end..].starts_with(' ')
        && key.contains("authorization")
    {
        value_start = skip_while(text, scheme_end, |ch| ch == ' ');
    }
    let end = value_end(text, value_start);
    out.push_str(&text[idx..value_start]);
    if end > value_start {
        out.push_str(REDACTED);
    }
    Some(end)
}

/// Handles a bare `Bearer xyz` / `Basic xyz` at `idx`.
fn redact_scheme_at(text: &str, lower: &str, idx: usize, out: &mut String) -> Option<usize> {
    if !starts_word(lower, idx) {
        return None;
    }
    let scheme = SCHEMES
        .iter()
        .find(|scheme| lower[idx..].starts_with(**scheme))?;
    let scheme_end = idx + scheme.len();
    if !text[scheme_end..].starts_with(' ') {
        return None;
    }
    let value_start = skip_while(text, scheme_end, |ch| ch == ' ');
    let end = value_end(text, value_start);
    let value = &text[value_start..end];
    // Prose such as "Basic authentication" is all lowercase letters; credentials never are.
    let looks_like_credential = value.len() >= 8
        && value.chars().any(|ch| !ch.is_ascii_lowercase())
        && !value.contains(char::is_whitespace);
    if !looks_like_credential {
        return None;
    }
    out.push_str(&text[idx..value_start]);
    out.push_str(REDACTED);
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        assert_eq!(redact(input), expect, "input: {input}");
    }

    #[test]
    fn credentials_are_redacted_in_common_shapes() {
        check(
            "Authorization: Bearer eyJ0eXAi.abc.def",
            "Authorization: Bearer [redacted]",
        );
        check(
            "authorization=Basic dXNlcjp0b2tlbg==",
            "authorization=Basic [redacted]",
        );
        check(
            "client_id=abc&client_secret=s3cr3t~x&grant_type=client_credentials",
            "client_id=abc&client_secret=[redacted]&grant_type=client_credentials",
        );
        check(
            r#"{"token_type":"Bearer","access_token":"eyJabc","expires_in":3599}"#,
            r#"{"token_type":"Bearer","access_token":"[redacted]","expires_in":3599}"#,
        );
        check(
            "sent Bearer eyJ0eXAiOiJKV1Qi to graph",
            "sent Bearer [redacted] to graph",
        );
        check("password: hunter2", "password: [redacted]");
    }

    #[test]
    fn prose_and_other_fields_are_left_alone() {
        check(
            "Basic authentication with passwords is deprecated",
            "Basic authentication with passwords is deprecated",
        );
        check(
            "Authorization_RequestDenied: Insufficient privileges",
            "Authorization_RequestDenied: Insufficient privileges",
        );
        check("Passwords no longer work", "Passwords no longer work");
        check("naïve café: ok", "naïve café: ok");
        check("", "");
    }

    #[test]
    fn truncate_cuts_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(one_line("a\r\n  b\tc", 10), "a b c");
    }
}
