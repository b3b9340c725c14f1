//! Generated Jira site and Assets workspace.

use crate::Size;

/// The generated Jira/Assets seed (filled in by the Jira/Assets work).
#[derive(Debug, Default, Clone)]
pub struct JiraSeed {}

/// Generates the Jira site for `size` from `seed`.
pub fn generate(_size: Size, _seed: u64) -> JiraSeed {
    JiraSeed::default()
}
