//! Column encodings shared by the tables: RFC 3339 UTC timestamps and JSON text.

use rusqlite::types::Type;
use rusqlite::Row;
use serde::de::DeserializeOwned;
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::{OffsetDateTime, UtcOffset};

/// Fixed-width RFC 3339 in UTC, so text order is time order (`ORDER BY`, `<=` work in SQL).
const TIMESTAMP: &[BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// Encodes a timestamp for a TEXT column.
pub(crate) fn ts(at: OffsetDateTime) -> String {
    at.to_offset(UtcOffset::UTC)
        .format(TIMESTAMP)
        .expect("a complete UTC date-time always formats")
}

/// Encodes an optional timestamp.
pub(crate) fn ts_opt(at: Option<OffsetDateTime>) -> Option<String> {
    at.map(ts)
}

fn conversion(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
}

/// Reads a timestamp column.
pub(crate) fn ts_col(row: &Row<'_>, index: usize) -> rusqlite::Result<OffsetDateTime> {
    let text: String = row.get(index)?;
    OffsetDateTime::parse(&text, &Rfc3339).map_err(|error| conversion(index, error))
}

/// Reads a nullable timestamp column.
pub(crate) fn ts_col_opt(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| {
        OffsetDateTime::parse(&text, &Rfc3339).map_err(|error| conversion(index, error))
    })
    .transpose()
}

/// Reads a JSON column into `T`.
pub(crate) fn json_col<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| conversion(index, error))
}

/// Reads a nullable JSON column.
pub(crate) fn json_col_opt<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| serde_json::from_str(&text).map_err(|error| conversion(index, error)))
        .transpose()
}

/// Reads a TEXT column through a parser for one of our stored words (status, trigger...).
pub(crate) fn word_col<T>(
    row: &Row<'_>,
    index: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| conversion(index, UnknownWord(text)))
}

/// Reads a non-negative INTEGER column as `u64`.
pub(crate) fn u64_col(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(index, value))
}

/// Encodes a count for an INTEGER column (saturating; counts never get near 2^63).
pub(crate) fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored word this version does not know (written by a newer Crosswalk, or edited by hand).
#[derive(Debug, thiserror::Error)]
#[error("unknown stored value \"{0}\"")]
struct UnknownWord(String);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn timestamps_are_fixed_width_utc_and_sort_as_text() {
        let whole = datetime!(2026-11-21 12:00:00 UTC);
        let half = datetime!(2026-11-21 12:00:00.5 UTC);
        let shifted = datetime!(2026-11-21 14:00:00 +02:00);
        assert_eq!(ts(whole), "2026-11-21T12:00:00.000000Z");
        assert_eq!(ts(shifted), ts(whole));
        assert!(ts(whole) < ts(half));
    }
}
