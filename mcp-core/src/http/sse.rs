//! Server-Sent Events responses.

use http::{HeaderValue, Response, header};

use crate::http::body::McpBody;

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
