//! Connections: credentials + endpoints for one remote system, as the config file and the
//! console describe them. Secrets are never here, only a reference to where the secret lives.

use crate::validate::{self, ValidationError};
use serde::{Deserialize, Serialize};
use url::Url;

/// Which remote system a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ConnectionKind {
    /// A Jira Cloud site (with Jira Service Management Assets).
    Jira,
    /// A Microsoft Entra tenant, read through Microsoft Graph.
    Entra,
    /// A Dynamics 365 / Dataverse environment.
    Dataverse,
}

impl ConnectionKind {
    /// The word used in config files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Jira => "jira",
            ConnectionKind::Entra => "entra",
            ConnectionKind::Dataverse => "dataverse",
        }
    }

    /// What the admin calls the secret for this kind, for prompts and messages.
    pub fn secret_label(self) -> &'static str {
        match self {
            ConnectionKind::Jira => "API token",
            ConnectionKind::Entra | ConnectionKind::Dataverse => "client secret value",
        }
    }
}

/// Microsoft cloud a tenant lives in; decides the sign-in authority and Graph host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Cloud {
    /// Microsoft Entra ID global service.
    #[default]
    Global,
    /// Microsoft 365 GCC High (US Government L4).
    UsGov,
    /// Microsoft 365 DoD (US Government L5).
    UsGovDod,
    /// Microsoft Entra operated by 21Vianet (China).
    China,
    /// Endpoints given explicitly (sovereign clouds not listed above, or local test servers).
    Custom,
}

/// The sign-in authority and Graph base URL actually used for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEndpoints {
    /// Host of the token endpoint, e.g. `https://login.microsoftonline.com`.
    pub authority: Url,
    /// Graph root without version, e.g. `https://graph.microsoft.com`.
    pub graph: Url,
}

impl Cloud {
    /// The documented national-cloud endpoints; `None` for `Custom`.
    pub fn endpoints(self) -> Option<CloudEndpoints> {
        let (authority, graph) = match self {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            Cloud::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
            Cloud::Custom => return None,
        };
        Some(CloudEndpoints {
            authority: Url::parse(authority).expect("built-in authority URL is valid"),
            graph: Url::parse(graph).expect("built-in Graph URL is valid"),
        })
    }
}

impl Cloud {
    /// The cloud a Dataverse environment's address belongs to, by its domain: commercial and
    /// GCC `*.dynamics.com` (GCC is `crm9`), GCC High `*.crm.microsoftdynamics.us`, DoD
    /// `*.crm.appsplatform.us` (Power Platform admin, "Power Apps US Government"), 21Vianet
    /// `*.crm.dynamics.cn`; `None` for any other host (a test server, a custom domain).
    pub fn of_dataverse_host(host: &str) -> Option<Cloud> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let within = |domain: &str| host.ends_with(&format!(".{domain}"));
        if within("dynamics.com") {
            Some(Cloud::Global)
        } else if within("microsoftdynamics.us") {
            Some(Cloud::UsGov)
        } else if within("appsplatform.us") {
            Some(Cloud::UsGovDod)
        } else if within("dynamics.cn") {
            Some(Cloud::China)
        } else {
            None
        }
    }

    /// The cloud as messages name it.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Global => "Global",
            Cloud::UsGov => "US Government GCC High",
            Cloud::UsGovDod => "US Government DoD",
            Cloud::China => "China (21Vianet)",
            Cloud::Custom => "custom endpoints",
        }
    }
}

/// Where a connection's secret is kept. Never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SecretRef {
    /// An OS keychain entry with this name (`crosswalk secret set NAME`).
    Keychain(String),
    /// An environment variable, for headless servers without a keychain.
    Env(String),
}

/// Kind-specific settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectionSettings {
    /// A Jira Cloud site, authenticated with an account email and API token.
    Jira {
        /// e.g. `https://acme.atlassian.net`.
        site_url: Url,
        /// The Atlassian account the API token belongs to.
        email: String,
        /// Assets REST base; discovered from the site when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assets_api_url: Option<Url>,
    },
    /// An Entra tenant read through Microsoft Graph with client credentials.
    Entra {
        tenant_id: String,
        client_id: String,
        #[serde(default)]
        cloud: Cloud,
        /// Overrides the cloud's sign-in authority (required for `custom`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority_url: Option<Url>,
        /// Overrides the cloud's Graph base URL (required for `custom`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        graph_url: Option<Url>,
    },
    /// A Dataverse environment, authenticated as an application user.
    Dataverse {
        /// e.g. `https://contoso.crm.dynamics.com`; also the token resource.
        org_url: Url,
        tenant_id: String,
        client_id: String,
        #[serde(default)]
        cloud: Cloud,
        /// Overrides the cloud's sign-in authority (required for `custom`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authority_url: Option<Url>,
    },
}

impl ConnectionSettings {
    /// Which remote system these settings are for.
    pub fn kind(&self) -> ConnectionKind {
        match self {
            ConnectionSettings::Jira { .. } => ConnectionKind::Jira,
            ConnectionSettings::Entra { .. } => ConnectionKind::Entra,
            ConnectionSettings::Dataverse { .. } => ConnectionKind::Dataverse,
        }
    }

    /// The sign-in authority for Microsoft connections (`None` for Jira).
    pub fn authority(&self) -> Option<Url> {
        match self {
            ConnectionSettings::Jira { .. } => None,
            ConnectionSettings::Entra {
                cloud,
                authority_url,
                ..
            }
            | ConnectionSettings::Dataverse {
                cloud,
                authority_url,
                ..
            } => authority_url
                .clone()
                .or_else(|| cloud.endpoints().map(|endpoints| endpoints.authority)),
        }
    }

    /// The Graph base URL for Entra connections.
    pub fn graph_url(&self) -> Option<Url> {
        match self {
            ConnectionSettings::Entra {
                cloud, graph_url, ..
            } => graph_url
                .clone()
                .or_else(|| cloud.endpoints().map(|endpoints| endpoints.graph)),
            _ => None,
        }
    }
}

/// A named connection as stored and as written in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionConfig {
    /// Unique, CLI-friendly name (`crosswalk connection test NAME`).
    pub name: String,
    #[serde(flatten)]
    pub settings: ConnectionSettings,
    /// Where the secret lives; defaults to the keychain entry named like the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretRef>,
}

impl ConnectionConfig {
    /// The secret reference in effect (explicit, or the keychain entry named after the connection).
    pub fn secret_ref(&self) -> SecretRef {
        self.secret
            .clone()
            .unwrap_or_else(|| SecretRef::Keychain(self.name.clone()))
    }

    /// Checks every field and returns all problems at once, so an admin fixes them in one pass.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut problems = Vec::new();
        let mut check = |res: Result<(), ValidationError>| {
            if let Err(error) = res {
                problems.push(error);
            }
        };
        check(validate::check_name("name", &self.name));
        let url_check =
            |field: &str, url: &Url| validate::check_base_url(field, url.as_str()).map(|_| ());
        match &self.settings {
            ConnectionSettings::Jira {
                site_url,
                email,
                assets_api_url,
            } => {
                check(url_check("site_url", site_url));
                check(validate::check_email("email", email));
                if let Some(url) = assets_api_url {
                    check(url_check("assets_api_url", url));
                }
            }
            ConnectionSettings::Entra {
                tenant_id,
                client_id,
                cloud,
                authority_url,
                graph_url,
            } => {
                check(validate::check_tenant_id("tenant_id", tenant_id));
                check(validate::check_client_id("client_id", client_id));
                for (field, url) in [("authority_url", authority_url), ("graph_url", graph_url)] {
                    match url {
                        Some(url) => check(url_check(field, url)),
                        None if *cloud == Cloud::Custom => check(Err(ValidationError::new(
                            field,
                            "required when cloud = \"custom\"",
                        ))),
                        None => {}
                    }
                }
            }
            ConnectionSettings::Dataverse {
                org_url,
                tenant_id,
                client_id,
                cloud,
                authority_url,
            } => {
                check(url_check("org_url", org_url));
                check(validate::check_tenant_id("tenant_id", tenant_id));
                check(validate::check_client_id("client_id", client_id));
                // A token from another cloud's authority is never valid for the environment
                // (AADSTS500011 or an unknown tenant): say which cloud its address is in.
                let host = org_url.host_str().unwrap_or_default();
                if let (None, Some(configured), Some(expected)) = (
                    authority_url,
                    cloud.endpoints(),
                    Cloud::of_dataverse_host(host).and_then(|c| Some((c, c.endpoints()?))),
                ) {
                    if configured.authority != expected.1.authority {
                        check(Err(ValidationError::new(
                            "cloud",
                            format!(
                                "{host} is a {} environment, but the connection signs in to {}; choose {}",
                                expected.0.label(),
                                cloud.label(),
                                expected.0.label()
                            ),
                        )));
                    }
                }
                match authority_url {
                    Some(url) => check(url_check("authority_url", url)),
                    None if *cloud == Cloud::Custom => check(Err(ValidationError::new(
                        "authority_url",
                        "required when cloud = \"custom\"",
                    ))),
                    None => {}
                }
            }
        }
        match self.secret_ref() {
            SecretRef::Keychain(name) => check(validate::check_name("secret.keychain", &name)),
            SecretRef::Env(var) => {
                let ok = !var.is_empty()
                    && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !var.starts_with(|c: char| c.is_ascii_digit());
                if !ok {
                    check(Err(ValidationError::new(
                        "secret.env",
                        format!("\"{var}\" is not an environment variable name (letters, digits and '_')"),
                    )));
                }
            }
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

    #[test]
    fn entra_connection_reads_from_flat_config() {
        let json = serde_json::json!({
            "name": "contoso",
            "kind": "entra",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "535fb089-9ff3-47b6-9bfb-4f1264799865",
            "cloud": "us_gov"
        });
        let conn: ConnectionConfig = serde_json::from_value(json).unwrap();
        assert_eq!(conn.settings.kind(), ConnectionKind::Entra);
        assert_eq!(
            conn.settings.authority().unwrap().as_str(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            conn.settings.graph_url().unwrap().as_str(),
            "https://graph.microsoft.us/"
        );
        assert_eq!(conn.secret_ref(), SecretRef::Keychain("contoso".into()));
        assert!(conn.validate().is_ok());
    }

    fn dataverse(org_url: &str, cloud: &str) -> ConnectionConfig {
        serde_json::from_value(serde_json::json!({
            "name": "dynamics", "kind": "dataverse", "org_url": org_url,
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "535fb089-9ff3-47b6-9bfb-4f1264799865",
            "cloud": cloud
        }))
        .unwrap()
    }

    #[test]
    fn a_dataverse_environment_signs_in_to_the_cloud_its_address_is_in() {
        // Each national cloud's environment with its own authority, and the token resource
        // is always the environment itself.
        for (org, cloud, authority) in [
            (
                "https://contoso.crm.dynamics.com",
                "global",
                "https://login.microsoftonline.com/",
            ),
            (
                "https://contoso.crm9.dynamics.com",
                "global",
                "https://login.microsoftonline.com/",
            ),
            (
                "https://contoso.crm.microsoftdynamics.us",
                "us_gov",
                "https://login.microsoftonline.us/",
            ),
            (
                "https://contoso.crm.appsplatform.us",
                "us_gov_dod",
                "https://login.microsoftonline.us/",
            ),
            (
                "https://contoso.crm.dynamics.cn",
                "china",
                "https://login.chinacloudapi.cn/",
            ),
        ] {
            let conn = dataverse(org, cloud);
            assert!(conn.validate().is_ok(), "{org}: {:?}", conn.validate());
            assert_eq!(
                conn.settings.authority().unwrap().as_str(),
                authority,
                "{org}"
            );
        }
        // GCC High and DoD share an authority: either choice signs in.
        assert!(dataverse("https://contoso.crm.appsplatform.us", "us_gov")
            .validate()
            .is_ok());
        // A test server or custom domain is not judged.
        assert!(dataverse("http://127.0.0.1:8080", "global")
            .validate()
            .is_ok());
    }

    #[test]
    fn a_dataverse_environment_in_another_cloud_is_refused_naming_the_right_one() {
        for (org, cloud, right) in [
            (
                "https://contoso.crm.microsoftdynamics.us",
                "global",
                "US Government GCC High",
            ),
            (
                "https://contoso.crm.dynamics.cn",
                "us_gov",
                "China (21Vianet)",
            ),
            ("https://contoso.crm4.dynamics.com", "china", "Global"),
        ] {
            let problems = dataverse(org, cloud).validate().unwrap_err();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].field, "cloud");
            assert!(
                problems[0].message.ends_with(&format!("choose {right}")),
                "{}",
                problems[0].message
            );
        }
        // An explicit authority is the admin's to choose.
        let mut conn = dataverse("https://contoso.crm.microsoftdynamics.us", "global");
        if let ConnectionSettings::Dataverse { authority_url, .. } = &mut conn.settings {
            *authority_url = Some("https://login.microsoftonline.us".parse().unwrap());
        }
        assert!(conn.validate().is_ok());
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let json = serde_json::json!({
            "name": "j", "kind": "jira", "site_url": "https://a.atlassian.net",
            "email": "a@b.com", "api_token": "oops"
        });
        let err = serde_json::from_value::<ConnectionConfig>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("api_token"), "{err}");
    }

    #[test]
    fn custom_cloud_requires_endpoints_and_reports_all_problems() {
        let json = serde_json::json!({
            "name": "bad name", "kind": "entra", "tenant_id": "common",
            "client_id": "x", "cloud": "custom"
        });
        let conn: ConnectionConfig = serde_json::from_value(json).unwrap();
        let fields: Vec<String> = conn
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "tenant_id",
                "client_id",
                "authority_url",
                "graph_url",
                "secret.keychain"
            ]
        );
    }
}
