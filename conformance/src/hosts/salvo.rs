//! The fixture in a salvo app.

use salvo::conn::tcp::TcpAcceptor;
use salvo::{Depot, Request, Router, Server, handler};

use mcp_mount::McpServer;

use crate::{Principal, fixtures};

/// The host's "auth" middleware: the `x-user` header becomes a [`Principal`] in the depot.
#[handler]
async fn auth(req: &mut Request, depot: &mut Depot) {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        depot.insert_typed(Principal(user.to_owned()));
    }
}

#[handler]
async fn home() -> &'static str {
    super::HOME
}

#[handler]
async fn health() -> &'static str {
    "ok"
}

/// Copies the principal from the depot into the extensions handlers read.
fn carry(depot: &Depot, extensions: &mut http::Extensions) {
    if let Ok(principal) = depot.get_typed::<Principal>() {
        extensions.insert(principal.clone());
    }
}

/// The host app with every fixture of `fixtures` mounted under `prefix`.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> Router {
    let (outer, inner) = super::split(prefix);
    let mut mounts = match outer.trim_start_matches('/') {
        "" => Router::new(),
        outer => Router::with_path(outer),
    };
    let mut root = Router::new()
        .hoop(auth)
        .get(home)
        .push(Router::with_path("health").get(health));
    for (suffix, server) in fixtures {
        root = root.push(mcp_mount_salvo::well_known(
            server.clone(),
            &format!("{prefix}{suffix}"),
        ));
        let path = format!("{}{suffix}", inner.trim_start_matches('/'));
        mounts =
            mounts.push(Router::with_path(path).push(mcp_mount_salvo::router_with(server, carry)));
    }
    root.push(mounts)
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires: the MCP servers shut down, then salvo's server handle stops
/// gracefully (it waits for the connections, which by then have ended).
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
        let acceptor = TcpAcceptor::try_from(tokio::net::TcpListener::from_std(listener)?)?;
        let server = Server::new(acceptor);
        let handle = server.handle();
        tokio::spawn(async move {
            shutdown.await;
            handle.stop_graceful(Some(std::time::Duration::from_secs(1)));
        });
        server.serve(app).await;
        Ok(())
    })
}
