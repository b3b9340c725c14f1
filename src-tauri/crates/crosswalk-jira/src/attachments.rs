//! Attachments (§B.10): multipart upload with the XSRF opt-out, the size limit, download, delete.

use crate::models::{Attachment, AttachmentMeta};
use crate::{seg, Error, JiraClient, Result};
use crosswalk_http::header::{HeaderName, HeaderValue};
use crosswalk_http::{Method, RequestSpec, StatusCode};

impl JiraClient {
    /// Whether attachments are enabled and the per-file upload limit (read once per client).
    ///
    /// # Errors
    /// Any `Error::Http`.
    pub async fn attachment_meta(&self) -> Result<AttachmentMeta> {
        if let Some(meta) = *self.meta_slot() {
            return Ok(meta);
        }
        let meta: AttachmentMeta = self
            .get(
                "/rest/api/3/attachment/meta",
                "/rest/api/3/attachment/meta".into(),
            )
            .await?;
        *self.meta_slot() = Some(meta);
        Ok(meta)
    }

    fn meta_slot(&self) -> std::sync::MutexGuard<'_, Option<AttachmentMeta>> {
        self.attachment_meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Uploads one file to an issue as `multipart/form-data` part `file` with
    /// `X-Atlassian-Token: no-check`; checks the site's limit first so big files cost no upload.
    ///
    /// # Errors
    /// `Error::AttachmentTooLarge` over the limit (checked here, or Jira's 413);
    /// `Error::PermissionDenied` without *Create attachments* or with attachments disabled.
    pub async fn add_attachment(
        &self,
        key_or_id: &str,
        filename: &str,
        mime_type: &str,
        content: Vec<u8>,
    ) -> Result<Attachment> {
        let size = content.len() as u64;
        let meta = self.attachment_meta().await?;
        if size > meta.upload_limit {
            return Err(Error::AttachmentTooLarge {
                size,
                limit: meta.upload_limit,
            });
        }
        let (content_type, body) = multipart_file(filename, mime_type, &content);
        let content_type = HeaderValue::from_str(&content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("multipart/form-data"));
        let spec = RequestSpec::new(
            Method::POST,
            "/rest/api/3/issue/{key}/attachments",
            format!("/rest/api/3/issue/{}/attachments", seg(key_or_id)),
        )
        .header(
            HeaderName::from_static("x-atlassian-token"),
            HeaderValue::from_static("no-check"),
        )
        .body(content_type, body)
        .allow_status(StatusCode::PAYLOAD_TOO_LARGE);
        let response = self.send(spec).await?;
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // The limit changed since it was read, or the issue is at its attachment cap.
            *self.meta_slot() = None;
            let limit = self
                .attachment_meta()
                .await
                .map_or(meta.upload_limit, |meta| meta.upload_limit);
            return Err(Error::AttachmentTooLarge { size, limit });
        }
        let mut created: Vec<Attachment> = response.json()?;
        created.pop().ok_or_else(|| Error::FieldErrors {
            route: "/rest/api/3/issue/{key}/attachments",
            messages: vec!["Jira accepted the upload but returned no attachment".into()],
            errors: Default::default(),
        })
    }

    /// An attachment's metadata.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown attachment.
    pub async fn get_attachment(&self, attachment_id: &str) -> Result<Attachment> {
        self.get(
            "/rest/api/3/attachment/{id}",
            format!("/rest/api/3/attachment/{}", seg(attachment_id)),
        )
        .await
    }

    /// The file's bytes, fetched with `redirect=false` so the credentials never follow a
    /// redirect to the media host (§B.10).
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown attachment.
    pub async fn download_attachment(&self, attachment_id: &str) -> Result<Vec<u8>> {
        let spec = RequestSpec::get(
            "/rest/api/3/attachment/content/{id}",
            format!(
                "/rest/api/3/attachment/content/{}?redirect=false",
                seg(attachment_id)
            ),
        );
        Ok(self.send(spec).await?.into_body())
    }

    /// Deletes an attachment.
    ///
    /// # Errors
    /// `Error::PermissionDenied` without *Delete attachments*; `NotFound`.
    pub async fn delete_attachment(&self, attachment_id: &str) -> Result<()> {
        let spec = RequestSpec::new(
            Method::DELETE,
            "/rest/api/3/attachment/{id}",
            format!("/rest/api/3/attachment/{}", seg(attachment_id)),
        );
        self.send(spec).await?;
        Ok(())
    }
}

/// A `multipart/form-data` body with one part `file`; returns (content type, body).
fn multipart_file(filename: &str, mime_type: &str, content: &[u8]) -> (String, Vec<u8>) {
    let mut salt: u64 = content.len() as u64;
    let boundary = loop {
        let candidate = format!("crosswalk-boundary-{salt:016x}");
        let needle = candidate.as_bytes();
        if !content.windows(needle.len()).any(|window| window == needle) {
            break candidate;
        }
        salt = salt.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    };
    // Quotes and line breaks would end the header early.
    let safe_name: String = filename
        .chars()
        .map(|ch| {
            if matches!(ch, '"' | '\r' | '\n' | '\\') {
                '_'
            } else {
                ch
            }
        })
        .collect();
    let safe_mime = if mime_type.is_empty() || mime_type.contains(['\r', '\n']) {
        "application/octet-stream"
    } else {
        mime_type
    };
    let mut body = Vec::with_capacity(content.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {safe_mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
