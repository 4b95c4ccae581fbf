//! The fixture in an axum app.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;

use mcp_mount::McpServer;

use crate::{Principal, fixtures};

/// The host's "auth" middleware: the `x-user` header becomes a [`Principal`].
async fn auth(mut req: Request, next: Next) -> Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

/// The host app with every fixture of `fixtures` mounted under `prefix`.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> Router {
    let (outer, inner) = super::split(prefix);
    let mut mounts = Router::new();
    let mut app = Router::new()
        .route("/", get(|| async { super::HOME }))
        .route("/health", get(|| async { "ok" }));
    for (suffix, server) in fixtures {
        mounts = mounts.nest_service(
            &format!("{inner}{suffix}"),
            mcp_mount_axum::router(server.clone()),
        );
        app = app.merge(mcp_mount_axum::well_known(
            server,
            &format!("{prefix}{suffix}"),
        ));
    }
    let app = if outer.is_empty() {
        app.merge(mounts)
    } else {
        app.nest(outer, mounts)
    };
    app.layer(middleware::from_fn(auth))
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires: axum's `with_graceful_shutdown` waits on the MCP servers'
/// shutdown, then on the connections, which by then have ended.
///
/// # Errors
///
/// When the server fails.
pub fn serve_until(
    listener: std::net::TcpListener,
    prefix: &str,
    stop: super::Stop,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let servers = fixtures();
    let shutdown = stop.then_shut_down(servers.iter().map(|(_, s)| s.clone()).collect());
    let app = app(prefix, servers);
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    })
}
