//! What a client answered in one round of a 2026-07-28 multi-round-trip request reaches the
//! handler unchanged in every later round, though from then on it travels inside the sealed
//! `requestState` (written as JSON, read back when the retry is opened).
//!
//! Both cases were found by `fuzz/`'s `request_state` target: serde_json's default float parser
//! is not exact, so reading back what it wrote could move a number by one unit in the last
//! place; and an object key that is serde_json's private raw-value token, which a sorted map
//! writes first, made the state unreadable, so the retry was refused.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use mcp_mount::model::ElicitParams;
use mcp_mount::{McpServer, RequestContext, Tool};
use serde_json::{Value, json};

/// An integer too large for `u64`, so JSON numbers carry it as an `f64` (the one the fuzzer
/// found).
const BIG: &str = "66666666666666666666666666666666666666666666666666662";

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
        let Ok(frame) = frame;
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
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

/// Runs `ask_twice` to completion, answering its first question with `content` (JSON text),
/// and returns the content the handler saw for it in round 2 (answered there) and round 3
/// (from the request state).
async fn rounds(content: &str) -> (Value, Value) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let record = Arc::clone(&seen);
    let server = McpServer::builder("round-trips", "1.0.0")
        .tool(Tool::new("ask_twice", move |ctx: RequestContext| {
            let record = Arc::clone(&record);
            async move {
                let schema = json!({"type": "object"});
                let first = ctx
                    .elicit(ElicitParams::form("first?", schema.clone()))
                    .await
                    .map_err(|e| e.to_string())?;
                record
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Value::Object(first.content.unwrap_or_default()));
                ctx.elicit(ElicitParams::form("second?", schema))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>("done")
            }
        }))
        .build();

    // Round 1: the handler asks its first question.
    let (key, state) = asked(&result(&server, call("")).await);
    // Round 2: answered here; the handler records the answer and asks its second question.
    let retry = format!(
        r#","inputResponses":{{"{key}":{{"action":"accept","content":{content}}}}},"requestState":"{state}""#
    );
    let (key, state) = asked(&result(&server, call(&retry)).await);
    // Round 3: the first answer comes from the request state; the second is answered here.
    let retry = format!(
        r#","inputResponses":{{"{key}":{{"action":"accept","content":{{}}}}}},"requestState":"{state}""#
    );
    let done = result(&server, call(&retry)).await;
    assert_eq!(done["resultType"], "complete", "{done}");

    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(
        seen.len(),
        2,
        "the handler ran twice past its first question"
    );
    let third = seen.pop().unwrap_or_default();
    let second = seen.pop().unwrap_or_default();
    (second, third)
}

#[tokio::test]
async fn numbers_keep_their_value() {
    let (second, third) = rounds(&format!(r#"{{"x":{BIG}}}"#)).await;
    assert_eq!(
        third, second,
        "the answer changed on its way through the requestState"
    );
    let exact: f64 = BIG.parse().unwrap_or(f64::NAN);
    assert_eq!(
        second["x"].as_f64(),
        Some(exact),
        "the answer as Rust reads it"
    );
}

#[tokio::test]
async fn every_key_is_a_key() {
    let content = r#"{"x":1,"$serde_json::private::RawValue":"kept"}"#;
    let (second, third) = rounds(content).await;
    assert_eq!(second["$serde_json::private::RawValue"], "kept", "{second}");
    assert_eq!(
        third, second,
        "the answer changed on its way through the requestState"
    );
}
