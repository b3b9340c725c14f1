//! Who is who on both sides: Jira accounts and Dynamics users matched by email address.
//!
//! The directory is filled while an item runs (`Item::resolve_users` looks up only the users
//! its records and issues name) and shared by every conversion of the run, so it is a cache
//! behind a lock: each method takes `&self` and answers owned values.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// Jira account ids and Dataverse `systemuserid`s, each with an email; users are matched across
/// by email, ignoring case. Emails Jira hides (privacy settings) simply leave a user unmatched.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    jira_by_email: HashMap<String, String>,
    email_by_jira: HashMap<String, String>,
    dataverse_by_email: HashMap<String, String>,
    email_by_dataverse: HashMap<String, String>,
    /// Lookups already made (found or not), so a run asks each remote once per user.
    looked_up: HashSet<String>,
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn guid_key(id: &str) -> String {
    id.trim().trim_matches(['{', '}']).to_ascii_lowercase()
}

impl UserDirectory {
    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Records a Jira account and its email (an empty email is ignored).
    pub fn add_jira(&self, account_id: &str, email: &str) -> &UserDirectory {
        let email = email_key(email);
        if !email.is_empty() && !account_id.is_empty() {
            self.write(|inner| {
                inner
                    .jira_by_email
                    .insert(email.clone(), account_id.to_owned());
                inner.email_by_jira.insert(account_id.to_owned(), email);
            });
        }
        self
    }

    /// Records a Dynamics user (`systemuserid`) and its email (an empty email is ignored).
    pub fn add_dataverse(&self, systemuserid: &str, email: &str) -> &UserDirectory {
        let email = email_key(email);
        let id = guid_key(systemuserid);
        if !email.is_empty() && !id.is_empty() {
            self.write(|inner| {
                inner.dataverse_by_email.insert(email.clone(), id.clone());
                inner.email_by_dataverse.insert(id, email);
            });
        }
        self
    }

    /// Whether `key` (a user lookup, e.g. `jira:<email>`) is asked for the first time this run;
    /// marks it asked.
    pub fn first_lookup(&self, key: &str) -> bool {
        self.write(|inner| inner.looked_up.insert(key.to_lowercase()))
    }

    /// The Jira account with this email.
    pub fn jira_account_for_email(&self, email: &str) -> Option<String> {
        self.read(|inner| inner.jira_by_email.get(&email_key(email)).cloned())
    }

    /// The Dynamics user with this email.
    pub fn dataverse_user_for_email(&self, email: &str) -> Option<String> {
        self.read(|inner| inner.dataverse_by_email.get(&email_key(email)).cloned())
    }

    /// The email of a Jira account (lower case).
    pub fn email_of_jira(&self, account_id: &str) -> Option<String> {
        self.read(|inner| inner.email_by_jira.get(account_id).cloned())
    }

    /// The email of a Dynamics user (lower case).
    pub fn email_of_dataverse(&self, systemuserid: &str) -> Option<String> {
        self.read(|inner| {
            inner
                .email_by_dataverse
                .get(&guid_key(systemuserid))
                .cloned()
        })
    }

    /// The Jira account of a Dynamics user, through their common email.
    pub fn jira_for_dataverse(&self, systemuserid: &str) -> Option<String> {
        self.email_of_dataverse(systemuserid)
            .and_then(|email| self.jira_account_for_email(&email))
    }

    /// The Dynamics user of a Jira account, through their common email.
    pub fn dataverse_for_jira(&self, account_id: &str) -> Option<String> {
        self.email_of_jira(account_id)
            .and_then(|email| self.dataverse_user_for_email(&email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_by_email_ignoring_case() {
        let users = UserDirectory::default();
        users
            .add_jira("5b10a", "Ann.Lee@Contoso.com")
            .add_dataverse(
                "{C0FFEE00-0000-0000-0000-000000000001}",
                "ann.lee@contoso.com ",
            )
            .add_jira("5b10b", "")
            .add_dataverse("c0ffee00-0000-0000-0000-000000000002", "bob@contoso.com");
        assert_eq!(
            users.jira_for_dataverse("c0ffee00-0000-0000-0000-000000000001"),
            Some("5b10a".to_owned())
        );
        assert_eq!(
            users.dataverse_for_jira("5b10a"),
            Some("c0ffee00-0000-0000-0000-000000000001".to_owned())
        );
        assert_eq!(
            users.jira_account_for_email("ANN.LEE@contoso.com"),
            Some("5b10a".to_owned())
        );
        assert_eq!(users.email_of_jira("5b10b"), None);
        assert_eq!(
            users.jira_for_dataverse("c0ffee00-0000-0000-0000-000000000002"),
            None
        );
    }
}
