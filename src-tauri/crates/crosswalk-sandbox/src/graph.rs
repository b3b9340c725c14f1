//! Microsoft Graph v1.0 (api/microsoft.md §B-E). Being written.

use crate::generator::directory::Directory;
use crate::world::World;
use axum::Router;
use std::sync::Arc;

/// Graph's state: the directory and delta bookkeeping.
#[derive(Debug)]
pub struct GraphState {
    pub directory: Directory,
}

impl GraphState {
    /// State over a generated directory.
    pub fn new(directory: Directory) -> GraphState {
        GraphState { directory }
    }
}

/// Graph's router.
pub fn router() -> Router<Arc<World>> {
    Router::new()
}

/// Graph's OData error body (api/microsoft.md §E).
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let id = crate::identity::uuid_like();
    serde_json::json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": { "date": date, "request-id": id, "client-request-id": id }
        }
    })
}
