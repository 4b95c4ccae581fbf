//! The fixture in a poem app.

use poem::endpoint::make_sync;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server, get};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, OpenApiService};

use mcp_mount::McpServer;

use super::shop;
use crate::{Principal, fixtures};

/// The shop's routes (see [`shop`]), documented by poem-openapi itself.
struct ShopApi;

#[derive(ApiResponse)]
enum Created {
    /// The new item
    #[oai(status = 201)]
    Created(Json<shop::Item>),
}

#[derive(ApiResponse)]
enum Found {
    /// The item
    #[oai(status = 200)]
    Ok(Json<shop::Item>),
    /// No such item
    #[oai(status = 404)]
    NotFound(Json<shop::ErrorBody>),
}

#[derive(ApiResponse)]
enum Failed {
    /// The failure
    #[oai(status = 500)]
    Failed(Json<shop::ErrorBody>),
}

#[OpenApi]
impl ShopApi {
    /// Lists the shop's items
    #[oai(path = "/items", method = "get", operation_id = "list_items")]
    async fn list_items(&self, limit: Query<Option<u32>>) -> Json<shop::ItemList> {
        Json(shop::list(limit.0))
    }

    /// Creates an item
    #[oai(path = "/items", method = "post", operation_id = "create_item")]
    async fn create_item(&self, new: Json<shop::NewItem>) -> Created {
        Created::Created(Json(shop::create(new.0)))
    }

    /// Gets one item
    #[oai(path = "/items/:id", method = "get", operation_id = "get_item")]
    async fn get_item(&self, id: Path<u64>) -> Found {
        match shop::get(id.0) {
            Ok(item) => Found::Ok(Json(item)),
            Err(e) => Found::NotFound(Json(e)),
        }
    }

    /// Replaces an item (echoes both ids)
    #[oai(path = "/items/:id", method = "put", operation_id = "replace_item")]
    async fn replace_item(
        &self,
        id: Path<u64>,
        body: Json<shop::Replacement>,
    ) -> Json<shop::Replaced> {
        Json(shop::replace(id.0, body.0))
    }

    /// The shop's status
    #[oai(path = "/status", method = "get")]
    async fn status(&self) -> Json<shop::Status> {
        Json(shop::status())
    }

    /// Always fails with 500
    #[oai(path = "/fail", method = "get", operation_id = "fail")]
    async fn fail(&self) -> Failed {
        Failed::Failed(Json(shop::failure()))
    }
}

/// The host app with every fixture of `fixtures` mounted under `prefix`, and the shop's
/// routes as tools of the main fixture.
///
/// # Panics
///
/// Without a main fixture, or when the shop's tools cannot be added: a bug in the fixture.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> impl Endpoint + use<> {
    let (outer, inner) = super::split(prefix);
    let main = fixtures
        .iter()
        .find(|(s, _)| s.is_empty())
        .map(|(_, s)| s.clone());
    let api = OpenApiService::new(ShopApi, "fixture shop", "1.0.0").server(shop::PATH);
    let doc: serde_json::Value = serde_json::from_str(&api.spec()).unwrap_or_default();
    // The shop's own bearer-token check, on its routes only.
    let api = api.around(|ep, req| async move {
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !shop::authorized(authorization) {
            return Ok(poem::web::Json(shop::unauthorized())
                .with_status(StatusCode::UNAUTHORIZED)
                .into_response());
        }
        Ok(ep.call(req).await?.into_response())
    });
    let mut mounts = Route::new();
    let mut route = Route::new()
        .at("/", get(make_sync(|_| super::HOME)))
        .at("/health", get(make_sync(|_| "ok")))
        .nest(shop::PATH, api);
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
    let app = route.around(|ep, mut req| async move {
        if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
            let principal = Principal(user.to_owned());
            req.extensions_mut().insert(principal);
        }
        Ok(ep.call(req).await?.into_response())
    });
    let routes = shop::route_tools(doc, prefix);
    let Some(main) = main else {
        panic!("the fixtures have no main fixture (suffix \"\") to serve the shop's tools")
    };
    mcp_mount_poem::routes_as_tools(app, &main, &routes)
        .unwrap_or_else(|e| panic!("the shop's route tools: {e}"))
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
