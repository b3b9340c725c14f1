//! Generated Dataverse environment: metadata and records.

use crate::Size;

/// The generated Dataverse seed (filled in by the Dataverse work).
#[derive(Debug, Default, Clone)]
pub struct DataverseSeed {}

/// Generates the Dataverse environment for `size` from `seed`.
pub fn generate(_size: Size, _seed: u64) -> DataverseSeed {
    DataverseSeed::default()
}
