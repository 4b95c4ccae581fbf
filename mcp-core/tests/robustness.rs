//! Nothing off the wire can panic the server: thousands of malformed, truncated and mutated
//! requests (deterministic, seeded) go through `handle`, and every one gets a well-formed answer.
//! And the server winds down gracefully (`shutdown`).

use bytes::Bytes;
use mcp_mount::{McpServer, Tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

/// xorshift64*: reproducible noise without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SEEDS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"progressToken":"t"}}}"#,
    r#"{"jsonrpc":"2.0","id":"s","method":"tools/list","params":{"cursor":"o1"}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}"#,
    r#"{"jsonrpc":"2.0","id":3,"result":{"content":[]}}"#,
    r#"[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"test://x/%zz"}}"#,
    r#"{"jsonrpc":"2.0","id":6,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"v"}}}"#,
];

const ACCEPTS: &[&str] = &[
    "application/json, text/event-stream",
    "application/json, text/event-stream",
    "application/json, text/event-stream",
    "application/json, text/event-stream",
    "application/json, text/event-stream",
    "application/json, text/event-stream",
    "*/*",
    "text/html",
    "application/json;q=0, text/event-stream",
    "",
];
const TYPES: &[&str] = &[
    "application/json",
    "application/json",
    "application/json",
    "application/json",
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "",
];
const VERSIONS: &[&str] = &[
    "2025-11-25",
    "2025-11-25",
    "2025-11-25",
    "2025-11-25",
    "2025-11-25",
    "2025-11-25",
    "2025-03-26",
    "1999-01-01",
    "",
    "2026-07-28",
];
const PATHS: &[&str] = &[
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp",
    "/mcp/",
    "/mcp/sse",
    "/mcp/messages?sessionId=x",
    "/mcp/nope",
    "/other",
    "/mcp//",
    "/mcp/messages",
];
const METHODS: &[&str] = &[
    "POST", "POST", "POST", "POST", "POST", "POST", "POST", "POST", "GET", "DELETE", "PUT",
    "OPTIONS",
];

fn mutate(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut body = seed.as_bytes().to_vec();
    // Half the bodies stay whole, so the storm also reaches the dispatcher with odd framing.
    if rng.below(2) == 0 {
        return body;
    }
    for _ in 0..1 + rng.below(3) {
        if body.is_empty() {
            break;
        }
        let at = rng.below(body.len());
        match rng.below(5) {
            0 => body.truncate(at),
            1 => body[at] = u8::try_from(rng.next() & 0xff).unwrap_or(0),
            2 => {
                const NOISE: &[u8] = b"{}[]\",:\\\x00\xff";
                body.insert(at, NOISE[rng.below(NOISE.len())]);
            }
            3 => {
                body.remove(at);
            }
            _ => body.extend_from_slice(&body.clone()[..at]),
        }
    }
    body
}

async fn storm(stateless: bool, seed: u64, rounds: usize) {
    let server = server(stateless);
    let mut rng = Rng(seed);
    let mut session: Option<String> = None;
    let (mut ok, mut rejected, mut sessions) = (0, 0, 0);
    for _ in 0..rounds {
        let method = rng.pick(METHODS);
        let mut request = http::Request::builder()
            .method(method)
            .uri(rng.pick(PATHS))
            .header("host", "localhost");
        for (name, values) in [
            ("accept", ACCEPTS),
            ("content-type", TYPES),
            ("mcp-protocol-version", VERSIONS),
        ] {
            let value = rng.pick(values);
            if !value.is_empty() {
                request = request.header(name, value);
            }
        }
        if let Some(id) = session.as_deref().filter(|_| rng.below(4) > 0) {
            request = request.header("mcp-session-id", id);
        }
        if rng.below(10) == 0 {
            request = request.header(
                "last-event-id",
                rng.pick(&["1-0", "0-99", "x", "4294967295-1"]),
            );
        }
        let body = if rng.below(12) == 0 {
            (0..rng.below(64))
                .map(|_| u8::try_from(rng.next() & 0xff).unwrap_or(0))
                .collect()
        } else {
            // Without a live session, usually open one: most methods need it.
            let seed = if session.is_none() && rng.below(2) == 0 {
                SEEDS[0]
            } else {
                rng.pick(SEEDS)
            };
            mutate(&mut rng, seed)
        };
        let Ok(request) = request.body(Bytes::from(body)) else {
            continue;
        };
        let handled = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            server.handle(request, "/mcp"),
        )
        .await;
        let Ok(mut response) = handled else {
            panic!("a request got no answer within 5 s");
        };
        let status = response.status().as_u16();
        assert!((200..600).contains(&status), "status {status}");
        if status < 300 {
            ok += 1;
        } else if status < 500 {
            rejected += 1;
        }
        if status == 404 {
            // The session ended (DELETE, or it was never known): start over.
            session = None;
        }
        if let Some(id) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            session = Some(id.to_owned());
            sessions += 1;
        }
        // Read what is already there without waiting on long-lived streams.
        if response.body().is_stream() {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(5),
                response.body_mut().next_chunk(),
            )
            .await;
        } else if status >= 400 {
            let body = response.body().as_full().unwrap_or_default();
            assert!(
                body.is_empty() || serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
                "an error body that is not JSON: {body:?}"
            );
        }
    }
    // The storm must reach real handling, not only the first check that refuses it.
    assert!(
        ok >= rounds / 20,
        "only {ok} of {rounds} requests were answered 2xx"
    );
    assert!(
        rejected >= rounds / 4,
        "only {rejected} of {rounds} requests were refused"
    );
    if !stateless {
        assert!(sessions > 0, "no initialize got through");
    }
    eprintln!(
        "{rounds} requests: {ok} answered 2xx, {rejected} refused 4xx, {sessions} sessions issued"
    );
}

fn server(stateless: bool) -> McpServer {
    McpServer::builder("storm", "1.0.0")
        .stateless(stateless)
        .tool(
            Tool::new("add", |args: AddArgs| async move {
                (args.a + args.b).to_string()
            })
            .description("Adds"),
        )
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_never_panics_stateful() {
    storm(false, 0x9E37_79B9_7F4A_7C15, 4000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_never_panics_stateless() {
    storm(true, 0xD1B5_4A32_D192_ED03, 4000).await;
}

// ---- graceful shutdown ----

mod support;

use std::time::{Duration, Instant};

use mcp_mount::RequestContext;
use mcp_mount::adapter::McpBody;
use serde_json::{Value, json};

async fn post(server: &McpServer, session: Option<&str>, body: Value) -> http::Response<McpBody> {
    let request = support::request(http::Method::POST, "localhost", session, &body.to_string());
    server.handle(request, "/mcp").await
}

/// The JSON-RPC messages in an SSE chunk.
fn messages(chunk: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(chunk)
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str(data).ok())
        .collect()
}

/// Reads `body` to its end (bounded): every message in it, and whether it ended.
async fn drain(body: &mut McpBody, within: Duration) -> (Vec<Value>, bool) {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, body.next_chunk()).await {
            Ok(Some(chunk)) => all.extend(messages(&chunk)),
            Ok(None) => return (all, true),
            Err(_) => return (all, false),
        }
    }
}

/// `shutdown`: new requests get 503 at once, the GET stream ends, a call that finishes before
/// the deadline is answered normally, one that does not answers an error for its id, and the
/// whole takes the deadline (plus the time to write those answers), not longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_refuses_new_requests_and_answers_every_call() {
    let server = McpServer::builder("shutdown", "1.0.0")
        .tool(Tool::new("forever", |ctx: RequestContext| async move {
            ctx.progress(1.0, None, None).await;
            std::future::pending::<()>().await;
            "never"
        }))
        .tool(Tool::new("brief", |ctx: RequestContext| async move {
            ctx.progress(1.0, None, None).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            "done"
        }))
        .build();
    let init = post(
        &server,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
    )
    .await;
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no session"))
        .to_owned();
    let get = support::request(http::Method::GET, "localhost", Some(&session), "");
    let mut stream = server.handle(get, "/mcp").await.into_body();
    let call = |id: i64, name: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": name, "_meta": {"progressToken": id}}})
    };
    let mut forever = post(&server, Some(&session), call(2, "forever"))
        .await
        .into_body();
    let mut brief = post(&server, Some(&session), call(3, "brief"))
        .await
        .into_body();

    let started = Instant::now();
    let stopping = {
        let server = server.clone();
        tokio::spawn(async move { server.shutdown(Duration::from_millis(600)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.is_shutting_down());

    let refused = post(
        &server,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
    )
    .await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));

    let (_, ended) = drain(&mut stream, Duration::from_secs(2)).await;
    assert!(ended, "the GET stream did not end at shutdown");

    let (answers, ended) = drain(&mut brief, Duration::from_secs(2)).await;
    assert!(ended);
    let answer = answers.iter().find(|m| m["id"] == 3);
    assert_eq!(
        answer.and_then(|m| m["result"]["content"][0]["text"].as_str()),
        Some("done"),
        "a call that finishes before the deadline is answered as usual: {answers:?}"
    );

    let (answers, ended) = drain(&mut forever, Duration::from_secs(3)).await;
    assert!(ended, "the call still running at the deadline never ended");
    let answer = answers
        .iter()
        .find(|m| m["id"] == 2)
        .unwrap_or_else(|| panic!("no answer for the call cut at the deadline: {answers:?}"));
    assert_eq!(answer["error"]["code"], -32603, "{answer}");

    tokio::time::timeout(Duration::from_secs(3), stopping)
        .await
        .unwrap_or_else(|_| panic!("shutdown did not resolve"))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_millis(2500),
        "shutdown took {took:?} with a 600 ms deadline"
    );
}
