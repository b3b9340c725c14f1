//! Errors of the Graph client: the HTTP layer's, plus the two Graph answers the engine acts on
//! (a delta link that must be thrown away, a missing application permission).

use crosswalk_core::{Code, UserFacing};

/// Result of the Graph client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed Graph call. Messages name a resource or route template, never a URL, token or secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Anything the HTTP layer reports (401, 404, throttling, transport, undecodable body…).
    #[error(transparent)]
    Http(#[from] crosswalk_http::Error),
    /// The delta link expired or was invalidated (410, `syncStateNotFound`, `resyncRequired`):
    /// drop it and run a full delta round.
    #[error("the {resource} delta link is no longer valid and a full sync is needed ({reason})")]
    ResyncRequired {
        resource: &'static str,
        reason: String,
    },
    /// A delta page carried neither a nextLink nor a deltaLink, so the round cannot be finished.
    #[error("Graph ended a {resource} delta page without a next or delta link")]
    IncompleteDelta { resource: &'static str },
    /// 403: the app registration lacks the Graph application permission this endpoint needs.
    #[error("Graph denied access: the app registration lacks the {permission} application permission ({detail})")]
    PermissionMissing {
        permission: &'static str,
        detail: String,
    },
}

impl Error {
    /// The HTTP status behind the error, when Graph answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http(error) => error.status(),
            Error::PermissionMissing { .. } => Some(403),
            Error::ResyncRequired { .. } | Error::IncompleteDelta { .. } => None,
        }
    }

    /// What an admin sees: a code the UI reacts to, one sentence, and the fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Http(error) => error.user_facing(),
            Error::ResyncRequired { resource, .. } => UserFacing::new(
                Code::Conflict,
                format!("Microsoft Graph no longer accepts the saved change marker for {resource}."),
            )
            .with_fix("Run the job again: Crosswalk reads everything once more and continues incrementally"),
            Error::IncompleteDelta { resource } => UserFacing::new(
                Code::RemoteUnavailable,
                format!("Microsoft Graph sent an incomplete list of changes to {resource}."),
            )
            .with_fix("Run the job again later; if it keeps happening, report this to the Crosswalk team"),
            Error::PermissionMissing { permission, .. } => {
                let mut fix = format!(
                    "In the Microsoft Entra admin center, open App registrations, select Crosswalk's app, then API permissions: add the Microsoft Graph application permission {permission} and select \"Grant admin consent\". Then test the connection again"
                );
                if permission.starts_with("DeviceManagement") {
                    fix.push_str(
                        ". Device.Read.All and Directory.Read.All do not cover Intune managed devices, and the tenant needs an Intune license",
                    );
                }
                UserFacing::new(
                    Code::PermissionDenied,
                    format!("Microsoft Graph denied access because Crosswalk's app registration lacks the {permission} permission."),
                )
                .with_fix(fix)
            }
        }
    }
}
