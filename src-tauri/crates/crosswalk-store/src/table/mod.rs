//! One module per table: its row type, its SQL, and its methods on `Store`.

pub(crate) mod connections;
pub(crate) mod cursors;
pub(crate) mod jobs;
pub(crate) mod link_items;
pub(crate) mod links;
pub(crate) mod object_map;
pub(crate) mod run_events;
pub(crate) mod runs;
pub(crate) mod settings;

/// What an idempotent save did, so callers can report "3 created, 1 unchanged".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// No row had that name.
    Created,
    /// The row existed and differed.
    Updated,
    /// The row existed and was identical; nothing was written.
    Unchanged,
}
