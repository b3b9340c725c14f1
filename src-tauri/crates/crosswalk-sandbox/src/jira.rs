//! Jira Cloud platform REST v3 (api/atlassian.md §A-C, E). Being written.

use crate::generator::jira::JiraSeed;
use crate::world::World;
use crate::SandboxUrls;
use axum::Router;
use std::sync::Arc;

/// The Jira site's state.
#[derive(Debug, Default)]
pub struct JiraState {}

impl JiraState {
    /// State over a generated site.
    pub fn new(_seed: &JiraSeed, _urls: &SandboxUrls) -> JiraState {
        JiraState::default()
    }
}

/// Jira's router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
}
