//! The protocol layer: JSON-RPC messages, MCP's model types, error codes, versions and the SSE
//! event format. Knows nothing of handlers, sessions or HTTP.

pub(crate) mod cache;
pub(crate) mod client;
pub(crate) mod codec;
pub(crate) mod jsonrpc;
pub(crate) mod model;
pub(crate) mod serde_text;
pub(crate) mod sse;
pub(crate) mod version;
