//! One `tools/call add(2,3)` through `McpServer::handle`, K times, for callgrind: the core's
//! cost per call in instructions, which do not depend on what else the machine is doing.
//!
//! ```sh
//! cargo build --release -p mcp-mount-benches --bin handle-instructions
//! valgrind --tool=callgrind --toggle-collect='*measured_calls*' \
//!     target/release/handle-instructions stateless 200 1000
//! ```
//!
//! "Collected" ÷ K is the figure (K = 1000 and K = 2000 agree to within an instruction).
//! MODE is `stateless` (`stateless(true)`, JSON answers) or `stateful` (one session, JSON
//! answers). The server is the one `bench-server` serves (one `add` tool); the answer is checked
//! before anything is measured. Requests are built first; what is counted is
//! `block_on(handle(request))` and the drop of the response, on a current-thread runtime.

use std::hint::black_box;

use bytes::Bytes;
use mcp_mount::{McpServer, ResponseMode, Tool};
use schemars::JsonSchema;
use serde::Deserialize;

type BoxError = Box<dyn std::error::Error>;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

const CALL: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const INIT: &[u8] = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"handle-instructions","version":"1"}}}"#;
const INITIALIZED: &[u8] = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

fn server(stateless: bool) -> McpServer {
    McpServer::builder("bench", "1.0.0")
        .max_sessions(1_000_000)
        .tool(
            Tool::new("add", |args: AddArgs| async move {
                (args.a + args.b).to_string()
            })
            .description("Adds two integers"),
        )
        .stateless(stateless)
        .response_mode(ResponseMode::Json)
        .build()
}

fn request(body: &'static [u8], session: Option<&str>) -> Result<http::Request<Bytes>, BoxError> {
    let mut request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    Ok(request.body(Bytes::from_static(body))?)
}

/// What callgrind counts (`--toggle-collect='*measured_calls*'`).
#[inline(never)]
fn measured_calls(
    runtime: &tokio::runtime::Runtime,
    server: &McpServer,
    requests: Vec<http::Request<Bytes>>,
) {
    for request in requests {
        black_box(runtime.block_on(server.handle(request, "/mcp")));
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("stateless", String::as_str);
    let warmup: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let calls: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let stateless = match mode {
        "stateless" => true,
        "stateful" => false,
        other => return Err(format!("MODE is stateless or stateful, not {other:?}").into()),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = server(stateless);
    let session = if stateless {
        None
    } else {
        let init = runtime.block_on(server.handle(request(INIT, None)?, "/mcp"));
        let session = init
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or("initialize gave no session id")?
            .to_owned();
        let ack = runtime.block_on(server.handle(request(INITIALIZED, Some(&session))?, "/mcp"));
        if ack.status() != 202 {
            return Err(format!("notifications/initialized: {}", ack.status()).into());
        }
        Some(session)
    };
    let session = session.as_deref();
    let checked = runtime.block_on(server.handle(request(CALL, session)?, "/mcp"));
    let body = checked.into_body().as_full().unwrap_or_default();
    if !(body.starts_with(br#"{"jsonrpc":"2.0","id":1,"result":"#)
        && body.windows(10).any(|w| w == br#""text":"5""#))
    {
        return Err(format!("wrong answer: {}", String::from_utf8_lossy(&body)).into());
    }
    for _ in 0..warmup {
        black_box(runtime.block_on(server.handle(request(CALL, session)?, "/mcp")));
    }
    let requests = (0..calls)
        .map(|_| request(CALL, session))
        .collect::<Result<Vec<_>, _>>()?;
    measured_calls(&runtime, &server, requests);
    eprintln!("{mode}: {warmup} warm-up calls, {calls} measured");
    Ok(())
}
