//! Who is who on both sides: Jira accounts and Dynamics users matched by email address.

use std::collections::HashMap;

/// Jira account ids and Dataverse `systemuserid`s, each with an email; users are matched across
/// by email, ignoring case. Emails Jira hides (privacy settings) simply leave a user unmatched.
#[derive(Debug, Clone, Default)]
pub struct UserDirectory {
    jira_by_email: HashMap<String, String>,
    email_by_jira: HashMap<String, String>,
    dataverse_by_email: HashMap<String, String>,
    email_by_dataverse: HashMap<String, String>,
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn guid_key(id: &str) -> String {
    id.trim().trim_matches(['{', '}']).to_ascii_lowercase()
}

impl UserDirectory {
    /// Records a Jira account and its email (an empty email is ignored).
    pub fn add_jira(&mut self, account_id: &str, email: &str) -> &mut UserDirectory {
        let email = email_key(email);
        if !email.is_empty() && !account_id.is_empty() {
            self.jira_by_email
                .insert(email.clone(), account_id.to_owned());
            self.email_by_jira.insert(account_id.to_owned(), email);
        }
        self
    }

    /// Records a Dynamics user (`systemuserid`) and its email (an empty email is ignored).
    pub fn add_dataverse(&mut self, systemuserid: &str, email: &str) -> &mut UserDirectory {
        let email = email_key(email);
        let id = guid_key(systemuserid);
        if !email.is_empty() && !id.is_empty() {
            self.dataverse_by_email.insert(email.clone(), id.clone());
            self.email_by_dataverse.insert(id, email);
        }
        self
    }

    /// The Jira account with this email.
    pub fn jira_account_for_email(&self, email: &str) -> Option<&str> {
        self.jira_by_email
            .get(&email_key(email))
            .map(String::as_str)
    }

    /// The Dynamics user with this email.
    pub fn dataverse_user_for_email(&self, email: &str) -> Option<&str> {
        self.dataverse_by_email
            .get(&email_key(email))
            .map(String::as_str)
    }

    /// The email of a Jira account (lower case).
    pub fn email_of_jira(&self, account_id: &str) -> Option<&str> {
        self.email_by_jira.get(account_id).map(String::as_str)
    }

    /// The email of a Dynamics user (lower case).
    pub fn email_of_dataverse(&self, systemuserid: &str) -> Option<&str> {
        self.email_by_dataverse
            .get(&guid_key(systemuserid))
            .map(String::as_str)
    }

    /// The Jira account of a Dynamics user, through their common email.
    pub fn jira_for_dataverse(&self, systemuserid: &str) -> Option<&str> {
        self.email_of_dataverse(systemuserid)
            .and_then(|email| self.jira_account_for_email(email))
    }

    /// The Dynamics user of a Jira account, through their common email.
    pub fn dataverse_for_jira(&self, account_id: &str) -> Option<&str> {
        self.email_of_jira(account_id)
            .and_then(|email| self.dataverse_user_for_email(email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_by_email_ignoring_case() {
        let mut users = UserDirectory::default();
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
            Some("5b10a")
        );
        assert_eq!(
            users.dataverse_for_jira("5b10a"),
            Some("c0ffee00-0000-0000-0000-000000000001")
        );
        assert_eq!(
            users.jira_account_for_email("ANN.LEE@contoso.com"),
            Some("5b10a")
        );
        assert_eq!(users.email_of_jira("5b10b"), None);
        assert_eq!(
            users.jira_for_dataverse("c0ffee00-0000-0000-0000-000000000002"),
            None
        );
    }
}
