//! The conformance fixture: the tools the official MCP conformance suite calls, plus tools of
//! our own that let wire-level cases observe streaming, cancellation and the request context.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mcp_mount::model::{
    Completion, CreateMessageParams, ElicitParams, GetPromptResult, LoggingLevel, ResourceContents,
    SamplingMessage, ToolAnnotations,
};
use mcp_mount::{
    CacheScope, CallToolResult, CompletionRequest, Content, Cors, InvalidToken, Json, McpServer,
    McpServerBuilder, Prompt, PromptArgument, PromptMessage, ProtectedResource, RequestContext,
    Resource, ResourceTemplate, ResponseMode, TaskSupport, TokenVerifier, Tool, TrustedProxies,
    UriVariables, VerifyFuture,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// A 1×1 PNG, base64.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// The browser origin the fixture's CORS policy allows (a dashboard served elsewhere).
pub const DASHBOARD_ORIGIN: &str = "https://dashboard.example.com";

/// A tiny WAV, base64.
pub const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// The authenticated principal a host's auth middleware puts in the request extensions.
///
/// Every host app that serves the fixture (the adapter tests, `fixture-server`) inserts it from
/// the `x-user` request header, the way a real app's middleware would from a token, so the
/// `whoami` tool can show that extensions reach handlers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal(pub String);

/// The fixture variants every host mounts beside the main fixture, as `{prefix}-{name}`.
pub const VARIANTS: &[&str] = &[
    "stateless",
    "limited",
    "capped",
    "crowded",
    "per-client",
    "expiring",
    "impatient",
    "proxied",
    "oauth",
    "oauth-proxied",
];

/// How this process deploys its fixtures: what [`deploy`] set.
type Deployment = dyn Fn(&str, McpServerBuilder) -> McpServerBuilder + Send + Sync;

static DEPLOYMENT: OnceLock<Box<Deployment>> = OnceLock::new();

/// Changes how every fixture of this process is deployed: `deploy(name, builder)` gets each
/// fixture's builder (`name` is `""` for the main fixture, a [`VARIANTS`] entry otherwise) just
/// before it is built, e.g. to run it as one replica of several
/// ([`McpServerBuilder::cluster`]). Set once, before any fixture is built; `false` when it was
/// set already.
pub fn deploy(
    deploy: impl Fn(&str, McpServerBuilder) -> McpServerBuilder + Send + Sync + 'static,
) -> bool {
    DEPLOYMENT.set(Box::new(deploy)).is_ok()
}

/// The main fixture and its variants, each with the path suffix to mount it at (`""` for the
/// main one, `"-stateless"` and so on for the variants).
pub fn fixtures() -> Vec<(String, McpServer)> {
    let mut all = vec![(String::new(), fixture())];
    for name in VARIANTS {
        all.push((format!("-{name}"), variant(name)));
    }
    all
}

/// The main conformance fixture.
pub fn fixture() -> McpServer {
    let (builder, slot) = base();
    finish("", builder, &slot)
}

/// Builds the server and hands it to the tools that change it at run time.
///
/// Those tools hold the server they belong to, a cycle that keeps the fixture alive for the
/// whole process, as a test fixture is anyway.
fn finish(name: &str, builder: McpServerBuilder, slot: &OnceLock<McpServer>) -> McpServer {
    let builder = match DEPLOYMENT.get() {
        Some(deploy) => deploy(name, builder),
        None => builder,
    };
    let server = builder.build();
    let _ = slot.set(server.clone());
    server
}

/// A variant of the fixture with its configuration changed; see [`VARIANTS`]:
///
/// - `stateless`: no sessions;
/// - `limited`: 16 KiB bodies, JSON answers only, two items a list page, modern results
///   cacheable publicly for 60 s;
/// - `capped`: at most two live sessions;
/// - `crowded`: at most two live sessions, and one idle for 400 ms makes room for a new one;
/// - `per-client`: at most two live sessions per client (the [`Principal`] the host's
///   middleware puts in the extensions, else the client's address), sessions bound to that
///   principal, and one idle for 400 ms makes room for its own client's next; one running
///   task per client;
/// - `expiring`: sessions expire after 800 ms idle, tasks 800 ms after their creation, MRTR
///   request state after 300 ms;
/// - `impatient`: SSE answers only, a 300 ms client-request timeout, a 50 ms `retry` and a
///   three-event replay buffer;
/// - `proxied`: behind a trusted proxy on loopback, served as `https://mcp.example.com` and
///   nothing else (`loopback_hosts(false)`);
/// - `oauth`: an OAuth protected resource (see [`FixtureTokens`]), sessions bound to the token;
/// - `oauth-proxied`: `oauth` behind a trusted proxy on loopback, served as
///   `https://api.example.com` ([`PROXIED_OAUTH_HOST`]), loopback names allowed beside it.
///
/// # Panics
///
/// For a name not in [`VARIANTS`].
pub fn variant(name: &str) -> McpServer {
    let (builder, slot) = base();
    let builder = match name {
        "stateless" => builder.stateless(true),
        "limited" => builder
            .rest_view(false)
            .max_body(16 * 1024)
            .response_mode(ResponseMode::Json)
            .page_size(2)
            .cache_policy(Duration::from_secs(60), CacheScope::Public),
        "capped" => builder.max_sessions(2),
        "crowded" => builder
            .max_sessions(2)
            .session_eviction(Duration::from_millis(400)),
        "per-client" => builder
            .max_sessions_per_client(2)
            .max_tasks(10_000, 1)
            .session_eviction(Duration::from_millis(400))
            .bind_sessions(|parts| parts.extensions.get::<Principal>().map(|p| p.0.clone())),
        "expiring" => builder
            .session_ttl(Duration::from_millis(800))
            .task_ttl(Duration::from_millis(800))
            .input_request_ttl(Duration::from_millis(300)),
        "impatient" => builder
            .response_mode(ResponseMode::Sse)
            .client_request_timeout(Duration::from_millis(300))
            .sse_retry(Duration::from_millis(50))
            .sse_replay_buffer(3, 64 * 1024),
        // Behind a proxy on loopback that serves it as https://mcp.example.com, and only that:
        // not even the loopback names (which `allowed_hosts` keeps by default).
        "proxied" => builder
            .trusted_proxies(TrustedProxies::new(["127.0.0.1", "::1"]).unwrap_or_default())
            .allowed_hosts(["mcp.example.com"])
            .loopback_hosts(false)
            .allowed_origins(["https://mcp.example.com"]),
        "oauth" => oauth(builder),
        // The `oauth` variant behind a proxy on loopback that serves it as
        // https://api.example.com; the loopback names stay allowed beside it (health checks).
        "oauth-proxied" => oauth(builder)
            .trusted_proxies(TrustedProxies::new(["127.0.0.1", "::1"]).unwrap_or_default())
            .allowed_hosts([PROXIED_OAUTH_HOST]),
        other => panic!("no fixture variant {other:?}"),
    };
    finish(name, builder, &slot)
}

/// The public host the `oauth-proxied` variant is served as, through a trusted proxy.
pub const PROXIED_OAUTH_HOST: &str = "api.example.com";

/// An OAuth protected resource whose sessions are bound to the token's subject.
fn oauth(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .oauth(
            ProtectedResource::new([AUTHORIZATION_SERVER])
                .required_scopes(["mcp:tools"])
                .resource_name("mcp-mount conformance fixture"),
            FixtureTokens,
        )
        .bind_sessions(|parts| {
            parts
                .extensions
                .get::<mcp_mount::Principal>()
                .map(|p| p.subject.clone())
        })
}

/// The authorization server the `oauth` variant names in its metadata.
pub const AUTHORIZATION_SERVER: &str = "https://auth.example.com";

/// The `oauth` variant's token verifier, standing in for a host's JWT library:
/// `alice-token` and `bob-token` grant `mcp:tools`; `reader-token` only `mcp:read`.
#[derive(Debug)]
pub struct FixtureTokens;

impl TokenVerifier for FixtureTokens {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(async move {
            match token {
                "alice-token" => Ok(mcp_mount::Principal::new("alice", ["mcp:tools"])),
                "bob-token" => Ok(mcp_mount::Principal::new("bob", ["mcp:tools"])),
                "reader-token" => Ok(mcp_mount::Principal::new("reader", ["mcp:read"])),
                _ => Err(InvalidToken("the token is not known".into())),
            }
        })
    }
}

#[derive(Default)]
struct State {
    gates: Mutex<HashMap<String, Arc<Notify>>>,
    cancelled: Mutex<HashSet<String>>,
}

impl State {
    fn gate(&self, key: &str) -> Arc<Notify> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(gates.entry(key.to_owned()).or_default())
    }
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddArgs {
    /// The first addend.
    pub a: i64,
    /// The second addend.
    pub b: i64,
}

/// Output of `add_structured`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Sum {
    /// a + b
    pub sum: i64,
}

/// Arguments of tools keyed by a string.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct KeyArgs {
    /// A key chosen by the caller, unique per case run.
    pub key: String,
}

/// Arguments of `test_sampling`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SamplingArgs {
    /// The prompt to send to the client's model.
    pub prompt: String,
}

/// Arguments of `test_elicitation`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ElicitationArgs {
    /// The message to show the user.
    pub message: String,
}

/// Arguments of `dynamic`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DynamicArgs {
    /// `"tool"`, `"resource"` or `"prompt"`.
    pub kind: String,
    /// Names the entry: tool and prompt `dynamic_<key>`, resource `test://dynamic/<key>`.
    pub key: String,
    /// Remove the entry instead of adding it.
    #[serde(default)]
    pub remove: bool,
}

/// Arguments of `touch_resource`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UriArgs {
    /// A resource URI.
    pub uri: String,
}

/// Arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// Text to send back.
    pub text: String,
}

struct MarkOnDrop {
    state: Arc<State>,
    key: String,
    armed: bool,
}

impl Drop for MarkOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let mut cancelled = self
                .state
                .cancelled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cancelled.insert(self.key.clone());
        }
    }
}

fn base() -> (McpServerBuilder, Arc<OnceLock<McpServer>>) {
    let state = Arc::new(State::default());
    let slot = Arc::new(OnceLock::new());
    let builder = tools(Arc::clone(&state));
    let builder = client_tools(builder, Arc::clone(&state));
    let builder = runtime_tools(builder, Arc::clone(&slot));
    let builder = resources(builder);
    let builder = prompts(builder);
    let builder = mrtr_tools(builder);
    let builder = faulty(builder);
    let builder = task_tools(builder);
    (builder, slot)
}

fn boom_later() -> String {
    panic!("{PANIC_TEXT}")
}

/// The tools the official suite's `tasks-*` scenarios call (the 2026-07-28 tasks extension),
/// written as any tool is: only `task_support` says they may outlive their request.
fn task_tools(builder: McpServerBuilder) -> McpServerBuilder {
    #[derive(Deserialize, JsonSchema)]
    struct GreetArgs {
        /// Who to greet.
        name: String,
    }
    #[derive(Deserialize, JsonSchema)]
    struct ComputeArgs {
        /// How long the computation takes, in seconds (0 answers at once).
        seconds: f64,
        /// A label echoed in the result.
        #[serde(default)]
        label: Option<String>,
    }
    #[derive(Deserialize, JsonSchema)]
    struct DeleteArgs {
        /// The file to delete, once the user confirms.
        filename: String,
    }
    #[derive(Deserialize, JsonSchema)]
    struct NoArgs {}
    builder
        .tool(
            Tool::new("greet", |args: GreetArgs| async move {
                format!("Hello, {}!", args.name)
            })
            .description("Greets at once; never a task"),
        )
        .tool(
            Tool::new("slow_compute", |args: ComputeArgs| async move {
                let seconds = args.seconds.clamp(0.0, 3600.0);
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                format!(
                    "computed {} in {seconds} s",
                    args.label.as_deref().unwrap_or("it")
                )
            })
            .task_support(TaskSupport::Optional)
            .description("Sleeps `seconds`, then answers: a task when that takes long"),
        )
        .tool(
            Tool::new("failing_job", |_: NoArgs| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                CallToolResult::error("the job failed after a second of work")
            })
            .task_support(TaskSupport::Required)
            .description("Works for a second, then reports a tool error; only as a task"),
        )
        .tool(
            Tool::new("protocol_error_job", |_: NoArgs| async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                boom_later()
            })
            .task_support(TaskSupport::Optional)
            .description("Works half a second, then panics: the task fails with -32603"),
        )
        .tool(
            Tool::new(
                "confirm_delete",
                |args: DeleteArgs, ctx: RequestContext| async move {
                    // A person will answer: no reason to hold the request meanwhile.
                    ctx.run_as_task().await;
                    match ctx
                        .elicit(ask(
                            &format!("Delete {}?", args.filename),
                            "confirm",
                            "boolean",
                        ))
                        .await
                    {
                        Ok(answer) if answered(&answer, "confirm") == "true" => {
                            CallToolResult::success(vec![Content::text(format!(
                                "deleted {}",
                                args.filename
                            ))])
                        }
                        Ok(_) => CallToolResult::success(vec![Content::text("kept the file")]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .task_support(TaskSupport::Optional)
            .description("Asks the user to confirm, as a task, then deletes (pretends to)"),
        )
        .tool(
            Tool::new("multi_input", |ctx: RequestContext| async move {
                ctx.run_as_task().await;
                let (first, second) = tokio::join!(
                    ctx.elicit(ask("First name?", "name", "string")),
                    ctx.elicit(ask("Second name?", "name", "string")),
                );
                match (first, second) {
                    (Ok(a), Ok(b)) => CallToolResult::success(vec![Content::text(format!(
                        "{} and {}",
                        answered(&a, "name"),
                        answered(&b, "name")
                    ))]),
                    (Err(e), _) | (_, Err(e)) => failed(&e),
                }
            })
            .task_support(TaskSupport::Optional)
            .description("Asks two questions at once, as a task"),
        )
        .tool(
            Tool::new("task_with_progress", |ctx: RequestContext| async move {
                ctx.run_as_task().await;
                ctx.progress(1.0, Some(2.0), Some("half way")).await;
                tokio::time::sleep(Duration::from_millis(800)).await;
                "done"
            })
            .task_support(TaskSupport::Optional)
            .description("A task that reports progress half way, then finishes"),
        )
        .tool(
            Tool::new("test_tool_with_task", |ctx: RequestContext| async move {
                // Gathered synchronously (an MRTR round), then the work runs as a task.
                let name = match ctx
                    .with_input_key("user_name")
                    .elicit(ask("What is your name?", "name", "string"))
                    .await
                {
                    Ok(answer) => answered(&answer, "name"),
                    Err(e) => return failed(&e),
                };
                ctx.run_as_task().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                CallToolResult::success(vec![Content::text(format!("Hello, {name}!"))])
            })
            .task_support(TaskSupport::Required)
            .description("Asks a name (MRTR), then greets as a task; only for task clients"),
        )
}

/// What every panicking handler of the fixture panics with: a client must never see it.
pub const PANIC_TEXT: &str = "fixture panic: secret details";

/// Handlers of every kind that panic: when called, while running, and after sending progress.
fn faulty(builder: McpServerBuilder) -> McpServerBuilder {
    #[derive(Deserialize, JsonSchema)]
    struct NoArgs {}
    fn boom() -> String {
        panic!("{PANIC_TEXT}")
    }
    builder
        .tool(Tool::new("panic", || async { boom() }).description("Panics while it runs"))
        .tool(
            Tool::new(
                "panic_when_called",
                |_: NoArgs| -> std::future::Ready<String> { panic!("{PANIC_TEXT}") },
            )
            .description("Panics before it returns its future"),
        )
        .tool(
            Tool::new("panic_after_progress", |ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), Some("half way")).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                boom()
            })
            .description("Sends a progress notification, then panics"),
        )
        .resource(
            Resource::new("test://panic", "panic", |_ctx: RequestContext| async {
                boom()
            })
            .description("A resource whose read panics"),
        )
        .resource_template(
            ResourceTemplate::new(
                "test://panic/{id}",
                "panic-template",
                |_vars: UriVariables, _ctx: RequestContext| async { boom() },
            )
            .description("A template whose read panics")
            .complete("id", |_request: CompletionRequest, _ctx| async {
                vec![boom()]
            }),
        )
        .prompt(
            Prompt::new("panic", |_args, _ctx| async { boom() })
                .description("A prompt whose rendering panics"),
        )
}

fn tools(state: Arc<State>) -> McpServerBuilder {
    let (gate_state, release_state, slow_state, probe_state) = (
        Arc::clone(&state),
        Arc::clone(&state),
        Arc::clone(&state),
        state,
    );
    McpServer::builder("mcp-conformance-test-server", "1.0.0")
        .title("mcp-mount conformance fixture")
        .rest_view(true)
        .cors(Cors::new().allow_origins([DASHBOARD_ORIGIN]))
        .instructions("A fixture for conformance tests. Nothing here is useful to a model.")
        // The official suite's tools (conformance-suite.md §6).
        .tool(
            Tool::new("test_simple_text", || async { "This is a simple text response for testing." })
                .description("Returns a simple text response"),
        )
        .tool(
            Tool::new("test_image_content", || async { Content::image(PNG, "image/png") })
                .description("Returns a 1x1 PNG image"),
        )
        .tool(
            Tool::new("test_audio_content", || async { Content::audio(WAV, "audio/wav") })
                .description("Returns a short WAV clip"),
        )
        .tool(
            Tool::new("test_embedded_resource", || async {
                Content::embedded_text(
                    "test://embedded-resource",
                    "text/plain",
                    "This is an embedded resource content.",
                )
            })
            .description("Returns an embedded text resource"),
        )
        .tool(
            Tool::new("test_multiple_content_types", || async {
                vec![
                    Content::text("Multiple content types test:"),
                    Content::image(PNG, "image/png"),
                    Content::embedded_text(
                        "test://mixed-content-resource",
                        "application/json",
                        r#"{"test":"data","value":123}"#,
                    ),
                ]
            })
            .description("Returns text, an image and an embedded resource"),
        )
        .tool(
            Tool::new("test_tool_with_logging", |ctx: RequestContext| async move {
                for (i, message) in ["Tool execution started", "Tool processing data", "Tool execution completed"]
                    .into_iter()
                    .enumerate()
                {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    ctx.log(LoggingLevel::Info, Some("fixture"), message).await;
                }
                "Tool with logging completed"
            })
            .description("Sends three log messages while it runs"),
        )
        .tool(
            Tool::new("test_tool_with_progress", |ctx: RequestContext| async move {
                for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    ctx.progress(progress, Some(100.0), Some("working")).await;
                }
                "Tool with progress completed"
            })
            .description("Sends three progress notifications while it runs"),
        )
        .tool(
            Tool::new("test_error_handling", || async {
                Err::<String, _>("This tool intentionally returns an error for testing")
            })
            .description("Always fails with a tool execution error"),
        )
        .tool(
            Tool::dynamic(
                "json_schema_2020_12_tool",
                serde_json::json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "$defs": {
                        "address": {
                            "$anchor": "addressDef",
                            "type": "object",
                            "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                        }
                    },
                    "properties": {
                        "name": { "type": "string" },
                        "address": { "$ref": "#/$defs/address" },
                        "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                        "phone": { "type": "string" },
                        "email": { "type": "string" }
                    },
                    "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
                    "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
                    "then": { "required": ["phone"] },
                    "else": { "required": ["email"] },
                    "additionalProperties": false
                }),
                |args, _ctx| async move { serde_json::Value::Object(args).to_string() },
            )
            .description("Has a JSON Schema 2020-12 input schema with $defs, $anchor, $ref, allOf/anyOf and if/then/else"),
        )
        .tool(
            Tool::dynamic(
                "header_params",
                serde_json::json!({
                    "type": "object",
                    "properties": {
                        "region": { "type": "string", "x-mcp-header": "Region" },
                        "count": { "type": "integer", "x-mcp-header": "Count" },
                        "note": { "type": "string" }
                    },
                    "required": ["region"]
                }),
                |args, _ctx| async move { serde_json::Value::Object(args).to_string() },
            )
            .description("Mirrors two arguments in Mcp-Param-* headers (x-mcp-header)"),
        )
        // Our own tools.
        .tool(
            Tool::new("add", |args: AddArgs| async move { (args.a + args.b).to_string() })
                .description("Adds two integers")
                .title("Add")
                .annotations(ToolAnnotations {
                    read_only_hint: Some(true),
                    idempotent_hint: Some(true),
                    ..ToolAnnotations::default()
                }),
        )
        .tool(
            Tool::new("add_structured", |args: AddArgs| async move { Json(Sum { sum: args.a + args.b }) })
                .description("Adds two integers and returns structured output"),
        )
        .tool(
            Tool::new("echo", |args: EchoArgs| async move { args.text })
                .description("Returns its text argument"),
        )
        .tool(
            Tool::new("resource_link", || async {
                Content::resource_link("test://static-text", "static-text")
            })
            .description("Returns a resource link"),
        )
        .tool(
            Tool::new("whoami", |ctx: RequestContext| async move {
                let oauth = ctx.extensions().get::<mcp_mount::Principal>().map(|p| p.subject.clone());
                let host = ctx.extensions().get::<Principal>().map(|Principal(name)| name.clone());
                match oauth.or(host) {
                    Some(name) => CallToolResult::success(vec![Content::text(name)]),
                    None => CallToolResult::error("no principal in the request extensions"),
                }
            })
            .description("Returns the principal the host's middleware put in the request"),
        )
        .tool(
            Tool::new("gate", move |args: KeyArgs, ctx: RequestContext| {
                let gate = gate_state.gate(&args.key);
                async move {
                    ctx.log(LoggingLevel::Info, Some("gate"), "waiting for release").await;
                    gate.notified().await;
                    "released"
                }
            })
            .description("Sends one log message, then waits until `release` is called with the same key"),
        )
        .tool(
            Tool::new("release", move |args: KeyArgs| {
                release_state.gate(&args.key).notify_one();
                async { "ok" }
            })
            .description("Releases the `gate` call with the same key"),
        )
        .tool(
            Tool::new("slow", move |args: KeyArgs, ctx: RequestContext| {
                let state = Arc::clone(&slow_state);
                async move {
                    let mut mark = MarkOnDrop {
                        state,
                        key: args.key,
                        armed: true,
                    };
                    ctx.log(LoggingLevel::Info, Some("slow"), "started").await;
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    mark.armed = false;
                    "finished"
                }
            })
            // A task for 2026-07-28 clients that opt in: its cancellation is observable the
            // same way (the cluster tests cancel one through the other replica).
            .task_support(TaskSupport::Optional)
            .description("Sends one log message, then runs for 30 s unless cancelled"),
        )
        .tool(
            Tool::new("was_cancelled", move |args: KeyArgs| {
                let cancelled = probe_state
                    .cancelled
                    .lock()
                    .map(|c| c.contains(&args.key))
                    .unwrap_or(false);
                async move { cancelled.to_string() }
            })
            .description("Says whether the `slow` call with this key was aborted"),
        )
}

/// Text reporting what the user chose, as the reference fixture words it.
fn elicit_outcome(
    prefix: &str,
    result: Result<mcp_mount::model::ElicitResult, mcp_mount::model::ClientRequestError>,
) -> CallToolResult {
    match result {
        Ok(result) => {
            let action = serde_json::to_value(result.action).unwrap_or(Value::Null);
            let content = result.content.map_or(Value::Null, Value::Object);
            CallToolResult::success(vec![Content::text(format!(
                "{prefix}: action={}, content={content}",
                action.as_str().unwrap_or("?")
            ))])
        }
        Err(e) => CallToolResult::error(e.to_string()),
    }
}

/// Tools that send requests to the client (sampling, elicitation, roots) or close their
/// connection (SEP-1699 polling).
fn client_tools(builder: McpServerBuilder, state: Arc<State>) -> McpServerBuilder {
    builder
        .tool(
            Tool::new("test_sampling", |args: SamplingArgs, ctx: RequestContext| async move {
                let params = CreateMessageParams::new(100)
                    .message(SamplingMessage::user_text(args.prompt));
                match ctx.create_message(params).await {
                    Ok(answer) => CallToolResult::success(vec![Content::text(format!(
                        "LLM response: {}",
                        answer.text().unwrap_or("(no text)")
                    ))]),
                    Err(e) => CallToolResult::error(e.to_string()),
                }
            })
            .description("Asks the client's model to answer the prompt (sampling/createMessage)"),
        )
        .tool(
            Tool::new("sample_with_tools", |ctx: RequestContext| async move {
                let params = CreateMessageParams::new(100)
                    .message(SamplingMessage::user_text("What is the weather?"))
                    .tools(
                        vec![json!({"name": "weather", "inputSchema": {"type": "object"}})],
                        None,
                    );
                match ctx.create_message(params).await {
                    Ok(answer) => CallToolResult::success(vec![Content::text(format!(
                        "LLM response: {}",
                        answer.text().unwrap_or("(no text)")
                    ))]),
                    Err(e) => CallToolResult::error(e.to_string()),
                }
            })
            .description("Asks the client's model for a completion that may use a tool (needs sampling.tools)"),
        )
        // The official 2026-07-28 suite's diagnostic tools.
        .tool(
            Tool::new("test_missing_capability", |ctx: RequestContext| async move {
                let params = CreateMessageParams::new(10).message(SamplingMessage::user_text("Hello"));
                match ctx.create_message(params).await {
                    Ok(answer) => CallToolResult::success(vec![Content::text(
                        answer.text().unwrap_or("(no text)").to_owned(),
                    )]),
                    Err(e) => CallToolResult::error(e.to_string()),
                }
            })
            .description("Needs sampling, so a client that did not declare it gets -32021"),
        )
        .tool(
            Tool::new("test_streaming_elicitation", |ctx: RequestContext| async move {
                let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
                elicit_outcome("User response", ctx.elicit(ElicitParams::form("Your name?", schema)).await)
            })
            .description("Elicits while the request's stream is open (input_required in 2026-07-28)"),
        )
        .tool(
            Tool::new("test_logging_tool", |ctx: RequestContext| async move {
                ctx.log(LoggingLevel::Info, Some("fixture"), "a log line").await;
                "logged"
            })
            .description("Logs once at info"),
        )
        .tool(
            Tool::new("test_elicitation", |args: ElicitationArgs, ctx: RequestContext| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "Your username"},
                        "email": {"type": "string", "format": "email", "description": "Your email address"}
                    },
                    "required": ["username", "email"]
                });
                elicit_outcome("User response", ctx.elicit(ElicitParams::form(args.message, schema)).await)
            })
            .description("Asks the user for a username and an email (elicitation/create, form mode)"),
        )
        .tool(
            Tool::new("test_elicitation_sep1034_defaults", |ctx: RequestContext| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "User name", "default": "John Doe"},
                        "age": {"type": "integer", "description": "User age", "default": 30},
                        "score": {"type": "number", "description": "User score", "default": 95.5},
                        "status": {
                            "type": "string",
                            "description": "User status",
                            "enum": ["active", "inactive", "pending"],
                            "default": "active"
                        },
                        "verified": {"type": "boolean", "description": "Verification status", "default": true}
                    }
                });
                let params = ElicitParams::form("Please review and update the form fields with defaults", schema);
                elicit_outcome("Elicitation completed", ctx.elicit(params).await)
            })
            .description("Elicits a form whose fields all have defaults (SEP-1034)"),
        )
        .tool(
            Tool::new("test_elicitation_sep1330_enums", |ctx: RequestContext| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {
                        "untitledSingle": {
                            "type": "string",
                            "description": "Choose an option",
                            "enum": ["option1", "option2", "option3"]
                        },
                        "titledSingle": {
                            "type": "string",
                            "description": "Choose a titled option",
                            "oneOf": [
                                {"const": "value1", "title": "First Option"},
                                {"const": "value2", "title": "Second Option"},
                                {"const": "value3", "title": "Third Option"}
                            ]
                        },
                        "legacyEnum": {
                            "type": "string",
                            "description": "Choose a legacy option",
                            "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"]
                        },
                        "untitledMulti": {
                            "type": "array",
                            "description": "Choose multiple options",
                            "items": {"type": "string", "enum": ["option1", "option2", "option3"]}
                        },
                        "titledMulti": {
                            "type": "array",
                            "description": "Choose multiple titled options",
                            "items": {
                                "anyOf": [
                                    {"const": "value1", "title": "First Choice"},
                                    {"const": "value2", "title": "Second Choice"},
                                    {"const": "value3", "title": "Third Choice"}
                                ]
                            }
                        }
                    }
                });
                let params = ElicitParams::form("Please select options from the enum fields", schema);
                elicit_outcome("Elicitation completed", ctx.elicit(params).await)
            })
            .description("Elicits a form with every enum variant of SEP-1330"),
        )
        .tool(
            Tool::new("elicit_url", |ctx: RequestContext| async move {
                let params = ElicitParams::url(
                    "Please sign in to continue",
                    "https://example.com/sign-in?session=fixture",
                    "fixture-sign-in",
                );
                elicit_outcome("URL elicitation", ctx.elicit(params).await)
            })
            .description("Asks the user to complete a step at a URL (elicitation/create, URL mode)"),
        )
        .tool(
            Tool::new("list_roots", |ctx: RequestContext| async move {
                match ctx.list_roots().await {
                    Ok(roots) => {
                        let uris: Vec<&str> = roots.iter().map(|r| r.uri.as_str()).collect();
                        CallToolResult::success(vec![Content::text(uris.join("\n"))])
                    }
                    Err(e) => CallToolResult::error(e.to_string()),
                }
            })
            .description("Asks the client for its roots (roots/list) and lists their URIs"),
        )
        .tool(
            Tool::new("test_reconnection", |ctx: RequestContext| async move {
                ctx.close_sse_connection();
                tokio::time::sleep(Duration::from_millis(100)).await;
                "Reconnection test completed"
            })
            .description("Closes its SSE connection (keeping the stream), then answers: resume with Last-Event-ID"),
        )
        .tool(
            Tool::new("reconnect_gate", move |args: KeyArgs, ctx: RequestContext| {
                let gate = state.gate(&args.key);
                async move {
                    let closed = ctx.close_sse_connection();
                    gate.notified().await;
                    if closed { "released" } else { "released (connection kept)" }
                }
            })
            .description("Closes its SSE connection, then waits until `release` is called with the same key"),
        )
}

/// Tools that change the server while it runs.
fn runtime_tools(builder: McpServerBuilder, slot: Arc<OnceLock<McpServer>>) -> McpServerBuilder {
    let touch_slot = Arc::clone(&slot);
    let trigger_tools = Arc::clone(&slot);
    let trigger_prompts = Arc::clone(&slot);
    builder
        .tool(
            Tool::new("dynamic", move |args: DynamicArgs| {
                let server = slot.get().cloned();
                async move {
                    let Some(server) = server else {
                        return Err("the fixture is not built yet".to_owned());
                    };
                    let name = format!("dynamic_{}", args.key);
                    let uri = format!("test://dynamic/{}", args.key);
                    let changed = match (args.kind.as_str(), args.remove) {
                        ("tool", false) => {
                            let text = format!("dynamic tool {}", args.key);
                            server
                                .add_tool(
                                    Tool::new(name, move || {
                                        let text = text.clone();
                                        async move { text }
                                    })
                                    .description("A tool added at run time"),
                                )
                                .is_ok()
                        }
                        ("tool", true) => server.remove_tool(&name),
                        ("resource", false) => server
                            .add_resource(
                                Resource::new(uri, name, |_ctx: RequestContext| async {
                                    "A resource added at run time."
                                })
                                .mime_type("text/plain")
                                .description("A resource added at run time"),
                            )
                            .is_ok(),
                        ("resource", true) => server.remove_resource(&uri),
                        ("prompt", false) => server
                            .add_prompt(
                                Prompt::new(name, |_args, _ctx| async {
                                    "A prompt added at run time."
                                })
                                .description("A prompt added at run time"),
                            )
                            .is_ok(),
                        ("prompt", true) => server.remove_prompt(&name),
                        (other, _) => return Err(format!("no kind {other:?}")),
                    };
                    Ok(changed.to_string())
                }
            })
            .description("Adds or removes a tool, resource or prompt at run time"),
        )
        .tool(
            Tool::new("test_trigger_tool_change", move || {
                // Adds the marker tool, or removes it when it is there: a change either way.
                let changed = trigger_tools.get().is_some_and(|server| {
                    server.remove_tool("trigger_marker")
                        || server
                            .add_tool(
                                Tool::new("trigger_marker", || async { "marker" })
                                    .description("Toggled by test_trigger_tool_change"),
                            )
                            .is_ok()
                });
                async move { changed.to_string() }
            })
            .description("Changes the tool list (the official suite's listen-stream hook)"),
        )
        .tool(
            Tool::new("test_trigger_prompt_change", move || {
                let changed = trigger_prompts.get().is_some_and(|server| {
                    server.remove_prompt("trigger_marker")
                        || server
                            .add_prompt(
                                Prompt::new("trigger_marker", |_args, _ctx| async { "marker" })
                                    .description("Toggled by test_trigger_prompt_change"),
                            )
                            .is_ok()
                });
                async move { changed.to_string() }
            })
            .description("Changes the prompt list (the official suite's listen-stream hook)"),
        )
        .tool(
            Tool::new("touch_resource", move |args: UriArgs| {
                let reached = touch_slot
                    .get()
                    .map_or(0, |server| server.notify_resource_updated(&args.uri));
                async move { reached.to_string() }
            })
            .description(
                "Tells subscribers that a resource changed; returns how many sessions it reached",
            ),
        )
}

fn template_data(vars: &UriVariables) -> String {
    let id = vars.get("id").unwrap_or_default();
    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string()
}

fn resources(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .resource(
            Resource::new(
                "test://static-text",
                "static-text",
                |_ctx: RequestContext| async { "This is the content of the static text resource." },
            )
            .mime_type("text/plain")
            .description("A static text resource"),
        )
        .resource(
            Resource::new(
                "test://static-binary",
                "static-binary",
                |_ctx: RequestContext| async {
                    ResourceContents::blob("test://static-binary", Some("image/png"), PNG)
                },
            )
            .mime_type("image/png")
            .description("A static binary resource (a 1x1 PNG)"),
        )
        .resource(
            Resource::new(
                "test://watched-resource",
                "watched-resource",
                |_ctx: RequestContext| async {
                    "This resource is watched: subscribe to hear about changes."
                },
            )
            .mime_type("text/plain")
            .description("A resource clients can subscribe to"),
        )
        .resource_template(
            ResourceTemplate::new(
                "test://template/{id}/data",
                "template",
                |vars: UriVariables, _ctx: RequestContext| async move { template_data(&vars) },
            )
            .mime_type("application/json")
            .description("Data for any id")
            .complete("id", |request: CompletionRequest, _ctx| async move {
                ["1", "2", "3", "10", "123"]
                    .into_iter()
                    .filter(|id| id.starts_with(&request.value))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            }),
        )
}

fn prompts(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .prompt(
            Prompt::new("test_simple_prompt", |_args, _ctx| async {
                "This is a simple prompt for testing."
            })
            .description("A prompt with no arguments"),
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_arguments",
                |args: HashMap<String, String>, _ctx| async move {
                    let get = |name: &str| args.get(name).cloned().unwrap_or_default();
                    format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        get("arg1"),
                        get("arg2")
                    )
                },
            )
            .description("A prompt with two required arguments")
            .argument(PromptArgument::required("arg1").description("First test argument"))
            .argument(PromptArgument::required("arg2").description("Second test argument"))
            .complete("arg1", |request: CompletionRequest, _ctx| async move {
                let mut candidates: Vec<String> = vec!["testValue1".into(), "testValue2".into()];
                candidates.extend((0..150).map(|i| format!("value-{i:03}")));
                let values: Vec<String> = candidates
                    .into_iter()
                    .filter(|c| c.starts_with(&request.value))
                    .collect();
                Completion::from(values)
            }),
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_embedded_resource",
                |args: HashMap<String, String>, _ctx| async move {
                    let uri = args.get("resourceUri").cloned().unwrap_or_default();
                    vec![
                        PromptMessage::user(Content::embedded_text(
                            uri,
                            "text/plain",
                            "Embedded resource content for testing.",
                        )),
                        PromptMessage::user("Please process the embedded resource above."),
                    ]
                },
            )
            .description("A prompt that embeds a resource")
            .argument(
                PromptArgument::required("resourceUri").description("URI of the resource to embed"),
            ),
        )
        .prompt(
            Prompt::new("test_prompt_with_image", |_args, _ctx| async {
                vec![
                    PromptMessage::user(Content::image(PNG, "image/png")),
                    PromptMessage::user("Please analyze the image above."),
                ]
            })
            .description("A prompt with an image"),
        )
        .prompt(
            Prompt::new(
                "all_content_types",
                |args: HashMap<String, String>, _ctx| async move {
                    let style = args
                        .get("style")
                        .cloned()
                        .unwrap_or_else(|| "plain".to_owned());
                    GetPromptResult::new(vec![
                        PromptMessage::user(format!("Style: {style}")),
                        PromptMessage::user(Content::image(PNG, "image/png")),
                        PromptMessage::user(Content::audio(WAV, "audio/wav")),
                        PromptMessage::assistant(Content::resource_link(
                            "test://static-text",
                            "static-text",
                        )),
                        PromptMessage::assistant(Content::embedded_blob(
                            "test://static-binary",
                            "image/png",
                            PNG,
                        )),
                    ])
                    .description("Every content type a prompt message can carry")
                },
            )
            .description("A prompt whose messages use every content type")
            .argument(PromptArgument::new("style").description("An optional style")),
        )
}

/// An elicitation form asking for one field of `kind`.
fn ask(message: &str, field: &str, kind: &str) -> ElicitParams {
    ElicitParams::form(
        message,
        json!({"type": "object", "properties": {field: {"type": kind}}, "required": [field]}),
    )
}

/// The field of an accepted elicitation, as text.
fn answered(result: &mcp_mount::model::ElicitResult, field: &str) -> String {
    result
        .content
        .as_ref()
        .and_then(|c| c.get(field))
        .map_or_else(
            || "?".to_owned(),
            |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
        )
}

/// A sampling request for `prompt`.
fn sample(prompt: &str, max_tokens: u32) -> CreateMessageParams {
    CreateMessageParams::new(max_tokens).message(SamplingMessage::user_text(prompt))
}

fn failed(e: &mcp_mount::model::ClientRequestError) -> CallToolResult {
    CallToolResult::error(e.to_string())
}

/// The official 2026-07-28 suite's MRTR tools and prompt: plain handler code that asks the
/// client for input, which the 2026-07-28 era turns into `input_required` round trips.
fn mrtr_tools(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .tool(
            Tool::new(
                "test_input_required_result_elicitation",
                |ctx: RequestContext| async move {
                    let asked = ctx
                        .with_input_key("user_name")
                        .elicit(ask("What is your name?", "name", "string"))
                        .await;
                    match asked {
                        Ok(answer) => CallToolResult::success(vec![Content::text(format!(
                            "Hello, {}!",
                            answered(&answer, "name")
                        ))]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .description("Asks for the user's name (MRTR elicitation)"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_sampling",
                |ctx: RequestContext| async move {
                    match ctx
                        .with_input_key("capital_question")
                        .create_message(sample("What is the capital of France?", 100))
                        .await
                    {
                        Ok(answer) => CallToolResult::success(vec![Content::text(
                            answer.text().unwrap_or("(no text)").to_owned(),
                        )]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .description("Asks the client's model a question (MRTR sampling)"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_list_roots",
                |ctx: RequestContext| async move {
                    match ctx.with_input_key("client_roots").list_roots().await {
                        Ok(roots) => CallToolResult::success(vec![Content::text(format!(
                            "roots: {}",
                            roots
                                .iter()
                                .map(|r| r.uri.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .description("Asks for the client's roots (MRTR roots/list)"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_request_state",
                |ctx: RequestContext| async move {
                    match ctx
                        .with_input_key("confirm")
                        .elicit(ask("Please confirm", "ok", "boolean"))
                        .await
                    {
                        // Reaching here on a retry means the sealed requestState was verified.
                        Ok(answer) => CallToolResult::success(vec![Content::text(format!(
                            "state-ok: ok={}",
                            answered(&answer, "ok")
                        ))]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .description("Asks for a confirmation; the retry's requestState is verified"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_tampered_state",
                |ctx: RequestContext| async move {
                    match ctx
                        .with_input_key("confirm")
                        .elicit(ask("Please confirm", "ok", "boolean"))
                        .await
                    {
                        Ok(_) => CallToolResult::success(vec![Content::text("state-ok")]),
                        Err(e) => failed(&e),
                    }
                },
            )
            .description("Asks for a confirmation; a tampered requestState is refused"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_multiple_inputs",
                |ctx: RequestContext| async move {
                    let name_ctx = ctx.with_input_key("user_name");
                    let greeting_ctx = ctx.with_input_key("greeting");
                    let roots_ctx = ctx.with_input_key("client_roots");
                    let (name, greeting, roots) = tokio::join!(
                        name_ctx.elicit(ask("What is your name?", "name", "string")),
                        greeting_ctx.create_message(sample("Generate a greeting", 50)),
                        roots_ctx.list_roots(),
                    );
                    match (name, greeting, roots) {
                        (Ok(name), Ok(greeting), Ok(roots)) => {
                            CallToolResult::success(vec![Content::text(format!(
                                "{} {} ({} roots)",
                                greeting.text().unwrap_or("Hello"),
                                answered(&name, "name"),
                                roots.len()
                            ))])
                        }
                        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => failed(&e),
                    }
                },
            )
            .description("Asks for a name, a greeting and the roots at once"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_multi_round",
                |ctx: RequestContext| async move {
                    let name = match ctx
                        .with_input_key("step1")
                        .elicit(ask("Step 1: What is your name?", "name", "string"))
                        .await
                    {
                        Ok(name) => name,
                        Err(e) => return failed(&e),
                    };
                    let color = match ctx
                        .with_input_key("step2")
                        .elicit(ask(
                            "Step 2: What is your favorite color?",
                            "color",
                            "string",
                        ))
                        .await
                    {
                        Ok(color) => color,
                        Err(e) => return failed(&e),
                    };
                    CallToolResult::success(vec![Content::text(format!(
                        "{} likes {}",
                        answered(&name, "name"),
                        answered(&color, "color")
                    ))])
                },
            )
            .description("Asks two questions, one round trip each"),
        )
        .tool(
            Tool::new(
                "test_input_required_result_capabilities",
                |ctx: RequestContext| async move {
                    // Asks only for what the client declared it can give.
                    let declared = ctx.client_capabilities().cloned().unwrap_or_default();
                    let mut parts = Vec::new();
                    if declared["sampling"].is_object() {
                        match ctx
                            .with_input_key("sampling")
                            .create_message(sample("Say hi", 20))
                            .await
                        {
                            Ok(answer) => parts.push(answer.text().unwrap_or("").to_owned()),
                            Err(e) => return failed(&e),
                        }
                    }
                    if declared["elicitation"].is_object() {
                        match ctx
                            .with_input_key("elicitation")
                            .elicit(ask("Your name?", "name", "string"))
                            .await
                        {
                            Ok(answer) => parts.push(answered(&answer, "name")),
                            Err(e) => return failed(&e),
                        }
                    }
                    CallToolResult::success(vec![Content::text(parts.join(" "))])
                },
            )
            .description("Asks only for the input the client declared it can give"),
        )
        .prompt(
            Prompt::new(
                "test_input_required_result_prompt",
                |_args: HashMap<String, String>, ctx: RequestContext| async move {
                    let context = ctx
                        .with_input_key("user_context")
                        .elicit(ask(
                            "What context should the prompt use?",
                            "context",
                            "string",
                        ))
                        .await
                        .map_or_else(|e| e.to_string(), |answer| answered(&answer, "context"));
                    format!("Use this context: {context}")
                },
            )
            .description("Asks the user for context before rendering (MRTR on prompts/get)"),
        )
}
