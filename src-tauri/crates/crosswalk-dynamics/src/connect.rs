//! Builds an item's Dataverse and Jira clients from its connections, with the run's request
//! counter and the process-wide token cache.

use crate::error::{facing, Error, Result};
use crate::settings::DynamicsItemSettings;
use crosswalk_core::{ConnectionConfig, ConnectionSettings};
use crosswalk_dataverse::DataverseClient;
use crosswalk_engine::Services;
use crosswalk_http::{RequestCounter, Url};
use crosswalk_jira::JiraClient;

/// The two clients of one item.
pub struct Clients {
    pub dataverse: DataverseClient,
    pub jira: JiraClient,
    /// The Jira site's base URL (issue links in notes are built from it).
    pub site_url: Url,
    /// The Dataverse organization URL (record links on Jira are built from it).
    pub org_url: Url,
}

fn connection(services: &Services, name: &str) -> Result<ConnectionConfig> {
    services
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
/// A missing or wrong-kind connection, or an unreadable secret.
pub async fn clients(
    services: &Services,
    settings: &DynamicsItemSettings,
    counter: RequestCounter,
) -> anyhow::Result<Clients> {
    let dv = connection(services, &settings.dataverse_connection).map_err(facing)?;
    let ConnectionSettings::Dataverse {
        org_url,
        tenant_id,
        client_id,
        ..
    } = &dv.settings
    else {
        return Err(facing(wrong(
            &settings.dataverse_connection,
            &dv,
            "dataverse",
        )));
    };
    let authority = dv.settings.authority().ok_or_else(|| {
        facing(Error::Settings(format!(
            "connection \"{}\" has no sign-in authority",
            dv.name
        )))
    })?;
    let secret = services.secret_for(&dv).await?;
    let dataverse = DataverseClient::connect(
        org_url.clone(),
        authority,
        tenant_id,
        client_id,
        secret,
        services.tokens.clone(),
        counter.clone(),
    )
    .map_err(facing)?;

    let jira_connection = connection(services, &settings.jira_connection).map_err(facing)?;
    let ConnectionSettings::Jira {
        site_url, email, ..
    } = &jira_connection.settings
    else {
        return Err(facing(wrong(
            &settings.jira_connection,
            &jira_connection,
            "jira",
        )));
    };
    let token = services.secret_for(&jira_connection).await?;
    let http = JiraClient::http_builder(site_url.clone(), email, token)
        .counter(counter)
        .build()
        .map_err(|e| facing(crosswalk_jira::Error::Http(e)))?;
    Ok(Clients {
        dataverse,
        jira: JiraClient::new(http),
        site_url: site_url.clone(),
        org_url: org_url.clone(),
    })
}
