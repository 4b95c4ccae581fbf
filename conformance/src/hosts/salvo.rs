//! The fixture in a salvo app.

use salvo::Writer as _;
use salvo::conn::tcp::TcpAcceptor;
use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{OpenApi, endpoint};
use salvo::writing::Json;
use salvo::{Depot, FlowCtrl, Request, Response, Router, Server, Service, handler};

use mcp_mount::McpServer;

use super::shop;
use crate::{Principal, fixtures};

/// The shop's own bearer-token check, on its routes only.
#[handler]
async fn shop_auth(req: &mut Request, res: &mut Response, ctrl: &mut FlowCtrl) {
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !shop::authorized(authorization) {
        res.status_code(StatusCode::UNAUTHORIZED);
        res.render(Json(shop::unauthorized()));
        ctrl.skip_rest();
    }
}

/// Lists the shop's items
#[endpoint(operation_id = "list_items", tags("items"))]
async fn list_items(limit: QueryParam<u32, false>) -> Json<shop::ItemList> {
    Json(shop::list(limit.into_inner()))
}

/// Creates an item
#[endpoint(operation_id = "create_item", tags("items"), status_codes(201),
    responses((status_code = 201, description = "The new item", body = shop::Item)))]
async fn create_item(new: JsonBody<shop::NewItem>, res: &mut Response) {
    res.status_code(StatusCode::CREATED);
    res.render(Json(shop::create(new.into_inner())));
}

/// Gets one item
#[endpoint(operation_id = "get_item", tags("items"), status_codes(200, 404),
    responses((status_code = 200, description = "The item", body = shop::Item),
              (status_code = 404, description = "No such item", body = shop::ErrorBody)))]
async fn get_item(id: PathParam<u64>, res: &mut Response) {
    match shop::get(id.into_inner()) {
        Ok(item) => res.render(Json(item)),
        Err(e) => {
            res.status_code(StatusCode::NOT_FOUND);
            res.render(Json(e));
        }
    }
}

/// Replaces an item (echoes both ids)
#[endpoint(operation_id = "replace_item", tags("items"))]
async fn replace_item(
    id: PathParam<u64>,
    body: JsonBody<shop::Replacement>,
) -> Json<shop::Replaced> {
    Json(shop::replace(id.into_inner(), body.into_inner()))
}

/// The shop's status
#[endpoint(tags("shop"))]
async fn status() -> Json<shop::Status> {
    Json(shop::status())
}

/// Always fails with 500
#[endpoint(operation_id = "fail", tags("shop"), status_codes(500),
    responses((status_code = 500, description = "The failure", body = shop::ErrorBody)))]
async fn fail(res: &mut Response) {
    res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
    res.render(Json(shop::failure()));
}

/// The shop's routes (see [`shop`]), documented by salvo-oapi.
fn shop_routes() -> Router {
    Router::with_path(shop::PATH.trim_start_matches('/'))
        .hoop(shop_auth)
        .push(Router::with_path("items").get(list_items).post(create_item))
        .push(
            Router::with_path("items/{id}")
                .get(get_item)
                .put(replace_item),
        )
        .push(Router::with_path("status").get(status))
        .push(Router::with_path("fail").get(fail))
}

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

/// The host app with every fixture of `fixtures` mounted under `prefix`, and the shop's
/// routes as tools of the main fixture.
///
/// # Panics
///
/// Without a main fixture, or when the shop's tools cannot be added: a bug in the fixture.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> Service {
    let (outer, inner) = super::split(prefix);
    let main = fixtures
        .iter()
        .find(|(s, _)| s.is_empty())
        .map(|(_, s)| s.clone());
    let shop = shop_routes();
    let doc = OpenApi::new("fixture shop", "1.0.0").merge_router(&shop);
    let doc = serde_json::to_value(&doc).unwrap_or_default();
    let mut mounts = match outer.trim_start_matches('/') {
        "" => Router::new(),
        outer => Router::with_path(outer),
    };
    let mut root = Router::new()
        .hoop(auth)
        .get(home)
        .push(Router::with_path("health").get(health))
        .push(shop);
    for (suffix, server) in fixtures {
        root = root.push(mcp_mount_salvo::well_known(
            server.clone(),
            &format!("{prefix}{suffix}"),
        ));
        let path = format!("{}{suffix}", inner.trim_start_matches('/'));
        mounts =
            mounts.push(Router::with_path(path).push(mcp_mount_salvo::router_with(server, carry)));
    }
    let root = root.push(mounts);
    let Some(main) = main else {
        panic!("the fixtures have no main fixture (suffix \"\") to serve the shop's tools")
    };
    mcp_mount_salvo::routes_as_tools(root, &main, &shop::route_tools(doc, prefix))
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
