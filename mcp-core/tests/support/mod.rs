//! What several of the core's integration tests share.

use bytes::Bytes;

/// A request to a server mounted at `/mcp` on `host`, speaking 2025-11-25 in `session` when
/// there is one, with the headers every client sends.
pub(crate) fn request(
    method: http::Method,
    host: &str,
    session: Option<&str>,
    body: &str,
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("/mcp")
        .header("host", host)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        builder = builder
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    builder
        .body(Bytes::from(body.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"))
}
