//! The one error of this crate: where a filter stops making sense, and what was expected there.

/// A filter that does not parse, e.g. "expected ')' at character 37, found the end of the filter".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {position}{}", found_suffix(.found))]
pub struct ParseError {
    /// 1-based position, in characters, of the token where the problem is.
    pub position: usize,
    /// What was expected or is wrong there ("expected ')'").
    pub message: String,
    /// What was there instead ("'and'", "the end of the filter"), when it helps.
    pub found: Option<String>,
}

fn found_suffix(found: &Option<String>) -> String {
    found
        .as_deref()
        .map(|found| format!(", found {found}"))
        .unwrap_or_default()
}

impl ParseError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            position,
            message: message.into(),
            found: None,
        }
    }

    pub(crate) fn found(mut self, found: impl Into<String>) -> ParseError {
        self.found = Some(found.into());
        self
    }
}
