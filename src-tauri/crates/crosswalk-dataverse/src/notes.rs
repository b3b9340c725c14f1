//! Notes (`annotation`) with attachments (api/microsoft.md §F.8): one request for small files,
//! the block upload/download messages for large ones, within `organization.maxuploadfilesize`
//! (which counts base64 characters, not file bytes).

use crate::error::ATTACHMENT_TOO_BIG_CODE;
use crate::models::{Attachment, Etag, Note};
use crate::{check_id, enc, DataverseClient, Error, Result, API};
use base64::Engine as _;
use crosswalk_http::{Method, RequestSpec};
use serde_json::{json, Map, Value};

/// Largest block sent or read in one request (the docs advise ≤ 4 MB); files up to this size
/// go in a single request.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NOTE_SELECT: &str =
    "annotationid,subject,notetext,filename,mimetype,filesize,isdocument,createdon,modifiedon";

/// Length of `n` bytes in base64 (with padding).
fn base64_len(n: usize) -> u64 {
    (n as u64).div_ceil(3) * 4
}

/// A random version-4 GUID, for the `annotationid` the block upload needs.
fn new_guid() -> String {
    let bytes: [u8; 16] = rand::random();
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Block ids: base64 of a zero-padded index, so every id of a file has the same length.
fn block_id(index: usize) -> String {
    B64.encode(format!("block-{index:08}"))
}

fn note(item: &Map<String, Value>) -> Note {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    Note {
        id: text("annotationid").unwrap_or_default(),
        subject: text("subject"),
        text: text("notetext"),
        filename: text("filename"),
        mimetype: text("mimetype"),
        filesize: item.get("filesize").and_then(Value::as_u64),
        is_document: item
            .get("isdocument")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        created_on: text("createdon"),
        modified_on: text("modifiedon"),
        etag: text("@odata.etag").map(Etag),
    }
}

fn unexpected(route: &'static str, detail: &str) -> Error {
    Error::Unexpected {
        route,
        detail: detail.to_owned(),
    }
}

impl DataverseClient {
    /// `organization.maxuploadfilesize`: the largest attachment in base64 characters.
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on `organization`.
    pub async fn max_upload_file_size(&self) -> Result<u64> {
        const ROUTE: &str = "/api/data/v9.2/organizations";
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE,
                format!("{API}/organizations?$select=maxuploadfilesize"),
            ))
            .await?;
        value
            .pointer("/value/0/maxuploadfilesize")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected(ROUTE, "no maxuploadfilesize on the organization"))
    }

    /// Every note regarding a record (oldest first); a record has few, so all pages are read.
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on `annotation`.
    pub async fn list_notes(&self, regarding_id: &str) -> Result<Vec<Note>> {
        const ROUTE: &str = "/api/data/v9.2/annotations";
        check_id(regarding_id)?;
        let filter = format!("_objectid_value eq {regarding_id}");
        let mut target = format!(
            "{API}/annotations?$select={NOTE_SELECT}&$filter={}&$orderby={}",
            enc(&filter),
            enc("createdon asc")
        );
        let mut notes = Vec::new();
        loop {
            let value: Value = self.send_json(RequestSpec::get(ROUTE, target)).await?;
            let items = value
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(ROUTE, "the answer has no value array"))?;
            notes.extend(items.iter().filter_map(Value::as_object).map(note));
            match value.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => target = next.to_owned(),
                None => return Ok(notes),
            }
        }
    }

    /// Creates a note on the record `id` of `entity_set` (e.g. `incidents`), with an optional
    /// attachment: one request up to [`BLOCK_SIZE`], the block upload above. Returns its id.
    ///
    /// # Errors
    /// `AttachmentTooLarge` when the file exceeds the environment's `maxuploadfilesize`
    /// (checked before uploading); `MissingPrivilege` without Create on `annotation`.
    pub async fn create_note(
        &self,
        entity_set: &str,
        id: &str,
        subject: &str,
        text: &str,
        attachment: Option<&Attachment>,
    ) -> Result<String> {
        check_id(id)?;
        let table = self.table_by_set(entity_set).await?;
        let mut fields = Map::new();
        fields.insert("subject".into(), json!(subject));
        fields.insert("notetext".into(), json!(text));
        fields.insert(
            format!("objectid_{}@odata.bind", table.logical_name),
            json!(format!("/{entity_set}({id})")),
        );
        let Some(attachment) = attachment else {
            return self.create("annotations", &Value::Object(fields)).await;
        };
        let limit = self.max_upload_file_size().await?;
        let too_large = || Error::AttachmentTooLarge {
            size: attachment.bytes.len() as u64,
            limit: limit / 4 * 3,
        };
        if base64_len(attachment.bytes.len()) > limit {
            return Err(too_large());
        }
        fields.insert("filename".into(), json!(attachment.filename));
        fields.insert("mimetype".into(), json!(attachment.mimetype));
        fields.insert("isdocument".into(), json!(true));
        let result = if attachment.bytes.len() <= BLOCK_SIZE {
            fields.insert("documentbody".into(), json!(B64.encode(&attachment.bytes)));
            self.create("annotations", &Value::Object(fields)).await
        } else {
            self.upload_blocks(fields, &attachment.bytes).await
        };
        match result {
            Err(error)
                if error
                    .remote_code()
                    .is_some_and(|(code, _)| code == ATTACHMENT_TOO_BIG_CODE) =>
            {
                Err(too_large())
            }
            other => other,
        }
    }

    /// Initialize, upload each block, commit; the note gets a GUID generated here.
    async fn upload_blocks(&self, mut target: Map<String, Value>, bytes: &[u8]) -> Result<String> {
        const INIT: &str = "/api/data/v9.2/InitializeAnnotationBlocksUpload";
        const BLOCK: &str = "/api/data/v9.2/UploadBlock";
        const COMMIT: &str = "/api/data/v9.2/CommitAnnotationBlocksUpload";
        let annotation_id = new_guid();
        target.insert("annotationid".into(), json!(annotation_id));
        target.insert(
            "@odata.type".into(),
            json!("Microsoft.Dynamics.CRM.annotation"),
        );
        let init: Value = self
            .send_json(
                RequestSpec::new(
                    Method::POST,
                    INIT,
                    format!("{API}/InitializeAnnotationBlocksUpload"),
                )
                .json(&json!({ "Target": target })),
            )
            .await?;
        let token = init
            .get("FileContinuationToken")
            .and_then(Value::as_str)
            .ok_or_else(|| unexpected(INIT, "no FileContinuationToken"))?
            .to_owned();
        let mut block_ids = Vec::new();
        for (index, chunk) in bytes.chunks(BLOCK_SIZE).enumerate() {
            let id = block_id(index);
            // Sending the same block again only overwrites it, so retries are safe.
            self.send(
                RequestSpec::new(Method::POST, BLOCK, format!("{API}/UploadBlock"))
                    .json(&json!({
                        "BlockId": id,
                        "BlockData": B64.encode(chunk),
                        "FileContinuationToken": token,
                    }))
                    .idempotent(true),
            )
            .await?;
            block_ids.push(id);
        }
        let commit: Value = self
            .send_json(
                RequestSpec::new(
                    Method::POST,
                    COMMIT,
                    format!("{API}/CommitAnnotationBlocksUpload"),
                )
                .json(&json!({
                    "Target": target,
                    "BlockList": block_ids,
                    "FileContinuationToken": token,
                })),
            )
            .await?;
        Ok(commit
            .get("AnnotationId")
            .and_then(Value::as_str)
            .map_or(annotation_id, str::to_owned))
    }

    /// A note's attachment: `documentbody/$value` for small files, block download for large.
    ///
    /// # Errors
    /// `Http(NotFound)` when the note does not exist; `Unexpected` when it has no attachment.
    pub async fn download_note_attachment(&self, id: &str) -> Result<Attachment> {
        const ROUTE_NOTE: &str = "/api/data/v9.2/annotations({id})";
        const ROUTE_BODY: &str = "/api/data/v9.2/annotations({id})/documentbody/$value";
        const INIT: &str = "/api/data/v9.2/InitializeAnnotationBlocksDownload";
        const BLOCK: &str = "/api/data/v9.2/DownloadBlock";
        check_id(id)?;
        let value: Value = self
            .send_json(RequestSpec::get(
                ROUTE_NOTE,
                format!("{API}/annotations({id})?$select=filename,mimetype,filesize,isdocument"),
            ))
            .await?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (filename, mimetype) = (text("filename"), text("mimetype"));
        let size = value.get("filesize").and_then(Value::as_u64).unwrap_or(0);
        let bytes = if size <= BLOCK_SIZE as u64 {
            let response = self
                .send(RequestSpec::get(
                    ROUTE_BODY,
                    format!("{API}/annotations({id})/documentbody/$value"),
                ))
                .await?;
            let body: String = response.text().split_whitespace().collect();
            if body.is_empty() {
                return Err(unexpected(ROUTE_BODY, "the note has no attachment"));
            }
            B64.decode(body.as_bytes())
                .map_err(|_| unexpected(ROUTE_BODY, "the attachment is not valid base64"))?
        } else {
            let init: Value = self
                .send_json(
                    RequestSpec::new(
                        Method::POST,
                        INIT,
                        format!("{API}/InitializeAnnotationBlocksDownload"),
                    )
                    .json(&json!({"Target": {
                        "annotationid": id,
                        "@odata.type": "Microsoft.Dynamics.CRM.annotation",
                    }}))
                    .idempotent(true),
                )
                .await?;
            let token = init
                .get("FileContinuationToken")
                .and_then(Value::as_str)
                .ok_or_else(|| unexpected(INIT, "no FileContinuationToken"))?
                .to_owned();
            let total = init
                .get("FileSizeInBytes")
                .and_then(Value::as_u64)
                .unwrap_or(size);
            let mut bytes = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
            while (bytes.len() as u64) < total {
                let block: Value = self
                    .send_json(
                        RequestSpec::new(Method::POST, BLOCK, format!("{API}/DownloadBlock"))
                            .json(&json!({
                                "Offset": bytes.len(),
                                "BlockLength": BLOCK_SIZE,
                                "FileContinuationToken": token,
                            }))
                            .idempotent(true),
                    )
                    .await?;
                let data = block
                    .get("Data")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected(BLOCK, "no Data in the block"))?;
                let chunk = B64
                    .decode(data)
                    .map_err(|_| unexpected(BLOCK, "the block is not valid base64"))?;
                if chunk.is_empty() {
                    return Err(unexpected(BLOCK, "the download ended before the file did"));
                }
                bytes.extend_from_slice(&chunk);
            }
            bytes
        };
        Ok(Attachment {
            filename,
            mimetype,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_sizes() {
        assert_eq!(base64_len(0), 0);
        assert_eq!(base64_len(1), 4);
        assert_eq!(base64_len(3), 4);
        assert_eq!(base64_len(4), 8);
        assert_eq!(block_id(1).len(), block_id(12345).len());
        let guid = new_guid();
        assert!(check_id(&guid).is_ok(), "{guid}");
    }
}
