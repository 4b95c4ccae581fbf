//! Two replicas in one process, sharing one session store and one event log and joined by a
//! message bus: every request of a session may reach either, as behind a load balancer.
//! What one replica holds live (a running call, a waiting handler, a GET stream) is reached
//! from the other through the bus.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

mod support;
use futures_util::StreamExt;
use mcp_mount::adapter::McpBody;
use mcp_mount::cluster::{
    BusMessage, EventId, EventLog, InMemoryEventLog, Inbox, MessageBus, Replay, ReplayError,
    StoreError,
};
use mcp_mount::model::ElicitParams;
use mcp_mount::{InMemorySessionStore, McpServer, RequestContext, Tool};
use serde_json::{Value, json};

/// Every replica's inbox; a replica's `send` delivers to all the others.
#[derive(Debug, Default)]
struct Cluster {
    inboxes: Mutex<Vec<Option<Inbox>>>,
}

#[derive(Debug)]
struct ClusterBus {
    cluster: Arc<Cluster>,
    me: usize,
}

impl MessageBus for ClusterBus {
    fn attach(&self, inbox: Inbox) {
        let mut inboxes = self
            .cluster
            .inboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if inboxes.len() <= self.me {
            inboxes.resize(self.me + 1, None);
        }
        inboxes[self.me] = Some(inbox);
    }

    fn send(&self, message: BusMessage) {
        let others: Vec<Inbox> = self
            .cluster
            .inboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.me)
            .filter_map(|(_, inbox)| inbox.clone())
            .collect();
        for inbox in others {
            inbox.deliver(message.clone());
        }
    }
}

fn replicas() -> (McpServer, McpServer) {
    replicas_with(Some(&[[42u8; 32]]))
}

/// A tool that elicits the user's name and says what it got.
fn ask() -> Tool {
    Tool::new("ask", |ctx: RequestContext| async move {
        let asked = ctx
            .elicit(ElicitParams::form(
                "Your name?",
                json!({"type": "object", "properties": {"name": {"type": "string"}}}),
            ))
            .await;
        match asked {
            Ok(answer) => format!("answered {:?}", answer.content),
            Err(e) => format!("failed: {e}"),
        }
    })
}

/// Two replicas; `keys`, when given, is the `requestState` key ring both hold.
fn replicas_with(keys: Option<&[[u8; 32]]>) -> (McpServer, McpServer) {
    let store = Arc::new(InMemorySessionStore::new(Duration::from_secs(60), 100));
    let log = Arc::new(InMemoryEventLog::new(32, 1 << 20, Duration::from_secs(60)));
    let cluster = Arc::new(Cluster::default());
    let replica = |me: usize| {
        let builder = McpServer::builder("replicas", "1.0.0");
        let builder = match keys {
            Some(keys) => builder.request_state_keys(keys),
            None => builder,
        };
        builder
            .session_store(Arc::clone(&store))
            .event_log(Arc::clone(&log))
            .message_bus(ClusterBus {
                cluster: Arc::clone(&cluster),
                me,
            })
            .tool(ask())
            .tool(Tool::new("wait", |ctx: RequestContext| async move {
                ctx.cancelled().await;
                "cancelled"
            }))
            .tool(Tool::new("steps", |ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), None).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                ctx.progress(2.0, Some(2.0), None).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }))
            .build()
    };
    (replica(0), replica(1))
}

fn request(method: http::Method, session: Option<&str>, body: &str) -> http::Request<Bytes> {
    support::request(method, "localhost", session, body)
}

async fn post(server: &McpServer, session: Option<&str>, body: Value) -> http::Response<McpBody> {
    server
        .handle(
            request(http::Method::POST, session, &body.to_string()),
            "/mcp",
        )
        .await
}

/// The next SSE event's JSON data (priming events, with empty data, are skipped).
async fn next_event(body: &mut McpBody) -> Option<Value> {
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .unwrap_or_else(|_| panic!("no SSE event within 5 s"))?
            .ok()?;
        let text = String::from_utf8_lossy(&chunk).into_owned();
        let data: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        if !data.trim().is_empty() {
            return serde_json::from_str(&data).ok();
        }
    }
}

async fn connect(a: &McpServer, b: &McpServer) -> String {
    let init = post(
        a,
        None,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "test", "version": "1"}}}),
    )
    .await;
    assert_eq!(init.status(), 200);
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no session id"));
    // The other replica knows the session from the shared store.
    let ack = post(
        b,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(ack.status(), 202);
    session
}

#[tokio::test]
async fn a_session_made_on_one_replica_is_served_on_the_other() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let listed = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(listed.status(), 200);
    let body = listed.into_body().as_full().unwrap_or_default();
    let listed: Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!(listed["result"]["tools"].as_array().map(Vec::len), Some(3));
    // An unknown session is unknown on both.
    let unknown = post(
        &b,
        Some("0123456789abcdef0123456789abcdef"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_client_answer_posted_to_the_other_replica_reaches_the_waiting_handler() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "ask"}}),
    )
    .await;
    let mut stream = call.into_body();
    let asked = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no request"));
    assert_eq!(asked["method"], "elicitation/create", "{asked}");
    let answered = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": asked["id"].clone(),
               "result": {"action": "accept", "content": {"name": "Ada"}}}),
    )
    .await;
    assert_eq!(answered.status(), 202);
    let result = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no result"));
    assert_eq!(result["id"], 7);
    let text = result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("");
    assert!(text.contains("Ada"), "{result}");
}

#[tokio::test]
async fn a_cancellation_sent_to_the_other_replica_stops_the_call() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let running = tokio::spawn({
        let (a, session) = (a.clone(), session.clone());
        async move {
            post(
                &a,
                Some(&session),
                json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "wait"}}),
            )
            .await
        }
    });
    // Let the call start on A before B is told to cancel it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!running.is_finished(), "the call must still run");
    let cancelled = post(
        &b,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}),
    )
    .await;
    assert_eq!(cancelled.status(), 202);
    let answer = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap_or_else(|_| panic!("the call was not cancelled"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A cancelled request gets no JSON-RPC response: an event stream with no event.
    assert_eq!(
        answer.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    let mut body = answer.into_body();
    assert!(next_event(&mut body).await.is_none());
}

#[tokio::test]
async fn changes_on_one_replica_reach_streams_held_by_the_other() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let get = b
        .handle(request(http::Method::GET, Some(&session), ""), "/mcp")
        .await;
    assert_eq!(get.status(), 200);
    let mut stream = get.into_body();
    let added = a.add_tool(Tool::new("later", || async { "later" }));
    assert!(added.is_ok());
    let event = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no notification"));
    assert_eq!(
        event["method"], "notifications/tools/list_changed",
        "{event}"
    );
}

#[tokio::test]
async fn a_delete_on_one_replica_ends_the_stream_held_by_the_other() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let get = a
        .handle(request(http::Method::GET, Some(&session), ""), "/mcp")
        .await;
    assert_eq!(get.status(), 200);
    let mut stream = get.into_body();
    let deleted = b
        .handle(request(http::Method::DELETE, Some(&session), ""), "/mcp")
        .await;
    assert_eq!(deleted.status(), 200);
    assert!(next_event(&mut stream).await.is_none(), "the stream ended");
    let gone = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
    )
    .await;
    assert_eq!(gone.status(), 404);
}

/// A 2026-07-28 `tools/call` of `ask`, its retry fields merged into params.
fn modern_ask(retry: Value) -> http::Request<Bytes> {
    let mut params = json!({"name": "ask", "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}});
    if let (Some(params), Some(retry)) = (params.as_object_mut(), retry.as_object()) {
        params.extend(retry.clone());
    }
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": params});
    let mut request = support::request(http::Method::POST, "localhost", None, &body.to_string());
    for (name, value) in [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "ask"),
    ] {
        request
            .headers_mut()
            .insert(name, http::HeaderValue::from_static(value));
    }
    request
}

async fn json_of(response: http::Response<McpBody>) -> (u16, Value) {
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let value = match body.as_full() {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => next_event(&mut body).await.unwrap_or_default(),
    };
    (status, value)
}

/// The `requestState` replica A seals, and the retry replica B gets with it.
async fn retry_on_the_other(a: &McpServer, b: &McpServer) -> (u16, Value) {
    let (status, first) = json_of(a.handle(modern_ask(json!({})), "/mcp").await).await;
    assert_eq!(status, 200, "{first}");
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    let key = result["inputRequests"]
        .as_object()
        .and_then(|r| r.keys().next().cloned())
        .unwrap_or_else(|| panic!("no input request: {first}"));
    let retry = json!({
        "requestState": result["requestState"].clone(),
        "inputResponses": {key: {"action": "accept", "content": {"name": "Grace"}}}});
    json_of(b.handle(modern_ask(retry), "/mcp").await).await
}

#[tokio::test]
async fn an_input_required_retry_is_served_by_the_other_replica_with_the_same_keys() {
    let (a, b) = replicas();
    let (status, done) = retry_on_the_other(&a, &b).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    let text = done["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("Grace"), "{done}");
}

#[tokio::test]
async fn without_shared_keys_the_other_replica_refuses_the_retry() {
    let (a, b) = replicas_with(None);
    let (status, refused) = retry_on_the_other(&a, &b).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("request_state_keys"), "{refused}");
}

/// A replica of the 2026-07-28 era (no sessions: nothing else to share) holding `keys`.
fn asker(keys: &[[u8; 32]]) -> McpServer {
    McpServer::builder("replicas", "1.0.0")
        .request_state_keys(keys)
        .tool(ask())
        .build()
}

/// A key rotation in three deploys, `[old]` → `[old, new]` → `[new, old]` → `[new]`, never
/// refuses a retry, whichever two neighbouring stages the replica that sealed it and the one
/// the retry reaches are at; skipping the middle deploy does.
#[tokio::test]
async fn a_key_rotation_in_three_deploys_never_refuses_a_retry() {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let stages: [&[[u8; 32]]; 4] = [&[old], &[old, new], &[new, old], &[new]];
    for (stage, pair) in stages.windows(2).enumerate() {
        let (a, b) = (asker(pair[0]), asker(pair[1]));
        for (sealer, opener) in [(&a, &b), (&b, &a)] {
            let (status, done) = retry_on_the_other(sealer, opener).await;
            assert_eq!(status, 200, "stages {stage} and {}: {done}", stage + 1);
            assert_eq!(done["result"]["resultType"], "complete", "{done}");
        }
    }
    let (status, refused) = retry_on_the_other(&asker(&[new, old]), &asker(&[old])).await;
    assert_eq!(
        status, 400,
        "sealed with a key the other replica has not got yet: {refused}"
    );
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}

/// An event log shared by the replicas that can be told its writer died: from then on, a
/// stream that is not finished is reported abandoned, as a shared log reports a stream whose
/// writer stopped calling `keep`.
#[derive(Debug)]
struct MortalLog {
    log: InMemoryEventLog,
    requests: Mutex<Vec<(u32, mcp_mount::model::RequestId)>>,
    writer_dead: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl EventLog for MortalLog {
    async fn open(
        &self,
        session: &str,
        request: Option<&mcp_mount::model::RequestId>,
    ) -> Result<u32, StoreError> {
        let stream = self.log.open(session, request).await?;
        if let Some(request) = request {
            self.requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((stream, request.clone()));
        }
        Ok(stream)
    }
    async fn next_id(&self, session: &str, stream: u32) -> Result<EventId, StoreError> {
        self.log.next_id(session, stream).await
    }
    async fn append(&self, session: &str, stream: u32, data: Bytes) -> Result<EventId, StoreError> {
        self.log.append(session, stream, data).await
    }
    async fn finish(&self, session: &str, stream: u32) -> Result<(), StoreError> {
        self.log.finish(session, stream).await
    }
    async fn replay(&self, session: &str, after: EventId) -> Result<Replay, ReplayError> {
        let mut replay = self.log.replay(session, after).await?;
        if replay.running && self.writer_dead.load(std::sync::atomic::Ordering::SeqCst) {
            replay.abandoned = self
                .requests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|(stream, _)| *stream == after.stream)
                .map(|(_, request)| request.clone());
        }
        Ok(replay)
    }
    async fn forget(&self, session: &str) -> Result<(), StoreError> {
        self.log.forget(session).await
    }
}

#[tokio::test]
async fn a_stream_whose_replica_died_ends_with_an_error_for_its_request() {
    let store = Arc::new(InMemorySessionStore::new(Duration::from_secs(60), 100));
    let log = Arc::new(MortalLog {
        log: InMemoryEventLog::new(32, 1 << 20, Duration::from_secs(60)),
        requests: Mutex::new(Vec::new()),
        writer_dead: std::sync::atomic::AtomicBool::new(false),
    });
    let cluster = Arc::new(Cluster::default());
    let replica = |me: usize| {
        McpServer::builder("replicas", "1.0.0")
            .session_store(Arc::clone(&store))
            .event_log(Arc::clone(&log))
            .message_bus(ClusterBus {
                cluster: Arc::clone(&cluster),
                me,
            })
            .request_state_keys([[1u8; 32]])
            .tool(Tool::new("stuck", |ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), Some("half way")).await;
                ctx.cancelled().await;
                "never"
            }))
            .build()
    };
    let (a, b) = (replica(0), replica(1));
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
               "params": {"name": "stuck", "_meta": {"progressToken": "p"}}}),
    )
    .await;
    let mut stream = call.into_body();
    // The priming event names the stream; then the progress notification.
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .ok()
        .flatten()
        .and_then(Result::ok)
        .unwrap_or_default();
    let first = String::from_utf8_lossy(&first).into_owned();
    let priming = first
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap_or_else(|| panic!("no priming event: {first}"))
        .to_owned();
    let progress = next_event(&mut stream).await.unwrap_or_default();
    assert_eq!(progress["method"], "notifications/progress", "{progress}");
    // Replica A is gone (its stream's writer stopped keeping it alive); the client resumes
    // on B.
    drop(stream);
    log.writer_dead
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut resume = request(http::Method::GET, Some(&session), "");
    resume.headers_mut().insert(
        "last-event-id",
        http::HeaderValue::from_str(&priming).unwrap_or_else(|e| panic!("{e}")),
    );
    let resumed = b.handle(resume, "/mcp").await;
    assert_eq!(resumed.status(), 200);
    let mut resumed = resumed.into_body();
    let replayed = next_event(&mut resumed).await.unwrap_or_default();
    assert_eq!(replayed["method"], "notifications/progress", "{replayed}");
    let ended = next_event(&mut resumed).await.unwrap_or_default();
    assert_eq!(ended["id"], 11, "{ended}");
    assert_eq!(ended["error"]["code"], -32603, "{ended}");
    assert!(
        next_event(&mut resumed).await.is_none(),
        "the stream ends there"
    );
}

#[tokio::test]
async fn an_http_sse_message_posted_to_the_other_replica_is_answered_on_the_stream() {
    let (a, b) = replicas();
    let mut open = request(http::Method::GET, None, "");
    *open.uri_mut() = http::Uri::from_static("/mcp/sse");
    let opened = a.handle(open, "/mcp").await;
    assert_eq!(opened.status(), 200);
    let mut stream = opened.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .ok()
        .flatten()
        .and_then(Result::ok)
        .unwrap_or_default();
    let first = String::from_utf8_lossy(&first).into_owned();
    let endpoint = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no endpoint event: {first}"))
        .to_owned();
    assert!(
        endpoint.starts_with("/mcp/messages?sessionId="),
        "{endpoint}"
    );
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "old", "version": "1"}}});
    let mut posted = request(http::Method::POST, None, &initialize.to_string());
    *posted.uri_mut() = endpoint.parse().unwrap_or_else(|e| panic!("{e}"));
    let accepted = b.handle(posted, "/mcp").await;
    assert_eq!(accepted.status(), 202);
    let answer = next_event(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no answer on the stream"));
    assert_eq!(answer["id"], 1, "{answer}");
    assert_eq!(
        answer["result"]["protocolVersion"], "2024-11-05",
        "{answer}"
    );
    // Bad input gets its 400 on the replica it reaches, as on the one holding the stream.
    let mut bad = request(http::Method::POST, None, "{not json");
    *bad.uri_mut() = endpoint.parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.handle(bad, "/mcp").await.status(), 400);
    // A session id nobody holds is unknown on every replica.
    let mut stray = request(http::Method::POST, None, &initialize.to_string());
    *stray.uri_mut() =
        http::Uri::from_static("/mcp/messages?sessionId=00000000000000000000000000000000");
    assert_eq!(b.handle(stray, "/mcp").await.status(), 404);
}

/// The next SSE event with data: its id and its JSON.
async fn next_event_with_id(body: &mut McpBody) -> Option<(String, Value)> {
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .unwrap_or_else(|_| panic!("no SSE event within 5 s"))?
            .ok()?;
        let text = String::from_utf8_lossy(&chunk).into_owned();
        let id = text.lines().find_map(|l| l.strip_prefix("id: "));
        let data: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        if !data.trim().is_empty() {
            return Some((
                id.unwrap_or("").to_owned(),
                serde_json::from_str(&data).ok()?,
            ));
        }
    }
}

#[tokio::test]
async fn a_stream_resumed_on_the_other_replica_gets_the_events_written_after() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let call = post(
        &a,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 21, "method": "tools/call",
               "params": {"name": "steps", "_meta": {"progressToken": "s"}}}),
    )
    .await;
    let mut stream = call.into_body();
    let (first_id, first) = next_event_with_id(&mut stream)
        .await
        .unwrap_or_else(|| panic!("no progress"));
    assert_eq!(first["params"]["progress"], 1.0, "{first}");
    // The client loses the connection and resumes on the other replica while A still runs.
    drop(stream);
    let mut resume = request(http::Method::GET, Some(&session), "");
    resume.headers_mut().insert(
        "last-event-id",
        http::HeaderValue::from_str(&first_id).unwrap_or_else(|e| panic!("{e}")),
    );
    let resumed = b.handle(resume, "/mcp").await;
    assert_eq!(resumed.status(), 200);
    let mut resumed = resumed.into_body();
    let second = next_event(&mut resumed)
        .await
        .unwrap_or_else(|| panic!("no second progress"));
    assert_eq!(second["params"]["progress"], 2.0, "{second}");
    let done = next_event(&mut resumed)
        .await
        .unwrap_or_else(|| panic!("no result"));
    assert_eq!(done["id"], 21, "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "done", "{done}");
    assert!(
        next_event(&mut resumed).await.is_none(),
        "the stream ends with its request"
    );
}

#[tokio::test]
async fn a_newer_get_stream_on_the_other_replica_ends_the_older_one() {
    let (a, b) = replicas();
    let session = connect(&a, &b).await;
    let older = a
        .handle(request(http::Method::GET, Some(&session), ""), "/mcp")
        .await;
    assert_eq!(older.status(), 200);
    let mut older = older.into_body();
    let newer = b
        .handle(request(http::Method::GET, Some(&session), ""), "/mcp")
        .await;
    assert_eq!(newer.status(), 200);
    assert!(
        next_event(&mut older).await.is_none(),
        "the older stream ended"
    );
    // The newer one carries the session's notifications.
    let mut newer = newer.into_body();
    assert!(a.add_tool(Tool::new("newest", || async { "n" })).is_ok());
    let event = next_event(&mut newer)
        .await
        .unwrap_or_else(|| panic!("no notification on the newer stream"));
    assert_eq!(
        event["method"], "notifications/tools/list_changed",
        "{event}"
    );
}
