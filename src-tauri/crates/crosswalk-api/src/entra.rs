//! Entra Sync use cases beyond generic jobs: confirming held-back retirements, the attribute
//! catalogue for the job editor, and the object schemas a Jira connection's Assets offers.

use crosswalk_core::{Code, UserFacing};
use crosswalk_engine::Services;

/// Lets the job's next run carry out the retirements the guard held back (once).
///
/// # Errors
/// `NotFound` for an unknown job, `Validation` for a job of another kind.
pub fn confirm_retirements(services: &Services, job_name: &str) -> anyhow::Result<()> {
    let store = &services.store;
    let job = store
        .get_job(job_name)
        .map_err(|e| anyhow::Error::new(e.user_facing()))?;
    if job.config.kind != crosswalk_entra::KIND {
        return Err(anyhow::Error::new(
            UserFacing::new(
                Code::Validation,
                format!(
                    "Job {job_name} is not an Entra Sync job; only Entra Sync retires objects."
                ),
            )
            .with_fix("Pass the name of an entra-sync job (`crosswalk jobs`)"),
        ));
    }
    store
        .set_setting(&crosswalk_entra::confirm_key(job.id), &true)
        .map_err(|e| anyhow::Error::new(e.user_facing()))?;
    Ok(())
}
