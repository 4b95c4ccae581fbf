//! Every conformance case against a real axum server on `127.0.0.1:0`, with the fixture mounted
//! at `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.

use std::sync::{Mutex, mpsc};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use mcp_mount_conformance::{Principal, Target, fixtures};

/// A stand-in for a host's auth middleware: the `x-user` header becomes a [`Principal`].
async fn auth(mut req: Request, next: Next) -> Response {
    if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
        let principal = Principal(user.to_owned());
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

/// The host app: its own routes, and every fixture mounted under `prefix` (split at `/api/v1`
/// into a nested router when the prefix starts there).
fn app(prefix: &str) -> Router {
    let (outer, inner) = match prefix.strip_prefix("/api/v1") {
        Some(rest) => ("/api/v1", rest),
        None => ("", prefix),
    };
    let mut mounts = Router::new();
    for (suffix, server) in fixtures() {
        mounts = mounts.nest_service(&format!("{inner}{suffix}"), mcp_mount_axum::router(server));
    }
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let app = if outer.is_empty() {
        app.merge(mounts)
    } else {
        app.nest(outer, mounts)
    };
    app.layer(middleware::from_fn(auth))
}

/// Starts (once per prefix) a server on its own thread and runtime, and returns its target.
fn serve(prefix: &'static str) -> Target {
    static SERVERS: Mutex<Vec<(&'static str, Target)>> = Mutex::new(Vec::new());
    let mut servers = SERVERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, target)) = servers.iter().find(|(p, _)| *p == prefix) {
        return target.clone();
    }
    let target = {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = listener.local_addr().expect("local addr");
                tx.send(addr).expect("report address");
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, app(prefix)).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("server thread started");
        Target::new(format!("http://{addr}{prefix}"))
    };
    servers.push((prefix, target.clone()));
    target
}

mod at_mcp {
    mcp_mount_conformance::suite!(super::serve("/mcp"));
}

mod nested {
    mcp_mount_conformance::suite!(super::serve("/api/v1/tenants/acme/mcp"));
}
