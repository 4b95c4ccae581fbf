//! `mount_mcp`: the endpoint at `{path}` and `{path}/`, the host's routes beside it, and the
//! well-known route only when the server is an OAuth protected resource.

use actix_web::http::StatusCode;
// Not `use actix_web::test`: with actix-web's `macros` feature that name is also an attribute,
// which would replace `#[test]`.
use actix_web::test as actix_test;
use actix_web::{App, web};
use mcp_mount::{InvalidToken, McpServer, ProtectedResource, TokenVerifier, Tool, VerifyFuture};
use mcp_mount_actix_web::McpAppExt as _;

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

fn list(uri: &str) -> actix_test::TestRequest {
    actix_test::TestRequest::post()
        .uri(uri)
        .insert_header(("host", "localhost"))
        .insert_header(("content-type", "application/json"))
        .insert_header(("accept", "application/json, text/event-stream"))
        .set_payload(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
}

fn get(uri: &str) -> actix_test::TestRequest {
    actix_test::TestRequest::get()
        .uri(uri)
        .insert_header(("host", "localhost"))
}

#[test]
fn serves_the_path_and_the_well_known_document() {
    actix_web::rt::System::new().block_on(async {
        for (oauth, path) in [(false, "/api/mcp"), (true, "/api/mcp/")] {
            let app = actix_test::init_service(
                App::new()
                    .route("/health", web::get().to(|| async { "ok" }))
                    .mount_mcp(path, server(oauth)),
            )
            .await;
            for uri in ["/api/mcp", "/api/mcp/"] {
                let response = actix_test::call_service(&app, list(uri).to_request()).await;
                // The OAuth server's answer without a token is its own 401 challenge.
                let expected = if oauth {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::OK
                };
                assert_eq!(response.status(), expected, "{path} {uri}");
                let body = actix_test::read_body(response).await;
                let body = String::from_utf8_lossy(&body);
                let expected = if oauth { "bearer token" } else { "\"hello\"" };
                assert!(body.contains(expected), "{body}");
            }
            let response = actix_test::call_service(&app, get("/health").to_request()).await;
            assert_eq!(response.status(), StatusCode::OK);
            let response = actix_test::call_service(
                &app,
                get("/.well-known/oauth-protected-resource/api/mcp").to_request(),
            )
            .await;
            let expected = if oauth {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(response.status(), expected, "oauth {oauth}");
            if oauth {
                let body = actix_test::read_body(response).await;
                assert!(
                    String::from_utf8_lossy(&body).contains("https://auth.example.com"),
                    "{body:?}"
                );
            }
        }
    });
}
