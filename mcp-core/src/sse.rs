//! Server-Sent Events framing.

use bytes::Bytes;
use http::{HeaderValue, Response, header};

use crate::body::McpBody;

/// Appends one `message` event carrying `data` (a JSON text) to `out`.
///
/// JSON from serde never contains a raw newline, but each line still gets its own `data:` field
/// so that a newline could never end the event early.
pub(crate) fn push_event(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(b"event: message\n");
    for line in data.split(|b| *b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// One event as its own chunk.
pub(crate) fn event(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 24);
    push_event(&mut out, data);
    Bytes::from(out)
}

/// An SSE response around `body`, with the headers that keep proxies from buffering it.
pub(crate) fn response(body: McpBody) -> Response<McpBody> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
