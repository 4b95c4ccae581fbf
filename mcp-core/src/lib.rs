#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers, each importing only from those before it (`cargo xtask` and CI check that the
// module graph has no cycle):
//   protocol  JSON-RPC, MCP model types, error codes, versions, the SSE event format
//   session   session state, its live runtime, replay, stores, change fan-out
//   handler   tools, resources, prompts, completions and the RequestContext they get
//   routes    the host app's REST routes as tools, from its OpenAPI document
//   registry  the registered entries, as snapshots replaced whole
//   engine    what each method does, for every era and transport
//   http      guards, negotiation, SSE responses, and one front end per transport
//   server    McpServer and its builder
//   tower     McpServer as a tower Service (the `tower` feature)
// `telemetry` sits below them all. `model` and `adapter` are the public faces of `protocol` and
// `http` (re-exports only); nothing inside the crate imports from them.
pub mod adapter;
pub mod cluster;
mod engine;
// Entry points for the fuzz targets in `fuzz/`: not part of the API (see the module).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod http;
pub mod model;
mod protocol;
mod registry;
pub mod routes;
mod server;
mod session;
mod telemetry;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

// What app authors write against: the server and its builder, the handler kinds and what they
// return, the request context, the settings the builder takes, and sessions. The MCP model
// types are in [`model`], what adapter authors need in [`adapter`].
pub use handler::completion::{CompletionHandler, CompletionRequest};
pub use handler::context::RequestContext;
pub use handler::prompt::{IntoPromptResult, Prompt, PromptArgument, PromptHandler};
pub use handler::resource::{
    IntoResourceContents, Resource, ResourceHandler, ResourceTemplate, TemplateHandler,
    UriVariables,
};
pub use handler::tool::{IntoToolResult, Json, TaskSupport, Tool, ToolHandler};
#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub use http::bearer::{InvalidToken, Principal, ProtectedResource, TokenVerifier, VerifyFuture};
pub use http::config::ResponseMode;
pub use http::cors::Cors;
pub use http::forwarded::{InvalidProxy, TrustedProxies};
pub use protocol::cache::CacheScope;
pub use protocol::jsonrpc::RpcError;
pub use protocol::model::{CallToolResult, Content, PromptMessage};
pub use server::{BuildError, McpServer, McpServerBuilder};
pub use session::{InMemorySessionStore, Session, SessionState, SessionStore};

/// Makes a documented async fn an MCP tool (the `macros` feature, on by default).
///
/// The function stays as it is, callable from your own code and tests; `#[tool]` adds a
/// function beside it, `<name>_tool() -> Tool`, with the same visibility. The function's name
/// is the tool's name and its doc comment the description; its arguments and result are those
/// of [`Tool::new`]: nothing, a [`RequestContext`], one `Deserialize + JsonSchema` type, or that
/// type then a `RequestContext`, returning anything [`IntoToolResult`]. The closure form,
/// `Tool::new("name", |args: A| async move { … })`, does the same without a macro.
///
/// Arguments, all optional:
///
/// | argument | sets |
/// |---|---|
/// | `name = "…"` | the tool's name (default: the function's) |
/// | `title = "…"` | the human-readable `title` |
/// | `description = "…"` | the description (default: the doc comment) |
/// | `read_only`, `destructive`, `idempotent`, `open_world` | the annotation hints (`readOnlyHint`, …); each also takes `= true` / `= false` |
/// | `crate = "…"` | the path to this crate, when it is renamed in `Cargo.toml` |
///
/// # Examples
///
/// ```
/// use mcp_mount::{Json, McpServer, RequestContext, tool};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone)]
/// struct User { name: String } // what your auth middleware inserts into the request
///
/// #[derive(Deserialize, JsonSchema)]
/// struct AddArgs {
///     /// The first addend.
///     a: i64,
///     /// The second addend.
///     b: i64,
/// }
///
/// #[derive(Serialize, JsonSchema)]
/// struct Sum { sum: i64 }
///
/// /// Adds two integers.
/// #[tool(title = "Add", read_only, idempotent)]
/// async fn add(args: AddArgs) -> Json<Sum> {
///     Json(Sum { sum: args.a + args.b })
/// }
///
/// /// Says which user the host's middleware let in.
/// #[tool(read_only)]
/// async fn whoami(ctx: RequestContext) -> String {
///     ctx.extensions().get::<User>().map_or_else(|| "anonymous".to_owned(), |u| u.name.clone())
/// }
///
/// let server = McpServer::builder("calculator", "1.0.0")
///     .tool(add_tool())
///     .tool(whoami_tool())
///     .build();
/// # let _ = server;
/// ```
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use mcp_mount_macros::tool;

// The versions the API is typed on, so that an app names the ones it needs without guessing:
// argument types derive `mcp_mount::schemars::JsonSchema` (schemars 1.x; add
// `#[schemars(crate = "mcp_mount::schemars")]` when schemars is not a dependency of its own),
// and dynamic tools take `mcp_mount::serde_json::Value`.
#[doc(no_inline)]
pub use schemars;
#[doc(no_inline)]
pub use serde_json;
