//! Case state changes (api/microsoft.md §F.9): resolving is the `CloseIncident` action with an
//! `IncidentResolution`; cancelling is a PATCH of statecode 2 / statuscode 6.

use crate::{check_id, DataverseClient, Result, API};
use crosswalk_http::{Method, RequestSpec};
use serde_json::json;

impl DataverseClient {
    /// Resolves a case with a resolution titled `subject`; `status` is the resolved statuscode
    /// (5 Problem Solved, 1000 Information Provided, custom), `None` for the default.
    ///
    /// # Errors
    /// `InvalidStateTransition` when the status is not a resolved reason or the case is not
    /// active; `MissingPrivilege` without Write on `incident` or Create on `incidentresolution`.
    pub async fn close_incident(&self, id: &str, subject: &str, status: Option<i32>) -> Result<()> {
        const ROUTE: &str = "/api/data/v9.2/CloseIncident";
        check_id(id)?;
        self.send(
            RequestSpec::new(Method::POST, ROUTE, format!("{API}/CloseIncident")).json(&json!({
                "IncidentResolution": {
                    "subject": subject,
                    "incidentid@odata.bind": format!("/incidents({id})"),
                },
                "Status": status.unwrap_or(-1),
            })),
        )
        .await?;
        Ok(())
    }

    /// Cancels a case (statecode 2 Canceled, statuscode 6 Canceled).
    ///
    /// # Errors
    /// `InvalidStateTransition` when Dataverse refuses; `Http(NotFound)` for a missing case.
    pub async fn cancel_incident(&self, id: &str) -> Result<()> {
        self.update(
            "incidents",
            id,
            &json!({"statecode": 2, "statuscode": 6}),
            None,
        )
        .await
    }
}
