//! Jira Service Management Assets REST (api/atlassian.md §D). Being written.

use crate::generator::jira::JiraSeed;
use crate::world::World;
use crate::SandboxUrls;
use axum::Router;
use std::sync::Arc;

/// The Assets workspace's state.
#[derive(Debug, Default)]
pub struct AssetsState {}

impl AssetsState {
    /// State over a generated workspace.
    pub fn new(_seed: &JiraSeed, _urls: &SandboxUrls) -> AssetsState {
        AssetsState::default()
    }
}

/// Assets' router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
}
