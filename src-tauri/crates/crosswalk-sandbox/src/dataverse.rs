//! Dataverse Web API v9.2 (api/microsoft.md §F). Being written.

use crate::generator::dataverse::DataverseSeed;
use crate::world::World;
use crate::SandboxUrls;
use axum::Router;
use std::sync::Arc;

/// The Dataverse environment's state.
#[derive(Debug, Default)]
pub struct DataverseState {}

impl DataverseState {
    /// State over a generated environment.
    pub fn new(_seed: DataverseSeed, _urls: &SandboxUrls) -> DataverseState {
        DataverseState::default()
    }
}

/// Dataverse's router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
}
