//! The 2026-07-28 ("modern") era on the same endpoint: stateless requests that carry their
//! protocol version and client capabilities in `params._meta`, checked against mirrored
//! `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers.
//!
//! A POST is modern when its `params._meta` carries `io.modelcontextprotocol/protocolVersion`
//! or `io.modelcontextprotocol/clientCapabilities`, or when it is `server/discover` (a method
//! only the modern era has). Everything else, `initialize` without modern `_meta` included,
//! keeps the session-era behaviour; an `initialize` that carries modern `_meta` is a
//! removed method (404).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::mrtr::{self, KeyRing};
use crate::engine::{
    Call, META_SERVER_INFO, Reply, Running, missing_capability, modern_error, parse_params,
};
use crate::handler::context::{Escalation, ModernCall, Mrtr};
use crate::handler::tool::TaskSupport;
use crate::http::body::McpBody;
use crate::http::config::ResponseMode;
use crate::http::core::Core;
use crate::http::negotiate::{MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION};
use crate::http::reply::accepted;
use crate::http::tasks;
use crate::protocol::jsonrpc::{
    self, HEADER_MISMATCH, INVALID_PARAMS, METHOD_NOT_FOUND, RequestId,
    UNSUPPORTED_PROTOCOL_VERSION,
};
use crate::protocol::jsonrpc::{Message, RpcError};
use crate::protocol::model::LoggingLevel;
use crate::protocol::serde_text::without_position;
use crate::protocol::version::{STATELESS_ERA_VERSIONS, supported_versions};
use crate::session::changes::ChangeEvent;

const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const META_SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Methods the 2026-07-28 revision removed; asking for them is "method not found".
const REMOVED: &[&str] = &[
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

#[derive(Deserialize)]
struct MetaOnly {
    #[serde(rename = "_meta", default)]
    meta: Option<Map<String, Value>>,
}

/// The `_meta` object of a message's params, when there is one.
fn meta_of(params: Option<&RawValue>) -> Option<Map<String, Value>> {
    serde_json::from_str::<MetaOnly>(params?.get()).ok()?.meta
}

/// Whether `message` speaks the modern era.
pub(crate) fn is_modern(message: &Message<'_>) -> bool {
    let (method, params) = match message {
        Message::Request { method, params, .. } => (method, *params),
        Message::Notification { method, params } => (method, *params),
        Message::Response { .. } => return false,
    };
    if method == "server/discover" {
        return true;
    }
    meta_of(params).is_some_and(|meta| {
        meta.contains_key(META_PROTOCOL_VERSION) || meta.contains_key(META_CLIENT_CAPABILITIES)
    })
}

/// Whether the raw body could hold a modern request (a cheap test before parsing twice).
pub(crate) fn may_be_modern(body: &[u8]) -> bool {
    use std::sync::LazyLock;

    use memchr::memmem::Finder;
    // Every session-era request pays for this test: SIMD substring search, searchers built
    // once.
    static META: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"io.modelcontextprotocol/"));
    static DISCOVER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"server/discover"));
    META.find(body).is_some() || DISCOVER.find(body).is_some()
}

/// A JSON-RPC error answered with an HTTP status.
fn error_response(
    status: StatusCode,
    id: Option<&RequestId>,
    error: &RpcError,
) -> Response<McpBody> {
    if status.is_client_error() {
        crate::telemetry::rejected(status.as_u16(), &error.message, None);
    }
    let mut response = crate::http::reply::json_response(jsonrpc::error_bytes(id, error));
    *response.status_mut() = status;
    response
}

fn header_mismatch(message: String) -> RpcError {
    RpcError::new(HEADER_MISMATCH, format!("Header mismatch: {message}"))
}

/// Decodes a header value, unwrapping the `=?base64?…?=` form.
fn decode_header(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(crate::protocol::codec::decode_strict(encoded)?).ok(),
        None => Some(value.to_owned()),
    }
}

/// Compares a required header with the value the body implies.
fn check_header(
    headers: &HeaderMap,
    name: &http::HeaderName,
    expected: &str,
) -> Result<(), RpcError> {
    let Some(raw) = headers.get(name) else {
        return Err(header_mismatch(format!("the {name} header is required")));
    };
    let decoded = raw.to_str().ok().and_then(decode_header);
    match decoded {
        Some(value) if value == expected => Ok(()),
        Some(value) => Err(header_mismatch(format!(
            "{name} is {value:?} but the body says {expected:?}"
        ))),
        None => Err(header_mismatch(format!("{name} holds invalid characters"))),
    }
}

#[derive(Deserialize)]
struct NamedParams {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    uri: Option<Value>,
    #[serde(default, rename = "taskId")]
    task_id: Option<Value>,
}

/// Handles a modern-era POST: validates its `_meta` and headers, dispatches it with no
/// session, and shapes the result as the 2026-07-28 revision wants.
pub(crate) async fn handle(
    core: &Arc<Core>,
    parts: http::request::Parts,
    message: Message<'_>,
) -> Response<McpBody> {
    let (id, method, params) = match message {
        Message::Request { id, method, params } => (id, method, params),
        // Notifications change nothing in a stateless exchange (cancellation is closing
        // the stream).
        Message::Notification { .. } | Message::Response { .. } => return accepted(),
    };
    let mut modern = match validate(&parts.headers, &method, params) {
        Ok(modern) => modern,
        Err(error) => return error_response(StatusCode::BAD_REQUEST, Some(&id), &error),
    };
    if method == "tools/call" {
        if let Err(error) = check_param_headers(core, &parts.headers, params) {
            return error_response(StatusCode::BAD_REQUEST, Some(&id), &error);
        }
    }
    // The requests that may ask the client for input, and what they carry for it.
    let origin = match &*method {
        "tools/call" | "prompts/get" | "resources/read" => {
            let field = if method == "resources/read" {
                "uri"
            } else {
                "name"
            };
            let name = params
                .and_then(|p| serde_json::from_str::<NamedParams>(p.get()).ok())
                .and_then(|p| if field == "name" { p.name } else { p.uri })
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Some((name, core.principal_of(&parts)))
        }
        _ => None,
    };
    if let Some((name, principal)) = &origin {
        // A retry whose fields have the wrong type must not silently become a fresh call.
        let retry: RetryParams = match params.map(|p| serde_json::from_str(p.get())) {
            None => RetryParams::default(),
            Some(Ok(retry)) => retry,
            Some(Err(e)) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    Some(&id),
                    &RpcError::invalid_params(format!(
                        "Invalid params: requestState must be a string and inputResponses an \
                         object ({})",
                        without_position(&e)
                    )),
                );
            }
        };
        let mut responses = Map::new();
        if let Some(state) = &retry.request_state {
            match mrtr::State::open(&core.state_keys, state, &method, name, principal.as_deref()) {
                Ok(state) => responses = state.r,
                Err(why) => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        Some(&id),
                        &RpcError::invalid_params(format!(
                            "Invalid params: requestState is not valid: {why}"
                        )),
                    );
                }
            }
        }
        responses.extend(retry.input_responses.unwrap_or_default());
        modern.mrtr = Some(Mrtr {
            responses,
            ..Mrtr::default()
        });
    }
    // A call of a tool that supports tasks may become one, for a client that opted in.
    // What it needs then: its support, who may see the task, who the caps count it against.
    let mut task = None;
    if let (Some((name, principal)), "tools/call") = (&origin, &*method) {
        let support = tasks::support_of(core, name);
        if support != TaskSupport::Forbidden {
            if tasks::opted_in(&modern.capabilities) {
                modern.escalation = Some(Escalation::default());
                let client = core.client_of(&parts, principal.as_deref());
                task = Some((support, principal.clone(), client));
            } else if support == TaskSupport::Required {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    Some(&id),
                    &tasks::required("this tool"),
                );
            }
        }
    }
    let modern = Arc::new(modern);
    if matches!(&*method, "tasks/get" | "tasks/update" | "tasks/cancel") {
        let principal = core.principal_of(&parts);
        return match tasks::method(core, &method, params, &modern, principal).await {
            Ok(result) => crate::http::reply::json_response(jsonrpc::result_bytes(
                &id,
                result.to_string().as_bytes(),
            )),
            Err(error) => {
                let status = if error.code == jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                error_response(status, Some(&id), &error)
            }
        };
    }
    if method == "server/discover" {
        let result = discover(core);
        return crate::http::reply::json_response(jsonrpc::result_bytes(
            &id,
            result.to_string().as_bytes(),
        ));
    }
    if method == "subscriptions/listen" {
        let principal = core.principal_of(&parts);
        return subscribe(core, &id, params, &modern, principal);
    }
    let known = matches!(
        &*method,
        "tools/list"
            | "tools/call"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
    );
    if !known || REMOVED.contains(&&*method) {
        return error_response(
            StatusCode::NOT_FOUND,
            Some(&id),
            &RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {method}")),
        );
    }
    let call = Call {
        parts,
        session: None,
        id: &id,
        plain_json: core.config.response_mode == ResponseMode::Json,
        modern: Some(Arc::clone(&modern)),
        span: crate::telemetry::idle(),
    };
    // The engine writes the result in this era's shape.
    let reply = match core.engine.request(call, &method, params) {
        Ok(reply) => reply,
        Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &modern_error(error))),
    };
    let needed = modern.mrtr.as_ref().map(|m| m.needed.clone());
    let reply = match (reply, needed, origin) {
        // A handler that may ask the client for input: when it waits for input it does not
        // have, the answer is `input_required` instead.
        (Reply::Running(running), Some(needed), Some((name, principal))) => {
            let Running {
                id: request,
                future,
                outbound,
                cancel,
                cancellable,
                cancel_on_disconnect,
            } = running;
            let input = InputRequired {
                origin: Origin {
                    method: method.to_string(),
                    name,
                    principal,
                    keys: core.state_keys.clone(),
                    ttl: core.config.input_ttl,
                },
                id: id.clone(),
                call: Arc::clone(&modern),
                server_info: core.engine.server_info.clone(),
            };
            Reply::Running(Running {
                id: request,
                future: Box::pin(async move {
                    tokio::select! {
                        biased;
                        message = future => message,
                        () = needed.cancelled() => input.result(),
                    }
                }),
                outbound,
                cancel,
                cancellable,
                cancel_on_disconnect,
            })
        }
        (reply, _, _) => reply,
    };
    let reply = match (reply, task) {
        (Reply::Running(running), Some((support, principal, client))) => {
            Reply::Running(tasks::may_become_task(
                core,
                running,
                Arc::clone(&modern),
                principal,
                client,
                support,
            ))
        }
        (reply, _) => reply,
    };
    let mut response = crate::http::reply::respond(core.stream_config(), None, reply).await;
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if json && modern.missing().is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// The `_meta` fields, the version and the mirrored headers of a modern request; the error is
/// answered with HTTP 400.
fn validate(
    headers: &HeaderMap,
    method: &str,
    params: Option<&RawValue>,
) -> Result<ModernCall, RpcError> {
    let meta = meta_of(params).unwrap_or_default();
    let version = meta.get(META_PROTOCOL_VERSION).and_then(Value::as_str);
    let capabilities = meta.get(META_CLIENT_CAPABILITIES).filter(|c| c.is_object());
    let Some(version) = version else {
        return Err(invalid_meta(META_PROTOCOL_VERSION));
    };
    let Some(capabilities) = capabilities else {
        return Err(invalid_meta(META_CLIENT_CAPABILITIES));
    };
    let log_level = match meta.get(META_LOG_LEVEL) {
        None => None,
        Some(level) => Some(
            serde_json::from_value::<LoggingLevel>(level.clone()).map_err(|_| {
                RpcError::new(
                    INVALID_PARAMS,
                    format!("Invalid params: unknown _meta[\"{META_LOG_LEVEL}\"] {level}"),
                )
            })?,
        ),
    };
    // A header that contradicts the body is a mismatch whatever the version; only a version
    // both agree on (or that the header leaves out) is checked for support.
    if headers.contains_key(MCP_PROTOCOL_VERSION) {
        check_header(headers, &MCP_PROTOCOL_VERSION, version)?;
    }
    if !STATELESS_ERA_VERSIONS.contains(&version) {
        return Err(RpcError::new(
            UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version: {version}"),
        )
        .with_data(json!({ "supported": supported_versions(), "requested": version })));
    }
    check_header(headers, &MCP_PROTOCOL_VERSION, version)?;
    check_header(headers, &MCP_METHOD, method)?;
    let field = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        // The tasks extension routes by task: Mcp-Name carries params.taskId.
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(field) = field {
        let named = params
            .and_then(|p| serde_json::from_str::<NamedParams>(p.get()).ok())
            .and_then(|p| match field {
                "name" => p.name,
                "uri" => p.uri,
                _ => p.task_id,
            });
        // Without the field the body is invalid; dispatch answers that with -32602.
        if let Some(Value::String(value)) = named {
            check_header(headers, &MCP_NAME, &value)?;
        }
    }
    Ok(ModernCall {
        capabilities: capabilities.clone(),
        log_level,
        missing: std::sync::Mutex::new(None),
        mrtr: None,
        task: std::sync::OnceLock::new(),
        escalation: None,
    })
}

#[derive(Deserialize)]
struct CallParams {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Map<String, Value>>,
}

/// The text a body value must have in its `Mcp-Param-*` header; `None` for values that cannot
/// travel in one (objects, arrays, null).
fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a decoded header value stands for `body` (integers compare numerically).
fn header_matches(header: &str, body: &Value) -> bool {
    match body {
        Value::Number(n) => match (n.as_i64(), header.trim().parse::<i64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => header_text(body).is_some_and(|t| t == header),
        },
        _ => header_text(body).is_some_and(|t| t == header),
    }
}

/// `x-mcp-header` parameters of the called tool: each `Mcp-Param-<Name>` header must be
/// there when the argument is, hold valid characters, and (decoded) equal the argument.
fn check_param_headers(
    core: &Core,
    headers: &HeaderMap,
    params: Option<&RawValue>,
) -> Result<(), RpcError> {
    let Some(call) = params.and_then(|p| serde_json::from_str::<CallParams>(p.get()).ok()) else {
        return Ok(());
    };
    let Some(name) = call.name else {
        return Ok(());
    };
    let Some(schema) = core
        .engine
        .registries
        .tools
        .snapshot()
        .get(&name)
        .map(|tool| tool.input_schema().clone())
    else {
        return Ok(());
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    let arguments = call.arguments.unwrap_or_default();
    for (property, definition) in properties {
        let Some(header) = definition.get("x-mcp-header").and_then(Value::as_str) else {
            continue;
        };
        let header_name = format!("mcp-param-{}", header.to_ascii_lowercase());
        let sent = headers.get(header_name.as_str());
        match (arguments.get(property), sent) {
            (None | Some(Value::Null), None) => {}
            (Some(_), None) => {
                return Err(header_mismatch(format!(
                    "the Mcp-Param-{header} header is required with the argument {property}"
                )));
            }
            (None | Some(Value::Null), Some(_)) => {
                return Err(header_mismatch(format!(
                    "Mcp-Param-{header} was sent without the argument {property}"
                )));
            }
            (Some(value), Some(raw)) => {
                let Some(decoded) = raw.to_str().ok().and_then(decode_header) else {
                    return Err(header_mismatch(format!(
                        "Mcp-Param-{header} holds invalid characters"
                    )));
                };
                if !header_matches(&decoded, value) {
                    return Err(header_mismatch(format!(
                        "Mcp-Param-{header} is {decoded:?} but the argument {property} is {value}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The `server/discover` result.
fn discover(core: &Core) -> Value {
    let mut result = Map::new();
    result.insert("resultType".into(), json!("complete"));
    result.insert("supportedVersions".into(), json!(supported_versions()));
    result.insert("capabilities".into(), modern_capabilities(core));
    if let Some(instructions) = &core.engine.instructions {
        result.insert("instructions".into(), json!(instructions));
    }
    core.config.cache.write(&mut result);
    result.insert(
        "_meta".into(),
        json!({ META_SERVER_INFO: core.engine.server_info.clone() }),
    );
    Value::Object(result)
}

/// What this server offers to modern clients; change notifications and resource updates
/// come through `subscriptions/listen`.
fn modern_capabilities(core: &Core) -> Value {
    let has = |empty: Result<bool, RpcError>| !empty.unwrap_or(true);
    let tools =
        has(Ok::<_, RpcError>(core.engine.registries.tools.snapshot()).map(|r| r.is_empty()));
    let resources =
        has(Ok::<_, RpcError>(core.engine.registries.resources.snapshot()).map(|r| r.is_empty()));
    let templates =
        has(Ok::<_, RpcError>(core.engine.registries.templates.snapshot()).map(|r| r.is_empty()));
    let prompts =
        has(Ok::<_, RpcError>(core.engine.registries.prompts.snapshot()).map(|r| r.is_empty()));
    let mut capabilities = Map::new();
    if tools {
        capabilities.insert("tools".into(), json!({ "listChanged": true }));
    }
    if resources || templates {
        capabilities.insert(
            "resources".into(),
            json!({ "subscribe": true, "listChanged": true }),
        );
    }
    if prompts {
        capabilities.insert("prompts".into(), json!({ "listChanged": true }));
    }
    if prompts || templates {
        capabilities.insert("completions".into(), json!({}));
    }
    if tasks::offered(core) {
        capabilities.insert(
            "extensions".into(),
            json!({ crate::session::TASKS_EXTENSION: {} }),
        );
    }
    Value::Object(capabilities)
}

fn invalid_meta(field: &str) -> RpcError {
    RpcError::new(
        INVALID_PARAMS,
        format!("Invalid params: _meta[\"{field}\"] is required"),
    )
}

/// What an `input_required` result is made of (MRTR methods only).
struct InputRequired {
    /// Where its state comes from.
    origin: Origin,
    id: RequestId,
    call: Arc<ModernCall>,
    server_info: Value,
}

/// The request an `input_required` result's `requestState` is bound to.
struct Origin {
    method: String,
    name: String,
    principal: Option<String>,
    keys: KeyRing,
    ttl: std::time::Duration,
}

/// The MRTR fields of a retried request.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RetryParams {
    #[serde(default)]
    input_responses: Option<Map<String, Value>>,
    #[serde(default)]
    request_state: Option<String>,
}

impl InputRequired {
    /// `{resultType: "input_required", inputRequests, requestState}`: what the handler asked
    /// for, and everything answered so far, sealed.
    fn result(&self) -> Bytes {
        if let Some(capability) = self.call.missing() {
            return missing_capability(&self.id, capability);
        }
        let Some(mrtr) = &self.call.mrtr else {
            return jsonrpc::error_bytes(
                Some(&self.id),
                &RpcError::internal("input was required of a request that cannot ask for it"),
            );
        };
        // The map is replaced whole under the lock; a poisoned one is read as it stands.
        let requests = mrtr
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let origin = &self.origin;
        let state = mrtr::State::new(
            &origin.method,
            &origin.name,
            origin.principal.clone(),
            origin.ttl,
            mrtr.responses.clone(),
        );
        let Some(sealed) = state.seal(&origin.keys) else {
            return jsonrpc::error_bytes(
                Some(&self.id),
                &RpcError::internal("the requestState could not be sealed"),
            );
        };
        let mut result = Map::new();
        result.insert("resultType".into(), json!("input_required"));
        result.insert("inputRequests".into(), Value::Object(requests));
        result.insert("requestState".into(), json!(sealed));
        result.insert(
            "_meta".into(),
            json!({ META_SERVER_INFO: self.server_info.clone() }),
        );
        jsonrpc::result_bytes(&self.id, Value::Object(result).to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_header_values_decode() {
        assert_eq!(
            decode_header("=?base64?aMOpbGxv?=").as_deref(),
            Some("héllo")
        );
        assert_eq!(decode_header("=?base64?YWI=?=").as_deref(), Some("ab"));
        assert_eq!(decode_header("plain").as_deref(), Some("plain"));
        assert_eq!(decode_header("=?base64?!!?="), None);
        assert_eq!(
            decode_header("=?base64?SGVsbG8?="),
            None,
            "padding is required"
        );
        assert_eq!(
            decode_header("=?base64?SGVsbG8=?=").as_deref(),
            Some("Hello")
        );
    }
}

/// What a `subscriptions/listen` request opts into.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionFilter {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tools_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    prompts_list_changed: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    resources_list_changed: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_subscriptions: Vec<String>,
    /// Tasks whose changes come as `notifications/tasks` (the tasks extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    task_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ListenParams {
    #[serde(default)]
    notifications: Option<SubscriptionFilter>,
}

/// The most resource URIs one listen stream may watch.
const MAX_RESOURCE_SUBSCRIPTIONS: usize = crate::session::MAX_SUBSCRIPTIONS;

impl SubscriptionFilter {
    /// One event of every kind the filter opts into: what a reader that fell behind is sent.
    fn everything(&self) -> Vec<ChangeEvent> {
        let mut events = Vec::new();
        if self.tools_list_changed {
            events.push(ChangeEvent::ToolsListChanged);
        }
        if self.prompts_list_changed {
            events.push(ChangeEvent::PromptsListChanged);
        }
        if self.resources_list_changed {
            events.push(ChangeEvent::ResourcesListChanged);
        }
        events.extend(
            self.resource_subscriptions
                .iter()
                .cloned()
                .map(ChangeEvent::ResourceUpdated),
        );
        events.extend(self.task_ids.iter().cloned().map(ChangeEvent::Task));
        events
    }

    /// The notification for `event`, tagged with the subscription, when it is opted into.
    fn notification(&self, event: &ChangeEvent, tag: &Value) -> Option<Bytes> {
        let (method, params) = match event {
            ChangeEvent::ToolsListChanged if self.tools_list_changed => {
                ("notifications/tools/list_changed", json!({ "_meta": tag }))
            }
            ChangeEvent::PromptsListChanged if self.prompts_list_changed => (
                "notifications/prompts/list_changed",
                json!({ "_meta": tag }),
            ),
            ChangeEvent::ResourcesListChanged if self.resources_list_changed => (
                "notifications/resources/list_changed",
                json!({ "_meta": tag }),
            ),
            ChangeEvent::ResourceUpdated(uri) if self.resource_subscriptions.contains(uri) => (
                "notifications/resources/updated",
                json!({ "uri": uri, "_meta": tag }),
            ),
            _ => return None,
        };
        Some(jsonrpc::notification_bytes(method, &params))
    }
}

/// `subscriptions/listen`: an SSE stream that acknowledges the agreed filter, then carries
/// only the opted-in change notifications, each tagged with the subscription id (the
/// request's id), until the client closes it.
fn subscribe(
    core: &Arc<Core>,
    id: &RequestId,
    params: Option<&RawValue>,
    call: &ModernCall,
    principal: Option<String>,
) -> Response<McpBody> {
    let params: ListenParams = match parse_params(params) {
        Ok(params) => params,
        Err(error) => return error_response(StatusCode::OK, Some(id), &error),
    };
    let mut filter = params.notifications.unwrap_or_default();
    // Duplicates removed, first occurrence kept, so the acknowledgement echoes the order.
    let mut seen = std::collections::HashSet::new();
    filter
        .resource_subscriptions
        .retain(|uri| seen.insert(uri.clone()));
    if filter.resource_subscriptions.len() > MAX_RESOURCE_SUBSCRIPTIONS {
        return error_response(
            StatusCode::OK,
            Some(id),
            &RpcError::invalid_params(format!(
                "Invalid params: a subscription may watch at most {MAX_RESOURCE_SUBSCRIPTIONS} resources"
            )),
        );
    }
    filter
        .task_ids
        .retain(|task| seen.insert(format!("task:{task}")));
    if !filter.task_ids.is_empty() && !tasks::opted_in(&call.capabilities) {
        return error_response(
            StatusCode::BAD_REQUEST,
            Some(id),
            &tasks::required("notifications/tasks"),
        );
    }
    if filter.task_ids.len() > MAX_RESOURCE_SUBSCRIPTIONS {
        return error_response(
            StatusCode::OK,
            Some(id),
            &RpcError::invalid_params(format!(
                "Invalid params: a subscription may watch at most {MAX_RESOURCE_SUBSCRIPTIONS} tasks"
            )),
        );
    }
    let tag = json!({ META_SUBSCRIPTION_ID: id });
    let ack = jsonrpc::notification_bytes(
        "notifications/subscriptions/acknowledged",
        &json!({ "notifications": &filter, "_meta": &tag }),
    );
    // Subscribed before the acknowledgement goes out, so no change after it is missed.
    let mut events = core.changes.subscribe();
    let (tx, rx) = tokio::sync::mpsc::channel(32);
    let draining = core.engine.shutdown.draining.clone();
    let core = Arc::clone(core);
    // A graceful shutdown ends the subscription with its final result.
    let last = jsonrpc::result_bytes(
        id,
        json!({
            "resultType": "complete",
            "_meta": {
                META_SUBSCRIPTION_ID: id,
                crate::engine::META_SERVER_INFO: &core.engine.server_info,
            }
        })
        .to_string()
        .as_bytes(),
    );
    tokio::spawn(async move {
        if tx
            .send(crate::protocol::sse::event(None, &ack))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let event = tokio::select! {
                () = tx.closed() => return,
                () = draining.cancelled() => {
                    let _ = tx.send(crate::protocol::sse::event(None, &last)).await;
                    return;
                }
                event = events.recv() => event,
            };
            let events = match event {
                Ok(event) => vec![event],
                // Too slow a reader missed some events. Every event is a hint to re-fetch,
                // so it is told of everything it opted into: nothing is lost in silence.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => filter.everything(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for event in events {
                let message = match &event {
                    ChangeEvent::Task(task) if filter.task_ids.contains(task) => {
                        tasks::notification(&core, task, principal.as_deref(), &tag).await
                    }
                    event => filter.notification(event, &tag),
                };
                if let Some(message) = message {
                    if tx
                        .send(crate::protocol::sse::event(None, &message))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    crate::http::sse::response(McpBody::stream(rx))
}
