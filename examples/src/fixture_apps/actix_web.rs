//! The fixture in an actix-web app.

use actix_web::dev::Service as _;
use actix_web::{App, HttpMessage, HttpRequest, HttpServer, web};
use mcp_mount_conformance::{Principal, fixtures};

/// Copies the principal the auth middleware stored in actix's extensions.
fn carry(req: &HttpRequest, extensions: &mut http::Extensions) {
    if let Some(principal) = req.extensions().get::<Principal>() {
        extensions.insert(principal.clone());
    }
}

/// Serves the host app on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    // Built once: every worker's App shares the same servers, and so the same sessions.
    let servers = fixtures();
    let prefix = prefix.to_owned();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let mut app = App::new()
                .wrap_fn(|req, srv| {
                    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                        let principal = Principal(user.to_owned());
                        req.extensions_mut().insert(principal);
                    }
                    srv.call(req)
                })
                .route("/", web::get().to(|| async { "fixture host app" }))
                .route("/health", web::get().to(|| async { "ok" }));
            for (suffix, server) in &servers {
                let mount = format!("{prefix}{suffix}");
                app =
                    app.service(mcp_mount_actix_web::well_known(server.clone(), &mount))
                        .service(web::scope(&mount).default_service(
                            mcp_mount_actix_web::router_with(server.clone(), carry),
                        ));
            }
            app
        })
        .listen(listener)?
        .run()
        .await
    })
}
