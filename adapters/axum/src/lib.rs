#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use axum::Router;
use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::response::Response;
use axum::routing::any;
#[cfg(feature = "oauth")]
use axum::routing::get;
use bytes::Bytes;
use http::Uri;
use http::request::Parts;
use mcp_mount::McpServer;
#[cfg(feature = "oauth")]
use mcp_mount::adapter::well_known_path;
use mcp_mount::adapter::{McpBody, PeerAddr, mount_prefix, read_body};

/// A [`Router`] serving `server`, to mount with [`Router::nest_service`] at any path of the
/// host's router, at any depth, whatever the host's state type.
///
/// It answers its whole subtree (the MCP endpoint and every path below it) and nothing outside
/// it. The host's request extensions (what its middleware inserted) reach the handlers'
/// [`RequestContext`](mcp_mount::RequestContext) unchanged.
///
/// `nest_service` rather than `nest`: axum's `nest` never routes `{prefix}/` (trailing slash)
/// to a nested router, while `nest_service` routes `{prefix}`, `{prefix}/` and everything
/// below to it, and MCP clients use the URL exactly as configured.
pub fn router(server: McpServer) -> Router {
    Router::new()
        .route("/", any(handle))
        .route("/{*rest}", any(handle))
        .fallback(handle)
        .with_state(server)
}

async fn handle(
    State(server): State<McpServer>,
    OriginalUri(original): OriginalUri,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_body(server.max_body(), body).await {
        Ok(body) => body,
        Err(e) => return into_axum(e.into_response()),
    };
    let prefix = mount_prefix(original.path(), parts.uri.path()).to_owned();
    into_axum(
        server
            .handle(into_http(parts, original, body), &prefix)
            .await,
    )
}

/// A [`Router`] to [`merge`](Router::merge) into the host's **root** router, serving the OAuth
/// protected resource metadata (RFC 9728) of `server` mounted at `prefix`, at the
/// root-anchored path `/.well-known/oauth-protected-resource{prefix}` that clients look up.
///
/// ```
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let app: axum::Router = axum::Router::new()
///     .nest_service("/api/mcp", mcp_mount_axum::router(server.clone()))
///     .merge(mcp_mount_axum::well_known(server, "/api/mcp"));
/// # let _ = app;
/// ```
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub fn well_known(server: McpServer, prefix: &str) -> Router {
    let prefix = prefix.trim_end_matches('/').to_owned();
    Router::new().route(
        &well_known_path(&prefix),
        get(
            move |OriginalUri(original): OriginalUri, req: Request| async move {
                let (parts, _) = req.into_parts();
                into_axum(
                    server
                        .well_known(into_http(parts, original, Bytes::new()), &prefix)
                        .await,
                )
            },
        ),
    )
}

/// The one translation [`router`] and [`well_known`] share: the request moves across with its
/// extensions, its URI restored to the `original` one the client sent (inside `nest_service`
/// axum strips the mount path; the core wants the external one), and the peer's address as a
/// [`PeerAddr`], present when the host serves with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
fn into_http(mut parts: Parts, original: Uri, body: Bytes) -> http::Request<Bytes> {
    parts.uri = original;
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() {
        parts.extensions.insert(PeerAddr(peer));
    }
    http::Request::from_parts(parts, body)
}

fn into_axum(response: http::Response<McpBody>) -> Response {
    response.map(Body::new)
}
