#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers, each importing only from those before it (`cargo xtask` and CI check that the
// module graph has no cycle):
//   protocol  JSON-RPC, MCP model types, error codes, versions, the SSE event format
//   session   session state, its live runtime, replay, stores, change fan-out
//   handler   tools, resources, prompts, completions and the RequestContext they get
//   registry  the registered entries, as snapshots replaced whole
//   engine    what each method does, for every era and transport
//   http      guards, negotiation, SSE responses, and one front end per transport
//   server    McpServer and its builder
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
mod server;
mod session;
mod telemetry;

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
pub use handler::tool::{IntoToolResult, Json, Tool, ToolHandler};
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

// The versions the API is typed on, so that an app names the ones it needs without guessing:
// argument types derive `mcp_mount::schemars::JsonSchema` (schemars 1.x; add
// `#[schemars(crate = "mcp_mount::schemars")]` when schemars is not a dependency of its own),
// and dynamic tools take `mcp_mount::serde_json::Value`.
#[doc(no_inline)]
pub use schemars;
#[doc(no_inline)]
pub use serde_json;
