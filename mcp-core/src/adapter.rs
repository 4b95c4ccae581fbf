//! What an adapter (the glue to one web framework) needs beside [`McpServer`](crate::McpServer):
//! the response body to stream back, the error to answer with when the body cannot be read,
//! the peer address to pass in, and the paths to mount at.
//!
//! An adapter buffers the request body up to [`McpServer::max_body`](crate::McpServer::max_body)
//! (answering [`Error::payload_too_large`] past it), hands the request to
//! [`McpServer::handle`](crate::McpServer::handle) with the prefix from [`mount_prefix`], and
//! sends the [`McpBody`] back, streaming it as it comes.

#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub use crate::http::bearer::well_known_path;
pub use crate::http::body::McpBody;
pub use crate::http::error::{Error, ErrorKind};
pub use crate::http::forwarded::PeerAddr;
pub use crate::http::routing::mount_prefix;
