//! The core alone: `McpServer::handle` on an in-memory request (parse, dispatch, serialise),
//! no sockets and no framework. `cargo bench -p mcp-mount-benches --bench core`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mcp_mount::{McpServer, ResponseMode, Tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

fn server() -> McpServer {
    let mut builder = McpServer::builder("bench", "1.0.0")
        .stateless(true)
        .response_mode(ResponseMode::Json)
        .tool(
            Tool::new("add", |args: AddArgs| async move {
                (args.a + args.b).to_string()
            })
            .description("Adds two integers"),
        );
    // A realistic list: twenty tools with generated schemas.
    for i in 0..19 {
        builder = builder.tool(
            Tool::new(format!("tool_{i}"), |args: AddArgs| async move {
                (args.a * args.b).to_string()
            })
            .description("Multiplies two integers"),
        );
    }
    builder.build()
}

fn request(body: &'static [u8]) -> http::Request<Bytes> {
    http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Bytes::from_static(body))
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(runtime) = runtime else { return };
    let server = server();
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
    let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    // Both must succeed before being timed.
    for body in [&call[..], &list[..]] {
        let response = runtime.block_on(server.handle(request(body), "/mcp"));
        assert_eq!(response.status(), 200);
        let bytes = response.into_body().as_full().unwrap_or_default();
        assert!(
            bytes.starts_with(br#"{"jsonrpc":"2.0","id":1,"result":"#),
            "{bytes:?}"
        );
    }
    c.bench_function("handle tools/call", |b| {
        b.iter_batched(
            || request(call),
            |req| black_box(runtime.block_on(server.handle(req, "/mcp"))),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("handle tools/list (20 tools)", |b| {
        b.iter_batched(
            || request(list),
            |req| black_box(runtime.block_on(server.handle(req, "/mcp"))),
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
