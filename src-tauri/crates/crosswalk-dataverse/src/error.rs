//! The errors of the Dataverse client: HTTP failures from `crosswalk_http`, plus the Dataverse
//! conditions an engine or admin acts on, decoded from `{"error":{"code":"0x...","message":...}}`.

use crosswalk_core::{Code, UserFacing};

/// Result of every `DataverseClient` call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `0x80040220`: the caller's security role lacks a privilege.
const PRIVILEGE_CODE: &str = "0x80040220";
/// `0x80072560`: the app has no application user in the environment.
const NOT_A_MEMBER_CODE: &str = "0x80072560";
/// `0x80040203`: a statecode/statuscode change the platform refuses.
const STATE_CODE: &str = "0x80040203";
/// `0x80044a02`: an attachment over `organization.maxuploadfilesize`.
pub(crate) const ATTACHMENT_TOO_BIG_CODE: &str = "0x80044a02";

/// A failed Dataverse call. Texts name tables, privileges and routes, never tokens or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The app registration has no application user in this environment (403).
    #[error("the app registration is not an application user of this Dataverse environment")]
    MissingApplicationUser,
    /// The application user's security role lacks `prv{privilege}{table}` (403 `0x80040220`).
    #[error("the application user's security role is missing the {privilege} privilege on table {table}")]
    MissingPrivilege { privilege: String, table: String },
    /// The application user's security role lacks a privilege on no table (a "miscellaneous
    /// privilege" such as `prvReadAuditSummary`, 403 `0x80040220`).
    #[error("the application user's security role is missing the {privilege} privilege")]
    MissingMiscPrivilege { privilege: String },
    /// `If-Match` did not match: the record changed since it was read (412).
    #[error("the {entity_set} record changed since it was read")]
    PreconditionFailed { entity_set: String },
    /// The table is not enabled for change tracking; read changes by `modifiedon` instead.
    #[error("table {entity_set} is not enabled for change tracking")]
    ChangeTrackingDisabled { entity_set: String },
    /// The delta link is older than `expirechangetrackingindays`; start again from scratch.
    #[error("the change-tracking link for {entity_set} expired; a full sync is required")]
    FullSyncRequired { entity_set: String },
    /// The file is larger than the environment accepts (`maxuploadfilesize` counts base64).
    #[error("the attachment is {size} bytes but this environment accepts at most {limit} bytes")]
    AttachmentTooLarge { size: u64, limit: u64 },
    /// Dataverse refused a state or status change (wrong statuscode, already closed...).
    #[error("Dataverse refused the state change: {message}")]
    InvalidStateTransition { message: String },
    /// A record id or table name given to the client is not well-formed (a caller bug).
    #[error("{what} {value:?} is not valid")]
    InvalidArgument { what: &'static str, value: String },
    /// Dataverse answered with something this client cannot use.
    #[error("unexpected response from Dataverse for {route}: {detail}")]
    Unexpected { route: &'static str, detail: String },
    /// Any other failure of the HTTP layer (auth, throttling, network, other statuses).
    #[error(transparent)]
    Http(#[from] crosswalk_http::Error),
}

/// Splits an HTTP error's detail (`"0x80040220: message"`) into code and message.
fn code_and_message(detail: &str) -> (&str, &str) {
    match detail.split_once(": ") {
        Some((code, message)) if code.starts_with("0x") => (code, message),
        _ => ("", detail),
    }
}

/// Privileges on no table the client reads with, by name, and how the security role editor
/// shows them (Microsoft Learn, "Manage Dataverse auditing": View Audit History / Summary).
const MISC_PRIVILEGES: [(&str, &str); 2] = [
    ("prvReadAuditSummary", "View Audit Summary"),
    ("prvReadRecordAuditHistory", "View Audit History"),
];

/// `... is missing prvReadAuditSummary privilege ...` → `prvReadAuditSummary`.
fn parse_misc_privilege(message: &str) -> Option<&'static str> {
    let after = message.split("missing ").nth(1)?;
    let name = after.split_whitespace().next()?;
    MISC_PRIVILEGES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(known, _)| *known)
}

/// How the security role editor names a miscellaneous privilege.
fn misc_display_name(privilege: &str) -> &str {
    MISC_PRIVILEGES
        .iter()
        .find(|(name, _)| *name == privilege)
        .map_or(privilege, |(_, display)| display)
}

/// `... is missing prvReadincident privilege ... for entity 'incident' ...` → ("Read", "incident").
fn parse_privilege(message: &str) -> Option<(String, String)> {
    let after = message.split("missing prv").nth(1)?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let table = message
        .split("for entity '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_owned);
    const VERBS: [&str; 8] = [
        "AppendTo", "Append", "Create", "Read", "Write", "Delete", "Assign", "Share",
    ];
    let verb = VERBS.iter().find(|verb| name.starts_with(*verb))?;
    let table = table.unwrap_or_else(|| name[verb.len()..].to_owned());
    Some(((*verb).to_owned(), table))
}

impl Error {
    /// Decodes the Dataverse conditions every call can hit (application user, privileges, state).
    pub(crate) fn from_http(error: crosswalk_http::Error) -> Error {
        let detail = match &error {
            crosswalk_http::Error::Forbidden { detail, .. }
            | crosswalk_http::Error::Remote { detail, .. }
            | crosswalk_http::Error::NotFound { detail, .. } => detail.clone(),
            _ => return Error::Http(error),
        };
        let (code, message) = code_and_message(&detail);
        match code {
            NOT_A_MEMBER_CODE => Error::MissingApplicationUser,
            PRIVILEGE_CODE => match (parse_misc_privilege(message), parse_privilege(message)) {
                (Some(privilege), _) => Error::MissingMiscPrivilege {
                    privilege: privilege.to_owned(),
                },
                (None, Some((privilege, table))) => Error::MissingPrivilege { privilege, table },
                (None, None) => Error::Http(error),
            },
            STATE_CODE => Error::InvalidStateTransition {
                message: message.to_owned(),
            },
            _ if message.contains("not a member of the organization") => {
                Error::MissingApplicationUser
            }
            _ => Error::Http(error),
        }
    }

    /// The Dataverse error code (`0x...`) and message behind an HTTP error, if any.
    pub(crate) fn remote_code(&self) -> Option<(String, String)> {
        match self {
            Error::Http(
                crosswalk_http::Error::Remote { detail, .. }
                | crosswalk_http::Error::Forbidden { detail, .. },
            ) => {
                let (code, message) = code_and_message(detail);
                Some((code.to_owned(), message.to_owned()))
            }
            _ => None,
        }
    }

    /// What an admin sees: the failure and the fix from the connector's troubleshooting guide.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::MissingApplicationUser => UserFacing::new(
                Code::PermissionDenied,
                "The app registration is not an application user of this Dataverse environment.",
            )
            .with_fix("In the Power Platform admin center (https://admin.powerplatform.microsoft.com), open the environment that holds the records, go to Users + permissions > Application users, add an application user for this app registration's client ID and assign it a security role"),
            Error::MissingPrivilege { privilege, table } => UserFacing::new(
                Code::PermissionDenied,
                format!("The application user's security role lacks the {privilege} privilege on the {table} table."),
            )
            .with_fix(format!("In the Power Platform admin center, edit the security role assigned to the application user and grant {privilege} (organization level) on the {table} table")),
            Error::MissingMiscPrivilege { privilege } => {
                let display = misc_display_name(privilege);
                UserFacing::new(
                    Code::PermissionDenied,
                    format!("The application user's security role lacks the {display} privilege ({privilege})."),
                )
                .with_fix(format!("In the Power Platform admin center, edit the security role assigned to the application user and grant {display} ({privilege}) under Miscellaneous privileges"))
            }
            Error::PreconditionFailed { entity_set } => UserFacing::new(
                Code::Conflict,
                format!("A {entity_set} record changed in Dataverse while Crosswalk was updating it."),
            )
            .with_fix("Run the job again; Crosswalk will read the latest version first"),
            Error::ChangeTrackingDisabled { entity_set } => UserFacing::new(
                Code::Validation,
                format!("Change tracking is not enabled for {entity_set}."),
            )
            .with_fix("Enable change tracking on the table in Power Apps (Table properties > Advanced options > Track changes), or let Crosswalk read changes by modification time"),
            Error::FullSyncRequired { entity_set } => UserFacing::new(
                Code::Conflict,
                format!("Dataverse no longer knows the last sync point of {entity_set}."),
            )
            .with_fix("Run a full sync; the next incremental runs will work again"),
            Error::AttachmentTooLarge { size, limit } => UserFacing::new(
                Code::Validation,
                format!("The attachment is {size} bytes; this Dataverse environment accepts at most {limit} bytes."),
            )
            .with_fix("Raise the maximum file size for attachments in the environment's email settings, or leave this file out"),
            Error::InvalidStateTransition { message } => UserFacing::new(
                Code::Validation,
                format!("Dataverse refused the status change: {message}"),
            )
            .with_fix("Check the status mapping: the status reason must belong to the target state, and a closed case, opportunity or lead must be reopened before it is closed again"),
            Error::InvalidArgument { what, value } => {
                UserFacing::new(Code::Validation, format!("{what} \"{value}\" is not valid."))
            }
            Error::Unexpected { route, .. } => UserFacing::new(
                Code::RemoteUnavailable,
                format!("Dataverse sent an unexpected response for {route}."),
            )
            .with_fix("Check that the Organization URL is the Dataverse environment URL, such as https://yourorg.crm.dynamics.com"),
            Error::Http(error) => http_user_facing(error),
        }
    }
}

/// The HTTP layer's message, with fixes specific to a Dataverse connection.
fn http_user_facing(error: &crosswalk_http::Error) -> UserFacing {
    let base = error.user_facing();
    match error {
        crosswalk_http::Error::Unauthorized { .. } => base.with_fix(
            "Check the Tenant ID, Client ID and Client Secret Value (the value, not the secret ID). If they are right, the token audience does not match: the Organization URL must be exactly the environment URL (https://yourorg.crm.dynamics.com), since the token is requested for <organization-url>/.default",
        ),
        crosswalk_http::Error::Forbidden { .. } => base.with_fix(
            "Make sure the environment has an application user for this app registration (Power Platform admin center > Users + permissions > Application users) and that its security role covers the mapped tables and notes",
        ),
        crosswalk_http::Error::Transport { .. }
        | crosswalk_http::Error::InvalidUrl { .. }
        | crosswalk_http::Error::Decode { .. } => base.with_fix(
            "Verify the Organization URL first: it must be the Dataverse environment URL, such as https://yourorg.crm.dynamics.com, without a path",
        ),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privilege_messages_name_privilege_and_table() {
        let message = "Principal user (Id=1, type=8, roleCount=5, privilegeCount=465, accessMode=0), is missing prvAppendToincident privilege (Id=2) on OTC=112 for entity 'incident'. context.Caller=1";
        assert_eq!(
            parse_privilege(message),
            Some(("AppendTo".to_owned(), "incident".to_owned()))
        );
        assert_eq!(
            code_and_message("0x80040220: is missing"),
            ("0x80040220", "is missing")
        );
        assert_eq!(code_and_message("plain text"), ("", "plain text"));
    }

    #[test]
    fn audit_privileges_are_named_as_the_role_editor_shows_them() {
        let message = "Principal user (Id=1, type=8, roleCount=1, privilegeCount=40, accessMode=4), is missing prvReadAuditSummary privilege (Id=2). context.Caller=1";
        assert_eq!(parse_misc_privilege(message), Some("prvReadAuditSummary"));
        // A table privilege is not a miscellaneous one.
        assert_eq!(
            parse_misc_privilege(
                "is missing prvReadincident privilege (Id=2) on OTC=112 for entity 'incident'"
            ),
            None
        );
        let facing = Error::MissingMiscPrivilege {
            privilege: "prvReadAuditSummary".into(),
        }
        .user_facing();
        assert!(facing
            .message
            .contains("View Audit Summary privilege (prvReadAuditSummary)"));
        assert!(facing.fix.unwrap().contains("grant View Audit Summary"));
    }
}
