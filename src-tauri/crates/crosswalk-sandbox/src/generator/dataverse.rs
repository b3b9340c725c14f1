//! Generated Dataverse environment (api/microsoft.md §F): table metadata (EntityDefinitions and
//! their Attributes, with choices, state/status pairs and date behaviours) and records (cases,
//! tasks, leads, opportunities, a custom `cw_asset` table, notes with and without attachments,
//! plus the accounts, contacts and users they point at). Deterministic from the seed.

use crate::Size;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// `AttributeMetadata.AttributeType` values the sandbox models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Memo,
    Integer,
    BigInt,
    Decimal,
    Double,
    Money,
    DateTime,
    Boolean,
    Picklist,
    /// A multi-select choice ("Choices"): values are read and written as a string of the
    /// selected option values separated by commas (`"100000000,100000002"`).
    MultiSelectPicklist,
    State,
    Status,
    Lookup,
    Customer,
    Owner,
    Uniqueidentifier,
    EntityName,
}

impl AttributeType {
    /// The `AttributeType` enum member name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "String",
            AttributeType::Memo => "Memo",
            AttributeType::Integer => "Integer",
            AttributeType::BigInt => "BigInt",
            AttributeType::Decimal => "Decimal",
            AttributeType::Double => "Double",
            AttributeType::Money => "Money",
            AttributeType::DateTime => "DateTime",
            AttributeType::Boolean => "Boolean",
            AttributeType::Picklist => "Picklist",
            // Multi-select choices report the `Virtual` AttributeType; their
            // AttributeTypeName says what they are.
            AttributeType::MultiSelectPicklist => "Virtual",
            AttributeType::State => "State",
            AttributeType::Status => "Status",
            AttributeType::Lookup => "Lookup",
            AttributeType::Customer => "Customer",
            AttributeType::Owner => "Owner",
            AttributeType::Uniqueidentifier => "Uniqueidentifier",
            AttributeType::EntityName => "EntityName",
        }
    }

    /// The derived metadata type (`Microsoft.Dynamics.CRM.<name>`).
    pub fn metadata_type(self) -> &'static str {
        match self {
            AttributeType::String => "StringAttributeMetadata",
            AttributeType::Memo => "MemoAttributeMetadata",
            AttributeType::Integer => "IntegerAttributeMetadata",
            AttributeType::BigInt => "BigIntAttributeMetadata",
            AttributeType::Decimal => "DecimalAttributeMetadata",
            AttributeType::Double => "DoubleAttributeMetadata",
            AttributeType::Money => "MoneyAttributeMetadata",
            AttributeType::DateTime => "DateTimeAttributeMetadata",
            AttributeType::Boolean => "BooleanAttributeMetadata",
            AttributeType::Picklist => "PicklistAttributeMetadata",
            AttributeType::MultiSelectPicklist => "MultiSelectPicklistAttributeMetadata",
            AttributeType::State => "StateAttributeMetadata",
            AttributeType::Status => "StatusAttributeMetadata",
            AttributeType::Lookup | AttributeType::Customer | AttributeType::Owner => {
                "LookupAttributeMetadata"
            }
            AttributeType::Uniqueidentifier => "UniqueIdentifierAttributeMetadata",
            AttributeType::EntityName => "EntityNameAttributeMetadata",
        }
    }

    /// `AttributeTypeName.Value` (`StringType`, `MultiSelectPicklistType`...).
    pub fn type_name(self) -> String {
        match self {
            AttributeType::MultiSelectPicklist => "MultiSelectPicklistType".into(),
            other => format!("{}Type", other.as_str()),
        }
    }

    /// Lookup-like (read as `_<name>_value`, written with `@odata.bind`).
    pub fn is_lookup(self) -> bool {
        matches!(
            self,
            AttributeType::Lookup | AttributeType::Customer | AttributeType::Owner
        )
    }

    /// Has an option set (choices, yes/no, state, status).
    pub fn has_options(self) -> bool {
        matches!(
            self,
            AttributeType::Picklist
                | AttributeType::MultiSelectPicklist
                | AttributeType::State
                | AttributeType::Status
                | AttributeType::Boolean
        )
    }
}

/// One option of a choice, yes/no, state or status column.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionMeta {
    pub value: i32,
    pub label: String,
    /// Status options: the statecode they belong to.
    pub state: Option<i32>,
    /// State options: the default statuscode.
    pub default_status: Option<i32>,
    /// State options: the invariant name (`Active`, `Resolved`, ...).
    pub invariant_name: Option<String>,
}

impl OptionMeta {
    fn plain(value: i32, label: &str) -> OptionMeta {
        OptionMeta {
            value,
            label: label.into(),
            state: None,
            default_status: None,
            invariant_name: None,
        }
    }
}

/// A column of a table.
#[derive(Debug, Clone)]
pub struct AttributeMeta {
    pub logical_name: String,
    pub schema_name: String,
    pub display_name: String,
    pub attribute_type: AttributeType,
    pub metadata_id: String,
    /// String/Memo maximum length.
    pub max_length: Option<u32>,
    /// String/Memo `FormatName` (`Text`, `TextArea`, `RichText`...); `None` is the type's
    /// default (`Text` for String, `TextArea` for Memo). A `RichText` column holds HTML.
    pub format_name: Option<&'static str>,
    /// DateTime: `UserLocal`, `DateOnly` or `TimeZoneIndependent`.
    pub date_time_behavior: Option<String>,
    /// Choices / state / status / yes-no options (yes-no: value 0 = false, 1 = true).
    pub options: Vec<OptionMeta>,
    /// Set when the choice uses a global option set (its name).
    pub global_option_set: Option<String>,
    /// Lookup targets (table logical names).
    pub targets: Vec<String>,
    /// Decimal/Money precision.
    pub precision: Option<u32>,
    pub required_level: &'static str,
    pub valid_for_create: bool,
    pub valid_for_update: bool,
    pub is_custom: bool,
}

/// A table (`EntityMetadata`).
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub logical_name: String,
    pub schema_name: String,
    pub entity_set_name: String,
    pub display_name: String,
    pub display_collection_name: String,
    pub primary_id_attribute: String,
    pub primary_name_attribute: String,
    pub object_type_code: i32,
    pub change_tracking_enabled: bool,
    pub can_change_tracking_be_enabled: bool,
    pub has_notes: bool,
    pub is_activity: bool,
    pub is_custom: bool,
    /// `UserOwned` or `OrganizationOwned`.
    pub ownership_type: &'static str,
    pub metadata_id: String,
    pub attributes: Vec<AttributeMeta>,
}

impl TableMeta {
    /// The column named `logical_name`.
    pub fn attribute(&self, logical_name: &str) -> Option<&AttributeMeta> {
        self.attributes
            .iter()
            .find(|a| a.logical_name == logical_name)
    }
}

/// A lookup value: the referenced row.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupValue {
    pub id: String,
    /// The referenced table's logical name.
    pub logical_name: String,
    /// Its primary name (the formatted value).
    pub name: String,
}

/// One generated row.
#[derive(Debug, Clone)]
pub struct RecordSeed {
    pub table: String,
    pub id: String,
    /// Column values (lookups excluded) as stored: strings, numbers, booleans, ISO dates.
    pub values: BTreeMap<String, Value>,
    pub lookups: BTreeMap<String, LookupValue>,
}

/// The generated Dataverse environment.
#[derive(Debug, Default, Clone)]
pub struct DataverseSeed {
    pub tables: Vec<TableMeta>,
    pub records: Vec<RecordSeed>,
    pub organization_id: String,
    pub business_unit_id: String,
    /// The systemuser of the sandbox app's application user.
    pub application_user_id: String,
}

/// A deterministic GUID from the generator's random stream.
pub fn guid(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

struct Builder {
    rng: StdRng,
    table: Option<TableMeta>,
    tables: Vec<TableMeta>,
}

fn schema_name(logical: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in logical.chars() {
        if c == '_' {
            out.push(c);
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn table(
        &mut self,
        logical: &str,
        set: &str,
        display: &str,
        collection: &str,
        id: &str,
        name: &str,
        otc: i32,
        change_tracking: bool,
    ) {
        self.finish();
        let metadata_id = guid(&mut self.rng);
        self.table = Some(TableMeta {
            logical_name: logical.into(),
            schema_name: schema_name(logical),
            entity_set_name: set.into(),
            display_name: display.into(),
            display_collection_name: collection.into(),
            primary_id_attribute: id.into(),
            primary_name_attribute: name.into(),
            object_type_code: otc,
            change_tracking_enabled: change_tracking,
            can_change_tracking_be_enabled: true,
            has_notes: true,
            is_activity: false,
            is_custom: logical.starts_with("cw_"),
            ownership_type: "UserOwned",
            metadata_id,
            attributes: Vec::new(),
        });
        self.attr(id, "Id", AttributeType::Uniqueidentifier, |a| {
            a.valid_for_update = false;
            a.required_level = "SystemRequired";
        });
    }

    fn finish(&mut self) {
        if let Some(table) = self.table.take() {
            self.tables.push(table);
        }
    }

    fn current(&mut self) -> &mut TableMeta {
        self.table.as_mut().expect("a table is open")
    }

    fn attr(
        &mut self,
        logical: &str,
        display: &str,
        kind: AttributeType,
        tweak: impl FnOnce(&mut AttributeMeta),
    ) {
        let metadata_id = guid(&mut self.rng);
        self.attr_with_id(metadata_id, logical, display, kind, tweak);
    }

    /// [`Builder::attr`] with a given metadata id: columns added after the first release take
    /// no number from the random stream, so every other generated id stays as it was.
    fn attr_with_id(
        &mut self,
        metadata_id: String,
        logical: &str,
        display: &str,
        kind: AttributeType,
        tweak: impl FnOnce(&mut AttributeMeta),
    ) {
        let is_custom = logical.starts_with("cw_");
        let mut attribute = AttributeMeta {
            logical_name: logical.into(),
            schema_name: schema_name(logical),
            display_name: display.into(),
            attribute_type: kind,
            metadata_id,
            max_length: match kind {
                AttributeType::String => Some(100),
                AttributeType::Memo => Some(2000),
                _ => None,
            },
            format_name: None,
            date_time_behavior: (kind == AttributeType::DateTime).then(|| "UserLocal".into()),
            options: Vec::new(),
            global_option_set: None,
            targets: Vec::new(),
            precision: match kind {
                AttributeType::Decimal | AttributeType::Money => Some(2),
                _ => None,
            },
            required_level: "None",
            valid_for_create: true,
            valid_for_update: true,
            is_custom,
        };
        if kind == AttributeType::Boolean {
            attribute.options = vec![OptionMeta::plain(0, "No"), OptionMeta::plain(1, "Yes")];
        }
        tweak(&mut attribute);
        self.current().attributes.push(attribute);
    }

    fn string(&mut self, logical: &str, display: &str, max: u32) {
        self.attr(logical, display, AttributeType::String, |a| {
            a.max_length = Some(max)
        });
    }

    fn memo(&mut self, logical: &str, display: &str, max: u32) {
        self.attr(logical, display, AttributeType::Memo, |a| {
            a.max_length = Some(max)
        });
    }

    fn picklist(
        &mut self,
        logical: &str,
        display: &str,
        options: &[(i32, &str)],
        global: Option<&str>,
    ) {
        self.attr(logical, display, AttributeType::Picklist, |a| {
            a.options = options
                .iter()
                .map(|(v, l)| OptionMeta::plain(*v, l))
                .collect();
            a.global_option_set = global.map(str::to_owned);
        });
    }

    fn lookup(&mut self, logical: &str, display: &str, kind: AttributeType, targets: &[&str]) {
        self.attr(logical, display, kind, |a| {
            a.targets = targets.iter().map(|t| (*t).to_owned()).collect();
        });
    }

    fn datetime(&mut self, logical: &str, display: &str, behavior: &str) {
        self.attr(logical, display, AttributeType::DateTime, |a| {
            a.date_time_behavior = Some(behavior.into())
        });
    }

    /// `states`: (value, label, invariant, default status); `statuses`: (value, label, state).
    fn state_status(&mut self, states: &[(i32, &str, i32)], statuses: &[(i32, &str, i32)]) {
        self.attr("statecode", "Status", AttributeType::State, |a| {
            a.required_level = "SystemRequired";
            a.options = states
                .iter()
                .map(|(v, l, d)| OptionMeta {
                    value: *v,
                    label: (*l).into(),
                    state: None,
                    default_status: Some(*d),
                    invariant_name: Some((*l).into()),
                })
                .collect();
        });
        self.attr("statuscode", "Status Reason", AttributeType::Status, |a| {
            a.options = statuses
                .iter()
                .map(|(v, l, s)| OptionMeta {
                    value: *v,
                    label: (*l).into(),
                    state: Some(*s),
                    default_status: None,
                    invariant_name: None,
                })
                .collect();
        });
    }

    /// createdon/modifiedon, createdby/modifiedby, ownerid, versionnumber.
    fn common(&mut self, owned: bool) {
        for (name, display) in [("createdon", "Created On"), ("modifiedon", "Modified On")] {
            self.attr(name, display, AttributeType::DateTime, |a| {
                a.valid_for_create = false;
                a.valid_for_update = false;
            });
        }
        for (name, display) in [("createdby", "Created By"), ("modifiedby", "Modified By")] {
            self.attr(name, display, AttributeType::Lookup, |a| {
                a.targets = vec!["systemuser".into()];
                a.valid_for_create = false;
                a.valid_for_update = false;
            });
        }
        if owned {
            self.attr("ownerid", "Owner", AttributeType::Owner, |a| {
                a.targets = vec!["systemuser".into(), "team".into()];
                a.required_level = "SystemRequired";
            });
        }
        self.attr(
            "versionnumber",
            "Version Number",
            AttributeType::BigInt,
            |a| {
                a.valid_for_create = false;
                a.valid_for_update = false;
            },
        );
    }
}

/// Options of the Cases' multi-select `cw_regions`.
pub const REGIONS: [(i32, &str); 4] = [
    (100000000, "EMEA"),
    (100000001, "Americas"),
    (100000002, "APAC"),
    (100000003, "LATAM"),
];

/// The tables of the sandbox environment.
pub fn tables(rng: &mut StdRng) -> Vec<TableMeta> {
    use AttributeType as T;
    let mut b = Builder {
        rng: StdRng::seed_from_u64(rng.random()),
        table: None,
        tables: Vec::new(),
    };
    let priority = [(1, "High"), (2, "Normal"), (3, "Low")];

    b.table(
        "incident",
        "incidents",
        "Case",
        "Cases",
        "incidentid",
        "title",
        112,
        true,
    );
    b.string("title", "Case Title", 200);
    b.string("ticketnumber", "Case Number", 100);
    b.memo("description", "Description", 2000);
    b.picklist("prioritycode", "Priority", &priority, None);
    b.picklist(
        "caseorigincode",
        "Origin",
        &[
            (1, "Phone"),
            (2, "Email"),
            (3, "Web"),
            (2483, "Facebook"),
            (3986, "Twitter"),
        ],
        Some("incident_caseorigincode"),
    );
    b.state_status(
        &[(0, "Active", 1), (1, "Resolved", 5), (2, "Cancelled", 6)],
        &[
            (1, "In Progress", 0),
            (2, "On Hold", 0),
            (3, "Waiting for Details", 0),
            (4, "Researching", 0),
            (5, "Problem Solved", 1),
            (1000, "Information Provided", 1),
            (6, "Cancelled", 2),
            (2000, "Merged", 2),
        ],
    );
    b.lookup(
        "customerid",
        "Customer",
        T::Customer,
        &["account", "contact"],
    );
    b.attr("isescalated", "Is Escalated", T::Boolean, |_| {});
    b.attr("cw_affectedusers", "Affected Users", T::Integer, |_| {});
    b.attr(
        "cw_estimatedeffort",
        "Estimated Effort (h)",
        T::Decimal,
        |_| {},
    );
    b.attr("cw_impactcost", "Impact Cost", T::Money, |_| {});
    b.datetime("followupby", "Follow Up By", "UserLocal");
    b.datetime("cw_targetdate", "Target Date", "DateOnly");
    // A rich-text column (FormatName RichText): Dynamics' editor stores HTML in it.
    b.attr("cw_richnotes", "Rich Notes", T::Memo, |a| {
        a.max_length = Some(100_000);
        a.format_name = Some("RichText");
    });
    // A multi-select choice ("Choices") with a local option set; LATAM has no Jira
    // counterpart among Affected Regions' options (customfield_10015).
    b.attr_with_id(
        "5c0d6a2e-93b4-4f1e-a8c7-2d1e6f0b9a31".into(),
        "cw_regions",
        "Affected Regions",
        T::MultiSelectPicklist,
        |a| {
            a.options = REGIONS
                .iter()
                .map(|(v, l)| OptionMeta::plain(*v, l))
                .collect();
        },
    );
    b.common(true);

    b.table(
        "task",
        "tasks",
        "Task",
        "Tasks",
        "activityid",
        "subject",
        4212,
        true,
    );
    b.string("subject", "Subject", 200);
    b.memo("description", "Description", 2000);
    b.picklist(
        "prioritycode",
        "Priority",
        &[(0, "Low"), (1, "Normal"), (2, "High")],
        None,
    );
    b.attr("percentcomplete", "Percent Complete", T::Integer, |_| {});
    b.attr(
        "actualdurationminutes",
        "Actual Duration",
        T::Integer,
        |_| {},
    );
    b.datetime("scheduledend", "Due", "UserLocal");
    b.state_status(
        &[(0, "Open", 2), (1, "Completed", 5), (2, "Canceled", 6)],
        &[
            (2, "Not Started", 0),
            (3, "In Progress", 0),
            (4, "Waiting on someone else", 0),
            (7, "Deferred", 0),
            (5, "Completed", 1),
            (6, "Canceled", 2),
        ],
    );
    b.lookup(
        "regardingobjectid",
        "Regarding",
        T::Lookup,
        &["incident", "account", "contact", "lead", "opportunity"],
    );
    b.common(true);
    b.current().is_activity = true;

    b.table(
        "lead", "leads", "Lead", "Leads", "leadid", "fullname", 4, false,
    );
    b.string("subject", "Topic", 300);
    b.string("firstname", "First Name", 50);
    b.string("lastname", "Last Name", 50);
    b.attr("fullname", "Name", T::String, |a| {
        a.max_length = Some(160);
        a.valid_for_create = false;
        a.valid_for_update = false;
    });
    b.string("companyname", "Company Name", 100);
    b.string("emailaddress1", "Email", 100);
    b.memo("description", "Description", 2000);
    b.attr("estimatedamount", "Est. Value", T::Money, |_| {});
    b.picklist(
        "leadqualitycode",
        "Rating",
        &[(1, "Hot"), (2, "Warm"), (3, "Cold")],
        None,
    );
    b.attr("donotemail", "Do not allow Emails", T::Boolean, |a| {
        a.options = vec![
            OptionMeta::plain(0, "Allow"),
            OptionMeta::plain(1, "Do Not Allow"),
        ];
    });
    b.state_status(
        &[(0, "Open", 1), (1, "Qualified", 3), (2, "Disqualified", 4)],
        &[
            (1, "New", 0),
            (2, "Contacted", 0),
            (3, "Qualified", 1),
            (4, "Lost", 2),
            (5, "Cannot Contact", 2),
            (6, "No Longer Interested", 2),
            (7, "Canceled", 2),
        ],
    );
    b.common(true);

    b.table(
        "opportunity",
        "opportunities",
        "Opportunity",
        "Opportunities",
        "opportunityid",
        "name",
        3,
        true,
    );
    b.string("name", "Topic", 300);
    b.memo("description", "Description", 2000);
    b.attr("estimatedvalue", "Est. Revenue", T::Money, |_| {});
    b.attr("closeprobability", "Probability", T::Integer, |_| {});
    b.datetime("estimatedclosedate", "Est. Close Date", "DateOnly");
    b.lookup(
        "customerid",
        "Potential Customer",
        T::Customer,
        &["account", "contact"],
    );
    b.state_status(
        &[(0, "Open", 1), (1, "Won", 3), (2, "Lost", 4)],
        &[
            (1, "In Progress", 0),
            (2, "On Hold", 0),
            (3, "Won", 1),
            (4, "Canceled", 2),
            (5, "Out-Sold", 2),
        ],
    );
    b.common(true);

    b.table(
        "cw_asset",
        "cw_assets",
        "Asset",
        "Assets",
        "cw_assetid",
        "cw_name",
        10234,
        true,
    );
    b.string("cw_name", "Name", 100);
    b.string("cw_serialnumber", "Serial Number", 100);
    b.memo("cw_notes", "Notes", 4000);
    b.picklist(
        "cw_category",
        "Category",
        &[
            (100000000, "Laptop"),
            (100000001, "Desktop"),
            (100000002, "Monitor"),
            (100000003, "Phone"),
        ],
        Some("cw_assetcategory"),
    );
    b.attr("cw_purchaseprice", "Purchase Price", T::Money, |_| {});
    b.attr("cw_weightkg", "Weight (kg)", T::Decimal, |a| {
        a.precision = Some(3)
    });
    b.attr("cw_quantity", "Quantity", T::Integer, |_| {});
    b.datetime("cw_warrantyexpires", "Warranty Expires", "DateOnly");
    b.datetime("cw_lastseen", "Last Seen", "TimeZoneIndependent");
    b.attr("cw_active", "In Service", T::Boolean, |_| {});
    b.lookup("cw_caseid", "Case", T::Lookup, &["incident"]);
    b.state_status(
        &[(0, "Active", 1), (1, "Inactive", 2)],
        &[(1, "Active", 0), (2, "Inactive", 1)],
    );
    b.common(true);

    b.table(
        "annotation",
        "annotations",
        "Note",
        "Notes",
        "annotationid",
        "subject",
        5,
        true,
    );
    b.current().has_notes = false;
    b.string("subject", "Title", 500);
    b.memo("notetext", "Description", 100_000);
    b.attr("isdocument", "Is Document", T::Boolean, |_| {});
    b.string("filename", "File Name", 255);
    b.string("mimetype", "Mime Type", 256);
    b.memo("documentbody", "Document", 1_073_741_823);
    b.attr("filesize", "File Size (Bytes)", T::Integer, |a| {
        a.valid_for_create = false;
        a.valid_for_update = false;
    });
    b.lookup(
        "objectid",
        "Regarding",
        T::Lookup,
        &[
            "incident",
            "task",
            "lead",
            "opportunity",
            "cw_asset",
            "account",
            "contact",
        ],
    );
    b.attr("objecttypecode", "Object Type", T::EntityName, |_| {});
    b.common(true);

    b.table(
        "account",
        "accounts",
        "Account",
        "Accounts",
        "accountid",
        "name",
        1,
        true,
    );
    b.string("name", "Account Name", 160);
    b.string("accountnumber", "Account Number", 20);
    b.string("telephone1", "Main Phone", 50);
    b.common(true);

    b.table(
        "contact",
        "contacts",
        "Contact",
        "Contacts",
        "contactid",
        "fullname",
        2,
        true,
    );
    b.string("firstname", "First Name", 50);
    b.string("lastname", "Last Name", 50);
    b.attr("fullname", "Full Name", T::String, |a| {
        a.max_length = Some(160);
        a.valid_for_create = false;
        a.valid_for_update = false;
    });
    b.string("emailaddress1", "Email", 100);
    b.common(true);

    b.table(
        "systemuser",
        "systemusers",
        "User",
        "Users",
        "systemuserid",
        "fullname",
        8,
        false,
    );
    b.string("fullname", "Full Name", 200);
    b.string("internalemailaddress", "Primary Email", 100);
    b.attr(
        "applicationid",
        "Application ID",
        T::Uniqueidentifier,
        |_| {},
    );
    b.attr("isdisabled", "Status", T::Boolean, |a| {
        a.options = vec![
            OptionMeta::plain(0, "Enabled"),
            OptionMeta::plain(1, "Disabled"),
        ];
    });
    b.common(false);
    b.current().ownership_type = "BusinessOwned";

    b.table(
        "incidentresolution",
        "incidentresolutions",
        "Case Resolution",
        "Case Resolutions",
        "activityid",
        "subject",
        4206,
        false,
    );
    b.string("subject", "Resolution", 200);
    b.memo("description", "Description", 2000);
    b.attr("timespent", "Time Spent", T::Integer, |_| {});
    b.lookup("incidentid", "Case", T::Lookup, &["incident"]);
    b.state_status(
        &[(0, "Open", 1), (1, "Completed", 2), (2, "Canceled", 3)],
        &[(1, "Open", 0), (2, "Closed", 1), (3, "Canceled", 2)],
    );
    b.common(true);
    b.current().is_activity = true;
    b.current().has_notes = false;

    b.table(
        "organization",
        "organizations",
        "Organization",
        "Organizations",
        "organizationid",
        "name",
        1019,
        false,
    );
    b.string("name", "Name", 160);
    b.attr(
        "maxuploadfilesize",
        "Max Upload File Size",
        T::Integer,
        |_| {},
    );
    b.attr(
        "expirechangetrackingindays",
        "Days to Expire Change Tracking",
        T::Integer,
        |_| {},
    );
    // Added after the first release: a fixed id keeps every other generated id as it was.
    b.attr_with_id(
        "8f2b7c1d-4e6a-4b3f-9c5d-0a1e2f3b4c5d".into(),
        "isauditenabled",
        "Is Auditing Enabled",
        T::Boolean,
        |_| {},
    );
    b.common(false);
    b.current().ownership_type = "OrganizationOwned";
    b.current().has_notes = false;
    b.current().can_change_tracking_be_enabled = false;

    // The activity `WinOpportunity` / `LoseOpportunity` create (§F.9). Last, so the metadata
    // ids drawn for every earlier table stay as they were.
    b.table(
        "opportunityclose",
        "opportunitycloses",
        "Opportunity Close",
        "Opportunity Closes",
        "activityid",
        "subject",
        4208,
        false,
    );
    b.string("subject", "Subject", 200);
    b.memo("description", "Description", 2000);
    b.attr("actualrevenue", "Actual Revenue", T::Money, |_| {});
    b.datetime("actualend", "Close Date", "DateOnly");
    b.lookup("opportunityid", "Opportunity", T::Lookup, &["opportunity"]);
    b.state_status(
        &[(0, "Open", 1), (1, "Completed", 2), (2, "Canceled", 3)],
        &[(1, "Open", 0), (2, "Completed", 1), (3, "Canceled", 2)],
    );
    b.common(true);
    b.current().is_activity = true;
    b.current().has_notes = false;

    b.finish();
    b.tables
}

const SUBJECTS: [&str; 16] = [
    "Printer jam on floor 3",
    "VPN drops every hour",
    "Laptop will not boot",
    "Cannot access shared mailbox",
    "Invoice shows wrong VAT",
    "Password reset loop",
    "Teams calls have no audio",
    "Request for second monitor",
    "Shipment arrived damaged",
    "Warranty claim for docking station",
    "Portal login returns error 500",
    "Duplicate charge on card",
    "Slow CRM form load",
    "Badge reader rejects card",
    "Software licence renewal",
    "Data export missing columns",
];
const FIRST: [&str; 12] = [
    "Avery", "Blake", "Casey", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kira", "Lena",
];
const LAST: [&str; 12] = [
    "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Umar", "Varga", "Weber",
    "Xu", "Young",
];
const COMPANIES: [&str; 10] = [
    "Contoso Ltd",
    "Fabrikam Inc",
    "Adventure Works",
    "Northwind Traders",
    "Litware",
    "Tailspin Toys",
    "Wide World Importers",
    "Woodgrove Bank",
    "Alpine Ski House",
    "Proseware",
];

/// ISO-8601 UTC, second precision, as Dataverse returns DateTime values.
pub fn iso(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn date_only(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        at.year(),
        u8::from(at.month()),
        at.day()
    )
}

struct Counts {
    accounts: usize,
    contacts: usize,
    users: usize,
    incidents: usize,
    tasks: usize,
    leads: usize,
    opportunities: usize,
    assets: usize,
}

fn counts(size: Size) -> Counts {
    match size {
        Size::Tiny => Counts {
            accounts: 4,
            contacts: 6,
            users: 3,
            incidents: 10,
            tasks: 6,
            leads: 5,
            opportunities: 4,
            assets: 5,
        },
        Size::Small => Counts {
            accounts: 40,
            contacts: 80,
            users: 10,
            incidents: 300,
            tasks: 150,
            leads: 100,
            opportunities: 80,
            assets: 120,
        },
        Size::Medium => Counts {
            accounts: 300,
            contacts: 600,
            users: 40,
            incidents: 5000,
            tasks: 2000,
            leads: 1000,
            opportunities: 800,
            assets: 1500,
        },
        Size::Large => Counts {
            accounts: 1500,
            contacts: 3000,
            users: 120,
            incidents: 12000,
            tasks: 6000,
            leads: 3000,
            opportunities: 2500,
            assets: 5000,
        },
    }
}

/// Generates the Dataverse environment for `size` from `seed`.
pub fn generate(size: Size, seed: u64) -> DataverseSeed {
    use base64::Engine as _;
    let mut rng = StdRng::seed_from_u64(seed ^ 0xD47A_5E11);
    let tables = tables(&mut rng);
    let counts = counts(size);
    let organization_id = guid(&mut rng);
    let business_unit_id = guid(&mut rng);
    let application_user_id = guid(&mut rng);
    let base = OffsetDateTime::from_unix_timestamp(1_735_689_600).expect("valid epoch"); // 2025-01-01
    let mut records = Vec::new();
    let at =
        |rng: &mut StdRng| base + time::Duration::minutes(rng.random_range(0..(400 * 24 * 60)));

    let app_user = LookupValue {
        id: application_user_id.clone(),
        logical_name: "systemuser".into(),
        name: "# Crosswalk Sync".into(),
    };
    let stamp =
        |rng: &mut StdRng, rec: &mut RecordSeed, owner: Option<&LookupValue>, by: &LookupValue| {
            let created = at(rng);
            let modified = created + time::Duration::minutes(rng.random_range(0..(30 * 24 * 60)));
            rec.values.insert("createdon".into(), json!(iso(created)));
            rec.values.insert("modifiedon".into(), json!(iso(modified)));
            rec.lookups.insert("createdby".into(), by.clone());
            rec.lookups.insert("modifiedby".into(), by.clone());
            if let Some(owner) = owner {
                rec.lookups.insert("ownerid".into(), owner.clone());
            }
        };
    let new = |table: &str, id: String| RecordSeed {
        table: table.into(),
        id,
        values: BTreeMap::new(),
        lookups: BTreeMap::new(),
    };

    let mut org = new("organization", organization_id.clone());
    org.values.insert("name".into(), json!("Contoso (sandbox)"));
    org.values
        .insert("maxuploadfilesize".into(), json!(5_242_880));
    org.values
        .insert("expirechangetrackingindays".into(), json!(90));
    // Auditing is off in a fresh environment (dataverse/audit.rs).
    org.values.insert("isauditenabled".into(), json!(false));
    stamp(&mut rng, &mut org, None, &app_user);
    records.push(org);

    let mut users = vec![app_user.clone()];
    let mut app = new("systemuser", application_user_id.clone());
    app.values.insert("fullname".into(), json!(app_user.name));
    app.values
        .insert("applicationid".into(), json!(crate::identity::CLIENT_ID));
    app.values.insert("isdisabled".into(), json!(false));
    stamp(&mut rng, &mut app, None, &app_user);
    records.push(app);
    for i in 0..counts.users {
        let id = guid(&mut rng);
        let name = format!(
            "{} {}",
            FIRST[i % FIRST.len()],
            LAST[(i * 5 + 3) % LAST.len()]
        );
        let mut rec = new("systemuser", id.clone());
        rec.values.insert("fullname".into(), json!(name));
        rec.values.insert(
            "internalemailaddress".into(),
            json!(format!(
                "{}@contoso.com",
                name.to_lowercase().replace(' ', ".")
            )),
        );
        rec.values.insert("isdisabled".into(), json!(false));
        stamp(&mut rng, &mut rec, None, &app_user);
        records.push(rec);
        users.push(LookupValue {
            id,
            logical_name: "systemuser".into(),
            name,
        });
    }
    let pick_user = |rng: &mut StdRng| users[rng.random_range(1..users.len())].clone();

    let mut customers = Vec::new();
    for i in 0..counts.accounts {
        let id = guid(&mut rng);
        let name = if i < COMPANIES.len() {
            COMPANIES[i].to_owned()
        } else {
            format!(
                "{} {}",
                COMPANIES[i % COMPANIES.len()],
                i / COMPANIES.len() + 1
            )
        };
        let mut rec = new("account", id.clone());
        rec.values.insert("name".into(), json!(name));
        rec.values.insert(
            "accountnumber".into(),
            json!(format!("ACC-{:05}", 1000 + i)),
        );
        rec.values.insert(
            "telephone1".into(),
            json!(format!("+1 425 555 {:04}", rng.random_range(0..10000))),
        );
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
        customers.push(LookupValue {
            id,
            logical_name: "account".into(),
            name,
        });
    }
    for i in 0..counts.contacts {
        let id = guid(&mut rng);
        let (first, last) = (
            FIRST[(i * 7) % FIRST.len()],
            LAST[(i * 3 + i / 12) % LAST.len()],
        );
        let name = format!("{first} {last}");
        let mut rec = new("contact", id.clone());
        rec.values.insert("firstname".into(), json!(first));
        rec.values.insert("lastname".into(), json!(last));
        rec.values.insert("fullname".into(), json!(name));
        rec.values.insert(
            "emailaddress1".into(),
            json!(format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase(),
                i
            )),
        );
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
        customers.push(LookupValue {
            id,
            logical_name: "contact".into(),
            name,
        });
    }

    let mut incidents = Vec::new();
    for i in 0..counts.incidents {
        let id = guid(&mut rng);
        let title = format!(
            "{} #{}",
            SUBJECTS[rng.random_range(0..SUBJECTS.len())],
            i + 1
        );
        let mut rec = new("incident", id.clone());
        rec.values.insert("title".into(), json!(title));
        let letters: String = (0..6)
            .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
            .collect();
        rec.values.insert(
            "ticketnumber".into(),
            json!(format!("CAS-{:05}-{letters}", 1000 + i)),
        );
        let description = if i % 3 == 0 {
            format!("<div><p>Customer reports: <b>{}</b>.</p><ul><li>Seen since last week</li><li>Affects {} users</li></ul></div>", title.to_lowercase(), 1 + i % 9)
        } else {
            format!(
                "Customer reports: {}.\nSeen since last week.",
                title.to_lowercase()
            )
        };
        rec.values.insert("description".into(), json!(description));
        rec.values
            .insert("prioritycode".into(), json!(rng.random_range(1..=3)));
        rec.values.insert(
            "caseorigincode".into(),
            json!([1, 2, 3, 2483][rng.random_range(0..4)]),
        );
        let (state, status) = match rng.random_range(0..10) {
            0..=5 => (0, [1, 2, 3, 4][rng.random_range(0..4)]),
            6..=8 => (1, [5, 1000][rng.random_range(0..2)]),
            _ => (2, 6),
        };
        rec.values.insert("statecode".into(), json!(state));
        rec.values.insert("statuscode".into(), json!(status));
        rec.values
            .insert("isescalated".into(), json!(rng.random_bool(0.2)));
        rec.values
            .insert("cw_affectedusers".into(), json!(rng.random_range(1..500)));
        rec.values.insert(
            "cw_estimatedeffort".into(),
            json!(f64::from(rng.random_range(1..400)) / 4.0),
        );
        rec.values.insert(
            "cw_impactcost".into(),
            json!(f64::from(rng.random_range(0..5_000_000)) / 100.0),
        );
        if rng.random_bool(0.5) {
            rec.values
                .insert("followupby".into(), json!(iso(at(&mut rng))));
            rec.values
                .insert("cw_targetdate".into(), json!(date_only(at(&mut rng))));
        }
        rec.lookups.insert(
            "customerid".into(),
            customers[rng.random_range(0..customers.len())].clone(),
        );
        // Derived from the index, not the random stream: the other generated values stay
        // as they were before the column existed.
        let regions = match i % 5 {
            0 => Some("100000000"),
            2 => Some("100000000,100000002"),
            3 => Some("100000001"),
            _ => None,
        };
        if let Some(regions) = regions {
            rec.values.insert("cw_regions".into(), json!(regions));
        }
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
        incidents.push(LookupValue {
            id,
            logical_name: "incident".into(),
            name: title,
        });
    }

    for i in 0..counts.tasks {
        let id = guid(&mut rng);
        let mut rec = new("task", id);
        rec.values.insert(
            "subject".into(),
            json!(format!("Follow up: {}", SUBJECTS[i % SUBJECTS.len()])),
        );
        rec.values.insert(
            "description".into(),
            json!("Call the customer back and confirm the fix."),
        );
        rec.values
            .insert("prioritycode".into(), json!(rng.random_range(0..=2)));
        rec.values.insert(
            "percentcomplete".into(),
            json!(rng.random_range(0..=10) * 10),
        );
        rec.values
            .insert("scheduledend".into(), json!(iso(at(&mut rng))));
        let (state, status) = [(0, 2), (0, 3), (0, 4), (1, 5), (2, 6)][rng.random_range(0..5)];
        rec.values.insert("statecode".into(), json!(state));
        rec.values.insert("statuscode".into(), json!(status));
        if !incidents.is_empty() && rng.random_bool(0.7) {
            rec.lookups.insert(
                "regardingobjectid".into(),
                incidents[rng.random_range(0..incidents.len())].clone(),
            );
        }
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
    }

    for i in 0..counts.leads {
        let id = guid(&mut rng);
        let (first, last) = (FIRST[(i * 5) % FIRST.len()], LAST[(i * 7 + 1) % LAST.len()]);
        let mut rec = new("lead", id);
        rec.values.insert(
            "subject".into(),
            json!(format!("Interested in {} seats", 10 * (1 + i % 20))),
        );
        rec.values.insert("firstname".into(), json!(first));
        rec.values.insert("lastname".into(), json!(last));
        rec.values
            .insert("fullname".into(), json!(format!("{first} {last}")));
        rec.values.insert(
            "companyname".into(),
            json!(COMPANIES[(i * 3) % COMPANIES.len()]),
        );
        rec.values.insert(
            "emailaddress1".into(),
            json!(format!("{}@lead{}.example.com", first.to_lowercase(), i)),
        );
        rec.values.insert(
            "estimatedamount".into(),
            json!(f64::from(rng.random_range(1000..200_000))),
        );
        rec.values
            .insert("leadqualitycode".into(), json!(rng.random_range(1..=3)));
        rec.values
            .insert("donotemail".into(), json!(rng.random_bool(0.1)));
        let (state, status) = [(0, 1), (0, 2), (1, 3), (2, 4), (2, 6)][rng.random_range(0..5)];
        rec.values.insert("statecode".into(), json!(state));
        rec.values.insert("statuscode".into(), json!(status));
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
    }

    for i in 0..counts.opportunities {
        let id = guid(&mut rng);
        let customer = customers[rng.random_range(0..customers.len())].clone();
        let mut rec = new("opportunity", id);
        rec.values.insert(
            "name".into(),
            json!(format!("{} renewal {}", customer.name, 2025 + i % 3)),
        );
        rec.values.insert(
            "description".into(),
            json!("Renewal of the annual support contract."),
        );
        rec.values.insert(
            "estimatedvalue".into(),
            json!(f64::from(rng.random_range(5_000..500_000))),
        );
        rec.values
            .insert("closeprobability".into(), json!(rng.random_range(0..=100)));
        rec.values
            .insert("estimatedclosedate".into(), json!(date_only(at(&mut rng))));
        let (state, status) = [(0, 1), (0, 2), (1, 3), (2, 4), (2, 5)][rng.random_range(0..5)];
        rec.values.insert("statecode".into(), json!(state));
        rec.values.insert("statuscode".into(), json!(status));
        rec.lookups.insert("customerid".into(), customer);
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
    }

    let categories = [
        (100000000, "LT"),
        (100000001, "DT"),
        (100000002, "MON"),
        (100000003, "PH"),
    ];
    for i in 0..counts.assets {
        let id = guid(&mut rng);
        let (category, prefix) = categories[rng.random_range(0..categories.len())];
        let mut rec = new("cw_asset", id);
        rec.values.insert(
            "cw_name".into(),
            json!(format!("{prefix}-{:05}", 10000 + i)),
        );
        rec.values.insert(
            "cw_serialnumber".into(),
            json!(format!("SN{:010}", rng.random_range(0..9_999_999_999u64))),
        );
        rec.values
            .insert("cw_notes".into(), json!("Issued with charger."));
        rec.values.insert("cw_category".into(), json!(category));
        rec.values.insert(
            "cw_purchaseprice".into(),
            json!(f64::from(rng.random_range(10_000..300_000)) / 100.0),
        );
        rec.values.insert(
            "cw_weightkg".into(),
            json!(f64::from(rng.random_range(100..5000)) / 1000.0),
        );
        rec.values.insert("cw_quantity".into(), json!(1 + i % 3));
        rec.values
            .insert("cw_warrantyexpires".into(), json!(date_only(at(&mut rng))));
        rec.values
            .insert("cw_lastseen".into(), json!(iso(at(&mut rng))));
        rec.values.insert("cw_active".into(), json!(i % 7 != 0));
        let active = i % 7 != 0;
        rec.values
            .insert("statecode".into(), json!(if active { 0 } else { 1 }));
        rec.values
            .insert("statuscode".into(), json!(if active { 1 } else { 2 }));
        if !incidents.is_empty() && rng.random_bool(0.3) {
            rec.lookups.insert(
                "cw_caseid".into(),
                incidents[rng.random_range(0..incidents.len())].clone(),
            );
        }
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
    }

    // Notes on about a third of the cases; every fourth note carries a small attachment.
    let engine = base64::engine::general_purpose::STANDARD;
    for (i, incident) in incidents.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let id = guid(&mut rng);
        let mut rec = new("annotation", id);
        rec.values.insert(
            "subject".into(),
            json!(format!("Note on {}", incident.name)),
        );
        rec.values.insert(
            "notetext".into(),
            json!("Spoke to the customer; waiting for logs."),
        );
        rec.values
            .insert("objecttypecode".into(), json!("incident"));
        if i % 4 == 0 {
            let body = format!("diagnostics for case {}\nstatus=ok\n", incident.id);
            rec.values.insert("isdocument".into(), json!(true));
            rec.values
                .insert("filename".into(), json!(format!("diag-{}.txt", i + 1)));
            rec.values.insert("mimetype".into(), json!("text/plain"));
            rec.values
                .insert("documentbody".into(), json!(engine.encode(body.as_bytes())));
            rec.values.insert("filesize".into(), json!(body.len()));
        } else {
            rec.values.insert("isdocument".into(), json!(false));
            rec.values.insert("filesize".into(), json!(0));
        }
        rec.lookups.insert("objectid".into(), incident.clone());
        let owner = pick_user(&mut rng);
        stamp(&mut rng, &mut rec, Some(&owner), &app_user);
        records.push(rec);
    }

    DataverseSeed {
        tables,
        records,
        organization_id,
        business_unit_id,
        application_user_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataverse_generation_is_deterministic_and_sized() {
        let a = generate(Size::Tiny, 7);
        let b = generate(Size::Tiny, 7);
        let ids = |s: &DataverseSeed| s.records.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&generate(Size::Tiny, 8)));
        let cases = a.records.iter().filter(|r| r.table == "incident").count();
        assert_eq!(cases, 10);
        let medium = generate(Size::Medium, 1);
        assert_eq!(
            medium
                .records
                .iter()
                .filter(|r| r.table == "incident")
                .count(),
            5000
        );
        assert_eq!(
            medium.records.iter().filter(|r| r.table == "task").count(),
            2000
        );
        let incident = a
            .tables
            .iter()
            .find(|t| t.logical_name == "incident")
            .unwrap();
        assert!(incident.change_tracking_enabled);
        let lead = a.tables.iter().find(|t| t.logical_name == "lead").unwrap();
        assert!(!lead.change_tracking_enabled);
    }
}
