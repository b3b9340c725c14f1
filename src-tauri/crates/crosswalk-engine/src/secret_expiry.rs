//! The client-secret expiry watch: reads the connection's own app registration through Graph
//! (`Application.Read.All`), finds the secret Crosswalk signs in with, and warns 30, 14, 7 and 1
//! days before it expires, and once it has expired.
//!
//! Entra and Dataverse connections both sign in with an Entra client secret, so both are
//! watched; a Dataverse connection reads Graph in its own cloud. The secret in use is the one whose
//! Graph `hint` (the first three characters of its value) matches the value we hold; neither the
//! value nor the hint is ever logged, stored or shown. When no secret or several match, the
//! earliest-expiring candidate is used and every message says so.
//!
//! The last reading and the lowest threshold already warned about are kept per connection in the
//! store's `settings` table (`secret_expiry.<connection>`), so each threshold notifies once and
//! the console can show the expiry without a network call. A secret that expires later than the
//! one remembered (a renewal) starts the thresholds over.
//!
//! Nothing here fails a run: a missing permission or an unreachable Graph becomes a warning.

use crate::context::{EventAction, RunContext, RunEvent};
use crate::events::EngineEvent;
use crate::services::Services;
use crosswalk_core::{
    CheckItem, CheckStatus, Code, ConnectionConfig, ConnectionSettings, EventLevel, Secret,
    SecretRef, UserFacing,
};
use crosswalk_graph::{Application, GraphClient};
use crosswalk_http::RequestCounter;
use crosswalk_store::Store;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

/// Days before expiry at which the admin is warned, largest first. `0` stands for "expired".
pub const THRESHOLDS: [u32; 4] = [30, 14, 7, 1];

/// The label of the "Test connection" row.
pub const CHECK_LABEL: &str = "Client secret expiry";

const SECONDS_PER_DAY: i64 = 86_400;

/// The `settings` key under which a connection's last reading is kept.
pub fn setting_key(connection: &str) -> String {
    format!("secret_expiry.{connection}")
}

/// When the client secret a connection signs in with expires, as of one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretExpiry {
    /// The connection's name.
    pub connection: String,
    /// The app registration's display name (where the admin creates the new secret).
    pub app_display_name: String,
    pub expires_at: OffsetDateTime,
    /// Whole days until `expires_at` (rounded down; negative once expired).
    pub days_left: i64,
    /// The warning threshold reached: 30, 14, 7 or 1 days, `0` once expired, `None` while more
    /// than 30 days are left.
    pub threshold: Option<u32>,
    /// False when the secret in use could not be told apart by its hint, so `expires_at` is the
    /// earliest expiry among the candidates.
    pub matched_by_hint: bool,
}

impl SecretExpiry {
    /// A reading of `expires_at` as seen at `now`.
    pub fn new(
        connection: &str,
        app_display_name: &str,
        expires_at: OffsetDateTime,
        matched_by_hint: bool,
        now: OffsetDateTime,
    ) -> SecretExpiry {
        SecretExpiry {
            connection: connection.to_owned(),
            app_display_name: app_display_name.to_owned(),
            expires_at,
            days_left: days_left(expires_at, now),
            threshold: threshold(expires_at, now),
            matched_by_hint,
        }
    }

    /// True once the secret has expired.
    pub fn is_expired(&self) -> bool {
        self.threshold == Some(0)
    }

    /// Error once expired, warning within 30 days, info otherwise.
    pub fn level(&self) -> EventLevel {
        match self.threshold {
            Some(0) => EventLevel::Error,
            Some(_) => EventLevel::Warn,
            None => EventLevel::Info,
        }
    }

    /// "expires in 20 days (on 2026-12-11)", "has expired (on 2026-12-11)".
    fn when(&self) -> String {
        let date = date(self.expires_at);
        if self.is_expired() {
            format!("expired on {date}")
        } else {
            match self.days_left {
                0 => format!("expires in less than a day (on {date})"),
                1 => format!("expires in 1 day (on {date})"),
                n => format!("expires in {n} days (on {date})"),
            }
        }
    }

    fn unsure_note(&self) -> &'static str {
        if self.matched_by_hint {
            ""
        } else {
            " Crosswalk could not tell which of the app's client secrets it signs in with, so this is the earliest-expiring one."
        }
    }

    /// The "Test connection" sentence: "Client secret expires in 20 days (on 2026-12-11)."
    pub fn describe(&self) -> String {
        format!("Client secret {}.{}", self.when(), self.unsure_note())
    }

    /// The run-log and notification sentence, naming the connection.
    pub fn headline(&self) -> String {
        format!(
            "Client secret of connection {} {}.{}",
            self.connection,
            self.when(),
            self.unsure_note()
        )
    }
}

/// Whole days from `now` to `expires_at`, rounded down (so an expired secret has a negative count).
pub fn days_left(expires_at: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (expires_at - now)
        .whole_seconds()
        .div_euclid(SECONDS_PER_DAY)
}

/// The warning threshold reached at `now`: the smallest of [`THRESHOLDS`] not below the days
/// left, `0` once expired, `None` with more than 30 days left.
pub fn threshold(expires_at: OffsetDateTime, now: OffsetDateTime) -> Option<u32> {
    if expires_at <= now {
        return Some(0);
    }
    let days = days_left(expires_at, now);
    THRESHOLDS
        .iter()
        .rev()
        .copied()
        .find(|threshold| days <= i64::from(*threshold))
}

fn date(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

/// What the admin should do before (or after) the secret expires, for this connection.
pub fn renewal_fix(connection: &ConnectionConfig, app_display_name: &str) -> String {
    let save = match connection.secret_ref() {
        SecretRef::Keychain(entry) => format!(
            "then save its Value (not its Secret ID) with `crosswalk secret set {entry}` or by editing connection {} in the console",
            connection.name
        ),
        SecretRef::Env(var) => format!(
            "then put its Value (not its Secret ID) in the environment variable {var} where Crosswalk runs"
        ),
    };
    format!(
        "Create a new client secret in the Microsoft Entra admin center › App registrations › {app_display_name} › Certificates & secrets, {save}."
    )
}

/// What one attempt to read the expiry found.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretExpiryOutcome {
    /// The expiry of the secret in use.
    Known(SecretExpiry),
    /// The watch cannot work as configured (a missing permission, an unknown Graph URL…); says
    /// what to change. Never a reason to fail a run.
    CannotWatch {
        message: String,
        fix: Option<String>,
    },
    /// Reading failed this time (sign-in, network); the next run tries again.
    Failed(UserFacing),
}

/// Tenant and client ID of a connection that signs in with an Entra client secret.
fn entra_app(settings: &ConnectionSettings) -> Option<(&str, &str)> {
    match settings {
        ConnectionSettings::Entra {
            tenant_id,
            client_id,
            ..
        }
        | ConnectionSettings::Dataverse {
            tenant_id,
            client_id,
            ..
        } => Some((tenant_id, client_id)),
        ConnectionSettings::Jira { .. } => None,
    }
}

/// True for the connections the watch applies to (Entra and Dataverse).
pub fn is_watched(connection: &ConnectionConfig) -> bool {
    entra_app(&connection.settings).is_some()
}

/// Reads when the client secret of `connection` expires: its secret, a Graph sign-in in its
/// cloud, and one `GET /applications?$filter=appId eq '…'`. Remembers nothing; see
/// [`record_secret_expiry`] and [`watch_secret_expiry`].
pub async fn check_secret_expiry(
    services: &Services,
    connection: &ConnectionConfig,
    counter: &RequestCounter,
) -> SecretExpiryOutcome {
    if !is_watched(connection) {
        return SecretExpiryOutcome::CannotWatch {
            message: "Only Entra and Dataverse connections sign in with a client secret.".into(),
            fix: None,
        };
    }
    match services.secret_for(connection).await {
        Ok(secret) => read_secret_expiry(services, connection, secret, counter).await,
        Err(error) => SecretExpiryOutcome::Failed(crate::engine::user_facing_of(&error)),
    }
}

/// [`check_secret_expiry`] with the secret already read (Test connection holds it).
pub(crate) async fn read_secret_expiry(
    services: &Services,
    connection: &ConnectionConfig,
    secret: Secret,
    counter: &RequestCounter,
) -> SecretExpiryOutcome {
    let Some((tenant_id, client_id)) = entra_app(&connection.settings) else {
        return SecretExpiryOutcome::CannotWatch {
            message: "Only Entra and Dataverse connections sign in with a client secret.".into(),
            fix: None,
        };
    };
    let graph_url = match graph_url_for(&services.store, connection) {
        Ok(Some(url)) => url,
        Ok(None) => {
            return SecretExpiryOutcome::CannotWatch {
                message: "Cannot watch the client secret's expiry: Crosswalk does not know the Microsoft Graph URL of this custom cloud.".into(),
                fix: Some("Add an Entra connection for the same tenant and sign-in authority (it names the Graph URL), or choose the connection's cloud from the list.".into()),
            }
        }
        Err(error) => {
            return SecretExpiryOutcome::Failed(UserFacing::new(
                Code::Unknown,
                format!("Could not read the stored connections: {error}."),
            ))
        }
    };
    let Some(authority) = connection.settings.authority() else {
        return SecretExpiryOutcome::Failed(
            UserFacing::new(Code::Validation, "No sign-in authority is configured.")
                .with_fix("Set authority_url for a custom cloud."),
        );
    };
    let graph = match GraphClient::connect(
        graph_url,
        authority,
        tenant_id,
        client_id,
        secret.clone(),
        services.tokens.clone(),
        counter.clone(),
    ) {
        Ok(graph) => graph,
        Err(error) => return SecretExpiryOutcome::Failed(error.user_facing()),
    };
    read_from_graph(services, connection, &graph, &secret).await
}

/// Reads the app registration through an already signed-in `graph` and picks the secret in use.
pub(crate) async fn read_from_graph(
    services: &Services,
    connection: &ConnectionConfig,
    graph: &GraphClient,
    held: &Secret,
) -> SecretExpiryOutcome {
    let Some((_, client_id)) = entra_app(&connection.settings) else {
        return SecretExpiryOutcome::CannotWatch {
            message: "Only Entra and Dataverse connections sign in with a client secret.".into(),
            fix: None,
        };
    };
    match graph.get_application_by_app_id(client_id).await {
        Ok(app) => from_application(connection, &app, held, services.clock.now()),
        Err(error @ crosswalk_graph::Error::PermissionMissing { .. }) => {
            SecretExpiryOutcome::CannotWatch {
                message: "Cannot watch the client secret's expiry: grant Application.Read.All (the app registration lacks this Microsoft Graph application permission).".into(),
                fix: error.user_facing().fix,
            }
        }
        Err(crosswalk_graph::Error::Http(crosswalk_http::Error::Token(
            crosswalk_http::TokenError::ExpiredSecret,
        ))) => expired_per_sign_in(services, connection),
        Err(error) if error.status() == Some(404) => SecretExpiryOutcome::CannotWatch {
            message: format!(
                "Cannot watch the client secret's expiry: no app registration with client ID {client_id} is visible in this tenant."
            ),
            fix: Some("If the app is registered in another tenant (a multi-tenant app), watch its secret there; otherwise check the client ID.".into()),
        },
        Err(error) => SecretExpiryOutcome::Failed(error.user_facing()),
    }
}

/// Picks the secret in use among the app's secrets: the one whose hint matches the value we hold;
/// failing that, the earliest-expiring candidate (preferring secrets that have not expired yet,
/// since the sign-in worked).
fn from_application(
    connection: &ConnectionConfig,
    app: &Application,
    held: &Secret,
    now: OffsetDateTime,
) -> SecretExpiryOutcome {
    let app_name = app
        .display_name
        .clone()
        .or_else(|| app.app_id.clone())
        .unwrap_or_else(|| app.id.clone());
    let with_end: Vec<(bool, OffsetDateTime)> = app
        .password_credentials
        .iter()
        .filter_map(|credential| {
            credential
                .end_date_time
                .map(|end| (credential.hint_matches(held.expose()), end))
        })
        .collect();
    let matching: Vec<OffsetDateTime> = with_end
        .iter()
        .filter(|(matches, _)| *matches)
        .map(|(_, end)| *end)
        .collect();
    let (candidates, matched_by_hint) = match matching.len() {
        1 => (matching, true),
        0 => (with_end.iter().map(|(_, end)| *end).collect(), false),
        _ => (matching, false),
    };
    let earliest_valid = candidates.iter().filter(|end| **end > now).min();
    let Some(expires_at) = earliest_valid.or_else(|| candidates.iter().min()).copied() else {
        return SecretExpiryOutcome::CannotWatch {
            message: format!(
                "Cannot watch the client secret's expiry: app registration {app_name} lists no client secret with an expiry date."
            ),
            fix: None,
        };
    };
    SecretExpiryOutcome::Known(SecretExpiry::new(
        &connection.name,
        &app_name,
        expires_at,
        matched_by_hint,
        now,
    ))
}

/// Entra refused the secret as expired (AADSTS7000222), so Graph cannot be read: the last
/// reading gives the app and the date when there is one.
pub(crate) fn expired_per_sign_in(
    services: &Services,
    connection: &ConnectionConfig,
) -> SecretExpiryOutcome {
    let now = services.clock.now();
    match known_secret_expiry(&services.store, &connection.name, now) {
        Ok(Some(known)) => SecretExpiryOutcome::Known(SecretExpiry::new(
            &connection.name,
            &known.expiry.app_display_name,
            known.expiry.expires_at.min(now),
            known.expiry.matched_by_hint,
            now,
        )),
        _ => SecretExpiryOutcome::Failed(
            crosswalk_http::Error::from(crosswalk_http::TokenError::ExpiredSecret).user_facing(),
        ),
    }
}

/// The Graph root to read the app registration from: the Entra connection's own; for Dataverse,
/// its cloud's, or for a custom cloud the Graph URL of an Entra connection to the same tenant at
/// the same sign-in authority.
fn graph_url_for(
    store: &Store,
    connection: &ConnectionConfig,
) -> crosswalk_store::Result<Option<Url>> {
    match &connection.settings {
        ConnectionSettings::Entra { .. } => Ok(connection.settings.graph_url()),
        ConnectionSettings::Dataverse {
            tenant_id, cloud, ..
        } => {
            if let Some(endpoints) = cloud.endpoints() {
                return Ok(Some(endpoints.graph));
            }
            let authority = connection.settings.authority();
            Ok(store
                .list_connections()?
                .into_iter()
                .map(|stored| stored.config)
                .find(|other| {
                    matches!(&other.settings, ConnectionSettings::Entra { tenant_id: other_tenant, .. }
                        if other_tenant.eq_ignore_ascii_case(tenant_id))
                        && other.settings.authority() == authority
                })
                .and_then(|entra| entra.settings.graph_url()))
        }
        ConnectionSettings::Jira { .. } => Ok(None),
    }
}

/// The "Test connection" row for an outcome; `None` means the reading was not attempted because
/// the sign-in failed.
pub fn check_item(
    connection: &ConnectionConfig,
    outcome: Option<&SecretExpiryOutcome>,
) -> CheckItem {
    match outcome {
        None => CheckItem::skipped(CHECK_LABEL, "Needs a working sign-in"),
        Some(SecretExpiryOutcome::Known(expiry)) => {
            let status = match expiry.threshold {
                Some(0) => CheckStatus::Fail,
                Some(_) => CheckStatus::Warn,
                None => CheckStatus::Ok,
            };
            CheckItem {
                label: CHECK_LABEL.into(),
                status,
                detail: expiry.describe(),
                fix: (status != CheckStatus::Ok)
                    .then(|| renewal_fix(connection, &expiry.app_display_name)),
            }
        }
        Some(SecretExpiryOutcome::CannotWatch { message, fix }) => CheckItem {
            label: CHECK_LABEL.into(),
            status: CheckStatus::Warn,
            detail: message.clone(),
            fix: fix.clone(),
        },
        Some(SecretExpiryOutcome::Failed(user_facing)) => CheckItem {
            label: CHECK_LABEL.into(),
            status: CheckStatus::Warn,
            detail: format!(
                "Could not check when the client secret expires: {}",
                user_facing.message
            ),
            fix: user_facing.fix.clone(),
        },
    }
}

/// A connection's last reading, as kept in `settings`.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    app_display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    matched_by_hint: bool,
    /// The lowest threshold already warned about for this expiry (30, 14, 7, 1, 0).
    warned_threshold: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    checked_at: OffsetDateTime,
}

/// The last reading of a connection's secret expiry, re-evaluated at some `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownSecretExpiry {
    pub expiry: SecretExpiry,
    /// When Graph was last read for it.
    pub checked_at: OffsetDateTime,
}

/// The last reading for `connection` with days left and threshold as of `now`; no network.
///
/// # Errors
/// The store's, except that an unreadable value counts as no reading.
pub fn known_secret_expiry(
    store: &Store,
    connection: &str,
    now: OffsetDateTime,
) -> crosswalk_store::Result<Option<KnownSecretExpiry>> {
    let stored = match store.get_setting::<Stored>(&setting_key(connection)) {
        Ok(stored) => stored,
        Err(crosswalk_store::Error::Json(_)) => None,
        Err(error) => return Err(error),
    };
    Ok(stored.map(|stored| KnownSecretExpiry {
        expiry: SecretExpiry::new(
            connection,
            &stored.app_display_name,
            stored.expires_at,
            stored.matched_by_hint,
            now,
        ),
        checked_at: stored.checked_at,
    }))
}

/// Remembers a reading and returns the threshold it newly crossed, if any: one not warned about
/// before for this secret. A later expiry than the remembered one (a renewed secret) forgets the
/// thresholds already warned about.
///
/// # Errors
/// The store's.
pub fn record_secret_expiry(
    store: &Store,
    expiry: &SecretExpiry,
    now: OffsetDateTime,
) -> crosswalk_store::Result<Option<u32>> {
    store_reading(store, expiry, now, true)
}

/// Remembers a reading without warning about it (the console's "Test connection", which shows
/// the expiry itself): the console sees the new date at once, a renewal still starts the
/// thresholds over, and a threshold not yet warned about stays due for the next health check or
/// sync, which notifies.
///
/// # Errors
/// The store's.
pub fn remember_secret_expiry(
    store: &Store,
    expiry: &SecretExpiry,
    now: OffsetDateTime,
) -> crosswalk_store::Result<()> {
    store_reading(store, expiry, now, false).map(|_| ())
}

fn store_reading(
    store: &Store,
    expiry: &SecretExpiry,
    now: OffsetDateTime,
    warn: bool,
) -> crosswalk_store::Result<Option<u32>> {
    let key = setting_key(&expiry.connection);
    let previous = match store.get_setting::<Stored>(&key) {
        Ok(previous) => previous,
        Err(crosswalk_store::Error::Json(_)) => None,
        Err(error) => return Err(error),
    };
    // A renewal is a secret that expires later than the remembered one and is still valid.
    let renewed =
        |previous: &Stored| expiry.expires_at > previous.expires_at && !expiry.is_expired();
    let mut warned = previous
        .as_ref()
        .filter(|previous| !renewed(previous))
        .and_then(|previous| previous.warned_threshold);
    let crossed = expiry
        .threshold
        .filter(|_| warn)
        .filter(|threshold| warned.is_none_or(|warned| *threshold < warned));
    if crossed.is_some() {
        warned = crossed;
    }
    store.set_setting(
        &key,
        &Stored {
            app_display_name: expiry.app_display_name.clone(),
            expires_at: expiry.expires_at,
            matched_by_hint: expiry.matched_by_hint,
            warned_threshold: warned,
            checked_at: now,
        },
    )?;
    Ok(crossed)
}

/// The watch as a sync job runs it: reads the expiry of `connection`'s client secret, remembers
/// it, writes a run event (warning within 30 days, error once expired, a warning when the watch
/// cannot work) and broadcasts [`EngineEvent::SecretExpiring`] when a threshold is crossed for the
/// first time. Never fails the run; `None` when the expiry is unknown (or for Jira connections,
/// which are ignored).
pub async fn watch_secret_expiry(
    ctx: &RunContext,
    connection: &ConnectionConfig,
) -> Option<SecretExpiry> {
    if !is_watched(connection) {
        return None;
    }
    let outcome = check_secret_expiry(&ctx.services, connection, &ctx.requests).await;
    report_outcome(ctx, connection, outcome)
}

/// Records an outcome for a run: remembered reading, run event, notice on a new threshold.
pub(crate) fn report_outcome(
    ctx: &RunContext,
    connection: &ConnectionConfig,
    outcome: SecretExpiryOutcome,
) -> Option<SecretExpiry> {
    let name = &connection.name;
    let warn = |message: String, fix: Option<String>| {
        let event = RunEvent::object("connection", name, name, EventAction::Info, message)
            .with_level(EventLevel::Warn);
        ctx.event(match fix {
            Some(fix) => event.with_fix(fix),
            None => event,
        });
    };
    match outcome {
        SecretExpiryOutcome::Known(expiry) => {
            let now = ctx.services.clock.now();
            let crossed = record_secret_expiry(&ctx.services.store, &expiry, now).unwrap_or_else(|error| {
                tracing::warn!(message = "Could not remember the client secret's expiry.", connection = %name, error = %error);
                None
            });
            let fix = renewal_fix(connection, &expiry.app_display_name);
            let mut event = RunEvent::object(
                "connection",
                name,
                name,
                EventAction::Info,
                expiry.headline(),
            )
            .with_level(expiry.level())
            .with_change(
                None,
                Some(serde_json::json!({
                    "app": expiry.app_display_name,
                    "expiresAt": expiry
                        .expires_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    "daysLeft": expiry.days_left,
                    "matchedByHint": expiry.matched_by_hint,
                })),
            );
            if expiry.threshold.is_some() {
                event = event.with_fix(fix.clone());
            }
            ctx.event(event);
            if let Some(threshold) = crossed {
                tracing::info!(message = "Client secret expiry threshold crossed.", connection = %name, threshold, days_left = expiry.days_left);
                ctx.notify(EngineEvent::SecretExpiring {
                    connection: name.clone(),
                    app_display_name: expiry.app_display_name.clone(),
                    expires_at: expiry.expires_at,
                    days_left: expiry.days_left,
                    threshold,
                    message: expiry.headline(),
                    fix,
                });
            }
            Some(expiry)
        }
        SecretExpiryOutcome::CannotWatch { message, fix } => {
            warn(message, fix);
            None
        }
        SecretExpiryOutcome::Failed(user_facing) => {
            warn(
                format!(
                    "Could not check when the client secret expires: {}",
                    user_facing.message
                ),
                user_facing.fix,
            );
            None
        }
    }
}

#[cfg(test)]
mod tests;
