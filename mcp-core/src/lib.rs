#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod body;
mod context;
mod cors;
mod error;
mod forwarded;
pub mod jsonrpc;
mod model;
mod server;
mod session;
mod sse;
mod tool;
mod transport;

pub use auth::{
    InvalidToken, Principal, ProtectedResource, TokenVerifier, VerifyFuture, well_known_path,
};
pub use body::McpBody;
pub use context::RequestContext;
pub use cors::Cors;
pub use error::{Error, ErrorKind};
pub use forwarded::{InvalidProxy, PeerAddr, TrustedProxies};
pub use jsonrpc::{RequestId, RpcError};
pub use model::{
    Annotations, CallToolResult, Content, EmbeddedResource, IntoToolResult, Json, LoggingLevel,
    MediaContent, ResourceContents, ResourceLink, Role, TextContent, ToolAnnotations,
};
pub use server::{
    BuildError, LATEST_PROTOCOL_VERSION, McpServer, McpServerBuilder, ResponseMode,
    SUPPORTED_PROTOCOL_VERSIONS,
};
pub use session::{InMemorySessionStore, Session, SessionStore, StoreFull};
pub use tool::{Tool, ToolHandler, markers, validate_tool_name};
pub use transport::mount_prefix;
