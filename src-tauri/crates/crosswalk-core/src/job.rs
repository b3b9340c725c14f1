//! Jobs: a configured sync with a schedule. The engine that runs a job kind owns its settings.

use crate::validate::{self, ValidationError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// When a job runs by itself. "Sync now" works whatever the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Schedule {
    /// Only on demand.
    #[default]
    Off,
    Hourly,
    Every6Hours,
    Daily,
    /// A custom interval in minutes (at least 1).
    EveryMinutes(u32),
}

impl Schedule {
    /// Time between two scheduled runs; `None` when off.
    pub fn interval(self) -> Option<Duration> {
        match self {
            Schedule::Off => None,
            Schedule::Hourly => Some(Duration::hours(1)),
            Schedule::Every6Hours => Some(Duration::hours(6)),
            Schedule::Daily => Some(Duration::days(1)),
            Schedule::EveryMinutes(minutes) => Some(Duration::minutes(i64::from(minutes.max(1)))),
        }
    }

    /// When the next scheduled run is due, counted from the last run's start (or from `now` if
    /// the job never ran). A due time in the past means a run was missed and is due now.
    pub fn next_due(
        self,
        last_started: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let interval = self.interval()?;
        Some(match last_started {
            Some(last) => last + interval,
            None => now,
        })
    }

    /// Human label for lists and the CLI.
    pub fn label(self) -> String {
        match self {
            Schedule::Off => "off".into(),
            Schedule::Hourly => "hourly".into(),
            Schedule::Every6Hours => "every 6 hours".into(),
            Schedule::Daily => "daily".into(),
            Schedule::EveryMinutes(1) => "every minute".into(),
            Schedule::EveryMinutes(minutes) => format!("every {minutes} minutes"),
        }
    }
}

fn default_true() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn is_empty_object(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// A named job as stored and as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// Unique, CLI-friendly name (`crosswalk sync NAME`).
    pub name: String,
    /// Job kind registered by an engine, e.g. `entra-sync`.
    pub kind: String,
    #[serde(default)]
    pub schedule: Schedule,
    /// A disabled job never runs on schedule; "Sync now" still works.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// Kind-specific settings, validated by the engine that registered the kind.
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub settings: serde_json::Value,
}

impl JobConfig {
    /// Checks the fields every job has; kind-specific checks are the engine's.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut problems = Vec::new();
        if let Err(error) = validate::check_name("name", &self.name) {
            problems.push(error);
        }
        if let Schedule::EveryMinutes(0) = self.schedule {
            problems.push(ValidationError::new(
                "schedule.every_minutes",
                "must be at least 1",
            ));
        }
        if !self.settings.is_object() {
            problems.push(ValidationError::new("settings", "must be a table"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn next_due_counts_from_last_start_and_reports_missed_runs_as_past() {
        let now = datetime!(2026-11-21 12:00 UTC);
        assert_eq!(Schedule::Off.next_due(None, now), None);
        assert_eq!(Schedule::Hourly.next_due(None, now), Some(now));
        let last = datetime!(2026-11-20 09:00 UTC);
        assert_eq!(
            Schedule::Daily.next_due(Some(last), now),
            Some(datetime!(2026-11-21 09:00 UTC))
        );
        assert!(Schedule::Every6Hours.next_due(Some(last), now).unwrap() < now);
        assert_eq!(
            Schedule::EveryMinutes(15).next_due(Some(now), now),
            Some(datetime!(2026-11-21 12:15 UTC))
        );
    }

    #[test]
    fn schedule_reads_as_word_or_table() {
        let job: JobConfig = serde_json::from_value(serde_json::json!({
            "name": "j", "kind": "k", "schedule": {"every_minutes": 30}
        }))
        .unwrap();
        assert_eq!(job.schedule, Schedule::EveryMinutes(30));
        assert!(job.enabled);
        let job: JobConfig = serde_json::from_value(serde_json::json!({
            "name": "j", "kind": "k", "schedule": "every6_hours"
        }))
        .unwrap();
        assert_eq!(job.schedule, Schedule::Every6Hours);
    }
}
