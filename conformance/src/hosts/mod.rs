//! The fixture inside a small host app, one per framework (each behind the Cargo feature of the
//! same name) and one on plain hyper with no framework: the apps the adapter tests,
//! `fixture-server` and the identical-behaviour test all serve.
//!
//! Every app has its own routes (`GET /` and `GET /health`), an "auth" step that turns the
//! `x-user` header into a [`Principal`](crate::Principal) the way a real app's middleware would
//! from a token, every fixture of [`fixtures`](crate::fixtures) mounted under the prefix (inside
//! a router nested at the prefix's parent path, when it has one), and each fixture's `well_known`
//! route at the root.

#[cfg(feature = "actix-web")]
pub mod actix_web;
#[cfg(feature = "axum")]
pub mod axum;
pub mod hyper;
#[cfg(feature = "poem")]
pub mod poem;
#[cfg(feature = "salvo")]
pub mod salvo;
pub mod shop;

/// The hosts [`serve`] knows in this build, by the name `fixture-server --framework` takes.
pub const HOSTS: &[&str] = &[
    #[cfg(feature = "axum")]
    "axum",
    #[cfg(feature = "actix-web")]
    "actix-web",
    #[cfg(feature = "poem")]
    "poem",
    #[cfg(feature = "salvo")]
    "salvo",
    "hyper",
];

/// What the host apps answer at `GET /`.
const HOME: &str = "fixture host app";

/// Serves the host app named `host` (one of [`HOSTS`]) on `listener` until the process ends.
///
/// # Errors
///
/// An unknown host, or the server failing.
pub fn serve(host: &str, listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(host, listener, prefix, Stop::never())
}

/// What ends a host app gracefully, e.g. on SIGTERM: the MCP servers shut down first
/// ([`McpServer::shutdown`](mcp_mount::McpServer::shutdown) with `deadline`), then the
/// framework's own graceful shutdown, wired the way each framework has it.
#[derive(Clone, Debug)]
pub struct Stop {
    signal: tokio::sync::watch::Receiver<bool>,
    /// How long calls in flight get.
    pub deadline: std::time::Duration,
    /// Kept by [`never`](Self::never), so that the signal never fires.
    _keep: Option<std::sync::Arc<tokio::sync::watch::Sender<bool>>>,
}

impl Stop {
    /// A stop and the sender that fires it (`send(true)`).
    pub fn new(deadline: std::time::Duration) -> (tokio::sync::watch::Sender<bool>, Self) {
        let (tx, signal) = tokio::sync::watch::channel(false);
        (
            tx,
            Self {
                signal,
                deadline,
                _keep: None,
            },
        )
    }

    /// A stop that never fires.
    pub fn never() -> Self {
        let (tx, mut stop) = Self::new(std::time::Duration::ZERO);
        stop._keep = Some(std::sync::Arc::new(tx));
        stop
    }

    /// Resolves when the stop fires (never, if its sender is gone without firing).
    pub async fn fired(mut self) {
        if self.signal.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves when the stop fires and every one of `servers` has shut down.
    pub async fn then_shut_down(self, servers: Vec<mcp_mount::McpServer>) {
        let deadline = self.deadline;
        self.fired().await;
        let tasks: Vec<_> = servers
            .into_iter()
            .map(|server| tokio::spawn(async move { server.shutdown(deadline).await }))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// [`serve`] until `stop` fires, then shuts down gracefully.
///
/// # Errors
///
/// An unknown host, or the server failing.
pub fn serve_until(
    host: &str,
    listener: std::net::TcpListener,
    prefix: &str,
    stop: Stop,
) -> std::io::Result<()> {
    match host {
        #[cfg(feature = "axum")]
        "axum" => axum::serve_until(listener, prefix, stop),
        #[cfg(feature = "actix-web")]
        "actix-web" => actix_web::serve_until(listener, prefix, stop),
        #[cfg(feature = "poem")]
        "poem" => poem::serve_until(listener, prefix, stop),
        #[cfg(feature = "salvo")]
        "salvo" => salvo::serve_until(listener, prefix, stop),
        "hyper" => hyper::serve_until(listener, prefix, stop),
        other => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("unknown host {other:?} (known: {})", HOSTS.join(", ")),
        )),
    }
}

/// Splits a mount prefix into the path a host nests a router at and the path inside it:
/// `/api/v1/tenants/acme/mcp` gives `("/api/v1/tenants/acme", "/mcp")`, and `/mcp` gives
/// `("", "/mcp")` (nothing to nest). The hyper host routes by whole mounts and needs none.
#[cfg(any(
    feature = "axum",
    feature = "actix-web",
    feature = "poem",
    feature = "salvo",
    test
))]
fn split(prefix: &str) -> (&str, &str) {
    prefix.split_at(prefix.rfind('/').unwrap_or(0))
}

/// The tokio runtime of the hosts that run on tokio directly; two workers, as on CI machines.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_nests_at_the_parent_path() {
        assert_eq!(
            super::split("/api/v1/tenants/acme/mcp"),
            ("/api/v1/tenants/acme", "/mcp")
        );
        assert_eq!(super::split("/mcp"), ("", "/mcp"));
    }
}
