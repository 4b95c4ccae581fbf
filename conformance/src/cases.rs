//! The wire-level cases. Each builds its own requests, sends them over real HTTP to a
//! [`Target`], and panics (failing its test) when the answer breaks the rule it checks.

use std::time::Duration;

use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::{Target, initialize_body, next_id, request_body};

mod client_requests;
mod faults;
mod features;
mod modern;
mod routes;
mod schemas;
mod streams;
mod tasks;

pub use client_requests::*;
pub use faults::*;
pub use features::*;
pub use modern::*;
pub use routes::*;
pub use schemas::*;
pub use streams::*;
pub use tasks::*;

const EVENT_WAIT: Duration = Duration::from_secs(5);

fn unique(label: &str) -> String {
    format!("{label}-{}-{}", std::process::id(), next_id())
}

fn assert_error(response: &crate::Response, status: u16, code: i64, what: &str) {
    assert_eq!(
        response.status, status,
        "{what}: status; body {:?}",
        response.body
    );
    assert_eq!(
        response.content_type(),
        "application/json",
        "{what}: content type"
    );
    assert_eq!(
        response.error_code(),
        code,
        "{what}: JSON-RPC code; body {:?}",
        response.body
    );
}

fn text_of(result: &Value) -> String {
    result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected text content, got {result}"))
        .to_owned()
}

// ---- lifecycle ----

/// `initialize` offering 2025-11-25 gets it back, with `serverInfo`, capabilities and a session.
pub async fn initialize_negotiates_latest(t: &Target) {
    let response = t
        .send(t.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), "application/json");
    let result = response.result();
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert_eq!(result["serverInfo"]["name"], "mcp-conformance-test-server");
    assert!(result["serverInfo"]["version"].is_string());
    assert!(
        result["capabilities"]["tools"].is_object(),
        "tools capability: {result}"
    );
    assert!(
        result["capabilities"]["logging"].is_object(),
        "logging capability: {result}"
    );
    assert!(result["instructions"].is_string());
    assert!(response.header("mcp-session-id").is_some());
}

/// Each supported version is echoed back unchanged.
pub async fn initialize_echoes_each_supported_version(t: &Target) {
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let response = t.send(t.post(&initialize_body(next_id(), version))).await;
        assert_eq!(response.result()["protocolVersion"], version);
    }
}

/// An unknown version is answered with the server's latest, not an error.
pub async fn initialize_counter_offers_unknown_version(t: &Target) {
    let response = t
        .send(t.post(&initialize_body(next_id(), "1999-01-01")))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.result()["protocolVersion"], "2025-11-25");
}

/// `initialize` without `protocolVersion` is `-32602`.
pub async fn initialize_without_version_is_invalid_params(t: &Target) {
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "initialize", "params": {"capabilities": {}}});
    let response = t.send(t.post(&body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.error_code(), -32602);
    assert!(response.header("mcp-session-id").is_none());
}

/// A second `initialize` on a live session is 400 `-32600`.
pub async fn second_initialize_is_rejected(t: &Target) {
    let session = t.connect().await;
    let response = session
        .send(session.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_error(&response, 400, -32600, "second initialize");
    // The session is still usable.
    session.call("ping", json!({})).await;
}

/// Session ids are 128 random bits or more, in visible ASCII, and differ between sessions.
pub async fn session_id_is_128_bit_visible_ascii(t: &Target) {
    let (a, b) = (t.connect().await, t.connect().await);
    for id in [&a.id, &b.id] {
        assert!(
            id.len() >= 32,
            "session id {id:?} is too short for 128 random bits"
        );
        assert!(
            id.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "session id {id:?} is not visible ASCII"
        );
    }
    assert_ne!(a.id, b.id);
}

/// `notifications/initialized` is 202 with an empty body.
pub async fn initialized_notification_is_202(t: &Target) {
    let session = t.connect().await;
    let response = session
        .send(session.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})))
        .await;
    assert_eq!(response.status, 202);
    assert!(
        response.body.is_empty(),
        "202 must have no body: {:?}",
        response.body
    );
}

/// A JSON-RPC response POSTed by the client is 202 with an empty body.
pub async fn client_response_is_202(t: &Target) {
    let session = t.connect().await;
    let response = session
        .send(session.post(&json!({"jsonrpc": "2.0", "id": "srv-1", "result": {}})))
        .await;
    assert_eq!(response.status, 202);
    assert!(response.body.is_empty());
}

/// `ping` answers `{}`.
pub async fn ping_returns_empty_object(t: &Target) {
    let session = t.connect().await;
    assert_eq!(session.call("ping", json!({})).await, json!({}));
    // `ping` without params.
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "ping"});
    assert_eq!(session.send(session.post(&body)).await.result(), json!({}));
}

/// Ids come back with their exact JSON type: string, integer, large integer.
pub async fn ids_are_echoed_with_their_type(t: &Target) {
    let session = t.connect().await;
    for id in [
        json!("abc-1"),
        json!(42),
        json!(-7),
        json!(18_446_744_073_709_551_615_u64),
        json!(""),
    ] {
        let response = session
            .send(session.post(&json!({"jsonrpc": "2.0", "id": id, "method": "ping"})))
            .await;
        assert_eq!(response.rpc()["id"], id, "id {id}");
    }
}

// ---- JSON-RPC errors ----

/// Invalid JSON is 400 `-32700`.
pub async fn malformed_json_is_400_parse_error(t: &Target) {
    let session = t.connect().await;
    for body in ["{\"jsonrpc\": \"2.0\", ", "not json", ""] {
        let response = session
            .send(
                session
                    .post(&json!(null))
                    .extension(bytes::Bytes::from_static(body.as_bytes())),
            )
            .await;
        assert_error(&response, 400, -32700, body);
    }
}

/// JSON that is not a valid JSON-RPC message is 400 `-32600`.
pub async fn invalid_requests_are_400_invalid_request(t: &Target) {
    let session = t.connect().await;
    for body in [
        json!({"foo": 1}),
        json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1, 2]}),
        json!(5),
    ] {
        let response = session.send(session.post(&body)).await;
        assert_error(&response, 400, -32600, &body.to_string());
    }
}

/// A batch on a 2025-11-25 session is refused clearly.
pub async fn batch_on_current_version_is_rejected(t: &Target) {
    let session = t.connect().await;
    let batch = json!([{"jsonrpc": "2.0", "id": next_id(), "method": "ping"}]);
    let response = session.send(session.post(&batch)).await;
    assert_error(&response, 400, -32600, "batch");
}

/// An unknown method is `-32601` (HTTP 200, as the legacy era answers JSON-RPC errors).
pub async fn unknown_method_is_method_not_found(t: &Target) {
    let session = t.connect().await;
    let response = session
        .send(session.post(&request_body("no/such/method", json!({}))))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.error_code(), -32601);
}

// ---- HTTP transport ----

/// POST must accept both JSON and SSE: otherwise 406.
pub async fn post_without_both_accept_types_is_406(t: &Target) {
    let session = t.connect().await;
    for accept in [
        "application/json",
        "text/event-stream",
        "text/html",
        "application/json, text/event-stream;q=0",
    ] {
        let mut request = session.post(&request_body("ping", json!({})));
        if let Some(headers) = request.headers_mut() {
            headers.insert("accept", accept.parse().unwrap_or_else(|_| unreachable!()));
        }
        let response = session.send(request).await;
        assert_error(&response, 406, -32000, accept);
    }
}

/// POST must be `application/json` (parameters allowed): otherwise 415.
pub async fn post_without_json_content_type_is_415(t: &Target) {
    let session = t.connect().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let mut request = session.post(&request_body("ping", json!({})));
        if let Some(headers) = request.headers_mut() {
            headers.insert(
                "content-type",
                content_type.parse().unwrap_or_else(|_| unreachable!()),
            );
        }
        assert_error(&session.send(request).await, 415, -32000, content_type);
    }
    let mut request = session.post(&request_body("ping", json!({})));
    if let Some(headers) = request.headers_mut() {
        headers.insert(
            "content-type",
            "application/json; charset=utf-8"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
    }
    assert_eq!(
        session.send(request).await.status,
        200,
        "charset parameter must be accepted"
    );
}

/// A body over the limit (16 KiB on the `limited` variant) is 413 with a JSON-RPC error.
pub async fn body_over_limit_is_413(t: &Target) {
    let limited = t.variant("limited");
    let session = limited.connect().await;
    let big = "x".repeat(20 * 1024);
    let response = session
        .send(session.post(&request_body(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": big}}),
        )))
        .await;
    assert_error(&response, 413, -32000, "oversized body");
    // Just under the limit is fine.
    let small = "x".repeat(8 * 1024);
    let result = session.call_tool("echo", json!({"text": small})).await;
    assert_eq!(text_of(&result).len(), 8 * 1024);
}

/// An unsupported `MCP-Protocol-Version` is 400.
pub async fn unsupported_protocol_version_header_is_400(t: &Target) {
    let session = t.connect().await;
    let mut request = session.post(&request_body("ping", json!({})));
    if let Some(headers) = request.headers_mut() {
        headers.insert(
            "mcp-protocol-version",
            "1999-01-01".parse().unwrap_or_else(|_| unreachable!()),
        );
    }
    let response = session.send(request).await;
    assert_eq!(response.status, 400);
    assert!(
        response.rpc()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("1999-01-01")
    );
}

/// Without `MCP-Protocol-Version`, 2025-03-26 is assumed and the request succeeds.
pub async fn missing_protocol_version_header_is_accepted(t: &Target) {
    let session = t.connect().await;
    let mut request = session.post(&request_body("ping", json!({})));
    if let Some(headers) = request.headers_mut() {
        headers.remove("mcp-protocol-version");
    }
    assert_eq!(session.send(request).await.result(), json!({}));
}

/// Any supported version is accepted on a session negotiated at 2025-11-25.
pub async fn any_supported_version_is_accepted_on_a_session(t: &Target) {
    let session = t.connect().await;
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let mut request = session.post(&request_body("tools/list", json!({})));
        if let Some(headers) = request.headers_mut() {
            headers.insert(
                "mcp-protocol-version",
                version.parse().unwrap_or_else(|_| unreachable!()),
            );
        }
        let response = session.send(request).await;
        assert_eq!(response.status, 200, "version {version}");
        assert!(response.result()["tools"].is_array());
    }
}

/// A request other than `initialize` without a session id is 400.
pub async fn request_without_session_is_400(t: &Target) {
    let response = t.send(t.post(&request_body("tools/list", json!({})))).await;
    assert_error(&response, 400, -32000, "no session");
}

/// An unknown session id is 404.
pub async fn unknown_session_is_404(t: &Target) {
    let response = t
        .send(
            t.post(&request_body("ping", json!({})))
                .header("mcp-session-id", "0123456789abcdef0123456789abcdef"),
        )
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.content_type(), "application/json");
}

/// DELETE ends the session; its id is then 404 for every method.
pub async fn delete_ends_the_session(t: &Target) {
    let session = t.connect().await;
    let delete = Request::builder()
        .method(Method::DELETE)
        .uri(t.url())
        .header("mcp-session-id", &session.id)
        .header("mcp-protocol-version", "2025-11-25");
    let response = t.send(delete).await;
    assert!(response.status.is_success(), "DELETE: {}", response.status);
    let after = session
        .send(session.post(&request_body("ping", json!({}))))
        .await;
    assert_eq!(after.status, 404, "POST after DELETE");
    let get = Request::builder()
        .method(Method::GET)
        .uri(t.url())
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session.id);
    assert_eq!(t.send(get).await.status, 404, "GET after DELETE");
    let again = Request::builder()
        .method(Method::DELETE)
        .uri(t.url())
        .header("mcp-session-id", &session.id);
    assert_eq!(t.send(again).await.status, 404, "second DELETE");
}

/// Methods other than GET, POST and DELETE are 405 with `Allow`.
pub async fn other_methods_are_405_with_allow(t: &Target) {
    for method in [Method::PUT, Method::PATCH, Method::HEAD, Method::OPTIONS] {
        let response = t
            .send(Request::builder().method(method.clone()).uri(t.url()))
            .await;
        assert_eq!(response.status, 405, "{method}");
        let allow = response
            .header("allow")
            .unwrap_or_else(|| panic!("{method}: 405 without Allow"));
        for m in ["GET", "POST", "DELETE"] {
            assert!(allow.contains(m), "{method}: Allow {allow:?} lacks {m}");
        }
    }
}

/// GET with a session opens its SSE stream. A newer GET replaces it: the older stream ends, so
/// a client that reconnects is never locked out by a stream whose death the server missed.
pub async fn get_opens_the_session_stream(t: &Target) {
    let session = t.connect().await;
    let get = || {
        Request::builder()
            .method(Method::GET)
            .uri(t.url())
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session.id)
            .header("mcp-protocol-version", "2025-11-25")
    };
    let mut first = t.open(get()).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let second = t.open(get()).await;
    assert_eq!(second.status, 200, "a newer GET stream must be accepted");
    match first.next_message(EVENT_WAIT).await {
        Ok(None) => {}
        Ok(Some(message)) => panic!("the replaced stream carried a message: {message}"),
        Err(()) => panic!("the replaced GET stream did not end"),
    }
    drop(second);
    // After the client dropped it, yet another stream opens at once.
    assert_eq!(t.open(get()).await.status, 200);
}

/// GET without `text/event-stream` in `Accept` is 406.
pub async fn get_needs_event_stream_accept(t: &Target) {
    let session = t.connect().await;
    let get = Request::builder()
        .method(Method::GET)
        .uri(t.url())
        .header("accept", "application/json")
        .header("mcp-session-id", &session.id);
    assert_error(&t.send(get).await, 406, -32000, "GET accept");
}

/// GET without a session id is 400.
pub async fn get_needs_a_session(t: &Target) {
    let get = Request::builder()
        .method(Method::GET)
        .uri(t.url())
        .header("accept", "text/event-stream");
    assert_error(&t.send(get).await, 400, -32000, "GET without session");
}

/// Past the session cap (2 on the `capped` variant), `initialize` is 503; ending a session
/// frees a place.
pub async fn session_cap_is_503(t: &Target) {
    let capped = t.variant("capped");
    let mut sessions = Vec::new();
    let mut refused = None;
    for _ in 0..6 {
        let id = next_id();
        let response = capped
            .send(capped.post(&initialize_body(id, "2025-11-25")))
            .await;
        if response.status == 503 {
            refused = Some((id, response));
            break;
        }
        assert_eq!(response.status, 200);
        if let Some(id) = response.header("mcp-session-id") {
            sessions.push(id.to_owned());
        }
    }
    let refused =
        refused.unwrap_or_else(|| panic!("no 503 after {} sessions on a cap of 2", sessions.len()));
    let (id, refused) = refused;
    assert_eq!(refused.content_type(), "application/json");
    assert!(refused.rpc()["error"]["code"].is_i64());
    assert_eq!(
        refused.rpc()["id"],
        id,
        "the 503 names the request it refuses"
    );
    let delete = |id: &str| {
        Request::builder()
            .method(Method::DELETE)
            .uri(capped.url())
            .header("mcp-session-id", id)
    };
    if let Some(id) = sessions.pop() {
        assert!(capped.send(delete(&id)).await.status.is_success());
        let response = capped
            .send(capped.post(&initialize_body(next_id(), "2025-11-25")))
            .await;
        assert_eq!(response.status, 200, "initialize after freeing a place");
        if let Some(id) = response.header("mcp-session-id") {
            sessions.push(id.to_owned());
        }
    }
    for id in sessions {
        capped.send(delete(&id)).await;
    }
}

/// Under a full cap (2 on the `crowded` variant), a session idle long enough (400 ms there)
/// makes room for a new one instead of the newcomer being refused; one in use stays.
pub async fn idle_sessions_make_room_under_the_cap(t: &Target) {
    let crowded = t.variant("crowded");
    let idle = crowded.connect().await;
    let busy = crowded.connect().await;
    // Both just used: a third is refused, with its id.
    let id = next_id();
    let refused = crowded
        .send(crowded.post(&initialize_body(id, "2025-11-25")))
        .await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    assert_eq!(refused.rpc()["id"], id);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(busy.call("ping", json!({})).await, json!({}));
    let newcomer = crowded.connect().await;
    let gone = idle.send(idle.post(&request_body("ping", json!({})))).await;
    assert_eq!(gone.status, 404, "the longest-idle session made room");
    assert_eq!(busy.call("ping", json!({})).await, json!({}));
    assert_eq!(newcomer.call("ping", json!({})).await, json!({}));
    for session in [busy, newcomer] {
        session.delete().await;
    }
}
/// With a per-client cap (2 on the `per-client` variant), a client past it gets 429 with
/// `Retry-After`, its request id and a message naming the setting, while other clients are
/// served; one of its own sessions idle long enough (400 ms there) makes room for its next.
/// A client is its principal; without one, its address.
pub async fn sessions_are_capped_per_client(t: &Target) {
    let capped = t.variant("per-client");
    let as_user = |builder: http::request::Builder, user: Option<&str>| match user {
        Some(user) => builder.header("x-user", user),
        None => builder,
    };
    let open = |user: Option<&'static str>| {
        let capped = capped.clone();
        async move {
            let id = next_id();
            let response = capped
                .send(as_user(
                    capped.post(&initialize_body(id, "2025-11-25")),
                    user,
                ))
                .await;
            (id, response)
        }
    };
    let ping = |session: &str, user: Option<&str>| {
        let builder = capped
            .post(&request_body("ping", json!({})))
            .header("mcp-session-id", session);
        capped.send(as_user(builder, user))
    };
    for user in [Some("alice"), None] {
        let mut sessions = Vec::new();
        for _ in 0..2 {
            let (_, response) = open(user).await;
            assert_eq!(response.status, 200, "{user:?}: {:?}", response.body);
            if let Some(id) = response.header("mcp-session-id") {
                sessions.push(id.to_owned());
            }
        }
        assert_eq!(
            sessions.len(),
            2,
            "{user:?}: initialize issued no session id"
        );
        let (id, refused) = open(user).await;
        assert_eq!(refused.status, 429, "{user:?}'s third: {:?}", refused.body);
        assert!(refused.header("retry-after").is_some(), "{user:?}'s 429");
        let error = refused.rpc();
        assert_eq!(error["id"], id, "{user:?}'s 429 carries the request id");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("max_sessions_per_client"),
            "the 429 names the setting: {message:?}"
        );
        // Another client is not held back by this one.
        let other = if user.is_some() {
            Some("bob")
        } else {
            Some("carol")
        };
        let (_, served) = open(other).await;
        assert_eq!(
            served.status, 200,
            "{other:?} beside {user:?}: {:?}",
            served.body
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        // The second stays in use; the first, idle, makes room for the client's next.
        assert_eq!(ping(&sessions[1], user).await.status, 200);
        let (_, next) = open(user).await;
        assert_eq!(next.status, 200, "{user:?} after idling: {:?}", next.body);
        assert_eq!(
            ping(&sessions[0], user).await.status,
            404,
            "{user:?}'s longest-idle session made room"
        );
        assert_eq!(ping(&sessions[1], user).await.status, 200);
        let mut ends: Vec<(String, Option<&str>)> = vec![(sessions[1].clone(), user)];
        ends.extend(
            next.header("mcp-session-id")
                .map(|id| (id.to_owned(), user)),
        );
        ends.extend(
            served
                .header("mcp-session-id")
                .map(|id| (id.to_owned(), other)),
        );
        for (id, user) in ends {
            let delete = Request::builder()
                .method(Method::DELETE)
                .uri(capped.url())
                .header("mcp-session-id", id);
            capped.send(as_user(delete, user)).await;
        }
    }
}

/// An idle session expires after its TTL (800 ms on the `expiring` variant): then 404.
pub async fn idle_sessions_expire(t: &Target) {
    let expiring = t.variant("expiring");
    let session = expiring.connect().await;
    session.call("ping", json!({})).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let response = session
        .send(session.post(&request_body("ping", json!({}))))
        .await;
    assert_eq!(response.status, 404, "request on an expired session");
}

/// In stateless mode no session is issued or needed, and every method works alone.
pub async fn stateless_mode_needs_no_session(t: &Target) {
    let stateless = t.variant("stateless");
    let init = stateless
        .send(stateless.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_eq!(init.status, 200);
    assert!(
        init.header("mcp-session-id").is_none(),
        "stateless initialize issued a session"
    );
    let response = stateless
        .send(stateless.post(&request_body(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
        )))
        .await;
    assert_eq!(text_of(&response.result()), "5");
    // A stray session header is ignored.
    let response = stateless
        .send(
            stateless
                .post(&request_body("ping", json!({})))
                .header("mcp-session-id", "whatever"),
        )
        .await;
    assert_eq!(response.result(), json!({}));
}

/// In stateless mode GET and DELETE are 405.
pub async fn stateless_mode_has_no_get_or_delete(t: &Target) {
    let stateless = t.variant("stateless");
    for method in [Method::GET, Method::DELETE] {
        let response = stateless
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(stateless.url())
                    .header("accept", "text/event-stream"),
            )
            .await;
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("POST"));
    }
}

// ---- security ----

/// A foreign `Host` (DNS rebinding) is 403.
pub async fn foreign_host_is_403(t: &Target) {
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("host", "evil.example.com"),
        )
        .await;
    assert_error(&response, 403, -32000, "foreign Host");
    let message = response.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("allowed_hosts") && message.contains("trusted_proxies"),
        "the refusal names the settings that change it: {message}"
    );
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("host", "evil.example.com")
                .header("origin", "http://evil.example.com"),
        )
        .await;
    assert_eq!(response.status, 403, "foreign Host and Origin");
}

/// A foreign `Origin` with a good `Host` is 403 too.
pub async fn foreign_origin_is_403(t: &Target) {
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("origin", "https://evil.example.com"),
        )
        .await;
    assert_error(&response, 403, -32000, "foreign Origin");
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("origin", "null"),
        )
        .await;
    assert_eq!(response.status, 403, "Origin: null");
}

/// Loopback origins and a same-origin `Origin` are accepted.
pub async fn loopback_origin_is_allowed(t: &Target) {
    let same_origin = format!("http://{}", t.authority());
    for origin in [
        "http://localhost:5173",
        "http://127.0.0.1:8080",
        same_origin.as_str(),
    ] {
        let response = t
            .send(
                t.post(&initialize_body(next_id(), "2025-11-25"))
                    .header("origin", origin),
            )
            .await;
        assert_eq!(response.status, 200, "Origin {origin}");
    }
}

// ---- mounting ----

/// `{prefix}/` is the same endpoint as `{prefix}`, with no redirect.
pub async fn trailing_slash_is_the_same_endpoint(t: &Target) {
    let slash = Target::new(format!("{}/", t.url()));
    let request = slash
        .post(&initialize_body(next_id(), "2025-11-25"))
        .uri(format!("{}/", t.url()));
    let response = slash.send(request).await;
    assert_eq!(response.status, 200, "initialize at {}/", t.url());
    let id = response.header("mcp-session-id").unwrap_or("").to_owned();
    let ping = t
        .post(&request_body("ping", json!({})))
        .uri(format!("{}/", t.url()))
        .header("mcp-session-id", id);
    assert_eq!(t.send(ping).await.result(), json!({}));
}

/// A path below the endpoint that names nothing is 404 with a JSON body; a sibling path
/// outside the mount is not answered by the MCP server.
pub async fn unknown_sub_path_is_404_json(t: &Target) {
    let response = t
        .send(
            t.post(&request_body("ping", json!({})))
                .uri(format!("{}/no-such-route", t.url())),
        )
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.content_type(), "application/json");
    assert!(response.json()["error"]["message"].is_string());
    let outside = t
        .send(
            t.post(&request_body("ping", json!({})))
                .uri(format!("{}x", t.url())),
        )
        .await;
    assert_ne!(
        outside.status,
        StatusCode::OK,
        "{}x must not reach the MCP server",
        t.url()
    );
}

// ---- tools ----

/// Every tool has a name, a description and an object input schema; `add` has a generated one.
pub async fn tools_list_describes_every_tool(t: &Target) {
    let session = t.connect().await;
    let result = session.call("tools/list", json!({})).await;
    let tools = result["tools"].as_array().cloned().unwrap_or_default();
    assert!(
        tools.len() >= 10,
        "expected the fixture's tools, got {result}"
    );
    for tool in &tools {
        assert!(
            tool["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{tool}"
        );
        assert!(
            tool["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{tool}"
        );
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    }
    let add = tools
        .iter()
        .find(|t| t["name"] == "add")
        .cloned()
        .unwrap_or_default();
    assert_eq!(add["title"], "Add");
    assert_eq!(add["annotations"]["readOnlyHint"], true);
    assert_eq!(
        add["inputSchema"]["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(add["inputSchema"]["properties"]["a"]["type"], "integer");
    let required = add["inputSchema"]["required"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        required.contains(&json!("a")) && required.contains(&json!("b")),
        "{add}"
    );
    assert!(
        add.get("outputSchema").is_none(),
        "a text tool has no outputSchema"
    );
}

/// Pages of 2 (the `limited` variant) walk the whole list with opaque cursors.
pub async fn tools_list_paginates_with_opaque_cursors(t: &Target) {
    let full: Vec<Value> = {
        let session = t.connect().await;
        let result = session.call("tools/list", json!({})).await;
        assert!(
            result.get("nextCursor").is_none(),
            "the main fixture fits one page"
        );
        result["tools"].as_array().cloned().unwrap_or_default()
    };
    let limited = t.variant("limited");
    let session = limited.connect().await;
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let params = cursor
            .as_ref()
            .map_or_else(|| json!({}), |c| json!({"cursor": c}));
        let page = session.call("tools/list", params).await;
        let tools = page["tools"].as_array().cloned().unwrap_or_default();
        assert!(tools.len() <= 2, "page larger than 2: {page}");
        walked.extend(tools);
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // The main fixture also carries its host's own routes as tools (`hosts::shop`); the
    // variants carry the fixture's alone.
    let names = |v: &[Value]| {
        v.iter()
            .map(|t| t["name"].clone())
            .filter(|n| !crate::hosts::shop::TOOLS.iter().any(|s| n == s))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&walked), names(&full));
}

/// An invalid cursor is `-32602`.
pub async fn tools_list_invalid_cursor_is_invalid_params(t: &Target) {
    let session = t.connect().await;
    for cursor in ["not-a-cursor", "o999999", ""] {
        let response = session
            .request("tools/list", json!({"cursor": cursor}))
            .await;
        assert_eq!(response.error_code(), -32602, "cursor {cursor:?}");
    }
}

/// A hand-written 2020-12 schema with `$defs`, `$ref` and `additionalProperties` is passed
/// through verbatim.
pub async fn json_schema_2020_12_passes_through_verbatim(t: &Target) {
    let session = t.connect().await;
    let tools = session.call("tools/list", json!({})).await;
    let tool = tools["tools"]
        .as_array()
        .and_then(|tools| {
            tools
                .iter()
                .find(|t| t["name"] == "json_schema_2020_12_tool")
                .cloned()
        })
        .unwrap_or_else(|| panic!("json_schema_2020_12_tool missing"));
    let schema = &tool["inputSchema"];
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["$defs"]["address"]["properties"]["city"]["type"],
        "string"
    );
    assert_eq!(schema["properties"]["address"]["$ref"], "#/$defs/address");
    assert_eq!(schema["additionalProperties"], false);
    // The broader 2020-12 vocabulary (SEP-2106) is kept too.
    assert_eq!(schema["$defs"]["address"]["$anchor"], "addressDef");
    assert!(schema["allOf"][0]["anyOf"].is_array(), "{schema}");
    assert!(
        schema["if"].is_object() && schema["then"].is_object() && schema["else"].is_object(),
        "{schema}"
    );
}

/// A typed tool returns text.
pub async fn tools_call_returns_text(t: &Target) {
    let session = t.connect().await;
    let result = session.call_tool("add", json!({"a": 2, "b": 3})).await;
    assert_eq!(text_of(&result), "5");
    assert_eq!(result["content"][0]["type"], "text");
    assert_ne!(result["isError"], true);
}

/// A call with no `arguments` key (as the official suite sends) works.
pub async fn tools_call_without_arguments(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call("tools/call", json!({"name": "test_simple_text"}))
        .await;
    assert_eq!(
        text_of(&result),
        "This is a simple text response for testing."
    );
    let result = session
        .call(
            "tools/call",
            json!({"name": "test_simple_text", "arguments": null}),
        )
        .await;
    assert_eq!(
        text_of(&result),
        "This is a simple text response for testing."
    );
}

/// `Json<T>` gives `structuredContent`, a text copy, and an `outputSchema` in the list.
pub async fn tools_call_structured_output(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call_tool("add_structured", json!({"a": 40, "b": 2}))
        .await;
    assert_eq!(result["structuredContent"], json!({"sum": 42}));
    let text: Value = serde_json::from_str(&text_of(&result)).unwrap_or(Value::Null);
    assert_eq!(
        text,
        json!({"sum": 42}),
        "the text copy must be the same JSON"
    );
    let tools = session.call("tools/list", json!({})).await;
    let tool = tools["tools"]
        .as_array()
        .and_then(|tools| {
            tools
                .iter()
                .find(|t| t["name"] == "add_structured")
                .cloned()
        })
        .unwrap_or_default();
    assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
    assert_eq!(
        tool["outputSchema"]["properties"]["sum"]["type"], "integer",
        "{tool}"
    );
}

/// Image, audio, embedded resource, resource link and mixed content come out as the spec shapes them.
pub async fn tools_call_content_types(t: &Target) {
    let session = t.connect().await;
    let image = session.call_tool("test_image_content", json!({})).await;
    assert_eq!(
        image["content"][0],
        json!({"type": "image", "data": crate::fixture::PNG, "mimeType": "image/png"})
    );
    let audio = session.call_tool("test_audio_content", json!({})).await;
    assert_eq!(audio["content"][0]["type"], "audio");
    assert_eq!(audio["content"][0]["mimeType"], "audio/wav");
    let embedded = session.call_tool("test_embedded_resource", json!({})).await;
    assert_eq!(
        embedded["content"][0],
        json!({"type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain",
            "text": "This is an embedded resource content."}})
    );
    let link = session.call_tool("resource_link", json!({})).await;
    assert_eq!(
        link["content"][0],
        json!({"type": "resource_link", "uri": "test://static-text", "name": "static-text"})
    );
    let mixed = session
        .call_tool("test_multiple_content_types", json!({}))
        .await;
    let types: Vec<&str> = mixed["content"]
        .as_array()
        .map(|c| c.iter().filter_map(|b| b["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["text", "image", "resource"]);
}

/// Arguments that do not fit the tool's schema are a tool execution error (SEP-1303), not a
/// protocol error; arguments that are not an object at all are `-32602`.
pub async fn tools_call_invalid_arguments_is_tool_error(t: &Target) {
    let session = t.connect().await;
    for arguments in [
        json!({"a": "two", "b": 3}),
        json!({"a": 1}),
        json!({"a": 1, "b": 1.5}),
    ] {
        let result = session.call_tool("add", arguments.clone()).await;
        assert_eq!(result["isError"], true, "arguments {arguments}: {result}");
        assert!(!text_of(&result).is_empty());
    }
    // The text says which field and what was expected, without serde's parser position (the
    // client sent one line; "at line 1 column 8" tells it nothing).
    for (arguments, says) in [
        (json!({"a": "two", "b": 3}), ["`a`", "expected i64"]),
        (json!({"a": 1}), ["missing field `b`", "add"]),
        (json!({"a": 1, "b": 1.5}), ["`b`", "expected i64"]),
    ] {
        let text = text_of(&session.call_tool("add", arguments.clone()).await);
        for part in says {
            assert!(
                text.contains(part),
                "arguments {arguments}: {text:?} lacks {part:?}"
            );
        }
        assert!(
            !text.contains(" at line "),
            "arguments {arguments}: {text:?}"
        );
    }
    // Arguments that are not an object break the message's own shape: a protocol error.
    let response = session
        .request("tools/call", json!({"name": "add", "arguments": [1, 2]}))
        .await;
    assert_eq!(response.error_code(), -32602);
}

/// A handler's `Err` is `isError: true` with its message.
pub async fn tools_call_failure_is_tool_error(t: &Target) {
    let session = t.connect().await;
    let result = session.call_tool("test_error_handling", json!({})).await;
    assert_eq!(result["isError"], true);
    assert_eq!(
        text_of(&result),
        "This tool intentionally returns an error for testing"
    );
}

/// An unknown tool is `-32602`.
pub async fn tools_call_unknown_tool_is_invalid_params(t: &Target) {
    let session = t.connect().await;
    let response = session
        .request(
            "tools/call",
            json!({"name": "no_such_tool", "arguments": {}}),
        )
        .await;
    assert_eq!(response.error_code(), -32602);
}

/// `tools/call` without a name, or without params, is `-32602`.
pub async fn tools_call_without_name_is_invalid_params(t: &Target) {
    let session = t.connect().await;
    let response = session
        .request("tools/call", json!({"arguments": {}}))
        .await;
    assert_eq!(response.error_code(), -32602);
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call"});
    assert_eq!(session.send(session.post(&body)).await.error_code(), -32602);
}

// ---- streaming ----

async fn call_streaming(session: &crate::Session, body: &Value) -> Vec<Value> {
    let response = session.send(session.post(body)).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.content_type(),
        "text/event-stream",
        "a call that sends notifications streams"
    );
    response.messages()
}

/// Progress notifications ride the request's SSE stream before its result.
pub async fn progress_streams_on_the_request(t: &Target) {
    let session = t.connect().await;
    let id = next_id();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "arguments": {}, "_meta": {"progressToken": 77}}});
    let messages = call_streaming(&session, &body).await;
    let progress: Vec<&Value> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 3, "{messages:?}");
    let values: Vec<f64> = progress
        .iter()
        .filter_map(|m| m["params"]["progress"].as_f64())
        .collect();
    assert!(
        values.windows(2).all(|w| w[0] < w[1]),
        "progress must increase: {values:?}"
    );
    assert_eq!(progress[0]["params"]["total"], 100.0);
    let last = messages.last().cloned().unwrap_or_default();
    assert_eq!(last["id"], id, "the result comes last");
    assert_eq!(text_of(&last["result"]), "Tool with progress completed");
    // Without a token, no progress is sent and the answer is plain JSON.
    let response = session
        .send(session.post(&request_body(
            "tools/call",
            json!({"name": "test_tool_with_progress"}),
        )))
        .await;
    assert_eq!(response.content_type(), "application/json");
}

/// The progress token is echoed with its JSON type (number or string).
pub async fn progress_token_keeps_its_type(t: &Target) {
    let session = t.connect().await;
    for token in [json!(5), json!("tok-5")] {
        let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
            "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": token}}});
        let messages = call_streaming(&session, &body).await;
        let first = messages
            .iter()
            .find(|m| m["method"] == "notifications/progress")
            .cloned()
            .unwrap_or_default();
        assert_eq!(first["params"]["progressToken"], token);
    }
}

/// Log messages stream during a call, filtered by `logging/setLevel`.
pub async fn logging_streams_and_filters(t: &Target) {
    let session = t.connect().await;
    assert_eq!(
        session
            .call("logging/setLevel", json!({"level": "debug"}))
            .await,
        json!({})
    );
    let messages = call_streaming(
        &session,
        &request_body("tools/call", json!({"name": "test_tool_with_logging"})),
    )
    .await;
    let logs: Vec<&Value> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .collect();
    assert_eq!(logs.len(), 3, "{messages:?}");
    assert_eq!(logs[0]["params"]["level"], "info");
    assert_eq!(logs[0]["params"]["data"], "Tool execution started");
    session
        .call("logging/setLevel", json!({"level": "error"}))
        .await;
    let response = session
        .request("tools/call", json!({"name": "test_tool_with_logging"}))
        .await;
    assert_eq!(
        response.content_type(),
        "application/json",
        "info messages must be filtered at level error"
    );
    assert_eq!(text_of(&response.result()), "Tool with logging completed");
}

/// An unknown log level is `-32602`.
pub async fn logging_set_level_rejects_unknown_levels(t: &Target) {
    let session = t.connect().await;
    assert_eq!(
        session
            .request("logging/setLevel", json!({"level": "loud"}))
            .await
            .error_code(),
        -32602
    );
    assert_eq!(
        session
            .request("logging/setLevel", json!({}))
            .await
            .error_code(),
        -32602
    );
}

/// In JSON response mode (the `limited` variant) a call that would stream answers in JSON.
pub async fn json_mode_answers_in_json(t: &Target) {
    let session = t.variant("limited").connect().await;
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": 1}}});
    let response = session.send(session.post(&body)).await;
    assert_eq!(response.content_type(), "application/json");
    assert_eq!(text_of(&response.result()), "Tool with progress completed");
}

/// In SSE response mode (the `impatient` variant) even `ping` answers as an SSE stream: a
/// priming event (2025-11-25 session), then one message event.
pub async fn sse_mode_answers_in_sse(t: &Target) {
    let impatient = t.variant("impatient");
    let session = impatient.connect().await;
    let response = session.request("ping", json!({})).await;
    assert_eq!(response.content_type(), "text/event-stream");
    let events = crate::client::parse_sse(&response.body);
    assert_eq!(events.len(), 2, "{:?}", response.body);
    assert!(
        events[0].data.is_empty() && events[0].id.is_some(),
        "priming event first: {:?}",
        response.body
    );
    assert_eq!(events[1].event.as_deref(), Some("message"));
    assert_eq!(response.result(), json!({}));
    let delete = Request::builder()
        .method(Method::DELETE)
        .uri(impatient.url())
        .header("mcp-session-id", &session.id);
    impatient.send(delete).await;
}

/// An event reaches the client when the handler sends it, not when the stream ends: the
/// `gate` tool holds its result until another request releases it.
pub async fn stream_events_are_not_buffered(t: &Target) {
    let session = t.connect().await;
    let key = unique("gate");
    let mut stream = session
        .open(session.post(&request_body(
            "tools/call",
            json!({"name": "gate", "arguments": {"key": key}}),
        )))
        .await;
    assert_eq!(stream.status, 200);
    let first = stream
        .next_message(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("the first event was held back: the stream is buffered"));
    let first = first.unwrap_or_else(|| panic!("the stream ended before its first event"));
    assert_eq!(first["method"], "notifications/message");
    let released = session.call_tool("release", json!({"key": key})).await;
    assert_eq!(text_of(&released), "ok");
    let last = stream
        .next_message(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("no result after release"))
        .unwrap_or_else(|| panic!("the stream ended without a result"));
    assert_eq!(text_of(&last["result"]), "released");
    assert_eq!(
        stream.next_message(EVENT_WAIT).await,
        Ok(None),
        "the stream ends after the result"
    );
}

/// `notifications/cancelled` aborts the running handler; its stream ends with no result.
pub async fn cancellation_aborts_the_handler(t: &Target) {
    let session = t.connect().await;
    let key = unique("slow");
    let id = next_id();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "slow", "arguments": {"key": key}}});
    let mut stream = session.open(session.post(&body)).await;
    let started = stream.next_message(EVENT_WAIT).await.ok().flatten();
    assert_eq!(
        started.map(|m| m["method"].clone()),
        Some(json!("notifications/message"))
    );
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id, "reason": "test"}});
    assert_eq!(session.send(session.post(&cancel)).await.status, 202);
    match stream.next_message(EVENT_WAIT).await {
        Ok(None) => {}
        Ok(Some(message)) => panic!("a cancelled request must get no response, got {message}"),
        Err(()) => panic!("the stream did not end after cancellation"),
    }
    let result = session
        .call_tool("was_cancelled", json!({"key": key}))
        .await;
    assert_eq!(
        text_of(&result),
        "true",
        "the handler kept running after cancellation"
    );
}

/// What the host's middleware put in the request extensions reaches the handler, per request.
pub async fn host_extensions_reach_handlers(t: &Target) {
    let session = t.connect().await;
    for user in ["alice", "bob"] {
        let response = session
            .send(
                session
                    .post(&request_body("tools/call", json!({"name": "whoami"})))
                    .header("x-user", user),
            )
            .await;
        assert_eq!(text_of(&response.result()), user);
    }
    let response = session
        .request("tools/call", json!({"name": "whoami"}))
        .await;
    assert_eq!(
        response.result()["isError"],
        true,
        "no principal without the header"
    );
}

/// Many concurrent requests on one session each get their own answer.
pub async fn concurrent_requests_on_one_session(t: &Target) {
    let session = t.connect().await;
    let calls = (0..16).map(|i| {
        let session = session.clone();
        async move {
            let result = session.call_tool("add", json!({"a": i, "b": 1000})).await;
            assert_eq!(text_of(&result), (i + 1000).to_string());
        }
    });
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    for handle in handles {
        if let Err(e) = handle.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

// ---- the 2024-11-05 HTTP+SSE transport ----

/// Opens `{url}/sse` and reads its `endpoint` event; the stream and the endpoint path.
async fn legacy_connect(t: &Target) -> (crate::Streaming, String) {
    let mut stream = t
        .open(
            Request::builder()
                .method(Method::GET)
                .uri(format!("{}/sse", t.url()))
                .header("accept", "text/event-stream"),
        )
        .await;
    assert_eq!(stream.status, 200, "GET {}/sse", t.url());
    assert_eq!(
        stream
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let event = stream
        .next_event(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("no endpoint event"))
        .unwrap_or_else(|| panic!("the stream ended before its endpoint event"));
    assert_eq!(
        event.event.as_deref(),
        Some("endpoint"),
        "the first event must be `endpoint`: {event:?}"
    );
    (stream, event.data)
}

fn legacy_post(t: &Target, endpoint: &str, body: &Value) -> http::request::Builder {
    t.post(body)
        .uri(format!("http://{}{endpoint}", t.authority()))
}

/// The `endpoint` event names `{prefix}/messages?sessionId=…`: the full external path, so old
/// clients work under any mount prefix.
pub async fn legacy_sse_endpoint_carries_the_full_path(t: &Target) {
    let (_stream, endpoint) = legacy_connect(t).await;
    let expected = format!("{}/messages?sessionId=", t.path());
    assert!(
        endpoint.starts_with(&expected),
        "endpoint {endpoint:?} should start with {expected:?}"
    );
    let id = &endpoint[expected.len()..];
    assert!(
        id.len() >= 32 && id.bytes().all(|c| c.is_ascii_alphanumeric()),
        "session id {id:?}"
    );
}

/// Messages POSTed to the endpoint are accepted with 202; answers, progress and all arrive on
/// the stream.
pub async fn legacy_sse_round_trip(t: &Target) {
    let (mut stream, endpoint) = legacy_connect(t).await;
    let post = |body: Value| legacy_post(t, &endpoint, &body);
    let accepted = t.send(post(initialize_body(1, "2024-11-05"))).await;
    assert_eq!(accepted.status, 202, "POST initialize: {:?}", accepted.body);
    let init = stream
        .next_message(EVENT_WAIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    let ack = t
        .send(post(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ))
        .await;
    assert_eq!(ack.status, 202);
    assert_eq!(t.send(post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 20, "b": 22}}}))).await.status, 202);
    let answer = stream
        .next_message(EVENT_WAIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(answer["id"], 2);
    assert_eq!(text_of(&answer["result"]), "42");
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "test_tool_with_progress", "_meta": {"progressToken": "p"}}});
    assert_eq!(t.send(post(call)).await.status, 202);
    let mut progress = 0;
    loop {
        let message = stream
            .next_message(EVENT_WAIT)
            .await
            .unwrap_or_else(|()| panic!("no answer to the progress call"))
            .unwrap_or_else(|| panic!("the stream ended"));
        if message["method"] == "notifications/progress" {
            assert_eq!(message["params"]["progressToken"], "p");
            progress += 1;
        } else {
            assert_eq!(message["id"], 3);
            assert_eq!(text_of(&message["result"]), "Tool with progress completed");
            break;
        }
    }
    assert_eq!(progress, 3);
}

/// The messages endpoint rejects what it cannot take, with spec-shaped errors.
pub async fn legacy_messages_reject_bad_input(t: &Target) {
    let (_stream, endpoint) = legacy_connect(t).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let missing = t
        .send(t.post(&ping).uri(format!("{}/messages", t.url())))
        .await;
    assert_error(&missing, 400, -32000, "no sessionId");
    let unknown = t
        .send(t.post(&ping).uri(format!(
            "{}/messages?sessionId=0123456789abcdef0123456789abcdef",
            t.url()
        )))
        .await;
    assert_eq!(unknown.status, 404, "unknown sessionId");
    let bad_json = t
        .send(
            legacy_post(t, &endpoint, &json!(null))
                .extension(bytes::Bytes::from_static(b"{not json")),
        )
        .await;
    assert_error(&bad_json, 400, -32700, "bad JSON");
    let mut text = legacy_post(t, &endpoint, &ping);
    if let Some(headers) = text.headers_mut() {
        headers.insert(
            "content-type",
            "text/plain".parse().unwrap_or_else(|_| unreachable!()),
        );
    }
    assert_error(&t.send(text).await, 415, -32000, "text/plain");
}

/// A stateless server has no sessions to give the old transport: 405.
pub async fn legacy_sse_needs_sessions(t: &Target) {
    let stateless = t.variant("stateless");
    let response = stateless
        .send(
            Request::builder()
                .method(Method::GET)
                .uri(format!("{}/sse", stateless.url()))
                .header("accept", "text/event-stream"),
        )
        .await;
    assert_eq!(response.status, 405);
}

// ---- behind proxies ----

/// `X-Forwarded-*` and `Forwarded` from a peer nobody trusted (the main fixture trusts none)
/// cannot rescue a foreign `Host`.
pub async fn untrusted_forwarding_headers_change_nothing(t: &Target) {
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("host", "evil.example.com")
                .header("x-forwarded-host", "localhost")
                .header("forwarded", "host=localhost;proto=http"),
        )
        .await;
    assert_eq!(
        response.status, 403,
        "forwarding headers from an untrusted peer were believed"
    );
}

/// Behind a trusted proxy (the `proxied` variant trusts loopback and allows only
/// `mcp.example.com`), the forwarded host is what the Host check sees, and emitted URLs carry
/// the forwarded prefix.
pub async fn trusted_proxy_shapes_host_check_and_urls(t: &Target) {
    let proxied = t.variant("proxied");
    let direct = proxied
        .send(proxied.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_eq!(
        direct.status, 403,
        "a direct request to 127.0.0.1 is not mcp.example.com"
    );
    for (name, value) in [
        ("x-forwarded-host", "mcp.example.com"),
        (
            "forwarded",
            "for=203.0.113.7;host=mcp.example.com;proto=https",
        ),
    ] {
        let via_proxy = proxied
            .send(
                proxied
                    .post(&initialize_body(next_id(), "2025-11-25"))
                    .header(name, value)
                    .header("x-forwarded-proto", "https")
                    .header("origin", "https://mcp.example.com"),
            )
            .await;
        assert_eq!(
            via_proxy.status, 200,
            "via the proxy ({name}): {:?}",
            via_proxy.body
        );
    }
    let mut stream = proxied
        .open(
            Request::builder()
                .method(Method::GET)
                .uri(format!("{}/sse", proxied.url()))
                .header("accept", "text/event-stream")
                .header("x-forwarded-host", "mcp.example.com")
                .header("x-forwarded-prefix", "/edge"),
        )
        .await;
    assert_eq!(stream.status, 200);
    let endpoint = stream
        .next_event(EVENT_WAIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let expected = format!("/edge{}/messages?sessionId=", proxied.path());
    assert!(
        endpoint.data.starts_with(&expected),
        "endpoint {:?} should start with {expected:?}",
        endpoint.data
    );
}

// ---- the REST view ----

fn rest(t: &Target, method: Method, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(format!("{}{path}", t.url()))
}

fn rest_post(t: &Target, path: &str, body: &str) -> http::request::Builder {
    rest(t, Method::POST, path)
        .header("content-type", "application/json")
        .extension(bytes::Bytes::from(body.to_owned()))
}

/// `GET {prefix}/tools` lists the same tools as `tools/list`.
pub async fn rest_lists_tools(t: &Target) {
    let response = t.send(rest(t, Method::GET, "/tools")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type(), "application/json");
    let listed: Vec<Value> = response.json()["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let session = t.connect().await;
    let mcp = session.call("tools/list", json!({})).await;
    assert_eq!(
        Some(&listed),
        mcp["tools"].as_array(),
        "the REST list must equal tools/list"
    );
}

/// `POST {prefix}/tools/{name}` calls the tool with the body as arguments; a tool failure is
/// still HTTP 200 with `isError`; the host's extensions reach the call.
pub async fn rest_calls_tools(t: &Target) {
    let response = t
        .send(rest_post(t, "/tools/add", r#"{"a": 2, "b": 3}"#))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(text_of(&response.json()), "5");
    let structured = t
        .send(rest_post(
            t,
            "/tools/add_structured",
            r#"{"a": 40, "b": 2}"#,
        ))
        .await;
    assert_eq!(structured.json()["structuredContent"], json!({"sum": 42}));
    let failed = t
        .send(rest_post(t, "/tools/test_error_handling", "{}"))
        .await;
    assert_eq!(
        failed.status, 200,
        "a tool failure is a result, not an HTTP error"
    );
    assert_eq!(failed.json()["isError"], true);
    let no_body = t
        .send(rest(t, Method::POST, "/tools/test_simple_text"))
        .await;
    assert_eq!(
        text_of(&no_body.json()),
        "This is a simple text response for testing."
    );
    let who = t
        .send(rest_post(t, "/tools/whoami", "{}").header("x-user", "carol"))
        .await;
    assert_eq!(text_of(&who.json()), "carol");
}

/// Bad REST calls get JSON errors with the right status.
pub async fn rest_rejects_bad_calls(t: &Target) {
    let unknown = t.send(rest_post(t, "/tools/no_such_tool", "{}")).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.json()["error"].is_string());
    let bad_json = t.send(rest_post(t, "/tools/add", "{not json")).await;
    assert_eq!(bad_json.status, 400);
    assert!(bad_json.json()["error"].is_string());
    let not_object = t.send(rest_post(t, "/tools/add", "[1, 2]")).await;
    assert_eq!(not_object.status, 400);
    let invalid_args = t.send(rest_post(t, "/tools/add", r#"{"a": "x"}"#)).await;
    assert_eq!(invalid_args.status, 200);
    assert_eq!(
        invalid_args.json()["isError"],
        true,
        "invalid arguments are a tool execution error"
    );
    let get = t.send(rest(t, Method::GET, "/tools/add")).await;
    assert_eq!(get.status, 405);
    let text = t
        .send(
            rest(t, Method::POST, "/tools/add")
                .header("content-type", "text/plain")
                .extension(bytes::Bytes::from_static(b"{}")),
        )
        .await;
    assert_eq!(text.status, 415);
}

/// `POST {prefix}/images/{tool}` answers the tool's first image as raw bytes with its MIME
/// type, and 422 with a JSON error when the tool produced none.
pub async fn rest_returns_images(t: &Target) {
    let image = t
        .send(rest_post(t, "/images/test_image_content", "{}"))
        .await;
    assert_eq!(image.status, 200);
    assert_eq!(image.content_type(), "image/png");
    assert!(
        image.body.starts_with(&[0x89, b'P', b'N', b'G']),
        "not PNG bytes: {:?}",
        image.body
    );
    let mixed = t
        .send(rest_post(t, "/images/test_multiple_content_types", "{}"))
        .await;
    assert_eq!(
        mixed.content_type(),
        "image/png",
        "the first image among other content"
    );
    let none = t.send(rest_post(t, "/images/test_simple_text", "{}")).await;
    assert_eq!(none.status, 422);
    assert!(none.json()["error"].is_string());
    let unknown = t.send(rest_post(t, "/images/no_such_tool", "{}")).await;
    assert_eq!(unknown.status, 404);
}

/// `GET {prefix}/openapi.json` describes every tool as an OpenAPI 3.1 operation, with its
/// input schema and the server's external URL.
pub async fn rest_describes_itself_as_openapi(t: &Target) {
    let response = t.send(rest(t, Method::GET, "/openapi.json")).await;
    assert_eq!(response.status, 200);
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let server_url = doc["servers"][0]["url"].as_str().unwrap_or("");
    assert!(
        server_url.ends_with(t.path()) && server_url.starts_with("http://"),
        "servers[0].url {server_url:?}"
    );
    let add = &doc["paths"]["/tools/add"]["post"];
    assert_eq!(add["operationId"], "add");
    let schema = &add["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(schema["properties"]["a"]["type"], "integer");
    assert!(
        schema["$id"].is_string(),
        "embedded schemas carry an $id so their $refs resolve: {schema}"
    );
    let nested = &doc["paths"]["/tools/json_schema_2020_12_tool"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(nested["properties"]["address"]["$ref"], "#/$defs/address");
    let structured = &doc["paths"]["/tools/add_structured"]["post"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert_eq!(
        structured["properties"]["structuredContent"]["properties"]["sum"]["type"],
        "integer"
    );
    assert!(doc["paths"]["/images/{tool}"]["post"].is_object());
}

/// The REST view sits behind the same Host and Origin checks, and is absent unless enabled
/// (the `limited` variant has it off).
pub async fn rest_view_is_behind_the_same_checks(t: &Target) {
    let foreign = t
        .send(rest(t, Method::GET, "/tools").header("host", "evil.example.com"))
        .await;
    assert_eq!(foreign.status, 403);
    let origin = t
        .send(
            rest_post(t, "/tools/add", r#"{"a":1,"b":1}"#)
                .header("origin", "http://evil.example.com"),
        )
        .await;
    assert_eq!(origin.status, 403);
    let limited = t.variant("limited");
    let off = t.send(rest(&limited, Method::GET, "/tools")).await;
    assert_eq!(off.status, 404);
}

// ---- CORS ----

/// A preflight from the allowed dashboard origin is answered with what a browser needs.
pub async fn cors_preflight_is_answered(t: &Target) {
    for path in ["", "/tools/add"] {
        let response = t
            .send(
                rest(t, Method::OPTIONS, path)
                    .header("origin", crate::fixture::DASHBOARD_ORIGIN)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "content-type, mcp-session-id, mcp-protocol-version, x-evil",
                    ),
            )
            .await;
        assert!(
            response.status.is_success(),
            "preflight at {path:?}: {}",
            response.status
        );
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some(crate::fixture::DASHBOARD_ORIGIN)
        );
        let methods = response
            .header("access-control-allow-methods")
            .unwrap_or("");
        assert!(
            methods.contains("POST") && methods.contains("DELETE"),
            "methods {methods:?}"
        );
        let headers = response
            .header("access-control-allow-headers")
            .unwrap_or("");
        for h in ["content-type", "mcp-session-id", "mcp-protocol-version"] {
            assert!(headers.contains(h), "allow-headers {headers:?} lacks {h}");
        }
        assert!(
            !headers.contains("x-evil"),
            "allow-headers {headers:?} must not echo anything asked"
        );
    }
}

/// Answers to the allowed origin carry `Access-Control-Allow-Origin` and expose
/// `Mcp-Session-Id`, so a browser client can keep its session.
pub async fn cors_answers_expose_the_session_id(t: &Target) {
    let response = t
        .send(
            t.post(&initialize_body(next_id(), "2025-11-25"))
                .header("origin", crate::fixture::DASHBOARD_ORIGIN),
        )
        .await;
    assert_eq!(
        response.status, 200,
        "the CORS-allowed origin passes the Origin check"
    );
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(crate::fixture::DASHBOARD_ORIGIN)
    );
    let exposed = response
        .header("access-control-expose-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    assert!(
        exposed.contains("mcp-session-id"),
        "expose-headers {exposed:?}"
    );
    let error = t
        .send(
            t.post(&request_body("ping", json!({})))
                .header("origin", crate::fixture::DASHBOARD_ORIGIN),
        )
        .await;
    assert_eq!(error.status, 400);
    assert_eq!(
        error.header("access-control-allow-origin"),
        Some(crate::fixture::DASHBOARD_ORIGIN),
        "errors carry CORS headers too"
    );
}

/// Other origins get no CORS headers and still meet the Origin check's 403; without a
/// preflight header OPTIONS is still 405.
pub async fn cors_does_not_open_the_door_to_other_origins(t: &Target) {
    let preflight = t
        .send(
            rest(t, Method::OPTIONS, "")
                .header("origin", "https://evil.example.com")
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert_eq!(preflight.status, 403);
    assert!(preflight.header("access-control-allow-origin").is_none());
    let plain = t.send(rest(t, Method::OPTIONS, "")).await;
    assert_eq!(plain.status, 405);
}

// ---- OAuth protected resource, principals ----

fn bearer(builder: http::request::Builder, token: &str) -> http::request::Builder {
    builder.header("authorization", format!("Bearer {token}"))
}

/// The challenge's `resource_metadata` URL.
fn metadata_url(challenge: &str) -> String {
    challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

/// Without a token: 401 with `WWW-Authenticate: Bearer resource_metadata="…", scope="…"`, the
/// URL root-anchored and built from the mount prefix.
pub async fn oauth_challenges_without_a_token(t: &Target) {
    let oauth = t.variant("oauth");
    let response = oauth
        .send(oauth.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_eq!(response.status, 401);
    let challenge = response
        .header("www-authenticate")
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "challenge {challenge:?}");
    assert!(
        challenge.contains("scope=\"mcp:tools\""),
        "challenge {challenge:?}"
    );
    let expected = format!(
        "http://{}/.well-known/oauth-protected-resource{}",
        oauth.authority(),
        oauth.path()
    );
    assert_eq!(metadata_url(&challenge), expected);
    let rest = oauth.send(rest(&oauth, Method::GET, "/tools")).await;
    assert_eq!(rest.status, 401, "the REST view is protected too");
}

/// An unknown token is 401 `invalid_token`; a token without the required scope is 403
/// `insufficient_scope`.
pub async fn oauth_rejects_bad_tokens_and_scopes(t: &Target) {
    let oauth = t.variant("oauth");
    let invalid = oauth
        .send(bearer(
            oauth.post(&initialize_body(next_id(), "2025-11-25")),
            "forged",
        ))
        .await;
    assert_eq!(invalid.status, 401);
    assert!(
        invalid
            .header("www-authenticate")
            .unwrap_or("")
            .contains("error=\"invalid_token\"")
    );
    let reader = oauth
        .send(bearer(
            oauth.post(&initialize_body(next_id(), "2025-11-25")),
            "reader-token",
        ))
        .await;
    assert_eq!(reader.status, 403);
    let challenge = reader.header("www-authenticate").unwrap_or("");
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("resource_metadata="),
        "challenge {challenge:?}"
    );
    let basic = oauth
        .send(
            oauth
                .post(&initialize_body(next_id(), "2025-11-25"))
                .header("authorization", "Basic YWxpY2U6cHc="),
        )
        .await;
    assert_eq!(basic.status, 401, "only bearer tokens are accepted");
}

/// The challenge's metadata URL serves the RFC 9728 document, whose `resource` is the mount's
/// external URL.
pub async fn oauth_metadata_resolves_under_the_prefix(t: &Target) {
    let oauth = t.variant("oauth");
    let challenge = oauth
        .send(oauth.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    let url = metadata_url(challenge.header("www-authenticate").unwrap_or_default());
    let document = oauth
        .send(Request::builder().method(Method::GET).uri(&url))
        .await;
    assert_eq!(document.status, 200, "GET {url}");
    let document = document.json();
    assert_eq!(
        document["resource"],
        format!("http://{}{}", oauth.authority(), oauth.path())
    );
    assert_eq!(
        document["authorization_servers"],
        json!([crate::fixture::AUTHORIZATION_SERVER])
    );
    assert!(
        document["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("mcp:tools")))
    );
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    let main = t
        .send(Request::builder().method(Method::GET).uri(format!(
            "http://{}/.well-known/oauth-protected-resource{}",
            t.authority(),
            t.path()
        )))
        .await;
    assert_eq!(
        main.status, 404,
        "a server without OAuth publishes no metadata"
    );
}

/// Behind a trusted proxy, both OAuth URLs are the public ones, whichever adapter serves them:
/// the challenge names the metadata document at the forwarded origin with the forwarded prefix
/// before the mount path, and that document, fetched through the same proxy, names the public
/// URL of the mount as its `resource`. (The `oauth-proxied` variant trusts loopback and allows
/// only its public host, so a route that lost the peer address answers 403.)
pub async fn oauth_metadata_behind_a_trusted_proxy(t: &Target) {
    let oauth = t.variant("oauth-proxied");
    let host = crate::fixture::PROXIED_OAUTH_HOST;
    let via_proxy = |builder: http::request::Builder| {
        builder
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", host)
            .header("x-forwarded-prefix", "/edge")
    };
    let challenge = oauth
        .send(via_proxy(
            oauth.post(&initialize_body(next_id(), "2025-11-25")),
        ))
        .await;
    assert_eq!(challenge.status, 401, "via the proxy: {:?}", challenge.body);
    let url = metadata_url(challenge.header("www-authenticate").unwrap_or_default());
    assert_eq!(
        url,
        format!(
            "https://{host}/.well-known/oauth-protected-resource/edge{}",
            oauth.path()
        )
    );
    // The proxy strips `/edge`; the host serves the document at its own root.
    let local = format!(
        "http://{}/.well-known/oauth-protected-resource{}",
        oauth.authority(),
        oauth.path()
    );
    let document = oauth
        .send(via_proxy(
            Request::builder().method(Method::GET).uri(&local),
        ))
        .await;
    assert_eq!(
        document.status, 200,
        "GET {local} via the proxy: {:?}",
        document.body
    );
    assert_eq!(
        document.json()["resource"],
        format!("https://{host}/edge{}", oauth.path())
    );
    // Loopback host names stay allowed beside `allowed_hosts` (a health check, a sidecar).
    let direct = oauth
        .send(Request::builder().method(Method::GET).uri(&local))
        .await;
    assert_eq!(
        direct.status, 200,
        "GET {local} directly: loopback stays allowed beside {host}: {:?}",
        direct.body
    );
    assert!(
        direct.json()["resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("http://127.0.0.1:")),
        "{:?}",
        direct.body
    );
    let foreign = oauth
        .send(
            Request::builder()
                .method(Method::GET)
                .uri(&local)
                .header("host", "evil.example.com"),
        )
        .await;
    assert_eq!(foreign.status, 403, "a foreign Host is still refused");
    let message = foreign.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("allowed_hosts"), "{message}");
}

/// The verified principal reaches handlers through the request extensions.
pub async fn oauth_principal_reaches_handlers(t: &Target) {
    let oauth = t.variant("oauth");
    let init = oauth
        .send(bearer(
            oauth.post(&initialize_body(next_id(), "2025-11-25")),
            "alice-token",
        ))
        .await;
    assert_eq!(init.status, 200);
    let session = init.header("mcp-session-id").unwrap_or_default().to_owned();
    let call = bearer(
        oauth.post(&request_body("tools/call", json!({"name": "whoami"}))),
        "alice-token",
    )
    .header("mcp-session-id", &session);
    assert_eq!(text_of(&oauth.send(call).await.result()), "alice");
    let rest_call = oauth
        .send(bearer(
            rest_post(&oauth, "/tools/whoami", "{}"),
            "bob-token",
        ))
        .await;
    assert_eq!(text_of(&rest_call.json()), "bob");
}

/// A session created by one principal answers 404 to another, as an unknown session does.
pub async fn sessions_are_bound_to_their_principal(t: &Target) {
    let oauth = t.variant("oauth");
    let init = oauth
        .send(bearer(
            oauth.post(&initialize_body(next_id(), "2025-11-25")),
            "alice-token",
        ))
        .await;
    let session = init.header("mcp-session-id").unwrap_or_default().to_owned();
    let ping = |token: &str| {
        bearer(oauth.post(&request_body("ping", json!({}))), token)
            .header("mcp-session-id", &session)
    };
    assert_eq!(
        oauth.send(ping("bob-token")).await.status,
        404,
        "bob used alice's session"
    );
    assert_eq!(
        oauth.send(ping("alice-token")).await.status,
        200,
        "alice keeps her session"
    );
    let delete = bearer(
        Request::builder().method(Method::DELETE).uri(oauth.url()),
        "bob-token",
    )
    .header("mcp-session-id", &session);
    assert_eq!(
        oauth.send(delete).await.status,
        404,
        "bob cannot end alice's session"
    );
    assert_eq!(oauth.send(ping("alice-token")).await.status, 200);
}

/// `POST {prefix}/completions` is `completion/complete` over REST: the params in, the result
/// out; a bad reference is 400 with the JSON-RPC error's code.
pub async fn rest_completes_arguments(t: &Target) {
    let body = r#"{"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg1", "value": "testV"}}"#;
    let response = t.send(rest_post(t, "/completions", body)).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(
        response.json()["completion"]["values"],
        json!(["testValue1", "testValue2"])
    );
    let template = r#"{"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"}, "argument": {"name": "id", "value": "1"}}"#;
    let ids = t.send(rest_post(t, "/completions", template)).await;
    assert_eq!(
        ids.json()["completion"]["values"],
        json!(["1", "10", "123"])
    );
    let unknown = r#"{"ref": {"type": "ref/prompt", "name": "no_such_prompt"}, "argument": {"name": "a", "value": ""}}"#;
    let bad = t.send(rest_post(t, "/completions", unknown)).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["code"], -32602);
    let not_json = t.send(rest_post(t, "/completions", "{nope")).await;
    assert_eq!(not_json.status, 400);
}
