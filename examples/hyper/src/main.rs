//! An existing app on plain hyper 1, no web framework (a small notes service with a REST route
//! and bearer-token auth), with an MCP server mounted at `/mcp` through the core's tower face
//! (`mcp_mount::tower`, the `tower` feature). What it does around `McpService` is what any
//! tower- or hyper-based host does: route the mount's paths to it, put what its auth step
//! learned into the request's extensions.
//! `cargo run -p mcp-mount-example-hyper`, then point an MCP client at
//! `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_mount::adapter::{McpBody, PeerAddr};
use mcp_mount::tower::{McpService, Service as _};
use mcp_mount_example_notes::{Notes, SHUTDOWN_DEADLINE, notes_mcp, terminated, user_from};

/// The app's routes: its own, and everything the MCP service answers.
async fn route(mcp: McpService, notes: Notes, mut req: Request<Incoming>) -> Response<McpBody> {
    // The app's auth step: the bearer token's user goes into the request's extensions, where
    // the MCP tools find it too (`whoami`).
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(user) = user_from(authorization) {
        req.extensions_mut().insert(user);
    }
    let path = req.uri().path();
    if mcp.serves(path) {
        // `/mcp`, `/mcp/` and below, and `/.well-known/oauth-protected-resource/mcp`.
        return match mcp.clone().call(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    match path {
        "/health" => text(StatusCode::OK, "text/plain", Bytes::from_static(b"ok")),
        "/notes" => match serde_json::to_vec(&notes.all()) {
            Ok(json) => text(StatusCode::OK, "application/json", Bytes::from(json)),
            Err(_) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                Bytes::new(),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            Bytes::from_static(b"not found"),
        ),
    }
}

fn text(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    let server = notes_mcp(&notes).await?;
    // The one line that makes the MCP server a tower service at `/mcp`.
    let mcp = server.clone().into_service("/mcp");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "notes app on http://{}: REST at /notes, MCP at /mcp",
        listener.local_addr()?
    );
    let stop = async {
        terminated().await;
        // New requests get 503, streams end, calls get SHUTDOWN_DEADLINE.
        server.shutdown(SHUTDOWN_DEADLINE).await;
    };
    tokio::pin!(stop);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: that connection is lost, not the app.
                Err(_) => continue,
            },
        };
        // Small SSE events must not wait for delayed ACKs (Nagle).
        let _ = tcp.set_nodelay(true);
        let (mcp, notes) = (mcp.clone(), notes.clone());
        connections.spawn(async move {
            let service = service_fn(move |mut req: Request<Incoming>| {
                // The peer's address, for trusted-proxy handling.
                req.extensions_mut().insert(PeerAddr(peer));
                let (mcp, notes) = (mcp.clone(), notes.clone());
                async move { Ok::<_, Infallible>(route(mcp, notes, req).await) }
            });
            // A failed connection (the client went away mid-stream) ends only itself.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
    // The streams have ended; give the connections a second to finish writing.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}
