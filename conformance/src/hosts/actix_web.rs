//! The fixture in an actix-web app.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service as _, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use serde::Deserialize;

use super::shop;
use crate::{Principal, fixtures};

/// The shop's own bearer-token check, on its routes only.
async fn shop_auth<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if shop::authorized(authorization) {
        Ok(next.call(req).await?.map_into_left_body())
    } else {
        let denied = HttpResponse::Unauthorized().json(shop::unauthorized());
        Ok(req.into_response(denied).map_into_right_body())
    }
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

/// The shop's routes (see [`shop`]), documented in [`shop::utoipa_doc`].
fn shop_routes(config: &mut web::ServiceConfig) {
    config
        .route(
            "/items",
            web::get().to(|q: web::Query<Limit>| async move {
                HttpResponse::Ok().json(shop::list(q.limit))
            }),
        )
        .route(
            "/items",
            web::post().to(|new: web::Json<shop::NewItem>| async move {
                HttpResponse::Created().json(shop::create(new.into_inner()))
            }),
        )
        .route(
            "/items/{id}",
            web::get().to(|id: web::Path<u64>| async move {
                match shop::get(id.into_inner()) {
                    Ok(item) => HttpResponse::Ok().json(item),
                    Err(e) => HttpResponse::NotFound().json(e),
                }
            }),
        )
        .route(
            "/items/{id}",
            web::put().to(
                |id: web::Path<u64>, body: web::Json<shop::Replacement>| async move {
                    HttpResponse::Ok().json(shop::replace(id.into_inner(), body.into_inner()))
                },
            ),
        )
        .route(
            "/status",
            web::get().to(|| async { HttpResponse::Ok().json(shop::status()) }),
        )
        .route(
            "/fail",
            web::get().to(|| async { HttpResponse::InternalServerError().json(shop::failure()) }),
        );
}

/// Copies the principal the auth middleware stored in actix's extensions.
fn carry(req: &HttpRequest, extensions: &mut http::Extensions) {
    if let Some(principal) = req.extensions().get::<Principal>() {
        extensions.insert(principal.clone());
    }
}

/// Serves the host app with every fixture mounted under `prefix` on `listener` until the
/// process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    serve_until(listener, prefix, super::Stop::never())
}

/// [`serve`] until `stop` fires. actix-web's own signal handling is off (it would stop the
/// workers at SIGTERM without a word to the MCP servers): the MCP servers shut down first,
/// then the server handle stops gracefully.
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
    let (outer, inner) = super::split(prefix);
    let (prefix, outer, inner) = (prefix.to_owned(), outer.to_owned(), inner.to_owned());
    // Built once: every worker's App shares the same servers, and so the same sessions.
    let servers = fixtures();
    // actix-web builds an App per worker: the shop's tools call the app over loopback, on this
    // very listener.
    let addr = listener.local_addr()?;
    if let Some((_, main)) = servers.iter().find(|(s, _)| s.is_empty()) {
        let routes = shop::route_tools(shop::utoipa_doc::document(), &prefix);
        mcp_mount_actix_web::routes_as_tools(main, addr, &routes)
            .map_err(|e| std::io::Error::other(format!("the shop's route tools: {e}")))?;
    }
    let shutdown = stop.then_shut_down(servers.iter().map(|(_, s)| s.clone()).collect());
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let mut mounts = web::scope(&outer);
            let mut app = App::new();
            for (suffix, server) in &servers {
                mounts = mounts.service(
                    web::scope(&format!("{inner}{suffix}"))
                        .default_service(mcp_mount_actix_web::router_with(server.clone(), carry)),
                );
                app = app.service(mcp_mount_actix_web::well_known(
                    server.clone(),
                    &format!("{prefix}{suffix}"),
                ));
            }
            app
                // The host's "auth" middleware: the `x-user` header becomes a `Principal`.
                .wrap_fn(|req, srv| {
                    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                        let principal = Principal(user.to_owned());
                        req.extensions_mut().insert(principal);
                    }
                    srv.call(req)
                })
                .route("/", web::get().to(|| async { super::HOME }))
                .route("/health", web::get().to(|| async { "ok" }))
                .service(
                    web::scope(shop::PATH)
                        .wrap(from_fn(shop_auth))
                        .configure(shop_routes),
                )
                .service(mounts)
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            shutdown.await;
            handle.stop(true).await;
        });
        server.await
    })
}
