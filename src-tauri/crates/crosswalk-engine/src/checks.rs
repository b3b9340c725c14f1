//! "Test connection": sign in the way a sync would, then probe each thing the syncs need, and
//! turn every failure into the fix an admin must make.

use crate::secret_expiry::{self, SecretExpiryOutcome};
use crate::services::Services;
use crosswalk_core::{
    CheckItem, CheckReport, CheckStatus, ConnectionConfig, ConnectionSettings, Secret,
};
use crosswalk_graph::GraphClient;
use crosswalk_http::{Auth, Http, RequestCounter};
use std::time::Instant;
use url::Url;

mod dataverse_access;

/// What Entra Sync reads, probed with one tiny page each. A 403 names the least-privileged
/// application permission (`crosswalk_graph::Resource::permission`); Intune managed devices need
/// `DeviceManagementManagedDevices.Read.All`, which `Device.Read.All` (the permission most
/// guides list) does not cover.
const GRAPH_PROBES: &[(&str, crosswalk_graph::Resource, &str)] = &[
    ("Read users", crosswalk_graph::Resource::Users, ""),
    ("Read groups and members", crosswalk_graph::Resource::Groups, ""),
    ("Read app registrations", crosswalk_graph::Resource::Applications, " (also used to warn before the client secret expires)"),
    ("Read Entra devices", crosswalk_graph::Resource::Devices, ""),
    (
        "Read Intune managed devices",
        crosswalk_graph::Resource::ManagedDevices,
        " — note: Device.Read.All does NOT cover Intune; this separate permission is required, and the tenant needs an Intune licence",
    ),
];

/// Tests a stored connection and returns the checklist; never fails as a whole.
pub async fn test_connection(services: &Services, connection: &ConnectionConfig) -> CheckReport {
    test_connection_counted(services, connection, &RequestCounter::default()).await
}

/// [`test_connection`] for the console, where the data folder is open for writing: also remembers
/// the client secret's expiry it read (without notifying; the watch does that), so the console
/// shows a renewed secret at once.
pub async fn test_connection_remembering_expiry(
    services: &Services,
    connection: &ConnectionConfig,
) -> CheckReport {
    let (report, outcome) = run_checks(services, connection, &RequestCounter::default()).await;
    if let Some(SecretExpiryOutcome::Known(expiry)) = outcome {
        let now = services.clock.now();
        if let Err(error) = secret_expiry::remember_secret_expiry(&services.store, &expiry, now) {
            tracing::warn!(message = "Could not remember the client secret's expiry.", connection = %connection.name, error = %error);
        }
    }
    report
}

/// [`test_connection`], counting its requests in `counter` (a run's counter, for its totals).
pub async fn test_connection_counted(
    services: &Services,
    connection: &ConnectionConfig,
    counter: &RequestCounter,
) -> CheckReport {
    run_checks(services, connection, counter).await.0
}

/// The checklist, plus what the client-secret expiry row was made from (Entra and Dataverse
/// connections whose sign-in got far enough), so the health check can remember it without
/// reading Graph twice.
pub(crate) async fn run_checks(
    services: &Services,
    connection: &ConnectionConfig,
    counter: &RequestCounter,
) -> (CheckReport, Option<SecretExpiryOutcome>) {
    let started = Instant::now();
    let mut items = Vec::new();
    let mut expiry = None;
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
                    expiry = check_entra(
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
                    expiry = check_dataverse(
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
    let report = CheckReport {
        connection: connection.name.clone(),
        items,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    (report, expiry)
}

fn describe(secret: &crosswalk_core::SecretRef) -> String {
    match secret {
        crosswalk_core::SecretRef::Keychain(name) => format!("the OS keychain (entry \"{name}\")"),
        crosswalk_core::SecretRef::Env(var) => format!("environment variable {var}"),
    }
}

fn failed(label: &str, user_facing: crosswalk_core::UserFacing) -> CheckItem {
    CheckItem::fail(label, user_facing.message, user_facing.fix)
}

async fn check_jira(
    site_url: &Url,
    email: &str,
    token: Secret,
    counter: &RequestCounter,
    items: &mut Vec<CheckItem>,
) {
    let http = match crosswalk_jira::JiraClient::http_builder(site_url.clone(), email, token)
        .counter(counter.clone())
        .build()
    {
        Ok(http) => http,
        Err(error) => return items.push(failed("Sign in to Jira", error.user_facing())),
    };
    let jira = crosswalk_jira::JiraClient::new(http.clone());
    match jira.myself().await {
        Ok(me) => items.push(CheckItem::ok(
            "Sign in to Jira",
            format!("Signed in as {}", me.display_name),
        )),
        Err(error) => {
            let mut item = failed("Sign in to Jira", error.user_facing());
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
    let assets_missing = |detail: &str| {
        CheckItem {
        label: "Jira Service Management Assets".into(),
        status: CheckStatus::Warn,
        detail: detail.into(),
        fix: Some("Entra Sync needs Assets (Jira Service Management Premium or Enterprise) and an account with Assets access. Dynamics jobs do not.".into()),
    }
    };
    match crosswalk_assets::discover_workspace(&http).await {
        Ok(Some(workspace)) => items.push(CheckItem::ok(
            "Jira Service Management Assets",
            format!("Assets workspace {workspace}"),
        )),
        Ok(None) => items.push(assets_missing("The site has no Assets workspace.")),
        Err(crosswalk_assets::Error::PermissionDenied { .. }) => items.push(assets_missing(
            "Assets is not available on this site or to this account.",
        )),
        Err(error) => items.push(failed(
            "Jira Service Management Assets",
            error.user_facing(),
        )),
    }
}

/// A failed Entra sign-in: the check row, and whether Entra said the secret has expired.
struct SignInFailure {
    item: CheckItem,
    secret_expired: bool,
}

impl From<CheckItem> for SignInFailure {
    fn from(item: CheckItem) -> SignInFailure {
        SignInFailure {
            item,
            secret_expired: false,
        }
    }
}

impl SignInFailure {
    /// The expiry row after a failed sign-in: when Entra said the secret expired and an earlier
    /// reading names the app and date, from that reading; otherwise skipped (the sign-in row
    /// already says what is wrong).
    fn expiry(
        &self,
        services: &Services,
        connection: &ConnectionConfig,
        items: &mut Vec<CheckItem>,
    ) -> Option<SecretExpiryOutcome> {
        let outcome = self
            .secret_expired
            .then(|| secret_expiry::expired_per_sign_in(services, connection))
            .filter(|outcome| matches!(outcome, SecretExpiryOutcome::Known(_)));
        items.push(secret_expiry::check_item(connection, outcome.as_ref()));
        outcome
    }
}

/// Signs in to Entra for `resource` and returns the bearer token source, or the failed check.
async fn sign_in(
    services: &Services,
    connection: &ConnectionConfig,
    tenant_id: &str,
    client_id: &str,
    secret: Secret,
    resource: &Url,
    counter: &RequestCounter,
) -> Result<crosswalk_http::TokenSource, SignInFailure> {
    const LABEL: &str = "Sign in to Microsoft Entra";
    let authority = connection.settings.authority().ok_or_else(|| {
        CheckItem::fail(
            LABEL,
            "No sign-in authority is configured.",
            Some("Set authority_url for a custom cloud.".into()),
        )
    })?;
    let tokens = crosswalk_http::EntraTokenProvider::at_authority(
        authority,
        services.tokens.clone(),
        crosswalk_http::EntraCredentials {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            secret,
            resource: resource.clone(),
        },
        counter.clone(),
    )
    .map_err(|error| failed(LABEL, error.user_facing()))?;
    tokens.fetch().await.map_err(|error| SignInFailure {
        item: failed(LABEL, error.user_facing()),
        secret_expired: matches!(
            error,
            crosswalk_http::Error::Token(crosswalk_http::TokenError::ExpiredSecret)
        ),
    })?;
    Ok(tokens.into_source())
}

async fn check_entra(
    services: &Services,
    connection: &ConnectionConfig,
    tenant_id: &str,
    client_id: &str,
    secret: Secret,
    counter: &RequestCounter,
    items: &mut Vec<CheckItem>,
) -> Option<SecretExpiryOutcome> {
    let Some(graph_url) = connection.settings.graph_url() else {
        items.push(CheckItem::fail(
            "Sign in to Microsoft Entra",
            "No Graph URL configured.",
            Some("Set graph_url for a custom cloud.".into()),
        ));
        return None;
    };
    let held = secret.clone();
    let tokens = match sign_in(
        services, connection, tenant_id, client_id, secret, &graph_url, counter,
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(failure) => {
            items.push(failure.item.clone());
            for (label, _, _) in GRAPH_PROBES {
                items.push(CheckItem::skipped(*label, "Needs a working sign-in"));
            }
            return failure.expiry(services, connection, items);
        }
    };
    items.push(CheckItem::ok(
        "Sign in to Microsoft Entra",
        format!(
            "Got an app-only token for {}",
            graph_url.as_str().trim_end_matches('/')
        ),
    ));
    let graph = match Http::builder("graph")
        .base_url(graph_url)
        .auth(Auth::Bearer(tokens))
        .counter(counter.clone())
        .build()
    {
        Ok(http) => GraphClient::new(http).with_page_size(1),
        Err(error) => {
            items.push(failed("Read users", error.user_facing()));
            return None;
        }
    };
    let mut a_user: Option<String> = None;
    for (label, resource, note) in GRAPH_PROBES {
        let res = match resource {
            crosswalk_graph::Resource::Users => graph.list_users(None).await.map(|page| {
                a_user = page.items.into_iter().next().map(|u| u.id);
            }),
            crosswalk_graph::Resource::Groups => graph.list_groups(None).await.map(|_| ()),
            crosswalk_graph::Resource::Applications => {
                graph.list_applications(None).await.map(|_| ())
            }
            crosswalk_graph::Resource::Devices => graph.list_devices(None).await.map(|_| ()),
            _ => graph.list_managed_devices(None).await.map(|_| ()),
        };
        let permission = resource.permission();
        match res {
            Ok(()) => items.push(CheckItem::ok(
                *label,
                format!("{permission} is granted{note}"),
            )),
            Err(error @ crosswalk_graph::Error::PermissionMissing { .. }) => {
                items.push(CheckItem::fail(
                    *label,
                    format!("{permission} is missing or has no admin consent{note}"),
                    error.user_facing().fix,
                ))
            }
            Err(error) => items.push(failed(label, error.user_facing())),
        }
    }
    if let Some(user) = a_user {
        items.push(user_memberships_item(&graph, &user).await);
    }
    let outcome = secret_expiry::read_from_graph(services, connection, &graph, &held).await;
    items.push(secret_expiry::check_item(connection, Some(&outcome)));
    Some(outcome)
}

/// Reading another user's group memberships app-only needs Directory.Read.All (Graph's
/// user-list-memberof); only jobs that filter users and mirror memberships use it (for users who
/// enter the filter), so a missing grant is a warning, not a failure.
async fn user_memberships_item(graph: &GraphClient, user: &str) -> CheckItem {
    const LABEL: &str = "Read users' group memberships (optional)";
    const WHEN: &str = "used only by jobs that filter users and sync group memberships, for users who enter the filter";
    match graph
        .list_member_of_groups(crosswalk_graph::MemberOf::User, user)
        .await
    {
        Ok(_) => CheckItem::ok(LABEL, format!("Directory.Read.All is granted ({WHEN})")),
        Err(error @ crosswalk_graph::Error::PermissionMissing { .. }) => CheckItem {
            label: LABEL.into(),
            status: CheckStatus::Warn,
            detail: format!("Directory.Read.All is missing or has no admin consent ({WHEN})"),
            fix: error.user_facing().fix,
        },
        Err(error) => failed(LABEL, error.user_facing()),
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
) -> Option<SecretExpiryOutcome> {
    let needs = dataverse_access::needs_of(services, &connection.name);
    let held = secret.clone();
    let tokens = match sign_in(
        services, connection, tenant_id, client_id, secret, org_url, counter,
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(failure) => {
            items.push(failure.item.clone());
            items.push(CheckItem::skipped(
                "Dataverse application user",
                "Needs a working sign-in",
            ));
            needs.skip(items, "Needs a working sign-in");
            return failure.expiry(services, connection, items);
        }
    };
    items.push(CheckItem::ok(
        "Sign in to Microsoft Entra",
        format!(
            "Got an app-only token for {}",
            org_url.as_str().trim_end_matches('/')
        ),
    ));
    let dataverse = match crosswalk_dataverse::DataverseClient::http_builder(org_url.clone())
        .auth(Auth::Bearer(tokens))
        .counter(counter.clone())
        .build()
    {
        Ok(http) => crosswalk_dataverse::DataverseClient::new(http),
        Err(error) => {
            items.push(failed("Dataverse application user", error.user_facing()));
            return None;
        }
    };
    match dataverse.who_am_i().await {
        Ok(me) => {
            items.push(CheckItem::ok(
                "Dataverse application user",
                format!(
                    "Signed in as application user {} in organization {}",
                    me.user_id, me.organization_id
                ),
            ));
            needs.check(&dataverse, &me.user_id, items).await;
        }
        Err(error) => {
            let mut item = failed("Dataverse application user", error.user_facing());
            if matches!(
                &error,
                crosswalk_dataverse::Error::Unexpected { .. }
                    | crosswalk_dataverse::Error::Http(crosswalk_http::Error::NotFound { .. })
            ) {
                item.fix = Some(format!(
                    "Verify the Organization URL: {} answered, but not as a Dataverse environment. Use the environment URL from the Power Platform admin center > Environments > <environment>, such as https://yourorg.crm.dynamics.com, without a path",
                    org_url.as_str().trim_end_matches('/')
                ));
            }
            items.push(item);
            needs.skip(items, "Needs a working application user");
        }
    }
    // The same app registration signs in to Graph in the same cloud to read its own secrets.
    let outcome = secret_expiry::read_secret_expiry(services, connection, held, counter).await;
    items.push(secret_expiry::check_item(connection, Some(&outcome)));
    Some(outcome)
}
