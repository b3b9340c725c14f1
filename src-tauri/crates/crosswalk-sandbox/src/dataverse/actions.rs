//! Functions and actions: `WhoAmI` (§F.7), `RetrieveUserPrivileges` (bound to `systemuser`),
//! `CloseIncident`, `WinOpportunity`, `LoseOpportunity` and `QualifyLead` (bound to `lead`)
//! (§F.9), and the annotation block upload/download messages (§F.8).

use super::records::{self, is_guid, new_id, parse_bind, Reply};
use super::{
    bad_request, error, json_response, no_content, pseudo_guid, row_not_found, Ctx, DataverseState,
    Privilege, Row, TableMeta, Upload,
};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// `0x80040203`: a statecode/statuscode change the platform refuses [UNSURE].
const STATE_CODE: &str = "0x80040203";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn finish(result: Reply) -> Response {
    result.unwrap_or_else(|response| response)
}

pub(crate) fn who_am_i(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    if ctx.method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "0x80060888",
            "WhoAmI is a function; use GET.",
        );
    }
    let body = json!({
        "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", dv.api_base()),
        "BusinessUnitId": dv.business_unit_id,
        "UserId": ctx.user.systemuser_id,
        "OrganizationId": dv.organization_id,
    });
    json_response(StatusCode::OK, &body, &[])
}

/// The path segment of the bound function `RetrieveUserPrivileges` (bound functions are called
/// by their namespace-qualified name, with parentheses).
pub(crate) const RETRIEVE_USER_PRIVILEGES: &str = "Microsoft.Dynamics.CRM.RetrieveUserPrivileges()";

/// The entity part of a table's privilege names as Dataverse documents them: `prvCreateNote`
/// (annotation), `prvReadUser` (systemuser), `prvCreateActivity` (built-in activity tables share
/// one set), else the schema name (`prvReadIncident`).
fn privilege_entity(dv: &DataverseState, table: &str) -> String {
    match (table, dv.table(table)) {
        ("annotation", _) => "Note".into(),
        ("systemuser", _) => "User".into(),
        (_, Some(meta)) if meta.is_activity && !meta.is_custom => "Activity".into(),
        (_, Some(meta)) => meta.schema_name.clone(),
        (_, None) => table.to_owned(),
    }
}

/// `GET systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()`: the privileges the
/// user holds through its roles (learn.microsoft.com Web API reference: RetrieveUserPrivileges
/// Function, RetrieveUserPrivilegesResponse and RolePrivilege ComplexTypes, PrivilegeDepth
/// EnumType). The caller needs `prvReadUser` and `prvReadOrganization` ("RetrieveUserPrivileges
/// message privileges"). Roles here grant at organization depth, so every `Depth` is `Global`.
/// The sandbox keeps activity privileges per table while Dataverse shares one set across the
/// built-in activity tables, so `prv*Activity` is held when any activity table has it. Users
/// other than application users have no modelled roles and hold nothing.
pub(crate) fn retrieve_user_privileges(
    dv: &mut DataverseState,
    ctx: &Ctx,
    key: Option<&str>,
) -> Response {
    finish((|| {
        if ctx.method != Method::GET {
            return Err(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                "RetrieveUserPrivileges is a function; use GET.",
            ));
        }
        ctx.require(dv, "systemuser", Privilege::Read)?;
        ctx.require(dv, "organization", Privilege::Read)?;
        let raw = key.unwrap_or("");
        let id = raw
            .split_once('=')
            .map_or(raw, |(_, value)| value)
            .trim()
            .trim_matches('\'')
            .to_ascii_lowercase();
        if !is_guid(&id) {
            return Err(bad_request(format!(
                "Invalid key: '{raw}' is not a valid systemuserid."
            )));
        }
        let user = dv
            .application_users
            .values()
            .find(|u| u.systemuser_id.eq_ignore_ascii_case(&id))
            .cloned();
        if user.is_none() && dv.row("systemuser", &id).is_none() {
            return Err(row_not_found("systemuser", &id));
        }
        let mut names = std::collections::BTreeSet::new();
        for (table, privileges) in user.iter().flat_map(|u| u.privileges.iter()) {
            let entity = privilege_entity(dv, table);
            for privilege in privileges {
                names.insert(format!("prv{}{entity}", privilege.as_str()));
            }
        }
        names.extend(user.iter().flat_map(|u| u.misc.iter().cloned()));
        let privileges: Vec<Value> = names
            .into_iter()
            .map(|name| {
                json!({
                    "BusinessUnitId": dv.business_unit_id,
                    "Depth": "Global",
                    "PrivilegeId": pseudo_guid(&name),
                    "PrivilegeName": name,
                    "RecordFilterId": null,
                    "RecordFilterUniqueName": null,
                })
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse", dv.api_base()),
                "RolePrivileges": privileges,
            }),
            &[],
        ))
    })())
}

fn object<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, Response> {
    body.get(name)
        .and_then(Value::as_object)
        .ok_or_else(|| bad_request(format!("Request message has unresolved parameters. The parameter '{name}' is missing or is not an object.")))
}

fn string<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, Response> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        bad_request(format!(
            "Request message has unresolved parameters. The parameter '{name}' is missing."
        ))
    })
}

/// A close action that records an activity with the outcome (§F.9): `CloseIncident` writes an
/// `incidentresolution`, `WinOpportunity` / `LoseOpportunity` an `opportunityclose`.
struct Closing {
    /// The closed table and the state the action moves it to.
    table: &'static str,
    state: i64,
    /// The action's parameter holding the activity (`IncidentResolution`).
    parameter: &'static str,
    /// The activity table and its lookup of the closed row.
    activity: &'static str,
    lookup: &'static str,
    /// Refusal of an already closed row [UNSURE of the exact text].
    already_closed: &'static str,
    /// The `audit.action` of the closed row's audit record (Close, Win, Lose).
    audit_action: i32,
}

const CLOSE_INCIDENT: Closing = Closing {
    table: "incident",
    state: 1,
    parameter: "IncidentResolution",
    activity: "incidentresolution",
    lookup: "incidentid",
    already_closed:
        "This case has already been resolved or cancelled. Reactivate it before closing it again.",
    audit_action: super::audit::ACTION_CLOSE,
};

const WIN_OPPORTUNITY: Closing = Closing {
    table: "opportunity",
    state: 1,
    parameter: "OpportunityClose",
    activity: "opportunityclose",
    lookup: "opportunityid",
    already_closed:
        "This opportunity has already been won or lost. Reopen it before closing it again.",
    audit_action: super::audit::ACTION_WIN,
};

const LOSE_OPPORTUNITY: Closing = Closing {
    state: 2,
    audit_action: super::audit::ACTION_LOSE,
    ..WIN_OPPORTUNITY
};

fn status_parameter(body: &Map<String, Value>) -> Result<i64, Response> {
    body.get("Status").and_then(Value::as_i64).ok_or_else(|| {
        bad_request("Request message has unresolved parameters. The parameter 'Status' is missing.")
    })
}

/// Runs an unbound close action: `{"<parameter>": {..., "<lookup>@odata.bind": "/<set>(<id>)"},
/// "Status": n}` → 204.
fn close_action(dv: &mut DataverseState, ctx: &Ctx, closing: &Closing) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let activity = object(&body, closing.parameter)?;
        let status = status_parameter(&body)?;
        let key = format!("{}@odata.bind", closing.lookup);
        let bind = activity.get(&key).and_then(Value::as_str).ok_or_else(|| {
            bad_request(format!(
                "The {} must reference the {} with '{key}'.",
                closing.parameter, closing.table
            ))
        })?;
        let (_, id) = parse_bind(dv, bind)
            .filter(|(t, _)| t == closing.table)
            .ok_or_else(|| {
                bad_request(format!(
                    "The URI '{bind}' is not valid for binding '{}'.",
                    closing.lookup
                ))
            })?;
        close_row(dv, ctx, closing, &id, status, activity)?;
        Ok(no_content(&[]))
    })())
}

/// `CloseIncident`: creates the `incidentresolution` and resolves the case (Status -1 = default).
pub(crate) fn close_incident(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    close_action(dv, ctx, &CLOSE_INCIDENT)
}

/// `WinOpportunity`: creates the `opportunityclose` and sets the opportunity to Won.
pub(crate) fn win_opportunity(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    close_action(dv, ctx, &WIN_OPPORTUNITY)
}

/// `LoseOpportunity`: creates the `opportunityclose` and sets the opportunity to Lost.
pub(crate) fn lose_opportunity(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    close_action(dv, ctx, &LOSE_OPPORTUNITY)
}

/// Resolves an active case as `CloseIncident` does: a completed `incidentresolution` (from
/// `resolution`'s columns) and the case moved to Resolved with `status` (-1: the default).
pub(crate) fn close_incident_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    id: &str,
    status: i64,
    resolution: &Map<String, Value>,
) -> Result<(), Response> {
    close_row(dv, ctx, &CLOSE_INCIDENT, id, status, resolution)
}

/// Closes an open opportunity as `WinOpportunity` (`won`) or `LoseOpportunity` does: a
/// completed `opportunityclose` (from `close`'s columns) and the opportunity Won or Lost with
/// `status` (-1: the default).
pub(crate) fn close_opportunity_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    id: &str,
    won: bool,
    status: i64,
    close: &Map<String, Value>,
) -> Result<(), Response> {
    let closing = if won {
        &WIN_OPPORTUNITY
    } else {
        &LOSE_OPPORTUNITY
    };
    close_row(dv, ctx, closing, id, status, close)
}

/// A state's default status reason, from the table's metadata.
fn default_status(meta: &TableMeta, state: i64) -> Option<i64> {
    meta.attribute("statecode")?
        .options
        .iter()
        .find(|o| i64::from(o.value) == state)
        .and_then(|o| o.default_status)
        .map(i64::from)
}

/// The 400 for a status reason that is not one of `state`'s (`0x80040203`).
fn not_a_status_of(meta: &TableMeta, state: i64, status: i64, id: &str) -> Response {
    let label = meta
        .attribute("statecode")
        .and_then(|a| a.options.iter().find(|o| i64::from(o.value) == state))
        .map_or_else(|| state.to_string(), |o| o.label.clone());
    error(
        StatusCode::BAD_REQUEST,
        STATE_CODE,
        format!(
            "{status} is not a valid status code for state code {}State.{label} on {} with Id {id}.",
            meta.schema_name, meta.logical_name
        ),
    )
}

/// `status` (-1: the state's default) when it is a reason of `state`.
fn checked_status(meta: &TableMeta, state: i64, status: i64, id: &str) -> Result<i64, Response> {
    let status = if status == -1 {
        default_status(meta, state).unwrap_or(-1)
    } else {
        status
    };
    let belongs = meta.attribute("statuscode").is_some_and(|a| {
        a.options
            .iter()
            .any(|o| i64::from(o.value) == status && o.state.map(i64::from) == Some(state))
    });
    if belongs {
        Ok(status)
    } else {
        Err(not_a_status_of(meta, state, status, id))
    }
}

/// Closes an open row through `closing`: the completed activity, then the row's new state.
fn close_row(
    dv: &mut DataverseState,
    ctx: &Ctx,
    closing: &Closing,
    id: &str,
    status: i64,
    fields: &Map<String, Value>,
) -> Result<(), Response> {
    let target = dv
        .row(closing.table, id)
        .cloned()
        .ok_or_else(|| row_not_found(closing.table, id))?;
    ctx.require(dv, closing.table, Privilege::Write)?;
    ctx.require(dv, closing.activity, Privilege::Create)?;
    let meta = dv.table(closing.table).cloned().expect("closed table");
    let status = checked_status(&meta, closing.state, status, id)?;
    if target.values.get("statecode").and_then(Value::as_i64) != Some(0) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            STATE_CODE,
            closing.already_closed,
        ));
    }
    let activity_meta = dv.table(closing.activity).cloned().expect("activity table");
    let mut row = Row {
        id: new_id(),
        version: 0,
        values: Default::default(),
        lookups: Default::default(),
    };
    let mut fields = fields.clone();
    fields.remove(&format!("{}@odata.bind", closing.lookup));
    fields.remove("@odata.type");
    records::apply_body(dv, ctx, &activity_meta, &mut row, &fields, true)?;
    row.lookups.insert(
        closing.lookup.into(),
        super::LookupValue {
            id: id.to_owned(),
            logical_name: closing.table.into(),
            name: target
                .values
                .get(&meta.primary_name_attribute)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        },
    );
    // The activity is completed (statecode 1, its default reason).
    row.values.insert("statecode".into(), json!(1));
    row.values.insert(
        "statuscode".into(),
        json!(default_status(&activity_meta, 1).unwrap_or(2)),
    );
    records::insert_row(dv, ctx, &activity_meta, row);
    let mut target = target;
    target
        .values
        .insert("statecode".into(), json!(closing.state));
    target.values.insert("statuscode".into(), json!(status));
    records::update_row(dv, ctx, &meta, target, closing.audit_action);
    Ok(())
}

/// The path segment of the bound action `QualifyLead`: bound operations need the namespace.
pub(crate) const QUALIFY_LEAD: &str = "Microsoft.Dynamics.CRM.QualifyLead";

/// `POST leads(<id>)/Microsoft.Dynamics.CRM.QualifyLead` with `CreateAccount`, `CreateContact`,
/// `CreateOpportunity` and `Status`: the lead Qualified, the asked-for records created from it,
/// and those records returned as a collection (§F.9; learn.microsoft.com Web API reference:
/// QualifyLead Action, returning `Collection(mscrm.crmbaseentity)`). `qualified` is false for
/// the name without its namespace, which Dataverse does not resolve (400).
pub(crate) fn qualify_lead(
    dv: &mut DataverseState,
    ctx: &Ctx,
    key: Option<&str>,
    qualified: bool,
) -> Response {
    finish((|| {
        if ctx.method != Method::POST {
            return Err(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                format!("The request URI is not valid. HTTP method '{}' is not allowed for the operation 'QualifyLead'.", ctx.method),
            ));
        }
        if !qualified {
            return Err(bad_request("Request message has unresolved parameters."));
        }
        let raw = key.unwrap_or("");
        let id = raw.trim_matches(['{', '}']).to_ascii_lowercase();
        if !is_guid(&id) {
            return Err(bad_request(format!(
                "Invalid key: '{raw}' is not a valid leadid."
            )));
        }
        let body = ctx.json_body()?;
        let flag = |name: &str| {
            body.get(name).and_then(Value::as_bool).ok_or_else(|| {
                bad_request(format!(
                    "Request message has unresolved parameters. The parameter '{name}' is missing."
                ))
            })
        };
        let (create_account, create_contact, create_opportunity) = (
            flag("CreateAccount")?,
            flag("CreateContact")?,
            flag("CreateOpportunity")?,
        );
        let status = status_parameter(&body)?;
        let lead = dv
            .row("lead", &id)
            .cloned()
            .ok_or_else(|| row_not_found("lead", &id))?;
        ctx.require(dv, "lead", Privilege::Write)?;
        for (wanted, table) in [
            (create_account, "account"),
            (create_contact, "contact"),
            (create_opportunity, "opportunity"),
        ] {
            if wanted {
                ctx.require(dv, table, Privilege::Create)?;
            }
        }
        let meta = dv.table("lead").cloned().expect("lead table");
        let status = checked_status(&meta, 1, status, &id)?;
        if lead.values.get("statecode").and_then(Value::as_i64) != Some(0) {
            // [UNSURE of the exact text]
            return Err(error(
                StatusCode::BAD_REQUEST,
                STATE_CODE,
                "This lead has already been qualified or disqualified. Reactivate it before qualifying it.",
            ));
        }
        let text = |column: &str| lead.values.get(column).cloned().unwrap_or(Value::Null);
        let mut created: Vec<(&str, String)> = Vec::new();
        if create_account {
            let mut fields = Map::new();
            let name = lead
                .values
                .get("companyname")
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                .cloned()
                .unwrap_or_else(|| text("fullname"));
            fields.insert("name".into(), name);
            created.push((
                "account",
                records::create_row(dv, ctx, &table_meta(dv, "account"), &fields, None)?,
            ));
        }
        if create_contact {
            let mut fields = Map::new();
            for column in ["firstname", "lastname", "emailaddress1"] {
                fields.insert(column.into(), text(column));
            }
            created.push((
                "contact",
                records::create_row(dv, ctx, &table_meta(dv, "contact"), &fields, None)?,
            ));
        }
        if create_opportunity {
            let mut fields = Map::new();
            fields.insert("name".into(), text("subject"));
            fields.insert("estimatedvalue".into(), text("estimatedamount"));
            if let Some((table, customer)) = created.first() {
                let set = table_meta(dv, table).entity_set_name;
                fields.insert(
                    format!("customerid_{table}@odata.bind"),
                    json!(format!("/{set}({customer})")),
                );
            }
            created.push((
                "opportunity",
                records::create_row(dv, ctx, &table_meta(dv, "opportunity"), &fields, None)?,
            ));
        }
        let mut lead = lead;
        lead.values.insert("statecode".into(), json!(1));
        lead.values.insert("statuscode".into(), json!(status));
        records::update_row(dv, ctx, &meta, lead, super::audit::ACTION_QUALIFY);
        let value: Vec<Value> = created
            .iter()
            .map(|(table, id)| {
                let mut entity = Map::new();
                entity.insert(
                    "@odata.type".into(),
                    json!(format!("#Microsoft.Dynamics.CRM.{table}")),
                );
                entity.insert(table_meta(dv, table).primary_id_attribute, json!(id));
                Value::Object(entity)
            })
            .collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)", dv.api_base()),
                "value": value,
            }),
            &[],
        ))
    })())
}

fn table_meta(dv: &DataverseState, table: &str) -> TableMeta {
    dv.table(table)
        .cloned()
        .unwrap_or_else(|| panic!("the sandbox models table {table}"))
}

fn annotation_target(body: &Map<String, Value>) -> Result<(Map<String, Value>, String), Response> {
    let target = object(body, "Target")?.clone();
    let id = target
        .get("annotationid")
        .and_then(Value::as_str)
        .filter(|id| is_guid(id))
        .ok_or_else(|| {
            bad_request(
                "The Target must contain an 'annotationid'. Generate a new GUID to create a note.",
            )
        })?
        .to_ascii_lowercase();
    Ok((target, id))
}

fn token() -> String {
    format!("{}{}", new_id().replace('-', ""), new_id().replace('-', ""))
}

/// `InitializeAnnotationBlocksUpload`: returns a `FileContinuationToken`.
pub(crate) fn initialize_upload(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let (target, id) = annotation_target(&body)?;
        let privilege = if dv.row("annotation", &id).is_some() {
            Privilege::Write
        } else {
            Privilege::Create
        };
        ctx.require(dv, "annotation", privilege)?;
        let token = token();
        dv.uploads.insert(
            token.clone(),
            Upload {
                target,
                blocks: Default::default(),
                block_id_len: None,
            },
        );
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.InitializeAnnotationBlocksUploadResponse", dv.api_base()),
                "FileContinuationToken": token,
            }),
            &[],
        ))
    })())
}

fn bad_token() -> Response {
    bad_request("The FileContinuationToken is not valid or has expired.")
}

/// `UploadBlock`: one base64 block with a base64 `BlockId` (≤ 64 bytes, all the same length).
pub(crate) fn upload_block(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let token = string(&body, "FileContinuationToken")?;
        let block_id = string(&body, "BlockId")?.to_owned();
        let data = string(&body, "BlockData")?;
        let max_block = dv.max_block_bytes;
        let upload = dv.uploads.get_mut(token).ok_or_else(bad_token)?;
        let raw_id = B64
            .decode(&block_id)
            .map_err(|_| bad_request("The BlockId must be a valid base64 string."))?;
        if raw_id.len() > 64 {
            return Err(bad_request(
                "The BlockId must be at most 64 bytes before encoding.",
            ));
        }
        match upload.block_id_len {
            Some(len) if len != block_id.len() => {
                return Err(bad_request("The specified blob or block content is invalid. All BlockIds of one file must have the same length."))
            }
            _ => upload.block_id_len = Some(block_id.len()),
        }
        let bytes = B64
            .decode(data)
            .map_err(|_| bad_request("The BlockData must be a valid base64 string."))?;
        if bytes.len() > max_block {
            return Err(bad_request(format!(
                "The block is {} bytes; blocks can be at most {max_block} bytes.",
                bytes.len()
            )));
        }
        upload.blocks.insert(block_id, bytes);
        Ok(no_content(&[]))
    })())
}

/// `CommitAnnotationBlocksUpload`: reassembles the blocks in `BlockList` order into the note.
pub(crate) fn commit_upload(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let token = string(&body, "FileContinuationToken")?.to_owned();
        let (mut target, id) = annotation_target(&body)?;
        let list = body
            .get("BlockList")
            .and_then(Value::as_array)
            .ok_or_else(|| bad_request("Request message has unresolved parameters. The parameter 'BlockList' is missing."))?;
        let upload = dv.uploads.get(&token).ok_or_else(bad_token)?;
        let mut file = Vec::new();
        for block in list {
            let block = block.as_str().unwrap_or("");
            let bytes = upload.blocks.get(block).ok_or_else(|| {
                bad_request(format!(
                    "The specified block list is invalid: block '{block}' was not uploaded."
                ))
            })?;
            file.extend_from_slice(bytes);
        }
        // Target fields from Initialize, overridden by those sent with Commit.
        let mut fields = upload.target.clone();
        fields.append(&mut target);
        fields.remove("@odata.type");
        fields.remove("annotationid");
        let encoded = B64.encode(&file);
        if encoded.len() as u64 > dv.max_upload_file_size() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "0x80044a02",
                "Attachment file size is too big.",
            ));
        }
        let meta = dv.table("annotation").cloned().expect("annotation table");
        let existing = dv.row("annotation", &id).cloned();
        let creating = existing.is_none();
        ctx.require(
            dv,
            "annotation",
            if creating {
                Privilege::Create
            } else {
                Privilege::Write
            },
        )?;
        let mut row = existing.unwrap_or(Row {
            id: id.clone(),
            version: 0,
            values: Default::default(),
            lookups: Default::default(),
        });
        records::apply_body(dv, ctx, &meta, &mut row, &fields, creating)?;
        row.values.insert("documentbody".into(), json!(encoded));
        row.values.insert("filesize".into(), json!(file.len()));
        row.values.insert("isdocument".into(), json!(true));
        dv.uploads.remove(&token);
        if creating {
            records::insert_row(dv, ctx, &meta, row);
        } else {
            records::update_row(dv, ctx, &meta, row, super::audit::ACTION_UPDATE);
        }
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.CommitAnnotationBlocksUploadResponse", dv.api_base()),
                "AnnotationId": id,
                "FileSizeInBytes": file.len(),
            }),
            &[],
        ))
    })())
}

/// `InitializeAnnotationBlocksDownload`: token, size and file name of a note's attachment.
pub(crate) fn initialize_download(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let (_, id) = annotation_target(&body)?;
        ctx.require(dv, "annotation", Privilege::Read)?;
        let row = dv
            .row("annotation", &id)
            .ok_or_else(|| row_not_found("annotation", &id))?;
        let Some(document) = row.values.get("documentbody").and_then(Value::as_str) else {
            return Err(bad_request(format!("The note {id} has no attachment.")));
        };
        let bytes = B64.decode(document).unwrap_or_default();
        let name = row.values.get("filename").cloned().unwrap_or(Value::Null);
        let size = bytes.len();
        let token = token();
        dv.downloads.insert(token.clone(), bytes);
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.InitializeAnnotationBlocksDownloadResponse", dv.api_base()),
                "FileContinuationToken": token,
                "FileSizeInBytes": size,
                "FileName": name,
            }),
            &[],
        ))
    })())
}

/// `DownloadBlock`: `BlockLength` bytes from `Offset`, base64.
pub(crate) fn download_block(dv: &mut DataverseState, ctx: &Ctx) -> Response {
    finish((|| {
        let body = ctx.json_body()?;
        let token = string(&body, "FileContinuationToken")?;
        let offset = body
            .get("Offset")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad_request("The parameter 'Offset' is missing."))?;
        let length = body
            .get("BlockLength")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad_request("The parameter 'BlockLength' is missing."))?;
        let file = dv.downloads.get(token).ok_or_else(bad_token)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(file.len());
        let end = start
            .saturating_add(usize::try_from(length).unwrap_or(usize::MAX))
            .min(file.len());
        Ok(json_response(
            StatusCode::OK,
            &json!({
                "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.DownloadBlockResponse", dv.api_base()),
                "Data": B64.encode(&file[start..end]),
            }),
            &[],
        ))
    })())
}

#[cfg(test)]
mod retrieve_user_privileges {
    //! Written from the Web API reference (learn.microsoft.com): RetrieveUserPrivileges Function
    //! (bound to systemuser, no parameters), RetrieveUserPrivilegesResponse ComplexType
    //! (`RolePrivileges`), RolePrivilege ComplexType (`BusinessUnitId`, `Depth`, `PrivilegeId`,
    //! `PrivilegeName`), PrivilegeDepth EnumType, and "RetrieveUserPrivileges message
    //! privileges" (`prvReadUser`, `prvReadOrganization`).

    use crate::dataverse::Privilege;
    use crate::identity::{CLIENT_ID, CLIENT_SECRET, TENANT_ID};
    use crate::{Sandbox, SandboxOptions};
    use reqwest::StatusCode;
    use serde_json::Value;

    async fn call(sandbox: &Sandbox, user_id: &str) -> (StatusCode, Value) {
        let http = reqwest::Client::new();
        let org = sandbox.urls.dataverse.as_str().trim_end_matches('/');
        let scope = format!("{org}/.default");
        let token: Value = http
            .post(format!(
                "{}{TENANT_ID}/oauth2/v2.0/token",
                sandbox.urls.login
            ))
            .form(&[
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("grant_type", "client_credentials"),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let response = http
            .get(format!(
                "{org}/api/data/v9.2/systemusers({user_id})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
            ))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .header("Accept", "application/json")
            .header("OData-Version", "4.0")
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn names(body: &Value) -> Vec<&str> {
        body["RolePrivileges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["PrivilegeName"].as_str().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn dataverse_retrieve_user_privileges_lists_the_roles_privileges_by_documented_name() {
        let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
        let (user, business_unit) = sandbox.handle.dataverse(|d| {
            (
                d.application_users[CLIENT_ID].systemuser_id.clone(),
                d.business_unit_id.clone(),
            )
        });
        let (status, body) = call(&sandbox, &user).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse"));
        let first = &body["RolePrivileges"][0];
        assert_eq!(first["Depth"], "Global");
        assert_eq!(first["BusinessUnitId"], Value::from(business_unit));
        assert!(first["PrivilegeId"].as_str().unwrap().len() == 36);
        let held = names(&body);
        for name in [
            "prvReadIncident",
            "prvAppendToIncident",
            "prvCreateNote",
            "prvAppendNote",
            "prvCreateActivity",
            "prvReadUser",
            "prvReadOrganization",
        ] {
            assert!(held.contains(&name), "{name} missing from {held:?}");
        }

        sandbox
            .handle
            .dataverse(|d| d.revoke_privilege(CLIENT_ID, "incident", Privilege::Read));
        let (_, body) = call(&sandbox, &user).await;
        assert!(!names(&body).contains(&"prvReadIncident"));
        assert!(names(&body).contains(&"prvWriteIncident"));

        // Unknown users are 404; callers without Read on User get the privilege error.
        let (status, _) = call(&sandbox, "00000000-0000-0000-0000-000000000001").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        sandbox
            .handle
            .dataverse(|d| d.revoke_privilege(CLIENT_ID, "systemuser", Privilege::Read));
        let (status, body) = call(&sandbox, &user).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"]["code"], "0x80040220");
    }
}
