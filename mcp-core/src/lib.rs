#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod body;
mod client;
mod codec;
mod completion;
mod context;
mod cors;
mod dispatch;
mod error;
mod forwarded;
pub mod jsonrpc;
mod model;
mod prompt;
mod registry;
mod resource;
mod server;
mod session;
mod sse;
mod stream;
mod tool;
mod transport;

pub use auth::{
    InvalidToken, Principal, ProtectedResource, TokenVerifier, VerifyFuture, well_known_path,
};
pub use body::McpBody;
pub use client::{
    ClientRequestError, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, Root, SamplingMessage,
};
pub use completion::CompletionRequest;
pub use context::RequestContext;
pub use cors::Cors;
pub use error::{Error, ErrorKind};
pub use forwarded::{InvalidProxy, PeerAddr, TrustedProxies};
pub use jsonrpc::{RequestId, RpcError};
pub use model::{
    Annotations, CallToolResult, Completion, Content, EmbeddedResource, GetPromptResult,
    IntoToolResult, Json, LoggingLevel, MediaContent, PromptMessage, ResourceContents,
    ResourceLink, Role, TextContent, ToolAnnotations,
};
pub use prompt::{IntoPromptResult, Prompt, PromptArgument};
pub use resource::{IntoResourceContents, Resource, ResourceTemplate, UriVariables};
pub use server::{
    BuildError, CacheScope, HEADER_MISMATCH, LATEST_PROTOCOL_VERSION,
    MISSING_REQUIRED_CLIENT_CAPABILITY, MODERN_PROTOCOL_VERSION, McpServer, McpServerBuilder,
    ResponseMode, SUPPORTED_PROTOCOL_VERSIONS, UNSUPPORTED_PROTOCOL_VERSION,
};
pub use session::{InMemorySessionStore, Session, SessionStore, StoreFull};
pub use tool::{Tool, ToolHandler, markers, validate_tool_name};
pub use transport::mount_prefix;
