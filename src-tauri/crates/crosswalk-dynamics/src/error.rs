//! The connector's errors: the client and store failures it passes on, plus its own (settings,
//! connections, scope), each with the admin-facing message and fix.

use crosswalk_core::{Code, UserFacing};

/// Result of the connector's own functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a Smart Connected Item run (or one of its steps) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the item's settings are not valid: {0}")]
    Settings(String),
    #[error("connection \"{0}\" does not exist")]
    NoConnection(String),
    #[error(
        "connection \"{name}\" is a {found} connection; the item needs a {expected} connection"
    )]
    WrongConnection {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(transparent)]
    Jira(#[from] crosswalk_jira::Error),
    #[error(transparent)]
    Dataverse(#[from] crosswalk_dataverse::Error),
    #[error(transparent)]
    Store(#[from] crosswalk_store::Error),
    /// A mapped column the table does not have.
    #[error("table \"{table}\" has no column \"{column}\"")]
    NoColumn { table: String, column: String },
    /// A mapped field the issue type does not have.
    #[error(
        "Jira field \"{field}\" is not on the create screen of {project} / issue type {issue_type}"
    )]
    NoField {
        field: String,
        project: String,
        issue_type: String,
    },
    /// The project does not exist, or the connection's account cannot browse it.
    #[error("Jira project {0} does not exist or the connection's account cannot see it")]
    NoProject(String),
    /// The issue type is not in the project.
    #[error("project {project} has no issue type with id {issue_type}")]
    NoIssueType { project: String, issue_type: String },
    /// Linking a record or issue that another link already holds.
    #[error("{0}")]
    AlreadyLinked(String),
    /// Linking an issue outside the item's project and issue type (polls would never read it).
    #[error("{message}")]
    OutOfScope {
        message: String,
        project: String,
        issue_type: String,
    },
    /// Unlinking an auto-managed link (the automation owns it, as in the seed).
    #[error("the link of {key} was made by auto-create and cannot be removed by hand")]
    AutoManaged { key: String },
}

impl Error {
    /// What the admin sees: one sentence and the fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Settings(_) => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix("Edit the item (console › Jobs, or the config file) and correct the fields named"),
            Error::NoConnection(name) => UserFacing::new(Code::NotFound, format!("{self}."))
                .with_fix(format!("Add a connection named \"{name}\" or pick an existing one in the item's settings (`crosswalk connection list`)")),
            Error::WrongConnection { expected, .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix(format!("Pick a {expected} connection in the item's settings")),
            Error::Jira(error) => error.user_facing(),
            Error::Dataverse(error) => error.user_facing(),
            Error::Store(error) => error.user_facing(),
            Error::NoColumn { table, .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix(format!("Remove the mapping or pick a column of \"{table}\" in the item's field mappings (the editor lists them)")),
            Error::NoField { .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix("Add the field to the issue type's create screen in Jira (Project settings › Issue types), or remove the mapping"),
            Error::NoProject(_) => UserFacing::new(Code::NotFound, format!("{self}."))
                .with_fix("Pick an existing project in the item's settings, or have a Jira admin grant the connection's account Browse projects on it"),
            Error::NoIssueType { project, .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix(format!("Pick one of {project}'s issue types in the item's settings")),
            Error::AlreadyLinked(_) => UserFacing::new(Code::Conflict, format!("{self}."))
                .with_fix("Unlink the existing link first, or pick another record or issue"),
            Error::OutOfScope { project, issue_type, .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix(format!("Pick an issue of project {project} with issue type {issue_type} (the search lists only those), or make an item for the other project or issue type")),
            Error::AutoManaged { .. } => UserFacing::new(Code::Conflict, format!("{self}."))
                .with_fix("Auto-managed links stay while the item exists; turn auto-create off or delete the item to end them"),
        }
    }
}

/// Our error as the admin-facing one the engine records for the run.
pub(crate) fn facing(error: impl Into<Error>) -> anyhow::Error {
    anyhow::Error::new(error.into().user_facing())
}
