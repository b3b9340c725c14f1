//! Remote issue links keyed by `globalId` (§B.11) and issue properties (§B.12).

use crate::models::{NewRemoteLink, RemoteLink, RemoteLinkSaved};
use crate::{seg, with_query, JiraClient, Result};
use crosswalk_http::{Method, RequestSpec, StatusCode};
use serde::Deserialize;
use serde_json::Value;

impl JiraClient {
    /// Creates the link, or updates the one with the same `globalId` (omitted fields are nulled).
    ///
    /// # Errors
    /// `Error::FieldErrors` for a missing `object.url`/`title`; `Error::PermissionDenied` when
    /// issue linking is off or the account may not link; `Remote` 413 at the per-issue cap.
    pub async fn upsert_remote_link(
        &self,
        key_or_id: &str,
        link: &NewRemoteLink,
    ) -> Result<RemoteLinkSaved> {
        #[derive(Deserialize)]
        struct Answer {
            id: u64,
        }
        let route = "/rest/api/3/issue/{key}/remotelink";
        let spec = RequestSpec::new(
            Method::POST,
            route,
            format!("/rest/api/3/issue/{}/remotelink", seg(key_or_id)),
        )
        .json(link)
        // The same globalId updates in place, so sending twice is harmless.
        .idempotent(true);
        let response = self.write(route, spec).await?;
        let created = response.status() == StatusCode::CREATED;
        let answer: Answer = response.json()?;
        Ok(RemoteLinkSaved {
            id: answer.id,
            created,
        })
    }

    /// Every remote link on an issue.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible issue.
    pub async fn remote_links(&self, key_or_id: &str) -> Result<Vec<RemoteLink>> {
        self.get(
            "/rest/api/3/issue/{key}/remotelink",
            format!("/rest/api/3/issue/{}/remotelink", seg(key_or_id)),
        )
        .await
    }

    /// The remote link with `global_id`, or `None` (Jira answers 404 for no such link, and also
    /// for a missing or hidden issue).
    ///
    /// # Errors
    /// Any other `Error::Http`.
    pub async fn find_remote_link(
        &self,
        key_or_id: &str,
        global_id: &str,
    ) -> Result<Option<RemoteLink>> {
        let spec = RequestSpec::get(
            "/rest/api/3/issue/{key}/remotelink",
            with_query(
                format!("/rest/api/3/issue/{}/remotelink", seg(key_or_id)),
                &[("globalId", global_id)],
            ),
        )
        .allow_status(StatusCode::NOT_FOUND);
        let response = self.send(spec).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        // The spec's schema is one object, its example an array; accept both.
        if response.body().trim_ascii_start().starts_with(b"[") {
            let links: Vec<RemoteLink> = response.json()?;
            return Ok(links
                .into_iter()
                .find(|link| link.global_id.as_deref() == Some(global_id)));
        }
        Ok(Some(response.json()?))
    }

    /// Deletes the remote link with `global_id` (404 when there is none).
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` when no such link or issue exists.
    pub async fn delete_remote_link(&self, key_or_id: &str, global_id: &str) -> Result<()> {
        let spec = RequestSpec::new(
            Method::DELETE,
            "/rest/api/3/issue/{key}/remotelink",
            with_query(
                format!("/rest/api/3/issue/{}/remotelink", seg(key_or_id)),
                &[("globalId", global_id)],
            ),
        );
        self.send(spec).await?;
        Ok(())
    }

    /// An issue property's JSON value, or `None` when it is not set.
    ///
    /// # Errors
    /// `Error::Http` for other failures (a missing issue also answers 404 and reads as `None`).
    pub async fn issue_property(
        &self,
        key_or_id: &str,
        property_key: &str,
    ) -> Result<Option<Value>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            value: Value,
        }
        let spec = RequestSpec::get(
            "/rest/api/3/issue/{key}/properties/{propertyKey}",
            format!(
                "/rest/api/3/issue/{}/properties/{}",
                seg(key_or_id),
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

    /// Sets an issue property (≤ 32768 characters of JSON); `true` when it was newly created.
    /// Jira is believed not to bump `updated` for this, so JQL polling will not see it (§B.6).
    ///
    /// # Errors
    /// `Error::FieldErrors` for an invalid value or key; `Error::PermissionDenied` without *Edit issues*.
    pub async fn set_issue_property(
        &self,
        key_or_id: &str,
        property_key: &str,
        value: &Value,
    ) -> Result<bool> {
        let route = "/rest/api/3/issue/{key}/properties/{propertyKey}";
        let spec = RequestSpec::new(
            Method::PUT,
            route,
            format!(
                "/rest/api/3/issue/{}/properties/{}",
                seg(key_or_id),
                seg(property_key)
            ),
        )
        .json(value);
        Ok(self.write(route, spec).await?.status() == StatusCode::CREATED)
    }
}
