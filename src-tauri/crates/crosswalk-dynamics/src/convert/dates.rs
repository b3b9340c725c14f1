//! Dates and date-times in the forms both sides write, and the moves between a calendar date
//! and an instant, which need the Jira account's time zone.
//!
//! Rule: a date becomes the instant of midnight at its start in the zone (a day starting in a
//! DST gap starts at the first instant that exists), and an instant becomes the date it falls
//! on in the zone. So Dynamics' date-only 2025-01-31 is 2025-01-31T00:00 in Sydney, which Jira
//! stores as 2025-01-30T13:00:00.000+0000 and shows to that account as the 31st again.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `2025-01-31`, also the date of a longer ISO 8601 value (`2025-01-31T00:00:00Z`).
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    let date = text.get(..10).filter(|_| {
        text.len() == 10
            || text
                .as_bytes()
                .get(10)
                .is_some_and(|b| *b == b'T' || *b == b' ')
    })?;
    date.parse().ok()
}

/// An instant: Dataverse's `2025-01-31T13:45:00Z`, Jira's `2025-01-31T13:45:00.000+0000`.
pub(crate) fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    let at = crosswalk_jira::parse_timestamp(text)?;
    Timestamp::new(
        at.unix_timestamp(),
        i32::try_from(at.nanosecond()).unwrap_or(0),
    )
    .ok()
}

/// A wall-clock value: the date and time written, ignoring any zone or offset on it.
pub(crate) fn parse_wall_clock(text: &str) -> Option<DateTime> {
    let text = text.trim();
    let head = text.get(..19)?;
    head.parse::<DateTime>()
        .ok()
        .or_else(|| parse_date(text).map(|date| date.to_datetime(jiff::civil::Time::midnight())))
}

/// `2025-01-31`.
pub(crate) fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

fn utc(at: Timestamp) -> DateTime {
    at.to_zoned(TimeZone::UTC).datetime()
}

/// `2025-01-31T13:45:00` (seconds; fractions dropped).
pub(crate) fn format_wall_clock(at: DateTime) -> String {
    format!(
        "{}T{:02}:{:02}:{:02}",
        format_date(at.date()),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Dataverse's form of an instant: `2025-01-31T13:45:00Z` (whole seconds, as Dataverse keeps).
pub(crate) fn format_dataverse_instant(at: Timestamp) -> String {
    format!("{}Z", format_wall_clock(utc(at)))
}

/// Jira's form of an instant: `2025-01-31T13:45:00.000+0000`.
pub(crate) fn format_jira_instant(at: Timestamp) -> String {
    let time = utc(at);
    format!(
        "{}.{:03}+0000",
        format_wall_clock(time),
        time.subsec_nanosecond() / 1_000_000
    )
}

/// An instant with its fractions of a second dropped, the precision Dataverse keeps.
pub(crate) fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// The IANA zone `name`, `None` when the bundled database does not know it.
pub(crate) fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name.trim()).ok()
}

/// The instant a day starts in `zone`.
pub(crate) fn start_of_day(date: Date, zone: &TimeZone) -> Option<Timestamp> {
    date.to_zoned(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// The date an instant falls on in `zone`.
pub(crate) fn date_in(at: Timestamp, zone: &TimeZone) -> Date {
    at.to_zoned(zone.clone()).date()
}

/// The wall clock in `zone` at an instant.
pub(crate) fn wall_clock_in(at: Timestamp, zone: &TimeZone) -> DateTime {
    at.to_zoned(zone.clone()).datetime()
}

/// The instant a wall-clock time in `zone` stands for (a time in a DST gap moves forward).
pub(crate) fn instant_of(wall_clock: DateTime, zone: &TimeZone) -> Option<Timestamp> {
    zone.to_timestamp(wall_clock).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_forms_parse_and_format() {
        let at = parse_instant("2025-01-31T13:45:00.123+0000").unwrap();
        assert_eq!(format_jira_instant(at), "2025-01-31T13:45:00.123+0000");
        assert_eq!(format_dataverse_instant(at), "2025-01-31T13:45:00Z");
        assert_eq!(
            parse_instant("2025-01-31T23:45:00.000+1000").map(format_dataverse_instant),
            Some("2025-01-31T13:45:00Z".into())
        );
        assert_eq!(
            parse_instant("2025-01-31T13:45:00Z"),
            Some(whole_seconds(at))
        );
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(
            parse_date("2025-01-31").map(format_date),
            Some("2025-01-31".into())
        );
        assert_eq!(
            parse_date("2025-01-31T00:00:00Z").map(format_date),
            Some("2025-01-31".into())
        );
        assert_eq!(parse_date("2025-01-311"), None);
        assert_eq!(
            parse_wall_clock("2025-01-31T13:45:00Z").map(format_wall_clock),
            Some("2025-01-31T13:45:00".into())
        );
    }

    #[test]
    fn days_start_at_midnight_in_the_zone() {
        let date = parse_date("2025-01-31").unwrap();
        let sydney = zone("Australia/Sydney").unwrap();
        let los_angeles = zone("America/Los_Angeles").unwrap();
        let at = start_of_day(date, &sydney).unwrap();
        assert_eq!(format_jira_instant(at), "2025-01-30T13:00:00.000+0000");
        assert_eq!(date_in(at, &sydney), date);
        let at = start_of_day(date, &los_angeles).unwrap();
        assert_eq!(format_jira_instant(at), "2025-01-31T08:00:00.000+0000");
        assert_eq!(date_in(at, &los_angeles), date);
        // Santiago skips midnight when DST starts (2024-09-08): the day starts at 01:00.
        let santiago = zone("America/Santiago").unwrap();
        let gap = start_of_day(parse_date("2024-09-08").unwrap(), &santiago).unwrap();
        assert_eq!(format_dataverse_instant(gap), "2024-09-08T04:00:00Z");
        assert!(zone("Mars/Olympus").is_none());
    }
}
