//! The fixture in an actix-web app.

use actix_web::dev::Service as _;
use actix_web::{App, HttpMessage, HttpRequest, HttpServer, web};

use crate::{Principal, fixtures};

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
