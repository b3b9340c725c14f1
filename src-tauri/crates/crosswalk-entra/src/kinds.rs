//! The kinds of Entra objects the sync mirrors, and the Assets object type each becomes.

use serde::{Deserialize, Serialize};

/// One kind of mirrored object. Memberships are objects of their own (see ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    User,
    Group,
    Membership,
    Application,
    Device,
    ManagedDevice,
}

impl ObjectKind {
    /// Every kind, in the order a run syncs them: reference targets before their referrers.
    pub const ALL: [ObjectKind; 6] = [
        ObjectKind::User,
        ObjectKind::Device,
        ObjectKind::ManagedDevice,
        ObjectKind::Application,
        ObjectKind::Group,
        ObjectKind::Membership,
    ];

    /// The word in the store, run counts and events.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Membership => "membership",
            ObjectKind::Application => "application",
            ObjectKind::Device => "device",
            ObjectKind::ManagedDevice => "managed_device",
        }
    }

    /// Parses a stored word.
    pub fn from_word(word: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.word() == word)
    }

    /// Whether other objects reference this kind (users, groups, Entra devices): only these are
    /// kept in memory during a run, so a million memberships cost no memory.
    pub fn is_reference_target(self) -> bool {
        matches!(
            self,
            ObjectKind::User | ObjectKind::Group | ObjectKind::Device
        )
    }

    /// The Assets object type name.
    pub fn type_name(self) -> &'static str {
        match self {
            ObjectKind::User => "Entra User",
            ObjectKind::Group => "Entra Group",
            ObjectKind::Membership => "Entra Group Membership",
            ObjectKind::Application => "Entra App Registration",
            ObjectKind::Device => "Entra Device",
            ObjectKind::ManagedDevice => "Intune Device",
        }
    }

    /// Names of Assets global icons to try for the type, best first.
    pub fn icons(self) -> &'static [&'static str] {
        match self {
            ObjectKind::User => &["User", "Person", "Employee"],
            ObjectKind::Group => &["Group", "Users", "Team"],
            ObjectKind::Membership => &["Link", "Relation", "Group"],
            ObjectKind::Application => &["Application", "Software", "Cloud"],
            ObjectKind::Device => &["Computer", "Laptop", "Device"],
            ObjectKind::ManagedDevice => &["Laptop", "Mobile", "Computer"],
        }
    }

    /// Plural for messages ("3 users").
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::User => "users",
            ObjectKind::Group => "groups",
            ObjectKind::Membership => "group memberships",
            ObjectKind::Application => "app registrations",
            ObjectKind::Device => "Entra devices",
            ObjectKind::ManagedDevice => "Intune devices",
        }
    }

    /// The delta cursor's name in the store (managed devices have no delta: a sync time instead).
    pub fn cursor(self) -> &'static str {
        match self {
            ObjectKind::User => "delta.users",
            ObjectKind::Group => "delta.groups",
            ObjectKind::Membership => "delta.groups",
            ObjectKind::Application => "delta.applications",
            ObjectKind::Device => "delta.devices",
            ObjectKind::ManagedDevice => "managed_devices.synced_at",
        }
    }
}
