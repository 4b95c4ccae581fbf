//! A number a client answered in one round of a 2026-07-28 multi-round-trip request reaches the
//! handler unchanged in every later round, though from then on it travels inside the sealed
//! `requestState` (written as JSON, read back when the retry is opened).
//!
//! Found by `fuzz/`'s `request_state` target: serde_json's default float parser is not exact,
//! so reading back what it wrote could move a number by one unit in the last place, and a
//! handler saw a different answer in the third round than in the second.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use mcp_mount::model::ElicitParams;
use mcp_mount::{McpServer, RequestContext, Tool};
use serde_json::{Value, json};

/// What the client answers: an integer too large for `u64`, so JSON numbers carry it as an
/// `f64` (the one the fuzzer found).
const ANSWER: &str = "66666666666666666666666666666666666666666666666666662";

/// A `tools/call` of `ask_twice` as a 2026-07-28 client sends it, with `extra` params.
fn call(extra: &str) -> http::Request<Bytes> {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"ask_twice","arguments":{{}},
        "_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":{{"elicitation":{{}}}}}}{extra}}}}}"#
    );
    http::Request::builder()
        .method(http::Method::POST)
        .uri("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "ask_twice")
        .body(Bytes::from(body))
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn result(server: &McpServer, request: http::Request<Bytes>) -> Value {
    use http_body::Body as _;
    let mut body = server.handle(request, "/mcp").await.into_body();
    let mut out = Vec::new();
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        if let Ok(data) = frame.map(http_body::Frame::into_data) {
            out.extend_from_slice(&data.unwrap_or_default());
        }
    }
    let body = out;
    let text = String::from_utf8_lossy(&body);
    // The answer is JSON, or one SSE `message` event carrying it.
    let json = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or(&text);
    let answer: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"));
    answer["result"].clone()
}

/// The single input request of an `input_required` result, and its `requestState`.
fn asked(result: &Value) -> (String, String) {
    assert_eq!(result["resultType"], "input_required", "{result}");
    let key = result["inputRequests"]
        .as_object()
        .and_then(|requests| requests.keys().next().cloned())
        .unwrap_or_else(|| panic!("no input request: {result}"));
    let state = result["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {result}"))
        .to_owned();
    (key, state)
}

#[tokio::test]
async fn answers_keep_their_numbers_across_rounds() {
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let record = Arc::clone(&seen);
    let server = McpServer::builder("numbers", "1.0.0")
        .tool(Tool::new("ask_twice", move |ctx: RequestContext| {
            let record = Arc::clone(&record);
            async move {
                let schema = json!({"type": "object", "properties": {"x": {"type": "number"}}});
                let first = ctx
                    .elicit(ElicitParams::form("x?", schema.clone()))
                    .await
                    .map_err(|e| e.to_string())?;
                let x = first
                    .content
                    .as_ref()
                    .and_then(|content| content.get("x"))
                    .and_then(Value::as_f64)
                    .ok_or("no x")?;
                record
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(x.to_bits());
                ctx.elicit(ElicitParams::form("y?", schema))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>("done")
            }
        }))
        .build();

    // Round 1: the handler asks for x.
    let (key, state) = asked(&result(&server, call("")).await);
    // Round 2: x is answered here; the handler records it and asks for y.
    let retry = format!(
        r#","inputResponses":{{"{key}":{{"action":"accept","content":{{"x":{ANSWER}}}}}}},"requestState":"{state}""#
    );
    let (key, state) = asked(&result(&server, call(&retry)).await);
    // Round 3: x comes from the request state; y is answered here.
    let retry = format!(
        r#","inputResponses":{{"{key}":{{"action":"accept","content":{{"x":0}}}}}},"requestState":"{state}""#
    );
    let done = result(&server, call(&retry)).await;
    assert_eq!(done["resultType"], "complete", "{done}");

    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(
        seen.len(),
        2,
        "the handler ran twice past its first question"
    );
    assert_eq!(
        f64::from_bits(seen[1]),
        f64::from_bits(seen[0]),
        "the answer to x changed on its way through the requestState"
    );
    let expected: f64 = ANSWER.parse().unwrap_or(f64::NAN);
    assert_eq!(
        f64::from_bits(seen[0]),
        expected,
        "the answer as Rust reads it"
    );
}
