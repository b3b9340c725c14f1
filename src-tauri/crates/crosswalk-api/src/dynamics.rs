//! Smart Connected Item (Dynamics 365 connector) use cases beyond generic jobs: what the
//! item wizard offers, read live from Dataverse and Jira, and the links panel (list, search
//! both sides, link, preview, unlink, bulk link), which stands in for the seed's Jira issue panel.

use crate::api::timestamp;
use crate::dto::{
    CompatibilityLevel, DynamicsCatalogue, DynamicsCatalogueQuery, DynamicsColumnView,
    DynamicsCompatibilityView, DynamicsHits, DynamicsLinkNames, DynamicsLinkPage,
    DynamicsLinkQuery, DynamicsLinkRow, DynamicsMappingCatalogue, DynamicsModuleView, DynamicsName,
    DynamicsOptionView, DynamicsSide, DynamicsTableView, JiraFieldView, JiraIssueTypeView,
    JiraProjectView, JiraStatusView, LinkManaged, MAX_LINKS_PER_PAGE,
};
use crosswalk_core::Trigger;
use crosswalk_core::{Code, UserFacing};
use crosswalk_dataverse::{Attribute, AttributeKind, DataverseClient, EntityInfo, OptionValue};
use crosswalk_dynamics::convert::{self, Compatibility, JiraField};
use crosswalk_dynamics::linking::{self, BulkPair, BulkPreview, BulkRule, LinkPreview};
use crosswalk_dynamics::state::LinkState;
use crosswalk_dynamics::status::{DataverseStates, StatusMap};
use crosswalk_dynamics::sync::Item;
use crosswalk_dynamics::DynamicsItemSettings;
use crosswalk_engine::{Engine, RunRequest, Services};
use crosswalk_jira::{FieldSchema, JiraClient, Status};
use crosswalk_store::{LinkRow, Managed};
use serde_json::Value;

/// The modules the wizard groups tables under, as the seed's step 1 names them, each with the
/// tables it holds in the order its label lists them. Every other table is [`OTHER_MODULE`].
const MODULES: &[(&str, &[&str])] = &[
    ("Dynamics 365 Customer Service", &["incident"]),
    ("Dynamics 365 Sales", &["lead", "opportunity"]),
    ("Activities", &["task"]),
];

/// The module of every table that belongs to no Dynamics 365 app.
pub const OTHER_MODULE: &str = "Dataverse";

/// Most Jira projects listed for the wizard (ten pages); more are reached by key in the JSON.
const MAX_PROJECTS: usize = 1000;

/// The module a table is grouped under.
pub fn module_of(table: &str) -> &'static str {
    MODULES
        .iter()
        .find(|(_, tables)| tables.contains(&table))
        .map_or(OTHER_MODULE, |(name, _)| name)
}

fn facing(user_facing: UserFacing) -> anyhow::Error {
    anyhow::Error::new(user_facing)
}

fn is_not_found(error: &crosswalk_dataverse::Error) -> bool {
    matches!(
        error,
        crosswalk_dataverse::Error::Http(crosswalk_http::Error::NotFound { .. })
    )
}

fn dataverse_error(error: crosswalk_dataverse::Error) -> anyhow::Error {
    facing(error.user_facing())
}

fn jira_error(error: crosswalk_jira::Error) -> anyhow::Error {
    facing(error.user_facing())
}

/// Groups tables into the wizard's modules: the Dynamics 365 apps first (only those whose
/// tables the environment has), then every other table that has a name column, by name.
/// Tables without one (intersect and system tables) cannot be searched or linked, so they are
/// left out.
pub fn group_modules(tables: Vec<EntityInfo>) -> Vec<DynamicsModuleView> {
    let view = |info: &EntityInfo| DynamicsTableView {
        logical_name: info.logical_name.clone(),
        display_name: info
            .display_name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| info.logical_name.clone()),
        entity_set_name: info.entity_set_name.clone(),
        module: module_of(&info.logical_name).to_owned(),
        change_tracking: info.change_tracking_enabled,
    };
    let mut modules = Vec::new();
    for (name, names) in MODULES {
        let tables: Vec<DynamicsTableView> = names
            .iter()
            .filter_map(|wanted| tables.iter().find(|t| t.logical_name == *wanted))
            .map(view)
            .collect();
        if tables.is_empty() {
            continue;
        }
        let listed: Vec<&str> = tables.iter().map(|t| t.display_name.as_str()).collect();
        modules.push(DynamicsModuleView {
            name: (*name).to_owned(),
            label: format!("{name} ({})", listed.join(", ")),
            tables,
        });
    }
    let mut others: Vec<DynamicsTableView> = tables
        .iter()
        .filter(|t| module_of(&t.logical_name) == OTHER_MODULE)
        .filter(|t| t.primary_name_attribute.is_some())
        .map(view)
        .collect();
    others.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then_with(|| a.logical_name.cmp(&b.logical_name))
    });
    if !others.is_empty() {
        modules.push(DynamicsModuleView {
            name: OTHER_MODULE.to_owned(),
            label: OTHER_MODULE.to_owned(),
            tables: others,
        });
    }
    modules
}

/// Both clients of a would-be item, from its two connections.
async fn clients(
    services: &Services,
    dataverse_connection: &str,
    jira_connection: &str,
) -> anyhow::Result<crosswalk_dynamics::connect::Clients> {
    if dataverse_connection.trim().is_empty() || jira_connection.trim().is_empty() {
        return Err(facing(
            UserFacing::new(
                Code::Validation,
                "Choose a Dataverse connection and a Jira connection first.",
            )
            .with_fix("Pick both connections in step 1 of the item (add them on the Connections screen if they are missing)"),
        ));
    }
    // Only the connections matter for building the clients.
    let settings: DynamicsItemSettings = serde_json::from_value(serde_json::json!({
        "dataverse_connection": dataverse_connection.trim(),
        "jira_connection": jira_connection.trim(),
        "jira_project": "",
        "jira_issue_type": "",
        "table": "",
    }))
    .expect("the connection-only settings deserialize");
    crosswalk_dynamics::connect::clients(services, &settings, crosswalk_http::RequestCounter::new())
        .await
}

/// Every project the account can browse, by name (at most [`MAX_PROJECTS`]).
async fn list_projects(jira: &JiraClient) -> anyhow::Result<Vec<JiraProjectView>> {
    let mut projects = Vec::new();
    let mut start = Some(0);
    while let Some(start_at) = start {
        let page = jira
            .search_projects(None, start_at, 100)
            .await
            .map_err(jira_error)?;
        start = page.next_start();
        projects.extend(page.values.into_iter().map(|p| JiraProjectView {
            id: p.id,
            key: p.key,
            name: p.name,
        }));
        if projects.len() >= MAX_PROJECTS {
            break;
        }
    }
    projects.sort_by_key(|p| p.name.to_lowercase());
    Ok(projects)
}

fn no_project(project: &str) -> anyhow::Error {
    facing(
        UserFacing::new(
            Code::NotFound,
            format!("Jira has no project {project} that the connection's account can see."),
        )
        .with_fix("Pick a project from the list, or give the account Browse projects permission on it in Jira"),
    )
}

/// The issue types that can be created in `project`.
async fn list_issue_types(
    jira: &JiraClient,
    project: &str,
) -> anyhow::Result<Vec<JiraIssueTypeView>> {
    let mut types = Vec::new();
    let mut start = 0;
    loop {
        let page = jira
            .issue_types(project, start, 200)
            .await
            .map_err(|error| match error.status() {
                Some(404) => no_project(project),
                _ => jira_error(error),
            })?;
        let count = page.issue_types.len() as u64;
        types.extend(page.issue_types.into_iter().map(|t| JiraIssueTypeView {
            id: t.id,
            name: t.name,
            subtask: t.subtask,
        }));
        start += count;
        if count == 0 || start >= page.total {
            break;
        }
    }
    Ok(types)
}

/// The create-screen fields of an issue type, with whether each is required or has a default.
async fn create_fields(
    jira: &JiraClient,
    project: &str,
    issue_type: &str,
) -> anyhow::Result<Vec<(JiraField, bool, bool)>> {
    let mut fields = Vec::new();
    let mut start = 0;
    loop {
        let page = jira
            .create_meta(project, issue_type, start, 200)
            .await
            .map_err(|error| match error.status() {
                Some(404) => facing(
                    UserFacing::new(
                        Code::NotFound,
                        format!("Project {project} has no issue type with id {issue_type} that can be created."),
                    )
                    .with_fix(format!("Pick one of {project}'s issue types")),
                ),
                _ => jira_error(error),
            })?;
        let count = page.fields.len() as u64;
        for field in page.fields {
            fields.push((
                JiraField {
                    id: field.field_id,
                    name: field.name,
                    schema: field.schema,
                    allowed_values: field.allowed_values,
                },
                field.required,
                field.has_default_value,
            ));
        }
        start += count;
        if count == 0 || start >= page.total {
            break;
        }
    }
    Ok(fields)
}

fn option_views(options: &[OptionValue]) -> Vec<DynamicsOptionView> {
    options
        .iter()
        .map(|option| DynamicsOptionView {
            value: option.value.to_string(),
            label: option.label.clone(),
            state: option.state,
        })
        .collect()
}

/// The options an explicit value map can name for a column.
fn column_options(column: &Attribute) -> Vec<DynamicsOptionView> {
    match &column.kind {
        AttributeKind::Picklist { options }
        | AttributeKind::MultiSelect { options }
        | AttributeKind::State { options }
        | AttributeKind::Status { options } => option_views(options),
        AttributeKind::Boolean {
            true_label,
            false_label,
        } => [("true", true_label, "Yes"), ("false", false_label, "No")]
            .into_iter()
            .map(|(value, label, default)| DynamicsOptionView {
                value: value.to_owned(),
                label: label.clone().unwrap_or_else(|| default.to_owned()),
                state: None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A field's kind in the admin's words.
fn field_type(schema: &FieldSchema, id: &str) -> String {
    let custom = schema.custom.as_deref().unwrap_or_default();
    let system = schema.system.as_deref().unwrap_or(id);
    match (schema.kind.as_str(), schema.items.as_deref()) {
        ("string", _)
            if matches!(system, "description" | "environment") || custom.ends_with(":textarea") =>
        {
            "Rich text".into()
        }
        ("string", _) => "Text".into(),
        ("number", _) => "Number".into(),
        ("date", _) => "Date".into(),
        ("datetime", _) => "Date and time".into(),
        ("array", Some("string")) => "Labels".into(),
        ("option", _) => "Select list".into(),
        ("priority", _) => "Priority".into(),
        ("version", _) => "Version".into(),
        ("user", _) => "User".into(),
        ("array", Some("option")) => "Multi-select list".into(),
        ("array", Some("component")) => "Components".into(),
        ("array", Some("version")) => "Versions".into(),
        ("array", Some("user")) => "Users".into(),
        ("array", Some(items)) => format!("List of {items}"),
        (kind, _) if !custom.is_empty() => {
            format!("{kind} ({})", custom.rsplit(':').next().unwrap_or(custom))
        }
        (kind, _) => kind.to_owned(),
    }
}

/// Labels of a field's allowed values (options have `value`, the others `name`).
fn allowed_labels(values: Option<&Vec<Value>>) -> Vec<String> {
    values
        .into_iter()
        .flatten()
        .filter_map(|value| {
            ["value", "name"]
                .iter()
                .find_map(|key| value.get(*key).and_then(Value::as_str))
                .map(str::to_owned)
        })
        .collect()
}

fn status_view(status: &Status) -> JiraStatusView {
    JiraStatusView {
        id: status.id.clone(),
        name: status.name.clone(),
        category: serde_json::to_value(status.status_category.key)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "undefined".to_owned()),
    }
}

/// Step 2's catalogue: columns, fields, their compatibility, and both sides' statuses with the
/// heuristic status map.
async fn mapping_catalogue(
    dataverse: &DataverseClient,
    jira: &JiraClient,
    table: &str,
    project: &str,
    issue_type: &str,
) -> anyhow::Result<DynamicsMappingCatalogue> {
    let columns = async {
        dataverse.attributes(table).await.map_err(|error| {
            if is_not_found(&error) {
                facing(
                    UserFacing::new(
                        Code::NotFound,
                        format!("Dataverse has no table \"{table}\"."),
                    )
                    .with_fix("Pick a table from the list (its logical name, e.g. incident)"),
                )
            } else {
                dataverse_error(error)
            }
        })
    };
    let statuses = async {
        jira.project_statuses(project)
            .await
            .map_err(|error| match error.status() {
                Some(404) => no_project(project),
                _ => jira_error(error),
            })
    };
    let (mut columns, fields, statuses) =
        tokio::try_join!(columns, create_fields(jira, project, issue_type), statuses)?;
    columns.sort_by(|a, b| {
        let label = |c: &Attribute| {
            c.display_name
                .clone()
                .unwrap_or_else(|| c.logical_name.clone())
                .to_lowercase()
        };
        label(a)
            .cmp(&label(b))
            .then_with(|| a.logical_name.cmp(&b.logical_name))
    });
    let mut fields: Vec<(JiraField, bool, bool)> = fields
        .into_iter()
        .filter(|(field, _, _)| !matches!(field.id.as_str(), "project" | "issuetype"))
        .collect();
    // Required first, then by name.
    fields.sort_by(|(a, a_required, _), (b, b_required, _)| {
        b_required
            .cmp(a_required)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });

    let compatibility = columns
        .iter()
        .flat_map(|column| {
            fields.iter().map(move |(field, _, _)| {
                let (level, reason) = match convert::compatibility(column, field) {
                    Compatibility::Exact => (CompatibilityLevel::Exact, None),
                    Compatibility::Lossy(reason) => (CompatibilityLevel::Lossy, Some(reason)),
                    Compatibility::Incompatible(reason) => {
                        (CompatibilityLevel::Incompatible, Some(reason))
                    }
                };
                DynamicsCompatibilityView {
                    column: column.logical_name.clone(),
                    field: field.id.clone(),
                    level,
                    reason,
                }
            })
        })
        .collect();

    let options = |name: &str| match columns
        .iter()
        .find(|c| c.logical_name == name)
        .map(|c| &c.kind)
    {
        Some(AttributeKind::State { options } | AttributeKind::Status { options }) => {
            options.clone()
        }
        _ => Vec::new(),
    };
    let states = DataverseStates {
        states: options("statecode"),
        statuses: options("statuscode"),
    };
    let jira_statuses: Vec<Status> = statuses
        .into_iter()
        .find(|of_type| of_type.id == issue_type)
        .map(|of_type| of_type.statuses)
        .unwrap_or_default();
    let (map, problems) = StatusMap::build(table, &[], &jira_statuses, &states);

    Ok(DynamicsMappingCatalogue {
        table: table.to_owned(),
        project: project.to_owned(),
        issue_type: issue_type.to_owned(),
        columns: columns
            .iter()
            .map(|column| DynamicsColumnView {
                name: column.logical_name.clone(),
                label: column
                    .display_name
                    .clone()
                    .filter(|name| !name.trim().is_empty())
                    .unwrap_or_else(|| column.logical_name.clone()),
                data_type: crosswalk_dynamics::convert::column_type_name(column),
                options: column_options(column),
            })
            .collect(),
        fields: fields
            .iter()
            .map(|(field, required, has_default)| JiraFieldView {
                id: field.id.clone(),
                name: if field.name.is_empty() {
                    field.id.clone()
                } else {
                    field.name.clone()
                },
                data_type: field_type(&field.schema, &field.id),
                required: *required,
                has_default: *has_default,
                allowed_values: allowed_labels(field.allowed_values.as_ref()),
            })
            .collect(),
        compatibility,
        jira_statuses: jira_statuses.iter().map(status_view).collect(),
        states: option_views(&states.states),
        statuses: option_views(&states.statuses),
        status_rows: map.rows(),
        status_problems: problems.iter().map(ToString::to_string).collect(),
    })
}

fn chosen(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// What the wizard offers for `query`: tables by module and projects always, the project's
/// issue types once a project is chosen, and the mapping catalogue once the table, project and
/// issue type are.
///
/// # Errors
/// Missing or wrong-kind connections, unreadable secrets, remote failures, an unknown table,
/// project or issue type; each with its fix.
pub async fn catalogue(
    services: &Services,
    query: &DynamicsCatalogueQuery,
) -> anyhow::Result<DynamicsCatalogue> {
    let clients = clients(
        services,
        &query.dataverse_connection,
        &query.jira_connection,
    )
    .await?;
    let project = chosen(query.project.as_ref());
    let tables = async {
        clients
            .dataverse
            .list_entities()
            .await
            .map_err(dataverse_error)
    };
    let issue_types = async {
        match project {
            Some(project) => list_issue_types(&clients.jira, project).await,
            None => Ok(Vec::new()),
        }
    };
    let (tables, projects, issue_types) =
        tokio::try_join!(tables, list_projects(&clients.jira), issue_types)?;
    let mapping = match (
        chosen(query.table.as_ref()),
        project,
        chosen(query.issue_type.as_ref()),
    ) {
        (Some(table), Some(project), Some(issue_type)) => Some(
            mapping_catalogue(
                &clients.dataverse,
                &clients.jira,
                table,
                project,
                issue_type,
            )
            .await?,
        ),
        _ => None,
    };
    Ok(DynamicsCatalogue {
        modules: group_modules(tables),
        projects,
        issue_types,
        mapping,
    })
}

/// The id of a Smart Connected Item's job, refusing other kinds.
fn item_job(services: &Services, job_name: &str) -> anyhow::Result<crosswalk_core::JobId> {
    let job = services
        .store
        .get_job(job_name)
        .map_err(|e| facing(e.user_facing()))?;
    if job.config.kind != crosswalk_dynamics::KIND {
        return Err(facing(
            UserFacing::new(
                Code::Validation,
                format!("Job {job_name} is not a Smart Connected Item; only those have links."),
            )
            .with_fix("Pick a dynamics-item job (`crosswalk jobs`)"),
        ));
    }
    Ok(job.id)
}

fn link_row(link: LinkRow) -> DynamicsLinkRow {
    let state = LinkState::from_json(&link.state);
    DynamicsLinkRow {
        jira_key: link.jira_key,
        jira_issue_id: link.jira_issue_id,
        table: link.dataverse_table,
        record_id: link.dataverse_id,
        managed: match link.managed {
            Managed::Auto => LinkManaged::Auto,
            Managed::Manual => LinkManaged::Manual,
        },
        created_at: timestamp(link.created_at),
        baseline_at: link.baseline_at.map(timestamp),
        issue_summary: state.issue_summary,
        record_name: state.record_name,
    }
}

/// The item's links as stored, newest first; no remote calls.
///
/// # Errors
/// `NotFound` for an unknown job, `Validation` for a job of another kind.
pub fn links(services: &Services, job_name: &str) -> anyhow::Result<Vec<DynamicsLinkRow>> {
    let job_id = item_job(services, job_name)?;
    let mut links = services
        .store
        .list_links(job_id)
        .map_err(|e| facing(e.user_facing()))?;
    links.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.0.cmp(&a.id.0))
    });
    Ok(links.into_iter().map(link_row).collect())
}

/// One page of the item's links, newest first, keeping those that [`link_matches`]
/// `query.filter`; no remote calls.
///
/// # Errors
/// `NotFound` for an unknown job, `Validation` for a job of another kind or a page size of 0.
pub fn link_page(
    services: &Services,
    job_name: &str,
    query: &DynamicsLinkQuery,
) -> anyhow::Result<DynamicsLinkPage> {
    if query.limit == 0 {
        return Err(facing(UserFacing::new(
            Code::Validation,
            "A page of links holds at least one row.",
        )));
    }
    let all = links(services, job_name)?;
    let total = count(all.len());
    let matching: Vec<DynamicsLinkRow> = all
        .into_iter()
        .filter(|row| link_matches(row, &query.filter))
        .collect();
    let limit = query.limit.min(MAX_LINKS_PER_PAGE) as usize;
    let offset = (query.offset as usize).min(matching.len());
    let matching_count = count(matching.len());
    let rows = matching.into_iter().skip(offset).take(limit).collect();
    Ok(DynamicsLinkPage {
        rows,
        offset: count(offset),
        matching: matching_count,
        total,
    })
}

/// Whether a link matches the links panel's filter: its issue key, issue id or record id, or
/// the issue summary or record name kept from its link or last sync, contains `filter` (any
/// case, surrounding spaces ignored, accents as typed). Admins search by the names they see;
/// the stored ones cost no remote call. An empty filter matches every link.
pub fn link_matches(row: &DynamicsLinkRow, filter: &str) -> bool {
    let needle = filter.trim().to_lowercase();
    let contains = |text: &str| text.to_lowercase().contains(&needle);
    needle.is_empty()
        || contains(&row.jira_key)
        || contains(&row.jira_issue_id)
        || contains(&row.record_id)
        || row.issue_summary.as_deref().is_some_and(contains)
        || row.record_name.as_deref().is_some_and(contains)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Issue summaries and record names for the links on one page: one Jira search
/// (`key in (…)`, summary only) and one Dataverse read by ids (primary name only) per
/// [`MAX_LINKS_PER_PAGE`] links, both at once. Keys and ids that are not found are left out;
/// a side that fails reports its error and the other side's names are still returned.
///
/// # Errors
/// As [`linking::open`]; `Validation` for more keys or ids than a page holds.
pub async fn link_names(
    services: &Services,
    job_name: &str,
    issue_keys: &[String],
    record_ids: &[String],
) -> anyhow::Result<DynamicsLinkNames> {
    item_job(services, job_name)?;
    let limit = MAX_LINKS_PER_PAGE as usize;
    if issue_keys.len() > limit || record_ids.len() > limit {
        return Err(facing(UserFacing::new(
            Code::Validation,
            format!("Names are read for one page of links at a time (at most {limit})."),
        )));
    }
    let item = linking::open(services, job_name).await?;
    let (issues, records) = tokio::join!(
        issue_summaries(&item, issue_keys),
        record_names(&item, record_ids)
    );
    let (issues, issues_error) = split_side(issues);
    let (records, records_error) = split_side(records);
    Ok(DynamicsLinkNames {
        issues,
        records,
        issues_error,
        records_error,
    })
}

fn split_side(side: Result<Vec<DynamicsName>, UserFacing>) -> (Vec<DynamicsName>, Option<String>) {
    match side {
        Ok(names) => (names, None),
        Err(problem) => (Vec::new(), Some(problem.message.clone())),
    }
}

/// Issue keys as Jira writes them (`SUP-12`); anything else cannot be in a JQL `key in`.
fn is_issue_key(key: &str) -> bool {
    key.rsplit_once('-').is_some_and(|(project, number)| {
        !project.is_empty()
            && project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Summaries by key, in one search per batch. Jira refuses a whole `key in (…)` search when
/// one key no longer exists (a deleted issue), so a refused batch is split in halves until the
/// missing keys are alone; with no deleted issue that is exactly one request.
async fn issue_summaries(item: &Item, keys: &[String]) -> Result<Vec<DynamicsName>, UserFacing> {
    let mut wanted: Vec<String> = Vec::new();
    for key in keys {
        let key = key.trim().to_ascii_uppercase();
        if is_issue_key(&key) && !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    let mut names = Vec::new();
    let mut batches = vec![wanted];
    while let Some(batch) = batches.pop() {
        if batch.is_empty() {
            continue;
        }
        let jql = format!("key in ({})", batch.join(", "));
        let max = count(batch.len());
        match item
            .clients
            .jira
            .search_jql(&jql, &["summary"], None, max)
            .await
        {
            Ok(page) => names.extend(page.issues.into_iter().map(|issue| {
                DynamicsName {
                    name: issue
                        .fields
                        .get("summary")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    id: issue.key,
                }
            })),
            Err(crosswalk_jira::Error::Http(error)) if error.status() == Some(400) => {
                if batch.len() > 1 {
                    let (left, right) = batch.split_at(batch.len() / 2);
                    batches.push(left.to_vec());
                    batches.push(right.to_vec());
                }
                // A single refused key is an issue that is gone: it simply has no name.
            }
            Err(error) => return Err(error.user_facing()),
        }
    }
    Ok(names)
}

/// Primary names by record id: `list_by_ids` with the id and name columns only (one request
/// per 50 ids).
async fn record_names(item: &Item, ids: &[String]) -> Result<Vec<DynamicsName>, UserFacing> {
    let entity = &item.meta.entity;
    let Some(name) = entity.primary_name_attribute.as_deref() else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = ids
        .iter()
        .map(|id| id.trim().to_ascii_lowercase())
        .filter(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let id_attr = entity.primary_id_attribute.as_str();
    let records = item
        .clients
        .dataverse
        .list_by_ids(item.entity_set(), id_attr, &ids, &[id_attr, name], false)
        .await
        .map_err(|error| error.user_facing())?;
    Ok(records
        .into_iter()
        .map(|record| DynamicsName {
            name: record
                .fields
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            id: record.id,
        })
        .collect())
}

fn item_error(error: crosswalk_dynamics::Error) -> anyhow::Error {
    facing(error.user_facing())
}

/// Issues of the item's project (`jira`) or records of its table (`dynamics`) matching `text`.
///
/// # Errors
/// As [`linking::open`], and remote failures.
pub async fn search(
    services: &Services,
    job_name: &str,
    side: DynamicsSide,
    text: &str,
) -> anyhow::Result<DynamicsHits> {
    item_job(services, job_name)?;
    let item = linking::open(services, job_name).await?;
    Ok(match side {
        DynamicsSide::Jira => DynamicsHits {
            side,
            issues: item.search_issues(text).await.map_err(item_error)?,
            records: Vec::new(),
        },
        DynamicsSide::Dynamics => DynamicsHits {
            side,
            issues: Vec::new(),
            records: item.search_records(text).await.map_err(item_error)?,
        },
    })
}

/// Links an issue to a record by hand and previews the new link.
///
/// # Errors
/// Either side linked already (`Conflict`), an issue of another project, a record or issue
/// that does not exist, remote failures.
pub async fn link(
    services: &Services,
    job_name: &str,
    issue_key: &str,
    record_id: &str,
) -> anyhow::Result<LinkPreview> {
    item_job(services, job_name)?;
    let (issue_key, record_id) = (issue_key.trim(), record_id.trim());
    if issue_key.is_empty() || record_id.is_empty() {
        return Err(facing(
            UserFacing::new(Code::Validation, "Choose an issue and a record to link.")
                .with_fix("Search both sides and pick one of each"),
        ));
    }
    let item = linking::open(services, job_name).await?;
    let link = item.link(issue_key, record_id).await.map_err(item_error)?;
    item.preview(&link).await.map_err(item_error)
}

/// Removes a manual link (by issue key or record id); neither the issue nor the record is
/// deleted.
///
/// # Errors
/// No such link (`NotFound`), an auto-managed link (`Conflict`), remote failures.
pub async fn unlink(
    services: &Services,
    job_name: &str,
    issue_key_or_record: &str,
) -> anyhow::Result<()> {
    find_link(services, job_name, issue_key_or_record)?;
    let item = linking::open(services, job_name).await?;
    item.unlink(issue_key_or_record.trim())
        .await
        .map_err(item_error)
}

/// The stored link of an issue (key or id) or record, or a `NotFound` naming the item.
fn find_link(services: &Services, job_name: &str, key: &str) -> anyhow::Result<LinkRow> {
    let job_id = item_job(services, job_name)?;
    let key = key.trim();
    services
        .store
        .list_links(job_id)
        .map_err(|e| facing(e.user_facing()))?
        .into_iter()
        .find(|l| {
            l.jira_key.eq_ignore_ascii_case(key)
                || l.jira_issue_id == key
                || l.dataverse_id.eq_ignore_ascii_case(key)
        })
        .ok_or_else(|| {
            facing(
                UserFacing::new(
                    Code::NotFound,
                    format!("Item {job_name} has no link of {key}."),
                )
                .with_fix("Refresh the links list; the link may have been removed"),
            )
        })
}

/// Both sides of an issue's link as they are now ("Refresh preview").
///
/// # Errors
/// No link for the issue (`NotFound`), remote failures (a deleted record or issue is their
/// 404).
pub async fn preview(
    services: &Services,
    job_name: &str,
    issue_key: &str,
) -> anyhow::Result<LinkPreview> {
    let link = find_link(services, job_name, issue_key)?;
    let item = linking::open(services, job_name).await?;
    item.preview(&link).await.map_err(item_error)
}

/// What a bulk link run did (its counts of `link` events).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DynamicsBulkResult {
    /// The run that linked them (its log has one event per record).
    #[ts(type = "number")]
    pub run_id: i64,
    pub status: crosswalk_core::RunStatus,
    /// Pairs asked for.
    pub requested: u32,
    pub linked: u32,
    /// Linked already (a retry), or one side linked elsewhere since the preview.
    pub skipped: u32,
    pub failed: u32,
    /// Why the run stopped, when it did.
    pub error: Option<String>,
}

/// Proposes the pairs a bulk link would make under `rule`; writes nothing.
///
/// # Errors
/// As [`linking::open`]; an unknown column or field, an invalid filter, remote failures.
pub async fn bulk_preview(
    services: &Services,
    job_name: &str,
    rule: &BulkRule,
) -> anyhow::Result<BulkPreview> {
    item_job(services, job_name)?;
    if rule.dataverse_column.trim().is_empty() || rule.jira_field.trim().is_empty() {
        return Err(facing(
            UserFacing::new(
                Code::Validation,
                "Choose a Dynamics column and a Jira field to match on.",
            )
            .with_fix("For example Case Number (ticketnumber) and a Jira text field holding it, or title and summary"),
        ));
    }
    let item = linking::open(services, job_name).await?;
    item.bulk_preview(rule).await.map_err(|error| match (&error, &rule.filter) {
        // Dataverse's 400 on a read with the admin's filter: the filter is what is wrong.
        (
            crosswalk_dynamics::Error::Dataverse(crosswalk_dataverse::Error::Http(
                crosswalk_http::Error::Remote { status, detail, .. },
            )),
            Some(filter),
        ) if status.as_u16() == 400 => facing(
            UserFacing::new(
                Code::Validation,
                format!("Dataverse refused the filter \"{filter}\": {detail}"),
            )
            .with_fix("Correct the OData $filter (column logical names, text in single quotes), e.g. statecode eq 0"),
        ),
        _ => item_error(error),
    })
}

/// Links previewed pairs as a run of the item (its log shows one event per record, its
/// progress moves as it goes) and waits for it. A retry is safe: pairs linked already are
/// skipped and get no second note; a run stopped by a failure leaves the rest queued for the
/// next run.
///
/// # Errors
/// No pairs (`Validation`); the item running already (`Conflict`); an unknown job or kind.
pub async fn bulk_link(
    engine: &Engine,
    job_name: &str,
    pairs: &[BulkPair],
) -> anyhow::Result<DynamicsBulkResult> {
    bulk_link_as(engine, job_name, pairs, Trigger::SyncNow).await
}

/// [`bulk_link`] with the run's trigger named (`crosswalk bulk-link --yes` records `cli`).
///
/// # Errors
/// As [`bulk_link`].
pub async fn bulk_link_as(
    engine: &Engine,
    job_name: &str,
    pairs: &[BulkPair],
    trigger: Trigger,
) -> anyhow::Result<DynamicsBulkResult> {
    let services = engine.services();
    let job_id = item_job(services, job_name)?;
    if pairs.is_empty() {
        return Err(facing(
            UserFacing::new(Code::Validation, "There are no pairs to link.")
                .with_fix("Preview the bulk link and check that it found pairs"),
        ));
    }
    if engine.is_running(job_id) {
        return Err(facing(
            UserFacing::new(
                Code::Conflict,
                format!("Item {job_name} is running; the bulk link can start when it ends."),
            )
            .with_fix("Wait for the run to finish (Runs screen), then link again"),
        ));
    }
    linking::queue_bulk(&services.store, job_id, pairs).map_err(item_error)?;
    let (run_id, status) = engine
        .run_to_end(RunRequest {
            job_name: job_name.to_owned(),
            trigger,
            dry_run: false,
        })
        .await?;
    let run = services
        .store
        .get_run(run_id)
        .map_err(|e| facing(e.user_facing()))?;
    let counts = run.counts.get("link").cloned().unwrap_or_default();
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(DynamicsBulkResult {
        run_id: run_id.0,
        status,
        requested: u32::try_from(pairs.len()).unwrap_or(u32::MAX),
        linked: narrow(counts.created),
        skipped: narrow(counts.skipped),
        failed: narrow(counts.failed),
        error: run.error.map(|e| e.message),
    })
}

#[cfg(test)]
mod tests;
