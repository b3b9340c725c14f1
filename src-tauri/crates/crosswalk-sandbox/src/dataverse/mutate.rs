//! Test-facing writes "from the other side": a user changing rows in the environment. They go
//! through the same code as the Web API's create / update / delete / `CloseIncident`, so every
//! change gets a new version (ETag), `modifiedon`, and shows in change tracking.

use super::{actions, records, ApplicationUser, Ctx, DataverseState, Prefer, Privilege};
use crate::generator::dataverse::guid;
use crate::generator::{next_kind, MutationSystem, RecordChange, RecordMutation};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use time::OffsetDateTime;

const TITLES: [&str; 8] = [
    "VPN drops every few minutes",
    "Cannot print to the 3rd floor printer",
    "Outlook keeps asking for the password",
    "Laptop battery swollen",
    "Need access to the finance share",
    "Teams camera not detected",
    "Invoice portal shows error 500",
    "New starter needs a laptop",
];

fn rejected(what: &str, response: &Response) -> ! {
    panic!(
        "sandbox Dataverse rejected {what}: HTTP {}",
        response.status()
    )
}

fn mutation(table: &str, id: &str, change: RecordChange) -> RecordMutation {
    RecordMutation {
        system: MutationSystem::Dataverse,
        table: table.to_owned(),
        id: id.to_owned(),
        change,
    }
}

impl DataverseState {
    /// The request context of a person editing in the environment: the first (by id) system
    /// user that is not an application user, with every privilege.
    fn actor_ctx(&self, now: OffsetDateTime) -> Ctx {
        let apps: BTreeSet<&str> = self
            .application_users
            .values()
            .map(|u| u.systemuser_id.as_str())
            .collect();
        let person = self
            .rows_of("systemuser")
            .find(|r| !apps.contains(r.id.as_str()) && !r.values.contains_key("applicationid"))
            .or_else(|| self.rows_of("systemuser").next());
        let (systemuser_id, name) = match person {
            Some(row) => (
                row.id.clone(),
                row.values
                    .get("fullname")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ),
            None => (self.business_unit_id.clone(), "Sandbox user".to_owned()),
        };
        let privileges = self
            .tables
            .iter()
            .map(|t| {
                (
                    t.logical_name.clone(),
                    Privilege::ALL_DATA.into_iter().collect(),
                )
            })
            .collect();
        Ctx {
            method: Method::PATCH,
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: Default::default(),
            user: ApplicationUser {
                app_id: String::new(),
                systemuser_id,
                name,
                privileges,
                misc: [super::READ_AUDIT_SUMMARY, super::READ_RECORD_AUDIT_HISTORY]
                    .map(str::to_owned)
                    .into(),
            },
            now,
            prefer: Prefer::default(),
        }
    }

    /// Creates a row as `POST /{entityset}` with `fields` as the body would (lookups as
    /// `nav@odata.bind`; the primary id column may be given): a new GUID unless given,
    /// createdon/modifiedon `now`, a new version, default state/status, ticket number...
    /// Returns the id. Panics when the Web API would refuse the body.
    pub fn insert_row(
        &mut self,
        table: &str,
        fields: Map<String, Value>,
        now: OffsetDateTime,
    ) -> String {
        let meta = self
            .table(table)
            .cloned()
            .unwrap_or_else(|| panic!("no table {table}"));
        let ctx = self.actor_ctx(now);
        records::create_row(self, &ctx, &meta, &fields, None)
            .unwrap_or_else(|r| rejected(&format!("a new {table}"), &r))
    }

    /// Updates a row as `PATCH /{entityset}({id})` with `fields` would (state/status rules,
    /// new version, `modifiedon`). Panics when the row is missing or the body refused.
    pub fn update_row(
        &mut self,
        table: &str,
        id: &str,
        fields: Map<String, Value>,
        now: OffsetDateTime,
    ) {
        let meta = self
            .table(table)
            .cloned()
            .unwrap_or_else(|| panic!("no table {table}"));
        let mut row = self
            .row(table, id)
            .cloned()
            .unwrap_or_else(|| panic!("no {table} row {id}"));
        let ctx = self.actor_ctx(now);
        records::update_existing(self, &ctx, &meta, &mut row, &fields)
            .unwrap_or_else(|r| rejected(&format!("an update of {table} {id}"), &r));
    }

    /// Deletes a row as `DELETE /{entityset}({id})` does (a tombstone for change tracking's
    /// `$deletedEntity`; notes regarding it go too). False when there was no such row.
    pub fn delete_row(&mut self, table: &str, id: &str, _now: OffsetDateTime) -> bool {
        if self.row(table, id).is_none() {
            return false;
        }
        let id = id.to_ascii_lowercase();
        records::remove_row(self, table, &id);
        true
    }

    /// Adds a note (`annotation`) regarding a row, optionally with an attachment
    /// `(filename, mime type, bytes)`, as a `POST /annotations` would. Returns the note's id.
    pub fn add_note(
        &mut self,
        regarding_table: &str,
        regarding_id: &str,
        subject: &str,
        text: &str,
        attachment: Option<(&str, &str, &[u8])>,
        now: OffsetDateTime,
    ) -> String {
        self.add_note_with_id(
            regarding_table,
            regarding_id,
            subject,
            text,
            attachment,
            None,
            now,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn add_note_with_id(
        &mut self,
        regarding_table: &str,
        regarding_id: &str,
        subject: &str,
        text: &str,
        attachment: Option<(&str, &str, &[u8])>,
        id: Option<String>,
        now: OffsetDateTime,
    ) -> String {
        use base64::Engine as _;
        let set = self
            .table(regarding_table)
            .unwrap_or_else(|| panic!("no table {regarding_table}"))
            .entity_set_name
            .clone();
        let mut fields = Map::new();
        if let Some(id) = id {
            fields.insert("annotationid".into(), json!(id));
        }
        fields.insert("subject".into(), json!(subject));
        fields.insert("notetext".into(), json!(text));
        fields.insert(
            format!("objectid_{regarding_table}@odata.bind"),
            json!(format!("/{set}({regarding_id})")),
        );
        if let Some((filename, mime, bytes)) = attachment {
            fields.insert("filename".into(), json!(filename));
            fields.insert("mimetype".into(), json!(mime));
            fields.insert(
                "documentbody".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
            );
        }
        self.insert_row("annotation", fields, now)
    }

    /// Resolves an active case as `CloseIncident` does (a completed `incidentresolution` with
    /// `subject`, the case Resolved with `status`, -1 for the default). Panics when refused.
    pub fn resolve_case(&mut self, id: &str, status: i64, subject: &str, now: OffsetDateTime) {
        let ctx = self.actor_ctx(now);
        let mut resolution = Map::new();
        resolution.insert("subject".into(), json!(subject));
        actions::close_incident_row(self, &ctx, &id.to_ascii_lowercase(), status, &resolution)
            .unwrap_or_else(|r| rejected(&format!("closing case {id}"), &r));
    }

    /// Closes an open opportunity as `WinOpportunity` (`won`) or `LoseOpportunity` does (a
    /// completed `opportunityclose` with `subject`, the opportunity Won or Lost with `status`,
    /// -1 for the default). Panics when refused.
    pub fn close_opportunity(
        &mut self,
        id: &str,
        won: bool,
        status: i64,
        subject: &str,
        now: OffsetDateTime,
    ) {
        let ctx = self.actor_ctx(now);
        let mut close = Map::new();
        close.insert("subject".into(), json!(subject));
        actions::close_opportunity_row(self, &ctx, &id.to_ascii_lowercase(), won, status, &close)
            .unwrap_or_else(|r| rejected(&format!("closing opportunity {id}"), &r));
    }

    /// `n` deterministic (same state + seed → same changes) edits to cases, as users make
    /// them: new cases, title / description / priority edits, status changes (status reason
    /// while active, resolve through `CloseIncident`, cancel), new notes and deletions. Rows
    /// created in the batch are never deleted in it.
    pub fn mutate(&mut self, seed: u64, n: usize, now: OffsetDateTime) -> Vec<RecordMutation> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(n);
        let mut deck = Vec::new();
        let mut created: BTreeSet<String> = BTreeSet::new();
        let accounts: Vec<String> = self.rows_of("account").map(|r| r.id.clone()).collect();
        for step in 0..n {
            let cases: Vec<(String, i64)> = self
                .rows_of("incident")
                .map(|r| {
                    let state = r
                        .values
                        .get("statecode")
                        .and_then(Value::as_i64)
                        .unwrap_or(0);
                    (r.id.clone(), state)
                })
                .collect();
            let active: Vec<&String> = cases.iter().filter(|c| c.1 == 0).map(|c| &c.0).collect();
            let kind = if cases.is_empty() {
                0
            } else {
                next_kind(&mut rng, &mut deck)
            };
            match kind {
                // A new case.
                0 | 1 => {
                    let id = guid(&mut rng);
                    let title = TITLES[rng.random_range(0..TITLES.len())];
                    let mut fields = Map::new();
                    fields.insert("incidentid".into(), json!(id));
                    fields.insert("title".into(), json!(format!("{title} ({})", step + 1)));
                    fields.insert(
                        "description".into(),
                        json!(format!("Reported by phone: {}.", title.to_lowercase())),
                    );
                    fields.insert("prioritycode".into(), json!(rng.random_range(1..=3)));
                    fields.insert("caseorigincode".into(), json!(1));
                    if !accounts.is_empty() {
                        let account = &accounts[rng.random_range(0..accounts.len())];
                        fields.insert(
                            "customerid_account@odata.bind".into(),
                            json!(format!("/accounts({account})")),
                        );
                    }
                    let id = self.insert_row("incident", fields, now);
                    created.insert(id.clone());
                    out.push(mutation("incident", &id, RecordChange::Created));
                }
                // An edit of title, description or priority.
                // (Closed cases are read-only, as in the app.)
                2..=4 if !active.is_empty() => {
                    let id = active[rng.random_range(0..active.len())].clone();
                    let mut fields = Map::new();
                    let column = match rng.random_range(0..3) {
                        0 => {
                            let title = TITLES[rng.random_range(0..TITLES.len())];
                            fields.insert(
                                "title".into(),
                                json!(format!("{title} (edited {})", step + 1)),
                            );
                            "title"
                        }
                        1 => {
                            fields.insert(
                                "description".into(),
                                json!(format!(
                                    "Update {}: the customer called back with more details.",
                                    step + 1
                                )),
                            );
                            "description"
                        }
                        _ => {
                            let current = self
                                .row("incident", &id)
                                .and_then(|r| r.values.get("prioritycode"))
                                .and_then(Value::as_i64)
                                .unwrap_or(2);
                            fields.insert("prioritycode".into(), json!(current % 3 + 1));
                            "prioritycode"
                        }
                    };
                    self.update_row("incident", &id, fields, now);
                    out.push(mutation(
                        "incident",
                        &id,
                        RecordChange::Edited {
                            fields: vec![column.to_owned()],
                        },
                    ));
                }
                // A status change of an active case (else a new note).
                5 | 6 if !active.is_empty() => {
                    let id = active[rng.random_range(0..active.len())].clone();
                    let (state, status) = match rng.random_range(0..4) {
                        0 => {
                            let status = [5, 1000][rng.random_range(0..2)];
                            self.resolve_case(&id, status, "Resolved by the service desk", now);
                            (1, status)
                        }
                        1 => {
                            let mut fields = Map::new();
                            fields.insert("statecode".into(), json!(2));
                            fields.insert("statuscode".into(), json!(6));
                            self.update_row("incident", &id, fields, now);
                            (2, 6)
                        }
                        _ => {
                            let current = self
                                .row("incident", &id)
                                .and_then(|r| r.values.get("statuscode"))
                                .and_then(Value::as_i64)
                                .unwrap_or(1);
                            let status = current % 4 + 1;
                            let mut fields = Map::new();
                            fields.insert("statuscode".into(), json!(status));
                            self.update_row("incident", &id, fields, now);
                            (0, status)
                        }
                    };
                    out.push(mutation(
                        "incident",
                        &id,
                        RecordChange::StatusChanged {
                            to: format!("{state}/{status}"),
                        },
                    ));
                }
                // A deletion of a case that existed before the batch (else a new note).
                7 if cases.iter().any(|c| !created.contains(&c.0)) => {
                    let old: Vec<&String> = cases
                        .iter()
                        .map(|c| &c.0)
                        .filter(|id| !created.contains(*id))
                        .collect();
                    let id = old[rng.random_range(0..old.len())].clone();
                    self.delete_row("incident", &id, now);
                    out.push(mutation("incident", &id, RecordChange::Deleted));
                }
                // A note, every third one with a small attachment.
                _ => {
                    let regarding = cases[rng.random_range(0..cases.len())].0.clone();
                    let note_id = guid(&mut rng);
                    let body = format!("log excerpt {}\nstatus=retry\n", step + 1);
                    let file = format!("log-{}.txt", step + 1);
                    let attachment = (rng.random_range(0..3) == 0).then_some((
                        file.as_str(),
                        "text/plain",
                        body.as_bytes(),
                    ));
                    let id = self.add_note_with_id(
                        "incident",
                        &regarding,
                        &format!("Call back {}", step + 1),
                        "Customer called back with more details.",
                        attachment,
                        Some(note_id),
                        now,
                    );
                    out.push(mutation(
                        "annotation",
                        &id,
                        RecordChange::NoteAdded { regarding },
                    ));
                }
            }
        }
        out
    }
}
