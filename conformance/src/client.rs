//! A small HTTP/1.1 client on hyper that sends requests exactly as the cases build them: one
//! connection per request, no header added but `Host` (when the case did not set one).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// How long any single step of a case may take before the case fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type of `Content-Type`, without parameters.
    pub fn content_type(&self) -> &str {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .map_or("", str::trim)
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// When the body is not JSON: the case fails, showing the body.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}); status {}, body {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Every JSON-RPC message in the body: the one JSON object, or each SSE event's data.
    pub fn messages(&self) -> Vec<Value> {
        if self.content_type() == "text/event-stream" {
            parse_sse(&self.body)
                .into_iter()
                .filter(|e| !e.data.is_empty())
                .map(|e| {
                    serde_json::from_str(&e.data)
                        .unwrap_or_else(|err| panic!("SSE data is not JSON ({err}): {:?}", e.data))
                })
                .collect()
        } else {
            vec![self.json()]
        }
    }

    /// The JSON-RPC response in the body (the last message carrying an `id` and a result or error).
    pub fn rpc(&self) -> Value {
        self.messages()
            .into_iter()
            .rev()
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or_else(|| {
                panic!(
                    "no JSON-RPC response in the body (status {}): {:?}",
                    self.status,
                    String::from_utf8_lossy(&self.body)
                )
            })
    }

    /// The `result` of the JSON-RPC response.
    ///
    /// # Panics
    ///
    /// When the response is an error or has no result.
    pub fn result(&self) -> Value {
        let rpc = self.rpc();
        rpc.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("expected a result, got {rpc}"))
    }

    /// The `error.code` of the JSON-RPC error in the body.
    pub fn error_code(&self) -> i64 {
        let rpc = self.rpc();
        rpc.pointer("/error/code")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("expected a JSON-RPC error, got {rpc}"))
    }
}

/// One SSE event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `retry:` field.
    pub retry: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Parses complete SSE events out of `text`.
pub fn parse_sse(text: &[u8]) -> Vec<Event> {
    let text = String::from_utf8_lossy(text).replace("\r\n", "\n");
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut event = Event::default();
        let mut any = false;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if line.starts_with(':') || line.is_empty() {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            any = true;
            match field {
                "event" => event.event = Some(value.to_owned()),
                "id" => event.id = Some(value.to_owned()),
                "retry" => event.retry = Some(value.to_owned()),
                "data" => data.push(value),
                _ => {}
            }
        }
        if any {
            event.data = data.join("\n");
            events.push(event);
        }
    }
    events
}

/// A response whose body is read as it arrives.
#[derive(Debug)]
pub struct Streaming {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    body: Incoming,
    buffer: Vec<u8>,
}

impl Streaming {
    /// The next complete SSE event's data parsed as JSON (skipping events without data, such
    /// as priming events), `Ok(None)` at the end of the stream, `Err(())` when nothing arrived
    /// within `timeout`.
    pub async fn next_message(&mut self, timeout: Duration) -> Result<Option<Value>, ()> {
        loop {
            let Some(event) = self.next_event(timeout).await? else {
                return Ok(None);
            };
            if event.data.is_empty() {
                continue;
            }
            let value = serde_json::from_str(&event.data)
                .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {:?}", event.data));
            return Ok(Some(value));
        }
    }

    /// The next complete SSE event, whatever it carries; `Ok(None)` at the end of the stream,
    /// `Err(())` when nothing arrived within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>, ()> {
        loop {
            if let Some(end) = find_event_end(&self.buffer) {
                let raw: Vec<u8> = self.buffer.drain(..end).collect();
                if let Some(event) = parse_sse(&raw).into_iter().next() {
                    return Ok(Some(event));
                }
                continue;
            }
            match tokio::time::timeout(timeout, self.body.frame()).await {
                Err(_) => return Err(()),
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) => panic!("error reading the stream: {e}"),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// Reads to the end of the stream (within `timeout`).
    pub async fn rest(mut self, timeout: Duration) -> Result<Bytes, ()> {
        let collected = tokio::time::timeout(timeout, async {
            let mut out = std::mem::take(&mut self.buffer);
            while let Some(frame) = self.body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Ok(data) = frame.into_data() {
                            out.extend_from_slice(&data);
                        }
                    }
                    Err(e) => panic!("error reading the stream: {e}"),
                }
            }
            out
        })
        .await;
        collected.map(Bytes::from).map_err(|_| ())
    }
}

/// Index just past the blank line that ends the first event in `buf`.
fn find_event_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Sends `req` (whose URI is absolute) and returns the response with its body unread.
///
/// # Panics
///
/// When the server cannot be reached or does not answer within [`STEP_TIMEOUT`].
pub async fn open(req: Request<Bytes>) -> Streaming {
    let fut = async {
        let (mut parts, body) = req.into_parts();
        let uri = parts.uri.clone();
        let authority = uri
            .authority()
            .unwrap_or_else(|| panic!("request URI {uri} must be absolute"))
            .as_str()
            .to_owned();
        let stream = TcpStream::connect(&authority)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {authority}: {e}"));
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap_or_else(|e| panic!("HTTP handshake with {authority} failed: {e}"));
        tokio::spawn(conn);
        if !parts.headers.contains_key(header::HOST) {
            if let Ok(host) = authority.parse() {
                parts.headers.insert(header::HOST, host);
            }
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = path
            .parse::<Uri>()
            .unwrap_or_else(|e| panic!("bad path {path}: {e}"));
        let response = sender
            .send_request(Request::from_parts(parts, http_body_util::Full::new(body)))
            .await
            .unwrap_or_else(|e| panic!("request to {uri} failed: {e}"));
        let (parts, body) = response.into_parts();
        Streaming {
            status: parts.status,
            headers: parts.headers,
            body,
            buffer: Vec::new(),
        }
    };
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("no response headers within {STEP_TIMEOUT:?}"))
}

/// Sends `req` and reads the whole response.
///
/// # Panics
///
/// When the server cannot be reached or the response does not end within [`STEP_TIMEOUT`].
pub async fn send(req: Request<Bytes>) -> Response {
    let streaming = open(req).await;
    let status = streaming.status;
    let headers = streaming.headers.clone();
    let body = streaming.rest(STEP_TIMEOUT).await.unwrap_or_else(|()| {
        panic!("response body (status {status}) did not end within {STEP_TIMEOUT:?}")
    });
    Response {
        status,
        headers,
        body,
    }
}
