//! Bad input and bad weather: expired secret, missing consent, schema conflicts, throttling,
//! 503s, resets, malformed bodies and a process killed mid-run. Each ends with the admin's
//! message and fix, or costs retries; none loses or duplicates data.

mod common;

use common::{assert_mirrors_directory, Harness, JOB};
use crosswalk_core::{Code, RunStatus};
use crosswalk_sandbox::identity::CLIENT_ID;
use crosswalk_sandbox::{Fault, FaultRule, Server, Size};
use time::Duration;

async fn failed_run(h: &Harness) -> crosswalk_core::UserFacing {
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, RunStatus::Failed);
    h.store()
        .get_run(run_id)
        .unwrap()
        .error
        .expect("a failed run has its error")
}

#[tokio::test]
async fn an_expired_client_secret_ends_the_run_with_the_fix_and_writes_nothing() {
    let h = Harness::start(Size::Tiny).await;
    h.sandbox.handle.identity(|i| {
        let app = i.app_mut(CLIENT_ID).unwrap();
        app.secrets[0].end = time::OffsetDateTime::now_utc() - Duration::days(1);
    });
    let error = failed_run(&h).await;
    assert_eq!(error.code, Code::AuthExpired, "{error:?}");
    assert!(
        error.message.to_lowercase().contains("expired"),
        "{}",
        error.message
    );
    let fix = error.fix.clone().expect("a fix");
    assert!(fix.contains("secret"), "{fix}");
    assert!(!format!("{error:?}{fix}").contains(crosswalk_sandbox::identity::CLIENT_SECRET));
    assert!(h.assets().types.is_empty());
}

#[tokio::test]
async fn missing_consent_for_one_kind_syncs_the_others_and_names_the_permission_to_grant() {
    let h = Harness::start(Size::Tiny).await;
    h.sandbox
        .handle
        .identity(|i| i.revoke_role(CLIENT_ID, "DeviceManagementManagedDevices.Read.All"));
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, RunStatus::CompletedWithErrors);
    let failed = h
        .events(run_id)
        .into_iter()
        .find(|e| e.action == crosswalk_store::EventAction::Failed)
        .expect("a failure event for Intune devices");
    assert_eq!(failed.object_kind.as_deref(), Some("managed_device"));
    assert!(
        failed.message.starts_with("No Intune devices were synced"),
        "{}",
        failed.message
    );
    let fix = failed.fix.expect("a fix");
    assert!(
        fix.contains("DeviceManagementManagedDevices.Read.All"),
        "{fix}"
    );
    assert!(fix.to_lowercase().contains("admin consent"), "{fix}");
    assert!(fix.contains("Intune license"), "{fix}");
    let mirror = h.assets();
    assert!(!mirror.of("Entra User").is_empty(), "users still synced");
    assert!(mirror.of("Intune Device").is_empty());
    // Consent granted: the next run syncs the devices.
    h.sandbox.handle.identity(|i| {
        let app = i.app_mut(CLIENT_ID).unwrap();
        for roles in app.roles.values_mut() {
            if !roles.is_empty() {
                roles.push("DeviceManagementManagedDevices.Read.All".into());
            }
        }
        i.expire_all_tokens();
    });
    h.sync().await;
    assert_mirrors_directory(&h);
}

#[tokio::test]
async fn a_missing_permission_for_everything_fails_nothing_silently() {
    let h = Harness::start(Size::Tiny).await;
    h.sandbox
        .handle
        .identity(|i| i.revoke_role(CLIENT_ID, "User.Read.All"));
    let (run_id, status) = h.run(false).await;
    assert_eq!(status, RunStatus::CompletedWithErrors);
    let user_failure = h
        .events(run_id)
        .into_iter()
        .find(|e| {
            e.action == crosswalk_store::EventAction::Failed
                && e.object_kind.as_deref() == Some("user")
        })
        .expect("users reported");
    assert!(user_failure.fix.unwrap().contains("User.Read.All"));
    let _ = Code::PermissionDenied;
}

#[tokio::test]
async fn a_shared_schema_with_a_foreign_type_of_our_name_is_refused_with_the_reason() {
    let h = Harness::start(Size::Tiny).await;
    // An admin's own "Entra User" type, with objects, in the schema the job points at.
    let assets = {
        let base = crosswalk_assets::AssetsClient::base_url(
            &h.sandbox.urls.assets,
            crosswalk_sandbox::generator::jira::WORKSPACE_ID,
        )
        .unwrap();
        let http = crosswalk_assets::AssetsClient::http_builder(
            base,
            crosswalk_sandbox::jira::ADMIN_EMAIL,
            crosswalk_core::Secret::new(crosswalk_sandbox::jira::ADMIN_API_TOKEN),
        )
        .build()
        .unwrap();
        crosswalk_assets::AssetsClient::new(http)
    };
    let schema = assets
        .create_schema(&crosswalk_assets::NewObjectSchema::new("IT", "ENTRA"))
        .await
        .unwrap();
    let icon = assets.global_icons().await.unwrap()[0].id.clone();
    let people = assets
        .create_object_type(&crosswalk_assets::NewObjectType::new(
            &schema.id,
            "Entra User",
            icon,
        ))
        .await
        .unwrap();
    let name = assets
        .attributes(&people.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name == "Name")
        .unwrap();
    assets
        .create_object(
            &crosswalk_assets::ObjectInput::new(&people.id)
                .set(&name.id, crosswalk_assets::AttributeValue::text("Ada")),
        )
        .await
        .unwrap();
    let error = failed_run(&h).await;
    assert_eq!(error.code, Code::Conflict, "{error:?}");
    assert!(
        error.message.contains("\"Entra User\""),
        "{}",
        error.message
    );
    assert!(error.fix.unwrap().contains("dedicated object schema"));
    assert_eq!(
        h.assets().of("Entra User").len(),
        1,
        "the admin's object is untouched"
    );
}

#[tokio::test]
async fn throttling_and_503s_cost_retries_not_data() {
    let h = Harness::start(Size::Tiny).await;
    let handle = &h.sandbox.handle;
    handle.fail_next(
        Server::Assets,
        "/object/create",
        6,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    handle.fail_next(
        Server::Graph,
        "/users/delta",
        2,
        Fault::Status {
            status: 503,
            retry_after_secs: Some(1),
        },
    );
    handle.fail_next(
        Server::Assets,
        "/objecttype",
        2,
        Fault::Status {
            status: 503,
            retry_after_secs: None,
        },
    );
    let run = h.sync().await;
    assert_mirrors_directory(&h);
    let assets = &run.requests["assets"];
    assert!(assets.throttled >= 6 || assets.retries >= 6, "{assets:?}");
}

#[tokio::test]
async fn resets_and_malformed_bodies_end_in_the_same_state_after_a_rerun() {
    let h = Harness::start(Size::Tiny).await;
    let handle = &h.sandbox.handle;
    handle.add_fault(FaultRule {
        server: Server::Assets,
        route: Some("/object/create".into()),
        method: Some("POST".into()),
        fault: Fault::Reset,
        times: Some(3),
    });
    handle.fail_next(Server::Graph, "/groups/delta", 1, Fault::Malformed);
    let (run_id, status) = h.run(false).await;
    // A create whose answer was lost may or may not exist: it stays journaled, never duplicated.
    assert_ne!(
        status,
        RunStatus::Succeeded,
        "faults must show in the run status"
    );
    let run = h.store().get_run(run_id).unwrap();
    if let Some(error) = &run.error {
        assert!(
            !error.message.is_empty() && error.fix.is_some(),
            "{error:?}"
        );
    }
    handle.clear_faults();
    h.sync().await;
    assert_mirrors_directory(&h);
    let again = h.sync().await.totals();
    assert_eq!((again.created, again.updated), (0, 0));
}

#[test]
fn a_process_killed_mid_run_converges_on_restart_without_duplicates() {
    let main = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut h = main.block_on(Harness::start(Size::Small));
    // Kill after a seeded-random number of object creates, three times in a row.
    for (round, kill_after) in [(0, 37_u64), (1, 211), (2, 5)] {
        let engine = h.engine.clone();
        let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let run = rt.spawn(async move {
                let _ = engine
                    .run_to_end(crosswalk_engine::RunRequest {
                        job_name: JOB.into(),
                        trigger: crosswalk_core::Trigger::Cli,
                        dry_run: false,
                    })
                    .await;
            });
            let _ = kill_rx.recv();
            // Drop every task mid-await, as a killed process would.
            rt.shutdown_background();
            drop(run);
        });
        let creates = |h: &Harness| {
            h.sandbox
                .handle
                .assets_requests()
                .get("POST /object/create")
                .map_or(0, |c| c.requests)
        };
        let start = creates(&h);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while creates(&h) < start + kill_after && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        kill_tx.send(()).unwrap();
        worker.join().unwrap();
        h.restart();
        let _ = round;
    }
    main.block_on(async {
        let run = h.sync().await;
        assert!(
            h.events(run.id)
                .iter()
                .any(|e| e.message.contains("pending creates")),
            "the restarted run settles the journaled creates"
        );
        assert_mirrors_directory(&h);
        let again = h.sync().await.totals();
        assert_eq!((again.created, again.updated), (0, 0));
    });
}
