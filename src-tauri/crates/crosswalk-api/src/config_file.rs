//! The declarative configuration file (TOML): connections and jobs, never secrets.
//!
//! `crosswalk config apply FILE` validates the whole file before writing anything, then upserts
//! each item (applying the same file twice changes nothing). `crosswalk config export` writes the
//! stored configuration back in the same form.

use crate::error::Invalid;
use crosswalk_core::{Code, ConnectionConfig, JobConfig, UserFacing, ValidationError};
use crosswalk_engine::Registry;
use crosswalk_store::{Store, Upserted};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The file's shape: `[[connection]]` and `[[job]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, rename = "connection", skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionConfig>,
    #[serde(default, rename = "job", skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobConfig>,
}

/// What applying a file did to one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

/// One line of the apply report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// `connection` or `job`.
    pub what: &'static str,
    pub name: String,
    pub change: Change,
}

/// Parses TOML text; syntax and shape errors name the line and column.
pub fn parse(text: &str) -> Result<ConfigFile, UserFacing> {
    toml::from_str(text).map_err(|error| {
        let location = error
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        UserFacing::new(Code::Validation, format!("The configuration file is not valid{location}: {}", error.message()))
            .with_fix("Correct the file (see `crosswalk config export` for the expected shape) and apply it again. Nothing was changed.")
    })
}

/// Checks every connection and job, and that names are unique, before anything is written.
pub fn validate(file: &ConfigFile, registry: &Registry) -> Result<(), Invalid> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (idx, connection) in file.connections.iter().enumerate() {
        let at = format!("connection[{idx}] ({})", connection.name);
        if !seen.insert(("connection", connection.name.clone())) {
            problems.push(ValidationError::new(&at, "the name is used twice"));
        }
        if let Err(errors) = connection.validate() {
            problems.extend(
                errors
                    .into_iter()
                    .map(|e| ValidationError::new(format!("{at}.{}", e.field), e.message)),
            );
        }
    }
    for (idx, job) in file.jobs.iter().enumerate() {
        let at = format!("job[{idx}] ({})", job.name);
        if !seen.insert(("job", job.name.clone())) {
            problems.push(ValidationError::new(&at, "the name is used twice"));
        }
        if let Err(errors) = job.validate() {
            problems.extend(
                errors
                    .into_iter()
                    .map(|e| ValidationError::new(format!("{at}.{}", e.field), e.message)),
            );
        }
        match registry.get(&job.kind) {
            None => problems.push(ValidationError::new(
                format!("{at}.kind"),
                format!(
                    "unknown job kind \"{}\"; use one of: {}",
                    job.kind,
                    registry.words().join(", ")
                ),
            )),
            Some(kind) => {
                if let Err(errors) = kind.validate(&job.settings) {
                    problems.extend(errors.into_iter().map(|e| {
                        ValidationError::new(format!("{at}.settings.{}", e.field), e.message)
                    }));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Invalid {
            what: "configuration file".into(),
            problems,
        })
    }
}

/// Writes the file's connections and jobs; with `prune`, also deletes the ones it does not list.
///
/// Call [`validate`] first: this only fails on storage errors.
pub fn apply(store: &Store, file: &ConfigFile, prune: bool) -> anyhow::Result<Vec<Applied>> {
    let mut report = Vec::new();
    let change = |upserted: Upserted| match upserted {
        Upserted::Created => Change::Created,
        Upserted::Updated => Change::Updated,
        Upserted::Unchanged => Change::Unchanged,
    };
    for connection in &file.connections {
        let (_, upserted) = store.upsert_connection(connection)?;
        report.push(Applied {
            what: "connection",
            name: connection.name.clone(),
            change: change(upserted),
        });
    }
    for job in &file.jobs {
        let (_, upserted) = store.upsert_job(job)?;
        report.push(Applied {
            what: "job",
            name: job.name.clone(),
            change: change(upserted),
        });
    }
    if prune {
        for job in store.list_jobs()? {
            if !file.jobs.iter().any(|j| j.name == job.config.name) {
                store.delete_job(&job.config.name)?;
                report.push(Applied {
                    what: "job",
                    name: job.config.name,
                    change: Change::Deleted,
                });
            }
        }
        for connection in store.list_connections()? {
            if !file
                .connections
                .iter()
                .any(|c| c.name == connection.config.name)
            {
                store.delete_connection(&connection.config.name)?;
                report.push(Applied {
                    what: "connection",
                    name: connection.config.name,
                    change: Change::Deleted,
                });
            }
        }
    }
    Ok(report)
}

/// The stored configuration as TOML (no secrets: there are none to write).
pub fn export(store: &Store) -> anyhow::Result<String> {
    let file = ConfigFile {
        connections: store
            .list_connections()?
            .into_iter()
            .map(|c| c.config)
            .collect(),
        jobs: store.list_jobs()?.into_iter().map(|j| j.config).collect(),
    };
    let body = toml::to_string_pretty(&file)?;
    Ok(format!(
        "# Crosswalk configuration: connections and jobs. Secrets are not in this file; they live in\n# the OS keychain (`crosswalk secret set NAME`) or in the environment variable a connection names.\n\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[[connection]]
name = "jira-prod"
kind = "jira"
site_url = "https://acme.atlassian.net"
email = "admin@acme.com"

[[connection]]
name = "contoso"
kind = "entra"
tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47"
client_id = "535fb089-9ff3-47b6-9bfb-4f1264799865"
cloud = "global"
secret = { env = "CONTOSO_SECRET" }

[[job]]
name = "health"
kind = "health-check"
schedule = { every_minutes = 30 }
settings = { connections = ["jira-prod"] }
"#;

    fn registry() -> Registry {
        let mut registry = Registry::new();
        registry.register(crosswalk_engine::health::HealthCheck);
        registry
    }

    #[test]
    fn apply_is_idempotent_and_export_round_trips() {
        let store = Store::open_in_memory().unwrap();
        let file = parse(SAMPLE).unwrap();
        validate(&file, &registry()).unwrap();
        let first = apply(&store, &file, false).unwrap();
        assert!(
            first.iter().all(|a| a.change == Change::Created),
            "{first:?}"
        );
        let second = apply(&store, &file, false).unwrap();
        assert!(
            second.iter().all(|a| a.change == Change::Unchanged),
            "{second:?}"
        );
        let exported = export(&store).unwrap();
        let mut expected = file.clone();
        expected.connections.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(parse(&exported).unwrap(), expected);
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let err = parse("[[connection]]\nname = \"x\"\nkind = \n").unwrap_err();
        assert_eq!(err.code, Code::Validation);
        assert!(err.message.contains("line 3"), "{}", err.message);
    }

    #[test]
    fn every_problem_is_reported_before_anything_is_written() {
        let text = SAMPLE
            .replace("72f988bf-86f1-41af-91ab-2d7cd011db47", "common")
            .replace("health-check", "nope");
        let file = parse(&text).unwrap();
        let err = validate(&file, &registry()).unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["connection[1] (contoso).tenant_id", "job[0] (health).kind"]
        );
    }

    #[test]
    fn prune_removes_what_the_file_no_longer_lists() {
        let store = Store::open_in_memory().unwrap();
        apply(&store, &parse(SAMPLE).unwrap(), false).unwrap();
        let smaller = ConfigFile {
            connections: parse(SAMPLE).unwrap().connections[..1].to_vec(),
            jobs: vec![],
        };
        let report = apply(&store, &smaller, true).unwrap();
        let deleted: Vec<_> = report
            .iter()
            .filter(|a| a.change == Change::Deleted)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(deleted, ["health", "contoso"]);
    }

    /// The README's configuration examples are what an admin copies first: they must parse and
    /// pass the same validation `crosswalk config apply` runs, job settings included.
    #[test]
    fn the_readme_examples_parse_and_validate() {
        let readme = include_str!("../../../../README.md");
        let blocks: Vec<&str> = readme
            .split("```toml")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap_or_default())
            .collect();
        assert!(blocks.len() >= 2, "the README lost its examples");
        let file = parse(&blocks.concat()).unwrap_or_else(|e| panic!("{}", e.message));
        let kinds: Vec<&str> = file.jobs.iter().map(|j| j.kind.as_str()).collect();
        assert!(kinds.contains(&"entra-sync") && kinds.contains(&"dynamics-item"));
        if let Err(invalid) = validate(&file, &crate::boot::registry()) {
            panic!("{invalid:?}");
        }
    }
}
