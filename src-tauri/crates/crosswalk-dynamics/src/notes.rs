//! Comments ↔ notes and attachments ↔ note attachments, both ways, without echoes.
//!
//! Every copy is journaled in `link_items` before it is written: copies to Dataverse get a note
//! id derived from the original (a retry finds the note it already wrote), copies to Jira carry
//! the note's id in a comment property, or are the connector's upload of the file's name and
//! size (a retry finds them by it). The connector's own copies are therefore always known and
//! never copied back, even when a run stopped between writing a copy and recording it, and its
//! "Linked to Jira" note is never a comment.
//!
//! Files travel through a `Spool` (a temporary file): downloaded into it and uploaded from it a
//! block at a time, so a file is never held in memory whole, whatever its size.

use crate::convert::rich;
use crate::create::note_id_for;
use crate::error::Result;
use crate::state::LinkState;
use crate::sync::{parse_stamp, stamp, Changes, Item, CURSOR_NOTES, OVERLAP, PROPERTY};
use crosswalk_dataverse::{Change, DeltaLink, Note, NoteWrite, SpooledAttachment, TrackFrom};
use crosswalk_engine::context::EventAction;
use crosswalk_engine::RunEvent;
use crosswalk_jira::{Attachment, Comment};
use crosswalk_store::{ItemKind, ItemStatus, LinkItem, LinkRow, NewLinkItem, Side};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Cursor: the change-tracking delta link of the Note table (deletions, for mirroring).
pub const CURSOR_NOTES_DELTA: &str = "dataverse.notes.delta";

/// Comments per page when listing an issue's comments.
const COMMENT_PAGE: u32 = 100;

/// FNV-1a of text normalised to plain text, so an HTML note and the ADF comment it was copied
/// from hash the same.
fn text_hash(plain: &str) -> String {
    let normalized: String = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let hash = normalized.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The plain text of a note's text (HTML from the rich-text editor, or plain).
fn note_text_plain(text: &str) -> String {
    if rich::looks_like_html(text) {
        crosswalk_jira::adf::to_plain_text(&rich::html_to_adf(text))
    } else {
        text.to_owned()
    }
}

fn note_plain(note: &Note) -> String {
    note_text_plain(note.text.as_deref().unwrap_or_default())
}

/// An item's hashes: `<jira copy>:<dataverse copy>`, each of the text as that side holds it,
/// so an edit is noticed on whichever side it happens and the copy never looks edited.
fn pair(jira_plain: &str, dataverse_plain: &str) -> String {
    format!("{}:{}", text_hash(jira_plain), text_hash(dataverse_plain))
}

fn jira_part(hash: &str) -> &str {
    hash.split(':').next().unwrap_or_default()
}

fn dataverse_part(hash: &str) -> &str {
    hash.split(':').nth(1).unwrap_or_default()
}

fn comment_plain(comment: &Comment) -> String {
    crosswalk_jira::adf::to_plain_text(&comment.body)
}

fn author_name(comment: &Comment) -> String {
    comment
        .author
        .as_ref()
        .map_or_else(|| "someone".to_owned(), |a| a.display_name.clone())
}

impl Item {
    fn wants(&self, kind: ItemKind) -> bool {
        match kind {
            ItemKind::Comment => self.settings.comments,
            ItemKind::Attachment => self.settings.attachments,
        }
    }

    /// The largest file Jira accepts and the admin allows, in bytes.
    async fn jira_limit(&self) -> Result<u64> {
        let meta = self.clients.jira.attachment_meta().await?;
        Ok(self
            .settings
            .max_attachment_bytes()
            .map_or(meta.upload_limit, |mine| mine.min(meta.upload_limit)))
    }

    /// The largest file Dataverse accepts (its limit counts base64) and the admin allows.
    async fn dataverse_limit(&self) -> Result<u64> {
        let base64 = self.clients.dataverse.max_upload_file_size().await?;
        let raw = base64 / 4 * 3;
        Ok(self
            .settings
            .max_attachment_bytes()
            .map_or(raw, |mine| mine.min(raw)))
    }

    /// Notes changed in Dataverse since the last poll, copied to their links' issues.
    ///
    /// # Errors
    /// Remote and store failures.
    pub async fn notes_from_dataverse(
        &self,
        changes: &mut Changes,
        baseline: OffsetDateTime,
    ) -> Result<()> {
        if !self.settings.comments && !self.settings.attachments {
            return Ok(());
        }
        let store = &self.services.store;
        let since = store
            .get_cursor(self.job_id, CURSOR_NOTES)?
            .as_deref()
            .and_then(parse_stamp)
            .unwrap_or(baseline);
        let changed = self
            .clients
            .dataverse
            .notes_changed_since(&self.settings.table, Some(since - OVERLAP))
            .await?;
        // As for records: the cursor may move up to Dataverse's clock at the first page, so
        // the notes of a burst (every new link's note) stop being re-read once the overlap
        // has passed.
        let mut newest = changed.server_time.map_or(since, |now| since.max(now));
        for (regarding, note) in changed.notes {
            if let Some(at) = note.modified_on.as_deref().and_then(parse_stamp) {
                newest = newest.max(at);
            }
            let Some(link) =
                store.find_link_by_record(self.job_id, &self.settings.table, &regarding)?
            else {
                continue;
            };
            self.note_to_jira(&link, &note).await?;
        }
        changes.cursors.insert(CURSOR_NOTES, stamp(newest));
        if self.settings.mirror_deletions && !self.dry_run {
            self.mirror_note_deletions(changes).await?;
        }
        Ok(())
    }

    /// Every note of a newly linked record, copied to its issue.
    ///
    /// # Errors
    /// Remote and store failures.
    pub async fn all_notes_to_jira(&self, link: &LinkRow) -> Result<()> {
        if !self.settings.comments && !self.settings.attachments {
            return Ok(());
        }
        for note in self
            .clients
            .dataverse
            .list_notes(&link.dataverse_id)
            .await?
        {
            self.note_to_jira(link, &note).await?;
        }
        Ok(())
    }

    fn find_item(items: &[LinkItem], side: Side, id: &str) -> Option<LinkItem> {
        items
            .iter()
            .find(|item| match side {
                Side::Jira => item.jira_id.as_deref() == Some(id),
                Side::Dataverse => item.dataverse_id.as_deref() == Some(id),
            })
            .cloned()
    }

    /// Copies one note to the issue (new), or carries an edit over (known), or does nothing
    /// (the link note, the connector's own copy unchanged, a kind not synced).
    async fn note_to_jira(&self, link: &LinkRow, note: &Note) -> Result<()> {
        let fresh = self
            .services
            .store
            .find_link_by_issue(self.job_id, &link.jira_issue_id)?;
        let state = LinkState::from_json(&fresh.as_ref().unwrap_or(link).state);
        if state.link_note.as_deref() == Some(note.id.as_str())
            || note.id
                == note_id_for(&format!(
                    "link-note|{}|{}",
                    link.dataverse_id, link.jira_issue_id
                ))
        {
            return Ok(());
        }
        let kind = if note.is_document {
            ItemKind::Attachment
        } else {
            ItemKind::Comment
        };
        if !self.wants(kind) {
            return Ok(());
        }
        let store = &self.services.store;
        let items = store.list_link_items(link.id, kind)?;
        let plain = note_plain(note);
        let body = comment_body(note);
        let hash = pair(&crosswalk_jira::adf::to_plain_text(&body), &plain);
        if let Some(item) = Self::find_item(&items, Side::Dataverse, &note.id) {
            if item.origin == Side::Jira && item.status == ItemStatus::Pending {
                // The connector's copy of a Jira comment or file, written by a run that stopped
                // before recording it: the note exists, so the write got through. Record it;
                // it is never copied back.
                if !self.dry_run {
                    store.update_link_item(item.id, None, None, &item.hash, ItemStatus::Synced)?;
                }
                return Ok(());
            }
            match (kind, item.status) {
                (ItemKind::Comment, ItemStatus::Pending) => {
                    self.finish_comment_copy(link, &item, note, &hash).await?;
                }
                (ItemKind::Comment, ItemStatus::Synced)
                    if dataverse_part(&item.hash) != text_hash(&plain) =>
                {
                    // An edit on either copy travels to the other one.
                    let Some(comment_id) = item.jira_id.clone() else {
                        return Ok(());
                    };
                    if self.dry_run {
                        return Ok(());
                    }
                    match self
                        .clients
                        .jira
                        .update_comment(&link.jira_issue_id, &comment_id, body)
                        .await
                    {
                        Ok(_) => {
                            store.update_link_item(
                                item.id,
                                None,
                                None,
                                &hash,
                                ItemStatus::Synced,
                            )?;
                            self.journal.event(RunEvent::object(
                                "comment",
                                &link.jira_key,
                                &link.dataverse_id,
                                EventAction::Updated,
                                "Carried a note edit over to its Jira comment",
                            ));
                        }
                        Err(error) => self.item_failure(link, "comment", &error.user_facing()),
                    }
                }
                (ItemKind::Attachment, ItemStatus::Pending) => {
                    self.note_attachment_to_jira(link, note, Some(item)).await?;
                }
                _ => {}
            }
            return Ok(());
        }
        match kind {
            ItemKind::Comment => {
                if crosswalk_jira::adf::to_plain_text(&body).trim().is_empty() || self.dry_run {
                    return Ok(());
                }
                let id = store.insert_link_item(&NewLinkItem {
                    link_id: link.id,
                    kind,
                    origin: Side::Dataverse,
                    jira_id: None,
                    dataverse_id: Some(note.id.clone()),
                    hash: hash.clone(),
                    status: ItemStatus::Pending,
                    reason: None,
                })?;
                let items = store.list_link_items(link.id, kind)?;
                let item = items.into_iter().find(|i| i.id == id).expect("just stored");
                self.send_comment(link, &item, note, &hash).await
            }
            ItemKind::Attachment => self.note_attachment_to_jira(link, note, None).await,
        }
    }

    /// Settles a journaled note → comment copy: adopts the comment a crashed run wrote (found
    /// by its property), or writes it now.
    async fn finish_comment_copy(
        &self,
        link: &LinkRow,
        item: &LinkItem,
        note: &Note,
        hash: &str,
    ) -> Result<()> {
        if let Some(comment) = self.find_stamped_comment(link, &note.id).await? {
            self.services.store.update_link_item(
                item.id,
                Some(&comment.id),
                None,
                hash,
                ItemStatus::Synced,
            )?;
            return Ok(());
        }
        self.send_comment(link, item, note, hash).await
    }

    async fn find_stamped_comment(&self, link: &LinkRow, note_id: &str) -> Result<Option<Comment>> {
        for comment in self.all_comments(link).await? {
            let ours = comment
                .author
                .as_ref()
                .is_some_and(|a| a.account_id == self.meta.myself.account_id);
            if !ours {
                continue;
            }
            let property = self
                .clients
                .jira
                .comment_property(&comment.id, PROPERTY)
                .await?;
            if property
                .as_ref()
                .and_then(|p| p.get("note"))
                .and_then(Value::as_str)
                == Some(note_id)
            {
                return Ok(Some(comment));
            }
        }
        Ok(None)
    }

    async fn send_comment(
        &self,
        link: &LinkRow,
        item: &LinkItem,
        note: &Note,
        hash: &str,
    ) -> Result<()> {
        let body = comment_body(note);
        match self
            .clients
            .jira
            .add_comment_with_properties(
                &link.jira_issue_id,
                body,
                &[(
                    PROPERTY,
                    json!({"note": note.id, "record": link.dataverse_id}),
                )],
            )
            .await
        {
            Ok(comment) => {
                self.services.store.update_link_item(
                    item.id,
                    Some(&comment.id),
                    None,
                    hash,
                    ItemStatus::Synced,
                )?;
                self.journal.event(RunEvent::object(
                    "comment",
                    &link.jira_key,
                    &link.dataverse_id,
                    EventAction::Created,
                    "Copied a Dynamics note to a Jira comment",
                ));
            }
            Err(error) => self.copy_failure(link, "comment", &error.user_facing()),
        }
        Ok(())
    }

    async fn note_attachment_to_jira(
        &self,
        link: &LinkRow,
        note: &Note,
        pending: Option<LinkItem>,
    ) -> Result<()> {
        let store = &self.services.store;
        let filename = note
            .filename
            .clone()
            .unwrap_or_else(|| "attachment".to_owned());
        let size = note.filesize.unwrap_or(0);
        let limit = self.jira_limit().await?;
        if size > limit {
            let reason = format!(
                "{filename} ({}) is larger than the {} Jira accepts{}",
                human_size(size),
                human_size(limit),
                if self.settings.max_attachment_mb.is_some() {
                    " or the item allows"
                } else {
                    ""
                }
            );
            if pending.is_none() && !self.dry_run {
                store.insert_link_item(&NewLinkItem {
                    link_id: link.id,
                    kind: ItemKind::Attachment,
                    origin: Side::Dataverse,
                    jira_id: None,
                    dataverse_id: Some(note.id.clone()),
                    hash: String::new(),
                    status: ItemStatus::Skipped,
                    reason: Some(reason.clone()),
                })?;
            }
            self.journal.event(
                RunEvent::object("attachment", &link.jira_key, &filename, EventAction::Skipped,
                    format!("Not copied to Jira: {reason}"))
                .with_fix("Raise Jira's attachment size limit (Settings › System › Attachments) or the item's limit, or share the file another way"),
            );
            return Ok(());
        }
        if self.dry_run {
            return Ok(());
        }
        let item_id = match &pending {
            Some(item) => {
                // A crashed run may have uploaded it already: same name and size by us.
                let issue = self.read_issue(&link.jira_issue_id).await?;
                let known = store.list_link_items(link.id, ItemKind::Attachment)?;
                if let Some(found) =
                    self.our_upload(&issue_attachments(&issue), &known, &filename, size)
                {
                    store.update_link_item(
                        item.id,
                        Some(&found.id),
                        None,
                        "",
                        ItemStatus::Synced,
                    )?;
                    return Ok(());
                }
                item.id
            }
            None => store.insert_link_item(&NewLinkItem {
                link_id: link.id,
                kind: ItemKind::Attachment,
                origin: Side::Dataverse,
                jira_id: None,
                dataverse_id: Some(note.id.clone()),
                hash: String::new(),
                status: ItemStatus::Pending,
                reason: None,
            })?,
        };
        let file = self
            .clients
            .dataverse
            .download_note_attachment_to_spool(&note.id)
            .await?;
        match self
            .clients
            .jira
            .add_attachment_from(
                &link.jira_issue_id,
                &file.filename,
                &file.mimetype,
                &file.content,
            )
            .await
        {
            Ok(saved) => {
                store.update_link_item(item_id, Some(&saved.id), None, "", ItemStatus::Synced)?;
                self.journal.event(RunEvent::object(
                    "attachment",
                    &link.jira_key,
                    &filename,
                    EventAction::Created,
                    format!(
                        "Copied {filename} ({}) from Dynamics to Jira",
                        human_size(size)
                    ),
                ));
            }
            Err(error) => self.copy_failure(link, "attachment", &error.user_facing()),
        }
        Ok(())
    }

    /// The connector's upload of a file named `filename` of `size` bytes that no item knows yet:
    /// the copy a run wrote before it stopped without recording it.
    fn our_upload(
        &self,
        attachments: &[Attachment],
        known: &[LinkItem],
        filename: &str,
        size: u64,
    ) -> Option<Attachment> {
        attachments
            .iter()
            .find(|a| {
                a.filename == filename
                    && a.size == size
                    && a.author
                        .as_ref()
                        .is_none_or(|author| author.account_id == self.meta.myself.account_id)
                    && Self::find_item(known, Side::Jira, &a.id).is_none()
            })
            .cloned()
    }

    /// Records the copies of Dynamics files a stopped run uploaded to the issue without
    /// recording them, before the issue's attachments are read for new ones: otherwise a copy
    /// would look like a file added in Jira and travel back. One notes request, only when such
    /// a copy is pending.
    async fn adopt_pending_uploads(
        &self,
        link: &LinkRow,
        attachments: &[Attachment],
        items: &[LinkItem],
    ) -> Result<bool> {
        let pending: Vec<&LinkItem> = items
            .iter()
            .filter(|item| {
                item.status == ItemStatus::Pending
                    && item.origin == Side::Dataverse
                    && item.jira_id.is_none()
            })
            .collect();
        if pending.is_empty() || self.dry_run {
            return Ok(false);
        }
        let store = &self.services.store;
        let notes = self
            .clients
            .dataverse
            .list_notes(&link.dataverse_id)
            .await?;
        let mut adopted = false;
        for item in pending {
            let Some(note) = notes.iter().find(|n| {
                item.dataverse_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&n.id))
            }) else {
                continue;
            };
            let known = store.list_link_items(link.id, ItemKind::Attachment)?;
            let filename = note.filename.as_deref().unwrap_or("attachment");
            let size = note.filesize.unwrap_or(0);
            if let Some(found) = self.our_upload(attachments, &known, filename, size) {
                store.update_link_item(item.id, Some(&found.id), None, "", ItemStatus::Synced)?;
                adopted = true;
            }
        }
        Ok(adopted)
    }

    async fn all_comments(&self, link: &LinkRow) -> Result<Vec<Comment>> {
        let mut comments = Vec::new();
        let mut start = 0;
        loop {
            let page = self
                .clients
                .jira
                .comments(&link.jira_issue_id, start, COMMENT_PAGE)
                .await?;
            let count = page.comments.len() as u64;
            comments.extend(page.comments);
            start += count;
            if count == 0 || start >= page.total {
                return Ok(comments);
            }
        }
    }

    /// Comments and attachments of a changed issue, copied to its record.
    ///
    /// # Errors
    /// Remote and store failures.
    pub async fn issue_items_to_dataverse(
        &self,
        link: &LinkRow,
        issue: &crosswalk_jira::Issue,
    ) -> Result<()> {
        if self.settings.comments {
            self.comments_to_dataverse(link).await?;
        }
        if self.settings.attachments {
            self.attachments_to_dataverse(link, issue).await?;
        }
        Ok(())
    }

    async fn comments_to_dataverse(&self, link: &LinkRow) -> Result<()> {
        let store = &self.services.store;
        let comments = self.all_comments(link).await?;
        // Copies of notes journaled but not confirmed: adopt them first, so they are not
        // mistaken for new Jira comments.
        for item in store.list_link_items(link.id, ItemKind::Comment)? {
            if item.status == ItemStatus::Pending
                && item.jira_id.is_none()
                && item.origin == Side::Dataverse
            {
                let Some(note_id) = item.dataverse_id.as_deref() else {
                    continue;
                };
                if let Some(comment) = self.find_stamped_comment(link, note_id).await? {
                    store.update_link_item(
                        item.id,
                        Some(&comment.id),
                        None,
                        &item.hash,
                        ItemStatus::Synced,
                    )?;
                }
            }
        }
        let items = store.list_link_items(link.id, ItemKind::Comment)?;
        for comment in &comments {
            let plain = comment_plain(comment);
            let text = rich::adf_to_dataverse_text(&comment.body, true);
            let hash = pair(&plain, &note_text_plain(&text));
            match Self::find_item(&items, Side::Jira, &comment.id) {
                Some(item)
                    if item.status == ItemStatus::Synced
                        && jira_part(&item.hash) != text_hash(&plain) =>
                {
                    let Some(note_id) = item.dataverse_id.clone() else {
                        continue;
                    };
                    if self.dry_run {
                        continue;
                    }
                    match self
                        .clients
                        .dataverse
                        .update("annotations", &note_id, &json!({"notetext": text}), None)
                        .await
                    {
                        Ok(()) => {
                            store.update_link_item(
                                item.id,
                                None,
                                None,
                                &hash,
                                ItemStatus::Synced,
                            )?;
                            self.journal.event(RunEvent::object(
                                "comment",
                                &link.jira_key,
                                &link.dataverse_id,
                                EventAction::Updated,
                                "Carried a Jira comment edit over to its Dynamics note",
                            ));
                        }
                        Err(error) => self.item_failure(link, "comment", &error.user_facing()),
                    }
                }
                Some(item) if item.status == ItemStatus::Pending => {
                    self.comment_to_note(link, comment, &hash, Some(item))
                        .await?;
                }
                Some(_) => {}
                None => {
                    if plain.trim().is_empty() {
                        continue;
                    }
                    self.comment_to_note(link, comment, &hash, None).await?;
                }
            }
        }
        // A comment deleted before its journaled copy was written is no longer copied (nor
        // retried).
        for item in &items {
            let gone = item.status == ItemStatus::Pending
                && item.origin == Side::Jira
                && item
                    .jira_id
                    .as_deref()
                    .is_some_and(|id| !comments.iter().any(|c| c.id == id));
            if gone && !self.dry_run {
                store.update_link_item(item.id, None, None, &item.hash, ItemStatus::Deleted)?;
            }
        }
        if self.settings.mirror_deletions && !self.dry_run {
            for item in items {
                let gone = item.status == ItemStatus::Synced
                    && item
                        .jira_id
                        .as_deref()
                        .is_some_and(|id| !comments.iter().any(|c| c.id == id));
                if gone {
                    self.delete_dataverse_copy(link, &item, "comment", "a deleted Jira comment")
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn comment_to_note(
        &self,
        link: &LinkRow,
        comment: &Comment,
        hash: &str,
        pending: Option<LinkItem>,
    ) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let store = &self.services.store;
        let note_id = note_id_for(&format!("comment|{}|{}", link.dataverse_id, comment.id));
        let item_id = match pending {
            Some(item) => item.id,
            None => store.insert_link_item(&NewLinkItem {
                link_id: link.id,
                kind: ItemKind::Comment,
                origin: Side::Jira,
                jira_id: Some(comment.id.clone()),
                dataverse_id: Some(note_id.clone()),
                hash: hash.to_owned(),
                status: ItemStatus::Pending,
                reason: None,
            })?,
        };
        let text = rich::adf_to_dataverse_text(&comment.body, true);
        let subject = format!(
            "Jira comment by {} on {}",
            author_name(comment),
            link.jira_key
        );
        match self
            .clients
            .dataverse
            .create_note_with_id(
                self.entity_set(),
                &link.dataverse_id,
                &note_id,
                &subject,
                &text,
                None,
            )
            .await
        {
            // A run that stopped before recording it wrote this note: recorded, not reported.
            Ok(NoteWrite::AlreadyExisted { .. }) => {
                store.update_link_item(item_id, None, None, hash, ItemStatus::Synced)?;
            }
            Ok(NoteWrite::Created { .. }) => {
                store.update_link_item(item_id, None, None, hash, ItemStatus::Synced)?;
                self.journal.event(RunEvent::object(
                    "comment",
                    &link.jira_key,
                    &link.dataverse_id,
                    EventAction::Created,
                    format!(
                        "Copied a Jira comment by {} to a Dynamics note",
                        author_name(comment)
                    ),
                ));
            }
            Err(error) => self.copy_failure(link, "comment", &error.user_facing()),
        }
        Ok(())
    }

    async fn attachments_to_dataverse(
        &self,
        link: &LinkRow,
        issue: &crosswalk_jira::Issue,
    ) -> Result<()> {
        let store = &self.services.store;
        let mut items = store.list_link_items(link.id, ItemKind::Attachment)?;
        // Only an issue read with its attachment list says which ones are there.
        let listed = issue.fields.get("attachment").is_some_and(Value::is_array);
        let attachments = issue_attachments(issue);
        if listed
            && self
                .adopt_pending_uploads(link, &attachments, &items)
                .await?
        {
            items = store.list_link_items(link.id, ItemKind::Attachment)?;
        }
        let mut limit = None;
        for attachment in attachments {
            let existing = Self::find_item(&items, Side::Jira, &attachment.id);
            if existing
                .as_ref()
                .is_some_and(|i| i.status != ItemStatus::Pending)
            {
                continue;
            }
            let limit = match limit {
                Some(limit) => limit,
                None => *limit.insert(self.dataverse_limit().await?),
            };
            if attachment.size > limit {
                let reason = format!(
                    "{} ({}) is larger than the {} this Dataverse environment accepts{}",
                    attachment.filename,
                    human_size(attachment.size),
                    human_size(limit),
                    if self.settings.max_attachment_mb.is_some() {
                        " or the item allows"
                    } else {
                        ""
                    }
                );
                if !self.dry_run {
                    store.insert_link_item(&NewLinkItem {
                        link_id: link.id,
                        kind: ItemKind::Attachment,
                        origin: Side::Jira,
                        jira_id: Some(attachment.id.clone()),
                        dataverse_id: None,
                        hash: String::new(),
                        status: ItemStatus::Skipped,
                        reason: Some(reason.clone()),
                    })?;
                }
                self.journal.event(
                    RunEvent::object("attachment", &link.jira_key, &attachment.filename, EventAction::Skipped,
                        format!("Not copied to Dynamics: {reason}"))
                    .with_fix("Raise the environment's maximum file size (Power Platform admin center › Settings › Email › Attachments, up to 128 MB) or the item's limit"),
                );
                continue;
            }
            if self.dry_run {
                continue;
            }
            let note_id = note_id_for(&format!(
                "attachment|{}|{}",
                link.dataverse_id, attachment.id
            ));
            let item_id = match existing {
                Some(item) => item.id,
                None => store.insert_link_item(&NewLinkItem {
                    link_id: link.id,
                    kind: ItemKind::Attachment,
                    origin: Side::Jira,
                    jira_id: Some(attachment.id.clone()),
                    dataverse_id: Some(note_id.clone()),
                    hash: String::new(),
                    status: ItemStatus::Pending,
                    reason: None,
                })?,
            };
            let content = self
                .clients
                .jira
                .download_attachment_to_spool(&attachment.id, attachment.size)
                .await?;
            let file = SpooledAttachment {
                filename: attachment.filename.clone(),
                mimetype: attachment
                    .mime_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                content,
            };
            match self
                .clients
                .dataverse
                .create_note_with_id_from_spool(
                    self.entity_set(),
                    &link.dataverse_id,
                    &note_id,
                    &format!(
                        "Jira attachment {} on {}",
                        attachment.filename, link.jira_key
                    ),
                    "",
                    &file,
                )
                .await
            {
                // A run that stopped before recording it wrote this note: recorded, not reported.
                Ok(NoteWrite::AlreadyExisted { .. }) => {
                    store.update_link_item(item_id, None, None, "", ItemStatus::Synced)?;
                }
                Ok(NoteWrite::Created { .. }) => {
                    store.update_link_item(item_id, None, None, "", ItemStatus::Synced)?;
                    self.journal.event(RunEvent::object(
                        "attachment",
                        &link.jira_key,
                        &attachment.filename,
                        EventAction::Created,
                        format!(
                            "Copied {} ({}) from Jira to Dynamics",
                            attachment.filename,
                            human_size(attachment.size)
                        ),
                    ));
                }
                Err(error) => self.copy_failure(link, "attachment", &error.user_facing()),
            }
        }
        // Only an issue read with its attachment list says which ones are gone.
        if self.settings.mirror_deletions && !self.dry_run && listed {
            let present = issue_attachments(issue);
            for item in store.list_link_items(link.id, ItemKind::Attachment)? {
                let gone = item.status == ItemStatus::Synced
                    && item
                        .jira_id
                        .as_deref()
                        .is_some_and(|id| !present.iter().any(|a| a.id == id));
                if gone {
                    self.delete_dataverse_copy(
                        link,
                        &item,
                        "attachment",
                        "a deleted Jira attachment",
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the Dynamics note of an item whose Jira side was deleted (mirror deletions);
    /// a note already gone counts as deleted.
    async fn delete_dataverse_copy(
        &self,
        link: &LinkRow,
        item: &LinkItem,
        kind: &str,
        what: &str,
    ) -> Result<()> {
        let Some(note_id) = item.dataverse_id.as_deref() else {
            return Ok(());
        };
        let result = match self.clients.dataverse.delete_note(note_id).await {
            Err(crosswalk_dataverse::Error::Http(error)) if error.status() == Some(404) => Ok(()),
            other => other,
        };
        match result {
            Ok(()) => {
                self.services.store.update_link_item(
                    item.id,
                    None,
                    None,
                    &item.hash,
                    ItemStatus::Deleted,
                )?;
                self.journal.event(RunEvent::object(
                    kind,
                    &link.jira_key,
                    &link.dataverse_id,
                    EventAction::Deleted,
                    format!("Deleted the Dynamics note of {what}"),
                ));
            }
            Err(error) => self.item_failure(link, kind, &error.user_facing()),
        }
        Ok(())
    }

    /// Notes deleted in Dynamics since the last poll, read from change tracking on the Note
    /// (`annotation`) table: `modifiedon` never shows a deletion, and listing every link's
    /// notes on every poll would cost a request per link. The first read only sets the delta
    /// link; later ones carry deleted notes' Jira copies away (mirror deletions).
    async fn mirror_note_deletions(&self, changes: &mut Changes) -> Result<()> {
        let store = &self.services.store;
        let stored = store.get_cursor(self.job_id, CURSOR_NOTES_DELTA)?;
        let mut from = stored
            .clone()
            .map_or(TrackFrom::Initial, |link| TrackFrom::Delta(DeltaLink(link)));
        let mut initial = stored.is_none();
        let mut deleted = Vec::new();
        loop {
            let page = match self
                .clients
                .dataverse
                .track_changes("annotations", &["annotationid"], &from, Some(5000))
                .await
            {
                Ok(page) => page,
                Err(crosswalk_dataverse::Error::ChangeTrackingDisabled { .. }) => {
                    self.journal.event(
                        RunEvent::info("Notes deleted in Dynamics are not mirrored to Jira: change tracking is off for the Note (annotation) table.")
                            .with_level(crosswalk_core::EventLevel::Warn)
                            .with_fix("In Power Apps, open Tables › Note › Properties › Advanced options and turn on Track changes, or turn off deletion mirroring for this item"),
                    );
                    return Ok(());
                }
                // An expired delta link starts over; deletions in between are not seen.
                Err(error) if matches!(from, TrackFrom::Delta(_)) => {
                    self.journal.event(RunEvent::info(format!(
                        "Change tracking of Dynamics notes restarted with a full read ({error})."
                    )));
                    from = TrackFrom::Initial;
                    initial = true;
                    deleted.clear();
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if !initial {
                for change in page.changes {
                    if let Change::Deleted { id, .. } = change {
                        deleted.push(id.to_ascii_lowercase());
                    }
                }
            }
            match (page.next, page.delta_link) {
                (Some(next), _) => from = TrackFrom::NextPage(next),
                (None, Some(DeltaLink(delta))) => {
                    changes.cursors.insert(CURSOR_NOTES_DELTA, delta);
                    break;
                }
                (None, None) => break,
            }
        }
        if deleted.is_empty() {
            return Ok(());
        }
        for link in store.list_links(self.job_id)? {
            for kind in [ItemKind::Comment, ItemKind::Attachment] {
                for item in store.list_link_items(link.id, kind)? {
                    let hit = item.status == ItemStatus::Synced
                        && item
                            .dataverse_id
                            .as_deref()
                            .is_some_and(|id| deleted.iter().any(|d| d.eq_ignore_ascii_case(id)));
                    if hit {
                        self.delete_jira_copy(&link, &item, kind).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes the Jira comment or attachment of an item whose Dynamics note was deleted; one
    /// already gone counts as deleted.
    async fn delete_jira_copy(
        &self,
        link: &LinkRow,
        item: &LinkItem,
        kind: ItemKind,
    ) -> Result<()> {
        let Some(jira_id) = item.jira_id.as_deref() else {
            return Ok(());
        };
        let jira = &self.clients.jira;
        let (label, result) = match kind {
            ItemKind::Comment => (
                "comment",
                jira.delete_comment(&link.jira_issue_id, jira_id).await,
            ),
            ItemKind::Attachment => ("attachment", jira.delete_attachment(jira_id).await),
        };
        match result {
            Ok(()) => {}
            Err(error) if error.status() == Some(404) => {}
            Err(error) => {
                self.item_failure(link, label, &error.user_facing());
                return Ok(());
            }
        }
        self.services.store.update_link_item(
            item.id,
            None,
            None,
            &item.hash,
            ItemStatus::Deleted,
        )?;
        self.journal.event(RunEvent::object(
            label,
            &link.jira_key,
            &link.dataverse_id,
            EventAction::Deleted,
            format!("Deleted the Jira {label} of a deleted Dynamics note"),
        ));
        Ok(())
    }

    /// A copy the other side refused, left pending: reported once per distinct reason while
    /// it stays pending (the poll retries it, see `Item::settle_copies`), with when it is tried.
    fn copy_failure(&self, link: &LinkRow, kind: &str, facing: &crosswalk_core::UserFacing) {
        if !self.remember_copy_failure(link, &facing.message) {
            tracing::debug!(
                message = "Copy still fails for the same reason; not reported again.",
                issue = %link.jira_key,
                kind,
            );
            return;
        }
        let retry = "Crosswalk tries the copy again at every poll (after 5 attempts, every 15 minutes) until it is written";
        let fix = match &facing.fix {
            Some(fix) => format!("{fix}; {retry}"),
            None => retry.to_owned(),
        };
        self.journal.event(
            RunEvent::object(
                kind,
                &link.jira_key,
                &link.dataverse_id,
                EventAction::Failed,
                facing.message.clone(),
            )
            .with_fix(fix),
        );
    }

    /// Notes whose copy to the issue is journaled and was neither written nor adopted (the
    /// comment's property or the upload's name and size found nothing): written now, once
    /// each. One notes request, only when such a copy is pending; a note deleted since is
    /// no longer copied.
    ///
    /// # Errors
    /// Remote and store failures.
    pub(crate) async fn retry_pending_notes(&self, link: &LinkRow) -> Result<()> {
        let store = &self.services.store;
        let mut pending = Vec::new();
        for kind in [ItemKind::Comment, ItemKind::Attachment] {
            if !self.wants(kind) {
                continue;
            }
            pending.extend(
                store
                    .list_link_items(link.id, kind)?
                    .into_iter()
                    .filter(|i| i.status == ItemStatus::Pending && i.origin == Side::Dataverse),
            );
        }
        if pending.is_empty() || self.dry_run {
            return Ok(());
        }
        let notes = self
            .clients
            .dataverse
            .list_notes(&link.dataverse_id)
            .await?;
        for item in pending {
            let note = notes.iter().find(|n| {
                item.dataverse_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(&n.id))
            });
            match note {
                Some(note) => self.note_to_jira(link, note).await?,
                None => {
                    store.update_link_item(item.id, None, None, &item.hash, ItemStatus::Deleted)?
                }
            }
        }
        Ok(())
    }

    fn item_failure(&self, link: &LinkRow, kind: &str, facing: &crosswalk_core::UserFacing) {
        let mut event = RunEvent::object(
            kind,
            &link.jira_key,
            &link.dataverse_id,
            EventAction::Failed,
            facing.message.clone(),
        );
        if let Some(fix) = &facing.fix {
            event = event.with_fix(fix.clone());
        }
        self.journal.event(event);
    }
}

/// The attachments listed in an issue's `attachment` field.
pub fn issue_attachments(issue: &crosswalk_jira::Issue) -> Vec<Attachment> {
    issue
        .fields
        .get("attachment")
        .and_then(|v| serde_json::from_value::<Vec<Attachment>>(v.clone()).ok())
        .unwrap_or_default()
}

/// A note as a Jira comment: its title in bold as the first paragraph, then its text.
fn comment_body(note: &Note) -> Value {
    let mut doc = rich::dataverse_text_to_adf(note.text.as_deref().unwrap_or_default());
    if let Some(subject) = note.subject.as_deref().filter(|s| !s.trim().is_empty()) {
        let heading = json!({"type": "paragraph", "content": [
            {"type": "text", "text": subject.trim(), "marks": [{"type": "strong"}]}
        ]});
        if let Some(content) = doc.get_mut("content").and_then(Value::as_array_mut) {
            content.insert(0, heading);
        }
    }
    doc
}

/// Bytes as an admin reads them ("41.9 MB").
pub fn human_size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if value >= MB {
        format!("{:.1} MB", value / MB)
    } else if value >= 1024.0 {
        format!("{:.0} KB", value / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
