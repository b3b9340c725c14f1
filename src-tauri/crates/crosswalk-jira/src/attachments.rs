//! Attachments (§B.10): multipart upload with the XSRF opt-out, the size limit, download, delete.
//! Files can come from and go to a `Spool` (a temporary file), so a large one is streamed
//! rather than held in memory.

use crate::models::{Attachment, AttachmentMeta};
use crate::{permission, seg, Error, JiraClient, Result};
use crosswalk_http::header::{HeaderName, HeaderValue};
use crosswalk_http::{transfer_deadline, BodyPart, Method, RequestSpec, Spool, StatusCode};

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
        let boundary = boundary(Some(&content));
        self.upload(
            key_or_id,
            filename,
            mime_type,
            boundary,
            BodyPart::Bytes(content),
        )
        .await
    }

    /// Uploads one file like [`JiraClient::add_attachment`], streamed from `content` a chunk at
    /// a time (with its length), so even a file at the site's limit is never in memory whole.
    ///
    /// # Errors
    /// As `add_attachment`.
    pub async fn add_attachment_from(
        &self,
        key_or_id: &str,
        filename: &str,
        mime_type: &str,
        content: &Spool,
    ) -> Result<Attachment> {
        let part = BodyPart::Spool(content.clone());
        self.upload(key_or_id, filename, mime_type, boundary(None), part)
            .await
    }

    async fn upload(
        &self,
        key_or_id: &str,
        filename: &str,
        mime_type: &str,
        boundary: String,
        content: BodyPart,
    ) -> Result<Attachment> {
        let size = match &content {
            BodyPart::Bytes(bytes) => bytes.len() as u64,
            BodyPart::Spool(spool) => spool.len(),
        };
        let meta = self.attachment_meta().await?;
        if size > meta.upload_limit {
            return Err(Error::AttachmentTooLarge {
                size,
                limit: meta.upload_limit,
            });
        }
        let (head, tail) = multipart_framing(&boundary, filename, mime_type);
        let content_type =
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
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
        .streamed_body(
            content_type,
            vec![BodyPart::Bytes(head), content, BodyPart::Bytes(tail)],
        )
        .timeout(transfer_deadline(size))
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

    /// The file, written to a new spool as it arrives (`redirect=false`, as for
    /// [`JiraClient::download_attachment`]), so a large one is never held in memory; `size`
    /// (the attachment's, from its metadata) sets how long the transfer may take.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown attachment, or `Spool` when the temporary
    /// file cannot be written.
    pub async fn download_attachment_to_spool(
        &self,
        attachment_id: &str,
        size: u64,
    ) -> Result<Spool> {
        const ROUTE: &str = "/rest/api/3/attachment/content/{id}";
        let spool = Spool::new().map_err(|source| crosswalk_http::Error::Spool {
            remote: self.http.remote().to_owned(),
            route: ROUTE,
            source,
        })?;
        let spec = RequestSpec::get(
            ROUTE,
            format!(
                "/rest/api/3/attachment/content/{}?redirect=false",
                seg(attachment_id)
            ),
        )
        .timeout(transfer_deadline(size));
        self.http.download(spec, &spool).await.map_err(permission)?;
        Ok(spool)
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

/// A multipart boundary: random, so no file can hold it by design, and (when the content is at
/// hand) checked against it too.
fn boundary(content: Option<&[u8]>) -> String {
    loop {
        let candidate = format!("crosswalk-{:032x}", rand::random::<u128>());
        let needle = candidate.as_bytes();
        if content.is_none_or(|content| !content.windows(needle.len()).any(|w| w == needle)) {
            return candidate;
        }
    }
}

/// The `multipart/form-data` framing around one part `file`: (before the content, after it).
fn multipart_framing(boundary: &str, filename: &str, mime_type: &str) -> (Vec<u8>, Vec<u8>) {
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
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe_name}\"\r\nContent-Type: {safe_mime}\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    (head.into_bytes(), tail.into_bytes())
}
