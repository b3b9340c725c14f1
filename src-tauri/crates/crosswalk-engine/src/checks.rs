//! "Test connection": sign in the way a sync would, then probe each thing the syncs need, and
//! turn every failure into the fix an admin must make.

use crate::services::Services;
use crosswalk_core::{
    CheckItem, CheckReport, CheckStatus, ConnectionConfig, ConnectionSettings, Secret,
};
use crosswalk_http::{Auth, Http, RequestCounter};
use std::time::Instant;
use url::Url;

/// One Graph permission probe: what we read, with which permission.
struct GraphProbe {
    label: &'static str,
    path: &'static str,
    permission: &'static str,
    note: &'static str,
}

/// What Entra Sync reads, and the least-privileged application permission for each.
/// Intune managed devices need `DeviceManagementManagedDevices.Read.All`: `Device.Read.All`
/// (the permission most guides list) covers only Entra device objects.
const GRAPH_PROBES: &[GraphProbe] = &[
    GraphProbe { label: "Read users", path: "v1.0/users?$top=1&$select=id", permission: "User.Read.All", note: "" },
    GraphProbe { label: "Read groups and members", path: "v1.0/groups?$top=1&$select=id", permission: "Group.Read.All", note: "" },
    GraphProbe { label: "Read app registrations", path: "v1.0/applications?$top=1&$select=id", permission: "Application.Read.All", note: " (also used to warn before the client secret expires)" },
    GraphProbe { label: "Read Entra devices", path: "v1.0/devices?$top=1&$select=id", permission: "Device.Read.All", note: "" },
    GraphProbe {
        label: "Read Intune managed devices",
        path: "v1.0/deviceManagement/managedDevices?$top=1&$select=id",
        permission: "DeviceManagementManagedDevices.Read.All",
        note: " — note: Device.Read.All does NOT cover Intune; this separate permission is required, and the tenant needs an Intune licence",
    },
];

/// Tests a stored connection and returns the checklist; never fails as a whole.
pub async fn test_connection(services: &Services, connection: &ConnectionConfig) -> CheckReport {
    test_connection_counted(services, connection, &RequestCounter::default()).await
}

/// [`test_connection`], counting its requests in `counter` (a run's counter, for its totals).
pub async fn test_connection_counted(
    services: &Services,
    connection: &ConnectionConfig,
    counter: &RequestCounter,
) -> CheckReport {
    let started = Instant::now();
    let mut items = Vec::new();
    match services.secret_for(connection).await {
        Ok(secret) => {
            items.push(CheckItem::ok(
                "Secret",
                format!("Found in {}", describe(&connection.secret_ref())),
            ));
            match &connection.settings {
                ConnectionSettings::Jira {
                    site_url, email, ..
                } => check_jira(site_url, email, secret, counter, &mut items).await,
                ConnectionSettings::Entra {
                    tenant_id,
                    client_id,
                    ..
                } => {
                    check_entra(
                        services, connection, tenant_id, client_id, secret, counter, &mut items,
                    )
                    .await;
                }
                ConnectionSettings::Dataverse {
                    org_url,
                    tenant_id,
                    client_id,
                    ..
                } => {
                    check_dataverse(
                        services, connection, org_url, tenant_id, client_id, secret, counter,
                        &mut items,
                    )
                    .await;
                }
            }
        }
        Err(error) => {
            let user_facing = crate::engine::user_facing_of(&error);
            items.push(CheckItem::fail(
                "Secret",
                user_facing.message,
                user_facing.fix,
            ));
            items.push(CheckItem::skipped("Sign in", "Needs the secret"));
        }
    }
    CheckReport {
        connection: connection.name.clone(),
        items,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn describe(secret: &crosswalk_core::SecretRef) -> String {
    match secret {
        crosswalk_core::SecretRef::Keychain(name) => format!("the OS keychain (entry \"{name}\")"),
        crosswalk_core::SecretRef::Env(var) => format!("environment variable {var}"),
    }
}

fn failed(label: &str, error: &crosswalk_http::Error) -> CheckItem {
    let user_facing = error.user_facing();
    CheckItem::fail(label, user_facing.message, user_facing.fix)
}

async fn check_jira(
    site_url: &Url,
    email: &str,
    token: Secret,
    counter: &RequestCounter,
    items: &mut Vec<CheckItem>,
) {
    let http = match Http::builder("jira")
        .base_url(site_url.clone())
        .auth(Auth::Basic {
            user: email.to_owned(),
            secret: token,
        })
        .counter(counter.clone())
        .build()
    {
        Ok(http) => http,
        Err(error) => return items.push(failed("Sign in to Jira", &error)),
    };
    match http
        .get_json::<serde_json::Value>("/rest/api/3/myself", "rest/api/3/myself")
        .await
    {
        Ok(me) => {
            let name = me["displayName"].as_str().unwrap_or("?");
            items.push(CheckItem::ok(
                "Sign in to Jira",
                format!("Signed in as {name}"),
            ));
        }
        Err(error) => {
            let mut item = failed("Sign in to Jira", &error);
            if error.status() == Some(401) {
                item.fix = Some(format!(
                    "Check that {email} is the Atlassian account the API token belongs to, and that the token was not revoked (id.atlassian.com > Security > API tokens). Save a new token in Crosswalk."
                ));
            }
            items.push(item);
            items.push(CheckItem::skipped(
                "Jira Service Management Assets",
                "Needs a working sign-in",
            ));
            return;
        }
    }
    match http
        .get_json::<serde_json::Value>("/rest/servicedeskapi/assets/workspace", "rest/servicedeskapi/assets/workspace?start=0&limit=50")
        .await
    {
        Ok(body) => match body["values"].get(0).and_then(|v| v["workspaceId"].as_str()) {
            Some(workspace) => items.push(CheckItem::ok("Jira Service Management Assets", format!("Assets workspace {workspace}"))),
            None => items.push(CheckItem {
                label: "Jira Service Management Assets".into(),
                status: CheckStatus::Warn,
                detail: "The site has no Assets workspace.".into(),
                fix: Some("Entra Sync needs Assets (Jira Service Management Premium or Enterprise). Dynamics jobs do not.".into()),
            }),
        },
        Err(error) if matches!(error.status(), Some(403 | 404)) => items.push(CheckItem {
            label: "Jira Service Management Assets".into(),
            status: CheckStatus::Warn,
            detail: "Assets is not available on this site or to this account.".into(),
            fix: Some("Entra Sync needs Assets (Jira Service Management Premium or Enterprise) and an account with Assets access. Dynamics jobs do not.".into()),
        }),
        Err(error) => items.push(failed("Jira Service Management Assets", &error)),
    }
}

fn token_http(
    services: &Services,
    connection: &ConnectionConfig,
    counter: &RequestCounter,
) -> Result<Http, crosswalk_http::Error> {
    let authority = connection
        .settings
        .authority()
        .ok_or(crosswalk_http::Error::InvalidUrl {
            remote: "login".into(),
            detail: "no sign-in authority configured".into(),
        })?;
    let _ = services;
    Http::builder("login")
        .base_url(authority)
        .counter(counter.clone())
        .build()
}

async fn check_entra(
    services: &Services,
    connection: &ConnectionConfig,
    tenant_id: &str,
    client_id: &str,
    secret: Secret,
    counter: &RequestCounter,
    items: &mut Vec<CheckItem>,
) {
    let Some(graph_url) = connection.settings.graph_url() else {
        return items.push(CheckItem::fail(
            "Sign in to Microsoft Entra",
            "No Graph URL configured.",
            Some("Set graph_url for a custom cloud.".into()),
        ));
    };
    let login = match token_http(services, connection, counter) {
        Ok(login) => login,
        Err(error) => return items.push(failed("Sign in to Microsoft Entra", &error)),
    };
    let resource = graph_url.as_str().trim_end_matches('/').to_owned();
    let tokens = crosswalk_http::EntraTokenProvider::new(
        login,
        services.tokens.clone(),
        crosswalk_http::EntraCredentials {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            secret,
            resource: graph_url.clone(),
        },
    );
    if let Err(error) = tokens.fetch().await {
        items.push(failed("Sign in to Microsoft Entra", &error));
        for probe in GRAPH_PROBES {
            items.push(CheckItem::skipped(probe.label, "Needs a working sign-in"));
        }
        return;
    }
    items.push(CheckItem::ok(
        "Sign in to Microsoft Entra",
        format!("Got an app-only token for {resource}"),
    ));
    let graph = match Http::builder("graph")
        .base_url(graph_url)
        .auth(Auth::Bearer(tokens.into_source()))
        .counter(counter.clone())
        .build()
    {
        Ok(graph) => graph,
        Err(error) => return items.push(failed("Read users", &error)),
    };
    for probe in GRAPH_PROBES {
        match graph.get_json::<serde_json::Value>(probe.path, probe.path).await {
            Ok(_) => items.push(CheckItem::ok(probe.label, format!("{} is granted{}", probe.permission, probe.note))),
            Err(error) if error.status() == Some(403) => items.push(CheckItem::fail(
                probe.label,
                format!("{} is missing or has no admin consent{}", probe.permission, probe.note),
                Some(format!(
                    "In Entra ID > App registrations > your app > API permissions, add Microsoft Graph > Application permissions > {}, then click \"Grant admin consent\".",
                    probe.permission
                )),
            )),
            Err(error) => items.push(failed(probe.label, &error)),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn check_dataverse(
    services: &Services,
    connection: &ConnectionConfig,
    org_url: &Url,
    tenant_id: &str,
    client_id: &str,
    secret: Secret,
    counter: &RequestCounter,
    items: &mut Vec<CheckItem>,
) {
    let login = match token_http(services, connection, counter) {
        Ok(login) => login,
        Err(error) => return items.push(failed("Sign in to Microsoft Entra", &error)),
    };
    let resource = org_url.as_str().trim_end_matches('/').to_owned();
    let tokens = crosswalk_http::EntraTokenProvider::new(
        login,
        services.tokens.clone(),
        crosswalk_http::EntraCredentials {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            secret,
            resource: org_url.clone(),
        },
    );
    if let Err(error) = tokens.fetch().await {
        items.push(failed("Sign in to Microsoft Entra", &error));
        items.push(CheckItem::skipped(
            "Dataverse application user",
            "Needs a working sign-in",
        ));
        return;
    }
    items.push(CheckItem::ok(
        "Sign in to Microsoft Entra",
        format!("Got an app-only token for {resource}"),
    ));
    let dataverse = match Http::builder("dataverse")
        .base_url(org_url.clone())
        .auth(Auth::Bearer(tokens.into_source()))
        .counter(counter.clone())
        .build()
    {
        Ok(http) => http,
        Err(error) => return items.push(failed("Dataverse application user", &error)),
    };
    match dataverse.get_json::<serde_json::Value>("/api/data/v9.2/WhoAmI", "api/data/v9.2/WhoAmI").await {
        Ok(me) => items.push(CheckItem::ok(
            "Dataverse application user",
            format!("Signed in as application user {} in organization {}", me["UserId"].as_str().unwrap_or("?"), me["OrganizationId"].as_str().unwrap_or("?")),
        )),
        Err(error) if matches!(error.status(), Some(401 | 403)) => items.push(CheckItem::fail(
            "Dataverse application user",
            format!("Dataverse refused the app: {}", error.user_facing().message),
            Some("In the Power Platform admin center > Environments > your environment > Settings > Users + permissions > Application users, add this app registration as an application user and assign it a security role.".into()),
        )),
        Err(error) => items.push(failed("Dataverse application user", &error)),
    }
}
