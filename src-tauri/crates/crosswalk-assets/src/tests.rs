//! Real HTTP against the sandbox's Jira site and Assets gateway on 127.0.0.1.

use crate::*;
use crosswalk_core::Code;
use crosswalk_sandbox::generator::jira::WORKSPACE_ID;
use crosswalk_sandbox::jira::{ADMIN_API_TOKEN, ADMIN_EMAIL, VIEWER_API_TOKEN, VIEWER_EMAIL};
use crosswalk_sandbox::{Fault, Sandbox, SandboxOptions, Server};
use time::macros::datetime;

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox starts")
}

fn site(sandbox: &Sandbox, email: &str, token: &str) -> Http {
    Http::builder("jira")
        .base_url(sandbox.urls.jira.clone())
        .auth(Auth::Basic {
            user: email.to_owned(),
            secret: Secret::new(token),
        })
        .build()
        .expect("site http builds")
}

fn client(sandbox: &Sandbox, email: &str, token: &str) -> AssetsClient {
    let base = AssetsClient::base_url(&sandbox.urls.assets, WORKSPACE_ID).expect("valid base");
    let http = AssetsClient::http_builder(base, email, Secret::new(token))
        .build()
        .expect("assets http builds");
    AssetsClient::new(http)
}

fn admin(sandbox: &Sandbox) -> AssetsClient {
    client(sandbox, ADMIN_EMAIL, ADMIN_API_TOKEN)
}

/// A schema with one object type, its icon looked up among the global icons.
async fn schema_with_type(
    assets: &AssetsClient,
    name: &str,
    key: &str,
    type_name: &str,
) -> (ObjectSchema, ObjectType) {
    let schema = assets
        .create_schema(&NewObjectSchema::new(name, key).description("Crosswalk test"))
        .await
        .expect("schema created");
    let icons = assets.global_icons().await.expect("icons listed");
    let icon = icons
        .iter()
        .find(|i| i.name == "User")
        .or(icons.first())
        .expect("some icon");
    let object_type = assets
        .create_object_type(&NewObjectType::new(&schema.id, type_name, &icon.id))
        .await
        .expect("type created");
    (schema, object_type)
}

fn attr<'a>(attributes: &'a [ObjectTypeAttribute], name: &str) -> &'a ObjectTypeAttribute {
    attributes
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("attribute {name} exists"))
}

#[tokio::test]
async fn discovers_the_workspace_and_denies_the_viewer() {
    let sandbox = sandbox().await;
    let found = discover_workspace(&site(&sandbox, ADMIN_EMAIL, ADMIN_API_TOKEN))
        .await
        .expect("discovery works");
    assert_eq!(found.as_deref(), Some(WORKSPACE_ID));
    let viewer_site = site(&sandbox, VIEWER_EMAIL, VIEWER_API_TOKEN);
    let error = require_workspace(&viewer_site)
        .await
        .expect_err("viewer has no Assets");
    assert!(matches!(error, Error::PermissionDenied { .. }), "{error:?}");
    assert_eq!(error.user_facing().code, Code::PermissionDenied);

    let viewer = client(&sandbox, VIEWER_EMAIL, VIEWER_API_TOKEN);
    let error = viewer.list_schemas(0, 25).await.expect_err("viewer denied");
    assert!(
        matches!(
            error,
            Error::PermissionDenied {
                route: "/objectschema/list",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn schema_types_attributes_and_objects_round_trip() {
    let sandbox = sandbox().await;
    let assets = admin(&sandbox);
    let (schema, user_type) =
        schema_with_type(&assets, "Crosswalk Entra", "CWE", "Entra User").await;
    assert!(assets
        .all_schemas()
        .await
        .expect("schemas listed")
        .iter()
        .any(|s| s.id == schema.id));
    assert_eq!(
        assets
            .find_schema("cwe")
            .await
            .expect("found")
            .map(|s| s.id),
        Some(schema.id.clone())
    );
    let group_type = assets
        .create_object_type(&NewObjectType::new(
            &schema.id,
            "Entra Group",
            &user_type.icon.clone().expect("icon").id,
        ))
        .await
        .expect("group type created");
    let types = assets.object_types(&schema.id).await.expect("types listed");
    assert_eq!(types.len(), 2);

    // Status and reference types.
    let synced = assets
        .create_status_type(&NewStatusType::new(
            "Synced",
            StatusCategory::Active,
            Some(schema.id.clone()),
        ))
        .await
        .expect("status created");
    assert_eq!(synced.category(), Some(StatusCategory::Active));
    let statuses = assets
        .status_types(Some(&schema.id))
        .await
        .expect("statuses");
    assert!(statuses.iter().any(|s| s.id == synced.id));
    let reference = assets
        .reference_types(Some(&schema.id))
        .await
        .expect("reference types")
        .into_iter()
        .next()
        .expect("a global reference type");

    // One attribute of each kind Crosswalk uses.
    let group_oid = assets
        .create_attribute(
            &group_type.id,
            &NewAttribute::text("Entra Object ID").unique(),
        )
        .await
        .expect("group attribute");
    let specs = [
        NewAttribute::text("Entra Object ID")
            .unique()
            .description("Entra object id"),
        NewAttribute::default_type("Sign-in Count", DefaultType::Integer),
        NewAttribute::default_type("Account Enabled", DefaultType::Boolean),
        NewAttribute::default_type("Hire Date", DefaultType::Date),
        NewAttribute::default_type("Last Sign-in", DefaultType::DateTime),
        NewAttribute::status("Lifecycle", [synced.id.clone()]),
        NewAttribute::reference("Primary Group", &group_type.id, &reference.id),
    ];
    for spec in &specs {
        assets
            .create_attribute(&user_type.id, spec)
            .await
            .unwrap_or_else(|e| panic!("attribute {}: {e}", spec.name));
    }
    let attributes = assets.attributes(&user_type.id).await.expect("attributes");
    for system in ["Key", "Name", "Created", "Updated"] {
        attr(&attributes, system);
    }
    let oid = attr(&attributes, "Entra Object ID");
    assert!(oid.unique_attribute);
    assert_eq!(oid.default_type.as_ref().map(|d| d.id), Some(0));
    assert_eq!(
        attr(&attributes, "Sign-in Count")
            .default_type
            .as_ref()
            .map(|d| d.id),
        Some(1)
    );
    assert_eq!(
        attr(&attributes, "Last Sign-in")
            .default_type
            .as_ref()
            .map(|d| d.id),
        Some(6)
    );
    let lifecycle = attr(&attributes, "Lifecycle");
    assert_eq!(lifecycle.kind(), AttributeKind::Status);
    assert_eq!(lifecycle.type_value_multi, vec![synced.id.clone()]);
    let primary = attr(&attributes, "Primary Group");
    assert_eq!(primary.kind(), AttributeKind::Reference);
    assert_eq!(
        primary.reference_object_type_id.as_deref(),
        Some(group_type.id.as_str())
    );
    assert_eq!(
        primary.reference_type.as_ref().map(|r| r.id.as_str()),
        Some(reference.id.as_str())
    );
    let name = attr(&attributes, "Name").id.clone();
    let group_name = attr(
        &assets
            .attributes(&group_type.id)
            .await
            .expect("group attrs"),
        "Name",
    )
    .id
    .clone();

    // Objects.
    let group = assets
        .create_object(
            &ObjectInput::new(&group_type.id)
                .set(&group_name, AttributeValue::text("Staff"))
                .set(&group_oid.id, AttributeValue::text("g-0001")),
        )
        .await
        .expect("group created");
    assert!(group.object_key.starts_with("CWE-"));
    let entra_id = "6f1c2b9e-0000-4000-8000-00000000abcd";
    let at = datetime!(2025-01-31 11:00:00 +01:00);
    let input = ObjectInput::new(&user_type.id)
        .set(&name, AttributeValue::text("Ada Lovelace"))
        .set(&oid.id, AttributeValue::text(entra_id))
        .set(
            &attr(&attributes, "Sign-in Count").id,
            AttributeValue::integer(42),
        )
        .set(
            &attr(&attributes, "Account Enabled").id,
            AttributeValue::boolean(true),
        )
        .set(
            &attr(&attributes, "Hire Date").id,
            AttributeValue::date(at.date()),
        )
        .set(
            &attr(&attributes, "Last Sign-in").id,
            AttributeValue::datetime(at),
        )
        .set(&lifecycle.id, AttributeValue::status(&synced.id))
        .set(&primary.id, AttributeValue::reference(&group.id));
    let created = assets.create_object(&input).await.expect("user created");
    assert!(
        created.attributes.is_empty(),
        "create answers without attributes"
    );
    let user = assets.get_object(&created.id).await.expect("user read");
    assert_eq!(user.label, "Ada Lovelace");
    assert_eq!(user.values(&oid.id), vec![entra_id]);
    assert_eq!(
        user.values(&attr(&attributes, "Sign-in Count").id),
        vec!["42"]
    );
    assert_eq!(
        user.values(&attr(&attributes, "Account Enabled").id),
        vec!["true"]
    );
    assert_eq!(
        user.values(&attr(&attributes, "Hire Date").id),
        vec!["2025-01-31"]
    );
    assert_eq!(
        user.values(&attr(&attributes, "Last Sign-in").id),
        vec!["2025-01-31T10:00:00.000Z"]
    );
    assert_eq!(user.values(&lifecycle.id), vec![synced.id.clone()]);
    assert_eq!(user.values(&primary.id), vec![group.id.clone()]);
    assert_eq!(
        assets
            .get_object(&user.object_key)
            .await
            .expect("by key")
            .id,
        user.id
    );

    // Update: only the listed attributes change; a reference may be given by object key.
    let updated = assets
        .update_object(
            &user.id,
            &ObjectInput::new(&user_type.id)
                .set(
                    &attr(&attributes, "Sign-in Count").id,
                    AttributeValue::integer(43),
                )
                .set(&primary.id, AttributeValue::reference(&group.object_key)),
        )
        .await
        .expect("user updated");
    assert_eq!(
        updated.values(&attr(&attributes, "Sign-in Count").id),
        vec!["43"]
    );
    assert_eq!(updated.values(&primary.id), vec![group.id.clone()]);
    assert_eq!(updated.values(&oid.id), vec![entra_id]);

    // Re-identify by the Entra object ID, by type id or name, whatever the case.
    let found = assets
        .find_by_attribute(&user_type.id, "Entra Object ID", &entra_id.to_uppercase())
        .await
        .expect("search works")
        .expect("found");
    assert_eq!(found.id, user.id);
    assert_eq!(found.values(&oid.id), vec![entra_id]);
    let found = assets
        .find_by_attribute("Entra User", "Entra Object ID", entra_id)
        .await
        .expect("search works");
    assert_eq!(found.map(|o| o.id), Some(user.id.clone()));
    assert!(assets
        .find_by_attribute(&user_type.id, "Entra Object ID", "missing")
        .await
        .expect("search works")
        .is_none());

    // Typed failures.
    let duplicate = ObjectInput::new(&user_type.id)
        .set(&name, AttributeValue::text("Ada Again"))
        .set(&oid.id, AttributeValue::text(entra_id));
    match assets.create_object(&duplicate).await {
        Err(Error::UniqueViolation {
            attribute,
            attribute_id,
            value,
            existing_key,
        }) => {
            assert_eq!(attribute, "Entra Object ID");
            assert_eq!(attribute_id, oid.id);
            assert_eq!(value, entra_id);
            assert_eq!(existing_key, user.object_key);
        }
        other => panic!("expected a unique violation, got {other:?}"),
    }
    let bad = ObjectInput::new(&user_type.id)
        .set(&name, AttributeValue::text("Bad Count"))
        .set(
            &attr(&attributes, "Sign-in Count").id,
            AttributeValue::text("many"),
        );
    match assets.create_object(&bad).await {
        Err(error @ Error::ValidationFailed { .. }) => {
            let Error::ValidationFailed { errors, .. } = &error else {
                unreachable!()
            };
            let key = format!(
                "rlabs-insight-attribute-{}",
                attr(&attributes, "Sign-in Count").id
            );
            assert!(errors.contains_key(&key), "{errors:?}");
            assert_eq!(error.user_facing().code, Code::Validation);
        }
        other => panic!("expected a validation failure, got {other:?}"),
    }
    let error = assets
        .create_object_type(&NewObjectType::new(&schema.id, "entra user", "1"))
        .await
        .expect_err("name taken");
    assert!(
        matches!(&error, Error::NameConflict { what: "object type", name } if name == "Entra User"),
        "{error:?}"
    );
    let shown = error.user_facing();
    assert_eq!(shown.code, Code::Conflict);
    assert!(shown
        .fix
        .unwrap_or_default()
        .contains("dedicated object schema"));
    let error = assets
        .create_schema(&NewObjectSchema::new("Crosswalk Entra", "CWX"))
        .await
        .expect_err("schema name taken");
    assert!(
        matches!(
            error,
            Error::NameConflict {
                what: "object schema",
                ..
            }
        ),
        "{error:?}"
    );
    let error = assets
        .create_attribute(&user_type.id, &NewAttribute::text("Lifecycle"))
        .await
        .expect_err("attribute name taken");
    assert!(
        matches!(
            error,
            Error::NameConflict {
                what: "attribute",
                ..
            }
        ),
        "{error:?}"
    );

    // Delete, and a repeated delete is harmless.
    assets.delete_object(&user.id).await.expect("deleted");
    let error = assets.get_object(&user.id).await.expect_err("gone");
    assert_eq!(error.status(), Some(404));
    assets
        .delete_object(&user.id)
        .await
        .expect("deleting again is fine");
}

#[tokio::test]
async fn aql_pages_through_more_than_max_results() {
    let sandbox = sandbox().await;
    let assets = admin(&sandbox);
    let (_, device_type) = schema_with_type(&assets, "Crosswalk Devices", "CWD", "Device").await;
    let attributes = assets
        .attributes(&device_type.id)
        .await
        .expect("attributes");
    let name = attr(&attributes, "Name").id.clone();
    for n in 0..12 {
        assets
            .create_object(
                &ObjectInput::new(&device_type.id)
                    .set(&name, AttributeValue::text(format!("PC-{n:02}"))),
            )
            .await
            .expect("device created");
    }
    let aql = format!("objectTypeId = {} ORDER BY Name ASC", device_type.id);
    let mut names = Vec::new();
    let mut start = 0;
    let mut pages = 0;
    loop {
        let page = assets.search(&aql, start, 5, false).await.expect("page");
        pages += 1;
        assert!(page.values.len() <= 5);
        names.extend(page.values.iter().map(|o| o.label.clone()));
        match page.next_start() {
            Some(next) => start = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.first().map(String::as_str), Some("PC-00"));
    assert_eq!(names.len(), 12);

    // The server caps maxResults (§I): search_all must keep paging past short pages.
    sandbox.handle.assets(|a| a.aql_max_results = 5);
    let all = assets.search_all(&aql, true).await.expect("all found");
    assert_eq!(all.len(), 12);
    assert!(all.iter().all(|o| !o.attributes.is_empty()));
}

#[tokio::test]
async fn throttling_is_retried_transparently() {
    let sandbox = sandbox().await;
    let assets = admin(&sandbox);
    let (_, device_type) = schema_with_type(&assets, "Crosswalk Throttle", "CWT", "Device").await;
    let attributes = assets
        .attributes(&device_type.id)
        .await
        .expect("attributes");
    let name = attr(&attributes, "Name").id.clone();
    sandbox.handle.fail_next(
        Server::Assets,
        "/object",
        1,
        Fault::Throttle {
            retry_after_secs: 1,
        },
    );
    let created = assets
        .create_object(&ObjectInput::new(&device_type.id).set(&name, AttributeValue::text("PC-1")))
        .await
        .expect("created after the 429");
    assert_eq!(created.label, "PC-1");
    let stats = assets.http().counter().snapshot()[REMOTE];
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.retries, 1);
}

#[tokio::test]
async fn no_token_appears_in_error_text() {
    let sandbox = sandbox().await;
    let wrong = "wrong-token-value-123";
    let mut errors = Vec::new();
    errors.push(
        client(&sandbox, ADMIN_EMAIL, wrong)
            .list_schemas(0, 25)
            .await
            .expect_err("wrong token rejected"),
    );
    errors.push(
        discover_workspace(&site(&sandbox, ADMIN_EMAIL, wrong))
            .await
            .expect_err("wrong token rejected"),
    );
    errors.push(
        client(&sandbox, VIEWER_EMAIL, VIEWER_API_TOKEN)
            .all_schemas()
            .await
            .expect_err("viewer denied"),
    );
    let assets = admin(&sandbox);
    errors.push(
        assets
            .create_schema(&NewObjectSchema::new("Bad key", "lower"))
            .await
            .expect_err("bad key"),
    );
    assert_eq!(errors[0].user_facing().code, Code::AuthExpired);
    assert!(
        matches!(errors[3], Error::ValidationFailed { .. }),
        "{:?}",
        errors[3]
    );
    for error in &errors {
        let shown = error.user_facing();
        let text = format!(
            "{error} {error:?} {} {}",
            shown.message,
            shown.fix.unwrap_or_default()
        );
        for secret in [ADMIN_API_TOKEN, VIEWER_API_TOKEN, wrong] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(!text.contains("Basic "), "{text}");
    }
}
