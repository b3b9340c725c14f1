//! Comments with ADF bodies and comment properties (§B.8).

use crate::issues::entity_properties;
use crate::models::{Comment, CommentPage};
use crate::{seg, with_query, JiraClient, Result};
use crosswalk_http::{Method, RequestSpec, StatusCode};
use serde::Deserialize;
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

    /// Adds a comment like [`JiraClient::add_comment`] and sets comment `properties` (key →
    /// JSON value) in the same request (§B.8), so a comment this tool wrote is always marked:
    /// after a crash, [`JiraClient::comment_property`] tells whether it was already written.
    ///
    /// Jira's answer does not list the properties, so the returned `Comment::properties` holds
    /// the ones sent.
    ///
    /// # Errors
    /// As `add_comment`; `Error::FieldErrors` also for a property key over 255 characters or a
    /// value over 32768 characters of JSON.
    pub async fn add_comment_with_properties(
        &self,
        key_or_id: &str,
        body: Value,
        properties: &[(&str, Value)],
    ) -> Result<Comment> {
        let route = "/rest/api/3/issue/{key}/comment";
        let mut request = json!({ "body": body });
        if !properties.is_empty() {
            request["properties"] = entity_properties(properties);
        }
        let spec = RequestSpec::new(
            Method::POST,
            route,
            format!("/rest/api/3/issue/{}/comment", seg(key_or_id)),
        )
        .json(&request);
        let mut comment: Comment = self.write(route, spec).await?.json()?;
        if comment.properties.is_empty() {
            comment.properties = properties
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.clone()))
                .collect();
        }
        Ok(comment)
    }

    /// A comment property's JSON value, or `None` when it is not set (§B.8; Jira answers 404,
    /// as it also does for a comment that is gone or hidden).
    ///
    /// # Errors
    /// Any other `Error::Http`.
    pub async fn comment_property(
        &self,
        comment_id: &str,
        property_key: &str,
    ) -> Result<Option<Value>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            value: Value,
        }
        let spec = RequestSpec::get(
            "/rest/api/3/comment/{commentId}/properties/{propertyKey}",
            format!(
                "/rest/api/3/comment/{}/properties/{}",
                seg(comment_id),
                seg(property_key)
            ),
        )
        .allow_status(StatusCode::NOT_FOUND);
        let response = self.send(spec).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(response.json::<Answer>()?.value))
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
