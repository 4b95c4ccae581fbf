//! The 2026-07-28 stateless era on the same endpoint: era detection, `server/discover`,
//! `_meta` and header validation, result shapes and caching fields.

use serde_json::{Value, json};

use super::assert_error;
use crate::{Target, next_id};

const MODERN: &str = "2026-07-28";

/// The `_meta` a modern client puts on every request.
fn meta(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-mount-conformance", "version": "0.1.0"}
    })
}

/// A modern request body: `params` with the modern `_meta` added.
fn modern_body(method: &str, mut params: Value) -> Value {
    if let Some(params) = params.as_object_mut() {
        params.insert("_meta".into(), meta(MODERN));
    }
    json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": params})
}

/// A POST of `body` with the headers a conforming modern client sends: `MCP-Protocol-Version`,
/// `Mcp-Method` and, when given, `Mcp-Name`.
fn modern_post(t: &Target, body: &Value, name: Option<&str>) -> http::request::Builder {
    let method = body["method"].as_str().unwrap_or_default().to_owned();
    with_version(t.post(body), MODERN)
        .header("mcp-method", method)
        .header_opt("mcp-name", name)
}

/// Replaces the `MCP-Protocol-Version` that [`Target::post`] set.
fn with_version(
    mut builder: http::request::Builder,
    version: &'static str,
) -> http::request::Builder {
    if let Some(headers) = builder.headers_mut() {
        headers.insert(
            "mcp-protocol-version",
            http::HeaderValue::from_static(version),
        );
    }
    builder
}

/// Adds a header when there is a value.
trait HeaderOpt {
    fn header_opt(self, name: &str, value: Option<&str>) -> Self;
}

impl HeaderOpt for http::request::Builder {
    fn header_opt(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.header(name, value),
            None => self,
        }
    }
}

/// Sends a well-formed modern request and returns its (checked 200) result.
async fn modern_call(t: &Target, method: &str, params: Value, name: Option<&str>) -> Value {
    let response = t
        .send(modern_post(t, &modern_body(method, params), name))
        .await;
    assert_eq!(response.status, 200, "{method}: {:?}", response.body);
    assert!(
        response.header("mcp-session-id").is_none(),
        "{method}: a modern answer minted a session"
    );
    let result = response.result();
    assert_eq!(result["resultType"], "complete", "{method}: {result}");
    assert_eq!(
        result
            .pointer("/_meta/io.modelcontextprotocol~1serverInfo/name")
            .and_then(Value::as_str),
        Some("mcp-conformance-test-server"),
        "{method}: serverInfo in _meta: {result}"
    );
    result
}

fn assert_cacheable(result: &Value, what: &str) {
    assert!(
        result["ttlMs"].as_u64().is_some(),
        "{what}: ttlMs must be an integer >= 0: {result}"
    );
    assert!(
        matches!(result["cacheScope"].as_str(), Some("public" | "private")),
        "{what}: cacheScope: {result}"
    );
}

/// `server/discover` names both eras' versions, the capabilities, the instructions and the
/// server, and may be cached.
pub async fn modern_discover_describes_the_server(t: &Target) {
    let result = modern_call(t, "server/discover", json!({}), None).await;
    let versions: Vec<&str> = result["supportedVersions"]
        .as_array()
        .unwrap_or_else(|| panic!("supportedVersions is not an array: {result}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        versions.first(),
        Some(&MODERN),
        "newest first: {versions:?}"
    );
    assert!(
        versions.contains(&"2025-11-25"),
        "legacy versions too: {versions:?}"
    );
    assert!(result["capabilities"]["tools"].is_object(), "{result}");
    assert!(result["instructions"].is_string(), "{result}");
    assert_cacheable(&result, "server/discover");
}

/// Modern requests need no session, ignore a stale `Mcp-Session-Id`, and their results carry
/// `resultType`, the server info and, for lists and reads, the caching fields.
pub async fn modern_requests_are_stateless(t: &Target) {
    let body = modern_body("tools/list", json!({}));
    let response = t
        .send(modern_post(t, &body, None).header("mcp-session-id", "no-such-session"))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert!(response.header("mcp-session-id").is_none());
    let list = response.result();
    assert!(
        list["tools"].as_array().is_some_and(|t| !t.is_empty()),
        "{list}"
    );
    assert_cacheable(&list, "tools/list");
    for method in ["prompts/list", "resources/list", "resources/templates/list"] {
        let result = modern_call(t, method, json!({}), None).await;
        assert_cacheable(&result, method);
    }
    let read = modern_call(
        t,
        "resources/read",
        json!({"uri": "test://static-text"}),
        Some("test://static-text"),
    )
    .await;
    assert_cacheable(&read, "resources/read");
    let call = modern_call(
        t,
        "tools/call",
        json!({"name": "test_simple_text", "arguments": {}}),
        Some("test_simple_text"),
    )
    .await;
    assert_eq!(
        call.pointer("/content/0/text").and_then(Value::as_str),
        Some("This is a simple text response for testing."),
        "{call}"
    );
    assert!(
        call.get("ttlMs").is_none(),
        "tools/call is not cacheable: {call}"
    );
    let prompt = modern_call(
        t,
        "prompts/get",
        json!({"name": "test_simple_prompt"}),
        Some("test_simple_prompt"),
    )
    .await;
    assert!(prompt["messages"].is_array(), "{prompt}");
    // The legacy era is still there beside it.
    t.connect().await.call("tools/list", json!({})).await;
}

/// Missing `_meta` fields are invalid params and an unknown modern version is
/// `UnsupportedProtocolVersion` naming what is supported, all with HTTP 400.
pub async fn modern_meta_is_validated(t: &Target) {
    let mut body = modern_body("tools/list", json!({}));
    body["params"]["_meta"]
        .as_object_mut()
        .map(|m| m.remove("io.modelcontextprotocol/clientCapabilities"));
    let response = t.send(modern_post(t, &body, None)).await;
    assert_error(&response, 400, -32602, "no clientCapabilities");

    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": "server/discover",
        "params": {"_meta": {"io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = t.send(modern_post(t, &body, None)).await;
    assert_error(&response, 400, -32602, "no protocolVersion");

    let mut body = modern_body("server/discover", json!({}));
    body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let response = t
        .send(with_version(t.post(&body), "2099-01-01").header("mcp-method", "server/discover"))
        .await;
    assert_error(&response, 400, -32022, "unsupported version");
    // A header that contradicts _meta is a mismatch even when _meta names an unknown version.
    let mismatched = t
        .send(with_version(t.post(&body), MODERN).header("mcp-method", "server/discover"))
        .await;
    assert_error(&mismatched, 400, -32020, "header disagrees with _meta");
    let error = response.rpc()["error"].clone();
    assert_eq!(error["data"]["requested"], "2099-01-01", "{error}");
    assert!(
        error["data"]["supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(MODERN))),
        "{error}"
    );
}

/// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` must be present and mirror the body
/// (base64-wrapped values decoded first); anything else is 400 `HeaderMismatch`.
pub async fn modern_headers_must_mirror_the_body(t: &Target) {
    let call = || {
        modern_body(
            "tools/call",
            json!({"name": "test_simple_text", "arguments": {}}),
        )
    };
    // No MCP-Protocol-Version.
    let body = call();
    let request = t
        .post_raw()
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "test_simple_text")
        .extension(bytes::Bytes::from(body.to_string()));
    assert_error(
        &t.send(request).await,
        400,
        -32020,
        "no MCP-Protocol-Version",
    );
    // MCP-Protocol-Version disagrees with _meta.
    let mut request = modern_post(t, &call(), Some("test_simple_text"));
    if let Some(h) = request.headers_mut() {
        h.insert(
            "mcp-protocol-version",
            http::HeaderValue::from_static("2025-11-25"),
        );
    }
    assert_error(
        &t.send(request).await,
        400,
        -32020,
        "MCP-Protocol-Version mismatch",
    );
    // No Mcp-Name on tools/call.
    let response = t.send(modern_post(t, &call(), None)).await;
    assert_error(&response, 400, -32020, "no Mcp-Name");
    // Mcp-Name naming another tool.
    let response = t.send(modern_post(t, &call(), Some("echo"))).await;
    assert_error(&response, 400, -32020, "Mcp-Name mismatch");
    // Mcp-Method naming another method.
    let body = call();
    let mut request = modern_post(t, &body, Some("test_simple_text"));
    if let Some(h) = request.headers_mut() {
        h.insert("mcp-method", http::HeaderValue::from_static("tools/list"));
    }
    assert_error(&t.send(request).await, 400, -32020, "Mcp-Method mismatch");
    // The base64 form of the right name is accepted ("test_simple_text").
    let response = t
        .send(modern_post(
            t,
            &call(),
            Some("=?base64?dGVzdF9zaW1wbGVfdGV4dA==?="),
        ))
        .await;
    assert_eq!(response.status, 200, "base64 Mcp-Name: {:?}", response.body);
    assert_eq!(response.result()["resultType"], "complete");
}

/// Unknown methods and the methods 2026-07-28 removed are HTTP 404 with `-32601`.
pub async fn modern_unknown_and_removed_methods_are_404(t: &Target) {
    for method in [
        "no/such/method",
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let params = if method == "logging/setLevel" {
            json!({"level": "debug"})
        } else if method == "resources/subscribe" {
            json!({"uri": "test://static-text"})
        } else {
            json!({})
        };
        let response = t
            .send(modern_post(t, &modern_body(method, params), None))
            .await;
        assert_error(&response, 404, -32601, method);
    }
}

/// A missing resource is `-32602` in the modern era (the legacy `-32002` is gone).
pub async fn modern_missing_resource_is_invalid_params(t: &Target) {
    let uri = "test://no-such-resource";
    let response = t
        .send(modern_post(
            t,
            &modern_body("resources/read", json!({ "uri": uri })),
            Some(uri),
        ))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.error_code(), -32602, "{:?}", response.body);
}

/// Cacheable results carry the configured policy: 0 ms and private by default, what the
/// builder says otherwise; results of other methods carry none.
pub async fn modern_caching_follows_the_policy(t: &Target) {
    for (target, ttl, scope) in [
        (t.clone(), 0, "private"),
        (t.variant("limited"), 60_000, "public"),
    ] {
        for method in [
            "server/discover",
            "tools/list",
            "prompts/list",
            "resources/list",
        ] {
            let result = modern_call(&target, method, json!({}), None).await;
            assert_eq!(
                result["ttlMs"],
                ttl,
                "{method} on {}: {result}",
                target.url()
            );
            assert_eq!(
                result["cacheScope"],
                scope,
                "{method} on {}: {result}",
                target.url()
            );
        }
        let result = modern_call(
            &target,
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                   "argument": {"name": "arg1", "value": ""}}),
            None,
        )
        .await;
        assert!(
            result.get("ttlMs").is_none(),
            "completion is not cacheable: {result}"
        );
    }
}

/// A tool that needs a client capability the modern request did not declare fails with
/// `MissingRequiredClientCapability` naming it, HTTP 400.
pub async fn modern_missing_client_capability_is_32021(t: &Target) {
    for (tool, arguments, required) in [
        (
            "test_elicitation",
            json!({"message": "Who are you?"}),
            "elicitation",
        ),
        ("test_sampling", json!({"prompt": "Hi"}), "sampling"),
        ("list_roots", json!({}), "roots"),
    ] {
        let body = modern_body("tools/call", json!({"name": tool, "arguments": arguments}));
        let response = t.send(modern_post(t, &body, Some(tool))).await;
        assert_error(&response, 400, -32021, tool);
        let error = response.rpc()["error"].clone();
        assert!(
            error["data"]["requiredCapabilities"][required].is_object(),
            "{tool}: {error}"
        );
    }
}

/// Log notifications need the request's own `_meta` logLevel and honour it; an unknown level
/// is invalid params.
pub async fn modern_logging_follows_the_request_log_level(t: &Target) {
    let call = |level: Option<&str>| {
        let mut body = modern_body(
            "tools/call",
            json!({"name": "test_tool_with_logging", "arguments": {}}),
        );
        if let Some(level) = level {
            body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!(level);
        }
        body
    };
    let logs = |response: &crate::Response| {
        response
            .messages()
            .iter()
            .filter(|m| m["method"] == "notifications/message")
            .count()
    };
    let silent = t
        .send(modern_post(t, &call(None), Some("test_tool_with_logging")))
        .await;
    assert_eq!(silent.status, 200, "{:?}", silent.body);
    assert_eq!(logs(&silent), 0, "no logLevel, no logs: {:?}", silent.body);
    assert_eq!(silent.result()["resultType"], "complete");

    let chatty = t
        .send(modern_post(
            t,
            &call(Some("debug")),
            Some("test_tool_with_logging"),
        ))
        .await;
    assert_eq!(logs(&chatty), 3, "logLevel debug: {:?}", chatty.body);
    assert_eq!(chatty.result()["resultType"], "complete");

    let filtered = t
        .send(modern_post(
            t,
            &call(Some("error")),
            Some("test_tool_with_logging"),
        ))
        .await;
    assert_eq!(
        logs(&filtered),
        0,
        "info logs under logLevel error: {:?}",
        filtered.body
    );

    let bad = t
        .send(modern_post(
            t,
            &call(Some("loud")),
            Some("test_tool_with_logging"),
        ))
        .await;
    assert_error(&bad, 400, -32602, "unknown logLevel");
}

/// Progress rides the request's own SSE stream, and closing that stream cancels the handler.
pub async fn modern_closing_the_stream_cancels(t: &Target) {
    let mut body = modern_body(
        "tools/call",
        json!({"name": "test_tool_with_progress", "arguments": {}}),
    );
    body["params"]["_meta"]["progressToken"] = json!("p1");
    let progress = t
        .send(modern_post(t, &body, Some("test_tool_with_progress")))
        .await;
    let messages = progress.messages();
    let notes = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress" && m["params"]["progressToken"] == "p1")
        .count();
    assert_eq!(notes, 3, "progress on the request stream: {messages:?}");
    assert_eq!(progress.result()["resultType"], "complete");

    let key = format!("modern-slow-{}-{}", std::process::id(), next_id());
    let mut body = modern_body(
        "tools/call",
        json!({"name": "slow", "arguments": {"key": key}}),
    );
    body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("info");
    let mut stream = t.open(modern_post(t, &body, Some("slow"))).await;
    let started = stream
        .next_message(std::time::Duration::from_secs(5))
        .await
        .ok()
        .flatten();
    assert_eq!(
        started.map(|m| m["method"].clone()),
        Some(json!("notifications/message")),
        "slow announces itself"
    );
    drop(stream);
    let mut cancelled = String::new();
    // Some servers notice the gone client at the next keep-alive write: allow a few seconds.
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let result = modern_call(
            t,
            "tools/call",
            json!({"name": "was_cancelled", "arguments": {"key": key}}),
            Some("was_cancelled"),
        )
        .await;
        cancelled = result
            .pointer("/content/0/text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if cancelled == "true" {
            break;
        }
    }
    assert_eq!(
        cancelled, "true",
        "the handler kept running after the stream closed"
    );
}

/// `subscriptions/listen` acknowledges the agreed filter first, then carries only the opted-in
/// change notifications, each tagged with the subscription id.
pub async fn modern_listen_carries_only_opted_in_changes(t: &Target) {
    let id = next_id();
    let mut body = modern_body(
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true,
                                 "resourceSubscriptions": ["test://static-text"]}}),
    );
    body["id"] = json!(id);
    let mut stream = t.open(modern_post(t, &body, None)).await;
    let wait = std::time::Duration::from_secs(5);
    let ack = stream
        .next_message(wait)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no acknowledgement on the listen stream"));
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], id,
        "{ack}"
    );
    assert_eq!(
        ack["params"]["notifications"]["toolsListChanged"], true,
        "{ack}"
    );
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"],
        json!(["test://static-text"]),
        "{ack}"
    );
    let key = format!("listen_{}_{}", std::process::id(), next_id());
    let dynamic = |kind: &str, remove: bool| json!({"name": "dynamic", "arguments": {"kind": kind, "key": key, "remove": remove}});
    let touch = |uri: &str| json!({"name": "touch_resource", "arguments": {"uri": uri}});
    // Not opted into: a prompt change and another resource's update.
    modern_call(t, "tools/call", dynamic("prompt", false), Some("dynamic")).await;
    modern_call(
        t,
        "tools/call",
        touch("test://static-binary"),
        Some("touch_resource"),
    )
    .await;
    // Opted into.
    modern_call(t, "tools/call", dynamic("tool", false), Some("dynamic")).await;
    modern_call(
        t,
        "tools/call",
        touch("test://static-text"),
        Some("touch_resource"),
    )
    .await;
    let mut seen_tools = false;
    let mut seen_update = false;
    while !(seen_tools && seen_update) {
        let message = stream
            .next_message(wait)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the listen stream ended or went quiet (tools {seen_tools}, update {seen_update})"));
        assert_eq!(
            message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], id,
            "untagged: {message}"
        );
        match message["method"].as_str() {
            Some("notifications/tools/list_changed") => seen_tools = true,
            Some("notifications/resources/updated") => {
                assert_eq!(message["params"]["uri"], "test://static-text", "{message}");
                seen_update = true;
            }
            _ => panic!("a notification that was not opted into: {message}"),
        }
    }
    modern_call(t, "tools/call", dynamic("tool", true), Some("dynamic")).await;
    modern_call(t, "tools/call", dynamic("prompt", true), Some("dynamic")).await;
}

/// A tools/call body declaring `capabilities`, with extra `params` fields merged in.
fn call_with(tool: &str, arguments: Value, capabilities: Value, extra: Value) -> Value {
    let mut body = modern_body("tools/call", json!({"name": tool, "arguments": arguments}));
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = capabilities;
    if let (Some(params), Some(extra)) = (body["params"].as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            params.insert(k.clone(), v.clone());
        }
    }
    body
}

/// MRTR: a handler that elicits makes the call return `input_required` with the request and
/// a sealed `requestState`; the retry with `inputResponses` resumes it to a complete result.
/// Tampered, misdirected or expired state is a clean `-32602`.
pub async fn modern_input_required_round_trip(t: &Target) {
    let caps = json!({"elicitation": {}});
    let args = json!({"message": "Who are you?"});
    let first = t
        .send(modern_post(
            t,
            &call_with("test_elicitation", args.clone(), caps.clone(), json!({})),
            Some("test_elicitation"),
        ))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let result = first.result();
    assert_eq!(result["resultType"], "input_required", "{result}");
    assert!(result.get("ttlMs").is_none(), "{result}");
    let requests = result["inputRequests"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputRequests: {result}"));
    assert_eq!(requests.len(), 1, "{result}");
    let (key, request) = requests
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_default();
    assert_eq!(request["method"], "elicitation/create", "{request}");
    assert_eq!(request["params"]["message"], "Who are you?", "{request}");
    let state = result["requestState"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestState: {result}"))
        .to_owned();

    let answer = json!({ key.clone(): {"action": "accept",
        "content": {"username": "testuser", "email": "test@example.com"}} });
    let retry = |state: &str, tool: &str| {
        call_with(
            tool,
            args.clone(),
            caps.clone(),
            json!({"inputResponses": answer.clone(), "requestState": state}),
        )
    };
    let done = t
        .send(modern_post(
            t,
            &retry(&state, "test_elicitation"),
            Some("test_elicitation"),
        ))
        .await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let result = done.result();
    assert_eq!(result["resultType"], "complete", "{result}");
    let text = result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        text.contains("action=accept") && text.contains("testuser"),
        "the handler did not get the answer: {result}"
    );

    // Tampered state.
    let mut tampered = state.clone();
    tampered.insert(0, if state.starts_with('A') { 'B' } else { 'A' });
    let response = t
        .send(modern_post(
            t,
            &retry(&tampered, "test_elicitation"),
            Some("test_elicitation"),
        ))
        .await;
    assert_error(&response, 400, -32602, "tampered requestState");
    // State presented on another request.
    let response = t
        .send(modern_post(t, &retry(&state, "echo"), Some("echo")))
        .await;
    assert_error(&response, 400, -32602, "requestState of another tool");
    // Expired state (the expiring variant keeps it 300 ms).
    let expiring = t.variant("expiring");
    let first = expiring
        .send(modern_post(
            &expiring,
            &call_with("test_elicitation", args.clone(), caps.clone(), json!({})),
            Some("test_elicitation"),
        ))
        .await;
    let state = first.result()["requestState"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let response = expiring
        .send(modern_post(
            &expiring,
            &retry(&state, "test_elicitation"),
            Some("test_elicitation"),
        ))
        .await;
    assert_error(&response, 400, -32602, "expired requestState");
}

/// Roots and sampling go through MRTR the same way.
pub async fn modern_input_required_for_roots(t: &Target) {
    let caps = json!({"roots": {}});
    let first = t
        .send(modern_post(
            t,
            &call_with("list_roots", json!({}), caps.clone(), json!({})),
            Some("list_roots"),
        ))
        .await;
    let result = first.result();
    assert_eq!(result["resultType"], "input_required", "{result}");
    let (key, request) = result["inputRequests"]
        .as_object()
        .and_then(|r| r.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap_or_else(|| panic!("no inputRequests: {result}"));
    assert_eq!(request["method"], "roots/list", "{request}");
    let state = result["requestState"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let retry = call_with(
        "list_roots",
        json!({}),
        caps,
        json!({"requestState": state,
               "inputResponses": {key: {"roots": [{"uri": "file:///work/mrtr", "name": "mrtr"}]}}}),
    );
    let done = t.send(modern_post(t, &retry, Some("list_roots"))).await;
    let result = done.result();
    assert_eq!(result["resultType"], "complete", "{result}");
    assert!(result.to_string().contains("file:///work/mrtr"), "{result}");
}

/// `x-mcp-header` arguments must be mirrored, decoded, in their `Mcp-Param-*` headers;
/// missing, extra or different headers are 400 `HeaderMismatch`.
pub async fn modern_param_headers_mirror_arguments(t: &Target) {
    let send = |arguments: Value, headers: Vec<(&'static str, &'static str)>| {
        let body = modern_body(
            "tools/call",
            json!({"name": "header_params", "arguments": arguments}),
        );
        let mut request = modern_post(t, &body, Some("header_params"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        t.send(request)
    };
    let ok = send(
        json!({"region": "eu-west", "count": 3, "note": "free"}),
        vec![("mcp-param-region", "eu-west"), ("mcp-param-count", "3")],
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.result()["resultType"], "complete");
    // Base64 form, and an optional argument left out with its header.
    let ok = send(
        json!({"region": "zürich"}),
        vec![("mcp-param-region", "=?base64?esO8cmljaA==?=")],
    )
    .await;
    assert_eq!(ok.status, 200, "base64 Mcp-Param: {:?}", ok.body);
    for (what, arguments, headers) in [
        ("missing header", json!({"region": "eu-west"}), vec![]),
        (
            "different value",
            json!({"region": "eu-west"}),
            vec![("mcp-param-region", "us-east")],
        ),
        (
            "different number",
            json!({"region": "eu-west", "count": 3}),
            vec![("mcp-param-region", "eu-west"), ("mcp-param-count", "4")],
        ),
        (
            "unpadded base64",
            json!({"region": "Hello"}),
            vec![("mcp-param-region", "=?base64?SGVsbG8?=")],
        ),
        (
            "header without argument",
            json!({"region": "eu-west"}),
            vec![("mcp-param-region", "eu-west"), ("mcp-param-count", "4")],
        ),
    ] {
        let response = send(arguments, headers).await;
        assert_error(&response, 400, -32020, what);
    }
}

/// Sends a modern `tools/call` or `prompts/get` declaring every client capability, with
/// `extra` params, and returns its result.
async fn mrtr_step(t: &Target, method: &str, name: &str, extra: Value) -> Value {
    let mut params = json!({ "name": name });
    if method == "tools/call" {
        params["arguments"] = json!({});
    }
    let mut body = modern_body(method, params);
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] =
        json!({"elicitation": {}, "sampling": {}, "roots": {}});
    if let (Some(params), Some(extra)) = (body["params"].as_object_mut(), extra.as_object()) {
        params.extend(extra.clone());
    }
    let response = t.send(modern_post(t, &body, Some(name))).await;
    assert_eq!(response.status, 200, "{name}: {:?}", response.body);
    response.result()
}

/// Handler-chosen keys; concurrent client requests in one round; sequential ones in several
/// rounds whose state grows; MRTR on prompts/get; only declared capabilities are asked for.
pub async fn modern_input_required_rounds_and_keys(t: &Target) {
    // Three at once.
    let round = mrtr_step(
        t,
        "tools/call",
        "test_input_required_result_multiple_inputs",
        json!({}),
    )
    .await;
    let mut keys: Vec<&str> = round["inputRequests"]
        .as_object()
        .map(|r| r.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["client_roots", "greeting", "user_name"], "{round}");
    let done = mrtr_step(
        t,
        "tools/call",
        "test_input_required_result_multiple_inputs",
        json!({"requestState": round["requestState"], "inputResponses": {
            "user_name": {"action": "accept", "content": {"name": "Ada"}},
            "greeting": {"role": "assistant", "content": {"type": "text", "text": "Hi"}, "model": "m"},
            "client_roots": {"roots": []}}}),
    )
    .await;
    assert_eq!(done["resultType"], "complete", "{done}");
    assert_eq!(done["content"][0]["text"], "Hi Ada (0 roots)", "{done}");

    // Two rounds.
    let first = mrtr_step(
        t,
        "tools/call",
        "test_input_required_result_multi_round",
        json!({}),
    )
    .await;
    assert!(first["inputRequests"]["step1"].is_object(), "{first}");
    let second = mrtr_step(
        t,
        "tools/call",
        "test_input_required_result_multi_round",
        json!({"requestState": first["requestState"],
               "inputResponses": {"step1": {"action": "accept", "content": {"name": "Ada"}}}}),
    )
    .await;
    assert_eq!(second["resultType"], "input_required", "{second}");
    assert!(second["inputRequests"]["step2"].is_object(), "{second}");
    assert_ne!(second["requestState"], first["requestState"]);
    let third = mrtr_step(
        t,
        "tools/call",
        "test_input_required_result_multi_round",
        json!({"requestState": second["requestState"],
               "inputResponses": {"step2": {"action": "accept", "content": {"color": "green"}}}}),
    )
    .await;
    assert_eq!(third["content"][0]["text"], "Ada likes green", "{third}");

    // Retry fields of the wrong type are refused, not dropped (which would restart the call).
    for (what, retry) in [
        (
            "a requestState that is not a string",
            json!({"requestState": 5,
            "inputResponses": {"step1": {"action": "accept", "content": {"name": "Ada"}}}}),
        ),
        (
            "inputResponses that are not an object",
            json!({"requestState": first["requestState"],
            "inputResponses": ["step1"]}),
        ),
    ] {
        let mut body = modern_body(
            "tools/call",
            json!({"name": "test_input_required_result_multi_round", "arguments": {}}),
        );
        if let (Some(params), Some(retry)) = (body["params"].as_object_mut(), retry.as_object()) {
            params.extend(retry.clone());
        }
        let response = t
            .send(modern_post(
                t,
                &body,
                Some("test_input_required_result_multi_round"),
            ))
            .await;
        assert_error(&response, 400, -32602, what);
        let message = response.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains("requestState must be a string"),
            "{what}: {message}"
        );
        assert!(!message.contains(" at line "), "{what}: {message}");
    }

    // prompts/get.
    let asked = mrtr_step(
        t,
        "prompts/get",
        "test_input_required_result_prompt",
        json!({}),
    )
    .await;
    assert!(
        asked["inputRequests"]["user_context"].is_object(),
        "{asked}"
    );
    let prompt = mrtr_step(
        t,
        "prompts/get",
        "test_input_required_result_prompt",
        json!({"requestState": asked["requestState"],
               "inputResponses": {"user_context": {"action": "accept", "content": {"context": "tests"}}}}),
    )
    .await;
    assert!(
        prompt.to_string().contains("Use this context: tests"),
        "{prompt}"
    );

    // Only declared capabilities are asked for.
    let mut body = modern_body(
        "tools/call",
        json!({"name": "test_input_required_result_capabilities", "arguments": {}}),
    );
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({"sampling": {}});
    let result = t
        .send(modern_post(
            t,
            &body,
            Some("test_input_required_result_capabilities"),
        ))
        .await
        .result();
    let methods: Vec<&str> = result["inputRequests"]
        .as_object()
        .map(|r| r.values().filter_map(|v| v["method"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(methods, ["sampling/createMessage"], "{result}");
}

/// A 2026-07-28 call whose handler panics answers `-32603` with a generic message.
pub async fn modern_panicking_handler_is_internal_error(t: &Target) {
    let body = modern_body("tools/call", json!({"name": "panic"}));
    let response = t.send(modern_post(t, &body, Some("panic"))).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    let answer = response.rpc();
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert!(
        !String::from_utf8_lossy(&response.body).contains(crate::fixture::PANIC_TEXT),
        "the panic's text reached the client: {answer}"
    );
    let sum = modern_call(
        t,
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
        Some("add"),
    )
    .await;
    assert_eq!(sum["content"][0]["text"], "5");
}
