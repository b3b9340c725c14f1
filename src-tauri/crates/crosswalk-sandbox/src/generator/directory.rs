//! Generated Entra directory: users, groups, applications, devices, managed devices.

use crate::Size;

/// The generated directory (filled in by the Graph work).
#[derive(Debug, Default, Clone)]
pub struct Directory {}

/// Generates the directory for `size` from `seed`.
pub fn generate(_size: Size, _seed: u64) -> Directory {
    Directory::default()
}
