//! Resources, resource templates, prompts, completion, capabilities and change notifications.

use std::time::Duration;

use serde_json::{Value, json};

use super::{EVENT_WAIT, text_of, unique};
use crate::{Session, Target, initialize_body, next_id};

/// The `uri`s of a `resources/list` page, or the names of a `prompts/list` page.
fn keys(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} is not an array: {list}"))
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("an entry of {field} has no {key}: {item}"))
                .to_owned()
        })
        .collect()
}

/// Every page of a paginated list, following `nextCursor`.
pub(super) async fn all_pages(session: &Session, method: &str, field: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let params = match &cursor {
            Some(cursor) => json!({"cursor": cursor}),
            None => json!({}),
        };
        let page = session.call(method, params).await;
        items.extend(page[field].as_array().cloned().unwrap_or_default());
        match page.get("nextCursor") {
            None => return items,
            Some(next) => {
                cursor = Some(
                    next.as_str()
                        .unwrap_or_else(|| panic!("nextCursor must be a string: {next}"))
                        .to_owned(),
                );
            }
        }
    }
    panic!("{method} never ended after 100 pages");
}

/// Opens the session's GET stream and reads past its priming event (2025-11-25 sessions).
async fn open_listener(session: &Session) -> crate::Streaming {
    let mut stream = session.open(session.get(None)).await;
    assert_eq!(stream.status, 200, "GET stream");
    if session.version.as_str() >= "2025-11-25" {
        let priming = stream
            .next_event(EVENT_WAIT)
            .await
            .unwrap_or_else(|()| panic!("no priming event on the GET stream"))
            .unwrap_or_else(|| panic!("the GET stream ended"));
        assert!(priming.data.is_empty(), "priming event first: {priming:?}");
    }
    stream
}

/// Reads the stream until a message with `method` arrives (other messages, such as changes
/// made by cases running at the same time, are skipped).
async fn wait_for(stream: &mut crate::Streaming, method: &str, what: &str) -> Value {
    let deadline = tokio::time::Instant::now() + EVENT_WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match stream.next_message(left).await {
            Ok(Some(message)) if message["method"] == method => return message,
            Ok(Some(_)) => {}
            Ok(None) => panic!("{what}: the stream ended before {method}"),
            Err(()) => panic!("{what}: no {method} within {EVENT_WAIT:?}"),
        }
    }
}

/// Reads the stream for `wait`; panics if a message matching `unwanted` arrives.
async fn expect_none(
    stream: &mut crate::Streaming,
    wait: Duration,
    unwanted: impl Fn(&Value) -> bool,
    what: &str,
) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        match stream.next_message(left).await {
            Ok(Some(message)) if unwanted(&message) => panic!("{what}: got {message}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(()) => return,
        }
    }
}

// ---- capabilities ----

/// The `initialize` result declares exactly what the fixture offers.
pub async fn capabilities_reflect_registrations(t: &Target) {
    let response = t
        .send(t.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    assert_eq!(
        response.result()["capabilities"],
        json!({
            "tools": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "prompts": {"listChanged": true},
            "logging": {},
            "completions": {}
        })
    );
    // Without sessions there is no GET stream to announce changes on.
    let stateless = t.variant("stateless");
    let response = stateless
        .send(stateless.post(&initialize_body(next_id(), "2025-11-25")))
        .await;
    let capabilities = &response.result()["capabilities"];
    assert_eq!(capabilities["tools"], json!({"listChanged": false}));
    assert_eq!(
        capabilities["resources"],
        json!({"subscribe": false, "listChanged": false})
    );
}

// ---- resources ----

/// `resources/list` lists the fixed resources (not templates) with name and MIME type.
pub async fn resources_list_describes_resources(t: &Target) {
    let session = t.connect().await;
    let list = session.call("resources/list", json!({})).await;
    let uris = keys(&list, "resources", "uri");
    for uri in [
        "test://static-text",
        "test://static-binary",
        "test://watched-resource",
    ] {
        assert!(uris.iter().any(|u| u == uri), "{uri} missing from {uris:?}");
    }
    assert!(
        !uris.iter().any(|u| u.contains('{')),
        "templates belong in resources/templates/list: {uris:?}"
    );
    let text = list["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["uri"] == "test://static-text"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(text["name"], "static-text");
    assert_eq!(text["mimeType"], "text/plain");
    assert!(text["description"].is_string());
}

/// `resources/read` returns text contents with their URI and MIME type.
pub async fn resources_read_text(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call("resources/read", json!({"uri": "test://static-text"}))
        .await;
    assert_eq!(
        result["contents"],
        json!([{
            "uri": "test://static-text",
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource."
        }])
    );
}

/// `resources/read` returns binary contents as a base64 `blob` with its MIME type.
pub async fn resources_read_binary(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call("resources/read", json!({"uri": "test://static-binary"}))
        .await;
    assert_eq!(
        result["contents"],
        json!([{"uri": "test://static-binary", "mimeType": "image/png", "blob": crate::fixture::PNG}])
    );
}

/// A URI matching a template is read through it; the handler gets the decoded variables.
pub async fn resources_read_through_template(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call("resources/read", json!({"uri": "test://template/123/data"}))
        .await;
    let contents = &result["contents"][0];
    assert_eq!(contents["uri"], "test://template/123/data");
    assert_eq!(contents["mimeType"], "application/json");
    let data: Value = serde_json::from_str(contents["text"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("template text is not JSON ({e}): {contents}"));
    assert_eq!(
        data,
        json!({"id": "123", "templateTest": true, "data": "Data for ID: 123"})
    );
    // Percent-encoded values are decoded.
    let result = session
        .call(
            "resources/read",
            json!({"uri": "test://template/a%20b/data"}),
        )
        .await;
    let text = result["contents"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("\"a b\""), "{text}");
    // A variable never spans a `/`.
    let response = session
        .request("resources/read", json!({"uri": "test://template/1/2/data"}))
        .await;
    assert_eq!(response.error_code(), -32002);
}

/// A URI no resource or template has is `-32002` with the URI in `data`.
pub async fn resources_read_missing_is_32002(t: &Target) {
    let session = t.connect().await;
    for uri in [
        "test://no-such-resource",
        "test://template//data",
        "other://static-text",
    ] {
        let response = session.request("resources/read", json!({"uri": uri})).await;
        let rpc = response.rpc();
        assert_eq!(rpc["error"]["code"], -32002, "{uri}: {rpc}");
        assert_eq!(rpc["error"]["data"]["uri"], uri, "{uri}: {rpc}");
    }
    let response = session.request("resources/read", json!({})).await;
    assert_eq!(response.error_code(), -32602, "resources/read without uri");
}

/// `resources/list` pages (2 a page on the `limited` variant) add up to the whole list, and a
/// bad cursor is `-32602`.
pub async fn resources_list_paginates(t: &Target) {
    let full = t.connect().await;
    let everything = keys(
        &full.call("resources/list", json!({})).await,
        "resources",
        "uri",
    );
    let limited = t.variant("limited").connect().await;
    let first = limited.call("resources/list", json!({})).await;
    assert_eq!(
        first["resources"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    assert!(first["nextCursor"].is_string(), "{first}");
    let paged: Vec<String> = all_pages(&limited, "resources/list", "resources")
        .await
        .iter()
        .filter_map(|r| r["uri"].as_str().map(str::to_owned))
        .collect();
    // Resources added at run time by other cases may come and go; the fixed ones are stable.
    let fixed = |uris: &[String]| -> Vec<String> {
        uris.iter()
            .filter(|u| !u.starts_with("test://dynamic/"))
            .cloned()
            .collect()
    };
    assert_eq!(fixed(&paged), fixed(&everything));
    let templates = all_pages(&limited, "resources/templates/list", "resourceTemplates").await;
    assert!(
        templates
            .iter()
            .any(|t| t["uriTemplate"] == "test://template/{id}/data"),
        "{templates:?}"
    );
    for method in ["resources/list", "resources/templates/list"] {
        let response = limited
            .request(method, json!({"cursor": "not-a-cursor"}))
            .await;
        assert_eq!(response.error_code(), -32602, "{method}");
    }
}

/// `resources/templates/list` describes the template with its MIME type.
pub async fn resources_templates_list(t: &Target) {
    let session = t.connect().await;
    let list = session.call("resources/templates/list", json!({})).await;
    let template = list["resourceTemplates"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["uriTemplate"] == "test://template/{id}/data")
        })
        .cloned()
        .unwrap_or_else(|| panic!("template missing: {list}"));
    assert_eq!(template["name"], "template");
    assert_eq!(template["mimeType"], "application/json");
    assert!(template.get("uri").is_none(), "{template}");
}

/// Subscribing to a resource delivers `notifications/resources/updated` on the GET stream of
/// that session only, until it unsubscribes.
pub async fn resources_subscribe_delivers_updates(t: &Target) {
    let subscriber = t.connect().await;
    let bystander = t.connect().await;
    let uri = format!("test://template/{}/data", unique("watch"));
    assert_eq!(
        subscriber
            .call("resources/subscribe", json!({"uri": uri}))
            .await,
        json!({})
    );
    assert_eq!(
        subscriber
            .call(
                "resources/subscribe",
                json!({"uri": "test://watched-resource"})
            )
            .await,
        json!({})
    );
    let mut subscribed = open_listener(&subscriber).await;
    let mut other = open_listener(&bystander).await;
    let reached = bystander
        .call_tool("touch_resource", json!({"uri": uri}))
        .await;
    assert_eq!(text_of(&reached), "1", "exactly the one subscribed session");
    let updated = wait_for(
        &mut subscribed,
        "notifications/resources/updated",
        "subscriber",
    )
    .await;
    assert_eq!(updated["params"]["uri"], uri.as_str());
    assert!(updated.get("id").is_none(), "a notification has no id");
    expect_none(
        &mut other,
        Duration::from_millis(300),
        |m| m["params"]["uri"] == uri.as_str(),
        "a session that did not subscribe got the update",
    )
    .await;
    assert_eq!(
        subscriber
            .call("resources/unsubscribe", json!({"uri": uri}))
            .await,
        json!({})
    );
    let reached = bystander
        .call_tool("touch_resource", json!({"uri": uri}))
        .await;
    assert_eq!(text_of(&reached), "0", "nobody is subscribed any more");
    expect_none(
        &mut subscribed,
        Duration::from_millis(300),
        |m| m["params"]["uri"] == uri.as_str(),
        "an update arrived after unsubscribe",
    )
    .await;
}

/// Subscribing to a resource that does not exist is `-32002`.
pub async fn resources_subscribe_missing_is_32002(t: &Target) {
    let session = t.connect().await;
    let response = session
        .request("resources/subscribe", json!({"uri": "test://nothing-here"}))
        .await;
    assert_eq!(response.error_code(), -32002);
    let response = session.request("resources/subscribe", json!({})).await;
    assert_eq!(response.error_code(), -32602);
}

// ---- prompts ----

/// `prompts/list` describes every prompt and its arguments.
pub async fn prompts_list_describes_prompts(t: &Target) {
    let session = t.connect().await;
    let prompts = all_pages(&session, "prompts/list", "prompts").await;
    for prompt in &prompts {
        assert!(
            prompt["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{prompt}"
        );
        assert!(
            prompt["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "every prompt needs a description: {prompt}"
        );
    }
    let with_args = prompts
        .iter()
        .find(|p| p["name"] == "test_prompt_with_arguments")
        .cloned()
        .unwrap_or_else(|| panic!("test_prompt_with_arguments missing: {prompts:?}"));
    assert_eq!(
        with_args["arguments"],
        json!([
            {"name": "arg1", "description": "First test argument", "required": true},
            {"name": "arg2", "description": "Second test argument", "required": true}
        ])
    );
    for name in [
        "test_simple_prompt",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
    ] {
        assert!(prompts.iter().any(|p| p["name"] == name), "{name} missing");
    }
    // Two a page on the `limited` variant; a bad cursor is -32602. Prompts that other cases
    // add at run time come and go; the fixed ones are stable.
    let fixed = |prompts: &[Value]| -> Vec<String> {
        prompts
            .iter()
            .filter_map(|p| p["name"].as_str())
            .filter(|n| !n.starts_with("dynamic_"))
            .map(str::to_owned)
            .collect()
    };
    let limited = t.variant("limited").connect().await;
    let first = limited.call("prompts/list", json!({})).await;
    assert_eq!(
        first["prompts"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    let paged = all_pages(&limited, "prompts/list", "prompts").await;
    assert_eq!(fixed(&paged), fixed(&prompts));
    let response = limited
        .request("prompts/list", json!({"cursor": "o9999"}))
        .await;
    assert_eq!(response.error_code(), -32602);
}

/// `prompts/get` renders messages with roles and content.
pub async fn prompts_get_renders_messages(t: &Target) {
    let session = t.connect().await;
    let simple = session
        .call("prompts/get", json!({"name": "test_simple_prompt"}))
        .await;
    assert_eq!(
        simple["messages"],
        json!([{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}])
    );
    let with_args = session
        .call(
            "prompts/get",
            json!({"name": "test_prompt_with_arguments",
                "arguments": {"arg1": "testValue1", "arg2": "testValue2"}}),
        )
        .await;
    assert_eq!(
        with_args["messages"][0]["content"]["text"],
        "Prompt with arguments: arg1='testValue1', arg2='testValue2'"
    );
    let embedded = session
        .call(
            "prompts/get",
            json!({"name": "test_prompt_with_embedded_resource",
                "arguments": {"resourceUri": "test://example-resource"}}),
        )
        .await;
    assert_eq!(
        embedded["messages"][0]["content"],
        json!({"type": "resource", "resource": {"uri": "test://example-resource",
            "mimeType": "text/plain", "text": "Embedded resource content for testing."}})
    );
    assert_eq!(
        embedded["messages"][1]["content"]["text"],
        "Please process the embedded resource above."
    );
    let image = session
        .call("prompts/get", json!({"name": "test_prompt_with_image"}))
        .await;
    assert_eq!(
        image["messages"][0]["content"],
        json!({"type": "image", "data": crate::fixture::PNG, "mimeType": "image/png"})
    );
}

/// Prompt messages carry every content type: text, image, audio, resource link, resource.
pub async fn prompts_get_carries_every_content_type(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call(
            "prompts/get",
            json!({"name": "all_content_types", "arguments": {"style": "terse"}}),
        )
        .await;
    assert_eq!(
        result["description"],
        "Every content type a prompt message can carry"
    );
    let messages = result["messages"].as_array().cloned().unwrap_or_default();
    let types: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or(""),
                m["content"]["type"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("user", "text"),
            ("user", "image"),
            ("user", "audio"),
            ("assistant", "resource_link"),
            ("assistant", "resource")
        ]
    );
    assert_eq!(messages[0]["content"]["text"], "Style: terse");
    assert_eq!(messages[2]["content"]["mimeType"], "audio/wav");
    assert_eq!(messages[3]["content"]["uri"], "test://static-text");
    assert_eq!(
        messages[4]["content"]["resource"]["blob"],
        crate::fixture::PNG
    );
}

/// An unknown prompt, a missing required argument and a non-string argument are `-32602`.
pub async fn prompts_get_bad_requests_are_invalid_params(t: &Target) {
    let session = t.connect().await;
    for params in [
        json!({"name": "no_such_prompt"}),
        json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": "only one"}}),
        json!({"name": "test_prompt_with_arguments"}),
        json!({"name": "test_prompt_with_arguments", "arguments": {"arg1": 1, "arg2": "x"}}),
        json!({"arguments": {}}),
    ] {
        let response = session.request("prompts/get", params.clone()).await;
        assert_eq!(response.error_code(), -32602, "{params}");
    }
    let response = session
        .request(
            "prompts/get",
            json!({"name": "test_prompt_with_arguments", "arguments": {"arg2": "x"}}),
        )
        .await;
    assert_eq!(
        response.rpc()["error"]["data"]["missing"],
        json!(["arg1"]),
        "the error names what is missing"
    );
}

// ---- completion ----

/// `completion/complete` asks the prompt argument's handler; values are capped at 100.
pub async fn completion_completes_prompt_arguments(t: &Target) {
    let session = t.connect().await;
    let complete = |value: &str| {
        json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": value}})
    };
    let result = session.call("completion/complete", complete("test")).await;
    assert_eq!(
        result["completion"],
        json!({"values": ["testValue1", "testValue2"], "total": 2, "hasMore": false})
    );
    let result = session.call("completion/complete", complete("")).await;
    let completion = &result["completion"];
    assert_eq!(
        completion["values"].as_array().map(Vec::len),
        Some(100),
        "at most 100 values"
    );
    assert_eq!(completion["total"], 152);
    assert_eq!(completion["hasMore"], true);
    // An argument with no handler completes to nothing.
    let result = session
        .call(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
                "argument": {"name": "arg2", "value": "x"}}),
        )
        .await;
    assert_eq!(
        result["completion"],
        json!({"values": [], "total": 0, "hasMore": false})
    );
}

/// `completion/complete` with a `ref/resource` asks the template variable's handler.
pub async fn completion_completes_template_variables(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call(
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"},
                "argument": {"name": "id", "value": "1"},
                "context": {"arguments": {}}}),
        )
        .await;
    assert_eq!(result["completion"]["values"], json!(["1", "10", "123"]));
}

/// An unknown prompt or template, an unknown argument and a bad `ref` are `-32602`.
pub async fn completion_unknown_ref_is_invalid_params(t: &Target) {
    let session = t.connect().await;
    for params in [
        json!({"ref": {"type": "ref/prompt", "name": "no_such_prompt"}, "argument": {"name": "a", "value": ""}}),
        json!({"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "nope", "value": ""}}),
        json!({"ref": {"type": "ref/resource", "uri": "test://no/{x}"}, "argument": {"name": "x", "value": ""}}),
        json!({"ref": {"type": "ref/resource", "uri": "test://template/{id}/data"}, "argument": {"name": "nope", "value": ""}}),
        json!({"ref": {"type": "ref/unknown"}, "argument": {"name": "a", "value": ""}}),
        json!({"argument": {"name": "a", "value": ""}}),
    ] {
        let response = session.request("completion/complete", params.clone()).await;
        assert_eq!(response.error_code(), -32602, "{params}");
    }
}

// ---- list_changed ----

async fn change(session: &Session, kind: &str, key: &str, remove: bool) {
    let result = session
        .call_tool(
            "dynamic",
            json!({"kind": kind, "key": key, "remove": remove}),
        )
        .await;
    assert_eq!(text_of(&result), "true", "{kind} {key} remove={remove}");
}

/// A tool added at run time is listed and callable, and every GET stream hears
/// `notifications/tools/list_changed`; removing it does the same in reverse.
pub async fn tools_list_changed_on_runtime_change(t: &Target) {
    let session = t.connect().await;
    let watcher = t.connect().await;
    let mut stream = open_listener(&watcher).await;
    let key = unique("tool").replace('-', "_");
    let name = format!("dynamic_{key}");
    change(&session, "tool", &key, false).await;
    wait_for(&mut stream, "notifications/tools/list_changed", "add").await;
    let tools = all_pages(&session, "tools/list", "tools").await;
    assert!(
        tools.iter().any(|t| t["name"] == name.as_str()),
        "{name} not listed"
    );
    let result = session.call_tool(&name, json!({})).await;
    assert_eq!(text_of(&result), format!("dynamic tool {key}"));
    change(&session, "tool", &key, true).await;
    wait_for(&mut stream, "notifications/tools/list_changed", "remove").await;
    let tools = all_pages(&session, "tools/list", "tools").await;
    assert!(
        !tools.iter().any(|t| t["name"] == name.as_str()),
        "{name} still listed"
    );
    let response = session
        .request("tools/call", json!({"name": name, "arguments": {}}))
        .await;
    assert_eq!(response.error_code(), -32602);
    // Removing what is not there changes nothing.
    let result = session
        .call_tool(
            "dynamic",
            json!({"kind": "tool", "key": key, "remove": true}),
        )
        .await;
    assert_eq!(text_of(&result), "false");
}

/// Resources and prompts changed at run time send their own `list_changed`.
pub async fn resources_and_prompts_list_changed(t: &Target) {
    let session = t.connect().await;
    let mut stream = open_listener(&session).await;
    let key = unique("entry");
    change(&session, "resource", &key, false).await;
    wait_for(
        &mut stream,
        "notifications/resources/list_changed",
        "resource",
    )
    .await;
    let uri = format!("test://dynamic/{key}");
    let read = session.call("resources/read", json!({"uri": uri})).await;
    assert_eq!(read["contents"][0]["text"], "A resource added at run time.");
    change(&session, "resource", &key, true).await;
    wait_for(
        &mut stream,
        "notifications/resources/list_changed",
        "resource removed",
    )
    .await;
    let response = session.request("resources/read", json!({"uri": uri})).await;
    assert_eq!(response.error_code(), -32002);
    change(&session, "prompt", &key, false).await;
    wait_for(&mut stream, "notifications/prompts/list_changed", "prompt").await;
    let prompt = session
        .call("prompts/get", json!({"name": format!("dynamic_{key}")}))
        .await;
    assert_eq!(
        prompt["messages"][0]["content"]["text"],
        "A prompt added at run time."
    );
    change(&session, "prompt", &key, true).await;
    wait_for(
        &mut stream,
        "notifications/prompts/list_changed",
        "prompt removed",
    )
    .await;
}

/// A request made before any GET stream opens is unaffected by run-time changes: the change
/// notification goes only to GET streams, never onto a request's own stream.
pub async fn list_changed_never_rides_a_request_stream(t: &Target) {
    let session = t.connect().await;
    let key = unique("quiet");
    let response = session
        .request(
            "tools/call",
            json!({"name": "dynamic", "arguments": {"kind": "tool", "key": key}}),
        )
        .await;
    assert_eq!(
        response.content_type(),
        "application/json",
        "the change must not turn the caller's answer into a stream: {:?}",
        response.body
    );
    change(&session, "tool", &key, true).await;
}
