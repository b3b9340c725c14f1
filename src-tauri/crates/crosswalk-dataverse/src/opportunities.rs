//! Opportunity outcomes (api/microsoft.md §F.9): winning and losing are the `WinOpportunity`
//! and `LoseOpportunity` actions with an `OpportunityClose` activity; the platform refuses them
//! as plain updates. Reopening is a PATCH of statecode 0 (SetState's replacement is Update).

use crate::{check_id, DataverseClient, Result, API};
use crosswalk_http::{Method, RequestSpec};
use serde_json::json;

impl DataverseClient {
    /// Wins an open opportunity with an opportunity close titled `subject`; `status` is the
    /// won statuscode (3 Won, or a custom won reason), `None` for the default.
    ///
    /// # Errors
    /// `InvalidStateTransition` when the status is not a won reason or the opportunity is not
    /// open; `MissingPrivilege` without Write on `opportunity` or Create on activities.
    pub async fn win_opportunity(
        &self,
        id: &str,
        subject: &str,
        status: Option<i32>,
    ) -> Result<()> {
        const ROUTE: &str = "/api/data/v9.2/WinOpportunity";
        self.close_opportunity(ROUTE, "WinOpportunity", id, subject, status)
            .await
    }

    /// Loses an open opportunity with an opportunity close titled `subject`; `status` is the
    /// lost statuscode (4 Canceled, 5 Out-Sold, custom), `None` for the default.
    ///
    /// # Errors
    /// As [`DataverseClient::win_opportunity`], for lost reasons.
    pub async fn lose_opportunity(
        &self,
        id: &str,
        subject: &str,
        status: Option<i32>,
    ) -> Result<()> {
        const ROUTE: &str = "/api/data/v9.2/LoseOpportunity";
        self.close_opportunity(ROUTE, "LoseOpportunity", id, subject, status)
            .await
    }

    async fn close_opportunity(
        &self,
        route: &'static str,
        action: &str,
        id: &str,
        subject: &str,
        status: Option<i32>,
    ) -> Result<()> {
        check_id(id)?;
        self.send(
            RequestSpec::new(Method::POST, route, format!("{API}/{action}")).json(&json!({
                "OpportunityClose": {
                    "subject": subject,
                    "opportunityid@odata.bind": format!("/opportunities({id})"),
                },
                "Status": status.unwrap_or(-1),
            })),
        )
        .await?;
        Ok(())
    }

    /// Reopens a won or lost opportunity as Open with `status` (1 In Progress, 2 On Hold).
    ///
    /// # Errors
    /// `InvalidStateTransition` when `status` is not an open reason; `Http(NotFound)` for a
    /// missing opportunity.
    pub async fn reopen_opportunity(&self, id: &str, status: i32) -> Result<()> {
        self.update(
            "opportunities",
            id,
            &json!({"statecode": 0, "statuscode": status}),
            None,
        )
        .await
    }
}
