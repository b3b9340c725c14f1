//! The use cases the console (and parts of the CLI) call: one method per user action.

use crate::dto::*;
use crate::error::Invalid;
use crate::forms;
use anyhow::Context as _;
use crosswalk_core::{Code, ConnectionConfig, RunId, RunStatus, SecretRef, Trigger, UserFacing};
use crosswalk_engine::{Engine, SchedulerHandle};
use crosswalk_store::{EventFilter, RunFilter, RunRow};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Settings key of the console preferences.
const SETTINGS_KEY: &str = "app_settings";

/// The console's entry point into Crosswalk. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    engine: Engine,
    scheduler: SchedulerHandle,
    info: Arc<AppInfo>,
}

/// RFC 3339 text for the UI.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Where a secret lives, in words an admin understands.
pub fn secret_location(secret: &SecretRef) -> String {
    match secret {
        SecretRef::Keychain(name) => format!("OS keychain (entry \"{name}\")"),
        SecretRef::Env(var) => format!("environment variable {var}"),
    }
}

impl Api {
    /// The API over a running engine and scheduler.
    pub fn new(scheduler: SchedulerHandle, info: AppInfo) -> Api {
        Api {
            engine: scheduler.engine().clone(),
            scheduler,
            info: Arc::new(info),
        }
    }

    /// The engine behind the API (for event subscriptions).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The scheduler behind the API (tray actions).
    pub fn scheduler(&self) -> &SchedulerHandle {
        &self.scheduler
    }

    fn store(&self) -> &crosswalk_store::Store {
        &self.engine.services().store
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&crosswalk_secrets::Secrets) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let secrets = Arc::clone(&self.engine.services().secrets);
        tokio::task::spawn_blocking(move || f(&secrets))
            .await
            .context("keychain task failed")
    }

    /// Every connection, with whether its secret is actually stored.
    pub async fn list_connections(&self) -> anyhow::Result<Vec<ConnectionView>> {
        let stored = self.store().list_connections()?;
        let refs: Vec<SecretRef> = stored.iter().map(|c| c.config.secret_ref()).collect();
        let present = self
            .blocking(move |secrets| {
                refs.iter()
                    .map(|secret_ref| secrets.is_available(secret_ref))
                    .collect::<Vec<bool>>()
            })
            .await?;
        Ok(stored
            .into_iter()
            .zip(present)
            .map(|(stored, secret_stored)| {
                connection_view(&stored.config, secret_stored, stored.updated_at)
            })
            .collect())
    }

    /// Adds or edits a connection: validates everything first, then stores the secret in the
    /// keychain, then the connection, so a failure leaves nothing half-saved.
    pub async fn save_connection(&self, form: ConnectionForm) -> anyhow::Result<ConnectionView> {
        let config = forms::connection_from_form(&form)?;
        let original = form
            .original_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        let existing_original = match original {
            Some(name) => Some(
                self.store()
                    .get_connection(name)
                    .map_err(|e| anyhow::Error::new(e.user_facing()))?,
            ),
            None => None,
        };
        let renaming = original.is_some_and(|name| name != config.name);
        if (original.is_none() || renaming) && self.store().find_connection(&config.name)?.is_some()
        {
            return Err(Invalid {
                what: "connection".into(),
                problems: vec![crosswalk_core::ValidationError::new(
                    "name",
                    format!("a connection named \"{}\" already exists", config.name),
                )],
            }
            .into());
        }
        if let Some(existing) = &existing_original {
            if existing.config.settings.kind() != config.settings.kind() {
                return Err(Invalid {
                    what: "connection".into(),
                    problems: vec![crosswalk_core::ValidationError::new("kind", "the kind of an existing connection cannot change; add a new connection instead")],
                }
                .into());
            }
        }
        let new_secret = form
            .secret
            .as_deref()
            .map(crosswalk_core::Secret::new)
            .filter(|s| !s.is_empty());
        let target_ref = config.secret_ref();
        match (&target_ref, new_secret) {
            (SecretRef::Keychain(entry), Some(secret)) => {
                let entry = entry.clone();
                self.blocking(move |secrets| secrets.keychain().set(&entry, &secret))
                    .await?
                    .map_err(|e| anyhow::Error::new(e.user_facing()))?;
            }
            (SecretRef::Keychain(entry), None) => {
                // No new value: keep the stored one, moving it along on a rename.
                let old_entry = existing_original.as_ref().map(|c| c.config.secret_ref());
                let entry = entry.clone();
                let moved = self
                    .blocking(move |secrets| -> Result<bool, crosswalk_secrets::Error> {
                        if secrets.keychain().exists(&entry)? {
                            return Ok(true);
                        }
                        if let Some(SecretRef::Keychain(old)) = old_entry {
                            if old != entry && secrets.keychain().exists(&old)? {
                                let value = secrets.keychain().get(&old)?;
                                secrets.keychain().set(&entry, &value)?;
                                return Ok(true);
                            }
                        }
                        Ok(false)
                    })
                    .await?
                    .map_err(|e| anyhow::Error::new(e.user_facing()))?;
                if !moved {
                    return Err(Invalid {
                        what: "connection".into(),
                        problems: vec![crosswalk_core::ValidationError::new(
                            "secret",
                            format!(
                                "enter the {} (it is stored in the OS keychain, never shown again)",
                                config.settings.kind().secret_label()
                            ),
                        )],
                    }
                    .into());
                }
            }
            (SecretRef::Env(_), Some(_)) => {
                return Err(Invalid {
                    what: "connection".into(),
                    problems: vec![crosswalk_core::ValidationError::new(
                        "secret",
                        "leave the secret empty when it is read from an environment variable",
                    )],
                }
                .into());
            }
            (SecretRef::Env(_), None) => {}
        }
        self.store().upsert_connection(&config)?;
        if let Some(old) = &existing_original {
            // The remembered secret expiry belongs to the old name and app registration.
            if renaming || old.config.settings != config.settings {
                self.forget_secret_expiry(&old.config.name);
            }
        }
        if renaming {
            if let Some(old) = &existing_original {
                self.store().delete_connection(&old.config.name)?;
                self.forget_owned_secret(&old.config, Some(&target_ref))
                    .await;
            }
        }
        let stored = self.store().get_connection(&config.name)?;
        Ok(connection_view(&stored.config, true, stored.updated_at))
    }

    /// Removes the keychain entry a connection owned (named after it), unless still in use.
    async fn forget_owned_secret(&self, old: &ConnectionConfig, still_used: Option<&SecretRef>) {
        let SecretRef::Keychain(entry) = old.secret_ref() else {
            return;
        };
        if entry != old.name || still_used == Some(&SecretRef::Keychain(entry.clone())) {
            return;
        }
        let res = self
            .blocking(move |secrets| secrets.keychain().delete(&entry))
            .await;
        if let Ok(Err(error)) | Err(error) =
            res.map_err(|e| crosswalk_secrets::Error::Unavailable {
                detail: e.to_string(),
            })
        {
            tracing::warn!(message = "Could not remove a keychain entry.", error = %error);
        }
    }

    /// Deletes a connection and the keychain entry it owned.
    pub async fn delete_connection(&self, name: &str) -> anyhow::Result<()> {
        let stored = self
            .store()
            .get_connection(name)
            .map_err(|e| anyhow::Error::new(e.user_facing()))?;
        self.store().delete_connection(name)?;
        self.forget_secret_expiry(name);
        self.forget_owned_secret(&stored.config, None).await;
        Ok(())
    }

    fn forget_secret_expiry(&self, connection: &str) {
        let key = crosswalk_engine::secret_expiry::setting_key(connection);
        if let Err(error) = self.store().delete_setting(&key) {
            tracing::warn!(message = "Could not forget a client secret's expiry.", connection, error = %error);
        }
    }

    /// The last known client-secret expiry of each Entra and Dataverse connection, as the last
    /// health check or sync read it; no network. Connections never checked are left out.
    pub fn list_secret_expiries(&self) -> anyhow::Result<Vec<SecretExpiryView>> {
        secret_expiry_views(self.store(), self.engine.services().clock.now())
    }

    /// "Test connection": signs in and probes what Crosswalk needs, as a checklist (and remembers
    /// when the client secret expires, for the dashboard).
    pub async fn test_connection(&self, name: &str) -> anyhow::Result<ConnectionTestReport> {
        let stored = self
            .store()
            .get_connection(name)
            .map_err(|e| anyhow::Error::new(e.user_facing()))?;
        Ok(
            crosswalk_engine::checks::test_connection_remembering_expiry(
                self.engine.services(),
                &stored.config,
            )
            .await,
        )
    }

    /// The job kinds this build can run.
    pub fn list_job_kinds(&self) -> Vec<JobKindView> {
        self.engine
            .registry()
            .kinds()
            .map(|kind| JobKindView {
                kind: kind.kind().into(),
                label: kind.label().into(),
            })
            .collect()
    }

    /// Every job with its last run.
    pub fn list_jobs(&self) -> anyhow::Result<Vec<JobView>> {
        let running = self.engine.running();
        self.store()
            .list_jobs()?
            .into_iter()
            .map(|job| {
                let last_run = self.store().last_run(job.id)?.map(|run| run_summary(&run));
                let kind_label = self.engine.registry().get(&job.config.kind).map_or_else(
                    || format!("{} (unknown kind)", job.config.kind),
                    |k| k.label().to_owned(),
                );
                Ok(JobView {
                    name: job.config.name.clone(),
                    kind: job.config.kind.clone(),
                    kind_label,
                    schedule: job.config.schedule,
                    schedule_label: job.config.schedule.label(),
                    enabled: job.config.enabled,
                    next_due_at: job.next_due_at.map(timestamp),
                    running_run_id: running_run_id(
                        running
                            .iter()
                            .find(|(id, _)| *id == job.id)
                            .map(|(_, run)| run.0),
                        last_run.as_ref(),
                    ),
                    last_run,
                    form: forms::form_from_job(&job.config),
                })
            })
            .collect()
    }

    /// Adds or edits a job after checking its kind-specific settings.
    pub async fn save_job(&self, form: JobForm) -> anyhow::Result<JobView> {
        let job = forms::job_from_form(&form)?;
        let Some(kind) = self.engine.registry().get(&job.kind) else {
            return Err(Invalid {
                what: "job".into(),
                problems: vec![crosswalk_core::ValidationError::new(
                    "kind",
                    format!(
                        "unknown kind \"{}\"; use one of: {}",
                        job.kind,
                        self.engine.registry().words().join(", ")
                    ),
                )],
            }
            .into());
        };
        if let Err(problems) = kind.validate(&job.settings) {
            let problems = problems
                .into_iter()
                .map(|mut p| {
                    p.message = format!("{}: {}", p.field, p.message);
                    p.field = "settings_json".into();
                    p
                })
                .collect();
            return Err(Invalid {
                what: "job".into(),
                problems,
            }
            .into());
        }
        let original = form.original_name.as_deref().filter(|n| !n.is_empty());
        let renaming = original.is_some_and(|n| n != job.name);
        if (original.is_none() || renaming) && self.store().find_job(&job.name)?.is_some() {
            return Err(Invalid {
                what: "job".into(),
                problems: vec![crosswalk_core::ValidationError::new(
                    "name",
                    format!("a job named \"{}\" already exists", job.name),
                )],
            }
            .into());
        }
        let before = match original {
            Some(name) => Some(
                self.store()
                    .get_job(name)
                    .map_err(|e| anyhow::Error::new(e.user_facing()))?,
            ),
            None => None,
        };
        if renaming {
            // Runs and cursors belong to the job row, so a rename keeps its history.
            let old = before.as_ref().expect("renaming implies an original job");
            self.store().rename_job(old.id, &job.name)?;
        }
        // The store clears the due time when the schedule or enabled flag changes.
        self.store().upsert_job(&job)?;
        self.scheduler.config_changed().await;
        self.list_jobs()?
            .into_iter()
            .find(|j| j.name == job.name)
            .ok_or_else(|| anyhow::anyhow!("job vanished after saving"))
    }

    /// Deletes a job and its run history.
    pub async fn delete_job(&self, name: &str) -> anyhow::Result<()> {
        let job = self
            .store()
            .get_job(name)
            .map_err(|e| anyhow::Error::new(e.user_facing()))?;
        if self.engine.is_running(job.id) {
            return Err(
                UserFacing::new(Code::Conflict, format!("Job \"{name}\" is running."))
                    .with_fix("Cancel the run or wait for it to finish, then delete the job.")
                    .into(),
            );
        }
        self.store().delete_job(name)?;
        self.scheduler.config_changed().await;
        Ok(())
    }

    /// "Sync now".
    pub async fn run_job_now(&self, name: &str) -> anyhow::Result<RunId> {
        self.scheduler.run_now(name, Trigger::SyncNow).await
    }

    /// "Preview": a dry run that records the plan (creates, updates with before/after,
    /// retirements) without writing anywhere.
    pub async fn preview_job(&self, name: &str) -> anyhow::Result<RunId> {
        let started = self.engine.start(crosswalk_engine::RunRequest {
            job_name: name.to_owned(),
            trigger: Trigger::SyncNow,
            dry_run: true,
        })?;
        Ok(started.run_id)
    }

    /// Lets an Entra Sync job's next run carry out the retirements its guard held back.
    pub fn confirm_retirements(&self, job_name: &str) -> anyhow::Result<()> {
        crate::entra::confirm_retirements(self.engine.services(), job_name)
    }

    /// What the Entra Sync job editor offers (kinds, properties, defaults).
    pub fn entra_catalogue(&self) -> crate::dto::EntraCatalogue {
        crate::entra::catalogue()
    }

    /// The object schemas of a Jira connection's Assets, with conflicts explained.
    pub async fn list_asset_schemas(
        &self,
        jira_connection: &str,
    ) -> anyhow::Result<Vec<crate::dto::AssetsSchemaView>> {
        crate::entra::list_asset_schemas(self.engine.services(), jira_connection).await
    }

    /// What the Smart Connected Item wizard offers, read live from both connections: tables by
    /// module, projects, the project's issue types and, with table and issue type chosen, the
    /// columns, fields, their compatibility and the heuristic status map.
    pub async fn dynamics_catalogue(
        &self,
        query: &crate::dto::DynamicsCatalogueQuery,
    ) -> anyhow::Result<crate::dto::DynamicsCatalogue> {
        crate::dynamics::catalogue(self.engine.services(), query).await
    }

    /// A Smart Connected Item's stored links (no remote calls).
    pub fn dynamics_links(
        &self,
        job_name: &str,
    ) -> anyhow::Result<Vec<crate::dto::DynamicsLinkRow>> {
        crate::dynamics::links(self.engine.services(), job_name)
    }

    /// One page of a Smart Connected Item's stored links, filtered (no remote calls).
    pub fn dynamics_link_page(
        &self,
        job_name: &str,
        query: &crate::dto::DynamicsLinkQuery,
    ) -> anyhow::Result<crate::dto::DynamicsLinkPage> {
        crate::dynamics::link_page(self.engine.services(), job_name, query)
    }

    /// Issue summaries and record names for one page of links (batched remote reads).
    pub async fn dynamics_link_names(
        &self,
        job_name: &str,
        issue_keys: &[String],
        record_ids: &[String],
    ) -> anyhow::Result<crate::dto::DynamicsLinkNames> {
        crate::dynamics::link_names(self.engine.services(), job_name, issue_keys, record_ids).await
    }

    /// Searches the item's Jira project or Dataverse table for the links panel.
    pub async fn dynamics_search(
        &self,
        job_name: &str,
        side: crate::dto::DynamicsSide,
        text: &str,
    ) -> anyhow::Result<crate::dto::DynamicsHits> {
        crate::dynamics::search(self.engine.services(), job_name, side, text).await
    }

    /// Links an issue to a record by hand; returns the new link's preview.
    pub async fn dynamics_link(
        &self,
        job_name: &str,
        issue_key: &str,
        record_id: &str,
    ) -> anyhow::Result<crate::dto::LinkPreview> {
        crate::dynamics::link(self.engine.services(), job_name, issue_key, record_id).await
    }

    /// Removes a manual link; the issue and the record stay.
    pub async fn dynamics_unlink(
        &self,
        job_name: &str,
        issue_key_or_record: &str,
    ) -> anyhow::Result<()> {
        crate::dynamics::unlink(self.engine.services(), job_name, issue_key_or_record).await
    }

    /// Both sides of an issue's link as they are now.
    pub async fn dynamics_preview(
        &self,
        job_name: &str,
        issue_key: &str,
    ) -> anyhow::Result<crate::dto::LinkPreview> {
        crate::dynamics::preview(self.engine.services(), job_name, issue_key).await
    }

    /// The pairs a bulk link would make under a match rule (nothing is written).
    pub async fn dynamics_bulk_preview(
        &self,
        job_name: &str,
        rule: &crate::dto::DynamicsBulkRule,
    ) -> anyhow::Result<crate::dto::DynamicsBulkPreview> {
        crate::dynamics::bulk_preview(self.engine.services(), job_name, rule).await
    }

    /// Links previewed pairs as a run of the item and returns what it did.
    pub async fn dynamics_bulk_link(
        &self,
        job_name: &str,
        pairs: &[crate::dto::DynamicsBulkPair],
    ) -> anyhow::Result<crate::dynamics::DynamicsBulkResult> {
        crate::dynamics::bulk_link(&self.engine, job_name, pairs).await
    }

    /// Asks a run to stop.
    pub async fn cancel_run(&self, run_id: RunId) -> anyhow::Result<bool> {
        self.scheduler.cancel(run_id).await
    }

    /// The newest runs, optionally of one job.
    pub fn list_runs(&self, job_name: Option<&str>, limit: u32) -> anyhow::Result<Vec<RunSummary>> {
        let job = match job_name {
            Some(name) => Some(
                self.store()
                    .get_job(name)
                    .map_err(|e| anyhow::Error::new(e.user_facing()))?
                    .id,
            ),
            None => None,
        };
        let runs = self.store().list_runs(&RunFilter {
            job,
            limit: limit.clamp(1, 1000),
            before: None,
        })?;
        Ok(runs.iter().map(run_summary).collect())
    }

    /// One run with counts per object kind and requests per remote.
    pub fn get_run(&self, run_id: RunId) -> anyhow::Result<RunDetail> {
        let run = self
            .store()
            .get_run(run_id)
            .map_err(|e| anyhow::Error::new(e.user_facing()))?;
        Ok(run_detail(&run))
    }

    /// A filtered page of a run's events.
    pub fn list_run_events(&self, run_id: RunId, query: EventQuery) -> anyhow::Result<EventPage> {
        let filter = EventFilter {
            min_level: query.level,
            action: match query.action.as_deref().filter(|a| !a.is_empty()) {
                Some(action) => {
                    Some(crosswalk_store::EventAction::parse(action).ok_or_else(|| {
                        UserFacing::new(
                            Code::Validation,
                            format!("Unknown event action \"{action}\"."),
                        )
                    })?)
                }
                None => None,
            },
            object_kind: query.object_kind.filter(|k| !k.is_empty()),
            text: query.text.filter(|t| !t.trim().is_empty()),
            limit: Some(query.limit.unwrap_or(200).clamp(1, 10_000)),
            offset: query.offset.unwrap_or(0),
        };
        let total = self.store().count_events(run_id, &filter)?;
        let events = self
            .store()
            .list_events(run_id, &filter)?
            .into_iter()
            .map(event_view)
            .collect();
        Ok(EventPage { events, total })
    }

    /// What the dashboard shows.
    pub fn get_dashboard(&self) -> anyhow::Result<DashboardView> {
        let store = self.store();
        let jobs = store.list_jobs()?;
        let recent = store.list_runs(&RunFilter {
            job: None,
            limit: 50,
            before: None,
        })?;
        let now = self.engine.services().clock.now();
        let failed_last_24h = recent
            .iter()
            .filter(|run| run.started_at > now - time::Duration::days(1))
            .filter(|run| {
                matches!(
                    run.status,
                    crosswalk_core::RunStatus::Failed
                        | crosswalk_core::RunStatus::CompletedWithErrors
                        | crosswalk_core::RunStatus::Interrupted
                )
            })
            .count();
        Ok(DashboardView {
            connections: u32::try_from(store.list_connections()?.len()).unwrap_or(u32::MAX),
            jobs: u32::try_from(jobs.len()).unwrap_or(u32::MAX),
            enabled_jobs: u32::try_from(jobs.iter().filter(|j| j.config.enabled).count())
                .unwrap_or(u32::MAX),
            running: recent
                .iter()
                .filter(|r| r.status == crosswalk_core::RunStatus::Running)
                .map(run_summary)
                .collect(),
            recent_runs: recent.iter().take(10).map(run_summary).collect(),
            failed_last_24h: u32::try_from(failed_last_24h).unwrap_or(u32::MAX),
            schedules_paused: store
                .get_setting(crosswalk_engine::scheduler::PAUSED_SETTING)?
                .unwrap_or(false),
        })
    }

    /// The console preferences.
    pub fn get_settings(&self) -> anyhow::Result<AppSettings> {
        let mut settings: AppSettings = self.store().get_setting(SETTINGS_KEY)?.unwrap_or_default();
        settings.schedules_paused = self
            .store()
            .get_setting(crosswalk_engine::scheduler::PAUSED_SETTING)?
            .unwrap_or(false);
        Ok(settings)
    }

    /// Saves the console preferences; pausing takes effect at once.
    pub async fn save_settings(&self, settings: AppSettings) -> anyhow::Result<AppSettings> {
        if !matches!(settings.theme.as_str(), "system" | "light" | "dark") {
            return Err(Invalid {
                what: "settings".into(),
                problems: vec![crosswalk_core::ValidationError::new(
                    "theme",
                    "use system, light or dark",
                )],
            }
            .into());
        }
        self.store().set_setting(SETTINGS_KEY, &settings)?;
        let paused: bool = self
            .store()
            .get_setting(crosswalk_engine::scheduler::PAUSED_SETTING)?
            .unwrap_or(false);
        if paused != settings.schedules_paused {
            self.scheduler.pause(settings.schedules_paused).await?;
        }
        Ok(settings)
    }

    /// Version, folders and keychain, for the About section.
    pub fn app_info(&self) -> AppInfo {
        (*self.info).clone()
    }

    /// An address the console may open in the browser ("Open in Dynamics", "Open in Jira");
    /// see [`openable_url`].
    ///
    /// # Errors
    /// Not an http(s) address, or not on a configured site or environment.
    pub fn openable_url(&self, address: &str) -> anyhow::Result<url::Url> {
        openable_url(self.store(), address)
    }
}

/// An address the console may open: only pages of a configured Jira site or Dataverse
/// environment (same scheme, host and port), so the window can never be made to open anything
/// else.
///
/// # Errors
/// Not an http(s) address, or not on a configured site or environment.
pub fn openable_url(store: &crosswalk_store::Store, address: &str) -> anyhow::Result<url::Url> {
    let refused = |why: &str| {
        anyhow::Error::new(UserFacing::new(
            Code::Validation,
            format!(
                "Crosswalk opens only pages of your Jira sites and Dynamics environments; {why}."
            ),
        ))
    };
    let url = url::Url::parse(address).map_err(|_| refused("this is not a web address"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(refused("this is not a web address"));
    }
    let known = store.list_connections()?.into_iter().any(|stored| {
        let base = match &stored.config.settings {
            crosswalk_core::ConnectionSettings::Jira { site_url, .. } => site_url,
            crosswalk_core::ConnectionSettings::Dataverse { org_url, .. } => org_url,
            crosswalk_core::ConnectionSettings::Entra { .. } => return false,
        };
        base.origin() == url.origin()
    });
    if known {
        Ok(url)
    } else {
        Err(refused(&format!(
            "{} is not one of them",
            url.host_str().unwrap_or("this address")
        )))
    }
}

/// [`Api::list_secret_expiries`] at `now`, soonest expiry first.
pub fn secret_expiry_views(
    store: &crosswalk_store::Store,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<SecretExpiryView>> {
    use crosswalk_engine::secret_expiry;
    let mut views = Vec::new();
    for stored in store.list_connections()? {
        let config = stored.config;
        if !secret_expiry::is_watched(&config) {
            continue;
        }
        let Some(known) = secret_expiry::known_secret_expiry(store, &config.name, now)? else {
            continue;
        };
        let expiry = known.expiry;
        views.push(SecretExpiryView {
            connection: config.name.clone(),
            kind: config.settings.kind(),
            app_display_name: expiry.app_display_name.clone(),
            expires_at: timestamp(expiry.expires_at),
            days_left: expiry.days_left,
            threshold: expiry.threshold,
            expired: expiry.is_expired(),
            matched_by_hint: expiry.matched_by_hint,
            checked_at: timestamp(known.checked_at),
            message: expiry.headline(),
            fix: secret_expiry::renewal_fix(&config, &expiry.app_display_name),
        });
    }
    views.sort_by_key(|view| view.days_left);
    Ok(views)
}

fn connection_view(
    config: &ConnectionConfig,
    secret_stored: bool,
    updated_at: OffsetDateTime,
) -> ConnectionView {
    ConnectionView {
        name: config.name.clone(),
        kind: config.settings.kind(),
        target: forms::connection_target(config),
        secret_location: secret_location(&config.secret_ref()),
        secret_stored,
        form: forms::form_from_connection(config),
        updated_at: timestamp(updated_at),
    }
}

/// The run-list line of a stored run.
/// The run of a job in progress: the engine's, or a last run the store still shows running.
/// A run's row is written just before the engine lists it as active (and finished just before
/// it is dropped), so a listing between the two saw "not running" beside a running last run;
/// the console is the only writer of its data folder, so such a row is this engine's run.
fn running_run_id(active: Option<i64>, last_run: Option<&RunSummary>) -> Option<i64> {
    active.or_else(|| {
        last_run
            .filter(|run| run.status == RunStatus::Running)
            .map(|run| run.id)
    })
}

pub fn run_summary(run: &RunRow) -> RunSummary {
    RunSummary {
        id: run.id.0,
        job_name: run.job_name.clone(),
        trigger: run.trigger,
        status: run.status,
        dry_run: run.dry_run,
        started_at: timestamp(run.started_at),
        finished_at: run.finished_at.map(timestamp),
        duration_ms: run
            .finished_at
            .map(|end| u64::try_from((end - run.started_at).whole_milliseconds()).unwrap_or(0)),
        totals: run.totals(),
        requests: run.requests.values().map(|r| r.requests).sum(),
        error: run.error.clone().map(AppError::from),
        progress_done: run.progress.done,
        progress_total: run.progress.total.unwrap_or(0),
        progress_message: run.progress.message.clone(),
    }
}

/// The drill-down view of a stored run.
pub fn run_detail(run: &RunRow) -> RunDetail {
    RunDetail {
        summary: run_summary(run),
        counts: run.counts.clone(),
        requests: run
            .requests
            .iter()
            .map(|(remote, r)| {
                (
                    remote.clone(),
                    RequestStats {
                        requests: r.requests,
                        throttled: r.throttled,
                        retries: r.retries,
                    },
                )
            })
            .collect(),
    }
}

/// The UI form of a stored event.
pub fn event_view(event: crosswalk_store::EventRow) -> RunEventView {
    RunEventView {
        id: event.id,
        at: timestamp(event.at),
        level: event.level,
        object_kind: event.object_kind.unwrap_or_default(),
        object_id: event.object_id.unwrap_or_default(),
        object_label: event.object_label.unwrap_or_default(),
        action: event.action.as_str().into(),
        message: event.message,
        before: event.before,
        after: event.after,
        fix: event.fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosswalk_core::{Cloud, ConnectionSettings};
    use crosswalk_engine::secret_expiry::{record_secret_expiry, SecretExpiry};
    use time::macros::datetime;
    use time::Duration;

    fn entra(name: &str) -> ConnectionConfig {
        ConnectionConfig {
            name: name.into(),
            settings: ConnectionSettings::Entra {
                tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
                client_id: "535fb089-9ff3-47b6-9bfb-4f1264799865".into(),
                cloud: Cloud::Global,
                authority_url: None,
                graph_url: None,
            },
            secret: None,
        }
    }

    #[test]
    fn only_pages_of_configured_sites_and_environments_open() {
        let store = crosswalk_store::Store::open_in_memory().unwrap();
        for (name, settings) in [
            (
                "jira",
                ConnectionSettings::Jira {
                    site_url: "https://contoso.atlassian.net".parse().unwrap(),
                    email: "admin@contoso.com".into(),
                    assets_api_url: None,
                },
            ),
            (
                "dynamics",
                ConnectionSettings::Dataverse {
                    org_url: "https://contoso.crm.dynamics.com".parse().unwrap(),
                    tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
                    client_id: "535fb089-9ff3-47b6-9bfb-4f1264799865".into(),
                    cloud: Cloud::Global,
                    authority_url: None,
                },
            ),
        ] {
            store
                .upsert_connection(&ConnectionConfig {
                    name: name.into(),
                    settings,
                    secret: None,
                })
                .unwrap();
        }
        store.upsert_connection(&entra("tenant")).unwrap();
        for good in [
            "https://contoso.atlassian.net/browse/SUP-7",
            "https://contoso.crm.dynamics.com/main.aspx?pagetype=entityrecord&etn=incident&id=6f1c2d3e-0000-4000-8000-000000000007",
        ] {
            assert_eq!(openable_url(&store, good).unwrap().as_str(), good);
        }
        for bad in [
            "https://evil.example.com/browse/SUP-7",
            "http://contoso.atlassian.net/browse/SUP-7",
            "https://contoso.atlassian.net.evil.example.com/",
            "https://login.microsoftonline.com/",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "not a url",
        ] {
            let error = openable_url(&store, bad).unwrap_err().to_string();
            assert!(
                error.contains("opens only pages of your Jira sites and Dynamics environments"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn a_last_run_still_running_counts_as_the_job_s_run_in_progress() {
        let store = crosswalk_store::Store::open_in_memory().unwrap();
        let (job, _) = store
            .upsert_job(&crosswalk_core::JobConfig {
                name: "nightly".into(),
                kind: "health-check".into(),
                schedule: crosswalk_core::Schedule::Off,
                enabled: true,
                settings: serde_json::json!({}),
            })
            .unwrap();
        let now = datetime!(2026-11-21 12:00 UTC);
        let run = store
            .start_run(job, crosswalk_core::Trigger::SyncNow, false, now)
            .unwrap();
        let last = run_summary(&store.last_run(job).unwrap().unwrap());
        // Between the row and the engine's active list: the row says running.
        assert_eq!(running_run_id(None, Some(&last)), Some(run.0));
        assert_eq!(running_run_id(Some(7), Some(&last)), Some(7));
        store
            .finish_run(
                run,
                RunStatus::Failed,
                &Default::default(),
                &Default::default(),
                None,
                now,
            )
            .unwrap();
        let last = run_summary(&store.last_run(job).unwrap().unwrap());
        assert_eq!(running_run_id(None, Some(&last)), None);
        assert_eq!(running_run_id(None, None), None);
    }

    #[test]
    fn secret_expiries_come_from_the_last_reading_soonest_first() {
        let store = crosswalk_store::Store::open_in_memory().unwrap();
        let checked = datetime!(2026-11-01 08:00 UTC);
        let now = datetime!(2026-11-21 12:00 UTC);
        for (name, left) in [
            ("contoso", Duration::days(35)),
            ("fabrikam", Duration::days(40)),
        ] {
            store.upsert_connection(&entra(name)).unwrap();
            let expiry = SecretExpiry::new(name, "Crosswalk Sync", checked + left, true, checked);
            record_secret_expiry(&store, &expiry, checked).unwrap();
        }
        store.upsert_connection(&entra("never-checked")).unwrap();
        store
            .upsert_connection(&ConnectionConfig {
                name: "jira".into(),
                settings: ConnectionSettings::Jira {
                    site_url: "https://acme.atlassian.net".parse().unwrap(),
                    email: "admin@acme.com".into(),
                    assets_api_url: None,
                },
                secret: None,
            })
            .unwrap();

        let views = secret_expiry_views(&store, now).unwrap();
        let summary: Vec<_> = views
            .iter()
            .map(|v| (v.connection.as_str(), v.days_left, v.threshold))
            .collect();
        // Days left are counted from now, not from when the expiry was read.
        assert_eq!(
            summary,
            [("contoso", 14, Some(14)), ("fabrikam", 19, Some(30))]
        );
        let json = serde_json::to_value(&views[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "connection": "contoso",
                "kind": "entra",
                "appDisplayName": "Crosswalk Sync",
                "expiresAt": "2026-12-06T08:00:00Z",
                "daysLeft": 14,
                "threshold": 14,
                "expired": false,
                "matchedByHint": true,
                "checkedAt": "2026-11-01T08:00:00Z",
                "message": "Client secret of connection contoso expires in 14 days (on 2026-12-06).",
                "fix": "Create a new client secret in the Microsoft Entra admin center › App registrations › Crosswalk Sync › Certificates & secrets, then save its Value (not its Secret ID) with `crosswalk secret set contoso` or by editing connection contoso in the console.",
            })
        );
    }
}
