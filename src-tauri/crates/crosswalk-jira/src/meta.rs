//! Discovery (§B.1, §B.13): who we are, the site, projects, issue types and their statuses,
//! field schemas, users.

use crate::models::{
    CreateMetaPage, Field, IssueTypePage, IssueTypeStatuses, Myself, PageBean, Project, ServerInfo,
    User,
};
use crate::{seg, with_query, JiraClient, Result};

impl JiraClient {
    /// The calling account, including the time zone JQL date literals are read in (§B.6).
    ///
    /// # Errors
    /// `Error::Http` with `Unauthorized` when the email or API token is wrong or expired.
    pub async fn myself(&self) -> Result<Myself> {
        self.get("/rest/api/3/myself", "/rest/api/3/myself".into())
            .await
    }

    /// The site's canonical URL and deployment type (a connection check).
    ///
    /// # Errors
    /// Any `Error::Http`.
    pub async fn server_info(&self) -> Result<ServerInfo> {
        self.get("/rest/api/3/serverInfo", "/rest/api/3/serverInfo".into())
            .await
    }

    /// One project by key or id.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` when it does not exist or the account cannot browse it.
    pub async fn get_project(&self, key_or_id: &str) -> Result<Project> {
        self.get(
            "/rest/api/3/project/{key}",
            format!("/rest/api/3/project/{}", seg(key_or_id)),
        )
        .await
    }

    /// One page of projects whose key or name matches `query` (max 100 a page).
    ///
    /// # Errors
    /// Any `Error::Http`.
    pub async fn search_projects(
        &self,
        query: Option<&str>,
        start_at: u64,
        max_results: u32,
    ) -> Result<PageBean<Project>> {
        let start = start_at.to_string();
        let max = max_results.to_string();
        let mut pairs = vec![("startAt", start.as_str()), ("maxResults", max.as_str())];
        if let Some(query) = query {
            pairs.push(("query", query));
        }
        self.get(
            "/rest/api/3/project/search",
            with_query("/rest/api/3/project/search".into(), &pairs),
        )
        .await
    }

    /// Every issue type of `project` (key or id) with the statuses of its workflow (§B.1):
    /// what a status mapping can pair with.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible project.
    pub async fn project_statuses(&self, project_key: &str) -> Result<Vec<IssueTypeStatuses>> {
        self.get(
            "/rest/api/3/project/{key}/statuses",
            format!("/rest/api/3/project/{}/statuses", seg(project_key)),
        )
        .await
    }

    /// One page of the issue types that can be created in `project` (max 200 a page).
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown or invisible project.
    pub async fn issue_types(
        &self,
        project: &str,
        start_at: u64,
        max_results: u32,
    ) -> Result<IssueTypePage> {
        let path = format!("/rest/api/3/issue/createmeta/{}/issuetypes", seg(project));
        let (start, max) = (start_at.to_string(), max_results.min(200).to_string());
        self.get(
            "/rest/api/3/issue/createmeta/{project}/issuetypes",
            with_query(path, &[("startAt", &start), ("maxResults", &max)]),
        )
        .await
    }

    /// One page of the create-screen fields (schema, required, allowed values) of an issue type
    /// in `project` (max 200 a page): what a field mapping can write on create.
    ///
    /// # Errors
    /// `Error::Http` with `NotFound` for an unknown project or issue type.
    pub async fn create_meta(
        &self,
        project: &str,
        issue_type_id: &str,
        start_at: u64,
        max_results: u32,
    ) -> Result<CreateMetaPage> {
        let path = format!(
            "/rest/api/3/issue/createmeta/{}/issuetypes/{}",
            seg(project),
            seg(issue_type_id)
        );
        let (start, max) = (start_at.to_string(), max_results.min(200).to_string());
        self.get(
            "/rest/api/3/issue/createmeta/{project}/issuetypes/{issueTypeId}",
            with_query(path, &[("startAt", &start), ("maxResults", &max)]),
        )
        .await
    }

    /// Every field of the site, system and custom, with JQL clause names.
    ///
    /// # Errors
    /// Any `Error::Http`.
    pub async fn fields(&self) -> Result<Vec<Field>> {
        self.get("/rest/api/3/field", "/rest/api/3/field".into())
            .await
    }

    /// Users matching `query` (prefix of name or email). Without *Browse users and groups* Jira
    /// answers an empty list, not an error (§B.13).
    ///
    /// # Errors
    /// Any `Error::Http` (user search has its own tenant-wide rate limit).
    pub async fn search_users(&self, query: &str, max_results: u32) -> Result<Vec<User>> {
        let max = max_results.to_string();
        self.get(
            "/rest/api/3/user/search",
            with_query(
                "/rest/api/3/user/search".into(),
                &[("query", query), ("maxResults", &max)],
            ),
        )
        .await
    }

    /// The active user with exactly this email, if Jira shows one (a hidden email is only
    /// matched exactly, so a single result without an email counts as the match).
    ///
    /// # Errors
    /// Any `Error::Http`.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let users = self.search_users(email, 10).await?;
        let exact = users.iter().find(|user| {
            user.email_address
                .as_deref()
                .is_some_and(|address| address.eq_ignore_ascii_case(email))
        });
        Ok(match exact {
            Some(user) => Some(user.clone()),
            None if users.len() == 1 && users[0].email_address.is_none() => {
                users.into_iter().next()
            }
            None => None,
        })
    }
}
