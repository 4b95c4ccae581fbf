//! A call's arguments into the `http::Request` for the host app, and its answer into a
//! `CallToolResult`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::openapi::{Encoding, Location, Operation};
use crate::protocol::model::{CallToolResult, Content};

/// What stays unescaped in a path segment or a query component: RFC 3986's unreserved set.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A scalar argument as it goes on the wire: strings as they are, other values as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Whether `path` is `prefix` or below it.
pub(crate) fn is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        // Mounted at the root (as a fallback beside the app's routes): the endpoint itself is
        // the mount; the app's other routes reach the adapter only when nothing else matched.
        return path.is_empty() || path == "/";
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The request `args` make for `op`, with the caller's `forward`ed headers; `Err` says what to
/// change in the arguments.
pub(crate) fn request(
    op: &Operation,
    args: &Map<String, Value>,
    caller: &HeaderMap,
    forward: &[HeaderName],
) -> Result<Request<Bytes>, String> {
    if let Some(unknown) = args.keys().find(|k| !op.args.iter().any(|a| &a.name == *k)) {
        let known: Vec<&str> = op.args.iter().map(|a| a.name.as_str()).collect();
        return Err(format!(
            "tool {} has no argument {unknown:?}; its arguments are: {}",
            op.name,
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    }
    let mut path = op.path.clone();
    let mut query: Vec<String> = Vec::new();
    let mut headers = HeaderMap::new();
    let mut cookies: Vec<String> = Vec::new();
    let mut body_fields = Map::new();
    let mut whole_body = None;
    for arg in &op.args {
        let value = args.get(&arg.name).filter(|v| !v.is_null());
        match arg.location {
            Location::Path => {
                let Some(value) = value else {
                    return Err(format!(
                        "tool {} needs the argument {:?} (it is part of the path {})",
                        op.name, arg.name, op.path
                    ));
                };
                path = path.replace(&format!("{{{}}}", arg.wire), &encode(&scalar(value)));
            }
            Location::Query => match value {
                None => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        query.push(format!("{}={}", encode(&arg.wire), encode(&scalar(item))));
                    }
                }
                Some(Value::Object(fields)) => {
                    for (k, v) in fields {
                        query.push(format!("{}={}", encode(k), encode(&scalar(v))));
                    }
                }
                Some(value) => {
                    query.push(format!("{}={}", encode(&arg.wire), encode(&scalar(value))));
                }
            },
            Location::Header => {
                let Some(value) = value else { continue };
                let text = match value {
                    Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
                    other => scalar(other),
                };
                let name = HeaderName::from_bytes(arg.wire.as_bytes())
                    .map_err(|_| format!("the header name {:?} is not valid", arg.wire))?;
                let value = HeaderValue::from_str(&text).map_err(|_| {
                    format!(
                        "the argument {:?} cannot be sent as a header (no control characters or non-ASCII)",
                        arg.name
                    )
                })?;
                headers.insert(name, value);
            }
            Location::Cookie => {
                if let Some(value) = value {
                    cookies.push(format!("{}={}", arg.wire, encode(&scalar(value))));
                }
            }
            Location::Body => {
                if let Some(value) = value {
                    body_fields.insert(arg.wire.clone(), value.clone());
                }
            }
            Location::WholeBody => whole_body = value.cloned(),
        }
    }
    if !query.is_empty() {
        path.push('?');
        path.push_str(&query.join("&"));
    }
    let body = match &op.body {
        None => Bytes::new(),
        Some((content_type, encoding)) => {
            let has_fields = op.args.iter().any(|a| a.location == Location::Body);
            let payload = match (whole_body, has_fields) {
                (Some(value), _) => Some(value),
                (None, true) => Some(Value::Object(body_fields)),
                (None, false) => None,
            };
            match payload {
                None => Bytes::new(),
                Some(payload) => {
                    let content_type = HeaderValue::from_str(content_type)
                        .unwrap_or(HeaderValue::from_static("application/json"));
                    headers.insert(header::CONTENT_TYPE, content_type);
                    Bytes::from(match (encoding, payload) {
                        (Encoding::Json, payload) => payload.to_string(),
                        (Encoding::Text, payload) => scalar(&payload),
                        (Encoding::Form, Value::Object(fields)) => fields
                            .iter()
                            .map(|(k, v)| format!("{}={}", encode(k), encode(&scalar(v))))
                            .collect::<Vec<_>>()
                            .join("&"),
                        (Encoding::Form, other) => scalar(&other),
                    })
                }
            }
        }
    };
    if !cookies.is_empty() {
        let cookie = HeaderValue::from_str(&cookies.join("; "))
            .map_err(|_| "a cookie argument cannot be sent as a header".to_owned())?;
        headers.insert(header::COOKIE, cookie);
    }
    // The caller's own headers last: an argument never overrides a forwarded credential.
    for name in forward {
        let values: Vec<&HeaderValue> = caller.get_all(name).iter().collect();
        if !values.is_empty() {
            headers.remove(name);
            for value in values {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    if let Some(host) = caller.get(header::HOST) {
        headers.insert(header::HOST, host.clone());
    }
    let mut request = Request::new(body);
    *request.method_mut() = op.method.clone();
    *request.uri_mut() = path
        .parse()
        .map_err(|_| format!("the arguments make an invalid URI: {path}"))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The answer as a tool result: 2xx is success (a JSON object also as `structuredContent`),
/// anything else a tool execution error carrying the status and the body.
pub(crate) fn result(response: Response<Bytes>, path: &str) -> CallToolResult {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        let mut message = format!("HTTP {status}");
        if !body.is_empty() {
            message.push_str(": ");
            message.push_str(&text);
        }
        return CallToolResult::error(message);
    }
    if body.is_empty() {
        return CallToolResult::success(vec![Content::text(format!("HTTP {status}"))]);
    }
    let is_json = mime == "application/json" || mime.ends_with("+json");
    if is_json {
        if let Ok(value) = serde_json::from_slice::<Value>(&body) {
            let text = value.to_string();
            return CallToolResult {
                content: vec![Content::text(text)],
                structured_content: value.is_object().then_some(value),
                ..CallToolResult::default()
            };
        }
    }
    if mime.starts_with("image/") {
        return CallToolResult::success(vec![Content::image(STANDARD.encode(&body), mime)]);
    }
    if mime.starts_with("audio/") {
        return CallToolResult::success(vec![Content::audio(STANDARD.encode(&body), mime)]);
    }
    let textual = is_json
        || mime.is_empty()
        || mime.starts_with("text/")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/xml"
                | "application/javascript"
                | "application/yaml"
                | "application/x-yaml"
                | "application/x-www-form-urlencoded"
        );
    match std::str::from_utf8(&body) {
        Ok(text) if textual => CallToolResult::success(vec![Content::text(text)]),
        _ => CallToolResult::success(vec![Content::embedded_blob(
            path,
            if mime.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                mime
            },
            STANDARD.encode(&body),
        )]),
    }
}
