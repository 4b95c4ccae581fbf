//! The engine: what each JSON-RPC method does, for every era and transport alike. It takes a
//! parsed request and gives a [`Reply`]: the JSON-RPC response now, or a running handler.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::handler::context::RequestContext;
use crate::handler::context::{ModernCall, Outbound};
use crate::handler::future::BoxFuture;
use crate::protocol::cache::CachePolicy;
use crate::protocol::jsonrpc::{self, RequestId, RpcError};
use crate::protocol::model::{Completion, LoggingLevel, ResourceContents};
use crate::protocol::version::STATELESS_ERA_VERSION;
use crate::registry::{Entry, Registries, Shelf};
use crate::session::{
    BusMessage, ClientReply, MessageBus, Session, SessionChange, SessionStore, StoreError,
};
use crate::telemetry::{self, Span};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The answer to one JSON-RPC request before it becomes an HTTP response.
pub(crate) enum Reply {
    /// The whole JSON-RPC response, known now.
    Ready(Bytes),
    /// A handler still running; it may send messages first.
    Running(Running),
}

pub(crate) struct Running {
    /// The request it answers.
    pub(crate) id: RequestId,
    /// Resolves to the whole JSON-RPC response.
    pub(crate) future: BoxFuture<Bytes>,
    /// What the handler sends before its result (`None`: the answer is plain JSON).
    pub(crate) outbound: Option<mpsc::UnboundedReceiver<Outbound>>,
    pub(crate) cancel: CancellationToken,
    /// Whether anything can fire `cancel` (only a call in a session can be named by
    /// `notifications/cancelled`).
    pub(crate) cancellable: bool,
    /// Whether the client closing the response stream cancels the handler (2026-07-28; in the
    /// session era a disconnect is not a cancellation).
    pub(crate) cancel_on_disconnect: bool,
}

/// The engine's settings, from the builder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EngineSettings {
    /// How many items a `*/list` page holds.
    pub(crate) page_size: usize,
    /// How long a handler waits for the client to answer it.
    pub(crate) client_timeout: Duration,
    /// The caching fields of cacheable 2026-07-28 results.
    pub(crate) cache: CachePolicy,
}

/// Runs requests against the registered tools, resources, templates and prompts.
pub(crate) struct Engine {
    pub(crate) registries: Registries,
    /// `serverInfo`, as every era sends it.
    pub(crate) server_info: Value,
    pub(crate) instructions: Option<String>,
    /// How many items a `*/list` page holds.
    pub(crate) page_size: usize,
    /// How long a handler waits for the client to answer it.
    pub(crate) client_timeout: Duration,
    /// Shared by every call that nothing can cancel (no session).
    never_cancelled: CancellationToken,
    /// Where the sessions' state lives: the changes clients make go there.
    sessions: Arc<dyn SessionStore>,
    /// How this replica reaches the others.
    pub(crate) bus: Arc<dyn MessageBus>,
    /// `serverInfo` as a shared value, for 2026-07-28 results whose handler set `_meta`.
    server_info_shared: Arc<Value>,
    /// `serverInfo` as JSON, for 2026-07-28 results.
    server_info_json: Arc<RawValue>,
    /// The caching fields of cacheable 2026-07-28 results.
    cache: CachePolicy,
    /// Where a graceful shutdown stands; every call counts itself in and out here.
    pub(crate) shutdown: Arc<Shutdown>,
}

/// A graceful shutdown: first no new requests (`draining`), then, at the deadline, every call
/// still running answers an error for its id (`expired`).
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    pub(crate) draining: CancellationToken,
    expired: CancellationToken,
    running: std::sync::atomic::AtomicUsize,
    finished: tokio::sync::Notify,
}

/// A call counted as running until dropped.
struct Counted(Arc<Shutdown>);

impl Drop for Counted {
    fn drop(&mut self) {
        if self
            .0
            .running
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1
        {
            self.0.finished.notify_waiters();
        }
    }
}

impl Shutdown {
    fn count(self: &Arc<Self>) -> Counted {
        self.running
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Counted(Arc::clone(self))
    }

    /// Whether calls are still running.
    pub(crate) fn running(&self) -> usize {
        self.running.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits until no call runs.
    pub(crate) async fn idle(&self) {
        loop {
            let finished = self.finished.notified();
            if self.running() == 0 {
                return;
            }
            finished.await;
        }
    }

    /// The deadline has come: every call still running answers an error now.
    pub(crate) fn expire(&self) {
        self.expired.cancel();
    }
}

/// What a call still running at the shutdown deadline answers.
fn shut_down() -> RpcError {
    RpcError::internal(
        "Internal error: the server shut down before this request finished; send it again (another replica, or this one once restarted, will answer)",
    )
}

/// One request being dispatched.
pub(crate) struct Call<'a> {
    pub(crate) parts: http::request::Parts,
    pub(crate) session: Option<Arc<Session>>,
    pub(crate) id: &'a jsonrpc::RequestId,
    /// The answer is plain JSON: the handler cannot stream or send requests to the client.
    pub(crate) plain_json: bool,
    /// A 2026-07-28 request's declarations (`None` in the session era).
    pub(crate) modern: Option<Arc<ModernCall>>,
    /// The request's span; the engine opens it.
    pub(crate) span: Span,
}

/// The methods whose complete 2026-07-28 results carry `ttlMs` and `cacheScope`.
const CACHEABLE: &[&str] = &[
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// `_meta` key of the server's identity on every 2026-07-28 result.
pub(crate) const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Writes one request's JSON-RPC response in its era's shape, serialising the result once,
/// straight into the envelope: in the 2026-07-28 era a complete result also carries
/// `resultType`, the server's identity in `_meta` and, when cacheable, `ttlMs` and
/// `cacheScope`; a missing resource is `-32602`; and a handler that needed a client capability
/// the request did not declare fails with `-32021`, whatever it returned.
#[derive(Clone)]
pub(crate) struct Writer {
    id: RequestId,
    modern: Option<Modern>,
}

#[derive(Clone)]
struct Modern {
    call: Arc<ModernCall>,
    /// `serverInfo` as JSON, written into `_meta`.
    server_info: Arc<RawValue>,
    /// The same as a value, for a result whose handler set `_meta` itself (shared: cloned only
    /// into such a result).
    server_info_value: Arc<Value>,
    cache: Option<CachePolicy>,
}

impl Writer {
    /// The response to `{"jsonrpc":"2.0","id":…,"result":` + `value` + the era's fields.
    fn result(&self, value: &impl Serialize, meta_written: bool) -> Result<Bytes, RpcError> {
        let mut out = Vec::with_capacity(256);
        self.open(&mut out);
        serde_json::to_writer(&mut out, value)
            .map_err(|e| RpcError::internal(format!("could not serialise the result: {e}")))?;
        Ok(self.close(out, meta_written))
    }

    /// The response around `result`, a JSON object already written.
    fn raw(&self, result: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(result.len() + 160);
        self.open(&mut out);
        out.extend_from_slice(result);
        self.close(out, false)
    }

    /// A result that may carry a `_meta` of its own: the server's identity goes into it.
    fn with_meta<T: Serialize>(
        &self,
        mut value: T,
        meta: impl FnOnce(&mut T) -> &mut Option<Map<String, Value>>,
    ) -> Result<Bytes, RpcError> {
        let Some(modern) = &self.modern else {
            return self.result(&value, false);
        };
        match meta(&mut value) {
            Some(map) => {
                map.insert(
                    META_SERVER_INFO.into(),
                    Value::clone(&modern.server_info_value),
                );
                self.result(&value, true)
            }
            None => self.result(&value, false),
        }
    }

    fn open(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        self.id.write_json(out);
        out.extend_from_slice(b",\"result\":");
    }

    /// Ends the envelope, adding the modern fields inside the result object (which `out`
    /// ends with).
    fn close(&self, mut out: Vec<u8>, meta_written: bool) -> Bytes {
        if let Some(modern) = &self.modern {
            if let Some(capability) = modern.call.missing() {
                return missing_capability(&self.id, capability);
            }
            if out.last() == Some(&b'}') {
                out.pop();
                if out.last() != Some(&b'{') {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"resultType\":\"complete\"");
                if !meta_written {
                    out.extend_from_slice(b",\"_meta\":{\"");
                    out.extend_from_slice(META_SERVER_INFO.as_bytes());
                    out.extend_from_slice(b"\":");
                    out.extend_from_slice(modern.server_info.get().as_bytes());
                    out.push(b'}');
                }
                if let Some(cache) = modern.cache {
                    cache.write_json(&mut out);
                }
                out.push(b'}');
            }
        }
        out.push(b'}');
        Bytes::from(out)
    }

    /// The error response for `error`, in the era's codes.
    pub(crate) fn error(&self, error: &RpcError) -> Bytes {
        match &self.modern {
            Some(modern) => {
                if let Some(capability) = modern.call.missing() {
                    return missing_capability(&self.id, capability);
                }
                jsonrpc::error_bytes(Some(&self.id), &modern_error(error.clone()))
            }
            None => jsonrpc::error_bytes(Some(&self.id), error),
        }
    }
}

/// The 2026-07-28 era dropped `-32002`: a missing resource is invalid params.
pub(crate) fn modern_error(mut error: RpcError) -> RpcError {
    if error.code == jsonrpc::RESOURCE_NOT_FOUND {
        error.code = jsonrpc::INVALID_PARAMS;
    }
    error
}

/// `-32021`: the handler needed `capability` (dotted, e.g. `elicitation.form`), which the
/// client did not declare.
pub(crate) fn missing_capability(id: &RequestId, capability: &str) -> Bytes {
    let mut required = serde_json::json!({});
    for part in capability.split('.').rev() {
        required = serde_json::json!({ part: required });
    }
    jsonrpc::error_bytes(
        Some(id),
        &RpcError::new(
            jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY,
            format!("Missing required client capability: {capability}"),
        )
        .with_data(serde_json::json!({ "requiredCapabilities": required })),
    )
}

/// The client's answer to a server-to-client request, as the waiting handler gets it.
pub(crate) fn client_reply(result: Option<&RawValue>, error: Option<&RawValue>) -> ClientReply {
    match (result, error) {
        (Some(result), _) => Ok(result.to_owned()),
        (None, Some(error)) => Err(
            serde_json::from_str::<RpcError>(error.get()).unwrap_or_else(|_| {
                RpcError::internal("the client sent a malformed JSON-RPC error object")
            }),
        ),
        (None, None) => Err(RpcError::internal("the client sent an empty response")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InitializeParams {
    pub(crate) protocol_version: String,
    #[serde(default)]
    pub(crate) capabilities: Value,
    #[serde(default)]
    pub(crate) client_info: Value,
}

#[derive(Deserialize, Default)]
struct RequestMeta {
    #[serde(rename = "progressToken", default)]
    progress_token: Option<Value>,
}

impl RequestMeta {
    /// The progress token, when it is a string or an integer as the spec requires.
    fn token(meta: Option<Self>) -> Option<Value> {
        meta.and_then(|m| m.progress_token)
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
    }
}

#[derive(Deserialize)]
struct CallToolParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMeta>,
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct SetLevelParams {
    level: LoggingLevel,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelledParams {
    request_id: Value,
}

#[derive(Deserialize)]
struct UriParams {
    uri: String,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMeta>,
}

#[derive(Deserialize)]
struct GetPromptParams {
    name: String,
    #[serde(default)]
    arguments: Option<HashMap<String, String>>,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMeta>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Reference {
    #[serde(rename = "ref/prompt")]
    Prompt { name: String },
    #[serde(rename = "ref/resource")]
    Resource { uri: String },
}

#[derive(Deserialize)]
struct CompleteArgument {
    name: String,
    value: String,
}

#[derive(Deserialize, Default)]
struct CompleteContext {
    #[serde(default)]
    arguments: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct CompleteParams {
    #[serde(rename = "ref")]
    reference: Reference,
    argument: CompleteArgument,
    #[serde(default)]
    context: Option<CompleteContext>,
    #[serde(rename = "_meta", default)]
    meta: Option<RequestMeta>,
}

/// Logs a handler's panic (its text goes to the log only) and gives the error its call
/// answers.
fn handler_panicked(panic: &(dyn std::any::Any + Send)) -> RpcError {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic with no message");
    telemetry::handler_panicked(text);
    RpcError::internal("Internal error: the handler failed; the server's log has the details")
}

pub(crate) fn parse_params<'a, T: Deserialize<'a>>(
    params: Option<&'a RawValue>,
) -> Result<T, RpcError> {
    crate::protocol::serde_text::from_str_located(params.map_or("{}", RawValue::get))
        .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}")))
}

fn list<T: Entry>(
    shelf: &Shelf<T>,
    field: &str,
    params: Option<&RawValue>,
    page_size: usize,
) -> Result<Vec<u8>, RpcError> {
    let params: ListParams = parse_params(params)?;
    shelf
        .snapshot()
        .page(field, params.cursor.as_deref(), page_size)
}

impl Engine {
    /// The token of calls that nothing can cancel.
    pub(crate) fn never_cancelled(&self) -> CancellationToken {
        self.never_cancelled.clone()
    }

    /// An engine over `registries`, with what it shares with the other layers.
    pub(crate) fn new(
        registries: Registries,
        server_info: Value,
        instructions: Option<String>,
        settings: EngineSettings,
        sessions: Arc<dyn SessionStore>,
        bus: Arc<dyn MessageBus>,
    ) -> Self {
        let EngineSettings {
            page_size,
            client_timeout,
            cache,
        } = settings;
        let server_info_json = serde_json::value::to_raw_value(&server_info)
            .map_or_else(|_| Arc::from(RawValue::NULL.to_owned()), Arc::from);
        Self {
            sessions,
            bus,
            server_info_shared: Arc::new(server_info.clone()),
            server_info_json,
            cache,
            registries,
            server_info,
            instructions,
            page_size,
            client_timeout,
            never_cancelled: CancellationToken::new(),
            shutdown: Arc::default(),
        }
    }

    /// The JSON-RPC response to `initialize` at `version`.
    pub(crate) fn initialize_result(
        &self,
        id: &RequestId,
        version: &str,
        stateless: bool,
    ) -> Bytes {
        let mut result = serde_json::Map::new();
        result.insert("protocolVersion".into(), Value::String(version.to_owned()));
        result.insert("capabilities".into(), self.capabilities(stateless));
        result.insert("serverInfo".into(), self.server_info.clone());
        if let Some(instructions) = &self.instructions {
            result.insert("instructions".into(), Value::String(instructions.clone()));
        }
        jsonrpc::result_bytes(id, Value::Object(result).to_string().as_bytes())
    }

    /// What this server offers, as registered now. Change notifications and subscriptions need
    /// a session's GET stream, so a stateless server does not offer them.
    pub(crate) fn capabilities(&self, stateless: bool) -> Value {
        let live = !stateless;
        let crate::registry::Offered {
            tools,
            resources,
            templates,
            prompts,
        } = self.registries.offered();
        let mut capabilities = serde_json::Map::new();
        if tools {
            capabilities.insert("tools".into(), serde_json::json!({ "listChanged": live }));
        }
        if resources || templates {
            capabilities.insert(
                "resources".into(),
                serde_json::json!({ "subscribe": live, "listChanged": live }),
            );
        }
        if prompts {
            capabilities.insert("prompts".into(), serde_json::json!({ "listChanged": live }));
        }
        capabilities.insert("logging".into(), serde_json::json!({}));
        if prompts || templates {
            capabilities.insert("completions".into(), serde_json::json!({}));
        }
        Value::Object(capabilities)
    }

    /// Acts on a notification from the client (the spec lets receivers ignore the others).
    pub(crate) async fn notification(
        &self,
        session: Option<&Session>,
        method: &str,
        params: Option<&RawValue>,
    ) {
        match method {
            "notifications/initialized" => {
                if let Some(session) = session {
                    // A notification has no answer to carry a failure; the client will see
                    // the session as it is on its next request.
                    if let Ok(Some(state)) = self
                        .sessions
                        .change(session.id(), &SessionChange::Initialized)
                        .await
                    {
                        session.refresh(state);
                    }
                }
            }
            "notifications/cancelled" => {
                let Ok(params) = parse_params::<CancelledParams>(params) else {
                    return;
                };
                if let (Some(session), Some(id)) =
                    (session, RequestId::from_value(&params.request_id))
                {
                    if !session.cancel_request(&id) {
                        // Not running here: perhaps on another replica.
                        self.bus.send(BusMessage::Cancel {
                            session: session.id().to_owned(),
                            request: id,
                        });
                    }
                }
            }
            // Other notifications need no action; the spec lets receivers ignore them.
            _ => {}
        }
    }

    /// Runs one request, inside its own span.
    pub(crate) fn request(
        &self,
        mut call: Call<'_>,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Reply, RpcError> {
        let version = match (&call.modern, &call.session) {
            (Some(_), _) => Some(STATELESS_ERA_VERSION),
            (None, Some(session)) => Some(session.protocol_version()),
            (None, None) => None,
        };
        call.span = telemetry::request_span(
            method,
            call.id,
            call.session.as_ref().map(|s| s.id()),
            version,
        );
        let span = call.span.clone();
        let _entered = telemetry::enter(&span);
        let reply = self.dispatch(call, method, params);
        if let Err(error) = &reply {
            telemetry::record_error(&span, error.code);
        }
        reply
    }

    fn dispatch(
        &self,
        call: Call<'_>,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Reply, RpcError> {
        let ready = |result: &[u8]| Ok(Reply::Ready(self.writer(&call, method).raw(result)));
        let page_size = self.page_size;
        match method {
            "ping" => ready(b"{}"),
            "tools/list" => ready(&list(&self.registries.tools, "tools", params, page_size)?),
            "tools/call" => self.call_tool(call, params),
            "resources/list" => ready(&list(
                &self.registries.resources,
                "resources",
                params,
                page_size,
            )?),
            "resources/templates/list" => ready(&list(
                &self.registries.templates,
                "resourceTemplates",
                params,
                page_size,
            )?),
            "resources/read" => self.read_resource(call, params),
            "resources/subscribe" | "resources/unsubscribe" => {
                let params: UriParams = parse_params(params)?;
                if method == "resources/unsubscribe" {
                    return Ok(self.change_session(&call, SessionChange::Unsubscribe(params.uri)));
                }
                if !self.registries.resource_exists(&params.uri) {
                    return Err(RpcError::resource_not_found(&params.uri));
                }
                Ok(self.change_session(&call, SessionChange::Subscribe(params.uri)))
            }
            "prompts/list" => ready(&list(
                &self.registries.prompts,
                "prompts",
                params,
                page_size,
            )?),
            "prompts/get" => self.get_prompt(call, params),
            "completion/complete" => self.complete(call, params),
            "logging/setLevel" => {
                let params: SetLevelParams = parse_params(params)?;
                Ok(self.change_session(&call, SessionChange::LogLevel(params.level)))
            }
            _ => Err(RpcError::new(
                jsonrpc::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }

    /// How the response to `call` of `method` is written.
    fn writer(&self, call: &Call<'_>, method: &str) -> Writer {
        Writer {
            id: call.id.clone(),
            modern: call.modern.as_ref().map(|modern| Modern {
                call: Arc::clone(modern),
                server_info: Arc::clone(&self.server_info_json),
                server_info_value: Arc::clone(&self.server_info_shared),
                cache: CACHEABLE.contains(&method).then_some(self.cache),
            }),
        }
    }

    /// Applies `change` to the call's session in the store, answering `{}` (or at once, with
    /// no session: stateless mode keeps nothing).
    fn change_session(&self, call: &Call<'_>, change: SessionChange) -> Reply {
        let id = call.id.clone();
        let Some(session) = call.session.clone() else {
            return Reply::Ready(jsonrpc::result_bytes(&id, b"{}"));
        };
        let sessions = Arc::clone(&self.sessions);
        let future = Box::pin(async move {
            match sessions.change(session.id(), &change).await {
                Ok(Some(state)) => {
                    session.refresh(state);
                    jsonrpc::result_bytes(&id, b"{}")
                }
                Ok(None) => jsonrpc::error_bytes(
                    Some(&id),
                    &RpcError::new(jsonrpc::SESSION_NOT_FOUND, "Session not found"),
                ),
                Err(StoreError::Refused(why)) => jsonrpc::error_bytes(
                    Some(&id),
                    &RpcError::invalid_params(format!("Invalid params: {why}")),
                ),
                Err(e) => jsonrpc::error_bytes(Some(&id), &RpcError::internal(e.to_string())),
            }
        });
        Reply::Running(Running {
            id: call.id.clone(),
            future,
            outbound: None,
            cancel: self.never_cancelled(),
            cancellable: false,
            cancel_on_disconnect: false,
        })
    }

    /// Starts a handler with its own [`RequestContext`]; `start` gets the context and returns
    /// the future of the serialised `result`.
    fn run<Fut>(
        &self,
        call: Call<'_>,
        writer: Writer,
        progress_token: Option<Value>,
        start: impl FnOnce(RequestContext, Writer) -> Fut,
    ) -> Reply
    where
        Fut: Future<Output = Result<Bytes, RpcError>> + Send + 'static,
    {
        let (sink, outbound) = if call.plain_json {
            (None, None)
        } else {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        };
        let in_flight = call
            .session
            .as_ref()
            .map(|s| s.begin_request(call.id.clone()));
        // Without a session nothing can cancel the call: share one token that never fires.
        // A modern call is cancelled by closing its stream, so it gets its own.
        let cancel_on_disconnect = call.modern.is_some();
        let cancellable = in_flight.is_some();
        let cancel = match &in_flight {
            Some(flight) => flight.token.clone(),
            None if cancel_on_disconnect => tokio_util::sync::CancellationToken::new(),
            None => self.never_cancelled.clone(),
        };
        let ctx = RequestContext::new(
            call.id.clone(),
            progress_token,
            call.parts,
            call.session,
            sink,
            (cancellable || cancel_on_disconnect).then(|| cancel.clone()),
            self.client_timeout,
        )
        .with_modern(call.modern);
        let request = call.id.clone();
        // A handler that panics, when it is called or while it runs, answers its call with an
        // internal error and takes nothing else down: not the connection, not the session, not
        // the other calls. Its record goes with `in_flight` as for any other end.
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| start(ctx, writer.clone())));
        let span = call.span;
        let record = span.clone();
        // Counted until answered or dropped, for a graceful shutdown to wait on; at its
        // deadline the handler is dropped (which cancels it) and the call answers an error.
        let counted = self.shutdown.count();
        let future = Box::pin(telemetry::instrument(
            async move {
                let result = async {
                    match work {
                        Ok(work) => AssertUnwindSafe(work)
                            .catch_unwind()
                            .await
                            .unwrap_or_else(|panic| Err(handler_panicked(&*panic))),
                        Err(panic) => Err(handler_panicked(&*panic)),
                    }
                };
                let expired = counted.0.expired.clone();
                let result = tokio::select! {
                    biased;
                    result = result => result,
                    () = expired.cancelled() => Err(shut_down()),
                };
                drop(counted);
                drop(in_flight);
                match result {
                    Ok(response) => response,
                    Err(error) => {
                        telemetry::record_error(&record, error.code);
                        writer.error(&error)
                    }
                }
            },
            span.clone(),
        ));
        Reply::Running(Running {
            id: request,
            future,
            outbound,
            cancel,
            cancellable,
            cancel_on_disconnect,
        })
    }

    fn call_tool(&self, call: Call<'_>, params: Option<&RawValue>) -> Result<Reply, RpcError> {
        if params.is_none() {
            return Err(RpcError::invalid_params(
                "Invalid params: tools/call needs params with a name",
            ));
        }
        let params: CallToolParams<'_> = parse_params(params)?;
        telemetry::record_tool(&call.span, &params.name);
        let arguments = params.arguments.filter(|a| a.get() != "null");
        if arguments.is_some_and(|a| !a.get().starts_with('{')) {
            return Err(RpcError::invalid_params(
                "Invalid params: tools/call arguments must be an object",
            ));
        }
        let invoke = {
            let found = self
                .registries
                .tools
                .read(|tools| tools.get(&params.name).map(|tool| Arc::clone(&tool.invoke)));
            match found {
                Some(invoke) => invoke,
                None => {
                    return Err(
                        RpcError::invalid_params(format!("Unknown tool: {}", params.name))
                            .with_data(serde_json::json!({ "name": params.name })),
                    );
                }
            }
        };
        let token = RequestMeta::token(params.meta);
        let writer = self.writer(&call, "tools/call");
        Ok(self.run(call, writer, token, |ctx, writer| {
            let result = invoke(arguments, ctx);
            async move { writer.with_meta(result.await, |r| &mut r.meta) }
        }))
    }

    fn read_resource(&self, call: Call<'_>, params: Option<&RawValue>) -> Result<Reply, RpcError> {
        #[derive(Serialize)]
        struct ReadResult<'a> {
            contents: &'a [ResourceContents],
        }
        let params: UriParams = parse_params(params)?;
        let token = RequestMeta::token(params.meta);
        let read = if let Some(resource) = self.registries.resources.snapshot().get(&params.uri) {
            let resource = resource.clone();
            Box::new(move |ctx| resource.read(ctx)) as Box<dyn FnOnce(_) -> _>
        } else {
            let templates = self.registries.templates.snapshot();
            let Some((template, vars)) = templates
                .iter()
                .find_map(|t| Some((t.clone(), t.matches(&params.uri)?)))
            else {
                return Err(RpcError::resource_not_found(&params.uri));
            };
            Box::new(move |ctx| template.read(vars, ctx))
        };
        let writer = self.writer(&call, "resources/read");
        Ok(self.run(call, writer, token, |ctx, writer| {
            let contents = read(ctx);
            async move {
                let contents = contents.await?;
                writer.result(
                    &ReadResult {
                        contents: &contents,
                    },
                    false,
                )
            }
        }))
    }

    fn get_prompt(&self, call: Call<'_>, params: Option<&RawValue>) -> Result<Reply, RpcError> {
        let params: GetPromptParams = parse_params(params)?;
        let prompts = self.registries.prompts.snapshot();
        let Some(prompt) = prompts.get(&params.name) else {
            return Err(
                RpcError::invalid_params(format!("Unknown prompt: {}", params.name))
                    .with_data(serde_json::json!({ "name": params.name })),
            );
        };
        let arguments = params.arguments.unwrap_or_default();
        let missing: Vec<&str> = prompt
            .arguments
            .iter()
            .filter(|a| a.is_required() && !arguments.contains_key(a.name()))
            .map(|a| a.name())
            .collect();
        if !missing.is_empty() {
            return Err(RpcError::invalid_params(format!(
                "Invalid params: prompt {} needs the argument(s) {}",
                params.name,
                missing.join(", ")
            ))
            .with_data(serde_json::json!({ "missing": missing })));
        }
        let prompt = prompt.clone();
        let token = RequestMeta::token(params.meta);
        let writer = self.writer(&call, "prompts/get");
        Ok(self.run(call, writer, token, |ctx, writer| {
            let result = prompt.get(arguments, ctx);
            async move { writer.with_meta(result.await?, |r| &mut r.meta) }
        }))
    }

    pub(crate) fn complete(
        &self,
        call: Call<'_>,
        params: Option<&RawValue>,
    ) -> Result<Reply, RpcError> {
        #[derive(Serialize)]
        struct CompleteResult {
            completion: Completion,
        }
        let params: CompleteParams = parse_params(params)?;
        let argument = params.argument.name;
        let completer = match &params.reference {
            Reference::Prompt { name } => {
                let prompts = self.registries.prompts.snapshot();
                let prompt = prompts.get(name).ok_or_else(|| {
                    RpcError::invalid_params(format!("Unknown prompt: {name}"))
                        .with_data(serde_json::json!({ "name": name }))
                })?;
                if !prompt.arguments.iter().any(|a| a.name() == argument) {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid params: prompt {name} has no argument {argument}"
                    )));
                }
                prompt
                    .completers
                    .iter()
                    .find(|(a, _)| *a == argument)
                    .map(|(_, c)| std::sync::Arc::clone(c))
            }
            Reference::Resource { uri } => {
                let templates = self.registries.templates.snapshot();
                let template = templates.get(uri).ok_or_else(|| {
                    RpcError::invalid_params(format!("Unknown resource template: {uri}"))
                        .with_data(serde_json::json!({ "uri": uri }))
                })?;
                if !template.has_variable(&argument) {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid params: resource template {uri} has no variable {argument}"
                    )));
                }
                template
                    .completers
                    .iter()
                    .find(|(v, _)| *v == argument)
                    .map(|(_, c)| std::sync::Arc::clone(c))
            }
        };
        let Some(completer) = completer else {
            return Ok(Reply::Ready(self.writer(&call, "completion/complete").raw(
                br#"{"completion":{"values":[],"total":0,"hasMore":false}}"#,
            )));
        };
        let request = crate::handler::completion::CompletionRequest {
            argument,
            value: params.argument.value,
            context: params.context.and_then(|c| c.arguments).unwrap_or_default(),
        };
        let token = RequestMeta::token(params.meta);
        let writer = self.writer(&call, "completion/complete");
        Ok(self.run(call, writer, token, |ctx, writer| {
            let completion = completer(request, ctx);
            async move {
                writer.result(
                    &CompleteResult {
                        completion: completion.await.capped(),
                    },
                    false,
                )
            }
        }))
    }
}
