//! `mount_mcp` on a real salvo server on `127.0.0.1:0`: the endpoint at `{path}` and `{path}/`,
//! and the well-known route only when the server is an OAuth protected resource.

use mcp_mount::{InvalidToken, McpServer, ProtectedResource, TokenVerifier, Tool, VerifyFuture};
use mcp_mount_conformance::Target;
use mcp_mount_salvo::McpRouterExt as _;
use salvo::conn::tcp::TcpAcceptor;
use salvo::{Router, Server};
use serde_json::json;

struct NoTokens;

impl TokenVerifier for NoTokens {
    fn verify<'a>(&'a self, _: &'a str) -> VerifyFuture<'a> {
        Box::pin(async { Err(InvalidToken("no token is valid here".into())) })
    }
}

/// Serves the app on a free port until the test's runtime ends; returns its base URL.
async fn serve(oauth: bool, path: &str) -> String {
    let builder = McpServer::builder("mount", "1.0.0")
        .tool(Tool::new("hello", || async { "hello" }))
        .stateless(true);
    let server = if oauth {
        builder
            .oauth(
                ProtectedResource::new(["https://auth.example.com"]),
                NoTokens,
            )
            .build()
    } else {
        builder.build()
    };
    let app = Router::new().mount_mcp(path, server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let acceptor = TcpAcceptor::try_from(listener).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(Server::new(acceptor).serve(app));
    format!("http://{addr}")
}

#[tokio::test]
async fn serves_the_path_and_the_well_known_document() {
    for (oauth, path) in [(false, "/api/mcp"), (true, "api/mcp/")] {
        let base = serve(oauth, path).await;
        for uri in ["/api/mcp", "/api/mcp/"] {
            // Target::new trims a trailing slash; the request URI keeps it.
            let target = Target::new(format!("{base}/api/mcp"));
            let request = target
                .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
                .uri(format!("{base}{uri}"));
            let response = target.send(request).await;
            let body = String::from_utf8_lossy(&response.body).into_owned();
            // The OAuth server's answer without a token is its own 401 challenge.
            let (status, text) = if oauth {
                (401, "bearer token")
            } else {
                (200, "\"hello\"")
            };
            assert_eq!(response.status, status, "{path} {uri}: {body}");
            assert!(body.contains(text), "{body}");
        }
        let target = Target::new(&base);
        let response = target
            .send(
                http::Request::get(format!(
                    "{base}/.well-known/oauth-protected-resource/api/mcp"
                ))
                .extension(bytes::Bytes::new()),
            )
            .await;
        let expected = if oauth { 200 } else { 404 };
        assert_eq!(response.status, expected, "oauth {oauth}");
    }
}
