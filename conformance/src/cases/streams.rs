//! SSE resumability (priming events, event ids, `Last-Event-ID`) and 2025-03-26 batches.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{EVENT_WAIT, assert_error, text_of, unique};
use crate::client::{Event, parse_sse};
use crate::{Session, Target, next_id, request_body};

/// A progress call's whole SSE body, as events.
async fn progress_events(session: &Session) -> Vec<Event> {
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": 1}}});
    let response = session.send(session.post(&body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), "text/event-stream");
    parse_sse(&response.body)
}

/// The `stream` part of a `stream-seq` event id.
fn stream_of(id: &str) -> &str {
    id.split('-').next().unwrap_or("")
}

/// On a 2025-11-25 session every SSE stream starts with a priming event (an id, `retry`, empty
/// data); every event has an id unique in the session that names its stream.
pub async fn sse_streams_start_with_a_priming_event(t: &Target) {
    let session = t.connect().await;
    let first = progress_events(&session).await;
    let second = progress_events(&session).await;
    let mut seen = HashSet::new();
    let mut streams = HashSet::new();
    for events in [&first, &second] {
        let priming = &events[0];
        assert!(priming.data.is_empty(), "priming event first: {events:?}");
        assert!(priming.id.is_some(), "the priming event has an id");
        let retry = priming
            .retry
            .as_deref()
            .unwrap_or_else(|| panic!("the priming event has no retry: {priming:?}"));
        assert!(retry.parse::<u64>().is_ok(), "retry {retry:?}");
        assert!(events.len() >= 5, "priming, 3 progress, result: {events:?}");
        let stream = stream_of(priming.id.as_deref().unwrap_or("")).to_owned();
        for event in events.iter() {
            let id = event
                .id
                .clone()
                .unwrap_or_else(|| panic!("an event without an id: {event:?}"));
            assert_eq!(stream_of(&id), stream, "ids name their stream: {events:?}");
            assert!(seen.insert(id.clone()), "event id {id} used twice");
        }
        streams.insert(stream);
    }
    assert_eq!(streams.len(), 2, "each request gets its own stream");
    // The GET stream starts with one too.
    let mut get = session.open(session.get(None)).await;
    let priming = get
        .next_event(EVENT_WAIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no priming event on the GET stream"));
    assert!(
        priming.data.is_empty() && priming.id.is_some() && priming.retry.is_some(),
        "{priming:?}"
    );
    assert!(
        !seen.contains(priming.id.as_deref().unwrap_or("")),
        "ids are unique across streams"
    );
}

/// Clients that negotiated a version before 2025-11-25 get no priming events and no ids.
pub async fn older_clients_get_no_priming_event(t: &Target) {
    for version in ["2025-06-18", "2025-03-26"] {
        let session = t.connect_with(version, json!({})).await;
        let events = progress_events(&session).await;
        assert!(
            events.iter().all(|e| !e.data.is_empty() && e.id.is_none()),
            "{version}: {events:?}"
        );
        let mut get = session.open(session.get(None)).await;
        assert_eq!(get.status, 200);
        let key = unique("old");
        let added = session
            .call_tool("dynamic", json!({"kind": "prompt", "key": key}))
            .await;
        assert_eq!(text_of(&added), "true");
        let event = get
            .next_event(EVENT_WAIT)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{version}: nothing on the GET stream"));
        assert!(
            !event.data.is_empty() && event.id.is_none(),
            "{version}: the first GET event must be a message without id: {event:?}"
        );
        let removed = session
            .call_tool(
                "dynamic",
                json!({"kind": "prompt", "key": key, "remove": true}),
            )
            .await;
        assert_eq!(text_of(&removed), "true");
    }
}

/// The priming event's id of a call whose handler closed the connection; the body holds no
/// other event.
async fn closed_call(session: &Session, tool: &str, arguments: Value) -> (String, i64) {
    let id = next_id();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let response = session.send(session.post(&body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), "text/event-stream");
    let events = parse_sse(&response.body);
    assert_eq!(
        events.len(),
        1,
        "only the priming event before the connection closes: {events:?}"
    );
    assert!(events[0].retry.is_some(), "retry before closing");
    let priming = events[0]
        .id
        .clone()
        .unwrap_or_else(|| panic!("the priming event has no id"));
    (priming, id)
}

/// A handler that closes its connection (SEP-1699): the client GETs with `Last-Event-ID` and
/// the result is replayed, and only that stream's events are.
pub async fn resume_replays_the_result(t: &Target) {
    let session = t.connect().await;
    let (first, first_id) = closed_call(&session, "test_reconnection", json!({})).await;
    let (_second, second_id) = closed_call(&session, "test_reconnection", json!({})).await;
    // Let both handlers finish, so the results wait in the replay buffer.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let resumed = session.send(session.get(Some(&first))).await;
    assert_eq!(resumed.status, 200, "{:?}", resumed.body);
    assert_eq!(resumed.content_type(), "text/event-stream");
    let messages = resumed.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["id"], first_id);
    assert_eq!(
        text_of(&messages[0]["result"]),
        "Reconnection test completed"
    );
    assert!(
        !messages.iter().any(|m| m["id"] == second_id),
        "another stream's events were replayed"
    );
    // Resuming from the last event replays nothing more; the stream is over.
    let events = parse_sse(&resumed.body);
    let last = events
        .iter()
        .rev()
        .find_map(|e| e.id.clone())
        .unwrap_or_else(|| panic!("replayed events carry ids: {events:?}"));
    assert_eq!(stream_of(&last), stream_of(&first));
    let again = session.send(session.get(Some(&last))).await;
    assert_eq!(again.status, 200);
    assert!(again.messages().is_empty(), "{:?}", again.body);
}

/// Resuming a stream whose handler is still running: the GET carries its later events live and
/// ends with the result.
pub async fn resume_continues_a_running_stream(t: &Target) {
    let session = t.connect().await;
    let key = unique("reconnect");
    let (priming, id) = closed_call(&session, "reconnect_gate", json!({"key": key})).await;
    let mut resumed = session.open(session.get(Some(&priming))).await;
    assert_eq!(resumed.status, 200);
    let released = session.call_tool("release", json!({"key": key})).await;
    assert_eq!(text_of(&released), "ok");
    let result = resumed
        .next_message(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("no result on the resumed stream"))
        .unwrap_or_else(|| panic!("the resumed stream ended without the result"));
    assert_eq!(result["id"], id);
    assert_eq!(text_of(&result["result"]), "released");
    assert_eq!(
        resumed.next_message(EVENT_WAIT).await,
        Ok(None),
        "the resumed stream ends with its request"
    );
}

/// A `Last-Event-ID` that is malformed or names no stream of the session is 400.
pub async fn resume_with_an_unknown_id_is_400(t: &Target) {
    let session = t.connect().await;
    for id in ["garbage", "999-0", "1-999999", ""] {
        let response = session.send(session.get(Some(id))).await;
        assert_error(&response, 400, -32000, id);
    }
    // Older sessions have no ids to resume from.
    let old = t.connect_with("2025-06-18", json!({})).await;
    let response = old.send(old.get(Some("1-0"))).await;
    assert_error(&response, 400, -32000, "resume on 2025-06-18");
}

/// The replay buffer is bounded (3 events on the `impatient` variant): resuming from an id
/// whose successors were dropped is refused, never a silently incomplete replay.
pub async fn replay_buffer_is_bounded(t: &Target) {
    let session = t.variant("impatient").connect().await;
    let events = progress_events(&session).await;
    let priming = events[0].id.clone().unwrap_or_default();
    // Three progress notifications and the result after the priming event: four events, one
    // more than is kept.
    let response = session.send(session.get(Some(&priming))).await;
    assert_error(&response, 400, -32000, "resume past the buffer");
    let second = events[1].id.clone().unwrap_or_default();
    let response = session.send(session.get(Some(&second))).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.messages().len(), 3);
}

// ---- batches (2025-03-26) ----

/// A 2025-03-26 session may send a batch: every request answered in one JSON array, in order,
/// notifications answered by nothing.
pub async fn batch_on_2025_03_26_is_answered_as_an_array(t: &Target) {
    let session = t.connect_with("2025-03-26", json!({})).await;
    let (a, b) = (next_id(), next_id());
    let batch = json!([
        {"jsonrpc": "2.0", "id": a, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": b, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}},
        {"jsonrpc": "2.0", "id": "unknown", "method": "no/such/method"}
    ]);
    let response = session.send(session.post(&batch)).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.content_type(), "application/json");
    let answers = response.json();
    let answers = answers
        .as_array()
        .unwrap_or_else(|| panic!("a batch is answered with an array: {answers}"));
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(answers[0], json!({"jsonrpc": "2.0", "id": a, "result": {}}));
    assert_eq!(answers[1]["id"], b);
    assert_eq!(text_of(&answers[1]["result"]), "3");
    assert_eq!(answers[2]["id"], "unknown");
    assert_eq!(answers[2]["error"]["code"], -32601);
    // Only notifications (and responses): 202, no body.
    let quiet = json!([
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 9_999_999, "result": {}}
    ]);
    let response = session.send(session.post(&quiet)).await;
    assert_eq!(response.status, 202);
    assert!(response.body.is_empty());
    // A broken element gets its own error; the others still run.
    let mixed = json!([5, {"jsonrpc": "2.0", "id": a, "method": "ping"}]);
    let answers = session.send(session.post(&mixed)).await.json();
    assert_eq!(answers[0]["error"]["code"], -32600, "{answers}");
    assert_eq!(answers[0]["id"], Value::Null);
    assert_eq!(answers[1]["result"], json!({}));
}

/// The `MCP-Protocol-Version: 2025-03-26` header allows a batch on a later session too.
pub async fn batch_follows_the_version_header(t: &Target) {
    let session = t.connect().await;
    let batch = json!([{"jsonrpc": "2.0", "id": next_id(), "method": "ping"}]);
    let mut request = session.post(&batch);
    if let Some(headers) = request.headers_mut() {
        headers.insert(
            "mcp-protocol-version",
            "2025-03-26".parse().unwrap_or_else(|_| unreachable!()),
        );
    }
    let response = session.send(request).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.json()[0]["result"], json!({}));
}

/// `initialize` inside a batch, and an empty batch, are 400 `-32600`.
pub async fn batch_rules_are_enforced(t: &Target) {
    let session = t.connect_with("2025-03-26", json!({})).await;
    let with_initialize = json!([
        {"jsonrpc": "2.0", "id": next_id(), "method": "ping"},
        crate::initialize_body(next_id(), "2025-03-26")
    ]);
    let response = session.send(session.post(&with_initialize)).await;
    assert_error(&response, 400, -32600, "initialize in a batch");
    let response = session.send(session.post(&json!([]))).await;
    assert_error(&response, 400, -32600, "empty batch");
    let response = session
        .send(
            session
                .post(&json!(null))
                .extension(bytes::Bytes::from_static(b"[{\"jsonrpc\": ")),
        )
        .await;
    assert_error(&response, 400, -32700, "truncated batch");
    let pings: Vec<Value> = (0..101)
        .map(|_| json!({"jsonrpc": "2.0", "id": next_id(), "method": "ping"}))
        .collect();
    let response = session.send(session.post(&Value::Array(pings))).await;
    assert_error(&response, 400, -32600, "a batch of 101");
    let message = response.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("at most 100"), "{message}");
    let pings: Vec<Value> = (0..100)
        .map(|_| json!({"jsonrpc": "2.0", "id": next_id(), "method": "ping"}))
        .collect();
    let response = session.send(session.post(&Value::Array(pings))).await;
    assert_eq!(response.status, 200, "a batch of 100: {:?}", response.body);
    assert_eq!(response.json().as_array().map(Vec::len), Some(100));
    // The session still works.
    let response = session
        .send(session.post(&request_body("ping", json!({}))))
        .await;
    assert_eq!(response.result(), json!({}));
}
