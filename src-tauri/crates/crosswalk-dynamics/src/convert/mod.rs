//! Field value conversion between Dataverse columns and Jira fields: pure functions, no I/O.
//!
//! - [`rich`]: Dataverse text and HTML ↔ Atlassian Document Format.
//! - [`compatibility`]: which column types map to which field types, and what is lost.
//! - [`to_jira`] / [`to_dataverse`]: a value as one side reads it to the other side's write
//!   value, with value maps, option matching, time zones and users ([`Ctx`]).
//! - [`comparable_jira`] / [`comparable_dataverse`]: normalized values for change detection
//!   and echo suppression (their invariants are documented in `comparable.rs`).
//!
//! Errors are [`ConvertError`]s worded for the admin: each names the field and the fix.
//! Tested by unit tests per module and by round trips through simulated reads of both sides
//! (`tests.rs`).

mod choices;
mod comparable;
mod compat;
mod dates;
mod error;
mod kinds;
pub mod rich;
mod users;
mod values;

pub use comparable::{comparable_dataverse, comparable_jira};
pub use compat::{compatibility, Compatibility};
pub use error::ConvertError;
pub use users::UserDirectory;
pub use values::{to_dataverse, to_jira, Ctx, JiraField};

/// Whether a column's values reach Jira only with Dynamics' formatted values (see
/// [`kinds::Column::labels_from_formatted`]).
pub(crate) fn labels_from_formatted(column: &crosswalk_dataverse::Attribute) -> bool {
    kinds::Column::labels_from_formatted(column)
}

#[cfg(test)]
mod tests;

/// A column's type as the admin knows it from Dynamics ("Decimal", "Lookup to account"): the
/// same words the wizard's column list and the compatibility messages use.
pub fn column_type_name(column: &crosswalk_dataverse::Attribute) -> String {
    kinds::Column::type_name(column)
}
