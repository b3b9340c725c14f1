//! The UI-facing surface of Crosswalk: use-case functions and the DTOs they exchange.
//!
//! The Tauri command layer is a thin wrapper over [`Api`]; so is much of the CLI. Nothing here
//! depends on Tauri. DTOs derive `ts_rs::TS`; `cargo gen` regenerates the TypeScript bindings and
//! CI fails when they drift.

pub mod api;
pub mod boot;
pub mod config_file;
pub mod dto;
pub mod dynamics;
pub mod entra;
pub mod error;
pub mod forms;

pub use api::Api;
pub use dto::AppError;
pub use error::Invalid;

#[cfg(test)]
mod bindings {
    /// ts-rs writes each `#[ts(export)]` DTO from its own generated test; this one adds the core
    /// types the UI reaches only through aliases.
    #[test]
    fn export_bindings_core_types() {
        use ts_rs::TS;
        let cfg = ts_rs::Config::from_env();
        crosswalk_core::CheckReport::export_all(&cfg).expect("bindings folder is writable");
        crosswalk_core::UserFacing::export_all(&cfg).expect("bindings folder is writable");
        // The item's settings (edited as JSON by the wizard) and the links panel's answers,
        // which commands return without a DTO around them.
        crosswalk_dynamics::DynamicsItemSettings::export_all(&cfg)
            .expect("bindings folder is writable");
        crosswalk_dynamics::linking::LinkPreview::export_all(&cfg)
            .expect("bindings folder is writable");
        crosswalk_dynamics::linking::BulkPreview::export_all(&cfg)
            .expect("bindings folder is writable");
        crosswalk_dynamics::linking::BulkPair::export_all(&cfg)
            .expect("bindings folder is writable");
    }
}
