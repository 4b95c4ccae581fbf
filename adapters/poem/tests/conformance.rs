//! Every conformance case against a real poem server on `127.0.0.1:0`, with the fixture mounted
//! at `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested route.

use mcp_mount_conformance::{Principal, Target, fixtures, harness};
use poem::endpoint::make_sync;
use poem::listener::TcpAcceptor;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server, get};

fn serve(prefix: &'static str) -> Target {
    harness::serve(prefix, move |listener| {
        let (outer, inner) = match prefix.strip_prefix("/api/v1") {
            Some(rest) => ("/api/v1", rest),
            None => ("", prefix),
        };
        let mut mounts = Route::new();
        for (suffix, server) in fixtures() {
            mounts = mounts.nest(format!("{inner}{suffix}"), mcp_mount_poem::router(server));
        }
        let mut route = Route::new().at("/health", get(make_sync(|_| "ok")));
        for (suffix, server) in fixtures() {
            // The metadata document lives at the origin's root, outside the nested route.
            let mount = format!("{prefix}{suffix}");
            route = route.at(
                mcp_mount::well_known_path(&mount),
                mcp_mount_poem::well_known(server, &mount),
            );
        }
        let route = if outer.is_empty() {
            route.nest("/", mounts)
        } else {
            route.nest(outer, mounts)
        };
        // A stand-in for a host's auth middleware: `x-user` becomes a `Principal`.
        let app = route.around(|ep, mut req| async move {
            if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
                let principal = Principal(user.to_owned());
                req.extensions_mut().insert(principal);
            }
            Ok(ep.call(req).await?.into_response())
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            Server::new_with_acceptor(TcpAcceptor::from_std(listener)?)
                .run(app)
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
