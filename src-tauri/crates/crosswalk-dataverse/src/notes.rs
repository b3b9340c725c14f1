//! Notes (`annotation`) with attachments (api/microsoft.md §F.8): one request for small files,
//! the block upload/download messages for large ones, within `organization.maxuploadfilesize`
//! (which counts base64 characters, not file bytes).

use crate::error::ATTACHMENT_TOO_BIG_CODE;
use crate::models::{Attachment, ChangedNotes, Etag, Note, NoteWrite};
use crate::{
    check_id, check_name, enc, literal, odata_datetime, DataverseClient, Error, Result, API,
};
use base64::Engine as _;
use crosswalk_http::header::{HeaderValue, IF_NONE_MATCH};
use crosswalk_http::{Method, RequestSpec, StatusCode};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

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

/// A random version-4 GUID, for a note created without a caller-chosen id.
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

    /// Every note on records of the table `table_logical_name` (e.g. `incident`) modified after
    /// `since` (all of them when `None`), oldest change first, with the id of the record each
    /// note regards: `$filter=objecttypecode eq '<table>' and modifiedon gt <time>` on
    /// `annotations`, every page read; with Dataverse's clock at the first page.
    ///
    /// `modifiedon` has whole seconds and `since` is cut to whole seconds, so read with an
    /// overlap and skip notes already seen. Deleted notes do not show up here.
    ///
    /// # Errors
    /// `MissingPrivilege` without Read on `annotation`.
    pub async fn notes_changed_since(
        &self,
        table_logical_name: &str,
        since: Option<OffsetDateTime>,
    ) -> Result<ChangedNotes> {
        const ROUTE: &str = "/api/data/v9.2/annotations";
        check_name("table name", table_logical_name)?;
        // On annotations `objecttypecode` is the regarded table's logical name (Edm.String).
        let mut filter = format!("objecttypecode eq {}", literal(table_logical_name));
        if let Some(since) = since {
            filter.push_str(&format!(" and modifiedon gt {}", odata_datetime(since)));
        }
        let mut target = format!(
            "{API}/annotations?$select={NOTE_SELECT},_objectid_value&$filter={}&$orderby={}",
            enc(&filter),
            enc("modifiedon asc")
        );
        let mut changed = ChangedNotes {
            notes: Vec::new(),
            server_time: None,
        };
        loop {
            let response = self.send(RequestSpec::get(ROUTE, target)).await?;
            changed.server_time = changed.server_time.or(response.date());
            let value: Value = response.json()?;
            let items = value
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(ROUTE, "the answer has no value array"))?;
            for item in items.iter().filter_map(Value::as_object) {
                let Some(regarding) = item.get("_objectid_value").and_then(Value::as_str) else {
                    continue;
                };
                changed
                    .notes
                    .push((regarding.to_ascii_lowercase(), note(item)));
            }
            match value.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) => target = next.to_owned(),
                None => return Ok(changed),
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
        // A fresh random id cannot exist yet, so no need to look for it first.
        let written = self
            .write_note(
                entity_set,
                id,
                &new_guid(),
                subject,
                text,
                attachment,
                false,
            )
            .await?;
        Ok(written.id().to_owned())
    }

    /// Creates a note under `note_id`, chosen by the caller (a GUID), on the record `record_id`
    /// of `entity_set`, unless a note with that id exists already: then nothing is written and
    /// the answer is `NoteWrite::AlreadyExisted`. Retrying with the same id after a crash or a
    /// lost answer therefore never duplicates the note.
    ///
    /// Small notes are one `PATCH annotations(<id>)` with `If-None-Match: *`, which only creates
    /// (412 when the id exists, §F.10). Attachments over [`BLOCK_SIZE`] go through the block
    /// upload, which would update an existing note of that id (§F.8), so the id is looked up
    /// first.
    ///
    /// # Errors
    /// `InvalidArgument` when `note_id` is not a GUID; `AttachmentTooLarge` when the file
    /// exceeds the environment's `maxuploadfilesize` (checked before uploading);
    /// `MissingPrivilege` without Create on `annotation`.
    pub async fn create_note_with_id(
        &self,
        entity_set: &str,
        record_id: &str,
        note_id: &str,
        subject: &str,
        text: &str,
        attachment: Option<&Attachment>,
    ) -> Result<NoteWrite> {
        self.write_note(
            entity_set, record_id, note_id, subject, text, attachment, true,
        )
        .await
    }

    /// Deletes a note; a note that is already gone counts as deleted.
    ///
    /// # Errors
    /// `MissingPrivilege` without Delete on `annotation`.
    pub async fn delete_note(&self, id: &str) -> Result<()> {
        const ROUTE: &str = "/api/data/v9.2/annotations({id})";
        check_id(id)?;
        self.send(
            RequestSpec::new(Method::DELETE, ROUTE, format!("{API}/annotations({id})"))
                .allow_status(StatusCode::NOT_FOUND),
        )
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_note(
        &self,
        entity_set: &str,
        record_id: &str,
        note_id: &str,
        subject: &str,
        text: &str,
        attachment: Option<&Attachment>,
        may_exist: bool,
    ) -> Result<NoteWrite> {
        check_id(record_id)?;
        check_id(note_id)?;
        let note_id = note_id.to_ascii_lowercase();
        let table = self.table_by_set(entity_set).await?;
        let mut fields = Map::new();
        fields.insert("subject".into(), json!(subject));
        fields.insert("notetext".into(), json!(text));
        fields.insert(
            format!("objectid_{}@odata.bind", table.logical_name),
            json!(format!("/{entity_set}({record_id})")),
        );
        let Some(attachment) = attachment else {
            return self.create_note_only(&note_id, fields).await;
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
            self.create_note_only(&note_id, fields).await
        } else if may_exist && self.note_exists(&note_id).await? {
            Ok(NoteWrite::AlreadyExisted { id: note_id })
        } else {
            self.upload_blocks(&note_id, fields, &attachment.bytes)
                .await
                .map(|id| NoteWrite::Created { id })
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

    /// `PATCH annotations(<id>)` with `If-None-Match: *`: an upsert that may only create
    /// (§F.10); 412 means a note with this id exists.
    async fn create_note_only(
        &self,
        note_id: &str,
        fields: Map<String, Value>,
    ) -> Result<NoteWrite> {
        const ROUTE: &str = "/api/data/v9.2/annotations({id})";
        let response = self
            .send(
                RequestSpec::new(
                    Method::PATCH,
                    ROUTE,
                    format!("{API}/annotations({note_id})"),
                )
                .header(IF_NONE_MATCH, HeaderValue::from_static("*"))
                .json(&Value::Object(fields))
                // Sent again after a lost answer, it meets its own note: 412, AlreadyExisted.
                .idempotent(true)
                .allow_status(StatusCode::PRECONDITION_FAILED),
            )
            .await?;
        let id = note_id.to_owned();
        Ok(if response.status() == StatusCode::PRECONDITION_FAILED {
            NoteWrite::AlreadyExisted { id }
        } else {
            NoteWrite::Created { id }
        })
    }

    /// Whether a note with this id exists (any note, whatever it regards).
    async fn note_exists(&self, note_id: &str) -> Result<bool> {
        const ROUTE: &str = "/api/data/v9.2/annotations({id})";
        let response = self
            .send(
                RequestSpec::get(
                    ROUTE,
                    format!("{API}/annotations({note_id})?$select=annotationid"),
                )
                .allow_status(StatusCode::NOT_FOUND),
            )
            .await?;
        Ok(response.status() != StatusCode::NOT_FOUND)
    }

    /// Initialize, upload each block, commit, for the note `annotation_id` (§F.8).
    async fn upload_blocks(
        &self,
        annotation_id: &str,
        mut target: Map<String, Value>,
        bytes: &[u8],
    ) -> Result<String> {
        const INIT: &str = "/api/data/v9.2/InitializeAnnotationBlocksUpload";
        const BLOCK: &str = "/api/data/v9.2/UploadBlock";
        const COMMIT: &str = "/api/data/v9.2/CommitAnnotationBlocksUpload";
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
            .map_or_else(|| annotation_id.to_owned(), str::to_ascii_lowercase))
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
