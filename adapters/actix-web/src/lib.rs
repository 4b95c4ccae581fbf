#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Route, web};
use bytes::Bytes;
#[cfg(feature = "oauth")]
use mcp_mount::adapter::well_known_path;
use mcp_mount::adapter::{Error, ErrorKind, McpBody, PeerAddr, mount_prefix, read_body_stream};
use mcp_mount::routes::{HostApp, HostError, HostFuture, HostHandle, RouteTools, collect_body};
use mcp_mount::{BuildError, McpServer};

type Carry = dyn Fn(&HttpRequest, &mut http::Extensions) + Send + Sync;

/// A [`Route`] serving `server`, to mount as the default service of a scope at any path:
/// `web::scope("/mcp").default_service(router(server))`.
///
/// It answers the scope's whole subtree (`/mcp`, `/mcp/` and everything below).
pub fn router(server: McpServer) -> Route {
    route(server, None)
}

/// Like [`router`], with a hook that carries typed values out of actix's request extensions
/// (what the host's auth middleware set) into the [`RequestContext`](mcp_mount::RequestContext)
/// extensions handlers read.
///
/// actix-web 4 is on `http` 0.2, so its extensions cannot move across as they do on the other
/// frameworks; the hook names what to copy:
///
/// ```
/// # #[derive(Clone)] struct User(String);
/// use actix_web::HttpMessage;
/// # let server = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let route = mcp_mount_actix_web::router_with(server, |req, extensions| {
///     if let Some(user) = req.extensions().get::<User>() {
///         extensions.insert(user.clone());
///     }
/// });
/// # let _ = route;
/// ```
pub fn router_with<F>(server: McpServer, carry: F) -> Route
where
    F: Fn(&HttpRequest, &mut http::Extensions) + Send + Sync + 'static,
{
    route(server, Some(Arc::new(carry)))
}

/// A [`Resource`](actix_web::Resource) to register on the host's **root** `App`, serving the
/// OAuth protected resource metadata (RFC 9728) of `server` mounted at `prefix`, at the
/// root-anchored path `/.well-known/oauth-protected-resource{prefix}` that clients look up.
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub fn well_known(server: McpServer, prefix: &str) -> actix_web::Resource {
    let prefix = prefix.trim_end_matches('/').to_owned();
    web::resource(well_known_path(&prefix)).route(web::get().to(move |req: HttpRequest| {
        let (server, prefix) = (server.clone(), prefix.clone());
        async move {
            match into_http(&req, Bytes::new(), None) {
                Ok(request) => into_actix(server.well_known(request, &prefix).await),
                Err(e) => into_actix(e.into_response()),
            }
        }
    }))
}

/// Mounting an [`McpServer`] on an actix-web [`App`](actix_web::App) in one call.
///
/// ```
/// use actix_web::{App, HttpServer};
/// use mcp_mount_actix_web::McpAppExt as _;
///
/// # fn main() -> std::io::Result<()> {
/// // Build the server once, outside the worker factory, so every worker shares its sessions.
/// let mcp = mcp_mount::McpServer::builder("demo", "1.0.0").build();
/// let server = HttpServer::new(move || App::new().mount_mcp("/api/mcp", mcp.clone()));
/// # let _ = server;
/// # Ok(())
/// # }
/// ```
pub trait McpAppExt {
    /// Serves `server` as the default service of a scope at `path` (`/api/mcp`, `/api/mcp/`
    /// and everything below) and, when it is an OAuth protected resource, registers
    /// [`well_known`] at `/.well-known/oauth-protected-resource{path}`. What the host's
    /// middleware put in actix's extensions is not carried: for that, mount
    /// [`router_with`] in a scope yourself.
    #[must_use]
    fn mount_mcp(self, path: &str, server: McpServer) -> Self;
}

impl<T> McpAppExt for actix_web::App<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    fn mount_mcp(self, path: &str, server: McpServer) -> Self {
        let prefix = mcp_mount::adapter::mount_path(path);
        let prefix = prefix.as_str();
        // The well-known resource first: a scope at the root would answer its path too.
        #[cfg(feature = "oauth")]
        let app = if server.is_protected_resource() {
            self.service(well_known(server.clone(), prefix))
        } else {
            self
        };
        #[cfg(not(feature = "oauth"))]
        let app = self;
        app.service(web::scope(prefix).default_service(router(server)))
    }
}

fn route(server: McpServer, carry: Option<Arc<Carry>>) -> Route {
    web::to(move |req: HttpRequest, payload: web::Payload| {
        let (server, carry) = (server.clone(), carry.clone());
        async move { handle(&server, carry.as_deref(), &req, payload).await }
    })
}

async fn handle(
    server: &McpServer,
    carry: Option<&Carry>,
    req: &HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let body = match read_body_stream(server.max_body(), payload).await {
        Ok(body) => body,
        Err(e) => return into_actix(e.into_response()),
    };
    let request = match into_http(req, body, carry) {
        Ok(request) => request,
        Err(e) => return into_actix(e.into_response()),
    };
    let prefix = mount_prefix(req.path(), req.match_info().unprocessed());
    into_actix(server.handle(request, prefix).await)
}

/// The one translation [`router`] and [`well_known`] share: copies method, URI, version and
/// headers from actix's `http` 0.2 types into `http` 1, adds the peer's address as a
/// [`PeerAddr`], and lets `carry` copy what it names out of actix's extensions.
fn into_http(
    req: &HttpRequest,
    body: Bytes,
    carry: Option<&Carry>,
) -> Result<http::Request<Bytes>, Error> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::InvalidRequest,
            format!("Bad Request: invalid {what}"),
        )
    };
    let mut request = http::Request::new(body);
    *request.method_mut() =
        http::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|_| bad("method"))?;
    *request.uri_mut() = http::Uri::try_from(req.uri().to_string()).map_err(|_| bad("URI"))?;
    *request.version_mut() = match req.version() {
        actix_web::http::Version::HTTP_09 => http::Version::HTTP_09,
        actix_web::http::Version::HTTP_10 => http::Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => http::Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    };
    let headers = request.headers_mut();
    for (name, value) in req.headers() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes())
            .map_err(|_| bad("header name"))?;
        let value =
            http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| bad("header value"))?;
        headers.append(name, value);
    }
    if let Some(peer) = req.peer_addr() {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    if let Some(carry) = carry {
        carry(req, request.extensions_mut());
    }
    Ok(request)
}

/// Copies status and headers back, and streams an SSE body chunk by chunk.
fn into_actix(response: http::Response<McpBody>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    match body.as_full() {
        Some(bytes) => builder.body(bytes),
        None => builder.streaming(body),
    }
}

/// Serves the host app's own documented routes as tools of `server` (see
/// [`mcp_mount::routes`]), called **over loopback** to `addr`, the app's own plain-HTTP
/// listener: actix-web builds its `App` once per worker thread, so there is no one app to call
/// in process, and a request to its own socket passes the same routes and middleware as any.
///
/// Call it once the `HttpServer` is bound (`server.addrs()`); an unspecified address
/// (`0.0.0.0`) is called on loopback. Each call opens its own connection, which is closed when
/// the call ends, times out or is cancelled (actix-web then drops the route's handler).
///
/// ```no_run
/// use actix_web::{App, HttpServer, web};
/// use mcp_mount::routes::RouteTools;
///
/// # async fn run(doc: serde_json::Value) -> Result<(), Box<dyn std::error::Error>> {
/// let mcp = mcp_mount::McpServer::builder("shop", "1.0.0").build();
/// let shared = mcp.clone();
/// let server = HttpServer::new(move || {
///     App::new()
///         .route("/items", web::get().to(|| async { "[]" }))
///         .service(web::scope("/mcp").default_service(mcp_mount_actix_web::router(shared.clone())))
/// })
/// .bind(("127.0.0.1", 8080))?;
/// mcp_mount_actix_web::routes_as_tools(&mcp, server.addrs()[0], &RouteTools::from_openapi(&doc)?)?;
/// server.run().await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What [`McpServer::add_route_tools`] refuses.
pub fn routes_as_tools(
    server: &McpServer,
    addr: std::net::SocketAddr,
    routes: &RouteTools,
) -> Result<Vec<String>, BuildError> {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    server.add_route_tools(routes, &HostHandle::new(Arc::new(Loopback(addr))))
}

/// The app as route tools call it: HTTP/1.1 to its own listener.
struct Loopback(std::net::SocketAddr);

impl HostApp for Loopback {
    fn call(&self, mut request: http::Request<Bytes>, max_body: usize) -> HostFuture<'_> {
        let addr = self.0;
        Box::pin(async move {
            let failed = |e: &dyn std::fmt::Display| HostError::new(format!("calling {addr}: {e}"));
            if !request.headers().contains_key(http::header::HOST)
                && let Ok(host) = http::HeaderValue::from_str(&addr.to_string())
            {
                request.headers_mut().insert(http::header::HOST, host);
            }
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| failed(&e))?;
            let _ = tcp.set_nodelay(true);
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                    .await
                    .map_err(|e| failed(&e))?;
            let request = request.map(http_body_util::Full::new);
            let exchange = async move {
                let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
                let (parts, body) = response.into_parts();
                let body = collect_body(max_body, body).await?;
                Ok(http::Response::from_parts(parts, body))
            };
            // The connection is driven here, not spawned: dropping this future (a timeout, a
            // cancellation) closes the socket, and actix-web drops the route's handler.
            let mut exchange = std::pin::pin!(exchange);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                answer = &mut exchange => answer,
                ended = &mut connection => match ended {
                    Ok(()) => exchange.await,
                    Err(e) => Err(failed(&e)),
                },
            }
        })
    }
}
