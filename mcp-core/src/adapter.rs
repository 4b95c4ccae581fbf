//! What an adapter (the glue to one web framework) needs beside [`McpServer`](crate::McpServer):
//! the response body to stream back, the error to answer with when the body cannot be read,
//! the peer address to pass in, and the paths to mount at.
//!
//! An adapter reads the request body with [`read_body`] or [`read_body_stream`] up to
//! [`McpServer::max_body`](crate::McpServer::max_body) (answering the error they give, a 413
//! past the limit once the rest of the body has been drained, so that the client reads it),
//! hands the request to
//! [`McpServer::handle`](crate::McpServer::handle) with the prefix from [`mount_prefix`], and
//! sends the [`McpBody`] back, streaming it as it comes.

#[cfg(feature = "oauth")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth")))]
pub use crate::http::bearer::well_known_path;
pub use crate::http::body::McpBody;
pub use crate::http::error::{Error, ErrorKind};
pub use crate::http::forwarded::PeerAddr;
pub use crate::http::inbound::{DRAIN_BYTES, DRAIN_TIME, read_body, read_body_stream};
pub use crate::http::routing::{mount_path, mount_prefix};
