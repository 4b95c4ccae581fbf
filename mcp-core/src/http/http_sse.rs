//! The HTTP+SSE transport of protocol version 2024-11-05, for old clients.
//!
//! `GET {prefix}/sse` opens a session whose stream first sends an `endpoint` event naming
//! `{prefix}/messages?sessionId=…` — the full external path, mount prefix included, so old
//! clients work under any prefix. Every message the client POSTs there is answered `202` at once;
//! its JSON-RPC answer, and everything the server sends, goes out as a `message` event on the
//! session's stream. Sessions end when the stream's client goes away.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::sync::mpsc;

use crate::engine::{Call, InitializeParams, Reply, Running, client_reply, parse_params};
use crate::handler::context::Outbound;
use crate::http::body::McpBody;
use crate::http::core::Core;
use crate::http::core::store_error;
use crate::http::error::{Error, ErrorKind};
use crate::http::negotiate;
use crate::protocol::jsonrpc::{self, Envelope, Message};
use crate::protocol::sse;
use crate::protocol::version::{SESSION_ERA_LATEST_VERSION, supported_version};
use crate::session::http_sse::HttpSseSession;
use crate::session::{SessionState, Transport};

/// How many events may wait for a slow HTTP+SSE client before the server waits too.
const STREAM_CAPACITY: usize = 64;

fn endpoint_event(path: &str) -> Bytes {
    Bytes::from(format!("event: endpoint\ndata: {path}\n\n"))
}

fn unavailable(e: getrandom::Error) -> Error {
    Error::new(
        ErrorKind::TooManySessions,
        format!("Service Unavailable: {e}"),
    )
}

/// `GET {prefix}/sse`: opens a legacy session and its stream; `prefix` is the external one.
pub(crate) fn open(
    core: &Core,
    parts: &http::request::Parts,
    prefix: &str,
) -> Result<Response<McpBody>, Error> {
    if !negotiate::accepts(&parts.headers).1 {
        return Err(Error::new(
            ErrorKind::NotAcceptable,
            "Not Acceptable: Client must accept text/event-stream",
        ));
    }
    let id = crate::session::new_session_id().map_err(unavailable)?;
    let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
    let endpoint = format!("{}/messages?sessionId={id}", prefix.trim_end_matches('/'));
    // A fresh channel has room: the endpoint event is always first.
    let _ = tx.try_send(endpoint_event(&endpoint));
    // The session ends with its stream: then its state leaves the store.
    let (watch, store, key) = (tx.clone(), Arc::clone(&core.store), id.clone());
    tokio::spawn(async move {
        watch.closed().await;
        let _ = store.remove(&key).await;
    });
    core.http_sse
        .insert(
            id.as_str().into(),
            HttpSseSession {
                stream: tx,
                principal: core.principal_of(parts),
                session: OnceLock::new(),
            },
            core.config.max_sessions,
        )
        .map_err(|_| Error::from(ErrorKind::TooManySessions))?;
    let mut response = crate::http::sse::response(McpBody::stream(rx));
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache, no-transform"),
    );
    Ok(response)
}

/// `POST {prefix}/messages?sessionId=…`: accepts one message; its answer goes to the stream.
pub(crate) async fn message(
    core: &Arc<Core>,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<McpBody>, Error> {
    negotiate::require_json_content_type(&parts.headers)?;
    if body.len() > core.config.max_body {
        return Err(Error::payload_too_large(core.config.max_body));
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
    let id_of_stream = id.to_owned();
    let legacy = core
        .http_sse
        .get(id)
        .filter(|legacy| legacy.principal == core.principal_of(&parts))
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
                        .unwrap_or(SESSION_ERA_LATEST_VERSION);
                    // The same store as every session (so the same cap), under the stream's id.
                    let mut state = SessionState::new(
                        version,
                        params.capabilities,
                        params.client_info,
                        legacy.principal.clone(),
                    )
                    .map_err(unavailable)?;
                    state.id = id_of_stream.clone();
                    state.transport = Transport::HttpSse;
                    let state = Arc::new(state);
                    core.store
                        .create(SessionState::clone(&state))
                        .await
                        .map_err(store_error)?;
                    let _ = legacy.session.set(Arc::new(core.runtimes.detached(state)));
                    core.engine
                        .initialize_result(&id, version, core.config.stateless)
                }
            };
            let _ = legacy.stream.send(sse::event(None, &answer)).await;
        }
        Message::Request { id, method, params } => {
            let call = Call {
                modern: None,
                parts,
                session,
                id: &id,
                plain_json: false,
                span: crate::telemetry::idle(),
            };
            let reply = match core.engine.request(call, &method, params) {
                Ok(reply) => reply,
                Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &error)),
            };
            match reply {
                Reply::Ready(answer) => {
                    let _ = legacy.stream.send(sse::event(None, &answer)).await;
                }
                Reply::Running(running) => {
                    tokio::spawn(pump(running, legacy.stream.clone()));
                }
            }
        }
        Message::Notification { method, params } => {
            core.engine
                .notification(session.as_deref(), &method, params)
                .await;
        }
        Message::Response { id, result, error } => {
            if let Some(session) = &session {
                core.reply_to(session, id, client_reply(result, error));
            }
        }
    }
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// Runs a handler, sending what it sends and then its result to the session's stream.
async fn pump(running: Running, stream: mpsc::Sender<Bytes>) {
    let Running {
        mut future,
        mut outbound,
        cancel,
        ..
    } = running;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            Some(item) = async {
                match outbound.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => None,
                }
            } => {
                // The old transport has one stream per session: no connection to close.
                if let Outbound::Message(message) = item {
                    let _ = stream.send(sse::event(None, &message)).await;
                }
            }
            answer = &mut future => {
                if let Some(rx) = outbound.as_mut() {
                    while let Ok(item) = rx.try_recv() {
                        if let Outbound::Message(message) = item {
                            let _ = stream.send(sse::event(None, &message)).await;
                        }
                    }
                }
                let _ = stream.send(sse::event(None, &answer)).await;
                return;
            }
        }
    }
}
