//! The HTTP+SSE transport of protocol version 2024-11-05, for old clients.
//!
//! `GET {prefix}/sse` opens a session whose stream first sends an `endpoint` event naming
//! `{prefix}/messages?sessionId=…` — the full external path, mount prefix included, so old
//! clients work under any prefix. Every message the client POSTs there is answered `202` at once;
//! its JSON-RPC answer, and everything the server sends, goes out as a `message` event on the
//! session's stream. Sessions end when the stream's client goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use tokio::sync::mpsc;

use super::{InitializeParams, Inner, Reply, Running, parse_params, supported_version};
use crate::body::McpBody;
use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{self, Envelope, Message};
use crate::session::Session;
use crate::{LATEST_PROTOCOL_VERSION, sse, transport};

/// How many events may wait for a slow legacy client before the server waits too.
const STREAM_CAPACITY: usize = 64;

/// The live legacy sessions.
#[derive(Default)]
pub(super) struct LegacySessions {
    sessions: Mutex<HashMap<Arc<str>, Arc<LegacySession>>>,
}

struct LegacySession {
    stream: mpsc::Sender<Bytes>,
    /// Set by `initialize`, which arrives as the first message.
    session: OnceLock<Arc<Session>>,
}

impl LegacySessions {
    fn get(&self, id: &str) -> Option<Arc<LegacySession>> {
        let mut sessions = self.sessions.lock().ok()?;
        let session = sessions.get(id).cloned()?;
        if session.stream.is_closed() {
            // Its client went away: the session ended with its stream.
            sessions.remove(id);
            if let Some(inner) = session.session.get() {
                inner.close();
            }
            return None;
        }
        Some(session)
    }

    fn insert(&self, id: Arc<str>, session: LegacySession, cap: usize) -> Result<(), Error> {
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| Error::from(ErrorKind::TooManySessions))?;
        if sessions.len() >= cap {
            sessions.retain(|_, s| !s.stream.is_closed());
        }
        if sessions.len() >= cap {
            return Err(ErrorKind::TooManySessions.into());
        }
        sessions.insert(id, Arc::new(session));
        Ok(())
    }
}

fn endpoint_event(path: &str) -> Bytes {
    Bytes::from(format!("event: endpoint\ndata: {path}\n\n"))
}

impl Inner {
    /// `GET {prefix}/sse`: opens a legacy session and its stream.
    pub(super) fn legacy_open(
        &self,
        headers: &HeaderMap,
        prefix: &str,
    ) -> Result<Response<McpBody>, Error> {
        if !transport::accepts(headers).1 {
            return Err(Error::new(
                ErrorKind::NotAcceptable,
                "Not Acceptable: Client must accept text/event-stream",
            ));
        }
        let id = crate::session::new_session_id().map_err(|e| {
            Error::new(
                ErrorKind::TooManySessions,
                format!("Service Unavailable: {e}"),
            )
        })?;
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let endpoint = format!("{}/messages?sessionId={id}", prefix.trim_end_matches('/'));
        // A fresh channel has room: the endpoint event is always first.
        let _ = tx.try_send(endpoint_event(&endpoint));
        self.legacy.insert(
            id,
            LegacySession {
                stream: tx,
                session: OnceLock::new(),
            },
            self.config.max_sessions,
        )?;
        let mut response = sse::response(McpBody::stream(rx));
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-cache, no-transform"),
        );
        Ok(response)
    }

    /// `POST {prefix}/messages?sessionId=…`: accepts one message; its answer goes to the stream.
    pub(super) async fn legacy_message(
        self: &Arc<Self>,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<McpBody>, Error> {
        transport::require_json_content_type(&parts.headers)?;
        if body.len() > self.config.max_body {
            return Err(Error::payload_too_large(self.config.max_body));
        }
        let id = parts
            .uri
            .query()
            .and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("sessionId="))
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::MissingSession,
                    "Bad Request: sessionId query parameter is required",
                )
            })?;
        let legacy = self
            .legacy
            .get(id)
            .ok_or_else(|| Error::from(ErrorKind::SessionNotFound))?;
        let envelope = serde_json::from_slice::<Envelope<'_>>(&body)
            .map_err(|e| Error::new(ErrorKind::Parse, format!("Parse error: {e}")))?;
        let message = envelope.classify().map_err(|invalid| {
            Error::new(ErrorKind::InvalidRequest, invalid.message).with_id(invalid.id)
        })?;
        let session = legacy.session.get().cloned();
        match message {
            Message::Request { id, method, params } if method == "initialize" => {
                let answer = match parse_params::<InitializeParams>(params) {
                    Err(error) => jsonrpc::error_bytes(Some(&id), &error),
                    Ok(_) if session.is_some() => jsonrpc::error_bytes(
                        Some(&id),
                        &jsonrpc::RpcError::new(
                            jsonrpc::INVALID_REQUEST,
                            "Invalid Request: Server already initialized",
                        ),
                    ),
                    Ok(params) => {
                        let version = supported_version(&params.protocol_version)
                            .unwrap_or(LATEST_PROTOCOL_VERSION);
                        let session =
                            Session::new(version, params.capabilities, params.client_info)
                                .map_err(|e| {
                                    Error::new(
                                        ErrorKind::TooManySessions,
                                        format!("Service Unavailable: {e}"),
                                    )
                                })?;
                        let _ = legacy.session.set(Arc::new(session));
                        self.initialize_result(&id, version)
                    }
                };
                let _ = legacy.stream.send(sse::event(&answer)).await;
            }
            Message::Request { id, method, params } => {
                let reply = match self.request(parts, session, &id, &method, params) {
                    Ok(reply) => reply,
                    Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &error)),
                };
                match reply {
                    Reply::Ready(answer) => {
                        let _ = legacy.stream.send(sse::event(&answer)).await;
                    }
                    Reply::Running(running) => {
                        tokio::spawn(pump(running, legacy.stream.clone()));
                    }
                }
            }
            Message::Notification { method, params } => {
                self.notification(session.as_deref(), &method, params)
            }
            // Answers to server-to-client requests; nothing in this server sends those yet.
            Message::Response => {}
        }
        let mut response = Response::new(McpBody::empty());
        *response.status_mut() = StatusCode::ACCEPTED;
        Ok(response)
    }
}

/// Runs a handler, sending its notifications and then its result to the session's stream.
async fn pump(running: Running, stream: mpsc::Sender<Bytes>) {
    let Running {
        id,
        future,
        notifications,
        cancel,
        in_flight,
    } = running;
    let mut future = std::pin::pin!(async move {
        let result = future.await;
        drop(in_flight);
        jsonrpc::serialize_result(&id, &result)
    });
    let mut notifications = notifications;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            Some(n) = async { match notifications.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                let _ = stream.send(sse::event(&n)).await;
            }
            answer = &mut future => {
                if let Some(rx) = notifications.as_mut() {
                    while let Ok(n) = rx.try_recv() {
                        let _ = stream.send(sse::event(&n)).await;
                    }
                }
                let _ = stream.send(sse::event(&answer)).await;
                return;
            }
        }
    }
}
