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
#[cfg(feature = "oauth")]
use mcp_mount::adapter::well_known_path;
use mcp_mount::adapter::{McpBody, PeerAddr, mount_prefix, read_body};
use mcp_mount::routes::{HostApp, HostFuture, HostHandle, RouteTools, collect_body};
use mcp_mount::{BuildError, McpServer};
use std::sync::Arc;

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

/// Mounting an [`McpServer`] on an axum [`Router`] in one call, the right way.
///
/// ```
/// use mcp_mount_axum::McpRouterExt as _;
///
/// #[derive(Clone)]
/// struct AppState; // the host's own state: any type
///
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let app: axum::Router<AppState> = axum::Router::new()
///     .route("/health", axum::routing::get(|| async { "ok" }))
///     .mount_mcp("/api/mcp", server);
/// # let _ = app;
/// ```
pub trait McpRouterExt {
    /// Serves `server` at `path` (`/api/mcp` and `/api/mcp/` alike, and the paths below it)
    /// and, when it is an OAuth protected resource, its metadata at
    /// `/.well-known/oauth-protected-resource{path}`.
    ///
    /// This is [`Router::nest_service`] with [`router`], plus [`Router::merge`] with
    /// [`well_known`]. Not [`Router::nest`]: axum's `nest` never routes `{path}/` (trailing
    /// slash) to the nested router, so a client configured with it gets an empty 404. `path`
    /// `"/"` or `""` mounts at the root, as the router's fallback.
    ///
    /// # Panics
    ///
    /// As [`Router::nest_service`] and [`Router::merge`] do: when the host already routes
    /// `path` or the well-known path.
    #[must_use]
    fn mount_mcp(self, path: &str, server: McpServer) -> Self;
}

impl<S: Clone + Send + Sync + 'static> McpRouterExt for Router<S> {
    fn mount_mcp(self, path: &str, server: McpServer) -> Self {
        let prefix = mcp_mount::adapter::mount_path(path);
        let prefix = prefix.as_str();
        #[cfg(feature = "oauth")]
        let well_known = server
            .is_protected_resource()
            .then(|| well_known_route(server.clone(), prefix));
        let app = if prefix.is_empty() {
            self.fallback_service(router(server))
        } else {
            self.nest_service(prefix, router(server))
        };
        #[cfg(feature = "oauth")]
        let app = match well_known {
            Some(route) => app.merge(route),
            None => app,
        };
        app
    }
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
    well_known_route(server, prefix)
}

/// [`well_known`] for a router of any state type.
#[cfg(feature = "oauth")]
fn well_known_route<S: Clone + Send + Sync + 'static>(
    server: McpServer,
    prefix: &str,
) -> Router<S> {
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

/// Serves the host app's own documented routes as tools of `server` (see
/// [`mcp_mount::routes`]), called **in process** through `app` itself: its routes, its layers
/// (auth, validation, tracing) and its fallback, as any request. Returns the router to serve.
///
/// Call it last, on the finished `Router` that contains the MCP mount (layers added to the
/// returned router afterwards are not on the tools' path). The tools hold the app only
/// weakly, so the app that contains the server does not own itself through them: the
/// returned router keeps it alive, and serving it is all there is to do.
///
/// ```
/// use axum::{Router, routing::get};
/// use mcp_mount::routes::RouteTools;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mcp = mcp_mount::McpServer::builder("shop", "1.0.0").build();
/// let app: Router = Router::new()
///     .route("/items", get(|| async { axum::Json(vec!["apple"]) }))
///     .nest_service("/mcp", mcp_mount_axum::router(mcp.clone()));
/// let doc = serde_json::json!({"openapi": "3.1.0", "info": {"title": "shop", "version": "1"},
///     "paths": {"/items": {"get": {"operationId": "list_items", "responses": {"200": {"description": "ok"}}}}}});
/// let app = mcp_mount_axum::routes_as_tools(app, &mcp, &RouteTools::from_openapi(&doc)?)?;
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What [`McpServer::add_route_tools`] refuses.
pub fn routes_as_tools(
    app: Router,
    server: &McpServer,
    routes: &RouteTools,
) -> Result<Router, BuildError> {
    let host: Arc<dyn HostApp> = Arc::new(AxumHost(app.clone()));
    server.add_route_tools(routes, &HostHandle::weak(&host))?;
    Ok(app.layer(axum::Extension(KeepAlive(host))))
}

/// Rides along every request of the served router: what keeps the tools' app alive.
#[derive(Clone)]
struct KeepAlive(#[expect(dead_code, reason = "held, never read")] Arc<dyn HostApp>);

/// The app as route tools call it: the `Router` as a tower service.
struct AxumHost(Router);

impl HostApp for AxumHost {
    fn call(&self, request: http::Request<Bytes>, max_body: usize) -> HostFuture<'_> {
        let mut router = self.0.clone();
        Box::pin(async move {
            use tower_service::Service;
            let request = request.map(Body::from);
            // A `Router` is always ready and never fails (`Infallible`).
            let Ok(()) =
                std::future::poll_fn(|cx| Service::<Request>::poll_ready(&mut router, cx)).await;
            let Ok(response) = router.call(request).await;
            let (parts, body) = response.into_parts();
            Ok(http::Response::from_parts(
                parts,
                collect_body(max_body, body).await?,
            ))
        })
    }
}
