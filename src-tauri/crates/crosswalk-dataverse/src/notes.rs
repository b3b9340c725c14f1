//! Notes (`annotation`) with attachments (api/microsoft.md §F.8): one request for small files,
//! the block upload/download messages for large ones, within `organization.maxuploadfilesize`
//! (which counts base64 characters, not file bytes). A file can come from or go to a `Spool`,
//! so only one block of it is in memory at a time.

use crate::error::ATTACHMENT_TOO_BIG_CODE;
use crate::models::{Attachment, ChangedNotes, Etag, Note, NoteWrite, SpooledAttachment};
use crate::{
    check_id, check_name, enc, literal, odata_datetime, DataverseClient, Error, Result, API,
};
use base64::Engine as _;
use crosswalk_http::header::{HeaderValue, IF_NONE_MATCH};
use crosswalk_http::{transfer_deadline, BodyPart, Method, RequestSpec, Spool, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use time::OffsetDateTime;

/// Largest block sent or read in one request (the docs advise ≤ 4 MB); files up to this size
/// go in a single request.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NOTE_SELECT: &str =
    "annotationid,subject,notetext,filename,mimetype,filesize,isdocument,createdon,modifiedon";

/// Length of `n` bytes in base64 (with padding).
fn base64_len(n: u64) -> u64 {
    n.div_ceil(3) * 4
}

/// An `UploadBlock` body written straight from the block, so its base64 exists once: in the
/// body itself.
fn upload_block_body(block_id: &str, block: &[u8], token: &str) -> Vec<u8> {
    let head = format!(
        "{{\"BlockId\":{},\"FileContinuationToken\":{},\"BlockData\":\"",
        Value::from(block_id),
        Value::from(token)
    );
    let mut body = String::with_capacity(head.len() + base64_len(block.len() as u64) as usize + 2);
    body.push_str(&head);
    B64.encode_string(block, &mut body);
    body.push_str("\"}");
    body.into_bytes()
}

/// A file for a note, as `write_note` takes it: in memory or in a spool.
struct NoteFile<'a> {
    filename: &'a str,
    mimetype: &'a str,
    content: Content<'a>,
}

enum Content<'a> {
    Bytes(&'a [u8]),
    Spool(&'a Spool),
}

impl Content<'_> {
    fn len(&self) -> u64 {
        match self {
            Content::Bytes(bytes) => bytes.len() as u64,
            Content::Spool(spool) => spool.len(),
        }
    }
}

/// A `DownloadBlock` answer, its base64 borrowed from the response (it has no escapes).
#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "Data", borrow)]
    data: Cow<'a, str>,
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
                attachment.map(in_memory),
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
            entity_set,
            record_id,
            note_id,
            subject,
            text,
            attachment.map(in_memory),
            true,
        )
        .await
    }

    /// [`DataverseClient::create_note_with_id`] for a file in a spool: read and sent a block at
    /// a time, so even a file at the environment's limit is never in memory whole.
    ///
    /// # Errors
    /// As `create_note_with_id`; `Http(Spool)` when the spool cannot be read.
    pub async fn create_note_with_id_from_spool(
        &self,
        entity_set: &str,
        record_id: &str,
        note_id: &str,
        subject: &str,
        text: &str,
        file: &SpooledAttachment,
    ) -> Result<NoteWrite> {
        let file = NoteFile {
            filename: &file.filename,
            mimetype: &file.mimetype,
            content: Content::Spool(&file.content),
        };
        self.write_note(
            entity_set,
            record_id,
            note_id,
            subject,
            text,
            Some(file),
            true,
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
        attachment: Option<NoteFile<'_>>,
        may_exist: bool,
    ) -> Result<NoteWrite> {
        const ROUTE: &str = "/api/data/v9.2/annotations({id})";
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
        let size = attachment.content.len();
        let limit = self.max_upload_file_size().await?;
        let too_large = || Error::AttachmentTooLarge {
            size,
            limit: limit / 4 * 3,
        };
        if base64_len(size) > limit {
            return Err(too_large());
        }
        fields.insert("filename".into(), json!(attachment.filename));
        fields.insert("mimetype".into(), json!(attachment.mimetype));
        fields.insert("isdocument".into(), json!(true));
        let result = if size <= BLOCK_SIZE as u64 {
            let bytes = self
                .block(&attachment.content, 0, BLOCK_SIZE, ROUTE)
                .await?;
            fields.insert("documentbody".into(), json!(B64.encode(&bytes)));
            drop(bytes);
            self.create_note_only(&note_id, fields).await
        } else if may_exist && self.note_exists(&note_id).await? {
            Ok(NoteWrite::AlreadyExisted { id: note_id })
        } else {
            self.upload_blocks(&note_id, fields, &attachment.content)
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

    /// Up to `len` bytes of a note's file from `offset`: borrowed from memory, or read from its
    /// spool (only this block is then in memory).
    async fn block<'a>(
        &self,
        content: &Content<'a>,
        offset: u64,
        len: usize,
        route: &'static str,
    ) -> Result<Cow<'a, [u8]>> {
        match content {
            Content::Bytes(bytes) => {
                let start = usize::try_from(offset)
                    .unwrap_or(bytes.len())
                    .min(bytes.len());
                let end = start.saturating_add(len).min(bytes.len());
                Ok(Cow::Borrowed(&bytes[start..end]))
            }
            Content::Spool(spool) => spool
                .read_at(offset, len)
                .await
                .map(Cow::Owned)
                .map_err(|source| self.spool_error(route, source)),
        }
    }

    fn spool_error(&self, route: &'static str, source: std::io::Error) -> Error {
        Error::Http(crosswalk_http::Error::Spool {
            remote: self.http.remote().to_owned(),
            route,
            source,
        })
    }

    /// Initialize, upload each block, commit, for the note `annotation_id` (§F.8).
    async fn upload_blocks(
        &self,
        annotation_id: &str,
        mut target: Map<String, Value>,
        content: &Content<'_>,
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
        let total = content.len();
        let mut offset = 0;
        while offset < total {
            let id = block_id(block_ids.len());
            let chunk = self.block(content, offset, BLOCK_SIZE, BLOCK).await?;
            if chunk.is_empty() {
                return Err(unexpected(BLOCK, "the file ended before its length"));
            }
            offset += chunk.len() as u64;
            let body = upload_block_body(&id, &chunk, &token);
            drop(chunk);
            // Streamed from the one body, so no attempt copies it; sending the same block again
            // only overwrites it, so retries are safe.
            let deadline = transfer_deadline(body.len() as u64);
            let spec = RequestSpec::new(Method::POST, BLOCK, format!("{API}/UploadBlock"))
                .streamed_body(
                    HeaderValue::from_static("application/json"),
                    vec![BodyPart::Bytes(body)],
                )
                .timeout(deadline)
                .idempotent(true);
            self.send(spec).await?;
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

    /// A note's attachment in memory: [`DataverseClient::download_note_attachment_to_spool`]
    /// read back whole, for files small enough to hold.
    ///
    /// # Errors
    /// As `download_note_attachment_to_spool`.
    pub async fn download_note_attachment(&self, id: &str) -> Result<Attachment> {
        const ROUTE: &str = "/api/data/v9.2/annotations({id})";
        let file = self.download_note_attachment_to_spool(id).await?;
        let bytes = file
            .content
            .to_vec()
            .await
            .map_err(|source| self.spool_error(ROUTE, source))?;
        Ok(Attachment {
            filename: file.filename,
            mimetype: file.mimetype,
            bytes,
        })
    }

    /// A note's attachment, written to a new spool a block at a time: `documentbody/$value` for
    /// small files, the block download (blocks of [`BLOCK_SIZE`]) for large ones, so only one
    /// block is ever in memory.
    ///
    /// # Errors
    /// `Http(NotFound)` when the note does not exist; `Unexpected` when it has no attachment;
    /// `Http(Spool)` when the temporary file cannot be written.
    pub async fn download_note_attachment_to_spool(&self, id: &str) -> Result<SpooledAttachment> {
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
        let spool = Spool::new().map_err(|source| self.spool_error(ROUTE_NOTE, source))?;
        if size <= BLOCK_SIZE as u64 {
            let response = self
                .send(RequestSpec::get(
                    ROUTE_BODY,
                    format!("{API}/annotations({id})/documentbody/$value"),
                ))
                .await?;
            let body: String = response.text().split_whitespace().collect();
            drop(response);
            if body.is_empty() {
                return Err(unexpected(ROUTE_BODY, "the note has no attachment"));
            }
            let bytes = B64
                .decode(body.as_bytes())
                .map_err(|_| unexpected(ROUTE_BODY, "the attachment is not valid base64"))?;
            drop(body);
            spool
                .append(bytes)
                .await
                .map_err(|source| self.spool_error(ROUTE_BODY, source))?;
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
            while spool.len() < total {
                let response = self
                    .send(
                        RequestSpec::new(Method::POST, BLOCK, format!("{API}/DownloadBlock"))
                            .json(&json!({
                                "Offset": spool.len(),
                                "BlockLength": BLOCK_SIZE,
                                "FileContinuationToken": token,
                            }))
                            // A block answers in base64: a third larger than the block.
                            .timeout(transfer_deadline(BLOCK_SIZE as u64 * 4 / 3))
                            .idempotent(true),
                    )
                    .await?;
                let chunk = {
                    let block: Block<'_> = serde_json::from_slice(response.body())
                        .map_err(|_| unexpected(BLOCK, "no Data in the block"))?;
                    B64.decode(block.data.as_bytes())
                        .map_err(|_| unexpected(BLOCK, "the block is not valid base64"))?
                };
                drop(response);
                if chunk.is_empty() {
                    return Err(unexpected(BLOCK, "the download ended before the file did"));
                }
                spool
                    .append(chunk)
                    .await
                    .map_err(|source| self.spool_error(BLOCK, source))?;
            }
        }
        Ok(SpooledAttachment {
            filename,
            mimetype,
            content: spool,
        })
    }
}

/// An in-memory attachment as `write_note` takes it.
fn in_memory(attachment: &Attachment) -> NoteFile<'_> {
    NoteFile {
        filename: &attachment.filename,
        mimetype: &attachment.mimetype,
        content: Content::Bytes(&attachment.bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_block_body_is_the_json_the_docs_show() {
        let body = upload_block_body(&block_id(3), b"any bytes", "token \"with\" quotes");
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "BlockId": block_id(3),
                "BlockData": B64.encode(b"any bytes"),
                "FileContinuationToken": "token \"with\" quotes",
            })
        );
    }

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
