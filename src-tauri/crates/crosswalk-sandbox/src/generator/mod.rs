//! The data generator: a plausible, deterministic world (same size + seed → same data) for
//! every remote system, plus the mutation stream that changes it run after run.

pub mod dataverse;
pub mod directory;
pub mod jira;

use crate::Size;

/// Everything generated for one sandbox.
pub struct Generated {
    pub directory: directory::Directory,
    pub jira: jira::JiraSeed,
    pub dataverse: dataverse::DataverseSeed,
}

/// Generates the world for `size` from `seed`.
pub fn generate(size: Size, seed: u64) -> Generated {
    Generated {
        directory: directory::generate(size, seed),
        jira: jira::generate(size, seed),
        dataverse: dataverse::generate(size, seed),
    }
}
