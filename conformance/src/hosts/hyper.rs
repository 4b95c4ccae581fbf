//! The fixture behind plain hyper 1, with no web framework, through the core's `tower` face
//! ([`McpService`]): all a tower- or hyper-based host must do, in one small file. It routes
//! each mount's subtree and its well-known path to its service ([`McpService::serves`]), adds
//! the peer's address, and runs the host's "auth" step; the service reads any body up to
//! [`McpServer::max_body`](mcp_mount::McpServer::max_body) and answers. `mcp-mount` runs the
//! whole suite against it in its own tests, so the core and its tower face are tested with no
//! framework. Beside the fixtures it serves a small shop of its own (`/shop`, see
//! [`shop`]) documented by a hand-written OpenAPI document, whose routes the main
//! fixture serves as tools, called in process through the same routing as every request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mcp_mount::adapter::{McpBody, PeerAddr, read_body};
use mcp_mount::routes::{HostApp, HostFuture, HostHandle, collect_body};
use mcp_mount::tower::{McpService, Service as _};
use serde::Serialize;

use super::shop;
use crate::{Principal, fixtures};

/// The shop's OpenAPI document, written by hand: this host has no framework and no OpenAPI
/// crate, and any document works.
const SHOP_DOC: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "fixture shop", "version": "1.0.0"},
  "paths": {
    "/shop/items": {
      "get": {"operationId": "list_items", "summary": "Lists the shop's items", "tags": ["items"],
        "parameters": [{"name": "limit", "in": "query", "required": false, "description": "At most this many items",
          "schema": {"type": "integer", "minimum": 0}}],
        "responses": {"200": {"description": "The items", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemList"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}}},
      "post": {"operationId": "create_item", "summary": "Creates an item", "tags": ["items"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}}},
        "responses": {"201": {"description": "The new item", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"}}}
    },
    "/shop/items/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "description": "The item's id", "schema": {"type": "integer", "minimum": 0}}],
      "get": {"operationId": "get_item", "summary": "Gets one item", "tags": ["items"],
        "responses": {"200": {"description": "The item", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
          "404": {"description": "No such item", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}}},
      "put": {"operationId": "replace_item", "summary": "Replaces an item (echoes both ids)", "tags": ["items"],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "name"],
          "properties": {"id": {"type": "integer", "minimum": 0}, "name": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Both ids and the name", "content": {"application/json": {"schema": {"type": "object",
          "properties": {"path_id": {"type": "integer"}, "body_id": {"type": "integer"}, "name": {"type": "string"}}}}}}}}
    },
    "/shop/status": {"get": {"summary": "The shop's status", "tags": ["shop"],
      "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}}}}},
    "/shop/fail": {"get": {"operationId": "fail", "summary": "Always fails with 500", "tags": ["shop"],
      "responses": {"500": {"description": "The failure", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}}}}
  },
  "components": {
    "schemas": {
      "Item": {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer", "minimum": 0}, "name": {"type": "string"}}},
      "NewItem": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "description": "What to call it"}}},
      "ItemList": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
      "ErrorBody": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    },
    "responses": {"Unauthorized": {"description": "No token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}}
  }
}"##;

/// The app as the shop's route tools call it: [`answer`], in process.
struct Host {
    mounts: Arc<[McpService]>,
    addr: SocketAddr,
}

impl HostApp for Host {
    fn call(&self, request: Request<Bytes>, max_body: usize) -> HostFuture<'_> {
        Box::pin(async move {
            let request = request.map(http_body_util::Full::new);
            let response = answer(&self.mounts, self.addr, request).await;
            let (parts, body) = response.into_parts();
            Ok(Response::from_parts(
                parts,
                collect_body(max_body, body).await?,
            ))
        })
    }
}

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
    let main = servers
        .iter()
        .find(|(suffix, _)| suffix.is_empty())
        .map(|(_, server)| server.clone());
    let mounts: Arc<[McpService]> = servers
        .into_iter()
        .map(|(suffix, server)| server.into_service(&format!("{prefix}{suffix}")))
        .collect();
    let addr = listener.local_addr()?;
    // The shop's tools hold the app weakly (it holds them, through the main fixture); this
    // loop keeps it alive while it serves.
    let host: Arc<dyn HostApp> = Arc::new(Host {
        mounts: Arc::clone(&mounts),
        addr,
    });
    if let Some(main) = main {
        main.add_route_tools(
            &shop::route_tools(serde_json::from_str(SHOP_DOC)?, prefix),
            &HostHandle::weak(&host),
        )
        .map_err(std::io::Error::other)?;
    }
    super::runtime()?.block_on(async move {
        let _host = host;
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
async fn answer<B>(mounts: &[McpService], peer: SocketAddr, req: Request<B>) -> Response<McpBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
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
    if path == shop::PATH || path.starts_with(&format!("{}/", shop::PATH)) {
        return match read_body(1024 * 1024, body).await {
            Ok(body) => shop_answer(&Request::from_parts(parts, body)),
            Err(e) => e.into_response(),
        };
    }
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

/// The shop's routes (see [`shop`]), behind its bearer-token check.
fn shop_answer(req: &Request<Bytes>) -> Response<McpBody> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !shop::authorized(authorization) {
        return json(StatusCode::UNAUTHORIZED, &shop::unauthorized());
    }
    let rest = req.uri().path().strip_prefix(shop::PATH).unwrap_or("");
    let query = req.uri().query().unwrap_or("");
    let bad = |e: serde_json::Error| {
        json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &shop::ErrorBody {
                error: format!("invalid body: {e}"),
            },
        )
    };
    match (req.method(), rest) {
        (&Method::GET, "/items") => {
            let limit = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("limit="))
                .and_then(|l| l.parse().ok());
            json(StatusCode::OK, &shop::list(limit))
        }
        (&Method::POST, "/items") => match serde_json::from_slice(req.body()) {
            Ok(new) => json(StatusCode::CREATED, &shop::create(new)),
            Err(e) => bad(e),
        },
        (&Method::GET, "/status") => json(StatusCode::OK, &shop::status()),
        (&Method::GET, "/fail") => json(StatusCode::INTERNAL_SERVER_ERROR, &shop::failure()),
        (method, rest) => {
            let id = rest
                .strip_prefix("/items/")
                .and_then(|id| id.parse::<u64>().ok());
            match (method, id) {
                (&Method::GET, Some(id)) => match shop::get(id) {
                    Ok(item) => json(StatusCode::OK, &item),
                    Err(e) => json(StatusCode::NOT_FOUND, &e),
                },
                (&Method::PUT, Some(id)) => match serde_json::from_slice(req.body()) {
                    Ok(body) => json(StatusCode::OK, &shop::replace(id, body)),
                    Err(e) => bad(e),
                },
                _ => text(StatusCode::NOT_FOUND, "not found"),
            }
        }
    }
}

/// A JSON answer of the host's own.
fn json(status: StatusCode, body: &impl Serialize) -> Response<McpBody> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(McpBody::full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
