//! [`RequestContext`]: what a handler knows about the request it serves, and how it talks back.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::client::{
    ClientRequestError, CreateMessageParams, CreateMessageResult, ElicitParams, ElicitResult,
    ListRootsResult, Root,
};
use crate::protocol::jsonrpc::{self, RequestId};
use crate::protocol::model::LoggingLevel;
use crate::session::Session;
use crate::session::task::TaskLink;

/// What a handler sends towards its request's stream.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A JSON-RPC notification or request.
    Message(Bytes),
    /// End the HTTP connection now without ending the stream: the client resumes it with
    /// `Last-Event-ID` (SEP-1699 polling).
    CloseConnection,
}

/// The request a handler is serving: its HTTP parts (headers and the host's extensions, such as
/// the user an auth middleware inserted), its session, and channels back to the client.
///
/// Cheap to clone. Every call gets the context of its own HTTP request, never a stale one.
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    request_id: RequestId,
    progress_token: Option<Value>,
    parts: http::request::Parts,
    session: Option<Arc<Session>>,
    sink: Option<mpsc::UnboundedSender<Outbound>>,
    /// `None`: nothing can cancel the request (no session, not the 2026-07-28 era).
    cancel: Option<CancellationToken>,
    client_timeout: Duration,
    /// What a 2026-07-28 request said about itself in `_meta` (`None` in the session era).
    modern: Option<Arc<ModernCall>>,
    /// The MRTR key of this context's requests to the client ([`RequestContext::with_input_key`]).
    input_key: Option<String>,
}

/// A 2026-07-28 request's own declarations, and what its handler found missing.
#[derive(Debug, Default)]
pub(crate) struct ModernCall {
    /// `_meta["io.modelcontextprotocol/clientCapabilities"]`.
    pub(crate) capabilities: Value,
    /// `_meta["io.modelcontextprotocol/logLevel"]`: no log notifications without it.
    pub(crate) log_level: Option<LoggingLevel>,
    /// The first client capability the handler needed and the client lacked.
    pub(crate) missing: std::sync::Mutex<Option<&'static str>>,
    /// Multi round-trip state, for the methods that may ask the client for input.
    pub(crate) mrtr: Option<Mrtr>,
    /// Set when this call became a task: its questions to the client go through the task.
    pub(crate) task: std::sync::OnceLock<Arc<TaskLink>>,
    /// For a call that may become a task: how its handler asks to become one now.
    pub(crate) escalation: Option<Escalation>,
}

/// How a handler asks for its call to become a task now ([`RequestContext::run_as_task`]).
#[derive(Debug, Default)]
pub(crate) struct Escalation {
    /// Fired by the handler.
    pub(crate) asked: CancellationToken,
    /// Fired once the call became a task, or could not.
    pub(crate) settled: CancellationToken,
}

/// A modern request's input round trips: the answers it brought, and what its handler asks.
#[derive(Debug, Default)]
pub(crate) struct Mrtr {
    /// The client's answers so far, by key (`input-<n>`).
    pub(crate) responses: serde_json::Map<String, Value>,
    /// What the handler asked this time, by key.
    pub(crate) requests: std::sync::Mutex<serde_json::Map<String, Value>>,
    /// The key number of the handler's next request to the client.
    pub(crate) next: std::sync::atomic::AtomicUsize,
    /// Fired when the handler waits for input it does not have.
    pub(crate) needed: CancellationToken,
}

impl ModernCall {
    /// The capability recorded as missing, if any.
    pub(crate) fn missing(&self) -> Option<&'static str> {
        // One `Option` replaced whole: a poisoned lock still holds a valid value.
        *self
            .missing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("request_id", &self.inner.request_id)
            .field("session", &self.session_id())
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    pub(crate) fn new(
        request_id: RequestId,
        progress_token: Option<Value>,
        parts: http::request::Parts,
        session: Option<Arc<Session>>,
        sink: Option<mpsc::UnboundedSender<Outbound>>,
        cancel: Option<CancellationToken>,
        client_timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                request_id,
                progress_token,
                parts,
                session,
                sink,
                cancel,
                client_timeout,
                modern: None,
                input_key: None,
            }),
        }
    }

    /// Marks the context as serving a 2026-07-28 request.
    pub(crate) fn with_modern(mut self, modern: Option<Arc<ModernCall>>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.modern = modern;
        }
        self
    }

    /// The capabilities the client declared: in its request's `_meta` (2026-07-28) or at
    /// `initialize` (its session's); `None` for a session-era request without a session. Lets a
    /// handler ask only for input the client can give.
    pub fn client_capabilities(&self) -> Option<&Value> {
        match &self.inner.modern {
            Some(modern) => Some(&modern.capabilities),
            None => self.session().map(Session::client_capabilities),
        }
    }

    /// This context with `key` naming its requests to the client in a 2026-07-28
    /// `input_required` result (`inputRequests[key]`, answered in `inputResponses[key]`); by
    /// default the n-th request a handler makes is `input-<n>`. Keys must be unique within
    /// the request. In the session era the key is unused.
    ///
    /// ```
    /// # use mcp_mount::RequestContext;
    /// # use mcp_mount::model::{ClientRequestError, ElicitParams};
    /// # async fn handler(ctx: RequestContext, params: ElicitParams) -> Result<(), ClientRequestError> {
    /// let answer = ctx.with_input_key("user_name").elicit(params).await?;
    /// # let _ = answer;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_input_key(&self, key: impl Into<String>) -> Self {
        let mut inner = (*self.inner).clone();
        inner.input_key = Some(key.into());
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The client's capabilities: the modern request's own, or its session's.
    fn declared_capabilities(&self) -> Result<&Value, ClientRequestError> {
        match &self.inner.modern {
            Some(modern) => Ok(&modern.capabilities),
            None => Ok(self.reachable_session()?.client_capabilities()),
        }
    }

    /// `MissingCapability(capability)`, remembered on a modern request so that the whole
    /// request fails with `MissingRequiredClientCapability`.
    fn missing(&self, capability: &'static str) -> ClientRequestError {
        if let Some(modern) = &self.inner.modern {
            // One `Option` set whole: a poisoned lock still holds a valid value.
            modern
                .missing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get_or_insert(capability);
        }
        ClientRequestError::MissingCapability(capability)
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The HTTP request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.parts.headers
    }

    /// The HTTP request's extensions: whatever the host's middleware inserted.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.parts.extensions
    }

    /// The HTTP request's URI as the host received it (mount prefix included).
    pub fn uri(&self) -> &Uri {
        &self.inner.parts.uri
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.inner.parts.method
    }

    /// The session this request belongs to (`None` in stateless mode).
    pub fn session(&self) -> Option<&Session> {
        self.inner.session.as_deref()
    }

    /// The `Mcp-Session-Id` of the request's session.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session.as_deref().map(Session::id)
    }

    /// The `_meta.progressToken` the client sent, if any.
    pub fn progress_token(&self) -> Option<&Value> {
        self.inner.progress_token.as_ref()
    }

    /// Whether the client cancelled this request (`notifications/cancelled`).
    pub fn is_cancelled(&self) -> bool {
        self.inner
            .cancel
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    }

    /// Completes when the client cancels this request. The core also drops the handler's future
    /// on cancellation; this is for work a handler spawned elsewhere.
    pub async fn cancelled(&self) {
        match &self.inner.cancel {
            Some(cancel) => cancel.cancelled().await,
            // Nothing can cancel this request: it never completes.
            None => std::future::pending().await,
        }
    }

    /// Makes this call a task now, if it can become one: a 2026-07-28 call of a tool with
    /// [`TaskSupport::Optional`](crate::TaskSupport) or `Required`, from a client that opted
    /// into the tasks extension. The client gets the task at once and polls it; the handler
    /// runs on, and its questions to the client ([`elicit`](Self::elicit) and the others) go
    /// through the task from then on. Calls that become tasks do so by themselves after
    /// [`task_after`](crate::McpServerBuilder::task_after); this is for a handler that knows
    /// it will wait (for a person, a queue) before the threshold has passed.
    ///
    /// Returns whether the call is a task; `false` (nothing changes) for any other call, or
    /// when the caps on live tasks are reached.
    pub async fn run_as_task(&self) -> bool {
        let Some(modern) = &self.inner.modern else {
            return false;
        };
        if modern.task.get().is_some() {
            return true;
        }
        let Some(escalation) = &modern.escalation else {
            return false;
        };
        escalation.asked.cancel();
        escalation.settled.cancelled().await;
        modern.task.get().is_some()
    }

    /// Whether this call is running as a task.
    pub fn is_task(&self) -> bool {
        self.inner
            .modern
            .as_ref()
            .is_some_and(|modern| modern.task.get().is_some())
    }

    /// Sends `notifications/progress` on this request's stream, if the client asked for progress.
    ///
    /// `progress` should increase with each call. Returns whether a notification was queued.
    ///
    /// In a call that became a task ([`run_as_task`](Self::run_as_task)), which has no stream,
    /// it sets the task's `statusMessage` instead (`message`, else "`progress` of `total`"),
    /// shown by `tasks/get` and `notifications/tasks`.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) -> bool {
        if let Some(task) = self.inner.modern.as_ref().and_then(|m| m.task.get()) {
            // A task has no stream for notifications: its progress is its status message,
            // which tasks/get and notifications/tasks show.
            let status = match (message, total) {
                (Some(message), _) => message.to_owned(),
                (None, Some(total)) => format!("{progress} of {total}"),
                (None, None) => format!("{progress}"),
            };
            return task
                .change(&crate::session::TaskChange::Progress(status))
                .await
                .is_ok();
        }
        let Some(token) = &self.inner.progress_token else {
            return false;
        };
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Progress<'a> {
            progress_token: &'a Value,
            progress: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            total: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<&'a str>,
        }
        self.send(jsonrpc::notification_bytes(
            "notifications/progress",
            &Progress {
                progress_token: token,
                progress,
                total,
                message,
            },
        ))
    }

    /// Sends `notifications/message` on this request's stream, if `level` passes the session's
    /// `logging/setLevel` filter. Returns whether a notification was queued.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: impl Serialize,
    ) -> bool {
        if let Some(modern) = &self.inner.modern {
            // A modern request opts into logs with its own `_meta` logLevel.
            if modern.log_level.is_none_or(|min| level < min) {
                return false;
            }
        } else if self.session().is_some_and(|s| level < s.log_level()) {
            return false;
        }
        #[derive(Serialize)]
        struct Message<'a, D> {
            level: LoggingLevel,
            #[serde(skip_serializing_if = "Option::is_none")]
            logger: Option<&'a str>,
            data: D,
        }
        self.send(jsonrpc::notification_bytes(
            "notifications/message",
            &Message {
                level,
                logger,
                data,
            },
        ))
    }

    /// Ends this request's HTTP connection now without ending its SSE stream (SEP-1699
    /// polling): the client reconnects with `Last-Event-ID` and gets what the handler sends
    /// afterwards, its result included. Useful before long waits, so no connection is held.
    ///
    /// Returns `false`, doing nothing, when the client cannot resume the stream: its session
    /// negotiated a version before 2025-11-25, replay is disabled, or the answer is plain JSON.
    pub fn close_sse_connection(&self) -> bool {
        self.session().is_some_and(Session::is_resumable)
            && self
                .inner
                .sink
                .as_ref()
                .is_some_and(|sink| sink.send(Outbound::CloseConnection).is_ok())
    }

    /// Asks the client's model for a completion (`sampling/createMessage`) and waits for its
    /// answer.
    ///
    /// The request goes out on this request's SSE stream; the client POSTs its answer back.
    ///
    /// # Errors
    ///
    /// [`ClientRequestError::MissingCapability`] when the client did not declare `sampling`
    /// (or `sampling.tools`, for a request that offers tools); the other variants as
    /// documented on [`ClientRequestError`].
    pub async fn create_message(
        &self,
        params: CreateMessageParams,
    ) -> Result<CreateMessageResult, ClientRequestError> {
        let capabilities = self.declared_capabilities()?;
        if !capabilities["sampling"].is_object() {
            return Err(self.missing("sampling"));
        }
        if params.uses_tools() && !capabilities["sampling"]["tools"].is_object() {
            return Err(self.missing("sampling.tools"));
        }
        if let Some(modern) = &self.inner.modern {
            return Self::input(
                modern,
                self.inner.input_key.as_deref(),
                "sampling/createMessage",
                &params,
            )
            .await;
        }
        self.request_client("sampling/createMessage", &params).await
    }

    /// Asks the user for input through the client (`elicitation/create`, form or URL mode) and
    /// waits for the answer.
    ///
    /// # Errors
    ///
    /// [`ClientRequestError::MissingCapability`] when the client did not declare elicitation
    /// in this mode (`elicitation: {}` declares form mode only); the other variants as
    /// documented on [`ClientRequestError`].
    pub async fn elicit(&self, params: ElicitParams) -> Result<ElicitResult, ClientRequestError> {
        let elicitation = &self.declared_capabilities()?["elicitation"];
        let Some(modes) = elicitation.as_object() else {
            return Err(self.missing("elicitation"));
        };
        if params.is_url() {
            if !modes.contains_key("url") {
                return Err(self.missing("elicitation.url"));
            }
        } else if !(modes.is_empty() || modes.contains_key("form")) {
            return Err(self.missing("elicitation.form"));
        }
        if let Some(modern) = &self.inner.modern {
            return Self::input(
                modern,
                self.inner.input_key.as_deref(),
                "elicitation/create",
                &params,
            )
            .await;
        }
        self.request_client("elicitation/create", &params).await
    }

    /// Asks the client for its roots (`roots/list`) and waits for the answer.
    ///
    /// # Errors
    ///
    /// [`ClientRequestError::MissingCapability`] when the client did not declare `roots`; the
    /// other variants as documented on [`ClientRequestError`].
    pub async fn list_roots(&self) -> Result<Vec<Root>, ClientRequestError> {
        if !self.declared_capabilities()?["roots"].is_object() {
            return Err(self.missing("roots"));
        }
        let result: ListRootsResult = match &self.inner.modern {
            Some(modern) => {
                Self::input(
                    modern,
                    self.inner.input_key.as_deref(),
                    "roots/list",
                    &serde_json::json!({}),
                )
                .await?
            }
            None => {
                self.request_client("roots/list", &serde_json::json!({}))
                    .await?
            }
        };
        Ok(result.roots)
    }

    /// A request to the client in the 2026-07-28 era (MRTR): answered from the input
    /// responses the request brought, or else recorded for an `input_required` result while
    /// the handler waits (it is dropped when that result goes out, and run again on retry).
    async fn input<T: DeserializeOwned>(
        modern: &ModernCall,
        key: Option<&str>,
        method: &str,
        params: &impl Serialize,
    ) -> Result<T, ClientRequestError> {
        if let Some(task) = modern.task.get() {
            // A task asks through its record (`input_required`), answered by `tasks/update`.
            let params = serde_json::to_value(params)
                .map_err(|e| ClientRequestError::InvalidResult(format!("{method}: {e}")))?;
            let Some(answer) = task.ask(method, params).await else {
                return Err(ClientRequestError::Closed);
            };
            return serde_json::from_value(answer)
                .map_err(|e| ClientRequestError::InvalidResult(format!("{method}: {e}")));
        }
        let Some(mrtr) = &modern.mrtr else {
            return Err(ClientRequestError::Unavailable(
                "only tools/call, prompts/get and resources/read can ask the client for input",
            ));
        };
        let n = mrtr.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = key.map_or_else(|| format!("input-{n}"), str::to_owned);
        if let Some(answer) = mrtr.responses.get(&key) {
            return serde_json::from_value(answer.clone())
                .map_err(|e| ClientRequestError::InvalidResult(format!("{method}: {e}")));
        }
        let request = serde_json::json!({ "method": method, "params": params });
        // Entries are inserted whole: a poisoned lock still holds a valid map.
        mrtr.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, request);
        mrtr.needed.cancel();
        std::future::pending().await
    }

    /// The session, when a request to the client can reach it and its answer come back.
    fn reachable_session(&self) -> Result<&Arc<Session>, ClientRequestError> {
        if self.inner.modern.is_some() {
            return Err(ClientRequestError::Unavailable(
                "a 2026-07-28 request cannot carry requests to the client (they need MRTR)",
            ));
        }
        let Some(session) = &self.inner.session else {
            return Err(ClientRequestError::Unavailable(
                "stateless mode has no session to route the client's answer to",
            ));
        };
        if self.inner.sink.is_none() {
            return Err(ClientRequestError::Unavailable(
                "this request is answered as plain JSON (ResponseMode::Json or a batch), which cannot carry requests to the client",
            ));
        }
        Ok(session)
    }

    /// Sends a request to the client on this request's stream and waits for the answer the
    /// client POSTs back, within the server's client-request timeout.
    async fn request_client<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &impl Serialize,
    ) -> Result<T, ClientRequestError> {
        let session = self.reachable_session()?;
        let (id, answer, _pending) = session.begin_client_request();
        if !self.send(jsonrpc::request_bytes(&id, method, params)) {
            return Err(ClientRequestError::Closed);
        }
        let raw: Box<RawValue> = match tokio::time::timeout(self.inner.client_timeout, answer).await
        {
            Err(_) => {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Cancelled<'a> {
                    request_id: &'a RequestId,
                    reason: &'a str,
                }
                self.send(jsonrpc::notification_bytes(
                    "notifications/cancelled",
                    &Cancelled {
                        request_id: &id,
                        reason: "the server timed out waiting for the answer",
                    },
                ));
                return Err(ClientRequestError::Timeout(self.inner.client_timeout));
            }
            Ok(Err(_)) => return Err(ClientRequestError::Closed),
            Ok(Ok(Err(error))) => return Err(ClientRequestError::Rejected(error)),
            Ok(Ok(Ok(raw))) => raw,
        };
        serde_json::from_str(raw.get())
            .map_err(|e| ClientRequestError::InvalidResult(format!("{method}: {e}")))
    }

    fn send(&self, message: Bytes) -> bool {
        self.inner
            .sink
            .as_ref()
            .is_some_and(|sink| sink.send(Outbound::Message(message)).is_ok())
    }
}
