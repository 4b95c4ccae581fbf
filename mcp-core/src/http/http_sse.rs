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
use crate::session::{BusMessage, SessionChange, Transport};

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

/// `GET {prefix}/sse`: opens a sse_session session and its stream; `prefix` is the external one.
pub(crate) async fn open(
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
    // The session is in the store from its first moment (so under the same cap as every
    // session, and known to every replica a `/messages` POST may reach); `initialize`
    // completes its state.
    let mut state = core
        .new_session(
            parts,
            "2024-11-05",
            serde_json::Value::Null,
            serde_json::Value::Null,
        )
        .map_err(unavailable)?;
    state.transport = Transport::HttpSse;
    let id = state.id.clone();
    core.create_session(state).await.map_err(store_error)?;
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
    let id = id.to_owned();
    let id = id.as_str();
    let principal = core.principal_of(&parts);
    let Some(sse_session) = core.http_sse.get(id) else {
        // The stream may be held by another replica: the store knows the session, the bus
        // takes the message there.
        let state = core.store.load(id).await.map_err(store_error)?;
        let known =
            state.is_some_and(|s| s.transport == Transport::HttpSse && s.principal == principal);
        if !known {
            return Err(ErrorKind::SessionNotFound.into());
        }
        // What a bad message gets is the same wherever it lands: it is checked here, before
        // it travels.
        serde_json::from_slice::<Envelope<'_>>(&body)
            .map_err(|e| Error::new(ErrorKind::Parse, format!("Parse error: {e}")))?
            .classify()
            .map_err(|invalid| {
                Error::new(ErrorKind::InvalidRequest, invalid.message).with_id(invalid.id)
            })?;
        core.engine.bus.send(BusMessage::HttpSseMessage {
            session: id.to_owned(),
            uri: parts.uri.to_string(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        return Ok(accepted_response());
    };
    if sse_session.principal != principal {
        return Err(ErrorKind::SessionNotFound.into());
    }
    process(core, id, &sse_session, parts, &body).await?;
    Ok(accepted_response())
}

fn accepted_response() -> Response<McpBody> {
    let mut response = Response::new(McpBody::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// Handles a message another replica took for an HTTP+SSE stream held here.
pub(crate) async fn forwarded(
    core: &Arc<Core>,
    session: &str,
    uri: &str,
    headers: &[(String, String)],
    body: &str,
) {
    let Some(sse_session) = core.http_sse.get(session) else {
        return;
    };
    let mut request = http::Request::post(uri);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    // Nobody waits for an answer here: errors of a forwarded message are the client's to see
    // as for any message, on its stream when it has an id.
    if let Err(error) = process(core, session, &sse_session, parts, body.as_bytes()).await {
        crate::telemetry::rejected(error.status().as_u16(), &error.to_string(), error.setting());
    }
}

/// Handles one message of an HTTP+SSE session whose stream is held here.
async fn process(
    core: &Arc<Core>,
    id_of_stream: &str,
    sse_session: &HttpSseSession,
    parts: http::request::Parts,
    body: &[u8],
) -> Result<(), Error> {
    let envelope = serde_json::from_slice::<Envelope<'_>>(body)
        .map_err(|e| Error::new(ErrorKind::Parse, format!("Parse error: {e}")))?;
    let message = envelope.classify().map_err(|invalid| {
        Error::new(ErrorKind::InvalidRequest, invalid.message).with_id(invalid.id)
    })?;
    let session = sse_session.session.get().cloned();
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
                    let negotiated = SessionChange::Negotiated {
                        protocol_version: version.to_owned(),
                        client_capabilities: params.capabilities,
                        client_info: params.client_info,
                    };
                    let Some(state) = core
                        .store
                        .change(id_of_stream, &negotiated)
                        .await
                        .map_err(store_error)?
                    else {
                        return Err(ErrorKind::SessionNotFound.into());
                    };
                    let _ = sse_session
                        .session
                        .set(Arc::new(core.runtimes.detached(state)));
                    core.engine
                        .initialize_result(&id, version, core.config.stateless)
                }
            };
            let _ = sse_session.stream.send(sse::event(None, &answer)).await;
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
                    let _ = sse_session.stream.send(sse::event(None, &answer)).await;
                }
                Reply::Running(running) => {
                    tokio::spawn(pump(running, sse_session.stream.clone()));
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
    Ok(())
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
