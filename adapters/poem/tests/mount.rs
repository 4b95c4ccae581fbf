//! `mount_mcp`: the endpoint at `{path}` and `{path}/`, the host's routes beside it, and the
//! well-known route only when the server is an OAuth protected resource.

use mcp_mount::{InvalidToken, McpServer, ProtectedResource, TokenVerifier, Tool, VerifyFuture};
use mcp_mount_poem::McpRouteExt as _;
use poem::http::{Method, StatusCode};
use poem::{Endpoint as _, Request, Route};

struct NoTokens;

impl TokenVerifier for NoTokens {
    fn verify<'a>(&'a self, _: &'a str) -> VerifyFuture<'a> {
        Box::pin(async { Err(InvalidToken("no token is valid here".into())) })
    }
}

fn app(oauth: bool, path: &str) -> Route {
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
    Route::new()
        .at("/health", poem::get(poem::endpoint::make_sync(|_| "ok")))
        .mount_mcp(path, server)
}

async fn send(app: &Route, request: Request) -> (StatusCode, String) {
    let response = app.get_response(request).await;
    let status = response.status();
    let body = response.into_body().into_string().await.unwrap_or_default();
    (status, body)
}

fn list(uri: &str) -> Request {
    Request::builder()
        .method(Method::POST)
        .uri(poem::http::Uri::try_from(uri).unwrap_or_default())
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
}

fn get(uri: &str) -> Request {
    Request::builder()
        .uri(poem::http::Uri::try_from(uri).unwrap_or_default())
        .header("host", "localhost")
        .finish()
}

#[tokio::test]
async fn serves_the_path_with_and_without_trailing_slash() {
    for path in ["/api/mcp", "/api/mcp/"] {
        let app = app(false, path);
        for uri in ["/api/mcp", "/api/mcp/"] {
            let (status, body) = send(&app, list(uri)).await;
            assert_eq!(status, 200, "mounted at {path}, POST {uri}: {body}");
            assert!(body.contains("\"hello\""), "{body}");
        }
        assert_eq!(send(&app, get("/health")).await.1, "ok");
    }
}

#[tokio::test]
async fn routes_the_well_known_document_only_for_a_protected_resource() {
    let well_known = "/.well-known/oauth-protected-resource/api/mcp";
    let (status, body) = send(&app(true, "/api/mcp"), get(well_known)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("https://auth.example.com"), "{body}");
    let (status, _) = send(&app(false, "/api/mcp"), get(well_known)).await;
    assert_eq!(status, 404);
}
