//! Binding the five servers to 127.0.0.1 ephemeral ports and serving them.

use crate::faults::{self, Fault, Server};
use crate::pace;
use crate::world::World;
use crate::SandboxUrls;
use axum::body::Body;
use axum::http::Request;
use axum::middleware::Next;
use axum::Router;
use std::sync::Arc;
use tokio::net::TcpListener;
use url::Url;

/// The bound, not yet serving, listeners.
pub(crate) struct Listeners {
    listeners: Vec<(Server, TcpListener)>,
}

/// A serving server; dropping it stops the server.
pub(crate) struct Running {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listeners {
    /// Binds one loopback listener per server.
    pub(crate) async fn bind() -> anyhow::Result<Listeners> {
        let mut listeners = Vec::new();
        for server in Server::ALL {
            listeners.push((server, TcpListener::bind("127.0.0.1:0").await?));
        }
        Ok(Listeners { listeners })
    }

    fn url(&self, server: Server) -> Url {
        let (_, listener) = self
            .listeners
            .iter()
            .find(|(s, _)| *s == server)
            .expect("every server is bound");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        Url::parse(&format!("http://127.0.0.1:{port}")).expect("loopback URL parses")
    }

    /// The base URLs clients use.
    pub(crate) fn urls(&self) -> SandboxUrls {
        SandboxUrls {
            login: self.url(Server::Login),
            graph: self.url(Server::Graph),
            jira: self.url(Server::Jira),
            assets: self.url(Server::Assets),
            dataverse: self.url(Server::Dataverse),
        }
    }

    /// Starts serving every listener on the current runtime.
    pub(crate) fn serve(self, world: Arc<World>) -> Vec<Running> {
        self.listeners
            .into_iter()
            .map(|(server, listener)| {
                let router = match server {
                    Server::Login => crate::identity::router(),
                    Server::Graph => crate::graph::router(),
                    Server::Jira => crate::jira::router(),
                    Server::Assets => crate::assets::router(),
                    Server::Dataverse => crate::dataverse::router(),
                };
                let app: Router = router
                    .layer(axum::middleware::from_fn_with_state((Arc::clone(&world), server), front_door))
                    .with_state(Arc::clone(&world));
                let task = tokio::spawn(async move {
                    if let Err(error) = axum::serve(listener, app).await {
                        tracing::error!(message = "Sandbox server stopped.", server = server.as_str(), error = %error);
                    }
                });
                Running { task }
            })
            .collect()
    }
}

/// Counts every request, waits out the base latency and any latency fault (scaled), applies
/// other injected faults, then the server's own rate limits, before the real handler.
async fn front_door(
    axum::extract::State((world, server)): axum::extract::State<(Arc<World>, Server)>,
    request: Request<Body>,
    next: Next,
) -> axum::response::Response {
    world.count_request(server);
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let template = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|matched| matched.as_str().to_owned());
    if server == Server::Assets {
        crate::assets::limits::count(&world, &method, &path);
    }
    if server == Server::Jira {
        crate::jira::limits::count(&world, &method, template.as_deref());
    }
    let mut delay_ms = world.faults.base_latency_ms(server);
    let mut fault = world.faults.take(server, &method, &path);
    if let Some(Fault::Latency { ms }) = fault {
        delay_ms += ms;
        fault = None;
    }
    if delay_ms > 0 {
        tokio::time::sleep(pace::delay(delay_ms, world.time_scale())).await;
    }
    if let Some(fault) = fault {
        return faults::apply(fault, server, request, next).await;
    }
    if server == Server::Assets {
        if let Err(response) =
            crate::assets::limits::admit(&world, &method, &path, request.headers())
        {
            return response;
        }
    }
    if server == Server::Jira {
        if let Err(response) = crate::jira::limits::admit(
            &world,
            &method,
            &path,
            template.as_deref(),
            request.headers(),
        ) {
            return response;
        }
    }
    let mut response = next.run(request).await;
    // Every real server dates its answers (RFC 9110 §6.6.1); ours use the world's clock, which
    // tests and time-scaled benchmarks move, so a client timing itself by the server stays right.
    if let Ok(value) = axum::http::HeaderValue::from_str(&http_date(world.now())) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let weekday = &at.weekday().to_string()[..3];
    let month = &at.month().to_string()[..3];
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        at.day(),
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
