//! Content negotiation: what the client accepts and sends.

use http::{HeaderMap, HeaderName, header};

use crate::http::error::{Error, ErrorKind};

/// `Mcp-Session-Id`: names the session of a session-era request.
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version`: the version a request speaks.
pub(crate) const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Last-Event-ID`: where a resumed stream picks up.
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// `Mcp-Method`: mirrors a 2026-07-28 request's method.
pub(crate) const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`: mirrors a 2026-07-28 request's tool or prompt name, or resource URI.
pub(crate) const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// A header's value as text, when it is.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a media range's parameters refuse it (`q=0`).
fn refused(params: &str) -> bool {
    params.split(';').any(|p| {
        p.trim()
            .strip_prefix("q=")
            .and_then(|q| q.trim().parse::<f32>().ok())
            .is_some_and(|q| q <= 0.0)
    })
}

/// Which of JSON and SSE the client's `Accept` covers. A missing `Accept` covers everything
/// (RFC 9110 §12.5.1). Runs on every request: no allocation.
pub(crate) fn accepts(headers: &HeaderMap) -> (bool, bool) {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return (true, true);
    }
    let (mut json, mut sse) = (false, false);
    for value in values {
        // What every SDK sends, checked before any parsing.
        if value.as_bytes() == b"application/json, text/event-stream" {
            return (true, true);
        }
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let (media, params) = range.split_once(';').unwrap_or((range, ""));
            let media = media.trim();
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            let (covers_json, covers_sse) = if is("*/*") {
                (true, true)
            } else {
                (
                    is("application/json") || is("application/*"),
                    is("text/event-stream") || is("text/*"),
                )
            };
            if (covers_json || covers_sse) && !refused(params) {
                json |= covers_json;
                sse |= covers_sse;
            }
        }
    }
    (json, sse)
}

pub(crate) fn require_json_content_type(headers: &HeaderMap) -> Result<(), Error> {
    let ok = headers.get(header::CONTENT_TYPE).is_some_and(|value| {
        // What every client sends, checked before any parsing.
        value.as_bytes() == b"application/json"
            || value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if ok {
        Ok(())
    } else {
        Err(ErrorKind::UnsupportedMediaType.into())
    }
}

/// A header map of `pairs`, for tests.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, http::HeaderValue::from_static(v));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_headers as headers;

    #[test]
    fn accept_parsing() {
        assert_eq!(
            accepts(&headers(&[(
                "accept",
                "application/json, text/event-stream"
            )])),
            (true, true)
        );
        assert_eq!(
            accepts(&headers(&[("accept", "application/json")])),
            (true, false)
        );
        assert_eq!(
            accepts(&headers(&[(
                "accept",
                "text/event-stream;q=0, application/json"
            )])),
            (true, false)
        );
        assert_eq!(accepts(&headers(&[("accept", "*/*")])), (true, true));
        assert_eq!(accepts(&HeaderMap::new()), (true, true));
    }
}
