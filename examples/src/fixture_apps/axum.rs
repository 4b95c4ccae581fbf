//! The fixture in an axum app.

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
        let mount = format!("{prefix}{suffix}");
        app = app
            .nest_service(&mount, mcp_mount_axum::router(server.clone()))
            .merge(mcp_mount_axum::well_known(server, &mount));
    }
    app.layer(middleware::from_fn(auth))
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    super::runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(
            listener,
            app(prefix).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    })
}
