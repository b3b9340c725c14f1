//! The shared things every run needs: the store, the secrets, the clock, the token cache.

use crosswalk_core::{Clock, ConnectionConfig, Secret};
use crosswalk_secrets::Secrets;
use crosswalk_store::Store;
use std::sync::Arc;

/// Process-wide services handed to every run. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<Store>,
    pub secrets: Arc<Secrets>,
    pub clock: Arc<dyn Clock>,
    /// Entra tokens cached per tenant + client + resource across runs.
    pub tokens: crosswalk_http::TokenCache,
}

impl Services {
    /// Services over `store` and `secrets` with the system clock.
    pub fn new(store: Arc<Store>, secrets: Arc<Secrets>) -> Services {
        Services {
            store,
            secrets,
            clock: Arc::new(crosswalk_core::SystemClock),
            tokens: crosswalk_http::TokenCache::default(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Services {
        self.clock = clock;
        self
    }

    /// Reads a connection's secret from where its configuration says it lives.
    ///
    /// Keychain access blocks on D-Bus, so it runs on the blocking pool.
    pub async fn secret_for(&self, connection: &ConnectionConfig) -> anyhow::Result<Secret> {
        let secrets = Arc::clone(&self.secrets);
        let connection = connection.clone();
        let name = connection.name.clone();
        let res = tokio::task::spawn_blocking(move || secrets.resolve_for(&connection))
            .await
            .map_err(|error| anyhow::anyhow!("keychain lookup task failed: {error}"))?;
        res.map_err(|error| {
            anyhow::Error::new(error.user_facing())
                .context(format!("reading the secret of connection {name}"))
        })
    }
}
