//! Tools: typed handlers whose JSON Schema comes from their Rust argument type, and dynamic ones.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::handler::context::RequestContext;
use std::fmt::Display;

use crate::protocol::model::{CallToolResult, Content, ToolAnnotations};

pub(crate) use crate::handler::future::BoxFuture;
type Invoke = dyn Fn(Option<&RawValue>, RequestContext) -> BoxFuture<CallToolResult> + Send + Sync;

pub(crate) use crate::handler::schema::schema_for;

/// Structured tool output: serialised into `structuredContent`, copied as JSON text into
/// `content`, and described by an `outputSchema` generated from `T`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Json<T>(pub T);

/// What a tool handler may return.
///
/// Implemented for text (`String`, `&'static str`), [`Content`], `Vec<Content>`,
/// [`CallToolResult`], [`Json<T>`] and `Result<T, E>` where `T` is any of those and `E: Display`
/// (an `Err` becomes a tool execution error with `isError: true`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a tool can return",
    label = "the tool's future resolves to `{Self}`",
    note = "a tool returns text (`String`, `&'static str`), `mcp_mount::Json<T>` for structured output \
            (`T: Serialize + JsonSchema`), `Content`, `Vec<Content>`, `CallToolResult`, or \
            `Result<T, E>` of one of those with `E: Display`",
    note = "usual cause: a web framework's own `Json` (`axum::Json`, `poem::web::Json`, …) instead \
            of `mcp_mount::Json`"
)]
pub trait IntoToolResult {
    /// Converts the handler's output into a [`CallToolResult`].
    fn into_tool_result(self) -> CallToolResult;

    /// The `outputSchema` of this output type, if it has one.
    fn output_schema() -> Option<Value> {
        None
    }
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> CallToolResult {
        self
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![Content::text(self)])
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![Content::text(self)])
    }
}

impl IntoToolResult for Content {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(vec![self])
    }
}

impl IntoToolResult for Vec<Content> {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::success(self)
    }
}

impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> CallToolResult {
        match serde_json::to_value(&self.0) {
            Ok(value) => CallToolResult {
                content: vec![Content::text(value.to_string())],
                structured_content: Some(value),
                ..CallToolResult::default()
            },
            Err(e) => CallToolResult::error(format!("could not serialise the tool output: {e}")),
        }
    }

    fn output_schema() -> Option<Value> {
        Some(schema_for::<T>())
    }
}

impl<T: IntoToolResult, E: Display> IntoToolResult for Result<T, E> {
    fn into_tool_result(self) -> CallToolResult {
        match self {
            Ok(ok) => ok.into_tool_result(),
            Err(e) => CallToolResult::error(e.to_string()),
        }
    }

    fn output_schema() -> Option<Value> {
        T::output_schema()
    }
}

fn empty_object_schema() -> Value {
    serde_json::json!({ "type": "object", "properties": {}, "additionalProperties": false })
}

/// A tool: a name, its metadata, its input schema and the handler that runs it.
///
/// # Examples
///
/// ```
/// use mcp_mount::{Json, RequestContext, Tool};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Deserialize, JsonSchema)]
/// struct AddArgs { a: i64, b: i64 }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Sum { sum: i64 }
///
/// let add = Tool::new("add", |args: AddArgs| async move { Json(Sum { sum: args.a + args.b }) })
///     .description("Adds two integers");
/// let whoami = Tool::new("whoami", |ctx: RequestContext| async move {
///     ctx.headers().get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("anonymous").to_owned()
/// })
/// .description("Says who is calling");
/// # let _ = (add, whoami);
/// ```
#[derive(Clone)]
pub struct Tool {
    pub(crate) name: String,
    title: Option<String>,
    description: Option<String>,
    annotations: Option<ToolAnnotations>,
    meta: Option<Map<String, Value>>,
    input_schema: Value,
    output_schema: Option<Value>,
    pub(crate) task_support: TaskSupport,
    pub(crate) invoke: Arc<Invoke>,
}

/// Whether a tool's calls may become tasks (the 2026-07-28 `io.modelcontextprotocol/tasks`
/// extension): a call that is still running after the server's
/// [`task_after`](crate::McpServerBuilder::task_after) threshold, or whose handler calls
/// [`RequestContext::run_as_task`], is answered with a task the client polls, and keeps
/// running after its request has been answered. Clients of the session era, and clients that
/// did not opt into the extension, always get the ordinary result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never a task (the default): the request waits for the result.
    #[default]
    Forbidden,
    /// A task when it runs long and the client opted into tasks; otherwise the result.
    Optional,
    /// Only for clients that opted into tasks: the others get `-32021` (missing required
    /// client capability) naming the extension.
    Required,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool whose arguments are the handler's `Deserialize + JsonSchema` type.
    ///
    /// The handler is an async fn or closure taking nothing, a [`RequestContext`], the arguments,
    /// or the arguments and a [`RequestContext`], and returning anything [`IntoToolResult`].
    /// Arguments that do not deserialise become a tool execution error (`isError: true`).
    pub fn new<H, M>(name: impl Into<String>, handler: H) -> Self
    where
        H: ToolHandler<M>,
    {
        let name = name.into();
        let handler = Arc::new(handler);
        let tool_name = name.clone();
        let invoke =
            move |args: Option<&RawValue>, ctx: RequestContext| match handler.call(args, ctx) {
                Ok(fut) => fut,
                Err(e) => {
                    let message = format!("Invalid arguments for tool {tool_name}: {e}");
                    Box::pin(async move { CallToolResult::error(message) }) as BoxFuture<_>
                }
            };
        Self {
            name,
            title: None,
            description: None,
            annotations: None,
            meta: None,
            input_schema: H::input_schema(),
            output_schema: H::output_schema(),
            task_support: TaskSupport::Forbidden,
            invoke: Arc::new(invoke),
        }
    }

    /// A tool with a hand-written input schema whose handler takes the arguments as JSON.
    ///
    /// `input_schema` is passed to clients verbatim; it must be an object schema
    /// (`"type": "object"`). The handler gets the `arguments` object (`{}` when absent).
    pub fn dynamic<F, Fut, R>(name: impl Into<String>, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Map<String, Value>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let name = name.into();
        let tool_name = name.clone();
        let invoke = move |args: Option<&RawValue>, ctx: RequestContext| {
            let parsed = match args {
                None => Ok(Map::new()),
                Some(raw) => {
                    crate::protocol::serde_text::from_str_located::<Map<String, Value>>(raw.get())
                }
            };
            match parsed {
                Ok(map) => {
                    let fut = handler(map, ctx);
                    Box::pin(async move { fut.await.into_tool_result() }) as BoxFuture<_>
                }
                Err(e) => {
                    let message = format!("Invalid arguments for tool {tool_name}: {e}");
                    Box::pin(async move { CallToolResult::error(message) })
                }
            }
        };
        Self {
            name,
            title: None,
            description: None,
            annotations: None,
            meta: None,
            input_schema,
            output_schema: None,
            task_support: TaskSupport::Forbidden,
            invoke: Arc::new(invoke),
        }
    }

    /// Whether this tool's calls may become tasks (default [`TaskSupport::Forbidden`]).
    #[must_use]
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = support;
        self
    }

    /// Sets the description shown to the model.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets behaviour hints.
    #[must_use]
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Sets `_meta` on the tool's definition.
    #[must_use]
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Replaces the `outputSchema` (e.g. on a dynamic tool that returns structured content).
    #[must_use]
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's input schema.
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// Checks what the spec requires of a tool: a valid name and an object input schema.
    pub(crate) fn validate(&self) -> Result<(), String> {
        validate_tool_name(&self.name)?;
        if self.input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(format!(
                "tool {:?}: inputSchema must have \"type\": \"object\" (tool arguments are a JSON object)",
                self.name
            ));
        }
        Ok(())
    }

    /// The tool's definition as it appears in `tools/list`, serialised once.
    pub(crate) fn definition(&self) -> Box<RawValue> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Definition<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            title: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            description: Option<&'a str>,
            input_schema: &'a Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            output_schema: Option<&'a Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            annotations: Option<&'a ToolAnnotations>,
            #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
            meta: Option<&'a Map<String, Value>>,
        }
        let definition = Definition {
            name: &self.name,
            title: self.title.as_deref(),
            description: self.description.as_deref(),
            input_schema: &self.input_schema,
            output_schema: self.output_schema.as_ref(),
            annotations: self.annotations.as_ref(),
            meta: self.meta.as_ref(),
        };
        // Values, strings and our own derive(Serialize) types always serialise.
        serde_json::value::to_raw_value(&definition).unwrap_or_default()
    }
}

/// Checks a tool name against the spec: 1 to 128 characters from `A-Z a-z 0-9 _ - .`.
pub(crate) fn validate_tool_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 128 {
        return Err(format!(
            "tool name {name:?} must be 1 to 128 characters long"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "tool name {name:?} contains {c:?}; only A-Z, a-z, 0-9, '_', '-' and '.' are allowed"
        ));
    }
    Ok(())
}

/// A function that can handle a tool call; see [`Tool::new`].
///
/// `M` is a marker that tells the four accepted handler shapes apart; it is inferred.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tool handler",
    label = "not one of the four tool handler shapes",
    note = "a tool handler is an async fn or closure of one of these shapes (arguments first, \
            context last): `|| async {{ … }}`, `|ctx: RequestContext| async move {{ … }}`, \
            `|args: A| async move {{ … }}`, `|args: A, ctx: RequestContext| async move {{ … }}`",
    note = "the arguments' type `A` implements `serde::Deserialize` and schemars 1.x \
            `JsonSchema`: `#[derive(Deserialize, JsonSchema)]` (`mcp_mount::schemars` is the \
            version this crate uses)",
    note = "the future is `Send + 'static` and resolves to an `IntoToolResult`: `String`, \
            `&'static str`, `mcp_mount::Json<T>`, `Content`, `Vec<Content>`, `CallToolResult`, or \
            `Result<T, E: Display>` of one of those",
    note = "usual causes: the `RequestContext` before the arguments; a closure that is not \
            `async`; `axum::Json` instead of `mcp_mount::Json`; a missing `#[derive(JsonSchema)]` or \
            one from schemars 0.8; an argument struct without `Deserialize`; a value that is not \
            `Send` held across an `.await`"
)]
pub trait ToolHandler<M>: Send + Sync + 'static {
    /// The input schema of the handler's arguments.
    fn input_schema() -> Value;
    /// The output schema of the handler's return type.
    fn output_schema() -> Option<Value>;
    /// Deserialises the arguments and starts the call; `Err` carries the deserialisation error.
    fn call(
        &self,
        args: Option<&RawValue>,
        ctx: RequestContext,
    ) -> Result<BoxFuture<CallToolResult>, serde_json::Error>;
}

/// Handler markers for [`ToolHandler`]; they are inferred and never named by users.
mod markers {
    use std::marker::PhantomData;

    /// `Fn() -> Fut`
    #[derive(Debug)]
    pub struct NoArgs;
    /// `Fn(RequestContext) -> Fut`
    #[derive(Debug)]
    pub struct ContextOnly;
    /// `Fn(A) -> Fut`
    #[derive(Debug)]
    pub struct Args<A>(PhantomData<fn() -> A>);
    /// `Fn(A, RequestContext) -> Fut`
    #[derive(Debug)]
    pub struct ArgsContext<A>(PhantomData<fn() -> A>);
}

/// The arguments as `A`; the error says which field did not fit and what was expected, without
/// serde's parser position (`missing field `query``, `` `limit`: invalid type: … expected u32``).
fn parse_args<A: DeserializeOwned>(args: Option<&RawValue>) -> Result<A, serde_json::Error> {
    crate::protocol::serde_text::from_str_located(args.map_or("{}", RawValue::get))
        .map_err(<serde_json::Error as serde::de::Error>::custom)
}

impl<F, Fut, R> ToolHandler<markers::NoArgs> for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoToolResult,
{
    fn input_schema() -> Value {
        empty_object_schema()
    }
    fn output_schema() -> Option<Value> {
        R::output_schema()
    }
    fn call(
        &self,
        _: Option<&RawValue>,
        _: RequestContext,
    ) -> Result<BoxFuture<CallToolResult>, serde_json::Error> {
        let fut = self();
        Ok(Box::pin(async move { fut.await.into_tool_result() }))
    }
}

impl<F, Fut, R> ToolHandler<markers::ContextOnly> for F
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoToolResult,
{
    fn input_schema() -> Value {
        empty_object_schema()
    }
    fn output_schema() -> Option<Value> {
        R::output_schema()
    }
    fn call(
        &self,
        _: Option<&RawValue>,
        ctx: RequestContext,
    ) -> Result<BoxFuture<CallToolResult>, serde_json::Error> {
        let fut = self(ctx);
        Ok(Box::pin(async move { fut.await.into_tool_result() }))
    }
}

impl<F, Fut, R, A> ToolHandler<markers::Args<A>> for F
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoToolResult,
    A: DeserializeOwned + JsonSchema + 'static,
{
    fn input_schema() -> Value {
        schema_for::<A>()
    }
    fn output_schema() -> Option<Value> {
        R::output_schema()
    }
    fn call(
        &self,
        args: Option<&RawValue>,
        _: RequestContext,
    ) -> Result<BoxFuture<CallToolResult>, serde_json::Error> {
        let fut = self(parse_args(args)?);
        Ok(Box::pin(async move { fut.await.into_tool_result() }))
    }
}

impl<F, Fut, R, A> ToolHandler<markers::ArgsContext<A>> for F
where
    F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoToolResult,
    A: DeserializeOwned + JsonSchema + 'static,
{
    fn input_schema() -> Value {
        schema_for::<A>()
    }
    fn output_schema() -> Option<Value> {
        R::output_schema()
    }
    fn call(
        &self,
        args: Option<&RawValue>,
        ctx: RequestContext,
    ) -> Result<BoxFuture<CallToolResult>, serde_json::Error> {
        let fut = self(parse_args(args)?, ctx);
        Ok(Box::pin(async move { fut.await.into_tool_result() }))
    }
}
