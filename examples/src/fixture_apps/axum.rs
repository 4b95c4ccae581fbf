//! The fixture in an axum app.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use mcp_mount_conformance::{Principal, fixtures};

async fn auth(mut req: Request, next: Next) -> Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

/// The host app with every fixture mounted under `prefix`.
pub fn app(prefix: &str) -> Router {
    let mut app = Router::new()
        .route("/", get(|| async { "fixture host app" }))
        .route("/health", get(|| async { "ok" }));
    for (suffix, server) in fixtures() {
        app = app.nest_service(&format!("{prefix}{suffix}"), mcp_mount_axum::router(server));
    }
    app.layer(middleware::from_fn(auth))
}

/// Serves [`app`] on `addr` until the process ends.
///
/// # Errors
///
/// When the address cannot be bound or the server fails.
pub fn run(addr: SocketAddr, prefix: &str) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        super::announce(listener.local_addr()?, prefix);
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app(prefix)).await
    })
}
