//! Entra Sync use cases beyond generic jobs: confirming held-back retirements, the attribute
//! catalogue for the job editor, and the object schemas a Jira connection's Assets offers.

use crate::dto::{AssetsSchemaView, EntraCatalogue, EntraKindView, EntraPropertyView};
use crosswalk_core::{Code, UserFacing};
use crosswalk_engine::Services;
use crosswalk_entra::mapping::{self, AttrType};
use crosswalk_entra::ObjectKind;

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

fn data_type(ty: AttrType) -> String {
    match ty {
        AttrType::Text => "text".into(),
        AttrType::Integer => "integer".into(),
        AttrType::Boolean => "boolean".into(),
        AttrType::DateTime => "date-time".into(),
        AttrType::Status => "status".into(),
        AttrType::Ref(kind, 1) => format!("reference to {}", kind.type_name()),
        AttrType::Ref(kind, max) => format!("up to {max} references to {}", kind.type_name()),
    }
}

/// The kinds, their mappable properties and the defaults, for the job editor.
pub fn catalogue() -> EntraCatalogue {
    let kinds = [
        (ObjectKind::User, "users", "User.Read.All", None),
        (ObjectKind::Group, "groups", "Group.Read.All", None),
        (
            ObjectKind::Membership,
            "memberships",
            "Group.Read.All",
            Some("One \"Entra Group Membership\" object per group and member, referencing both: any group size fits Assets' limit of about ten references per attribute, and users and groups show their memberships as inbound references."),
        ),
        (ObjectKind::Application, "applications", "Application.Read.All", Some("Owners: the first 10 are referenced; \"Owner count\" holds the total.")),
        (ObjectKind::Device, "devices", "Device.Read.All", None),
        (
            ObjectKind::ManagedDevice,
            "managed_devices",
            "DeviceManagementManagedDevices.Read.All",
            Some("Intune devices need DeviceManagementManagedDevices.Read.All (not Device.Read.All, as some guides say). Intune has no delta query: changed devices are read by last check-in each run and all devices once a day, which is when removals show."),
        ),
    ]
    .into_iter()
    .map(|(kind, setting, permission, note)| EntraKindView {
        setting: setting.into(),
        word: kind.word().into(),
        type_name: kind.type_name().into(),
        label: kind.plural().into(),
        permission: permission.into(),
        note: note.map(str::to_owned),
        properties: mapping::catalogue(kind)
            .iter()
            .map(|p| EntraPropertyView {
                graph: p.graph.into(),
                attribute: p.attribute.into(),
                data_type: data_type(p.ty),
            })
            .collect(),
    })
    .collect();
    let defaults = serde_json::from_value(serde_json::json!({
        "entra_connection": "", "jira_connection": ""
    }))
    .expect("the defaults deserialize");
    EntraCatalogue {
        kinds,
        defaults,
        fixed_attributes: vec![
            "Name".into(),
            mapping::OBJECT_ID.into(),
            mapping::STATUS.into(),
            mapping::REMOVED_ON.into(),
        ],
    }
}

/// The object schemas in a Jira connection's Assets, each with its conflicts explained.
///
/// # Errors
/// An unknown or non-Jira connection, an unreadable token, Assets failures.
pub async fn list_asset_schemas(
    services: &Services,
    jira_connection: &str,
) -> anyhow::Result<Vec<AssetsSchemaView>> {
    let connection = services
        .store
        .get_connection(jira_connection)
        .map_err(|e| anyhow::Error::new(e.user_facing()))?
        .config;
    let assets = crosswalk_entra::connect::assets_client(
        services,
        &connection,
        crosswalk_http::RequestCounter::new(),
    )
    .await?;
    let schemas = crosswalk_entra::schema::inspect_schemas(&assets)
        .await
        .map_err(|e| anyhow::Error::new(e.user_facing()))?;
    Ok(schemas
        .into_iter()
        .map(|s| AssetsSchemaView {
            id: s.id,
            name: s.name,
            key: s.key,
            object_count: s.object_count,
            ours: s.ours,
            conflicts: s.conflicts,
        })
        .collect())
}
