//! The host app's own REST routes as MCP tools: one tool per operation of its OpenAPI
//! document, called through the host app itself (its router, its middleware, its validation).
//!
//! The core owns every rule here: how operations are named and described, how their
//! parameters and JSON body merge into one input schema, how a call's arguments become an
//! [`http::Request`], which of the caller's headers travel with it, how long it may take, and
//! how the answer becomes a [`CallToolResult`]. An adapter only supplies a [`HostApp`]: "send
//! this request into the app and give me its answer".
//!
//! The document is read as plain JSON (`serde_json::Value`), so any OpenAPI 3.0 or 3.1
//! generator works (utoipa, poem-openapi, salvo-oapi, aide, a file) and the core depends on
//! none of them.
//!
//! # Rules
//!
//! - **Names**: the `operationId`, with every character outside `A-Z a-z 0-9 _ - .` replaced by
//!   `_`. An operation without one is named from its method and path (`GET /items/{id}` is
//!   `get_items_id`), not skipped. Names are at most [`MAX_NAME`] characters: a longer one
//!   keeps its first 55 and ends in `_` and 8 hex digits of a hash of the whole name, so two
//!   long names stay apart and a name never changes between runs. A name already taken (by an
//!   earlier operation, in path order and then `get put post delete options head patch trace`,
//!   or by a tool the server has) gets `_2`, `_3`, … .
//! - **Description**: the `title` is the summary; the description is the summary and the
//!   description (one of them when they are the same), or `METHOD path` when there is neither.
//!   Response schemas are not pasted into it (they are the `outputSchema`).
//! - **Input schema**: one flat object. Path, query, header and cookie parameters and the
//!   properties of a JSON (or form) body, each keeping its schema and description, `$ref`s
//!   resolved (inlined; a recursive schema goes to `$defs` once). A body that is not an object
//!   with properties (an array, a string) is the one argument `body`. When two locations use
//!   the same name, the first in the order path, query, header, cookie, body keeps it and each
//!   later one is named `{location}_{name}` (`body_id` beside the path's `id`), with `_2`, …
//!   if that is taken too. Header parameters named `Accept`, `Content-Type` and
//!   `Authorization` (which OpenAPI says to ignore) and those [forwarded](RouteTools::forward_headers)
//!   from the caller are not arguments.
//!   A body's required properties are required unless the body is explicitly optional
//!   (`required: false`; generators often leave `required` out of bodies they need).
//! - **Output schema**: when every 2xx answer the operation documents is a JSON object, its
//!   schema; results then carry `structuredContent`.
//! - **Annotations**: `GET`/`HEAD`/`OPTIONS` are read-only; `PUT` and `DELETE` idempotent;
//!   `DELETE` destructive and the other writes not.
//! - **Calls**: only what is needed to build the URL is checked here (a missing path
//!   argument, an unknown argument); the rest is the route's own validation, whose 4xx comes
//!   back as the result. A 2xx JSON object answer is `structuredContent` plus its JSON text;
//!   other JSON, text, images and audio become text, image and audio content, other bytes an
//!   embedded blob. Any other status is a tool execution error (`isError`) whose text starts
//!   `HTTP {status}` and carries the body.
//! - **Headers**: the caller's headers named in [`RouteTools::forward_headers`] (default
//!   `authorization`) and its `Host` go with the request, nothing else of it (neither its other
//!   headers nor its extensions): the app's middleware authenticates the inner request from
//!   the caller's own credentials, as it would any request.
//! - **Recursion**: operations under the MCP mount (the REST view documents its routes with
//!   `x-mcp-mount`, and [`exclude_path`](RouteTools::exclude_path) names others) are never
//!   tools, and a call whose path falls under the mount that received it is refused.

mod call;
mod openapi;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, Method, Request, Response};
use serde_json::{Map, Value};

use crate::handler::context::RequestContext;
use crate::handler::tool::Tool;
use crate::protocol::model::CallToolResult;

pub use openapi::{MAX_NAME, OpenApiError};

/// The `_meta` key of a route tool's definition naming its route, `"GET /notes/{id}"`: what
/// tells a dashboard or a client which tools are the app's own routes.
pub const ROUTE_META: &str = "mcp-mount/route";
pub(crate) use openapi::{Operation, Settings};

/// The external mount prefix of the request being served, put in its extensions by the core:
/// a route tool refuses to call into it.
#[derive(Clone, Debug)]
pub(crate) struct MountPrefix(pub(crate) String);

/// What [`HostApp::call`] returns.
pub type HostFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response<Bytes>, HostError>> + Send + 'a>>;

/// The host app, as route tools call it: sends one request through the app's own router and
/// middleware and collects the answer. Each adapter provides one (`routes_as_tools`); a host on
/// another stack implements it, or uses [`host_fn`].
pub trait HostApp: Send + Sync + 'static {
    /// Sends `request` (an origin-form URI, the body buffered) into the app and answers its
    /// response with the body collected, at most `max_body` bytes (an error past that).
    fn call(&self, request: Request<Bytes>, max_body: usize) -> HostFuture<'_>;
}

/// A [`HostApp`] from an async function of the request and the body limit.
///
/// ```
/// use bytes::Bytes;
/// use mcp_mount::routes::{HostError, host_fn};
///
/// let app = host_fn(|req: http::Request<Bytes>, _max_body| async move {
///     Ok::<_, HostError>(http::Response::new(Bytes::from(format!("you asked for {}", req.uri()))))
/// });
/// # let _ = app;
/// ```
pub fn host_fn<F, Fut>(f: F) -> impl HostApp
where
    F: Fn(Request<Bytes>, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Bytes>, HostError>> + Send + 'static,
{
    struct FnHost<F>(F);
    impl<F, Fut> HostApp for FnHost<F>
    where
        F: Fn(Request<Bytes>, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Bytes>, HostError>> + Send + 'static,
    {
        fn call(&self, request: Request<Bytes>, max_body: usize) -> HostFuture<'_> {
            Box::pin((self.0)(request, max_body))
        }
    }
    FnHost(f)
}

/// Collects an answer's body for [`HostApp::call`]: at most `max_body` bytes, an error past
/// that or when the body fails.
///
/// # Errors
///
/// A body larger than `max_body`, or one whose stream fails.
pub async fn collect_body<B>(max_body: usize, body: B) -> Result<Bytes, HostError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| HostError::new(format!("reading the answer failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if collected.len() + data.len() > max_body {
                return Err(HostError::new(format!(
                    "the answer is larger than {max_body} bytes (RouteTools::max_response_body)"
                )));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// Like [`collect_body`], for a body given as a stream of chunks.
///
/// # Errors
///
/// A body larger than `max_body`, or one whose stream fails.
pub async fn collect_body_stream<S, E>(max_body: usize, body: S) -> Result<Bytes, HostError>
where
    S: futures_core::Stream<Item = Result<Bytes, E>>,
    E: fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut collected = bytes::BytesMut::new();
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|e| HostError::new(format!("reading the answer failed: {e}")))?;
        if collected.len() + chunk.len() > max_body {
            return Err(HostError::new(format!(
                "the answer is larger than {max_body} bytes (RouteTools::max_response_body)"
            )));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Why the host app gave no answer (it is gone, the connection failed, the body was too
/// large): the tool result is an error with this text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError(String);

impl HostError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

/// How route tools hold the [`HostApp`].
///
/// An app that contains the MCP mount (axum's `Router`, poem's endpoint, salvo's service)
/// owns the server, whose tools would own the app back: a cycle of `Arc`s that never frees.
/// [`weak`](Self::weak) breaks it: whoever serves the app keeps the `Arc`, the tools only a
/// `Weak`, and a call after the app is gone is a tool error. [`new`](Self::new) keeps the app
/// alive from the tools, for a [`HostApp`] that does not contain the server (a loopback client).
#[derive(Clone)]
pub struct HostHandle(Link);

#[derive(Clone)]
enum Link {
    Strong(Arc<dyn HostApp>),
    Weak(Weak<dyn HostApp>),
}

impl fmt::Debug for HostHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Link::Strong(_) => "HostHandle(strong)",
            Link::Weak(_) => "HostHandle(weak)",
        })
    }
}

impl HostHandle {
    /// A handle that keeps `app` alive.
    pub fn new(app: Arc<dyn HostApp>) -> Self {
        Self(Link::Strong(app))
    }

    /// A handle that does not keep `app` alive: the caller keeps the `Arc` for as long as
    /// the app serves.
    pub fn weak(app: &Arc<dyn HostApp>) -> Self {
        Self(Link::Weak(Arc::downgrade(app)))
    }

    fn get(&self) -> Option<Arc<dyn HostApp>> {
        match &self.0 {
            Link::Strong(app) => Some(Arc::clone(app)),
            Link::Weak(app) => app.upgrade(),
        }
    }
}

/// The tools of an OpenAPI document's operations, with the rules of [the module](self).
///
/// # Examples
///
/// ```
/// use mcp_mount::routes::{HostError, HostHandle, RouteTools, host_fn};
/// use std::sync::Arc;
///
/// let doc = serde_json::json!({
///     "openapi": "3.1.0",
///     "info": {"title": "shop", "version": "1"},
///     "paths": {"/items": {"get": {"operationId": "list_items", "summary": "Lists items",
///         "responses": {"200": {"description": "ok"}}}}}
/// });
/// let routes = RouteTools::from_openapi(&doc)?.forward_headers(["authorization", "x-tenant"]);
/// let app: Arc<dyn mcp_mount::routes::HostApp> = Arc::new(host_fn(|_req, _max| async {
///     Ok::<_, HostError>(http::Response::new(bytes::Bytes::from_static(b"[]")))
/// }));
/// let tools = routes.tools(&HostHandle::new(app), &[]);
/// assert_eq!(tools[0].name(), "list_items");
/// # Ok::<(), mcp_mount::routes::OpenApiError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RouteTools {
    doc: Arc<Value>,
    settings: Settings,
    filter: Filter,
}

#[derive(Clone, Debug, Default)]
struct Filter {
    operations: Option<Vec<String>>,
    exclude_operations: Vec<String>,
    tags: Option<Vec<String>>,
    exclude_tags: Vec<String>,
    methods: Option<Vec<Method>>,
    exclude_paths: Vec<String>,
}

impl Filter {
    fn keeps(&self, op: &Operation) -> bool {
        let named = |list: &[String]| {
            list.iter()
                .any(|n| op.operation_id.as_deref() == Some(n.as_str()) || *n == op.name)
        };
        let tagged = |list: &[String]| op.tags.iter().any(|t| list.contains(t));
        let under = |prefix: &String| {
            let prefix = prefix.trim_end_matches('/');
            op.path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        self.operations.as_deref().is_none_or(named)
            && !named(&self.exclude_operations)
            && self.tags.as_deref().is_none_or(tagged)
            && !tagged(&self.exclude_tags)
            && self
                .methods
                .as_ref()
                .is_none_or(|methods| methods.contains(&op.method))
            && !self.exclude_paths.iter().any(under)
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl RouteTools {
    /// The operations of an OpenAPI 3.0 or 3.1 document, given as JSON.
    ///
    /// # Errors
    ///
    /// A document that is not OpenAPI 3.x (no `openapi: "3.…"` or no `paths` object), or a
    /// `$ref` that does not resolve inside it (external references are not followed) or that
    /// points at itself: what to fix is in the message.
    pub fn from_openapi(doc: &Value) -> Result<Self, OpenApiError> {
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with("3.") {
            return Err(OpenApiError::new(format!(
                "not an OpenAPI 3.x document: `openapi` is {:?}, expected \"3.0.x\" or \"3.1.x\" (Swagger 2.0 documents must be converted first)",
                doc.get("openapi").unwrap_or(&Value::Null)
            )));
        }
        if !doc.get("paths").is_some_and(Value::is_object) {
            return Err(OpenApiError::new(
                "the OpenAPI document has no `paths` object",
            ));
        }
        let routes = Self {
            doc: Arc::new(doc.clone()),
            settings: Settings {
                forward: vec![http::header::AUTHORIZATION],
                timeout: Duration::from_secs(30),
                max_body: 4 * 1024 * 1024,
            },
            filter: Filter::default(),
        };
        // Every reference is checked once here, so that `tools` cannot fail later.
        openapi::operations(&routes.doc, &routes.settings)?;
        Ok(routes)
    }

    /// Like [`from_openapi`](Self::from_openapi), from the document's JSON text.
    ///
    /// # Errors
    ///
    /// Text that is not JSON, and what [`from_openapi`](Self::from_openapi) refuses.
    pub fn from_openapi_str(json: &str) -> Result<Self, OpenApiError> {
        let doc: Value = serde_json::from_str(json).map_err(|e| {
            OpenApiError::new(format!("the OpenAPI document is not valid JSON: {e}"))
        })?;
        Self::from_openapi(&doc)
    }

    /// Only the operations with these `operationId`s (or generated names).
    #[must_use]
    pub fn operations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        self.filter.operations = Some(strings(ids));
        self
    }

    /// Leaves out the operations with these `operationId`s (or generated names).
    #[must_use]
    pub fn exclude_operations<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        ids: I,
    ) -> Self {
        self.filter.exclude_operations = strings(ids);
        self
    }

    /// Only the operations with at least one of these tags.
    #[must_use]
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.filter.tags = Some(strings(tags));
        self
    }

    /// Leaves out the operations with any of these tags.
    #[must_use]
    pub fn exclude_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.filter.exclude_tags = strings(tags);
        self
    }

    /// Only the operations of these methods (e.g. `[Method::GET]` for a read-only set).
    #[must_use]
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.filter.methods = Some(methods.into_iter().collect());
        self
    }

    /// Leaves out the operations at `prefix` and below it (e.g. the MCP mount, when the
    /// document describes it; the REST view's own operations are always left out).
    #[must_use]
    pub fn exclude_path(mut self, prefix: impl Into<String>) -> Self {
        self.filter.exclude_paths.push(prefix.into());
        self
    }

    /// The caller's request headers sent on with each call (replacing the default,
    /// `authorization`); names are case-insensitive, invalid ones are ignored. An empty list
    /// forwards none.
    #[must_use]
    pub fn forward_headers<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Self {
        self.settings.forward = names
            .into_iter()
            .filter_map(|n| HeaderName::from_bytes(n.as_ref().as_bytes()).ok())
            .collect();
        self
    }

    /// How long one call may take, answer body included (default 30 s); past it the inner
    /// request is dropped and the result is a tool error.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The largest answer body read (default 4 MiB); a larger one is a tool error.
    #[must_use]
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// The tools, calling into `host`; their names avoid those in `taken` (the tools a server
    /// already has).
    pub fn tools(&self, host: &HostHandle, taken: &[&str]) -> Vec<Tool> {
        let Ok(operations) = openapi::operations(&self.doc, &self.settings) else {
            // Checked by `from_openapi`; the document has not changed since.
            return Vec::new();
        };
        let kept: Vec<Operation> = operations
            .into_iter()
            .filter(|op| self.filter.keeps(op))
            .collect();
        openapi::name_uniquely(kept, taken)
            .into_iter()
            .map(|op| tool(op, self.settings.clone(), host.clone()))
            .collect()
    }
}

fn tool(op: Operation, settings: Settings, host: HostHandle) -> Tool {
    let op = Arc::new(op);
    let mut tool = Tool::dynamic(op.name.clone(), op.input_schema.clone(), {
        let op = Arc::clone(&op);
        move |args: Map<String, Value>, ctx: RequestContext| {
            let (op, settings, host) = (Arc::clone(&op), settings.clone(), host.clone());
            async move { run(&op, &settings, &host, &args, &ctx).await }
        }
    })
    .description(op.description.clone())
    .annotations(op.annotations())
    .meta(Map::from_iter([(
        ROUTE_META.to_owned(),
        Value::String(format!("{} {}", op.method, op.path)),
    )]));
    if let Some(title) = &op.title {
        tool = tool.title(title.clone());
    }
    if let Some(output) = &op.output_schema {
        tool = tool.output_schema(output.clone());
    }
    tool
}

/// One call: the request, the guards, the host, the answer.
async fn run(
    op: &Operation,
    settings: &Settings,
    host: &HostHandle,
    args: &Map<String, Value>,
    ctx: &RequestContext,
) -> CallToolResult {
    let request = match call::request(op, args, ctx.headers(), &settings.forward) {
        Ok(request) => request,
        Err(message) => return CallToolResult::error(message),
    };
    if let Some(MountPrefix(prefix)) = ctx.extensions().get::<MountPrefix>() {
        if call::is_under(request.uri().path(), prefix) {
            return CallToolResult::error(format!(
                "tool {} refused: {} is under the MCP mount {prefix}, which route tools never call",
                op.name,
                request.uri().path()
            ));
        }
    }
    let Some(app) = host.get() else {
        return CallToolResult::error(format!(
            "tool {}: the host app is no longer running",
            op.name
        ));
    };
    let path = request.uri().path().to_owned();
    let answer = tokio::select! {
        answer = tokio::time::timeout(settings.timeout, app.call(request, settings.max_body)) => answer,
        () = ctx.cancelled() => return CallToolResult::error("cancelled by the client"),
    };
    match answer {
        Err(_) => CallToolResult::error(format!(
            "{} {path} timed out after {} ms",
            op.method,
            settings.timeout.as_millis()
        )),
        Ok(Err(e)) => CallToolResult::error(format!("{} {path} failed: {e}", op.method)),
        Ok(Ok(response)) => call::result(response, &path),
    }
}

#[cfg(test)]
mod tests;
