//! The conformance fixture: the tools the official MCP conformance suite calls, plus tools of
//! our own that let wire-level cases observe streaming, cancellation and the request context.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_mount::{
    CallToolResult, Content, Cors, InvalidToken, Json, LoggingLevel, McpServer, McpServerBuilder,
    ProtectedResource, RequestContext, ResponseMode, TokenVerifier, Tool, ToolAnnotations,
    TrustedProxies, VerifyFuture,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
    "expiring",
    "proxied",
    "oauth",
];

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
    base().build()
}

/// A variant of the fixture with one configuration changed; see [`VARIANTS`].
///
/// # Panics
///
/// For a name not in [`VARIANTS`].
pub fn variant(name: &str) -> McpServer {
    match name {
        "stateless" => base().stateless(true).build(),
        "limited" => base()
            .rest_view(false)
            .max_body(16 * 1024)
            .response_mode(ResponseMode::Json)
            .page_size(2)
            .build(),
        "capped" => base()
            .max_sessions(2)
            .response_mode(ResponseMode::Sse)
            .build(),
        "expiring" => base().session_ttl(Duration::from_millis(800)).build(),
        // Behind a proxy on loopback that serves it as https://mcp.example.com.
        "proxied" => base()
            .trusted_proxies(TrustedProxies::new(["127.0.0.1", "::1"]).unwrap_or_default())
            .allowed_hosts(["mcp.example.com"])
            .allowed_origins(["https://mcp.example.com"])
            .build(),
        // An OAuth protected resource whose sessions are bound to the token's subject.
        "oauth" => base()
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
            .build(),
        other => panic!("no fixture variant {other:?}"),
    }
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

fn base() -> McpServerBuilder {
    let state = Arc::new(State::default());
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
                            "type": "object",
                            "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                        }
                    },
                    "properties": {
                        "name": { "type": "string" },
                        "address": { "$ref": "#/$defs/address" }
                    },
                    "additionalProperties": false
                }),
                |args, _ctx| async move { serde_json::Value::Object(args).to_string() },
            )
            .description("Has a JSON Schema 2020-12 input schema with $defs and $ref"),
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
