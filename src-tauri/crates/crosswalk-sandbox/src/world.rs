//! The sandbox's whole state: one [`World`] shared by the servers, and the [`SandboxHandle`]
//! tests and the demo use to look at it and change it.

use crate::assets::limits::EndpointCount;
use crate::faults::{FaultRule, Faults, LatencyProfile, Server};
use crate::{SandboxOptions, SandboxUrls};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;

/// Everything the servers know. Each remote system's state sits behind its own lock.
pub struct World {
    pub identity: Mutex<crate::identity::IdentityState>,
    pub graph: Mutex<crate::graph::GraphState>,
    pub jira: Mutex<crate::jira::JiraState>,
    pub assets: Mutex<crate::assets::AssetsState>,
    pub dataverse: Mutex<crate::dataverse::DataverseState>,
    pub faults: Faults,
    requests: [AtomicU64; 5],
    /// Seconds added to the wall clock (tests move time forward: token and secret expiry).
    clock_offset_secs: AtomicI64,
    /// The time scale's `f64` bits (see [`crate::pace`]).
    time_scale: AtomicU64,
}

/// Locks a mutex even if a panicking handler poisoned it (state stays usable for the next test).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl World {
    /// Generates the world described by `options` (deterministic from its seed).
    pub fn generate(options: &SandboxOptions, urls: &SandboxUrls) -> World {
        let generated = crate::generator::generate(options.size, options.seed);
        let world = World {
            identity: Mutex::new(crate::identity::IdentityState::new(urls)),
            graph: Mutex::new(crate::graph::GraphState::new(generated.directory)),
            jira: Mutex::new(crate::jira::JiraState::new(&generated.jira, urls)),
            assets: Mutex::new(crate::assets::AssetsState::new(&generated.jira, urls)),
            dataverse: Mutex::new(crate::dataverse::DataverseState::new(
                generated.dataverse,
                urls,
            )),
            faults: Faults::seeded(options.seed),
            requests: Default::default(),
            clock_offset_secs: AtomicI64::new(0),
            time_scale: AtomicU64::new(crate::pace::sane(options.time_scale).to_bits()),
        };
        world.faults.set_latency(options.latency.clone());
        lock(&world.assets).limits = options.assets_limits.clone();
        world
    }

    /// How much faster than real time rate-limit windows and injected delays run (1.0 = real).
    pub fn time_scale(&self) -> f64 {
        f64::from_bits(self.time_scale.load(Ordering::Relaxed))
    }

    /// "Now" as the sandbox sees it (wall clock plus the test offset).
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.clock_offset_secs.load(Ordering::Relaxed))
    }

    pub(crate) fn count_request(&self, server: Server) {
        self.requests[server as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests each server has answered (or failed on purpose) so far.
    pub fn request_counts(&self) -> BTreeMap<Server, u64> {
        Server::ALL
            .into_iter()
            .map(|server| {
                (
                    server,
                    self.requests[server as usize].load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// What tests and the demo hold to look at and change the running sandbox. Cheap to clone.
#[derive(Clone)]
pub struct SandboxHandle {
    world: Arc<World>,
    urls: SandboxUrls,
}

impl SandboxHandle {
    pub(crate) fn new(world: Arc<World>, urls: SandboxUrls) -> SandboxHandle {
        SandboxHandle { world, urls }
    }

    /// The shared world (each system's state behind its lock).
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// The servers' base URLs.
    pub fn urls(&self) -> &SandboxUrls {
        &self.urls
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) {
        self.world.faults.add(rule);
    }

    /// Fails the next `n` requests to `server` whose path contains `route`.
    pub fn fail_next(&self, server: Server, route: &str, n: u32, fault: crate::Fault) {
        self.world
            .faults
            .add(FaultRule::next(server, route, n, fault));
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.world.faults.clear();
    }

    /// The fault rules still active, with their remaining counts (see [`Faults::rules`]).
    ///
    /// [`Faults::rules`]: crate::faults::Faults::rules
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.world.faults.rules()
    }

    /// Requests one server has received so far.
    pub fn requests(&self, server: Server) -> u64 {
        self.world.request_counts()[&server]
    }

    /// Moves the sandbox's clock forward (token lifetimes, secret expiry, delta-token age).
    pub fn advance_clock(&self, by: time::Duration) {
        self.world
            .clock_offset_secs
            .fetch_add(by.whole_seconds(), Ordering::Relaxed);
    }

    /// Speeds every rate-limit window and injected delay up by `scale` (benchmarks; 1.0 = real
    /// time; anything not finite and positive means 1.0).
    pub fn set_time_scale(&self, scale: f64) {
        self.world
            .time_scale
            .store(crate::pace::sane(scale).to_bits(), Ordering::Relaxed);
    }

    /// Replaces the per-server base latency (e.g. [`LatencyProfile::realistic`]).
    pub fn set_latency(&self, profile: LatencyProfile) {
        self.world.faults.set_latency(profile);
    }

    /// Requests Assets received per endpoint (`"POST /object/create"`, `"PUT /object/{id}"`,
    /// `"POST /object/aql"`...), with how many its rate limits refused: requests per object.
    pub fn assets_requests(&self) -> BTreeMap<String, EndpointCount> {
        lock(&self.world.assets).usage.counts().clone()
    }

    /// Runs `f` on the Graph directory state.
    pub fn graph<R>(&self, f: impl FnOnce(&mut crate::graph::GraphState) -> R) -> R {
        f(&mut lock(&self.world.graph))
    }

    /// Runs `f` on the identity platform state (apps, secrets, consent).
    pub fn identity<R>(&self, f: impl FnOnce(&mut crate::identity::IdentityState) -> R) -> R {
        f(&mut lock(&self.world.identity))
    }

    /// Runs `f` on the Jira site state.
    pub fn jira<R>(&self, f: impl FnOnce(&mut crate::jira::JiraState) -> R) -> R {
        f(&mut lock(&self.world.jira))
    }

    /// Sets the Jira site's attachment size limit in bytes: `GET /attachment/meta` reports it as
    /// `uploadLimit` and larger uploads get 413 (atlassian.md §B.10).
    pub fn set_jira_attachment_upload_limit(&self, bytes: u64) {
        lock(&self.world.jira).attachment_upload_limit = bytes;
    }

    /// Sets Dataverse's `organization.maxuploadfilesize` (base64 characters, microsoft.md §F.8),
    /// capped at the documented maximum of 131,072,000 like the admin setting is.
    pub fn set_dataverse_max_upload_file_size(&self, bytes: u64) {
        lock(&self.world.dataverse)
            .set_max_upload_file_size(bytes.min(crate::dataverse::MAX_UPLOAD_FILE_SIZE_LIMIT));
    }

    /// Runs `f` on the Assets state.
    pub fn assets<R>(&self, f: impl FnOnce(&mut crate::assets::AssetsState) -> R) -> R {
        f(&mut lock(&self.world.assets))
    }

    /// Runs `f` on the Dataverse state.
    pub fn dataverse<R>(&self, f: impl FnOnce(&mut crate::dataverse::DataverseState) -> R) -> R {
        f(&mut lock(&self.world.dataverse))
    }
}
