//! The Dynamics 365 connector: Smart Connected Items linking Dataverse records and Jira issues.
//!
//! For: the `dynamics-item` job kind (one job per item). A run polls both sides (Dataverse
//! change tracking or `modifiedon`, Jira JQL on `updated`), auto-creates issues for new records,
//! carries mapped fields one or both ways, status (Case close/cancel through their actions),
//! comments and attachments, and never echoes its own writes back: each copy is journaled in the
//! store before it is written and recognised afterwards.
//!
//! Not for: HTTP details (crosswalk-jira, crosswalk-dataverse), scheduling and run records
//! (crosswalk-engine), or UI. The model is written down in ARCHITECTURE.md ("Dynamics model").

pub mod convert;
pub mod settings;
pub mod status;

pub use settings::DynamicsItemSettings;

/// The config word of the job kind.
pub const KIND: &str = "dynamics-item";
