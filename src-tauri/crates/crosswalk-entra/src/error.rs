//! Entra Sync's errors: the client and store failures it passes on, plus its own (settings,
//! connections, schema conflicts), each with the admin-facing message and fix.

use crosswalk_core::{Code, UserFacing};

/// Result of the sync's own functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an Entra Sync run (or a step of it) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the job settings are not valid: {0}")]
    Settings(String),
    #[error("connection \"{0}\" does not exist")]
    NoConnection(String),
    #[error(
        "connection \"{name}\" is a {found} connection; the job needs a {expected} connection"
    )]
    WrongConnection {
        name: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error(transparent)]
    Graph(#[from] crosswalk_graph::Error),
    #[error(transparent)]
    Assets(#[from] crosswalk_assets::Error),
    #[error(transparent)]
    Store(#[from] crosswalk_store::Error),
    /// A type with one of our names exists in the schema but was not made by Crosswalk.
    #[error("object schema \"{schema}\" already has an object type \"{type_name}\" that Crosswalk did not create")]
    TypeConflict { schema: String, type_name: String },
    /// An attribute with the name we need exists with another data type.
    #[error("attribute \"{attribute}\" of object type \"{type_name}\" holds {found}; Crosswalk writes {expected} there")]
    AttributeConflict {
        type_name: String,
        attribute: String,
        found: String,
        expected: String,
    },
}

impl Error {
    /// What the admin sees: one sentence and the fix.
    pub fn user_facing(&self) -> UserFacing {
        match self {
            Error::Settings(_) => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix("Edit the job (console › Jobs, or the config file) and correct the fields named"),
            Error::NoConnection(name) => UserFacing::new(Code::NotFound, format!("{self}."))
                .with_fix(format!("Add a connection named \"{name}\" or pick an existing one in the job's settings (`crosswalk connection list`)")),
            Error::WrongConnection { expected, .. } => UserFacing::new(Code::Validation, format!("{self}."))
                .with_fix(format!("Pick a {expected} connection in the job's settings")),
            Error::Graph(error) => error.user_facing(),
            Error::Assets(error) => error.user_facing(),
            Error::Store(error) => error.user_facing(),
            Error::TypeConflict { schema, type_name } => UserFacing::new(Code::Conflict, format!("{self}."))
                .with_fix(format!("Use a dedicated object schema for Crosswalk (recommended: a new schema such as \"Entra ID\"), or rename the existing type \"{type_name}\" in \"{schema}\"")),
            Error::AttributeConflict { attribute, type_name, .. } => UserFacing::new(Code::Conflict, format!("{self}."))
                .with_fix(format!("Rename or delete the attribute \"{attribute}\" on \"{type_name}\" in Assets, or map the property to another attribute name in the job's settings")),
        }
    }
}

/// Our error as the admin-facing one the engine records for the run.
pub(crate) fn facing(error: impl Into<Error>) -> anyhow::Error {
    anyhow::Error::new(error.into().user_facing())
}
