//! Every conformance case against a real salvo server on `127.0.0.1:0`, with the fixture mounted
//! at `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.

use mcp_mount_conformance::{Principal, Target, fixtures, harness};
use salvo::conn::tcp::TcpAcceptor;
use salvo::{Depot, FlowCtrl, Handler, Request, Response, Router, Server};

/// A stand-in for a host's auth middleware: `x-user` becomes a `Principal` in the depot.
struct Auth;

#[salvo::async_trait]
impl Handler for Auth {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        _res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        if let Some(user) = req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
            depot.insert_typed(Principal(user.to_owned()));
        }
    }
}

/// Copies the principal from the depot into the extensions handlers read.
fn carry(depot: &Depot, extensions: &mut http::Extensions) {
    if let Ok(principal) = depot.get_typed::<Principal>() {
        extensions.insert(principal.clone());
    }
}

struct Health;

#[salvo::async_trait]
impl Handler for Health {
    async fn handle(
        &self,
        _req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        res.render("ok");
    }
}

fn serve(prefix: &'static str) -> Target {
    harness::serve(prefix, move |listener| {
        let (outer, inner) = match prefix.strip_prefix("/api/v1") {
            Some(rest) => ("api/v1", rest),
            None => ("", prefix),
        };
        let mut mounts = Router::with_path(outer);
        let mut root = Router::new();
        for (suffix, server) in fixtures() {
            let path = format!("{}{suffix}", inner.trim_start_matches('/'));
            // The metadata document lives at the origin's root, outside the nested router.
            root = root.push(mcp_mount_salvo::well_known(
                server.clone(),
                &format!("{prefix}{suffix}"),
            ));
            mounts = mounts
                .push(Router::with_path(path).push(mcp_mount_salvo::router_with(server, carry)));
        }
        let root = root
            .hoop(Auth)
            .push(Router::with_path("health").get(Health))
            .push(mounts);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let acceptor = TcpAcceptor::try_from(tokio::net::TcpListener::from_std(listener)?)?;
            Server::new(acceptor).serve(root).await;
            Ok(())
        })
    })
}

mod at_mcp {
    mcp_mount_conformance::suite!(super::serve("/mcp"));
}

mod nested {
    mcp_mount_conformance::suite!(super::serve("/api/v1/tenants/acme/mcp"));
}
