//! Comments with ADF bodies (§B.8).

use crate::models::{Comment, CommentPage};
use crate::{seg, with_query, JiraClient, Result};
use crosswalk_http::{Method, RequestSpec};
use serde_json::{json, Value};

impl JiraClient {
    /// One page of an issue's comments, oldest first.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible issue.
    pub async fn comments(
        &self,
        key_or_id: &str,
        start_at: u64,
        max_results: u32,
    ) -> Result<CommentPage> {
        let (start, max) = (start_at.to_string(), max_results.to_string());
        self.get(
            "/rest/api/3/issue/{key}/comment",
            with_query(
                format!("/rest/api/3/issue/{}/comment", seg(key_or_id)),
                &[
                    ("startAt", &start),
                    ("maxResults", &max),
                    ("orderBy", "created"),
                ],
            ),
        )
        .await
    }

    /// Adds a comment whose `body` is an ADF document (see `adf::from_plain_text`).
    ///
    /// # Errors
    /// `Error::FieldErrors` for an invalid body; `Error::PermissionDenied` without *Add comments*;
    /// `Error::Http` with `Remote` 413 at the per-issue comment limit.
    pub async fn add_comment(&self, key_or_id: &str, body: Value) -> Result<Comment> {
        let route = "/rest/api/3/issue/{key}/comment";
        let spec = RequestSpec::new(
            Method::POST,
            route,
            format!("/rest/api/3/issue/{}/comment", seg(key_or_id)),
        )
        .json(&json!({"body": body}));
        Ok(self.write(route, spec).await?.json()?)
    }

    /// Replaces a comment's ADF `body`.
    ///
    /// # Errors
    /// As `add_comment`, plus `NotFound` for an unknown comment.
    pub async fn update_comment(
        &self,
        key_or_id: &str,
        comment_id: &str,
        body: Value,
    ) -> Result<Comment> {
        let route = "/rest/api/3/issue/{key}/comment/{id}";
        let spec = RequestSpec::new(
            Method::PUT,
            route,
            format!(
                "/rest/api/3/issue/{}/comment/{}",
                seg(key_or_id),
                seg(comment_id)
            ),
        )
        .json(&json!({"body": body}));
        Ok(self.write(route, spec).await?.json()?)
    }

    /// Deletes a comment.
    ///
    /// # Errors
    /// `NotFound` for an unknown comment; Jira answers 400 (`FieldErrors`) or 403 without permission.
    pub async fn delete_comment(&self, key_or_id: &str, comment_id: &str) -> Result<()> {
        let route = "/rest/api/3/issue/{key}/comment/{id}";
        let spec = RequestSpec::new(
            Method::DELETE,
            route,
            format!(
                "/rest/api/3/issue/{}/comment/{}",
                seg(key_or_id),
                seg(comment_id)
            ),
        );
        self.write(route, spec).await?;
        Ok(())
    }
}
