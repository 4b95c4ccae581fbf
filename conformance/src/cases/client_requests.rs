//! Requests the server sends to the client from inside a handler: sampling, elicitation and
//! roots. The case plays the client: it reads the request from the call's SSE stream and POSTs
//! the answer back.

use serde_json::{Value, json};

use super::{EVENT_WAIT, text_of};
use crate::{Session, Streaming, Target, next_id};

/// Starts `tools/call` of `tool` and returns its open SSE stream and the call's id.
async fn start_call(session: &Session, tool: &str, arguments: Value) -> (Streaming, i64) {
    let id = next_id();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let stream = session.open(session.post(&body)).await;
    assert_eq!(stream.status, 200, "{tool}");
    let content_type = stream
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(
        content_type, "text/event-stream",
        "{tool}: a request to the client rides the call's SSE stream"
    );
    (stream, id)
}

/// The next message on the stream, which must be a request to the client for `method`.
async fn next_request(stream: &mut Streaming, method: &str) -> Value {
    let message = stream
        .next_message(EVENT_WAIT)
        .await
        .unwrap_or_else(|()| panic!("no {method} request within {EVENT_WAIT:?}"))
        .unwrap_or_else(|| panic!("the stream ended before the {method} request"));
    assert_eq!(message["method"], method, "{message}");
    assert_eq!(message["jsonrpc"], "2.0");
    let id = &message["id"];
    assert!(
        id.is_i64() || id.is_u64() || id.is_string(),
        "a request needs a string or integer id: {message}"
    );
    message
}

/// POSTs the client's answer to `request`; the server takes it with 202.
async fn answer(session: &Session, request: &Value, outcome: Value) {
    let mut body = json!({"jsonrpc": "2.0", "id": request["id"]});
    if let (Some(body), Some(outcome)) = (body.as_object_mut(), outcome.as_object()) {
        body.extend(outcome.clone());
    }
    let response = session.send(session.post(&body)).await;
    assert_eq!(
        response.status, 202,
        "answer to {}: {:?}",
        request["method"], response.body
    );
    assert!(response.body.is_empty());
}

/// Reads the stream to the call's own response and returns its `result`.
async fn call_result(stream: &mut Streaming, id: i64) -> Value {
    loop {
        let message = stream
            .next_message(EVENT_WAIT)
            .await
            .unwrap_or_else(|()| panic!("no result for call {id} within {EVENT_WAIT:?}"))
            .unwrap_or_else(|| panic!("the stream ended before the result of call {id}"));
        if message["id"] == id && message.get("method").is_none() {
            return message
                .get("result")
                .cloned()
                .unwrap_or_else(|| panic!("call {id} failed: {message}"));
        }
    }
}

/// A tool call that asks for a capability the client lacks fails as a tool error, answered in
/// plain JSON: nothing was sent to the client.
async fn refused_without_sending(session: &Session, tool: &str, arguments: Value, needs: &str) {
    let response = session
        .request("tools/call", json!({"name": tool, "arguments": arguments}))
        .await;
    assert_eq!(
        response.content_type(),
        "application/json",
        "{tool}: a refused request must not be sent: {:?}",
        response.body
    );
    let result = response.result();
    assert_eq!(result["isError"], true, "{tool}: {result}");
    let text = text_of(&result);
    assert!(
        text.contains(needs),
        "{tool}: the error should name {needs:?}: {text}"
    );
}

/// `sampling/createMessage` goes out on the call's stream; the client's answer, POSTed back,
/// reaches the handler. Each request gets its own id.
pub async fn sampling_round_trip(t: &Target) {
    let session = t.connect_with("2025-11-25", json!({"sampling": {}})).await;
    let mut ids = Vec::new();
    for prompt in ["What is 2+2?", "Name a colour."] {
        let (mut stream, id) =
            start_call(&session, "test_sampling", json!({"prompt": prompt})).await;
        let request = next_request(&mut stream, "sampling/createMessage").await;
        assert_eq!(
            request["params"]["messages"],
            json!([{"role": "user", "content": {"type": "text", "text": prompt}}])
        );
        assert_eq!(request["params"]["maxTokens"], 100);
        ids.push(request["id"].clone());
        answer(
            &session,
            &request,
            json!({"result": {"role": "assistant",
                "content": {"type": "text", "text": format!("answer to {prompt}")},
                "model": "test-model", "stopReason": "endTurn"}}),
        )
        .await;
        let result = call_result(&mut stream, id).await;
        assert_eq!(
            text_of(&result),
            format!("LLM response: answer to {prompt}")
        );
    }
    assert_ne!(
        ids[0], ids[1],
        "server request ids must be unique in a session"
    );
}

/// A JSON-RPC error the client answers with reaches the handler.
pub async fn sampling_error_reaches_the_handler(t: &Target) {
    let session = t.connect_with("2025-11-25", json!({"sampling": {}})).await;
    let (mut stream, id) = start_call(&session, "test_sampling", json!({"prompt": "hi"})).await;
    let request = next_request(&mut stream, "sampling/createMessage").await;
    answer(
        &session,
        &request,
        json!({"error": {"code": -1, "message": "User rejected sampling request"}}),
    )
    .await;
    let result = call_result(&mut stream, id).await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(
        text_of(&result).contains("User rejected sampling request"),
        "{result}"
    );
}

/// Without the capability declared at `initialize`, nothing is sent and the handler gets a
/// clear error.
pub async fn client_requests_need_the_capability(t: &Target) {
    let bare = t.connect().await;
    refused_without_sending(&bare, "test_sampling", json!({"prompt": "hi"}), "sampling").await;
    refused_without_sending(
        &bare,
        "test_elicitation",
        json!({"message": "hi"}),
        "elicitation",
    )
    .await;
    refused_without_sending(&bare, "list_roots", json!({}), "roots").await;
    // Tool-enabled sampling needs `sampling.tools`.
    let sampling = t.connect_with("2025-11-25", json!({"sampling": {}})).await;
    refused_without_sending(&sampling, "sample_with_tools", json!({}), "sampling.tools").await;
    let with_tools = t
        .connect_with("2025-11-25", json!({"sampling": {"tools": {}}}))
        .await;
    let (mut stream, _) = start_call(&with_tools, "sample_with_tools", json!({})).await;
    let request = next_request(&mut stream, "sampling/createMessage").await;
    assert_eq!(request["params"]["tools"][0]["name"], "weather");
}

/// Form-mode elicitation round trip, with the official suite's schemas (SEP-1034 defaults,
/// SEP-1330 enums) sent as written.
pub async fn elicitation_form_round_trip(t: &Target) {
    let session = t
        .connect_with("2025-11-25", json!({"elicitation": {}}))
        .await;
    let (mut stream, id) = start_call(
        &session,
        "test_elicitation",
        json!({"message": "Who are you?"}),
    )
    .await;
    let request = next_request(&mut stream, "elicitation/create").await;
    assert_eq!(request["params"]["message"], "Who are you?");
    assert_eq!(request["params"]["requestedSchema"]["type"], "object");
    assert!(
        request["params"].get("mode").is_none() || request["params"]["mode"] == "form",
        "{request}"
    );
    answer(
        &session,
        &request,
        json!({"result": {"action": "accept",
            "content": {"username": "testuser", "email": "test@example.com"}}}),
    )
    .await;
    let text = text_of(&call_result(&mut stream, id).await);
    assert!(
        text.contains("action=accept") && text.contains("testuser"),
        "{text}"
    );

    let (mut stream, id) =
        start_call(&session, "test_elicitation_sep1034_defaults", json!({})).await;
    let request = next_request(&mut stream, "elicitation/create").await;
    let properties = &request["params"]["requestedSchema"]["properties"];
    assert_eq!(properties["name"]["default"], "John Doe");
    assert_eq!(
        properties["age"],
        json!({"type": "integer", "description": "User age", "default": 30})
    );
    assert_eq!(properties["score"]["default"], 95.5);
    assert_eq!(properties["status"]["default"], "active");
    assert_eq!(
        properties["status"]["enum"],
        json!(["active", "inactive", "pending"])
    );
    assert_eq!(properties["verified"]["default"], true);
    answer(&session, &request, json!({"result": {"action": "decline"}})).await;
    let text = text_of(&call_result(&mut stream, id).await);
    assert!(text.contains("action=decline"), "{text}");

    let (mut stream, id) = start_call(&session, "test_elicitation_sep1330_enums", json!({})).await;
    let request = next_request(&mut stream, "elicitation/create").await;
    let properties = &request["params"]["requestedSchema"]["properties"];
    assert_eq!(
        properties["untitledSingle"]["enum"],
        json!(["option1", "option2", "option3"])
    );
    assert_eq!(
        properties["titledSingle"]["oneOf"][0],
        json!({"const": "value1", "title": "First Option"})
    );
    assert_eq!(
        properties["legacyEnum"]["enumNames"],
        json!(["Option One", "Option Two", "Option Three"])
    );
    assert_eq!(properties["untitledMulti"]["items"]["type"], "string");
    assert_eq!(
        properties["titledMulti"]["items"]["anyOf"][2],
        json!({"const": "value3", "title": "Third Choice"})
    );
    answer(&session, &request, json!({"result": {"action": "cancel"}})).await;
    let text = text_of(&call_result(&mut stream, id).await);
    assert!(text.contains("action=cancel"), "{text}");
}

/// The elicitation modes a client declared decide what may be sent: `elicitation: {}` is form
/// only; URL mode needs `elicitation.url`; a client declaring only `url` gets no forms.
pub async fn elicitation_modes_follow_capabilities(t: &Target) {
    let form_only = t
        .connect_with("2025-11-25", json!({"elicitation": {}}))
        .await;
    refused_without_sending(&form_only, "elicit_url", json!({}), "elicitation.url").await;
    let url_only = t
        .connect_with("2025-11-25", json!({"elicitation": {"url": {}}}))
        .await;
    refused_without_sending(
        &url_only,
        "test_elicitation",
        json!({"message": "hi"}),
        "elicitation.form",
    )
    .await;
    let (mut stream, id) = start_call(&url_only, "elicit_url", json!({})).await;
    let request = next_request(&mut stream, "elicitation/create").await;
    assert_eq!(request["params"]["mode"], "url");
    assert_eq!(
        request["params"]["url"],
        "https://example.com/sign-in?session=fixture"
    );
    assert_eq!(request["params"]["elicitationId"], "fixture-sign-in");
    assert!(request["params"].get("requestedSchema").is_none());
    answer(&url_only, &request, json!({"result": {"action": "accept"}})).await;
    let text = text_of(&call_result(&mut stream, id).await);
    assert!(text.contains("action=accept"), "{text}");
}

/// `roots/list` round trip.
pub async fn roots_round_trip(t: &Target) {
    let session = t
        .connect_with("2025-11-25", json!({"roots": {"listChanged": true}}))
        .await;
    let (mut stream, id) = start_call(&session, "list_roots", json!({})).await;
    let request = next_request(&mut stream, "roots/list").await;
    answer(
        &session,
        &request,
        json!({"result": {"roots": [
            {"uri": "file:///home/user/project", "name": "project"},
            {"uri": "file:///tmp"}
        ]}}),
    )
    .await;
    let result = call_result(&mut stream, id).await;
    assert_eq!(text_of(&result), "file:///home/user/project\nfile:///tmp");
    // An answer that is not a roots list is a clear error for the handler.
    let (mut stream, id) = start_call(&session, "list_roots", json!({})).await;
    let request = next_request(&mut stream, "roots/list").await;
    answer(&session, &request, json!({"result": {"roots": "nope"}})).await;
    let result = call_result(&mut stream, id).await;
    assert_eq!(result["isError"], true, "{result}");
}

/// A client that never answers: after the timeout (300 ms on the `impatient` variant) the
/// server cancels its request and the handler gets a timeout error; a late answer is still
/// taken with 202.
pub async fn client_request_times_out(t: &Target) {
    let session = t
        .variant("impatient")
        .connect_with("2025-11-25", json!({"sampling": {}}))
        .await;
    let (mut stream, id) = start_call(&session, "test_sampling", json!({"prompt": "hi"})).await;
    let request = next_request(&mut stream, "sampling/createMessage").await;
    let cancelled = stream
        .next_message(EVENT_WAIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no cancellation after the timeout"));
    assert_eq!(
        cancelled["method"], "notifications/cancelled",
        "{cancelled}"
    );
    assert_eq!(cancelled["params"]["requestId"], request["id"]);
    let result = call_result(&mut stream, id).await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(text_of(&result).contains("did not answer"), "{result}");
    answer(
        &session,
        &request,
        json!({"result": {"role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}}),
    )
    .await;
}

/// Where no answer can come back (stateless mode) or no request can go out (JSON response
/// mode), a request to the client is a clear error, not a hang.
pub async fn client_requests_unavailable_without_a_stream(t: &Target) {
    let limited = t
        .variant("limited")
        .connect_with("2025-11-25", json!({"sampling": {}}))
        .await;
    refused_without_sending(
        &limited,
        "test_sampling",
        json!({"prompt": "hi"}),
        "plain JSON",
    )
    .await;
    let stateless = t.variant("stateless");
    let response = stateless
        .send(stateless.post(&crate::request_body(
            "tools/call",
            json!({"name": "test_sampling", "arguments": {"prompt": "hi"}}),
        )))
        .await;
    let result = response.result();
    assert_eq!(result["isError"], true, "{result}");
    assert!(text_of(&result).contains("stateless"), "{result}");
}
