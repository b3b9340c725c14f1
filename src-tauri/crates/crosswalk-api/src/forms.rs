//! Between the console's flat forms and the typed configuration the store keeps.

use crate::dto::{ConnectionForm, JobForm};
use crate::error::Invalid;
use crosswalk_core::{
    validate, Cloud, ConnectionConfig, ConnectionKind, ConnectionSettings, JobConfig, SecretRef,
    ValidationError,
};
use url::Url;

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn required(
    problems: &mut Vec<ValidationError>,
    field: &str,
    value: &Option<String>,
    what: &str,
) -> String {
    match trimmed(value) {
        Some(value) => value,
        None => {
            problems.push(ValidationError::new(field, format!("{what} is required")));
            String::new()
        }
    }
}

fn url(problems: &mut Vec<ValidationError>, field: &str, value: Option<String>) -> Option<Url> {
    let value = value?;
    match validate::check_base_url(field, &value) {
        Ok(url) => Some(url),
        Err(error) => {
            problems.push(error);
            None
        }
    }
}

/// Builds and validates a connection from the form; every problem is reported at once.
pub fn connection_from_form(form: &ConnectionForm) -> Result<ConnectionConfig, Invalid> {
    let mut problems = Vec::new();
    let name = form.name.trim().to_owned();
    let placeholder = || Url::parse("https://invalid.invalid").expect("static URL parses");
    let settings = match form.kind {
        None => {
            problems.push(ValidationError::new(
                "kind",
                "choose what this connection is for",
            ));
            None
        }
        Some(ConnectionKind::Jira) => {
            let site = required(&mut problems, "site_url", &form.site_url, "the site URL");
            let email = required(&mut problems, "email", &form.email, "the account email");
            let site_url = if site.is_empty() {
                None
            } else {
                url(&mut problems, "site_url", Some(site))
            };
            let assets_api_url = url(
                &mut problems,
                "assets_api_url",
                trimmed(&form.assets_api_url),
            );
            Some(ConnectionSettings::Jira {
                site_url: site_url.unwrap_or_else(placeholder),
                email,
                assets_api_url,
            })
        }
        Some(ConnectionKind::Entra) => {
            let tenant_id = required(&mut problems, "tenant_id", &form.tenant_id, "the tenant ID");
            let client_id = required(&mut problems, "client_id", &form.client_id, "the client ID");
            let authority_url = url(&mut problems, "authority_url", trimmed(&form.authority_url));
            let graph_url = url(&mut problems, "graph_url", trimmed(&form.graph_url));
            Some(ConnectionSettings::Entra {
                tenant_id,
                client_id,
                cloud: form.cloud.unwrap_or(Cloud::Global),
                authority_url,
                graph_url,
            })
        }
        Some(ConnectionKind::Dataverse) => {
            let org = required(
                &mut problems,
                "org_url",
                &form.org_url,
                "the organization URL",
            );
            let tenant_id = required(&mut problems, "tenant_id", &form.tenant_id, "the tenant ID");
            let client_id = required(&mut problems, "client_id", &form.client_id, "the client ID");
            let org_url = if org.is_empty() {
                None
            } else {
                url(&mut problems, "org_url", Some(org))
            };
            let authority_url = url(&mut problems, "authority_url", trimmed(&form.authority_url));
            Some(ConnectionSettings::Dataverse {
                org_url: org_url.unwrap_or_else(placeholder),
                tenant_id,
                client_id,
                cloud: form.cloud.unwrap_or(Cloud::Global),
                authority_url,
            })
        }
    };
    let secret = trimmed(&form.secret_env).map(SecretRef::Env);
    let Some(settings) = settings else {
        return Err(Invalid {
            what: "connection".into(),
            problems,
        });
    };
    let config = ConnectionConfig {
        name,
        settings,
        secret,
    };
    if let Err(more) = config.validate() {
        // Skip repeats of fields already reported as missing or malformed.
        for problem in more {
            if !problems.iter().any(|p| p.field == problem.field) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(Invalid {
            what: "connection".into(),
            problems,
        })
    }
}

/// The form for editing a stored connection (never carries the secret).
pub fn form_from_connection(config: &ConnectionConfig) -> ConnectionForm {
    let mut form = ConnectionForm {
        original_name: Some(config.name.clone()),
        name: config.name.clone(),
        kind: Some(config.settings.kind()),
        secret_env: match &config.secret {
            Some(SecretRef::Env(var)) => Some(var.clone()),
            _ => None,
        },
        ..ConnectionForm::default()
    };
    let text = |url: &Url| Some(url.as_str().trim_end_matches('/').to_owned());
    match &config.settings {
        ConnectionSettings::Jira {
            site_url,
            email,
            assets_api_url,
        } => {
            form.site_url = text(site_url);
            form.email = Some(email.clone());
            form.assets_api_url = assets_api_url.as_ref().and_then(text);
        }
        ConnectionSettings::Entra {
            tenant_id,
            client_id,
            cloud,
            authority_url,
            graph_url,
        } => {
            form.tenant_id = Some(tenant_id.clone());
            form.client_id = Some(client_id.clone());
            form.cloud = Some(*cloud);
            form.authority_url = authority_url.as_ref().and_then(text);
            form.graph_url = graph_url.as_ref().and_then(text);
        }
        ConnectionSettings::Dataverse {
            org_url,
            tenant_id,
            client_id,
            cloud,
            authority_url,
        } => {
            form.org_url = text(org_url);
            form.tenant_id = Some(tenant_id.clone());
            form.client_id = Some(client_id.clone());
            form.cloud = Some(*cloud);
            form.authority_url = authority_url.as_ref().and_then(text);
        }
    }
    form
}

/// What a connection points at, in one line.
pub fn connection_target(config: &ConnectionConfig) -> String {
    match &config.settings {
        ConnectionSettings::Jira {
            site_url, email, ..
        } => format!("{} as {email}", site_url.as_str().trim_end_matches('/')),
        ConnectionSettings::Entra {
            tenant_id, cloud, ..
        } => format!("tenant {tenant_id} ({})", cloud.label()),
        ConnectionSettings::Dataverse { org_url, .. } => {
            org_url.as_str().trim_end_matches('/').to_owned()
        }
    }
}

/// Builds a job from the form; kind-specific settings are checked by the caller with the registry.
pub fn job_from_form(form: &JobForm) -> Result<JobConfig, Invalid> {
    let mut problems = Vec::new();
    let settings = if form.settings_json.trim().is_empty() {
        serde_json::json!({})
    } else {
        match serde_json::from_str::<serde_json::Value>(&form.settings_json) {
            Ok(value) => value,
            Err(error) => {
                problems.push(ValidationError::new(
                    "settings_json",
                    format!("not valid JSON: {error}"),
                ));
                serde_json::json!({})
            }
        }
    };
    let job = JobConfig {
        name: form.name.trim().to_owned(),
        kind: form.kind.trim().to_owned(),
        schedule: form.schedule,
        enabled: form.enabled,
        settings,
    };
    if let Err(more) = job.validate() {
        problems.extend(more.into_iter().map(|mut p| {
            if p.field == "settings" {
                p.field = "settings_json".into();
            }
            p
        }));
    }
    if problems.is_empty() {
        Ok(job)
    } else {
        Err(Invalid {
            what: "job".into(),
            problems,
        })
    }
}

/// The form for editing a stored job.
pub fn form_from_job(job: &JobConfig) -> JobForm {
    JobForm {
        original_name: Some(job.name.clone()),
        name: job.name.clone(),
        kind: job.kind.clone(),
        schedule: job.schedule,
        enabled: job.enabled,
        settings_json: serde_json::to_string_pretty(&job.settings).unwrap_or_else(|_| "{}".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jira_form() -> ConnectionForm {
        ConnectionForm {
            name: "jira-prod".into(),
            kind: Some(ConnectionKind::Jira),
            site_url: Some("https://acme.atlassian.net/".into()),
            email: Some("admin@acme.com".into()),
            secret: Some("token".into()),
            ..ConnectionForm::default()
        }
    }

    #[test]
    fn form_round_trips_without_the_secret() {
        let config = connection_from_form(&jira_form()).unwrap();
        let back = form_from_connection(&config);
        assert_eq!(back.site_url.as_deref(), Some("https://acme.atlassian.net"));
        assert_eq!(back.secret, None);
        assert_eq!(connection_from_form(&back).unwrap(), config);
    }

    #[test]
    fn missing_and_malformed_fields_are_all_reported() {
        let form = ConnectionForm {
            name: "x y".into(),
            kind: Some(ConnectionKind::Entra),
            tenant_id: Some("common".into()),
            ..ConnectionForm::default()
        };
        let fields: Vec<String> = connection_from_form(&form)
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            ["client_id", "name", "tenant_id", "secret.keychain"]
        );
    }
}
