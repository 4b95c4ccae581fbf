//! The MCP model types: content blocks, results, annotations, log levels, prompt messages,
//! completions, what handlers send to the client (sampling, elicitation, roots) and its errors,
//! the JSON-RPC request id, and the protocol's constants ([`codes`] and [`versions`]).
//!
//! The few that nearly every server names ([`Content`], [`CallToolResult`], [`PromptMessage`],
//! [`RpcError`]) are also at the crate root.

pub use crate::protocol::client::{
    ClientRequestError, CreateMessageParams, CreateMessageResult, ElicitAction, ElicitParams,
    ElicitResult, Root, SamplingMessage,
};
pub use crate::protocol::jsonrpc::{RequestId, RpcError};
pub use crate::protocol::model::{
    Annotations, CallToolResult, Completion, Content, EmbeddedResource, GetPromptResult,
    LoggingLevel, MediaContent, PromptMessage, ResourceContents, ResourceLink, Role, TextContent,
    ToolAnnotations,
};

/// The JSON-RPC error codes this server sends: JSON-RPC 2.0's own, and the MCP and
/// implementation-defined ones, as used in [`RpcError::code`].
pub mod codes {
    pub use crate::protocol::jsonrpc::{
        HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND,
        MISSING_REQUIRED_CLIENT_CAPABILITY, PARSE_ERROR, RESOURCE_NOT_FOUND, SERVER_ERROR,
        SESSION_NOT_FOUND, UNSUPPORTED_PROTOCOL_VERSION,
    };
}

/// The protocol versions this server speaks, by era: the session era (an `initialize`
/// handshake; 2024-11-05 to 2025-11-25) and the stateless era (2026-07-28).
pub mod versions {
    pub use crate::protocol::version::{
        Era, ProtocolVersion, SESSION_ERA_LATEST_VERSION, SESSION_ERA_VERSIONS,
        STATELESS_ERA_VERSION,
    };
}
