//! Generated Jira site and Assets workspace (api/atlassian.md §B, §D): two projects (SUP, a
//! service desk; ENG, a software project), their issue types, system and custom fields of every
//! schema kind the connector maps, two workflows whose statuses span the three status categories
//! (including Resolved, Closed and Cancelled), users, components, versions, and issues with ADF
//! comments and changelogs. Deterministic: same size + seed, same site.
//!
//! Times are stored as "seconds before the sandbox starts", so a generated site always looks
//! recently active whatever the wall clock says.

use crate::Size;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The site's cloud id (`/_edge/tenant_info`, the `/ex/jira/{cloudId}` gateway prefix).
pub const CLOUD_ID: &str = "6f2b8c1e-4d3a-4e7b-9a1c-5d8e2f3b4a6c";
/// The Assets workspace id (`/rest/servicedeskapi/assets/workspace`).
pub const WORKSPACE_ID: &str = "f1668d0c-828c-470c-b7d1-8c4f48cd345a";

/// A Jira status category (api/atlassian.md §B.7: ids 2/4/3, keys new/indeterminate/done).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCategory {
    New,
    Indeterminate,
    Done,
}

impl StatusCategory {
    pub fn id(self) -> i64 {
        match self {
            StatusCategory::New => 2,
            StatusCategory::Indeterminate => 4,
            StatusCategory::Done => 3,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            StatusCategory::New => "new",
            StatusCategory::Indeterminate => "indeterminate",
            StatusCategory::Done => "done",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StatusCategory::New => "To Do",
            StatusCategory::Indeterminate => "In Progress",
            StatusCategory::Done => "Done",
        }
    }

    pub fn color(self) -> &'static str {
        match self {
            StatusCategory::New => "blue-gray",
            StatusCategory::Indeterminate => "yellow",
            StatusCategory::Done => "green",
        }
    }
}

/// A person (or app) with an Atlassian account.
#[derive(Debug, Clone)]
pub struct SeedUser {
    pub account_id: String,
    pub display_name: String,
    pub email: String,
    /// Whether the profile shows the email (hidden ones are found only by the exact address).
    pub email_visible: bool,
    pub active: bool,
    /// `atlassian`, `customer` (JSM portal-only) or `app`.
    pub account_type: String,
    /// IANA name reported by `/myself`.
    pub time_zone: String,
    /// Its offset from UTC in minutes, used to read JQL date literals (the sandbox has no DST).
    pub utc_offset_minutes: i32,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: String,
    pub name: String,
    pub category: StatusCategory,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub id: String,
    pub name: String,
    pub to: String,
    /// Statuses it leaves from; empty = global (from any status).
    pub from: Vec<String>,
    /// Whether it has a screen (then `resolution` may be set with it).
    pub has_screen: bool,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub initial: String,
    pub statuses: Vec<String>,
    pub transitions: Vec<Transition>,
}

#[derive(Debug, Clone)]
pub struct IssueType {
    pub id: String,
    pub name: String,
    pub description: String,
    pub subtask: bool,
    /// Index into [`JiraSeed::workflows`].
    pub workflow: usize,
    /// Fields on its create/edit screen (besides project and issuetype).
    pub screen: Vec<String>,
    /// Required fields among them.
    pub required: Vec<String>,
}

/// A field definition (`GET /rest/api/3/field`).
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    pub custom: bool,
    pub schema_type: String,
    pub items: Option<String>,
    /// `schema.system` for system fields.
    pub system: Option<String>,
    /// `schema.custom` for custom fields (`com.atlassian.jira.plugin.system.customfieldtypes:…`).
    pub custom_type: Option<String>,
    /// Options of select fields: (id, value).
    pub options: Vec<(String, String)>,
    pub orderable: bool,
    pub navigable: bool,
    pub searchable: bool,
}

impl FieldDef {
    /// The numeric id of a custom field.
    pub fn custom_id(&self) -> Option<i64> {
        self.id.strip_prefix("customfield_")?.parse().ok()
    }

    /// Whether values are Atlassian Document Format documents in v3.
    pub fn is_adf(&self) -> bool {
        matches!(self.id.as_str(), "description" | "environment")
            || self
                .custom_type
                .as_deref()
                .is_some_and(|c| c.ends_with(":textarea"))
    }
}

#[derive(Debug, Clone)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub name: String,
    pub released: bool,
    pub archived: bool,
    pub release_date: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    /// `service_desk` or `software`.
    pub project_type_key: String,
    pub lead: String,
    pub issue_types: Vec<String>,
    pub components: Vec<Component>,
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone)]
pub struct Resolution {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Priority {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct SeedComment {
    pub author: String,
    /// Plain text; becomes an ADF paragraph per line.
    pub text: String,
    pub ago_secs: i64,
}

#[derive(Debug, Clone)]
pub struct SeedChangeItem {
    pub field: String,
    pub field_id: String,
    pub fieldtype: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SeedHistory {
    pub author: String,
    pub ago_secs: i64,
    pub items: Vec<SeedChangeItem>,
}

/// A generated issue. `fields` are written as a REST client would send them (and go through the
/// same validation as `POST /issue`).
#[derive(Debug, Clone)]
pub struct SeedIssue {
    pub project: String,
    pub issue_type: String,
    pub fields: serde_json::Map<String, Value>,
    pub status: String,
    pub resolution: Option<String>,
    pub reporter: String,
    pub created_ago_secs: i64,
    pub updated_ago_secs: i64,
    pub comments: Vec<SeedComment>,
    pub histories: Vec<SeedHistory>,
}

/// An attribute of a pre-existing Assets object type.
#[derive(Debug, Clone)]
pub struct SeedAttribute {
    pub name: String,
    /// 0 default, 1 reference, 2 user, 4 group, 7 status.
    pub kind: i64,
    pub default_type_id: i64,
    pub options: String,
    pub unique: bool,
}

#[derive(Debug, Clone)]
pub struct SeedObjectType {
    pub name: String,
    pub description: String,
    pub icon_id: String,
    pub attributes: Vec<SeedAttribute>,
    /// Objects: (attribute name, value) pairs; "Name" is the label.
    pub objects: Vec<Vec<(String, String)>>,
}

#[derive(Debug, Clone)]
pub struct SeedSchema {
    pub name: String,
    pub key: String,
    pub description: String,
    pub object_types: Vec<SeedObjectType>,
}

#[derive(Debug, Clone, Default)]
pub struct AssetsSeed {
    pub workspace_id: String,
    pub schemas: Vec<SeedSchema>,
}

/// The generated Jira/Assets seed.
#[derive(Debug, Clone, Default)]
pub struct JiraSeed {
    pub cloud_id: String,
    pub site_name: String,
    pub users: Vec<SeedUser>,
    pub priorities: Vec<Priority>,
    pub resolutions: Vec<Resolution>,
    pub statuses: Vec<Status>,
    pub workflows: Vec<Workflow>,
    pub issue_types: Vec<IssueType>,
    pub fields: Vec<FieldDef>,
    pub projects: Vec<Project>,
    pub issues: Vec<SeedIssue>,
    pub assets: AssetsSeed,
}

/// The admin account's id (`admin@contoso.com`).
pub const ADMIN_ACCOUNT_ID: &str = "712020:5b10ac8d82e05b22cc7d4ef5";
/// The read-only agent's id (`viewer@contoso.com`).
pub const VIEWER_ACCOUNT_ID: &str = "712020:60d3e1a4c2b7f80069a1c3d2";

const FIRST: [&str; 16] = [
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
];
const LAST: [&str; 12] = [
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Mueller",
    "Langer",
    "Lorenz",
    "Sherman",
    "Gu",
    "Holloway",
    "Robinson",
    "Bowen",
];
const ZONES: [(&str, i32); 5] = [
    ("UTC", 0),
    ("Australia/Brisbane", 600),
    ("Asia/Kolkata", 330),
    ("America/Phoenix", -420),
    ("Asia/Tokyo", 540),
];
const SUBJECTS: [&str; 12] = [
    "Printer on floor 3 offline",
    "Cannot sign in to the VPN",
    "Laptop battery swelling",
    "Request access to the finance share",
    "Outlook keeps asking for password",
    "New starter equipment",
    "Teams calls drop after 5 minutes",
    "Sync job fails with 429",
    "Dataverse lookup not mapped",
    "Upgrade the build agents",
    "Broken link in the portal",
    "Mailbox quota exceeded",
];

fn ft(id: &str, name: &str, schema_type: &str, items: Option<&str>, system: bool) -> FieldDef {
    FieldDef {
        id: id.into(),
        name: name.into(),
        custom: false,
        schema_type: schema_type.into(),
        items: items.map(Into::into),
        system: system.then(|| id.into()),
        custom_type: None,
        options: Vec::new(),
        orderable: true,
        navigable: true,
        searchable: true,
    }
}

fn cf(id: u32, name: &str, schema_type: &str, items: Option<&str>, kind: &str) -> FieldDef {
    FieldDef {
        id: format!("customfield_{id}"),
        name: name.into(),
        custom: true,
        schema_type: schema_type.into(),
        items: items.map(Into::into),
        system: None,
        custom_type: Some(format!(
            "com.atlassian.jira.plugin.system.customfieldtypes:{kind}"
        )),
        options: Vec::new(),
        orderable: true,
        navigable: true,
        searchable: true,
    }
}

fn options(field: FieldDef, first_id: u32, values: &[&str]) -> FieldDef {
    FieldDef {
        options: values
            .iter()
            .enumerate()
            .map(|(i, v)| ((first_id + i as u32).to_string(), (*v).to_owned()))
            .collect(),
        ..field
    }
}

fn fields() -> Vec<FieldDef> {
    let readonly = |mut f: FieldDef| {
        f.orderable = false;
        f
    };
    vec![
        ft("summary", "Summary", "string", None, true),
        ft("description", "Description", "string", None, true),
        ft("environment", "Environment", "string", None, true),
        ft("issuetype", "Issue Type", "issuetype", None, true),
        ft("project", "Project", "project", None, true),
        ft("priority", "Priority", "priority", None, true),
        ft("labels", "Labels", "array", Some("string"), true),
        ft("assignee", "Assignee", "user", None, true),
        ft("reporter", "Reporter", "user", None, true),
        ft("duedate", "Due date", "date", None, true),
        ft("components", "Components", "array", Some("component"), true),
        ft(
            "fixVersions",
            "Fix versions",
            "array",
            Some("version"),
            true,
        ),
        ft(
            "versions",
            "Affects versions",
            "array",
            Some("version"),
            true,
        ),
        ft("resolution", "Resolution", "resolution", None, true),
        readonly(ft("status", "Status", "status", None, true)),
        readonly(ft("created", "Created", "datetime", None, true)),
        readonly(ft("updated", "Updated", "datetime", None, true)),
        readonly(ft("resolutiondate", "Resolved", "datetime", None, true)),
        readonly(ft(
            "statuscategorychangedate",
            "Status Category Changed",
            "datetime",
            None,
            true,
        )),
        readonly(ft("creator", "Creator", "user", None, true)),
        ft("comment", "Comment", "comments-page", None, true),
        ft(
            "attachment",
            "Attachment",
            "array",
            Some("attachment"),
            true,
        ),
        ft(
            "issuelinks",
            "Linked Issues",
            "array",
            Some("issuelinks"),
            true,
        ),
        readonly(ft(
            "subtasks",
            "Sub-tasks",
            "array",
            Some("issuelinks"),
            true,
        )),
        cf(10010, "Customer Reference", "string", None, "textfield"),
        cf(10011, "Story Points", "number", None, "float"),
        cf(10012, "Target Date", "date", None, "datepicker"),
        cf(10013, "Dynamics Last Sync", "datetime", None, "datetime"),
        options(
            cf(10014, "Severity", "option", None, "select"),
            10100,
            &["Sev 1", "Sev 2", "Sev 3", "Sev 4"],
        ),
        options(
            cf(
                10015,
                "Affected Regions",
                "array",
                Some("option"),
                "multiselect",
            ),
            10110,
            &["EMEA", "Americas", "APAC"],
        ),
        cf(10016, "Customer Contact", "user", None, "userpicker"),
        cf(10017, "Tags", "array", Some("string"), "labels"),
        cf(10018, "Resolution Notes", "string", None, "textarea"),
        cf(10019, "Impacted Version", "version", None, "version"),
        cf(10020, "Case URL", "string", None, "url"),
        options(
            cf(
                10021,
                "Approved",
                "array",
                Some("option"),
                "multicheckboxes",
            ),
            10120,
            &["Yes"],
        ),
        // A number field on the service project's screen (Story Points is on ENG's only), so
        // Dynamics number columns have a counterpart there.
        cf(10022, "Affected Users", "number", None, "float"),
    ]
}

fn st(id: &str, name: &str, category: StatusCategory) -> Status {
    Status {
        id: id.into(),
        name: name.into(),
        category,
    }
}

fn tr(id: &str, name: &str, to: &str, from: &[&str], has_screen: bool) -> Transition {
    Transition {
        id: id.into(),
        name: name.into(),
        to: to.into(),
        from: from.iter().map(|s| (*s).to_owned()).collect(),
        has_screen,
    }
}

fn workflows() -> (Vec<Status>, Vec<Workflow>) {
    use StatusCategory::*;
    let statuses = vec![
        st("1", "Open", New),
        st("3", "In Progress", Indeterminate),
        st("5", "Resolved", Done),
        st("6", "Closed", Done),
        st("10000", "To Do", New),
        st("10001", "Done", Done),
        st("10002", "Waiting for customer", Indeterminate),
        st("10003", "Cancelled", Done),
        st("10004", "In Review", Indeterminate),
    ];
    let service = Workflow {
        name: "SUP: Service Management workflow".into(),
        initial: "1".into(),
        statuses: ["1", "3", "10002", "5", "6", "10003"]
            .map(String::from)
            .to_vec(),
        transitions: vec![
            tr("11", "Start progress", "3", &["1", "10002"], false),
            tr("21", "Wait for customer", "10002", &["3"], false),
            tr("31", "Resolve", "5", &["1", "3", "10002"], true),
            tr("41", "Close", "6", &["5"], false),
            tr("51", "Reopen", "1", &["5", "6", "10003"], false),
            tr("61", "Cancel request", "10003", &["1", "3", "10002"], true),
        ],
    };
    let software = Workflow {
        name: "ENG: Software Simplified Workflow".into(),
        initial: "10000".into(),
        statuses: ["10000", "3", "10004", "10001"].map(String::from).to_vec(),
        transitions: vec![
            tr("11", "Start", "3", &["10000"], false),
            tr("21", "Review", "10004", &["3"], false),
            tr("31", "Done", "10001", &[], false),
            tr(
                "41",
                "Back to To Do",
                "10000",
                &["3", "10004", "10001"],
                false,
            ),
        ],
    };
    (statuses, vec![service, software])
}

fn issue_types() -> Vec<IssueType> {
    let strs = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let sup_screen = strs(&[
        "summary",
        "description",
        "priority",
        "labels",
        "assignee",
        "reporter",
        "duedate",
        "components",
        "fixVersions",
        "versions",
        "customfield_10010",
        "customfield_10012",
        "customfield_10013",
        "customfield_10014",
        "customfield_10015",
        "customfield_10016",
        "customfield_10017",
        "customfield_10018",
        "customfield_10020",
        "customfield_10021",
        "customfield_10022",
    ]);
    let eng_screen = strs(&[
        "summary",
        "description",
        "environment",
        "priority",
        "labels",
        "assignee",
        "reporter",
        "duedate",
        "components",
        "fixVersions",
        "versions",
        "customfield_10010",
        "customfield_10011",
        "customfield_10012",
        "customfield_10013",
        "customfield_10017",
        "customfield_10019",
    ]);
    let it = |id: &str,
              name: &str,
              desc: &str,
              workflow: usize,
              screen: &Vec<String>,
              required: &[&str]| IssueType {
        id: id.into(),
        name: name.into(),
        description: desc.into(),
        subtask: false,
        workflow,
        screen: screen.clone(),
        required: strs(required),
    };
    vec![
        it(
            "10001",
            "Task",
            "A small, distinct piece of work.",
            1,
            &eng_screen,
            &["summary"],
        ),
        it(
            "10002",
            "Bug",
            "A problem or error.",
            1,
            &eng_screen,
            &["summary"],
        ),
        it(
            "10003",
            "Story",
            "A user story.",
            1,
            &eng_screen,
            &["summary"],
        ),
        it(
            "10004",
            "Service Request",
            "Request for help or information.",
            0,
            &sup_screen,
            &["summary"],
        ),
        it(
            "10005",
            "Incident",
            "An unplanned interruption to a service.",
            0,
            &sup_screen,
            &["summary", "customfield_10014"],
        ),
    ]
}

fn user(rng: &mut StdRng, i: usize) -> SeedUser {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len() + i) % LAST.len()];
    let (zone, offset) = ZONES[rng.random_range(0..ZONES.len())];
    let suffix = if i >= FIRST.len() {
        format!("{}", i / FIRST.len())
    } else {
        String::new()
    };
    let hex: String = (0..24)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect();
    SeedUser {
        account_id: format!("712020:{hex}"),
        display_name: format!("{first} {last}"),
        email: format!(
            "{}.{}{suffix}@contoso.com",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        email_visible: i % 5 != 3,
        active: i % 11 != 7,
        account_type: if i % 6 == 5 {
            "customer".into()
        } else {
            "atlassian".into()
        },
        time_zone: zone.into(),
        utc_offset_minutes: offset,
    }
}

/// An ADF document with one paragraph per non-empty line.
pub fn adf_text(text: &str) -> Value {
    let content: Vec<Value> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| json!({"type":"paragraph","content":[{"type":"text","text":l}]}))
        .collect();
    json!({"type":"doc","version":1,"content":content})
}

fn assets_seed() -> AssetsSeed {
    let attr =
        |name: &str, kind: i64, default_type_id: i64, options: &str, unique: bool| SeedAttribute {
            name: name.into(),
            kind,
            default_type_id,
            options: options.into(),
            unique,
        };
    let obj = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    AssetsSeed {
        workspace_id: WORKSPACE_ID.into(),
        schemas: vec![SeedSchema {
            name: "IT Assets".into(),
            key: "ITA".into(),
            description: "Hand-maintained hardware inventory (pre-existing).".into(),
            object_types: vec![
                SeedObjectType {
                    name: "Laptop".into(),
                    description: "Company laptops".into(),
                    icon_id: "3".into(),
                    attributes: vec![
                        attr("Serial Number", 0, 0, "", true),
                        attr(
                            "Model",
                            0,
                            10,
                            "Surface Laptop 5,ThinkPad X1,MacBook Air",
                            false,
                        ),
                        attr("Purchase Date", 0, 4, "", false),
                    ],
                    objects: vec![
                        obj(&[
                            ("Name", "LT-0001"),
                            ("Serial Number", "SN-48213"),
                            ("Model", "ThinkPad X1"),
                            ("Purchase Date", "2023-04-12"),
                        ]),
                        obj(&[
                            ("Name", "LT-0002"),
                            ("Serial Number", "SN-48214"),
                            ("Model", "Surface Laptop 5"),
                        ]),
                    ],
                },
                // Named like the types Entra Sync creates, with another shape: a dedicated
                // schema is needed ("conflicting type names", seeds/000).
                SeedObjectType {
                    name: "Entra User".into(),
                    description: "Manually maintained staff list".into(),
                    icon_id: "5".into(),
                    attributes: vec![
                        attr("Email", 0, 8, "", false),
                        attr("Department", 0, 0, "", false),
                    ],
                    objects: vec![obj(&[
                        ("Name", "Adele Vance"),
                        ("Email", "adele.vance@contoso.com"),
                        ("Department", "Retail"),
                    ])],
                },
                SeedObjectType {
                    name: "Entra Group".into(),
                    description: "Manually maintained teams".into(),
                    icon_id: "6".into(),
                    attributes: vec![attr("Owner Email", 0, 8, "", false)],
                    objects: Vec::new(),
                },
            ],
        }],
    }
}

/// Generates the Jira site for `size` from `seed`.
pub fn generate(size: Size, seed: u64) -> JiraSeed {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4a49_5241);
    let (issue_count, user_count) = match size {
        Size::Tiny => (10, 8),
        Size::Small => (200, 30),
        Size::Medium => (2_000, 100),
        Size::Large => (10_000, 300),
    };
    let mut users = vec![
        SeedUser {
            account_id: ADMIN_ACCOUNT_ID.into(),
            display_name: "Contoso Admin".into(),
            email: "admin@contoso.com".into(),
            email_visible: true,
            active: true,
            account_type: "atlassian".into(),
            // A zone without DST and far from UTC: JQL date literals are read in it (§B.6).
            time_zone: "Australia/Brisbane".into(),
            utc_offset_minutes: 600,
        },
        SeedUser {
            account_id: VIEWER_ACCOUNT_ID.into(),
            display_name: "Viewer Agent".into(),
            email: "viewer@contoso.com".into(),
            email_visible: true,
            active: true,
            account_type: "atlassian".into(),
            time_zone: "UTC".into(),
            utc_offset_minutes: 0,
        },
    ];
    for i in 0..user_count {
        users.push(user(&mut rng, i));
    }
    let agents: Vec<String> = users
        .iter()
        .filter(|u| u.active && u.account_type == "atlassian")
        .map(|u| u.account_id.clone())
        .collect();
    let (statuses, workflows) = workflows();
    let issue_types = issue_types();
    let projects = vec![
        Project {
            id: "10000".into(),
            key: "SUP".into(),
            name: "IT Support".into(),
            project_type_key: "service_desk".into(),
            lead: ADMIN_ACCOUNT_ID.into(),
            issue_types: vec!["10004".into(), "10005".into()],
            components: ["Email", "Hardware", "Network", "Access"]
                .iter()
                .enumerate()
                .map(|(i, n)| Component {
                    id: (10000 + i).to_string(),
                    name: (*n).into(),
                    description: format!("{n} requests"),
                })
                .collect(),
            // Service releases, so Case columns can map to fix / affects versions there too.
            // Version ids are site-wide: ENG's are 10000-10002.
            versions: vec![
                Version {
                    id: "10003".into(),
                    name: "2024.4".into(),
                    released: true,
                    archived: false,
                    release_date: Some("2024-12-02".into()),
                },
                Version {
                    id: "10004".into(),
                    name: "2025.1".into(),
                    released: true,
                    archived: false,
                    release_date: Some("2025-03-03".into()),
                },
                Version {
                    id: "10005".into(),
                    name: "2025.2".into(),
                    released: false,
                    archived: false,
                    release_date: None,
                },
            ],
        },
        Project {
            id: "10001".into(),
            key: "ENG".into(),
            name: "Engineering".into(),
            project_type_key: "software".into(),
            lead: ADMIN_ACCOUNT_ID.into(),
            issue_types: vec!["10001".into(), "10002".into(), "10003".into()],
            components: ["Backend", "Frontend", "Sync Engine"]
                .iter()
                .enumerate()
                .map(|(i, n)| Component {
                    id: (10010 + i).to_string(),
                    name: (*n).into(),
                    description: String::new(),
                })
                .collect(),
            versions: vec![
                Version {
                    id: "10000".into(),
                    name: "1.0".into(),
                    released: true,
                    archived: false,
                    release_date: Some("2024-11-04".into()),
                },
                Version {
                    id: "10001".into(),
                    name: "1.1".into(),
                    released: true,
                    archived: false,
                    release_date: Some("2025-03-17".into()),
                },
                Version {
                    id: "10002".into(),
                    name: "2.0".into(),
                    released: false,
                    archived: false,
                    release_date: None,
                },
            ],
        },
    ];
    let priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
        .iter()
        .enumerate()
        .map(|(i, n)| Priority {
            id: (i + 1).to_string(),
            name: (*n).into(),
        })
        .collect();
    let resolutions = [
        ("10000", "Done", "Work has been completed."),
        ("10001", "Won't Do", "This issue won't be actioned."),
        (
            "10002",
            "Duplicate",
            "The problem is a duplicate of an existing issue.",
        ),
        (
            "10003",
            "Cannot Reproduce",
            "All attempts at reproducing this issue failed.",
        ),
    ]
    .iter()
    .map(|(id, n, d)| Resolution {
        id: (*id).into(),
        name: (*n).into(),
        description: (*d).into(),
    })
    .collect();

    let mut issues = Vec::new();
    for i in 0..issue_count {
        let project = &projects[i % 2];
        let type_id = project.issue_types[rng.random_range(0..project.issue_types.len())].clone();
        let issue_type = issue_types
            .iter()
            .find(|t| t.id == type_id)
            .expect("type exists");
        let workflow = &workflows[issue_type.workflow];
        let status = workflow.statuses[rng.random_range(0..workflow.statuses.len())].clone();
        let done = statuses
            .iter()
            .any(|s| s.id == status && s.category == StatusCategory::Done);
        let created_ago = rng.random_range(3_600..60 * 86_400_i64);
        let updated_ago = rng.random_range(60..created_ago);
        let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
        let reporter = agents[rng.random_range(0..agents.len())].clone();
        let mut fields = serde_json::Map::new();
        fields.insert("summary".into(), json!(format!("{subject} ({})", i + 1)));
        fields.insert(
            "description".into(),
            adf_text(&format!("{subject}.\nReported through the portal.")),
        );
        fields.insert(
            "priority".into(),
            json!({"id": rng.random_range(1..=5).to_string()}),
        );
        if rng.random_bool(0.5) {
            fields.insert("labels".into(), json!(["synced"]));
        }
        if rng.random_bool(0.7) {
            fields.insert(
                "assignee".into(),
                json!({"accountId": agents[rng.random_range(0..agents.len())]}),
            );
        }
        let component = &project.components[rng.random_range(0..project.components.len())];
        fields.insert("components".into(), json!([{"id": component.id}]));
        if project.key == "SUP" {
            fields.insert(
                "customfield_10010".into(),
                json!(format!("CAS-{:05}", 1000 + i)),
            );
            fields.insert(
                "customfield_10014".into(),
                json!({"value": format!("Sev {}", rng.random_range(1..=4))}),
            );
            if rng.random_bool(0.4) {
                fields.insert("customfield_10015".into(), json!([{"value": "EMEA"}]));
            }
        } else {
            fields.insert("customfield_10011".into(), json!(rng.random_range(1..=13)));
            if rng.random_bool(0.5) {
                fields.insert("fixVersions".into(), json!([{"name": "2.0"}]));
            }
        }
        let mut comments = Vec::new();
        for c in 0..rng.random_range(0..3) {
            comments.push(SeedComment {
                author: agents[rng.random_range(0..agents.len())].clone(),
                text: format!("Update {}: looking into it.", c + 1),
                ago_secs: rng.random_range(updated_ago..=created_ago),
            });
        }
        comments.sort_by_key(|c| -c.ago_secs);
        let mut histories = Vec::new();
        let initial = &workflow.initial;
        if status != *initial {
            let name = |id: &str| statuses.iter().find(|s| s.id == id).map(|s| s.name.clone());
            histories.push(SeedHistory {
                author: issue_type_agent(&agents, i),
                ago_secs: updated_ago,
                items: vec![SeedChangeItem {
                    field: "status".into(),
                    field_id: "status".into(),
                    fieldtype: "jira".into(),
                    from: Some(initial.clone()),
                    from_string: name(initial),
                    to: Some(status.clone()),
                    to_string: name(&status),
                }],
            });
        }
        issues.push(SeedIssue {
            project: project.key.clone(),
            issue_type: type_id,
            fields,
            resolution: done.then(|| {
                if status == "10003" {
                    "10001".into()
                } else {
                    "10000".into()
                }
            }),
            status,
            reporter,
            created_ago_secs: created_ago,
            updated_ago_secs: updated_ago,
            comments,
            histories,
        });
    }
    JiraSeed {
        cloud_id: CLOUD_ID.into(),
        site_name: "contoso".into(),
        users,
        priorities,
        resolutions,
        statuses,
        workflows,
        issue_types,
        fields: fields(),
        projects,
        issues,
        assets: assets_seed(),
    }
}

fn issue_type_agent(agents: &[String], i: usize) -> String {
    agents[i % agents.len()].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_site() {
        let a = generate(Size::Small, 7);
        let b = generate(Size::Small, 7);
        assert_eq!(a.issues.len(), 200);
        assert_eq!(format!("{:?}", a.issues), format!("{:?}", b.issues));
        assert_eq!(generate(Size::Tiny, 1).issues.len(), 10);
    }

    #[test]
    fn the_service_project_has_versions_on_its_screens() {
        let site = generate(Size::Tiny, 1);
        let sup = site.projects.iter().find(|p| p.key == "SUP").unwrap();
        assert_eq!(sup.versions.len(), 3);
        let mut ids: Vec<&str> = site
            .projects
            .iter()
            .flat_map(|p| p.versions.iter().map(|v| v.id.as_str()))
            .collect();
        let all = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all, "version ids are site-wide");
        for t in site
            .issue_types
            .iter()
            .filter(|t| sup.issue_types.contains(&t.id))
        {
            for field in ["fixVersions", "versions"] {
                assert!(t.screen.iter().any(|f| f == field), "{} {field}", t.name);
            }
        }
    }
}
