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

/// Which remote system a [`RecordMutation`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationSystem {
    Dataverse,
    Jira,
}

/// What a [`RecordMutation`] did to its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordChange {
    /// A new record.
    Created,
    /// These columns / fields were edited.
    Edited { fields: Vec<String> },
    /// A status change: Dataverse `statecode`/`statuscode` (e.g. `"1/5"`), Jira status name.
    StatusChanged { to: String },
    /// A note (Dataverse `annotation`, which is the mutation's record) on `regarding`.
    NoteAdded { regarding: String },
    /// A comment (its id) on the Jira issue.
    Commented { comment_id: String },
    /// The record was deleted.
    Deleted,
}

/// One change made "from the other side" to a Dataverse row or a Jira issue, as a user would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMutation {
    pub system: MutationSystem,
    /// Dataverse table logical name (`incident`, `annotation`) or Jira project key.
    pub table: String,
    /// Dataverse row id or Jira issue key.
    pub id: String,
    pub change: RecordChange,
}

/// The next kind (0..10) of a mutation stream: each run of ten draws is a seeded shuffle of
/// 0..10, so every kind of change shows up in every ten mutations, in a seed-dependent order.
pub(crate) fn next_kind(rng: &mut rand::rngs::StdRng, deck: &mut Vec<u32>) -> u32 {
    use rand::seq::SliceRandom;
    if deck.is_empty() {
        deck.extend(0..10);
        deck.shuffle(rng);
    }
    deck.pop().expect("refilled")
}
