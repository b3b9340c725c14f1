//! The sandbox: local Microsoft identity platform, Graph, Dataverse, Jira and Assets servers that
//! behave like the real services as documented (`../shared/api/`), over a deterministic,
//! generated world. It is both the test bed of every engine and a product feature
//! (`crosswalk demo`, `crosswalk sandbox`).
//!
//! Each remote system is one axum server on its own 127.0.0.1 ephemeral port, so base URLs are
//! as distinct as in production. All state is in memory in one [`World`], shared by the servers
//! and by tests through [`SandboxHandle`] (add a user, expire a secret, fail the next N
//! requests...). Faults are injected per server and per route by a middleware in front of every
//! route. Tested by conformance tests written from the documentation (each names its section).
//!
//! What it deliberately does not do: persist anything, or accept anything the real service
//! would reject because our client happens to send it.

pub mod assets;
pub mod dataverse;
pub mod faults;
pub mod generator;
pub mod graph;
pub mod identity;
pub mod jira;
pub mod pace;
mod server;
pub mod world;

pub use assets::{AssetsLimits, EndpointCount};
pub use faults::{Fault, FaultRule, LatencyProfile, LatencyRange, Server};
pub use jira::JiraLimits;
pub use world::{SandboxHandle, World};

use std::sync::Arc;
use url::Url;

/// How big a world to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// A handful of each object: unit and conformance tests.
    #[default]
    Tiny,
    /// Hundreds: integration tests.
    Small,
    /// Thousands: the demo.
    Medium,
    /// 100k users, 20k groups, 50k managed devices, 2k app registrations: benchmarks.
    Large,
}

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(value: &str) -> Result<Size, String> {
        match value {
            "tiny" => Ok(Size::Tiny),
            "small" => Ok(Size::Small),
            "medium" => Ok(Size::Medium),
            "large" => Ok(Size::Large),
            other => Err(format!(
                "unknown size \"{other}\"; use tiny, small, medium or large"
            )),
        }
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub size: Size,
    /// Same seed, same world.
    pub seed: u64,
    /// Faults active from the start (tests usually add them through the handle instead).
    pub faults: Vec<FaultRule>,
    /// Rate-limit windows and injected delays run this many times faster than real time, so a
    /// benchmark against real limits takes minutes, not hours (1.0 = real time; see [`pace`]).
    pub time_scale: f64,
    /// Base latency per server (none by default; [`LatencyProfile::realistic`] for benchmarks).
    pub latency: LatencyProfile,
    /// Assets' documented per-endpoint rate limits (§D.10); `None` (default) = unlimited.
    pub assets_limits: Option<AssetsLimits>,
    /// Jira's documented burst and per-issue write limits (§C); `None` (default) = unlimited.
    pub jira_limits: Option<JiraLimits>,
}

impl Default for SandboxOptions {
    fn default() -> SandboxOptions {
        SandboxOptions {
            size: Size::Tiny,
            seed: 42,
            faults: Vec::new(),
            time_scale: 1.0,
            latency: LatencyProfile::none(),
            assets_limits: None,
            jira_limits: None,
        }
    }
}

/// The base URLs of the running servers, as a connection would be configured with them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SandboxUrls {
    /// Sign-in authority (token endpoint at `{login}/{tenant}/oauth2/v2.0/token`).
    pub login: Url,
    /// Graph root (resources under `/v1.0/...`); also the token resource for Graph.
    pub graph: Url,
    /// The Jira Cloud site (`/rest/api/3/...`, `/rest/servicedeskapi/...`).
    pub jira: Url,
    /// The Assets API gateway (`/jsm/assets/workspace/{id}/v1/...`).
    pub assets: Url,
    /// The Dataverse organization URL (`/api/data/v9.2/...`); also its token resource.
    pub dataverse: Url,
}

/// A running sandbox. Dropping it stops the servers.
pub struct Sandbox {
    pub urls: SandboxUrls,
    pub handle: SandboxHandle,
    _servers: Vec<server::Running>,
}

impl Sandbox {
    /// Generates the world and starts one server per remote system on 127.0.0.1.
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Sandbox> {
        anyhow::ensure!(
            options.time_scale.is_finite() && options.time_scale > 0.0,
            "the time scale must be a positive number, not {}",
            options.time_scale
        );
        let listeners = server::Listeners::bind().await?;
        let urls = listeners.urls();
        let world = Arc::new(World::generate(&options, &urls));
        for rule in &options.faults {
            world.faults.add(rule.clone());
        }
        world::lock(&world.jira).limits = options.jira_limits.clone();
        let handle = SandboxHandle::new(Arc::clone(&world), urls.clone());
        let servers = listeners.serve(world);
        Ok(Sandbox {
            urls,
            handle,
            _servers: servers,
        })
    }
}

/// The URLs and sandbox credentials an admin needs to point connections at a running sandbox.
pub fn describe(sandbox: &Sandbox) -> serde_json::Value {
    let trim = |url: &Url| url.as_str().trim_end_matches('/').to_owned();
    serde_json::json!({
        "login_url": trim(&sandbox.urls.login),
        "graph_url": trim(&sandbox.urls.graph),
        "jira_url": trim(&sandbox.urls.jira),
        "assets_url": trim(&sandbox.urls.assets),
        "dataverse_url": trim(&sandbox.urls.dataverse),
        "tenant_id": identity::TENANT_ID,
        "client_id": identity::CLIENT_ID,
        "client_secret": identity::CLIENT_SECRET,
        "jira_email": jira::ADMIN_EMAIL,
        "jira_api_token": jira::ADMIN_API_TOKEN,
        "assets_api_url": format!(
            "{}/jsm/assets/workspace/{}/v1",
            trim(&sandbox.urls.assets),
            generator::jira::WORKSPACE_ID
        ),
    })
}
