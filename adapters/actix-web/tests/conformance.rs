//! Every conformance case against a real actix-web server on `127.0.0.1:0`, with the fixture
//! mounted at `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested scope.

use actix_web::dev::Service as _;
use actix_web::{App, HttpMessage, HttpRequest, HttpServer, web};
use mcp_mount::McpServer;
use mcp_mount_conformance::{Principal, Target, fixtures, harness};

/// Copies the principal the host's middleware stored in actix's extensions.
fn carry(req: &HttpRequest, extensions: &mut http::Extensions) {
    if let Some(principal) = req.extensions().get::<Principal>() {
        extensions.insert(principal.clone());
    }
}

fn serve(prefix: &'static str) -> Target {
    harness::serve(prefix, move |listener| {
        let (outer, inner) = match prefix.strip_prefix("/api/v1") {
            Some(rest) => ("/api/v1", rest),
            None => ("", prefix),
        };
        // Built once: every worker's App must share the same servers (and so the same sessions).
        let servers: Vec<(String, McpServer)> = fixtures();
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                let mut mounts = web::scope(outer);
                for (suffix, server) in &servers {
                    mounts =
                        mounts.service(web::scope(&format!("{inner}{suffix}")).default_service(
                            mcp_mount_actix_web::router_with(server.clone(), carry),
                        ));
                }
                let mut app = App::new();
                for (suffix, server) in &servers {
                    // The metadata document lives at the origin's root, outside the scopes.
                    app = app.service(mcp_mount_actix_web::well_known(
                        server.clone(),
                        &format!("{prefix}{suffix}"),
                    ));
                }
                app
                    // A stand-in for a host's auth middleware: `x-user` becomes a `Principal`.
                    .wrap_fn(|req, srv| {
                        if let Some(user) =
                            req.headers().get("x-user").and_then(|v| v.to_str().ok())
                        {
                            let principal = Principal(user.to_owned());
                            req.extensions_mut().insert(principal);
                        }
                        srv.call(req)
                    })
                    .route("/health", web::get().to(|| async { "ok" }))
                    .service(mounts)
            })
            .workers(2)
            .listen(listener)?
            .run()
            .await
        })
    })
}

mod at_mcp {
    mcp_mount_conformance::suite!(super::serve("/mcp"));
}

mod nested {
    mcp_mount_conformance::suite!(super::serve("/api/v1/tenants/acme/mcp"));
}
