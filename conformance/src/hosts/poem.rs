//! The fixture in a poem app.

use poem::endpoint::make_sync;
use poem::listener::TcpAcceptor;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server, get};

use mcp_mount::McpServer;

use crate::{Principal, fixtures};

/// The host app with every fixture of `fixtures` mounted under `prefix`.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> impl Endpoint + use<> {
    let (outer, inner) = super::split(prefix);
    let mut mounts = Route::new();
    let mut route = Route::new()
        .at("/", get(make_sync(|_| super::HOME)))
        .at("/health", get(make_sync(|_| "ok")));
    for (suffix, server) in fixtures {
        let mount = format!("{prefix}{suffix}");
        route = route.at(
            mcp_mount::adapter::well_known_path(&mount),
            mcp_mount_poem::well_known(server.clone(), &mount),
        );
        let router = mcp_mount_poem::router(server);
        // Nesting at "/" would take over the host's own "/" route.
        if outer.is_empty() {
            route = route.nest(mount, router);
        } else {
            mounts = mounts.nest(format!("{inner}{suffix}"), router);
        }
    }
    if !outer.is_empty() {
        route = route.nest(outer, mounts);
    }
    // The host's "auth" middleware: the `x-user` header becomes a `Principal`.
    route.around(|ep, mut req| async move {
        if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
            let principal = Principal(user.to_owned());
            req.extensions_mut().insert(principal);
        }
        Ok(ep.call(req).await?.into_response())
    })
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires: poem's `run_with_graceful_shutdown` waits on the MCP servers'
/// shutdown, then (at most a second) on the connections.
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
        Server::new_with_acceptor(TcpAcceptor::from_std(listener)?)
            .run_with_graceful_shutdown(app, shutdown, Some(std::time::Duration::from_secs(1)))
            .await
    })
}
