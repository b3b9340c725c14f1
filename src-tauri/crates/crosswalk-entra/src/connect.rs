//! Builds the run's Graph and Assets clients from the job's connections, with the run's request
//! counter and the process-wide token cache.

use crate::error::{facing, Error, Result};
use crate::settings::EntraSyncSettings;
use crosswalk_assets::AssetsClient;
use crosswalk_core::{ConnectionConfig, ConnectionSettings};
use crosswalk_engine::{RunContext, Services};
use crosswalk_graph::GraphClient;
use crosswalk_http::RequestCounter;
use crosswalk_http::Url;

/// The Assets gateway when the connection does not name its Assets base.
const GATEWAY: &str = "https://api.atlassian.com";

/// The clients one run uses.
pub struct Clients {
    pub graph: GraphClient,
    pub assets: AssetsClient,
    /// The Entra connection (for the secret-expiry watch).
    pub entra: ConnectionConfig,
}

fn connection(ctx: &RunContext, name: &str) -> Result<ConnectionConfig> {
    ctx.services
        .store
        .find_connection(name)?
        .map(|stored| stored.config)
        .ok_or_else(|| Error::NoConnection(name.to_owned()))
}

fn wrong(name: &str, found: &ConnectionConfig, expected: &'static str) -> Error {
    Error::WrongConnection {
        name: name.to_owned(),
        found: found.settings.kind().as_str(),
        expected,
    }
}

/// Reads both connections and their secrets and builds the clients.
///
/// # Errors
/// A missing or wrong-kind connection, an unreadable secret, or no Assets workspace.
pub async fn clients(ctx: &RunContext, settings: &EntraSyncSettings) -> anyhow::Result<Clients> {
    let entra = connection(ctx, &settings.entra_connection).map_err(facing)?;
    let ConnectionSettings::Entra {
        tenant_id,
        client_id,
        ..
    } = &entra.settings
    else {
        return Err(facing(wrong(&settings.entra_connection, &entra, "entra")));
    };
    let jira = connection(ctx, &settings.jira_connection).map_err(facing)?;
    if !matches!(jira.settings, ConnectionSettings::Jira { .. }) {
        return Err(facing(wrong(&settings.jira_connection, &jira, "jira")));
    }
    let graph_url = entra.settings.graph_url().ok_or_else(|| {
        facing(Error::Settings(format!(
            "connection \"{}\" has no Graph URL",
            entra.name
        )))
    })?;
    let authority = entra.settings.authority().ok_or_else(|| {
        facing(Error::Settings(format!(
            "connection \"{}\" has no sign-in authority",
            entra.name
        )))
    })?;
    let entra_secret = ctx.services.secret_for(&entra).await?;
    let graph = GraphClient::connect(
        graph_url,
        authority,
        tenant_id,
        client_id,
        entra_secret,
        ctx.services.tokens.clone(),
        ctx.requests.clone(),
    )
    .map_err(facing)?;

    let assets = assets_client(&ctx.services, &jira, ctx.requests.clone()).await?;
    Ok(Clients {
        graph,
        assets,
        entra,
    })
}

/// The Assets client of a Jira connection: its configured Assets base, or the workspace
/// discovered on the site behind Atlassian's gateway.
///
/// # Errors
/// Not a Jira connection, an unreadable API token, or a site without Assets.
pub async fn assets_client(
    services: &Services,
    jira: &ConnectionConfig,
    counter: RequestCounter,
) -> anyhow::Result<AssetsClient> {
    let ConnectionSettings::Jira {
        site_url,
        email,
        assets_api_url,
    } = &jira.settings
    else {
        return Err(facing(wrong(&jira.name, jira, "jira")));
    };
    let token = services.secret_for(jira).await?;
    let base = match assets_api_url {
        Some(url) => url.clone(),
        None => {
            let site =
                crosswalk_jira::JiraClient::http_builder(site_url.clone(), email, token.clone())
                    .counter(counter.clone())
                    .build()
                    .map_err(|e| facing(crosswalk_assets::Error::Http(e)))?;
            let workspace = crosswalk_assets::require_workspace(&site)
                .await
                .map_err(facing)?;
            let gateway = Url::parse(GATEWAY).expect("the Atlassian gateway URL is valid");
            AssetsClient::base_url(&gateway, &workspace).map_err(facing)?
        }
    };
    let http = AssetsClient::http_builder(base, email.clone(), token)
        .counter(counter)
        .build()
        .map_err(|e| facing(crosswalk_assets::Error::Http(e)))?;
    Ok(AssetsClient::new(http))
}
