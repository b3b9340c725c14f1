//! JQL building blocks: quoted values and `updated >=` cursors in the caller's time zone.
//!
//! Jira reads a date literal without a zone in the searching account's profile zone (§B.6), with
//! minute resolution, so a UTC cursor formatted as-is is hours off. Format cursors with
//! [`format_date_time`] in `Myself::time_zone`.

use crate::error::{Error, Result};
use time::OffsetDateTime;

/// A JQL string literal: `value` in double quotes with `"` and `\` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// `at` as a JQL date literal `yyyy/MM/dd HH:mm` in the IANA zone `time_zone`, rounded down to
/// the minute (so `>=` never skips the cursor's own minute).
///
/// # Errors
/// `Error::UnknownTimeZone` when the zone is not in the bundled zone database.
pub fn format_date_time(at: OffsetDateTime, time_zone: &str) -> Result<String> {
    let unknown = || Error::UnknownTimeZone {
        name: time_zone.to_owned(),
    };
    let zone = jiff::tz::TimeZone::get(time_zone).map_err(|_| unknown())?;
    let instant = jiff::Timestamp::from_second(at.unix_timestamp()).map_err(|_| unknown())?;
    Ok(instant
        .to_zoned(zone)
        .strftime("%Y/%m/%d %H:%M")
        .to_string())
}

/// `updated >= "<at in time_zone>"`, the polling clause of §B.6.
///
/// # Errors
/// `Error::UnknownTimeZone` as for [`format_date_time`].
pub fn updated_since(at: OffsetDateTime, time_zone: &str) -> Result<String> {
    Ok(format!(
        "updated >= {}",
        quote(&format_date_time(at, time_zone)?)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn values_are_quoted_and_escaped() {
        assert_eq!(quote("SUP"), "\"SUP\"");
        assert_eq!(quote(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
    }

    #[test]
    fn cursors_are_formatted_in_the_callers_zone() {
        let at = datetime!(2025-01-31 22:59:59.900 UTC);
        assert_eq!(format_date_time(at, "UTC").unwrap(), "2025/01/31 22:59");
        assert_eq!(
            format_date_time(at, "Australia/Brisbane").unwrap(),
            "2025/02/01 08:59"
        );
        assert_eq!(
            format_date_time(at, "Asia/Kolkata").unwrap(),
            "2025/02/01 04:29"
        );
        // DST: Berlin is +01:00 in January and +02:00 in July.
        assert_eq!(
            format_date_time(at, "Europe/Berlin").unwrap(),
            "2025/01/31 23:59"
        );
        assert_eq!(
            format_date_time(datetime!(2025-07-01 12:00 UTC), "Europe/Berlin").unwrap(),
            "2025/07/01 14:00"
        );
        assert_eq!(
            updated_since(at, "America/Phoenix").unwrap(),
            "updated >= \"2025/01/31 15:59\""
        );
        assert!(matches!(
            format_date_time(at, "Mars/Olympus"),
            Err(Error::UnknownTimeZone { .. })
        ));
    }
}
