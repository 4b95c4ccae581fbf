//! The servers `handle` is fuzzed on, built once per process, and the driver that sends one
//! [`Input`] to one of them and reads the answer within a time budget.
//!
//! Everything runs on one current-thread tokio runtime whose clock is paused: a wait (a stream
//! that stays open, a handler waiting for the client's answer, a keep-alive) ends as soon as
//! nothing else can run, by the clock jumping ahead, so no input costs real time and a streaming
//! answer cannot hang the fuzzer.
//!
//! Beside "no panic", every answer is checked for what a client relies on: a complete
//! `application/json` body is JSON, and so is the data of every complete `message` event of
//! an SSE stream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, header};
use http_body_util::BodyExt as _;
use mcp_mount::adapter::{McpBody, PeerAddr, well_known_path};
use mcp_mount::model::{
    CreateMessageParams, ElicitParams, LoggingLevel, ResourceContents, SamplingMessage,
};
use mcp_mount::{
    CacheScope, CallToolResult, CompletionRequest, Content, Cors, InvalidToken, Json, McpServer,
    McpServerBuilder, Principal, Prompt, PromptArgument, ProtectedResource, RequestContext,
    Resource, ResourceTemplate, ResponseMode, TokenVerifier, Tool, TrustedProxies, UriVariables,
    VerifyFuture,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::input::{HEADERS, Input, METHODS, PATHS, Path, PathKind, Peer, Value};

/// The mount prefix of every server.
pub const PREFIX: &str = "/api/v1/mcp";

/// The servers, by the index an input's first byte picks (modulo):
pub const SERVERS: &[&str] = &[
    // 0: the session era: sessions, SSE answers when a handler streams, CORS for one origin,
    //    the REST view, the HTTP+SSE transport (a live session of it), a trusted proxy.
    "session",
    // 1: `stateless(true)`: no sessions, JSON answers only, two items a page, small bodies.
    "stateless",
    // 2: the 2026-07-28 era's deployment (the same endpoint, chosen per request by `_meta` /
    //    `server/discover`): fixed request-state keys, a cache policy, SSE answers, served
    //    as https://mcp.example.com behind a trusted proxy.
    "modern",
    // 3: an OAuth protected resource with sessions bound to the token's subject.
    "oauth",
];

/// The bearer token the OAuth server accepts with every scope, and the one lacking them.
pub const TOKEN: &str = "alice-token";
/// A token the OAuth server knows but that lacks the scope it requires.
pub const READER_TOKEN: &str = "reader-token";

/// The request-state key of the modern server (fixed, so runs repeat).
pub const STATE_KEY: [u8; 32] = [7; 32];

/// How long (on the paused clock) one input may take, answer body included.
const BUDGET: Duration = Duration::from_secs(30);
/// A streaming answer is dropped after this many frames or bytes.
const MAX_FRAMES: usize = 16;
const MAX_BYTES: usize = 256 * 1024;

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

#[derive(Deserialize, JsonSchema)]
struct ElicitationArgs {
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct SamplingArgs {
    prompt: String,
}

/// The tokens of the OAuth server.
#[derive(Debug)]
struct Tokens;

impl TokenVerifier for Tokens {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(async move {
            match token {
                TOKEN => Ok(Principal::new("alice", ["mcp:tools"])),
                "bob-token" => Ok(Principal::new("bob", ["mcp:tools"])),
                READER_TOKEN => Ok(Principal::new("reader", ["mcp:read"])),
                _ => Err(InvalidToken("the token is not known".into())),
            }
        })
    }
}

/// The tools, resources and prompts every server has: names the conformance fixture uses, so
/// the seeds reach them.
fn features(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .instructions("A server for fuzzing.")
        .tool(Tool::new("test_simple_text", || async { "simple text" }))
        .tool(Tool::new("test_image_content", || async {
            Content::image(PNG, "image/png")
        }))
        .tool(Tool::new("echo", |args: EchoArgs| async move { args.text }))
        .tool(Tool::new("add", |args: AddArgs| async move {
            args.a.wrapping_add(args.b).to_string()
        }))
        .tool(Tool::new("add_structured", |args: AddArgs| async move {
            Json(Sum {
                sum: args.a.wrapping_add(args.b),
            })
        }))
        .tool(Tool::new(
            "test_tool_with_progress",
            |ctx: RequestContext| async move {
                for progress in [0.0, 50.0, 100.0] {
                    ctx.progress(progress, Some(100.0), Some("working")).await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                "progress done"
            },
        ))
        .tool(Tool::new(
            "test_tool_with_logging",
            |ctx: RequestContext| async move {
                ctx.log(LoggingLevel::Info, Some("fuzz"), "one").await;
                ctx.log(LoggingLevel::Error, Some("fuzz"), "two").await;
                "logged"
            },
        ))
        .tool(Tool::new(
            "test_elicitation",
            |args: ElicitationArgs, ctx: RequestContext| async move {
                let schema = json!({
                    "type": "object",
                    "properties": {"username": {"type": "string"}},
                    "required": ["username"]
                });
                match ctx.elicit(ElicitParams::form(args.message, schema)).await {
                    Ok(result) => CallToolResult::success(vec![Content::text(format!(
                        "{:?}",
                        result.content
                    ))]),
                    Err(e) => CallToolResult::error(e.to_string()),
                }
            },
        ))
        .tool(Tool::new(
            "test_sampling",
            |args: SamplingArgs, ctx: RequestContext| async move {
                let params =
                    CreateMessageParams::new(100).message(SamplingMessage::user_text(args.prompt));
                match ctx.create_message(params).await {
                    Ok(answer) => answer.text().unwrap_or("(no text)").to_owned(),
                    Err(e) => e.to_string(),
                }
            },
        ))
        .tool(Tool::new("roots", |ctx: RequestContext| async move {
            match ctx.list_roots().await {
                Ok(roots) => roots.len().to_string(),
                Err(e) => e.to_string(),
            }
        }))
        .tool(Tool::dynamic(
            "header_params",
            json!({
                "type": "object",
                "properties": {
                    "region": {"type": "string", "x-mcp-header": "Region"},
                    "count": {"type": "integer", "x-mcp-header": "Count"}
                },
                "required": ["region"]
            }),
            |args, _ctx| async move { serde_json::Value::Object(args).to_string() },
        ))
        .tool(Tool::new("test_error_handling", || async {
            Err::<String, _>("fails")
        }))
        .resource(Resource::new(
            "test://static-text",
            "static-text",
            |_ctx: RequestContext| async { "static text" },
        ))
        .resource(Resource::new(
            "test://static-binary",
            "static-binary",
            |_ctx: RequestContext| async {
                ResourceContents::blob("test://static-binary", Some("image/png"), PNG)
            },
        ))
        .resource_template(
            ResourceTemplate::new(
                "test://template/{id}/data",
                "template",
                |vars: UriVariables, _ctx: RequestContext| async move {
                    format!("data for {:?}", vars.get("id"))
                },
            )
            .complete("id", |request: CompletionRequest, _ctx| async move {
                ["1", "2", "10", "123"]
                    .into_iter()
                    .filter(|id| id.starts_with(&request.value))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            }),
        )
        .prompt(Prompt::new("test_simple_prompt", |_args, _ctx| async {
            "a simple prompt"
        }))
        .prompt(
            Prompt::new(
                "test_prompt_with_arguments",
                |args: HashMap<String, String>, _ctx| async move { format!("{args:?}") },
            )
            .argument(PromptArgument::required("arg1"))
            .argument(PromptArgument::required("arg2"))
            .complete("arg1", |request: CompletionRequest, _ctx| async move {
                ["testValue1", "testValue2"]
                    .into_iter()
                    .filter(|v| v.starts_with(&request.value))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            }),
        )
        .prompt(Prompt::new(
            "test_input_required_prompt",
            |_args: HashMap<String, String>, ctx: RequestContext| async move {
                let schema =
                    json!({"type": "object", "properties": {"context": {"type": "string"}}});
                ctx.with_input_key("user_context")
                    .elicit(ElicitParams::form("Context?", schema))
                    .await
                    .map_or_else(|e| e.to_string(), |a| format!("{:?}", a.content))
            },
        ))
}

fn proxies() -> TrustedProxies {
    TrustedProxies::new(["127.0.0.1", "::1"]).unwrap_or_default()
}

fn build(kind: usize) -> McpServer {
    let builder = features(McpServer::builder("mcp-mount-fuzz", "1.0.0"))
        .max_sessions(4096)
        .client_request_timeout(Duration::from_secs(5))
        .sse_replay_buffer(8, 16 * 1024);
    let builder = match kind {
        0 => builder
            .rest_view(true)
            .cors(Cors::new().allow_origins(["https://dashboard.example.com"]))
            .trusted_proxies(proxies()),
        1 => builder
            .stateless(true)
            .rest_view(true)
            .response_mode(ResponseMode::Json)
            .page_size(2)
            .max_body(16 * 1024),
        2 => builder
            .request_state_keys([STATE_KEY])
            .cache_policy(Duration::from_secs(60), CacheScope::Public)
            .response_mode(ResponseMode::Sse)
            .trusted_proxies(proxies())
            .allowed_hosts(["localhost", "127.0.0.1", "[::1]", "mcp.example.com"])
            .allowed_origins(["https://mcp.example.com"]),
        _ => builder
            .oauth(
                ProtectedResource::new(["https://auth.example.com"]).required_scopes(["mcp:tools"]),
                Tokens,
            )
            .bind_sessions(|parts| {
                parts
                    .extensions
                    .get::<Principal>()
                    .map(|p| p.subject.clone())
            })
            .trusted_proxies(proxies())
            .allowed_hosts(["localhost", "127.0.0.1", "[::1]", "api.example.com"]),
    };
    builder.build()
}

/// One server and what the driver keeps for it.
struct Mounted {
    kind: usize,
    server: McpServer,
    /// Its live sessions: 2025-11-25 and 2025-03-26 (none on the stateless server).
    sessions: [String; 2],
    /// Its live HTTP+SSE session: the stream (drained after every input) and its id.
    legacy: Option<(McpBody, String)>,
}

/// A request the way a client sends it, to `server`'s endpoint.
fn client_request(
    mounted: &Mounted,
    method: http::Method,
    suffix: &str,
    session: Option<(&str, &str)>,
    body: &str,
) -> Request<Bytes> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("{PREFIX}{suffix}"))
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream");
    if mounted.kind == 3 {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    if let Some((id, version)) = session {
        builder = builder
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", version);
    }
    let mut request = builder
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("harness request: {e}"));
    request
        .extensions_mut()
        .insert(PeerAddr(SocketAddr::from(([127, 0, 0, 1], 40000))));
    request
}

/// What the driver read of an answer.
struct Read {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
    /// Whether the body ended (rather than the budget or the frame cap ending the read).
    complete: bool,
}

/// Reads an answer's body: all of it, or until [`MAX_FRAMES`] / [`MAX_BYTES`] or the rest of
/// the time budget.
async fn read(response: Response<McpBody>) -> Read {
    let (parts, mut body) = response.into_parts();
    let mut out = Vec::new();
    let mut frames = 0;
    let complete = tokio::time::timeout(BUDGET, async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame;
            if let Some(data) = frame.data_ref() {
                out.extend_from_slice(data);
            }
            frames += 1;
            if frames >= MAX_FRAMES || out.len() >= MAX_BYTES {
                return false;
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    Read {
        status: parts.status,
        headers: parts.headers,
        body: out,
        complete,
    }
}

/// The checks every answer passes.
fn check(read: &Read) {
    let content_type = read
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json")
        && read.complete
        && !read.body.is_empty()
        && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&read.body)
    {
        panic!(
            "{} answered invalid JSON ({e}): {:?}",
            read.status,
            String::from_utf8_lossy(&read.body)
        );
    }
    if content_type.starts_with("text/event-stream") {
        check_events(&read.body);
    }
}

/// Every complete `message` event (or event without a type) carries JSON data, or none.
fn check_events(stream: &[u8]) {
    let text = String::from_utf8_lossy(stream);
    let mut events: Vec<&str> = text.split("\n\n").collect();
    // The last piece is an event cut off by the read, or empty.
    events.pop();
    for event in events {
        let mut kind = "message";
        let mut data = Vec::new();
        for line in event.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                kind = value.trim();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        let data = data.join("\n");
        if kind == "message"
            && !data.is_empty()
            && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&data)
        {
            panic!("an SSE message event carries invalid JSON ({e}): {event:?}");
        }
    }
}

/// Builds the request an input describes; `None` when its URI does not parse.
fn request(mounted: &Mounted, input: &Input) -> Option<(Request<Bytes>, bool)> {
    let mut well_known = false;
    let uri = match &input.path {
        Path::Table(i) => match PATHS[*i] {
            PathKind::Suffix(suffix) => format!("{PREFIX}{suffix}"),
            PathKind::LegacyMessages => {
                let id = mounted.legacy.as_ref().map_or("unknown", |(_, id)| id);
                format!("{PREFIX}/messages?sessionId={id}")
            }
            PathKind::WellKnown => {
                well_known = true;
                well_known_path(PREFIX)
            }
        },
        Path::Custom(bytes) => format!("{PREFIX}{}", String::from_utf8_lossy(bytes)),
    };
    let uri: http::Uri = uri.parse().ok()?;
    let method = METHODS[usize::from(input.method) % METHODS.len()].clone();
    let mut request = Request::new(Bytes::from(input.body.clone()));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    for (name, value) in &input.headers {
        let name = HeaderName::from_static(HEADERS[*name]);
        let value = match value {
            Value::Literal(bytes) => HeaderValue::from_bytes(bytes),
            Value::Session(i) => HeaderValue::from_str(&mounted.sessions[usize::from(*i) % 2]),
        };
        if let Ok(value) = value {
            request.headers_mut().append(name, value);
        }
    }
    let peer = match input.peer {
        Peer::Trusted => Some(SocketAddr::from(([127, 0, 0, 1], 40000))),
        Peer::Untrusted => Some(SocketAddr::from(([203, 0, 113, 9], 40000))),
        Peer::Unknown => None,
    };
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    Some((request, well_known))
}

/// Whether `MCP_FUZZ_TRACE` is set: then every input's answer is printed (for looking at what
/// a corpus reaches).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("MCP_FUZZ_TRACE").is_some())
}

/// Whether `MCP_FUZZ_STATS` is set: then what the harness holds is printed every 5000 inputs.
fn stats() -> bool {
    static STATS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STATS.get_or_init(|| std::env::var_os("MCP_FUZZ_STATS").is_some())
}

/// The servers and the runtime that drives them.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    servers: Vec<Mounted>,
    runs: u64,
}

impl Harness {
    /// Builds every server and its live sessions.
    ///
    /// # Panics
    ///
    /// When the runtime cannot be built or a server refuses its start-up session: the
    /// harness is broken then, not the server.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let mut servers: Vec<Mounted> = (0..SERVERS.len())
            .map(|kind| Mounted {
                kind,
                server: build(kind),
                sessions: [String::new(), String::new()],
                legacy: None,
            })
            .collect();
        runtime.block_on(async {
            for mounted in &mut servers {
                revive(mounted).await;
            }
        });
        Self {
            runtime,
            servers,
            runs: 0,
        }
    }

    /// What the harness holds now: live tasks and each server's sessions (for finding what
    /// piles up across inputs).
    pub fn stats(&self) -> String {
        let sessions: Vec<String> = self
            .servers
            .iter()
            .map(|m| {
                let count = self
                    .runtime
                    .block_on(m.server.sessions().count())
                    .unwrap_or(0);
                format!("{}={count}", SERVERS[m.kind])
            })
            .collect();
        format!(
            "tasks={} sessions: {}",
            self.runtime.metrics().num_alive_tasks(),
            sessions.join(" ")
        )
    }

    /// Sends one input to its server and checks the answer.
    pub fn run(&mut self, input: &Input) {
        self.runs += 1;
        if self.runs.is_multiple_of(5000) && stats() {
            eprintln!("harness after {} inputs: {}", self.runs, self.stats());
        }
        let Self {
            runtime, servers, ..
        } = self;
        let mounted = &mut servers[usize::from(input.server) % SERVERS.len()];
        let Some((request, well_known)) = request(mounted, input) else {
            return;
        };
        runtime.block_on(async {
            let response = if well_known {
                mounted.server.well_known(request, PREFIX).await
            } else {
                mounted.server.handle(request, PREFIX).await
            };
            let read = read(response).await;
            if trace() {
                eprintln!(
                    "{} {} {}: {} {:?}",
                    SERVERS[mounted.kind],
                    METHODS[usize::from(input.method) % METHODS.len()],
                    match &input.path {
                        Path::Table(i) => format!("{:?}", PATHS[*i]),
                        Path::Custom(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    },
                    read.status,
                    String::from_utf8_lossy(&read.body[..read.body.len().min(300)])
                );
            }
            check(&read);
            // A session the input made is ended, so sessions do not pile up to the cap.
            let made = read
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .filter(|id| !mounted.sessions.iter().any(|s| s == id));
            if let Some(id) = made {
                let delete = client_request(
                    mounted,
                    http::Method::DELETE,
                    "",
                    Some((id, "2025-11-25")),
                    "",
                );
                let _ = read_all(mounted.server.handle(delete, PREFIX).await).await;
            }
            revive(mounted).await;
        });
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

async fn read_all(response: Response<McpBody>) -> Read {
    let read = read(response).await;
    check(&read);
    read
}

/// Makes again the live sessions an input ended, and drains the HTTP+SSE stream.
async fn revive(mounted: &mut Mounted) {
    if mounted.kind == 1 {
        return;
    }
    for (i, version) in ["2025-11-25", "2025-03-26"].into_iter().enumerate() {
        let live = !mounted.sessions[i].is_empty()
            && matches!(
                mounted.server.sessions().load(&mounted.sessions[i]).await,
                Ok(Some(_))
            );
        if live {
            continue;
        }
        let init = json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": {"sampling": {}, "elicitation": {}, "roots": {}},
                "clientInfo": {"name": "fuzz", "version": "1"}
            }
        });
        let response = mounted
            .server
            .handle(
                client_request(mounted, http::Method::POST, "", None, &init.to_string()),
                PREFIX,
            )
            .await;
        let read = read_all(response).await;
        let Some(id) = read
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        else {
            panic!(
                "server {} refused the start-up session: {} {:?}",
                SERVERS[mounted.kind],
                read.status,
                String::from_utf8_lossy(&read.body)
            );
        };
        let id = id.to_owned();
        let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let _ = read_all(
            mounted
                .server
                .handle(
                    client_request(
                        mounted,
                        http::Method::POST,
                        "",
                        Some((&id, version)),
                        initialized,
                    ),
                    PREFIX,
                )
                .await,
        )
        .await;
        mounted.sessions[i] = id;
    }
    if mounted.kind != 0 {
        return;
    }
    // Drain the HTTP+SSE stream; open it again when it ended.
    if let Some((body, _)) = &mut mounted.legacy {
        loop {
            match tokio::time::timeout(Duration::ZERO, body.frame()).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    mounted.legacy = None;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    if mounted.legacy.is_none() {
        let mut open = client_request(mounted, http::Method::GET, "/sse", None, "");
        open.headers_mut().insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-stream"),
        );
        let response = mounted.server.handle(open, PREFIX).await;
        let mut body = response.into_body();
        let endpoint = match tokio::time::timeout(BUDGET, body.frame()).await {
            Ok(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
            _ => Bytes::new(),
        };
        let endpoint = String::from_utf8_lossy(&endpoint);
        let Some(id) = endpoint
            .split("sessionId=")
            .nth(1)
            .map(|rest| rest.trim().to_owned())
        else {
            panic!("the HTTP+SSE stream opened without an endpoint event: {endpoint:?}");
        };
        let init = json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2024-11-05",
                "capabilities": {"sampling": {}},
                "clientInfo": {"name": "fuzz", "version": "1"}
            }
        });
        let _ = read_all(
            mounted
                .server
                .handle(
                    client_request(
                        mounted,
                        http::Method::POST,
                        &format!("/messages?sessionId={id}"),
                        None,
                        &init.to_string(),
                    ),
                    PREFIX,
                )
                .await,
        )
        .await;
        mounted.legacy = Some((body, id));
    }
}
