//! Generated Entra directory: users, groups, app registrations, Entra devices and Intune managed
//! devices — plausible, deterministic from the seed, compact (plain structs, no JSON values), and
//! a change log every mutation writes to, which Graph's delta queries read (api/microsoft.md §C).

mod generate;
mod names;

pub use generate::{generate, generate_at};

use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// The kind of a directory object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    User,
    Group,
    Application,
    Device,
    ManagedDevice,
}

impl Kind {
    /// The `@odata.type` Graph puts on it in mixed collections.
    pub fn odata_type(self) -> &'static str {
        match self {
            Kind::User => "#microsoft.graph.user",
            Kind::Group => "#microsoft.graph.group",
            Kind::Application => "#microsoft.graph.application",
            Kind::Device => "#microsoft.graph.device",
            Kind::ManagedDevice => "#microsoft.graph.managedDevice",
        }
    }
}

/// Something stored in a [`Table`], keyed by its object ID.
pub trait Keyed {
    fn key(&self) -> &str;
}

/// Objects in insertion order with tombstones, so positions (paging offsets) stay valid when
/// objects are removed mid-enumeration; new objects go at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Table<T> {
    slots: Vec<Option<T>>,
    index: HashMap<String, usize>,
    live: usize,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            index: HashMap::new(),
            live: 0,
        }
    }
}

impl<T: Keyed> Table<T> {
    /// Live objects.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of positions (live and removed); positions run `0..slots()`.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The object at a position (`None` once removed).
    pub fn at(&self, position: usize) -> Option<&T> {
        self.slots.get(position).and_then(Option::as_ref)
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.index.get(id).and_then(|&i| self.slots[i].as_ref())
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        match self.index.get(id) {
            Some(&i) => self.slots[i].as_mut(),
            None => None,
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// Appends an object (replacing none: ids are unique).
    pub fn insert(&mut self, item: T) {
        let key = item.key().to_owned();
        if let Some(&i) = self.index.get(&key) {
            if self.slots[i].is_none() {
                self.live += 1;
            }
            self.slots[i] = Some(item);
            return;
        }
        self.index.insert(key, self.slots.len());
        self.slots.push(Some(item));
        self.live += 1;
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let i = self.index.remove(id)?;
        let item = self.slots[i].take();
        if item.is_some() {
            self.live -= 1;
        }
        item
    }

    /// Live objects in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }
}

/// An Entra user (the properties Graph v1.0 serves for it).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub usage_location: Option<String>,
    pub company_name: Option<String>,
    pub mobile_phone: Option<String>,
    pub business_phones: Vec<String>,
    pub employee_id: Option<String>,
    pub employee_type: Option<String>,
    pub preferred_language: Option<String>,
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    pub user_type: String,
    pub created: OffsetDateTime,
    pub last_password_change: OffsetDateTime,
    pub on_premises_sync_enabled: Option<bool>,
    /// The manager's object ID.
    pub manager_id: Option<String>,
}

/// A member (or owner) reference: the object's kind and ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    pub kind: Kind,
    pub id: String,
}

impl Member {
    pub fn user(id: &str) -> Member {
        Member {
            kind: Kind::User,
            id: id.to_owned(),
        }
    }

    pub fn group(id: &str) -> Member {
        Member {
            kind: Kind::Group,
            id: id.to_owned(),
        }
    }
}

/// An Entra group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    /// `Unified` (Microsoft 365 group), `DynamicMembership`.
    pub group_types: Vec<String>,
    pub membership_rule: Option<String>,
    pub visibility: Option<String>,
    pub created: OffsetDateTime,
    pub on_premises_sync_enabled: Option<bool>,
    /// Direct members (users, groups, devices).
    pub members: Vec<Member>,
    /// Owner user IDs.
    pub owners: Vec<String>,
}

/// A client secret of an app registration (`passwordCredential`).
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub hint: Option<String>,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// A certificate of an app registration (`keyCredential`).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// Base64 of the certificate thumbprint.
    pub custom_key_identifier: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// `AsymmetricX509Cert`.
    pub key_type: String,
    /// `Verify` or `Sign`.
    pub usage: String,
}

/// An app registration (`application`): `id` is the object ID, `app_id` the client ID.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub sign_in_audience: String,
    pub publisher_domain: String,
    pub created: OffsetDateTime,
    pub password_credentials: Vec<PasswordCredential>,
    pub key_credentials: Vec<KeyCredential>,
    /// Owner user IDs.
    pub owners: Vec<String>,
}

/// An Entra ID device: `id` is the directory object ID, `device_id` the one Intune calls
/// `azureADDeviceId`.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub device_id: String,
    pub display_name: String,
    pub operating_system: String,
    pub operating_system_version: String,
    pub trust_type: Option<String>,
    pub account_enabled: bool,
    pub is_compliant: Option<bool>,
    pub is_managed: Option<bool>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub registration: OffsetDateTime,
    pub approximate_last_sign_in: Option<OffsetDateTime>,
    pub profile_type: String,
    pub on_premises_sync_enabled: Option<bool>,
    /// The registered owner's user ID.
    pub owner_id: Option<String>,
}

/// An Intune managed device (`managedDevice`).
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedDevice {
    pub id: String,
    pub device_name: String,
    pub managed_device_name: String,
    pub serial_number: String,
    pub manufacturer: String,
    pub model: String,
    pub operating_system: String,
    pub os_version: String,
    pub compliance_state: String,
    pub last_sync: OffsetDateTime,
    pub enrolled: OffsetDateTime,
    /// The primary user.
    pub user_id: Option<String>,
    pub user_principal_name: Option<String>,
    pub user_display_name: Option<String>,
    pub email_address: Option<String>,
    pub azure_ad_device_id: String,
    /// `company` or `personal`.
    pub owner_type: String,
    pub management_agent: String,
    pub enrollment_type: String,
    pub is_encrypted: bool,
    pub is_supervised: bool,
    pub imei: Option<String>,
    pub wifi_mac: Option<String>,
    pub ethernet_mac: Option<String>,
    pub phone_number: Option<String>,
    pub total_storage: i64,
    pub free_storage: i64,
    pub physical_memory: i64,
    pub device_category: String,
}

macro_rules! keyed {
    ($($t:ty),*) => { $(impl Keyed for $t { fn key(&self) -> &str { &self.id } })* };
}
keyed!(User, Group, Application, Device, ManagedDevice);

/// Why an object left a delta collection (`@removed.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedReason {
    /// Soft-deleted (restorable): what an ordinary user deletion produces.
    Changed,
    /// Hard-deleted.
    Deleted,
}

impl RemovedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovedReason::Changed => "changed",
            RemovedReason::Deleted => "deleted",
        }
    }
}

/// One recorded change (what delta queries replay).
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Created,
    /// Graph property names that changed.
    Updated(Vec<&'static str>),
    Removed(RemovedReason),
    MemberAdded(Member),
    MemberRemoved(Member),
    /// The user's manager changed.
    ManagerChanged {
        from: Option<String>,
        to: Option<String>,
    },
}

/// A change-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Strictly increasing; a delta token remembers the last one it has seen.
    pub version: u64,
    pub kind: Kind,
    pub id: String,
    pub what: What,
}

/// What one step of the mutation stream did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    Joiner {
        user: String,
    },
    Leaver {
        user: String,
    },
    Renamed {
        user: String,
        fields: Vec<&'static str>,
    },
    ManagerChanged {
        user: String,
        manager: Option<String>,
    },
    MemberAdded {
        group: String,
        member: String,
    },
    MemberRemoved {
        group: String,
        member: String,
    },
    GroupCreated {
        group: String,
    },
    GroupDeleted {
        group: String,
    },
    DeviceEnrolled {
        device: String,
        managed_device: String,
    },
    DeviceRetired {
        managed_device: String,
    },
    DeviceCheckedIn {
        managed_device: String,
    },
    SecretRotated {
        application: String,
        key_id: String,
    },
}

/// The whole directory plus its change log.
#[derive(Debug, Clone, PartialEq)]
pub struct Directory {
    /// The instant the world was generated around (dates are spread before and after it).
    pub anchor: OffsetDateTime,
    pub domain: String,
    pub users: Table<User>,
    pub groups: Table<Group>,
    pub applications: Table<Application>,
    pub devices: Table<Device>,
    pub managed_devices: Table<ManagedDevice>,
    version: u64,
    changes: Vec<Change>,
    serial: u64,
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            anchor: OffsetDateTime::UNIX_EPOCH,
            domain: crate::identity::TENANT_DOMAIN.to_owned(),
            users: Table::default(),
            groups: Table::default(),
            applications: Table::default(),
            devices: Table::default(),
            managed_devices: Table::default(),
            version: 0,
            changes: Vec::new(),
            serial: 0,
        }
    }
}

/// Graph property names whose value differs between two users.
fn user_diff(a: &User, b: &User) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),* $(,)?) => { $( if a.$field != b.$field { out.push($name); } )* };
    }
    cmp!(display_name => "displayName", given_name => "givenName", surname => "surname",
        user_principal_name => "userPrincipalName", mail => "mail", mail_nickname => "mailNickname",
        job_title => "jobTitle", department => "department", office_location => "officeLocation",
        city => "city", country => "country", usage_location => "usageLocation",
        company_name => "companyName", mobile_phone => "mobilePhone", business_phones => "businessPhones",
        employee_id => "employeeId", employee_type => "employeeType", preferred_language => "preferredLanguage",
        account_enabled => "accountEnabled", user_type => "userType", created => "createdDateTime",
        last_password_change => "lastPasswordChangeDateTime", on_premises_sync_enabled => "onPremisesSyncEnabled");
    out
}

fn group_diff(a: &Group, b: &Group) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),* $(,)?) => { $( if a.$field != b.$field { out.push($name); } )* };
    }
    cmp!(display_name => "displayName", description => "description", mail => "mail",
        mail_nickname => "mailNickname", mail_enabled => "mailEnabled", security_enabled => "securityEnabled",
        group_types => "groupTypes", membership_rule => "membershipRule", visibility => "visibility",
        created => "createdDateTime", on_premises_sync_enabled => "onPremisesSyncEnabled");
    out
}

fn application_diff(a: &Application, b: &Application) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),* $(,)?) => { $( if a.$field != b.$field { out.push($name); } )* };
    }
    cmp!(app_id => "appId", display_name => "displayName", description => "description",
        sign_in_audience => "signInAudience", publisher_domain => "publisherDomain", created => "createdDateTime",
        password_credentials => "passwordCredentials", key_credentials => "keyCredentials");
    out
}

fn device_diff(a: &Device, b: &Device) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($field:ident => $name:literal),* $(,)?) => { $( if a.$field != b.$field { out.push($name); } )* };
    }
    cmp!(device_id => "deviceId", display_name => "displayName", operating_system => "operatingSystem",
        operating_system_version => "operatingSystemVersion", trust_type => "trustType",
        account_enabled => "accountEnabled", is_compliant => "isCompliant", is_managed => "isManaged",
        manufacturer => "manufacturer", model => "model", registration => "registrationDateTime",
        approximate_last_sign_in => "approximateLastSignInDateTime", profile_type => "profileType",
        on_premises_sync_enabled => "onPremisesSyncEnabled");
    out
}

impl Directory {
    /// The change-log version (a delta token taken now has seen every change up to it).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Changes with `from < version <= to`, oldest first.
    pub fn changes_between(&self, from: u64, to: u64) -> &[Change] {
        let start = self.changes.partition_point(|c| c.version <= from);
        let end = self.changes.partition_point(|c| c.version <= to);
        &self.changes[start..end.max(start)]
    }

    /// Every recorded change.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    fn log(&mut self, kind: Kind, id: &str, what: What) {
        self.version += 1;
        self.changes.push(Change {
            version: self.version,
            kind,
            id: id.to_owned(),
            what,
        });
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A fresh GUID for a new object (deterministic from the change count).
    fn new_guid(&mut self) -> String {
        use rand::SeedableRng as _;
        let serial = self.next_serial();
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            0x5eed_0000_0000_0000 ^ (serial << 20) ^ self.version ^ self.users.slots() as u64,
        );
        generate::guid(&mut rng)
    }

    // ---- users ----

    /// Adds a user (a joiner) with plausible properties derived from `display_name`.
    pub fn add_user(&mut self, display_name: &str) -> String {
        let id = self.new_guid();
        let (given, surname) = match display_name.split_once(' ') {
            Some((g, s)) => (Some(g.to_owned()), Some(s.to_owned())),
            None => (Some(display_name.to_owned()), None),
        };
        let nick: String = display_name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        let mut upn = format!("{nick}@{}", self.domain);
        if self
            .users
            .iter()
            .any(|u| u.user_principal_name.eq_ignore_ascii_case(&upn))
        {
            upn = format!("{nick}{}@{}", self.serial, self.domain);
        }
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.anchor);
        let user = User {
            id: id.clone(),
            display_name: display_name.to_owned(),
            given_name: given,
            surname,
            mail: Some(upn.clone()),
            mail_nickname: upn.split('@').next().unwrap_or_default().to_owned(),
            user_principal_name: upn,
            job_title: Some("Analyst".into()),
            department: Some("Operations".into()),
            office_location: Some("Seattle 18/1101".into()),
            city: Some("Seattle".into()),
            country: Some("United States".into()),
            usage_location: Some("US".into()),
            company_name: Some("Contoso".into()),
            mobile_phone: None,
            business_phones: Vec::new(),
            employee_id: Some(format!("N{:06}", self.serial)),
            employee_type: Some("Employee".into()),
            preferred_language: Some("en-US".into()),
            account_enabled: true,
            user_type: "Member".into(),
            created: now,
            last_password_change: now,
            on_premises_sync_enabled: None,
            manager_id: None,
        };
        self.insert_user(user);
        id
    }

    /// Adds a fully described user (recorded as created; joins dynamic "all members" groups).
    pub fn insert_user(&mut self, user: User) {
        let id = user.id.clone();
        let member = user.user_type == "Member";
        let manager = user.manager_id.clone();
        self.users.insert(user);
        self.log(Kind::User, &id, What::Created);
        if manager.is_some() {
            self.log(
                Kind::User,
                &id,
                What::ManagerChanged {
                    from: None,
                    to: manager,
                },
            );
        }
        if member {
            let dynamic: Vec<String> = self
                .groups
                .iter()
                .filter(|g| {
                    g.membership_rule
                        .as_deref()
                        .is_some_and(|r| r.contains("user.userType -eq \"Member\""))
                })
                .map(|g| g.id.clone())
                .collect();
            for group in dynamic {
                self.add_member(&group, Member::user(&id));
            }
        }
    }

    /// Changes a user; the changed properties are recorded for delta. False if unknown.
    pub fn update_user(&mut self, id: &str, change: impl FnOnce(&mut User)) -> bool {
        let Some(user) = self.users.get_mut(id) else {
            return false;
        };
        let before = user.clone();
        change(user);
        user.id = before.id.clone();
        let manager_changed =
            (user.manager_id != before.manager_id).then(|| What::ManagerChanged {
                from: before.manager_id.clone(),
                to: user.manager_id.clone(),
            });
        let fields = user_diff(&before, user);
        if !fields.is_empty() {
            self.log(Kind::User, id, What::Updated(fields));
        }
        if let Some(what) = manager_changed {
            self.log(Kind::User, id, what);
        }
        true
    }

    /// Sets (or clears) a user's manager.
    pub fn set_manager(&mut self, user: &str, manager: Option<&str>) -> bool {
        if manager.is_some_and(|m| !self.users.contains(m)) {
            return false;
        }
        self.update_user(user, |u| u.manager_id = manager.map(str::to_owned))
    }

    /// Deletes a user the way the portal does (soft delete: `@removed` reason `changed`); the
    /// user also leaves every group and stops being anyone's manager.
    pub fn delete_user(&mut self, id: &str) -> bool {
        self.remove_user(id, RemovedReason::Changed)
    }

    /// Deletes a user permanently (`@removed` reason `deleted`).
    pub fn purge_user(&mut self, id: &str) -> bool {
        self.remove_user(id, RemovedReason::Deleted)
    }

    fn remove_user(&mut self, id: &str, reason: RemovedReason) -> bool {
        if self.users.remove(id).is_none() {
            return false;
        }
        self.log(Kind::User, id, What::Removed(reason));
        self.drop_references(Kind::User, id);
        let reports: Vec<String> = self
            .users
            .iter()
            .filter(|u| u.manager_id.as_deref() == Some(id))
            .map(|u| u.id.clone())
            .collect();
        for report in reports {
            self.set_manager(&report, None);
        }
        for app in self.applications.iter_mut() {
            app.owners.retain(|o| o != id);
        }
        for group in self.groups.iter_mut() {
            group.owners.retain(|o| o != id);
        }
        true
    }

    /// Removes an object from every group it is a direct member of (recorded per group).
    fn drop_references(&mut self, kind: Kind, id: &str) {
        let groups: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.kind == kind && m.id == id))
            .map(|g| g.id.clone())
            .collect();
        for group in groups {
            self.remove_member(&group, id);
        }
    }

    // ---- groups ----

    /// Creates a security group.
    pub fn add_group(&mut self, display_name: &str) -> String {
        let id = self.new_guid();
        let nick: String = display_name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.anchor);
        self.insert_group(Group {
            id: id.clone(),
            display_name: display_name.to_owned(),
            description: None,
            mail: None,
            mail_nickname: nick,
            mail_enabled: false,
            security_enabled: true,
            group_types: Vec::new(),
            membership_rule: None,
            visibility: None,
            created: now,
            on_premises_sync_enabled: None,
            members: Vec::new(),
            owners: Vec::new(),
        });
        id
    }

    /// Adds a fully described group (members included, recorded as member additions).
    pub fn insert_group(&mut self, mut group: Group) {
        let id = group.id.clone();
        let members = std::mem::take(&mut group.members);
        self.groups.insert(group);
        self.log(Kind::Group, &id, What::Created);
        for member in members {
            self.add_member(&id, member);
        }
    }

    /// Changes a group's properties (not its members).
    pub fn update_group(&mut self, id: &str, change: impl FnOnce(&mut Group)) -> bool {
        let Some(group) = self.groups.get_mut(id) else {
            return false;
        };
        let before = group.clone();
        change(group);
        group.id = before.id.clone();
        group.members = before.members.clone();
        let fields = group_diff(&before, group);
        if !fields.is_empty() {
            self.log(Kind::Group, id, What::Updated(fields));
        }
        true
    }

    /// Adds a direct member; false if the group is unknown or it is already a member.
    pub fn add_member(&mut self, group: &str, member: Member) -> bool {
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        if member.id == group || g.members.iter().any(|m| m.id == member.id) {
            return false;
        }
        g.members.push(member.clone());
        self.log(Kind::Group, group, What::MemberAdded(member));
        true
    }

    /// Removes a direct member; false if it was not one.
    pub fn remove_member(&mut self, group: &str, member: &str) -> bool {
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        let Some(pos) = g.members.iter().position(|m| m.id == member) else {
            return false;
        };
        let removed = g.members.remove(pos);
        self.log(Kind::Group, group, What::MemberRemoved(removed));
        true
    }

    /// Deletes a group: Microsoft 365 groups are soft-deleted (`changed`), security groups are
    /// gone for good (`deleted`).
    pub fn delete_group(&mut self, id: &str) -> bool {
        let Some(group) = self.groups.remove(id) else {
            return false;
        };
        let reason = if group.group_types.iter().any(|t| t == "Unified") {
            RemovedReason::Changed
        } else {
            RemovedReason::Deleted
        };
        self.log(Kind::Group, id, What::Removed(reason));
        self.drop_references(Kind::Group, id);
        true
    }

    /// Direct members of a group, then theirs (each object once, groups included).
    pub fn transitive_members(&self, group: &str) -> Vec<Member> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        let mut stack = vec![group];
        seen.insert(group);
        while let Some(current) = stack.pop() {
            let Some(g) = self.groups.get(current) else {
                continue;
            };
            for member in &g.members {
                if seen.insert(&member.id) {
                    out.push(member.clone());
                    if member.kind == Kind::Group {
                        stack.push(&member.id);
                    }
                }
            }
        }
        out
    }

    // ---- applications ----

    /// Registers an application with no credentials.
    pub fn add_application(&mut self, display_name: &str) -> String {
        let id = self.new_guid();
        let app_id = self.new_guid();
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.anchor);
        self.applications.insert(Application {
            id: id.clone(),
            app_id,
            display_name: display_name.to_owned(),
            description: None,
            sign_in_audience: "AzureADMyOrg".into(),
            publisher_domain: self.domain.clone(),
            created: now,
            password_credentials: Vec::new(),
            key_credentials: Vec::new(),
            owners: Vec::new(),
        });
        self.log(Kind::Application, &id, What::Created);
        id
    }

    /// Changes an application (credentials included) by object ID.
    pub fn update_application(&mut self, id: &str, change: impl FnOnce(&mut Application)) -> bool {
        let Some(app) = self.applications.get_mut(id) else {
            return false;
        };
        let before = app.clone();
        change(app);
        app.id = before.id.clone();
        let fields = application_diff(&before, app);
        if !fields.is_empty() {
            self.log(Kind::Application, id, What::Updated(fields));
        }
        true
    }

    /// Makes `user` an owner of application `app` (added last). Owners are a relationship that
    /// application delta does not track, so no change is recorded: the app stays out of delta.
    /// False when either is unknown or the user already owns the app.
    pub fn add_application_owner(&mut self, app: &str, user: &str) -> bool {
        if !self.users.contains(user) {
            return false;
        }
        let Some(app) = self.applications.get_mut(app) else {
            return false;
        };
        if app.owners.iter().any(|o| o == user) {
            return false;
        }
        app.owners.push(user.to_owned());
        true
    }

    /// Removes `user` from the owners of application `app` (not recorded for delta, as above).
    /// False when the user was not an owner.
    pub fn remove_application_owner(&mut self, app: &str, user: &str) -> bool {
        let Some(app) = self.applications.get_mut(app) else {
            return false;
        };
        let before = app.owners.len();
        app.owners.retain(|o| o != user);
        app.owners.len() < before
    }

    /// The application with this client ID.
    pub fn application_by_app_id(&self, app_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
    }

    /// Adds a new secret valid for `valid_days` and removes the oldest one (a rotation).
    /// Returns the new secret's key ID.
    pub fn rotate_secret(&mut self, id: &str, valid_days: i64) -> Option<String> {
        let key_id = self.new_guid();
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.anchor);
        let new = PasswordCredential {
            key_id: key_id.clone(),
            display_name: Some(format!("rotated {}", now.date())),
            hint: Some(key_id[..3].to_owned()),
            start: now,
            end: now + time::Duration::days(valid_days),
        };
        let done = self.update_application(id, |app| {
            if !app.password_credentials.is_empty() {
                let oldest = app
                    .password_credentials
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, c)| c.end)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                app.password_credentials.remove(oldest);
            }
            app.password_credentials.push(new);
        });
        done.then_some(key_id)
    }

    /// Deletes an app registration (soft delete: `changed`).
    pub fn delete_application(&mut self, id: &str) -> bool {
        if self.applications.remove(id).is_none() {
            return false;
        }
        self.log(Kind::Application, id, What::Removed(RemovedReason::Changed));
        true
    }

    // ---- devices ----

    /// Changes an Entra device.
    pub fn update_device(&mut self, id: &str, change: impl FnOnce(&mut Device)) -> bool {
        let Some(device) = self.devices.get_mut(id) else {
            return false;
        };
        let before = device.clone();
        change(device);
        device.id = before.id.clone();
        let fields = device_diff(&before, device);
        if !fields.is_empty() {
            self.log(Kind::Device, id, What::Updated(fields));
        }
        true
    }

    /// Deletes an Entra device (hard delete).
    pub fn delete_device(&mut self, id: &str) -> bool {
        if self.devices.remove(id).is_none() {
            return false;
        }
        self.log(Kind::Device, id, What::Removed(RemovedReason::Deleted));
        self.drop_references(Kind::Device, id);
        true
    }

    /// Enrols a new Windows laptop for `user`: an Entra device and its Intune managed device.
    /// Returns (device object ID, managed device ID).
    pub fn enrol_device(&mut self, user: &str) -> Option<(String, String)> {
        let owner = self.users.get(user)?.clone();
        let id = self.new_guid();
        let device_id = self.new_guid();
        let managed_id = self.new_guid();
        let serial = self.next_serial();
        let name = format!("LAPTOP-N{serial:06}");
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(self.anchor);
        self.devices.insert(Device {
            id: id.clone(),
            device_id: device_id.clone(),
            display_name: name.clone(),
            operating_system: "Windows".into(),
            operating_system_version: "10.0.22631.4460".into(),
            trust_type: Some("AzureAd".into()),
            account_enabled: true,
            is_compliant: Some(true),
            is_managed: Some(true),
            manufacturer: Some("LENOVO".into()),
            model: Some("ThinkPad T14 Gen 4".into()),
            registration: now,
            approximate_last_sign_in: Some(now),
            profile_type: "RegisteredDevice".into(),
            on_premises_sync_enabled: None,
            owner_id: Some(owner.id.clone()),
        });
        self.log(Kind::Device, &id, What::Created);
        self.managed_devices.insert(ManagedDevice {
            id: managed_id.clone(),
            device_name: name.clone(),
            managed_device_name: format!("{}_Windows_{}", owner.mail_nickname, now.date()),
            serial_number: format!("PF{serial:08}"),
            manufacturer: "LENOVO".into(),
            model: "ThinkPad T14 Gen 4".into(),
            operating_system: "Windows".into(),
            os_version: "10.0.22631.4460".into(),
            compliance_state: "compliant".into(),
            last_sync: now,
            enrolled: now,
            user_id: Some(owner.id.clone()),
            user_principal_name: Some(owner.user_principal_name.clone()),
            user_display_name: Some(owner.display_name.clone()),
            email_address: owner.mail.clone(),
            azure_ad_device_id: device_id,
            owner_type: "company".into(),
            management_agent: "mdm".into(),
            enrollment_type: "windowsAzureADJoin".into(),
            is_encrypted: true,
            is_supervised: false,
            imei: None,
            wifi_mac: Some("A4C3F0112233".into()),
            ethernet_mac: Some("00155D010203".into()),
            phone_number: None,
            total_storage: 511_000_000_000,
            free_storage: 402_000_000_000,
            physical_memory: 17_179_869_184,
            device_category: "Unknown".into(),
        });
        Some((id, managed_id))
    }

    /// Retires a managed device: it disappears from Intune (no delta exists for it).
    pub fn retire_managed_device(&mut self, id: &str) -> bool {
        self.managed_devices.remove(id).is_some()
    }

    /// Changes a managed device (Intune has no delta; nothing is recorded).
    pub fn update_managed_device(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut ManagedDevice),
    ) -> bool {
        let Some(device) = self.managed_devices.get_mut(id) else {
            return false;
        };
        let keep = device.id.clone();
        change(device);
        device.id = keep;
        true
    }

    /// Applies `n` plausible changes chosen by `rng_seed` (joiners, leavers, renames, manager
    /// changes, membership changes, groups created and deleted, devices enrolled, retired and
    /// checked in, secrets rotated) and says what it did.
    pub fn mutate(&mut self, rng_seed: u64, n: usize) -> Vec<Mutation> {
        generate::mutate(self, rng_seed, n)
    }
}
