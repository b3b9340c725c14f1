//! OData v4 `$filter` expressions as Microsoft Graph writes them, parsed and evaluated locally
//! over an object's JSON.
//!
//! For: filters an admin writes in Graph's syntax that Crosswalk must apply itself, because the
//! endpoint cannot: Graph delta queries accept no `$filter` but `id eq '…'`
//! (api/microsoft.md §C.3), so Entra Sync reads every object and keeps those its filter matches.
//! [`Filter::properties`] names what an expression reads, so a caller can add it to `$select`.
//!
//! The subset is what Graph supports on directory objects: `eq ne gt ge lt le`, `and or not`,
//! parentheses, `in (…)`, `startswith` / `endswith` / `contains`, `null true false`, `'text'`
//! (with `''` for a quote), numbers, date-times (compared as instants), dates, GUIDs, `prop/sub`
//! paths, `coll/any(x: …)` / `coll/all(x: …)` / `coll/any()` and `coll/$count`. Text is compared
//! case-insensitively, as Graph compares directory strings (see [`eval`]).
//!
//! Not for: building query strings, arithmetic, casts, `has`, or the Dataverse dialect.
//! Parse errors carry the 1-based character position and what was expected.
//!
//! Tested by unit tests of the grammar, the evaluation and the error positions (`src/tests.rs`).

mod ast;
mod error;
pub mod eval;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use error::ParseError;

use serde_json::Value;

/// A parsed `$filter`: evaluate it on objects with [`Filter::matches`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    expr: ast::Expr,
}

impl Filter {
    /// Parses a `$filter` value (without the `$filter=` and without URL encoding).
    ///
    /// # Errors
    /// The first problem, with its character position and what was expected there.
    pub fn parse(text: &str) -> Result<Filter, ParseError> {
        let tokens = lexer::tokenize(text)?;
        let expr = parser::parse(tokens)?;
        Ok(Filter {
            text: text.to_owned(),
            expr,
        })
    }

    /// Whether `object` (a Graph object's JSON) matches. Missing properties read as `null`.
    pub fn matches(&self, object: &Value) -> bool {
        eval::matches(&self.expr, object)
    }

    /// The top-level properties the expression reads, each once, in order of appearance
    /// (`proxyAddresses/any(p: …)` reads `proxyAddresses`; lambda variables are not properties).
    pub fn properties(&self) -> Vec<String> {
        self.expr.properties()
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl std::str::FromStr for Filter {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Filter, ParseError> {
        Filter::parse(text)
    }
}
