//! The fixture in an axum app.

use axum::extract::{Path, Query, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Deserialize;

use mcp_mount::McpServer;

use super::shop;
use crate::{Principal, fixtures};

/// The host's "auth" middleware: the `x-user` header becomes a [`Principal`].
async fn auth(mut req: Request, next: Next) -> Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

/// The shop's own bearer-token check, on its routes only.
async fn shop_auth(req: Request, next: Next) -> Response {
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if shop::authorized(authorization) {
        next.run(req).await
    } else {
        (StatusCode::UNAUTHORIZED, Json(shop::unauthorized())).into_response()
    }
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

/// The shop's routes (see [`shop`]), documented in [`shop::utoipa_doc`].
fn shop_routes() -> Router {
    Router::new()
        .route(
            "/items",
            get(|Query(q): Query<Limit>| async move { Json(shop::list(q.limit)) }).post(
                |Json(new): Json<shop::NewItem>| async move {
                    (StatusCode::CREATED, Json(shop::create(new)))
                },
            ),
        )
        .route(
            "/items/{id}",
            get(|Path(id): Path<u64>| async move {
                match shop::get(id) {
                    Ok(item) => Json(item).into_response(),
                    Err(e) => (StatusCode::NOT_FOUND, Json(e)).into_response(),
                }
            })
            .put(
                |Path(id): Path<u64>, Json(body): Json<shop::Replacement>| async move {
                    Json(shop::replace(id, body))
                },
            ),
        )
        .route("/status", get(|| async { Json(shop::status()) }))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, Json(shop::failure())) }),
        )
        .route_layer(middleware::from_fn(shop_auth))
}

/// The host app with every fixture of `fixtures` mounted under `prefix`, and the shop's
/// routes as tools of the main fixture.
///
/// # Panics
///
/// When the shop's tools cannot be added: a bug in the fixture.
pub fn app(prefix: &str, fixtures: Vec<(String, McpServer)>) -> Router {
    let (outer, inner) = super::split(prefix);
    let main = fixtures
        .iter()
        .find(|(s, _)| s.is_empty())
        .map(|(_, s)| s.clone());
    let mut mounts = Router::new();
    let mut app = Router::new()
        .route("/", get(|| async { super::HOME }))
        .route("/health", get(|| async { "ok" }))
        .nest(shop::PATH, shop_routes());
    for (suffix, server) in fixtures {
        mounts = mounts.nest_service(
            &format!("{inner}{suffix}"),
            mcp_mount_axum::router(server.clone()),
        );
        app = app.merge(mcp_mount_axum::well_known(
            server,
            &format!("{prefix}{suffix}"),
        ));
    }
    let app = if outer.is_empty() {
        app.merge(mounts)
    } else {
        app.nest(outer, mounts)
    };
    let app = app.layer(middleware::from_fn(auth));
    let Some(main) = main else { return app };
    let routes = shop::route_tools(shop::utoipa_doc::document(), prefix);
    match mcp_mount_axum::routes_as_tools(app, &main, &routes) {
        Ok(app) => app,
        Err(e) => panic!("the shop's route tools: {e}"),
    }
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires: axum's `with_graceful_shutdown` waits on the MCP servers'
/// shutdown, then on the connections, which by then have ended.
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
        let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    })
}
