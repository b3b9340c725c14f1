//! Lead outcomes (api/microsoft.md §F.9): qualifying is the bound action
//! `leads({id})/Microsoft.Dynamics.CRM.QualifyLead` (the namespace is required on a bound
//! operation); disqualifying is a PATCH of statecode 2 with one of its reasons.

use crate::{check_id, DataverseClient, Error, Result, API};
use crosswalk_http::{Method, RequestSpec};
use serde_json::{json, Value};

impl DataverseClient {
    /// Qualifies an open lead with the qualified `status` (3 Qualified, or a custom one) and
    /// creates no account, contact or opportunity from it: the lead's Jira issue, not a new
    /// sales record, is what the connector follows.
    ///
    /// # Errors
    /// `InvalidStateTransition` when the status is not a qualified reason or the lead is not
    /// open; `MissingPrivilege` without Write on `lead`; `Unexpected` when the answer is not
    /// the documented collection of created records.
    pub async fn qualify_lead(&self, id: &str, status: i32) -> Result<()> {
        const ROUTE: &str = "/api/data/v9.2/leads({id})/Microsoft.Dynamics.CRM.QualifyLead";
        check_id(id)?;
        let answer: Value = self
            .send_json(
                RequestSpec::new(
                    Method::POST,
                    ROUTE,
                    format!("{API}/leads({id})/Microsoft.Dynamics.CRM.QualifyLead"),
                )
                .json(&json!({
                    "CreateAccount": false,
                    "CreateContact": false,
                    "CreateOpportunity": false,
                    "Status": status,
                })),
            )
            .await?;
        match answer.get("value").and_then(Value::as_array) {
            Some(created) if created.is_empty() => Ok(()),
            Some(created) => Err(Error::Unexpected {
                route: ROUTE,
                detail: format!("{} records were created from the lead", created.len()),
            }),
            None => Err(Error::Unexpected {
                route: ROUTE,
                detail: "no collection of created records".into(),
            }),
        }
    }

    /// Disqualifies a lead with `status` (4 Lost, 5 Cannot Contact, 6 No Longer Interested,
    /// 7 Canceled, or a custom one).
    ///
    /// # Errors
    /// `InvalidStateTransition` when `status` is not a disqualified reason; `Http(NotFound)`
    /// for a missing lead.
    pub async fn disqualify_lead(&self, id: &str, status: i32) -> Result<()> {
        self.update(
            "leads",
            id,
            &json!({"statecode": 2, "statuscode": status}),
            None,
        )
        .await
    }
}
