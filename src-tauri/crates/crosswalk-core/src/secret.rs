//! A secret value that cannot be printed, logged or serialized by accident.

use std::fmt;

/// A client secret or API token in memory. `Debug` prints `[redacted]`; there is no `Display`
/// and no `Serialize`, so it cannot reach a log line, an error message or the database.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value (trailing newlines from stdin or copy-paste are removed).
    pub fn new(value: impl Into<String>) -> Secret {
        let mut value = value.into();
        while value.ends_with(['\n', '\r']) {
            value.pop();
        }
        Secret(value)
    }

    /// The secret itself, for the one place that sends it (a token request, an auth header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when nothing was entered.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        let bytes = overwrite(&mut self.0);
        debug_assert!(bytes.iter().all(|b| *b == 0));
    }
}

fn overwrite(value: &mut String) -> Vec<u8> {
    let mut bytes = std::mem::take(value).into_bytes();
    bytes.iter_mut().for_each(|b| *b = 0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2\n");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(secret.expose(), "hunter2");
    }
}
