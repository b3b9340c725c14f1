//! Values the client returns, mirroring Dataverse's JSON without its OData envelope.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Suffix of the annotation carrying a column's display text.
pub(crate) const FORMATTED: &str = "@OData.Community.Display.V1.FormattedValue";

/// A record's version (`@odata.etag`, weak: `W/"123"`), sent back in `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Etag(pub String);

/// The `@odata.nextLink` of a page, followed unchanged to get the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextLink(pub String);

/// The `@odata.deltaLink` ending a change-tracking read; store it to ask for later changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaLink(pub String);

/// One row of a table as read, with its id and version split from its columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The primary key (GUID, lower case as Dataverse sends it).
    pub id: String,
    /// The version for optimistic concurrency; absent only if Dataverse sent none.
    pub etag: Option<Etag>,
    /// Columns as sent (choices are integers, lookups `_x_value` GUIDs with their annotations).
    pub fields: Map<String, Value>,
    /// Display text per column (`FormattedValue`), only when asked for; never parse it.
    pub formatted: BTreeMap<String, String>,
}

impl Record {
    /// Splits an OData entity object into id, etag, columns and formatted values.
    pub(crate) fn from_object(mut object: Map<String, Value>, id_attribute: &str) -> Record {
        let etag = match object.remove("@odata.etag") {
            Some(Value::String(etag)) => Some(Etag(etag)),
            _ => None,
        };
        let mut fields = Map::new();
        let mut formatted = BTreeMap::new();
        for (key, value) in object {
            if let Some(column) = key.strip_suffix(FORMATTED) {
                if let Value::String(text) = value {
                    formatted.insert(column.to_owned(), text);
                }
            } else if !key.starts_with("@odata.") {
                fields.insert(key, value);
            }
        }
        let id = fields
            .get(id_attribute)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Record {
            id,
            etag,
            fields,
            formatted,
        }
    }
}

/// Options of a `list` call (no `$skip`: Dataverse pages with `odata.maxpagesize` and links).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Columns to return (`$select`); empty returns all, which is slow on wide tables.
    pub select: Vec<String>,
    /// An OData `$filter` expression, e.g. `modifiedon gt 2024-05-01T00:00:00Z` (unquoted dates).
    pub filter: Option<String>,
    /// An OData `$orderby`, e.g. `modifiedon asc`.
    pub orderby: Option<String>,
    /// Rows per page (`Prefer: odata.maxpagesize`, at most 5000; default 5000).
    pub page_size: Option<u32>,
    /// Ask for formatted values (`Prefer: odata.include-annotations="*"`).
    pub formatted: bool,
}

/// One page of records and the link to the next page, if any.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<NextLink>,
    /// Dataverse's clock when it answered (the response's `Date` header), not part of the body:
    /// a read window by `modifiedon` or `createdon` can move up to it, free of local skew.
    pub server_time: Option<time::OffsetDateTime>,
}

/// Where a change-tracking read starts.
#[derive(Debug, Clone)]
pub enum TrackFrom {
    /// Everything now in the table, then a delta link.
    Initial,
    /// The next page of a read in progress.
    NextPage(NextLink),
    /// The changes since a stored delta link.
    Delta(DeltaLink),
}

/// One entry of a change-tracking page.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new or changed row, in its normal form.
    Upsert(Record),
    /// A deleted row (`$deletedEntity`): only its id and Dataverse's reason.
    Deleted { id: String, reason: String },
}

/// One page of changes: a next link to continue, or the delta link ending the read.
#[derive(Debug, Clone)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub next: Option<NextLink>,
    pub delta_link: Option<DeltaLink>,
}

/// The caller's identity (`WhoAmI`): proves token, application user and role all work.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WhoAmI {
    /// The application user's `systemuserid`.
    pub user_id: String,
    pub business_unit_id: String,
    pub organization_id: String,
}

/// What the sync needs to know about a table (`EntityDefinitions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityInfo {
    pub logical_name: String,
    /// The URL segment of the table (`incidents`); never pluralise by hand.
    pub entity_set_name: String,
    pub primary_id_attribute: String,
    pub primary_name_attribute: Option<String>,
    /// Whether `track_changes` works; otherwise read by `modifiedon`.
    pub change_tracking_enabled: bool,
    pub object_type_code: Option<i64>,
    pub display_name: Option<String>,
}

/// A column's logical name and `AttributeType` as the generic `Attributes` list gives them:
/// enough to build a `$select` (lookups are read as `_x_value`) without the typed casts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub logical_name: String,
    /// `String`, `Lookup`, `Customer`, `Owner`, `Picklist`, `Virtual`...
    pub attribute_type: String,
}

impl ColumnType {
    /// Whether the column is a lookup (also Customer and Owner), read as `_<name>_value`.
    pub fn is_lookup(&self) -> bool {
        matches!(
            self.attribute_type.as_str(),
            "Lookup" | "Customer" | "Owner"
        )
    }
}

/// One column of a table with its type, for field mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub logical_name: String,
    pub display_name: Option<String>,
    pub kind: AttributeKind,
    /// For text columns (String, Memo): the column's `FormatName` (`Text`, `TextArea`, `Email`,
    /// `Url`, `Json`, `RichText`...), else its legacy `Format`; `None` for other columns or when
    /// Dataverse gave neither. A `RichText` column stores HTML (Microsoft Learn: "Format and
    /// FormatName columns", "Data type format conversions").
    pub format: Option<String>,
}

impl Attribute {
    /// Whether the column is a rich-text column (`FormatName` `RichText`): its values are HTML
    /// written by Dynamics' rich-text editor.
    pub fn is_rich_text(&self) -> bool {
        self.format
            .as_deref()
            .is_some_and(|format| format.eq_ignore_ascii_case("RichText"))
    }
}

/// A choice value with its label (and, for state/status columns, how they pair up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionValue {
    pub value: i32,
    pub label: String,
    /// For a status reason: the statecode it belongs to.
    pub state: Option<i32>,
    /// For a state: the statuscode used when only the state is set.
    pub default_status: Option<i32>,
}

/// A column's type as far as mapping values to Jira needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeKind {
    String,
    Memo,
    Integer,
    Decimal,
    Money,
    /// `behavior` is `UserLocal`, `DateOnly` or `TimeZoneIndependent`.
    DateTime {
        behavior: Option<String>,
    },
    Boolean {
        true_label: Option<String>,
        false_label: Option<String>,
    },
    Picklist {
        options: Vec<OptionValue>,
    },
    State {
        options: Vec<OptionValue>,
    },
    Status {
        options: Vec<OptionValue>,
    },
    /// A multi-select choice ("Choices"): `AttributeType` `Virtual`, `AttributeTypeName`
    /// `MultiSelectPicklistType`, its options on the `MultiSelectPicklistAttributeMetadata`
    /// cast. Values are the selected option values joined with commas (`"1,3"`); formatted
    /// values are their labels joined with `"; "`.
    MultiSelect {
        options: Vec<OptionValue>,
    },
    /// A lookup (also Customer and Owner) with the tables it can point to.
    Lookup {
        targets: Vec<String>,
    },
    /// Any other `AttributeType` (Uniqueidentifier, Double, BigInt, a `Virtual` column that is
    /// not a multi-select choice...).
    Other(String),
}

/// A note (`annotation`) on a record, without its attachment body.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub id: String,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub filename: Option<String>,
    pub mimetype: Option<String>,
    /// Attachment size in bytes (raw, not base64).
    pub filesize: Option<u64>,
    pub is_document: bool,
    pub created_on: Option<String>,
    pub modified_on: Option<String>,
    pub etag: Option<Etag>,
}

/// Notes changed across a table since a time, each with the id of the record it regards.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedNotes {
    /// `(regarded record id, note)`, oldest change first.
    pub notes: Vec<(String, Note)>,
    /// Dataverse's clock when it answered the first page (its `Date` header): every note
    /// changed before it (and committed) was in the answer.
    pub server_time: Option<time::OffsetDateTime>,
}

/// A file attached to a note.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub mimetype: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    // The content may be personal data and is large; its size says enough.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("mimetype", &self.mimetype)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// A note's file waiting in a [`Spool`](crosswalk_http::Spool) (a temporary file) rather than
/// in memory, so even a file of Dataverse's largest allowed size is never held whole.
#[derive(Debug, Clone)]
pub struct SpooledAttachment {
    pub filename: String,
    pub mimetype: String,
    pub content: crosswalk_http::Spool,
}

/// What [`crate::DataverseClient::create_note_with_id`] found: the note is there either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteWrite {
    /// The note was created now, with the requested id.
    Created { id: String },
    /// A note with the requested id already existed (an earlier attempt got through), so
    /// nothing was written: a retry after a crash never duplicates a note.
    AlreadyExisted { id: String },
}

impl NoteWrite {
    /// The note's id (the one requested).
    pub fn id(&self) -> &str {
        match self {
            NoteWrite::Created { id } | NoteWrite::AlreadyExisted { id } => id,
        }
    }

    /// Whether this call created the note.
    pub fn created(&self) -> bool {
        matches!(self, NoteWrite::Created { .. })
    }
}
