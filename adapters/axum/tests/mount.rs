//! `mount_mcp`: the endpoint at `{path}` and `{path}/`, the host's own routes and state beside
//! it, and the well-known route only when the server is an OAuth protected resource.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use mcp_mount::{InvalidToken, McpServer, ProtectedResource, TokenVerifier, Tool, VerifyFuture};
use mcp_mount_axum::McpRouterExt as _;
use tower::ServiceExt as _;

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

struct NoTokens;

impl TokenVerifier for NoTokens {
    fn verify<'a>(&'a self, _: &'a str) -> VerifyFuture<'a> {
        Box::pin(async { Err(InvalidToken("no token is valid here".into())) })
    }
}

fn server(oauth: bool) -> McpServer {
    let builder = McpServer::builder("mount", "1.0.0")
        .tool(Tool::new("hello", || async { "hello" }))
        .stateless(true);
    if oauth {
        builder
            .oauth(
                ProtectedResource::new(["https://auth.example.com"]),
                NoTokens,
            )
            .build()
    } else {
        builder.build()
    }
}

fn app(oauth: bool, path: &str) -> Router {
    Router::new()
        .route(
            "/health",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    state.greeting
                },
            ),
        )
        .mount_mcp(path, server(oauth))
        .with_state(AppState { greeting: "ok" })
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn list(uri: &str) -> Request<Body> {
    Request::post(uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        ))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn get_request(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("host", "localhost")
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn serves_the_path_with_and_without_trailing_slash() {
    for path in ["/api/mcp", "/api/mcp/"] {
        let app = app(false, path);
        for uri in ["/api/mcp", "/api/mcp/"] {
            let (status, body) = send(&app, list(uri)).await;
            assert_eq!(status, 200, "mounted at {path}, POST {uri}: {body}");
            assert!(
                body.contains("\"hello\""),
                "mounted at {path}, POST {uri}: {body}"
            );
        }
        let (status, body) = send(&app, get_request("/health")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    }
}

#[tokio::test]
async fn mounts_at_the_root() {
    let app = app(false, "/");
    let (status, body) = send(&app, list("/")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(&app, get_request("/health")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn routes_the_well_known_document_only_for_a_protected_resource() {
    let well_known = "/.well-known/oauth-protected-resource/api/mcp";
    let (status, body) = send(&app(true, "/api/mcp"), get_request(well_known)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("https://auth.example.com"), "{body}");
    assert!(
        body.contains("\"resource\":\"http://localhost/api/mcp\""),
        "{body}"
    );
    // Without OAuth the path stays the host's: nothing is routed there.
    let (status, body) = send(&app(false, "/api/mcp"), get_request(well_known)).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.is_empty(),
        "axum's own 404, not the server's: {body:?}"
    );
}
