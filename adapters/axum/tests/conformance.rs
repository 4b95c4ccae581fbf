//! Every conformance case against a real axum server on `127.0.0.1:0`, with the fixture mounted
//! at `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use mcp_mount_conformance::{Principal, Target, fixtures, harness};

/// A stand-in for a host's auth middleware: the `x-user` header becomes a [`Principal`].
async fn auth(mut req: Request, next: Next) -> Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

/// The host app: its own routes, and every fixture mounted under `prefix`, inside a nested
/// router when the prefix starts with `/api/v1`.
fn app(prefix: &str) -> Router {
    let (outer, inner) = match prefix.strip_prefix("/api/v1") {
        Some(rest) => ("/api/v1", rest),
        None => ("", prefix),
    };
    let mut mounts = Router::new();
    let mut app = Router::new().route("/health", get(|| async { "ok" }));
    for (suffix, server) in fixtures() {
        mounts = mounts.nest_service(
            &format!("{inner}{suffix}"),
            mcp_mount_axum::router(server.clone()),
        );
        // The metadata document lives at the origin's root, outside the nested router.
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
    app.layer(middleware::from_fn(auth))
}

fn serve(prefix: &'static str) -> Target {
    harness::serve(prefix, move |listener| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(
                listener,
                app(prefix).into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
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
