//! Tasks (`io.modelcontextprotocol/tasks`, 2026-07-28): tool calls that outlive their request.
//! The fixture's `slow_compute`, `failing_job`, `protocol_error_job`, `confirm_delete`,
//! `multi_input` and `test_tool_with_task` are the official suite's task tools.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixture::PANIC_TEXT;
use crate::{Target, next_id};

const MODERN: &str = "2026-07-28";
const TASKS: &str = "io.modelcontextprotocol/tasks";

/// Client capabilities that opt into tasks (and can answer elicitations).
fn with_tasks() -> Value {
    json!({"elicitation": {}, "extensions": {TASKS: {}}})
}

/// A modern request of `method` with `params`, declaring `capabilities`, with the headers a
/// conforming client sends (`Mcp-Name` as given).
fn post(
    t: &Target,
    method: &str,
    mut params: Value,
    capabilities: &Value,
    name: Option<&str>,
) -> http::request::Builder {
    if let Some(params) = params.as_object_mut() {
        params.insert(
            "_meta".into(),
            json!({
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": capabilities,
                "io.modelcontextprotocol/clientInfo": {"name": "mcp-mount-conformance", "version": "0.1.0"}
            }),
        );
    }
    let body = json!({"jsonrpc": "2.0", "id": next_id(), "method": method, "params": params});
    let mut builder = t.post(&body).header("mcp-method", method);
    if let Some(headers) = builder.headers_mut() {
        headers.insert(
            "mcp-protocol-version",
            http::HeaderValue::from_static(MODERN),
        );
    }
    match name {
        Some(name) => builder.header("mcp-name", name),
        None => builder,
    }
}

/// Calls tool `name` declaring `capabilities` and returns the JSON-RPC message.
async fn call(t: &Target, name: &str, arguments: Value, capabilities: &Value) -> Value {
    let params = json!({"name": name, "arguments": arguments});
    t.send(post(t, "tools/call", params, capabilities, Some(name)))
        .await
        .rpc()
}

/// `tasks/{verb}` on `task` (opted in), as `user` when given; the JSON-RPC message.
async fn task_request(
    t: &Target,
    verb: &str,
    task: &str,
    extra: Value,
    user: Option<&str>,
) -> Value {
    let mut params = json!({"taskId": task});
    if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
        params.extend(extra.clone());
    }
    let builder = post(
        t,
        &format!("tasks/{verb}"),
        params,
        &with_tasks(),
        Some(task),
    );
    let builder = match user {
        Some(user) => builder.header("x-user", user),
        None => builder,
    };
    t.send(builder).await.rpc()
}

/// Polls `tasks/get` until the task's status is one of `statuses` (10 s at most).
async fn until(t: &Target, task: &str, statuses: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = task_request(t, "get", task, json!({}), None).await;
        let status = got["result"]["status"].as_str().unwrap_or_default();
        if statuses.contains(&status) {
            return got["result"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "task {task} never reached {statuses:?}: {got}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The task id of a `CreateTaskResult`, after checking its shape.
fn created(message: &Value) -> String {
    let result = &message["result"];
    assert_eq!(result["resultType"], "task", "expected a task: {message}");
    let id = result["taskId"].as_str().unwrap_or_default().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "task ids are 128 random bits: {id:?}"
    );
    for field in ["createdAt", "lastUpdatedAt"] {
        let stamp = result[field].as_str().unwrap_or_default();
        assert!(
            stamp.len() >= 20 && stamp.as_bytes().get(10) == Some(&b'T') && stamp.ends_with('Z'),
            "{field} is an RFC 3339 UTC timestamp: {stamp:?}"
        );
    }
    assert!(
        result["ttlMs"].as_u64().is_some_and(|ms| ms > 0),
        "{result}"
    );
    assert!(
        result["pollIntervalMs"].as_u64().is_some_and(|ms| ms > 0),
        "{result}"
    );
    for absent in [
        "result",
        "error",
        "inputRequests",
        "requestState",
        "task",
        "ttl",
        "pollInterval",
    ] {
        assert!(
            result.get(absent).is_none(),
            "CreateTaskResult carries {absent}: {result}"
        );
    }
    id
}

/// The ack of `tasks/update` and `tasks/cancel`: `{resultType: "complete"}` and nothing of
/// the task.
fn assert_ack(message: &Value) {
    let result = &message["result"];
    assert_eq!(result["resultType"], "complete", "{message}");
    for field in ["taskId", "status", "result", "error", "inputRequests"] {
        assert!(
            result.get(field).is_none(),
            "the ack carries {field}: {message}"
        );
    }
}

/// `server/discover` advertises the extension under `capabilities.extensions` (not a
/// `capabilities.tasks` slot).
pub async fn tasks_extension_is_advertised(t: &Target) {
    let discover = t
        .send(post(t, "server/discover", json!({}), &json!({}), None))
        .await
        .result();
    let capabilities = &discover["capabilities"];
    assert!(capabilities["extensions"][TASKS].is_object(), "{discover}");
    assert!(capabilities.get("tasks").is_none(), "{discover}");
}

/// A task-supporting tool that runs past the threshold answers with a task that is readable
/// at once and completes with the tool's result inlined; a fast call of the same tool, and
/// any call of a tool without task support, answer with the result.
pub async fn tasks_a_slow_call_becomes_a_task(t: &Target) {
    let fast = call(t, "slow_compute", json!({"seconds": 0}), &with_tasks()).await;
    assert_eq!(fast["result"]["resultType"], "complete", "{fast}");
    assert!(fast["result"]["content"].is_array(), "{fast}");
    let sync = call(t, "greet", json!({"name": "W"}), &with_tasks()).await;
    assert_eq!(sync["result"]["content"][0]["text"], "Hello, W!", "{sync}");
    let slow = call(
        t,
        "slow_compute",
        json!({"seconds": 0.6, "label": "x"}),
        &with_tasks(),
    )
    .await;
    let id = created(&slow);
    // Durable before the answer: the next tasks/get finds it.
    let got = task_request(t, "get", &id, json!({}), None).await;
    assert_eq!(got["result"]["taskId"], id, "{got}");
    assert_eq!(got["result"]["resultType"], "complete", "{got}");
    assert_eq!(got["result"]["status"], "working", "{got}");
    assert!(got["result"].get("result").is_none(), "{got}");
    let done = until(t, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["content"][0]["text"], "computed x in 0.6 s",
        "{done}"
    );
    assert!(
        done["result"]
            .get("_meta")
            .and_then(|m| m.get("io.modelcontextprotocol/related-task"))
            .is_none(),
        "{done}"
    );
}

/// Without the extension: no task ever (a task-supporting tool waits for its result), a
/// `Required` tool and the `tasks/*` methods are `-32021` naming the extension, and so is a
/// listen for task notifications.
pub async fn tasks_need_the_extension(t: &Target) {
    let plain = json!({});
    let slow = call(t, "slow_compute", json!({"seconds": 0.4}), &plain).await;
    assert_eq!(slow["result"]["resultType"], "complete", "{slow}");
    assert!(slow["result"].get("taskId").is_none(), "{slow}");
    let required = call(t, "failing_job", json!({}), &plain).await;
    assert_eq!(required["error"]["code"], -32021, "{required}");
    assert!(
        required["error"]["data"]["requiredCapabilities"]["extensions"][TASKS].is_object(),
        "{required}"
    );
    for verb in ["get", "update", "cancel"] {
        let method = format!("tasks/{verb}");
        let params = json!({"taskId": "0123", "inputResponses": {}});
        let refused = t
            .send(post(t, &method, params, &plain, Some("0123")))
            .await
            .rpc();
        assert_eq!(refused["error"]["code"], -32021, "{method}: {refused}");
    }
    let listen = t
        .send(post(
            t,
            "subscriptions/listen",
            json!({"notifications": {"taskIds": ["0123"]}}),
            &plain,
            None,
        ))
        .await
        .rpc();
    assert_eq!(listen["error"]["code"], -32021, "{listen}");
}

/// A tool error settles `completed` with `isError`; a protocol error (here a panic) settles
/// `failed` with the JSON-RPC error inlined, and the panic's text is not in it.
pub async fn tasks_errors_settle_completed_or_failed(t: &Target) {
    let failing = created(&call(t, "failing_job", json!({}), &with_tasks()).await);
    let panicking = created(&call(t, "protocol_error_job", json!({}), &with_tasks()).await);
    let done = until(t, &failing, &["completed", "failed", "cancelled"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["isError"], true, "{done}");
    let failed = until(t, &panicking, &["completed", "failed", "cancelled"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert!(failed.get("result").is_none(), "{failed}");
    assert!(
        !failed.to_string().contains(PANIC_TEXT),
        "the panic text leaked: {failed}"
    );
}

/// `tasks/cancel` is acknowledged with an empty result, the handler's cancellation fires and
/// the task settles `cancelled`; cancelling an ended task is acknowledged the same way.
pub async fn tasks_cancel_settles_cancelled(t: &Target) {
    let id = created(&call(t, "slow_compute", json!({"seconds": 60}), &with_tasks()).await);
    assert_ack(&task_request(t, "cancel", &id, json!({}), None).await);
    let cancelled = until(t, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_ack(&task_request(t, "cancel", &id, json!({}), None).await);
    assert_eq!(
        until(t, &id, &["cancelled"]).await["status"],
        "cancelled",
        "an ended task does not change"
    );
}

/// A task's questions to the client come as `input_required` with `inputRequests`;
/// `tasks/update` answers them (one at a time, unknown keys ignored), each acked, and the
/// task resumes to its result once all are answered.
pub async fn tasks_input_comes_through_update(t: &Target) {
    let id = created(&call(t, "multi_input", json!({}), &with_tasks()).await);
    let deadline = Instant::now() + Duration::from_secs(10);
    let asked = loop {
        let got = until(t, &id, &["input_required", "completed", "failed"]).await;
        if got["inputRequests"]
            .as_object()
            .is_some_and(|r| r.len() == 2)
        {
            break got;
        }
        assert!(Instant::now() < deadline, "two questions never came: {got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(asked["status"], "input_required", "{asked}");
    let keys: Vec<String> = asked["inputRequests"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    assert!(
        asked["inputRequests"][&keys[0]]["method"] == "elicitation/create",
        "{asked}"
    );
    let answer = |name: &str| json!({"action": "accept", "content": {"name": name}});
    let first = task_request(
        t,
        "update",
        &id,
        json!({"inputResponses": {&keys[0]: answer("ann"), "no-such-key": answer("x")}}),
        None,
    )
    .await;
    assert_ack(&first);
    let half = task_request(t, "get", &id, json!({}), None).await["result"].clone();
    assert_eq!(half["status"], "input_required", "{half}");
    let left: Vec<&String> = half["inputRequests"]
        .as_object()
        .map(|r| r.keys().collect())
        .unwrap_or_default();
    assert_eq!(left, [&keys[1]], "only the unanswered key is left: {half}");
    let second = task_request(
        t,
        "update",
        &id,
        json!({"inputResponses": {&keys[1]: answer("bob")}}),
        None,
    )
    .await;
    assert_ack(&second);
    let done = until(t, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    let text = done["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("ann") && text.contains("bob"), "{done}");
}

/// Questions a handler asks before its call becomes a task are MRTR rounds (no task id);
/// the round that becomes a task answers with a `CreateTaskResult` without `requestState`,
/// and the task's result reflects the answers.
pub async fn tasks_mrtr_rounds_come_before_the_task(t: &Target) {
    let first = call(t, "test_tool_with_task", json!({}), &with_tasks()).await;
    let round = &first["result"];
    assert_eq!(round["resultType"], "input_required", "{first}");
    assert!(round.get("taskId").is_none(), "{first}");
    let state = round["requestState"].clone();
    let params = json!({
        "name": "test_tool_with_task",
        "arguments": {},
        "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": state,
    });
    let second = t
        .send(post(
            t,
            "tools/call",
            params,
            &with_tasks(),
            Some("test_tool_with_task"),
        ))
        .await
        .rpc();
    let id = created(&second);
    let done = until(t, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(
        done["result"]["content"][0]["text"], "Hello, Alice!",
        "{done}"
    );
}

/// A task is its creator's: another principal gets the unknown-task error, the very one an id
/// that never existed gets (`-32602`).
pub async fn tasks_are_bound_to_their_principal(t: &Target) {
    let bound = t.variant("per-client");
    let params = json!({"name": "slow_compute", "arguments": {"seconds": 60}});
    let created_by_alice = bound
        .send(
            post(
                &bound,
                "tools/call",
                params,
                &with_tasks(),
                Some("slow_compute"),
            )
            .header("x-user", "alice"),
        )
        .await
        .rpc();
    let id = created(&created_by_alice);
    let alices = task_request(&bound, "get", &id, json!({}), Some("alice")).await;
    assert_eq!(alices["result"]["status"], "working", "{alices}");
    let bobs = task_request(&bound, "get", &id, json!({}), Some("bob")).await;
    assert_eq!(bobs["error"]["code"], -32602, "{bobs}");
    let unknown = task_request(
        &bound,
        "get",
        "0123456789abcdef0123456789abcdef",
        json!({}),
        Some("alice"),
    )
    .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let bob_cancel = task_request(&bound, "cancel", &id, json!({}), Some("bob")).await;
    assert_eq!(bob_cancel["error"]["code"], -32602, "{bob_cancel}");
    assert_ack(&task_request(&bound, "cancel", &id, json!({}), Some("alice")).await);
}

/// Past the per-client cap on running tasks (1 on the `per-client` variant), an `Optional`
/// tool's call waits for its result instead, and a `Required` tool's is an error naming
/// `max_tasks`; another client is not held back.
pub async fn tasks_are_capped_per_client(t: &Target) {
    let bound = t.variant("per-client");
    let as_user = |name: &str, arguments: Value, user: &str| {
        post(
            &bound,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
            &with_tasks(),
            Some(name),
        )
        .header("x-user", user.to_owned())
    };
    let first = bound
        .send(as_user("slow_compute", json!({"seconds": 60}), "carol"))
        .await
        .rpc();
    let id = created(&first);
    let inline = bound
        .send(as_user("slow_compute", json!({"seconds": 0.5}), "carol"))
        .await
        .rpc();
    assert_eq!(inline["result"]["resultType"], "complete", "{inline}");
    let refused = bound
        .send(as_user("failing_job", json!({}), "carol"))
        .await
        .rpc();
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("max_tasks"), "{refused}");
    let other = bound
        .send(as_user("slow_compute", json!({"seconds": 60}), "dave"))
        .await
        .rpc();
    let other_id = created(&other);
    for (task, user) in [(id, "carol"), (other_id, "dave")] {
        assert_ack(&task_request(&bound, "cancel", &task, json!({}), Some(user)).await);
    }
}

/// A task lives its TTL (800 ms on the `expiring` variant) from its creation: then it is
/// unknown (`-32602`), and one still running is cancelled.
pub async fn tasks_expire_after_their_ttl(t: &Target) {
    let expiring = t.variant("expiring");
    let id = created(
        &call(
            &expiring,
            "slow_compute",
            json!({"seconds": 60}),
            &with_tasks(),
        )
        .await,
    );
    let got = task_request(&expiring, "get", &id, json!({}), None).await;
    assert_eq!(got["result"]["ttlMs"], 800, "{got}");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let gone = task_request(&expiring, "get", &id, json!({}), None).await;
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
}

/// `Mcp-Name` of `tasks/*` is the task id: missing or different is `-32020` with HTTP 400.
pub async fn tasks_mcp_name_is_the_task_id(t: &Target) {
    let id = created(&call(t, "slow_compute", json!({"seconds": 60}), &with_tasks()).await);
    for name in [None, Some("another-task")] {
        let response = t
            .send(post(
                t,
                "tasks/get",
                json!({"taskId": id}),
                &with_tasks(),
                name,
            ))
            .await;
        assert_eq!(
            response.status, 400,
            "Mcp-Name {name:?}: {:?}",
            response.body
        );
        assert_eq!(response.rpc()["error"]["code"], -32020, "Mcp-Name {name:?}");
    }
    assert_ack(&task_request(t, "cancel", &id, json!({}), None).await);
}

/// `tasks/result` and `tasks/list` (2025-11-25's experimental tasks) are gone: `-32601`.
pub async fn tasks_removed_methods_are_not_found(t: &Target) {
    for method in ["tasks/result", "tasks/list"] {
        let response = t
            .send(post(
                t,
                method,
                json!({"taskId": "x"}),
                &with_tasks(),
                Some("x"),
            ))
            .await;
        assert_eq!(response.rpc()["error"]["code"], -32601, "{method}");
    }
}

/// A listen stream that names a task gets `notifications/tasks` with the whole task as it
/// changes, its result inlined at the end, tagged with the subscription.
pub async fn tasks_notifications_come_through_listen(t: &Target) {
    let id = created(&call(t, "slow_compute", json!({"seconds": 0.6}), &with_tasks()).await);
    let mut listen = t
        .open(post(
            t,
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
            &with_tasks(),
            None,
        ))
        .await;
    assert_eq!(listen.status, 200);
    let ack = listen
        .next_message(Duration::from_secs(5))
        .await
        .ok()
        .flatten();
    let ack = ack.unwrap_or_default();
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["notifications"]["taskIds"],
        json!([id]),
        "{ack}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let message = listen
            .next_message(Duration::from_secs(5))
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        assert_eq!(message["method"], "notifications/tasks", "{message}");
        assert_eq!(message["params"]["taskId"], id, "{message}");
        assert!(
            message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"].is_number(),
            "{message}"
        );
        if message["params"]["status"] == "completed" {
            assert!(
                message["params"]["result"]["content"].is_array(),
                "{message}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no completed notification");
    }
}

/// Progress a task's handler reports is the task's `statusMessage` while it works (a task
/// has no stream for `notifications/progress`).
pub async fn tasks_progress_is_the_status_message(t: &Target) {
    let id = created(&call(t, "task_with_progress", json!({}), &with_tasks()).await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = task_request(t, "get", &id, json!({}), None).await["result"].clone();
        if got["statusMessage"] == "half way" {
            assert_eq!(got["status"], "working", "{got}");
            break;
        }
        assert_ne!(
            got["status"], "completed",
            "the progress never showed: {got}"
        );
        assert!(
            Instant::now() < deadline,
            "the progress never showed: {got}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = until(t, &id, &["completed", "failed", "cancelled"]).await;
    assert_eq!(done["result"]["content"][0]["text"], "done", "{done}");
}

/// A session-era (2025-11-25) client calling a task-supporting tool gets its result, as any
/// call: tasks are the 2026-07-28 extension's.
pub async fn tasks_session_era_calls_get_results(t: &Target) {
    let session = t.connect().await;
    let result = session
        .call_tool("slow_compute", json!({"seconds": 0.4}))
        .await;
    assert_eq!(
        result["content"][0]["text"], "computed it in 0.4 s",
        "{result}"
    );
    assert!(result.get("taskId").is_none());
    session.delete().await;
}
