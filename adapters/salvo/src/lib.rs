#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::sync::Arc;

use bytes::Bytes;
#[cfg(feature = "oauth")]
use mcp_mount::adapter::well_known_path;
use mcp_mount::adapter::{McpBody, PeerAddr, mount_prefix, read_body};
use mcp_mount::routes::{HostApp, HostFuture, HostHandle, RouteTools, collect_body};
use mcp_mount::{BuildError, McpServer};
use salvo::{Depot, FlowCtrl, Handler, Request, Response, Router};

/// The path parameter holding what is left of the path below the mount.
const REST: &str = "__mcp_mount_rest";

type Carry = dyn Fn(&Depot, &mut http::Extensions) + Send + Sync;

/// A [`Router`] serving `server`, to [`push`](Router::push) under a router at any path:
/// `Router::with_path("mcp").push(router(server))`.
///
/// It answers its parent's whole subtree. The host's request extensions move into the handlers'
/// [`RequestContext`](mcp_mount::RequestContext) unchanged.
pub fn router(server: McpServer) -> Router {
    Router::with_path(format!("{{**{REST}}}")).goal(McpHandler {
        server,
        carry: None,
    })
}

/// Like [`router`], with a hook that carries typed values out of salvo's [`Depot`] (where
/// salvo middleware keeps what it learned, such as the authenticated user) into the extensions
/// handlers read:
///
/// ```
/// # #[derive(Clone)] struct User(String);
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let router = mcp_mount_salvo::router_with(server, |depot, extensions| {
///     if let Ok(user) = depot.get_typed::<User>() {
///         extensions.insert(user.clone());
///     }
/// });
/// # let _ = router;
/// ```
pub fn router_with<F>(server: McpServer, carry: F) -> Router
where
    F: Fn(&Depot, &mut http::Extensions) + Send + Sync + 'static,
{
    Router::with_path(format!("{{**{REST}}}")).goal(McpHandler {
        server,
        carry: Some(Arc::new(carry)),
    })
}

/// Mounting an [`McpServer`] on a salvo [`Router`] in one call.
///
/// ```
/// use mcp_mount_salvo::McpRouterExt as _;
///
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let app = salvo::Router::new().mount_mcp("/api/mcp", server);
/// # let _ = app;
/// ```
pub trait McpRouterExt {
    /// Pushes [`router(server)`](router) under a router at `path` and, when the server is an
    /// OAuth protected resource, [`well_known`] beside it. Call it on the root router: the
    /// well-known path is root-anchored. [`router_with`] (what salvo's `Depot` holds) is mounted
    /// with [`Router::push`] as before.
    #[must_use]
    fn mount_mcp(self, path: &str, server: McpServer) -> Self;
}

impl McpRouterExt for Router {
    fn mount_mcp(self, path: &str, server: McpServer) -> Self {
        let prefix = mcp_mount::adapter::mount_path(path);
        let prefix = prefix.as_str();
        #[cfg(feature = "oauth")]
        let root = if server.is_protected_resource() {
            self.push(well_known(server.clone(), prefix))
        } else {
            self
        };
        #[cfg(not(feature = "oauth"))]
        let root = self;
        match prefix.trim_start_matches('/') {
            "" => root.push(router(server)),
            path => root.push(Router::with_path(path).push(router(server))),
        }
    }
}

/// A [`Router`] to push under the host's **root** router, serving the OAuth protected resource
/// metadata (RFC 9728) of `server` mounted at `prefix`, at the root-anchored path
/// `/.well-known/oauth-protected-resource{prefix}` that clients look up.
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub fn well_known(server: McpServer, prefix: &str) -> Router {
    let prefix = prefix.trim_end_matches('/').to_owned();
    let path = well_known_path(&prefix).trim_start_matches('/').to_owned();
    Router::with_path(path).get(WellKnown { server, prefix })
}

#[cfg(feature = "oauth")]
struct WellKnown {
    server: McpServer,
    prefix: String,
}

#[cfg(feature = "oauth")]
#[salvo::async_trait]
impl Handler for WellKnown {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let request = into_http(req, depot, None, Bytes::new());
        write(res, self.server.well_known(request, &self.prefix).await);
    }
}

struct McpHandler {
    server: McpServer,
    carry: Option<Arc<Carry>>,
}

#[salvo::async_trait]
impl Handler for McpHandler {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let body = match read_body(self.server.max_body(), req.take_body()).await {
            Ok(body) => body,
            Err(e) => return write(res, e.into_response()),
        };
        let rest = req
            .params()
            .get(REST)
            .map(|r| format!("/{r}"))
            .unwrap_or_default();
        let request = into_http(req, depot, self.carry.as_deref(), body);
        let prefix = mount_prefix(request.uri().path(), &rest).to_owned();
        write(res, self.server.handle(request, &prefix).await);
    }
}

/// The one translation [`router`] and [`well_known`] share: method, URI, version, headers and
/// extensions move across (salvo keeps the whole URI inside nested routers), the peer's address
/// becomes a [`PeerAddr`], and `carry`, when given, copies what it names out of the depot.
fn into_http(
    req: &mut Request,
    depot: &Depot,
    carry: Option<&Carry>,
    body: Bytes,
) -> http::Request<Bytes> {
    let mut request = http::Request::new(body);
    *request.method_mut() = req.method().clone();
    *request.uri_mut() = req.uri().clone();
    *request.version_mut() = req.version();
    *request.headers_mut() = std::mem::take(req.headers_mut());
    *request.extensions_mut() = std::mem::take(req.extensions_mut());
    if let Some(peer) = req.remote_addr().clone().into_std() {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    if let Some(carry) = carry {
        carry(depot, request.extensions_mut());
    }
    request
}

fn write(res: &mut Response, response: http::Response<McpBody>) {
    let (parts, body) = response.into_parts();
    res.status_code(parts.status);
    *res.headers_mut() = parts.headers;
    match body.as_full() {
        Some(bytes) => {
            res.body(bytes);
        }
        None => res.stream(body),
    }
}

/// Serves the host app's own documented routes as tools of `server` (see
/// [`mcp_mount::routes`]), called **in process** through a salvo [`Service`](salvo::Service)
/// of `router`: its routes and hoops, as any request. Returns the service to serve.
///
/// Call it last, on the finished `Router` that contains the MCP mount; put middleware on the
/// router (`Router::hoop`), which the tools' requests pass, rather than on the returned
/// service. The tools hold the app only weakly, so the app that contains the server does not
/// own itself through them: the returned service keeps it alive.
///
/// ```
/// use mcp_mount::routes::RouteTools;
/// use salvo::{Router, handler};
///
/// #[handler]
/// async fn items() -> &'static str { "[]" }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mcp = mcp_mount::McpServer::builder("shop", "1.0.0").build();
/// let router = Router::new()
///     .push(Router::with_path("items").get(items))
///     .push(Router::with_path("mcp").push(mcp_mount_salvo::router(mcp.clone())));
/// let doc = r#"{"openapi": "3.1.0", "info": {"title": "shop", "version": "1"},
///     "paths": {"/items": {"get": {"operationId": "list_items", "responses": {"200": {"description": "ok"}}}}}}"#;
/// let service = mcp_mount_salvo::routes_as_tools(router, &mcp, &RouteTools::from_openapi_str(doc)?)?;
/// # let _ = service;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What [`McpServer::add_route_tools`] refuses.
pub fn routes_as_tools(
    router: Router,
    server: &McpServer,
    routes: &RouteTools,
) -> Result<salvo::Service, BuildError> {
    let router = Arc::new(router);
    let host: Arc<dyn HostApp> = Arc::new(SalvoHost(salvo::Service::new(Arc::clone(&router))));
    server.add_route_tools(routes, &HostHandle::weak(&host))?;
    Ok(salvo::Service::new(router).hoop(KeepAlive(host)))
}

/// A hoop of the served service that only holds the tools' app alive.
struct KeepAlive(Arc<dyn HostApp>);

#[salvo::async_trait]
impl Handler for KeepAlive {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let _ = &self.0;
        ctrl.call_next(req, depot, res).await;
    }
}

/// The app as route tools call it: a service of the same router.
struct SalvoHost(salvo::Service);

impl HostApp for SalvoHost {
    fn call(&self, request: http::Request<Bytes>, max_body: usize) -> HostFuture<'_> {
        let scheme = http::uri::Scheme::HTTP;
        let request = Request::from_hyper(request, scheme.clone());
        // `Service::handle` does this, behind salvo's `test` feature (which brings compression
        // crates along); its `hyper_handler` is what the server itself runs per connection.
        let handler = self.0.hyper_handler(
            salvo::conn::SocketAddr::Unknown,
            salvo::conn::SocketAddr::Unknown,
            scheme,
            None,
            salvo::conn::ConnCtrl::new(),
            None,
        );
        Box::pin(async move {
            let mut response = handler.handle(request).await;
            let status = response.status_code.unwrap_or(http::StatusCode::OK);
            let body = collect_body(max_body, response.take_body()).await?;
            let mut answer = http::Response::new(body);
            *answer.status_mut() = status;
            *answer.headers_mut() = std::mem::take(response.headers_mut());
            Ok(answer)
        })
    }
}
