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
// `telemetry` sits below them all.
mod engine;
mod handler;
mod http;
mod protocol;
mod registry;
mod server;
mod session;
mod telemetry;

pub use protocol::jsonrpc;

pub use handler::completion::CompletionRequest;
pub use handler::context::RequestContext;
pub use handler::prompt::{IntoPromptResult, Prompt, PromptArgument};
pub use handler::resource::{IntoResourceContents, Resource, ResourceTemplate, UriVariables};
pub use handler::tool::{IntoToolResult, Json, Tool, ToolHandler, markers, validate_tool_name};
pub use http::bearer::{
    InvalidToken, Principal, ProtectedResource, TokenVerifier, VerifyFuture, well_known_path,
};
pub use http::body::McpBody;
pub use http::config::ResponseMode;
pub use http::cors::Cors;
pub use http::error::{Error, ErrorKind};
pub use http::forwarded::{InvalidProxy, PeerAddr, TrustedProxies};
pub use http::routing::mount_prefix;
pub use protocol::cache::CacheScope;
pub use protocol::client::{
    ClientRequestError, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, Root, SamplingMessage,
};
pub use protocol::jsonrpc::{
    HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, UNSUPPORTED_PROTOCOL_VERSION,
};
pub use protocol::jsonrpc::{RequestId, RpcError};
pub use protocol::model::{
    Annotations, CallToolResult, Completion, Content, EmbeddedResource, GetPromptResult,
    LoggingLevel, MediaContent, PromptMessage, ResourceContents, ResourceLink, Role, TextContent,
    ToolAnnotations,
};
pub use protocol::version::{
    LATEST_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS,
};
pub use server::{BuildError, McpServer, McpServerBuilder};
pub use session::{
    BusMessage, ChangeEvent, Cluster, EventId, EventLog, InMemoryEventLog, InMemorySessionStore,
    Inbox, KEEP_EVERY, LocalBus, LoggedEvent, MAX_SUBSCRIPTIONS, MessageBus, Replay, ReplayError,
    Session, SessionChange, SessionState, SessionStore, StoreError, TooManySubscriptions,
    Transport,
};
