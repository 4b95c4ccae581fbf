//! The fixture in a salvo app.

use mcp_mount_conformance::{Principal, fixtures};
use salvo::conn::tcp::TcpAcceptor;
use salvo::{Depot, FlowCtrl, Handler, Request, Response, Router, Server};

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

struct Text(&'static str);

#[salvo::async_trait]
impl Handler for Text {
    async fn handle(
        &self,
        _req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        res.render(self.0);
    }
}

/// Copies the principal from the depot into the extensions handlers read.
fn carry(depot: &Depot, extensions: &mut http::Extensions) {
    if let Ok(principal) = depot.get_typed::<Principal>() {
        extensions.insert(principal.clone());
    }
}

/// The host app with every fixture mounted under `prefix`.
pub fn app(prefix: &str) -> Router {
    let mut root = Router::new()
        .hoop(Auth)
        .get(Text("fixture host app"))
        .push(Router::with_path("health").get(Text("ok")));
    for (suffix, server) in fixtures() {
        let mount = format!("{prefix}{suffix}");
        root = root
            .push(mcp_mount_salvo::well_known(server.clone(), &mount))
            .push(
                Router::with_path(mount.trim_start_matches('/'))
                    .push(mcp_mount_salvo::router_with(server, carry)),
            );
    }
    root
}

/// Serves [`app`] on `listener` until the process ends.
///
/// # Errors
///
/// When the server fails.
pub fn serve(listener: std::net::TcpListener, prefix: &str) -> std::io::Result<()> {
    let app = app(prefix);
    super::runtime()?.block_on(async move {
        let acceptor = TcpAcceptor::try_from(tokio::net::TcpListener::from_std(listener)?)?;
        Server::new(acceptor).serve(app).await;
        Ok(())
    })
}
