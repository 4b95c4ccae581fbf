#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use std::sync::Arc;

use mcp_mount::adapter::{McpBody, PeerAddr, mount_prefix, read_body_stream};
use mcp_mount::routes::{HostApp, HostFuture, HostHandle, RouteTools, collect_body_stream};
use mcp_mount::{BuildError, McpServer};
use poem::{Endpoint, Request, Response};

/// An [`Endpoint`] serving `server`, to [`nest`](poem::Route::nest) at any path of the host's
/// route tree: `Route::new().nest("/mcp", router(server))`.
///
/// It answers its whole subtree. The host's request extensions (what its middleware inserted)
/// move into the handlers' [`RequestContext`](mcp_mount::RequestContext) unchanged.
pub fn router(server: McpServer) -> McpEndpoint {
    McpEndpoint { server }
}

/// An endpoint serving the OAuth protected resource metadata (RFC 9728) of `server` mounted at
/// `prefix`; place it at the root-anchored path clients look up,
/// [`well_known_path(prefix)`](mcp_mount::adapter::well_known_path):
///
/// ```
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let app = poem::Route::new()
///     .nest("/api/mcp", mcp_mount_poem::router(server.clone()))
///     .at(mcp_mount::adapter::well_known_path("/api/mcp"), mcp_mount_poem::well_known(server, "/api/mcp"));
/// # let _ = app;
/// ```
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub fn well_known(server: McpServer, prefix: &str) -> impl Endpoint<Output = Response> + use<> {
    let prefix = prefix.trim_end_matches('/').to_owned();
    poem::get(poem::endpoint::make(move |req: Request| {
        let (server, prefix) = (server.clone(), prefix.clone());
        async move {
            let (parts, _) = into_http(req).into_parts();
            into_poem(
                server
                    .well_known(http::Request::from_parts(parts, Bytes::new()), &prefix)
                    .await,
            )
        }
    }))
}

/// Mounting an [`McpServer`] on a poem [`Route`](poem::Route) in one call.
///
/// ```
/// use mcp_mount_poem::McpRouteExt as _;
///
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let app = poem::Route::new()
///     .at("/health", poem::get(poem::endpoint::make_sync(|_| "ok")))
///     .mount_mcp("/api/mcp", server);
/// # let _ = app;
/// ```
pub trait McpRouteExt {
    /// [`nest`](poem::Route::nest)s [`router(server)`](router) at `path` and, when the server
    /// is an OAuth protected resource, places [`well_known`] at
    /// `/.well-known/oauth-protected-resource{path}`. Call it on the root route: that path is
    /// root-anchored.
    ///
    /// # Panics
    ///
    /// As [`Route::nest`](poem::Route::nest) and [`Route::at`](poem::Route::at) do, when
    /// the host already routes `path` or the well-known path.
    #[must_use]
    fn mount_mcp(self, path: &str, server: McpServer) -> Self;
}

impl McpRouteExt for poem::Route {
    fn mount_mcp(self, path: &str, server: McpServer) -> Self {
        let prefix = mcp_mount::adapter::mount_path(path);
        let prefix = prefix.as_str();
        #[cfg(feature = "oauth")]
        let route = if server.is_protected_resource() {
            self.at(
                mcp_mount::adapter::well_known_path(prefix),
                well_known(server.clone(), prefix),
            )
        } else {
            self
        };
        #[cfg(not(feature = "oauth"))]
        let route = self;
        route.nest(if prefix.is_empty() { "/" } else { prefix }, router(server))
    }
}

/// The endpoint [`router`] returns.
#[derive(Clone, Debug)]
pub struct McpEndpoint {
    server: McpServer,
}

impl Endpoint for McpEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let remaining = req.uri().path().to_owned();
        let (parts, body) = into_http(req).into_parts();
        let body = match read_body_stream(self.server.max_body(), body.into_bytes_stream()).await {
            Ok(body) => body,
            Err(e) => return Ok(into_poem(e.into_response())),
        };
        let prefix = mount_prefix(parts.uri.path(), &remaining).to_owned();
        let request = http::Request::from_parts(parts, body);
        Ok(into_poem(self.server.handle(request, &prefix).await))
    }
}

/// The one translation [`router`] and [`well_known`] share: method, version, headers and
/// extensions move across, the URI is the original one the client sent (inside `nest` poem
/// strips the mount path; the core wants the external one), and the peer's address becomes a
/// [`PeerAddr`]. The body is left unread.
fn into_http(req: Request) -> http::Request<poem::Body> {
    let original = req.original_uri().clone();
    let peer = req.remote_addr().as_socket_addr().copied();
    let (parts, body) = req.into_parts();
    let mut request = http::Request::new(body);
    *request.method_mut() = parts.method;
    *request.uri_mut() = original;
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers;
    *request.extensions_mut() = parts.extensions;
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    request
}

fn into_poem(response: http::Response<McpBody>) -> Response {
    Response::from(response.map(IoBody))
}

/// [`McpBody`] with the `std::io::Error` error type poem's body conversion asks for (it never
/// produces one).
struct IoBody(McpBody);

impl http_body::Body for IoBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.0)
            .poll_frame(cx)
            .map(|frame| frame.map(|frame| frame.map_err(|never| match never {})))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.0.size_hint()
    }
}

/// Serves the host app's own documented routes as tools of `server` (see
/// [`mcp_mount::routes`]), called **in process** through `app` itself (an [`Endpoint`]: its
/// routes and its middleware, as any request). Returns the endpoint to serve.
///
/// Call it last, on the finished endpoint that contains the MCP mount. The tools hold the
/// app only weakly, so the app that contains the server does not own itself through them:
/// the returned `Arc` keeps it alive, and serving it is all there is to do.
///
/// ```
/// use mcp_mount::routes::RouteTools;
/// use poem::{Route, get, handler};
///
/// #[handler]
/// fn items() -> &'static str { "[]" }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mcp = mcp_mount::McpServer::builder("shop", "1.0.0").build();
/// let app = Route::new().at("/items", get(items)).nest("/mcp", mcp_mount_poem::router(mcp.clone()));
/// let doc = r#"{"openapi": "3.0.0", "info": {"title": "shop", "version": "1"},
///     "paths": {"/items": {"get": {"operationId": "list_items", "responses": {"200": {"description": "ok"}}}}}}"#;
/// let app = mcp_mount_poem::routes_as_tools(app, &mcp, &RouteTools::from_openapi_str(doc)?)?;
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What [`McpServer::add_route_tools`] refuses.
pub fn routes_as_tools<E>(
    app: E,
    server: &McpServer,
    routes: &RouteTools,
) -> Result<Arc<WithRouteTools<E>>, BuildError>
where
    E: Endpoint + 'static,
{
    let app = Arc::new(WithRouteTools(app));
    let host: Arc<dyn HostApp> = app.clone();
    server.add_route_tools(routes, &HostHandle::weak(&host))?;
    Ok(app)
}

/// The endpoint [`routes_as_tools`] returns: the app, unchanged, that its tools call into.
#[derive(Debug)]
pub struct WithRouteTools<E>(E);

impl<E: Endpoint> Endpoint for WithRouteTools<E> {
    type Output = E::Output;

    async fn call(&self, req: Request) -> poem::Result<Self::Output> {
        self.0.call(req).await
    }
}

impl<E: Endpoint + 'static> HostApp for WithRouteTools<E> {
    fn call(&self, request: http::Request<Bytes>, max_body: usize) -> HostFuture<'_> {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut builder = Request::builder()
                .method(parts.method)
                .uri(parts.uri)
                .version(parts.version);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = self.0.get_response(builder.body(body)).await;
            let (parts, body) = response.into_parts();
            let body = collect_body_stream(max_body, body.into_bytes_stream()).await?;
            let mut answer = http::Response::new(body);
            *answer.status_mut() = parts.status;
            *answer.headers_mut() = parts.headers;
            Ok(answer)
        })
    }
}
