//! Crosswalk's own vocabulary: ids, connection and job configuration, schedules, run outcomes,
//! the error codes the UI reacts to, and the clock.
//!
//! Everything here is plain data plus validation. No I/O, no async, no remote vocabulary: the
//! client crates speak Graph/Jira/Dataverse, the engine translates into these types. Tested with
//! unit tests next to the code.

pub mod check;
pub mod clock;
pub mod code;
pub mod connection;
pub mod ids;
pub mod job;
pub mod run;
pub mod secret;
pub mod validate;

pub use check::{CheckItem, CheckReport, CheckStatus};
pub use clock::{Clock, SystemClock};
pub use code::{Code, UserFacing};
pub use connection::{
    Cloud, CloudEndpoints, ConnectionConfig, ConnectionKind, ConnectionSettings, SecretRef,
};
pub use ids::{ConnectionId, JobId, RunId};
pub use job::{JobConfig, Schedule};
pub use run::{EventLevel, RunCounts, RunStatus, Trigger};
pub use secret::Secret;
pub use validate::ValidationError;
