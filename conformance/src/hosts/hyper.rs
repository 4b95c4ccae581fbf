//! The fixture behind plain hyper 1, with no web framework, through the core's `tower` face
//! ([`McpService`]): all a tower- or hyper-based host must do, in one small file. It routes
//! each mount's subtree and its well-known path to its service ([`McpService::serves`]), adds
//! the peer's address, and runs the host's "auth" step; the service reads any body up to
//! [`McpServer::max_body`](mcp_mount::McpServer::max_body) and answers. `mcp-mount` runs the
//! whole suite against it in its own tests, so the core and its tower face are tested with no
//! framework.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_mount::adapter::{McpBody, PeerAddr};
use mcp_mount::tower::{McpService, Service as _};

use crate::{Principal, fixtures};

/// Serves the host app with every fixture mounted under `prefix` on `listener` until the
/// process ends.
///
/// # Errors
///
/// When the listener cannot be used.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires: the MCP servers shut down, then the accept loop ends and the
/// connections get a second to finish writing.
///
/// # Errors
///
/// When the listener cannot be used.
pub fn serve_until(
    listener: std::net::TcpListener,
    prefix: &str,
    stop: super::Stop,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let servers = fixtures();
    let shutdown = stop.then_shut_down(servers.iter().map(|(_, s)| s.clone()).collect());
    let mounts: Arc<[McpService]> = servers
        .into_iter()
        .map(|(suffix, server)| server.into_service(&format!("{prefix}{suffix}")))
        .collect();
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let mut connections = tokio::task::JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: that connection is lost, not the server.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let mounts = Arc::clone(&mounts);
            connections.spawn(async move {
                let service = service_fn(move |req| {
                    let mounts = Arc::clone(&mounts);
                    async move { Ok::<_, Infallible>(answer(&mounts, peer, req).await) }
                });
                // A failed connection (the client went away mid-stream) ends only itself.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
            // Forget the connections that are over.
            while connections.try_join_next().is_some() {}
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        Ok(())
    })
}

/// Answers one request as the host app routes it.
async fn answer(
    mounts: &[McpService],
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<McpBody> {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(PeerAddr(peer));
    // The host's "auth" step: the `x-user` header becomes a `Principal`.
    if let Some(user) = parts.headers.get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        parts.extensions.insert(principal);
    }
    let path = parts.uri.path().to_owned();
    if let Some(service) = mounts.iter().find(|m| m.serves(&path)) {
        let request = Request::from_parts(parts, body);
        return match service.clone().call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let path = path.as_str();
    match path {
        "/" => text(StatusCode::OK, super::HOME),
        "/health" => text(StatusCode::OK, "ok"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A plain-text answer of the host's own.
fn text(status: StatusCode, body: &'static str) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
