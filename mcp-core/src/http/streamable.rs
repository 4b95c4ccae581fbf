//! The streamable HTTP transport of the session era (2025-03-26 to 2025-11-25): `initialize`
//! creates a session named by `Mcp-Session-Id`; POST carries requests (and 2025-03-26
//! batches), GET opens the session's stream, DELETE ends the session.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response};
use serde_json::value::RawValue;

use crate::engine::Reply;
use crate::engine::{Call, client_reply};
use crate::http::body::McpBody;
use crate::http::config::ResponseMode;
use crate::http::core::{Core, check_version_header, store_error};
use crate::http::error::{Error, ErrorKind};
use crate::http::negotiate::{self, LAST_EVENT_ID, MCP_PROTOCOL_VERSION, MCP_SESSION_ID};
use crate::http::reply::{self, accepted};
use crate::http::{sse, stateless};
use crate::protocol::jsonrpc::{self, Envelope, Message, RpcError};
use crate::protocol::sse::EventId;
use crate::protocol::version::{
    BATCH_VERSION, DEFAULT_HEADER_VERSION, ProtocolVersion, SESSION_ERA_LATEST_VERSION,
    supported_version,
};
use crate::session::{BusMessage, ResumeError, STANDALONE, Session};

/// `POST {prefix}`: a 2026-07-28 request goes to the stateless front end; the rest is served
/// in its session.
pub(crate) async fn post(
    core: &Arc<Core>,
    parts: http::request::Parts,
    body: Bytes,
) -> Result<Response<McpBody>, Error> {
    let (json, sse) = negotiate::accepts(&parts.headers);
    if !(json && sse) {
        return Err(Error::new(
            ErrorKind::NotAcceptable,
            "Not Acceptable: Client must accept both application/json and text/event-stream",
        ));
    }
    negotiate::require_json_content_type(&parts.headers)?;
    if body.len() > core.config.max_body {
        return Err(Error::payload_too_large(core.config.max_body));
    }
    let is_batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if !is_batch && crate::http::stateless::may_be_modern(&body) {
        let message = serde_json::from_slice::<Envelope<'_>>(&body)
            .ok()
            .and_then(|envelope| envelope.classify().ok())
            .filter(crate::http::stateless::is_modern);
        if let Some(message) = message {
            return Ok(stateless::handle(core, parts, message).await);
        }
    }
    check_version_header(&parts.headers)?;
    if is_batch {
        return batch(core, parts, &body).await;
    }
    let envelope = match serde_json::from_slice::<Envelope<'_>>(&body) {
        Ok(envelope) => envelope,
        Err(e) if e.is_data() => {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "Invalid Request: expected a JSON-RPC object",
            ));
        }
        Err(e) => return Err(Error::new(ErrorKind::Parse, format!("Parse error: {e}"))),
    };
    let message = envelope.classify().map_err(|invalid| {
        Error::new(ErrorKind::InvalidRequest, invalid.message).with_id(invalid.id)
    })?;
    if let Message::Request { id, method, params } = &message {
        if method == "initialize" {
            return initialize(core, &parts, id, *params).await;
        }
    }
    // A notification or a client's answer runs nothing here: it needs no runtime kept for it.
    let session = match &message {
        // The request's id is known: its error carries it (JSON-RPC's null is for an id
        // that could not be read).
        Message::Request { id, .. } => core
            .session(&parts)
            .await
            .map_err(|e| e.with_id(Some(id.clone())))?,
        Message::Notification { .. } | Message::Response { .. } => {
            core.session_passing(&parts).await?
        }
    };
    match message {
        Message::Notification { method, params } => {
            core.engine
                .notification(session.as_deref(), &method, params)
                .await;
            Ok(accepted())
        }
        Message::Response { id, result, error } => {
            if let Some(session) = &session {
                core.reply_to(session, id, client_reply(result, error));
            }
            Ok(accepted())
        }
        Message::Request { id, method, params } => {
            let call = Call {
                modern: None,
                parts,
                session: session.clone(),
                id: &id,
                plain_json: core.config.response_mode == ResponseMode::Json,
                span: crate::telemetry::idle(),
            };
            let reply = match core.engine.request(call, &method, params) {
                Ok(reply) => reply,
                Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &error)),
            };
            Ok(reply::respond(core.stream_config(), session, reply).await)
        }
    }
}

/// The most messages one JSON-RPC batch may carry: each element is a call of its own, and the
/// body limit alone would let one POST start tens of thousands of them.
pub(crate) const MAX_BATCH: usize = 100;

/// A JSON-RPC batch: accepted from 2025-03-26 clients only (later versions removed batching).
/// Each element is handled as if sent alone; the responses come back as one JSON array.
pub(crate) async fn batch(
    core: &Arc<Core>,
    parts: http::request::Parts,
    body: &[u8],
) -> Result<Response<McpBody>, Error> {
    let elements: Vec<&RawValue> = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorKind::Parse, format!("Parse error: {e}")))?;
    let session = core.session(&parts).await?;
    let header = parts
        .headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok());
    let version = match (header, &session) {
        (Some(header), _) => header,
        (None, Some(session)) => session.protocol_version(),
        (None, None) => DEFAULT_HEADER_VERSION,
    };
    if !ProtocolVersion::parse(version).is_some_and(ProtocolVersion::allows_batches) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "Invalid Request: JSON-RPC batches are not supported in protocol version {version} (only in {BATCH_VERSION})"
            ),
        ));
    }
    if elements.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "Invalid Request: an empty batch",
        ));
    }
    if elements.len() > MAX_BATCH {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "Invalid Request: a batch of {} messages; at most {MAX_BATCH} per batch (send the rest in another request)",
                elements.len()
            ),
        ));
    }
    let mut messages = Vec::with_capacity(elements.len());
    for element in elements {
        let message = serde_json::from_str::<Envelope<'_>>(element.get())
            .map_err(|_| jsonrpc::Invalid {
                id: None,
                message: "Invalid Request: a batch element is not a JSON-RPC object",
            })
            .and_then(Envelope::classify);
        if let Ok(Message::Request { method, .. }) = &message {
            if method == "initialize" {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "Invalid Request: initialize must not be part of a JSON-RPC batch",
                ));
            }
        }
        messages.push(message);
    }
    let mut answers = Vec::new();
    for message in messages {
        match message {
            Err(invalid) => answers.push(Reply::Ready(jsonrpc::error_bytes(
                invalid.id.as_ref(),
                &RpcError::new(jsonrpc::INVALID_REQUEST, invalid.message),
            ))),
            Ok(Message::Notification { method, params }) => {
                core.engine
                    .notification(session.as_deref(), &method, params)
                    .await;
            }
            Ok(Message::Response { id, result, error }) => {
                if let Some(session) = &session {
                    core.reply_to(session, id, client_reply(result, error));
                }
            }
            Ok(Message::Request { id, method, params }) => {
                let call = Call {
                    modern: None,
                    parts: parts.clone(),
                    session: session.clone(),
                    id: &id,
                    plain_json: true,
                    span: crate::telemetry::idle(),
                };
                answers.push(match core.engine.request(call, &method, params) {
                    Ok(reply) => reply,
                    Err(error) => Reply::Ready(jsonrpc::error_bytes(Some(&id), &error)),
                });
            }
        }
    }
    if answers.is_empty() {
        return Ok(accepted());
    }
    let responses = reply::join_replies(answers).await;
    if responses.is_empty() {
        // Every request in it was cancelled: nothing to answer.
        return Ok(accepted());
    }
    let mut out = Vec::with_capacity(responses.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, response) in responses.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(response);
    }
    out.push(b']');
    Ok(reply::json_response(Bytes::from(out)))
}

/// `initialize`: a new session (none in stateless mode), and the server's capabilities.
pub(crate) async fn initialize(
    core: &Core,
    parts: &http::request::Parts,
    id: &jsonrpc::RequestId,
    params: Option<&RawValue>,
) -> Result<Response<McpBody>, Error> {
    if !core.config.stateless && parts.headers.contains_key(MCP_SESSION_ID) {
        // A known session is already initialised; an unknown one gets the usual 404.
        core.session(parts).await?;
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "Invalid Request: Server already initialized",
        )
        .with_id(Some(id.clone())));
    }
    let params: crate::engine::InitializeParams = match crate::engine::parse_params(params) {
        Ok(params) => params,
        Err(error) => {
            return Ok(reply::reply_now(
                core.stream_config(),
                None,
                jsonrpc::error_bytes(Some(id), &error),
            )
            .await);
        }
    };
    let version = supported_version(&params.protocol_version).unwrap_or(SESSION_ERA_LATEST_VERSION);
    let mut session_id = None;
    if !core.config.stateless {
        let state = core
            .new_session(parts, version, params.capabilities, params.client_info)
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, format!("Service Unavailable: {e}"))
                    .with_id(Some(id.clone()))
            })?;
        session_id = Some(state.id.clone());
        // The runtime is made when the session is first used: an idle session costs only
        // its state.
        core.create_session(state)
            .await
            .map_err(|e| store_error(e).with_id(Some(id.clone())))?;
    }
    let body = core
        .engine
        .initialize_result(id, version, core.config.stateless);
    let mut response = reply::reply_now(core.stream_config(), None, body).await;
    if let Some(session_id) = session_id.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response.headers_mut().insert(MCP_SESSION_ID, session_id);
    }
    Ok(response)
}

/// `GET {prefix}`: the session's standalone stream, or the resumption of a stream.
pub(crate) async fn get(
    core: &Arc<Core>,
    parts: &http::request::Parts,
) -> Result<Response<McpBody>, Error> {
    let headers = &parts.headers;
    if !negotiate::accepts(headers).1 {
        return Err(Error::new(
            ErrorKind::NotAcceptable,
            "Not Acceptable: Client must accept text/event-stream",
        ));
    }
    check_version_header(headers)?;
    let Some(session) = core.session(parts).await? else {
        return Err(ErrorKind::MethodNotAllowed.into());
    };
    if let Some(last) = headers.get(LAST_EVENT_ID) {
        let text = last.to_str().unwrap_or("");
        let Some(after) = EventId::parse(text) else {
            return Err(Error::new(
                ErrorKind::CannotResume,
                format!("Bad Request: Last-Event-ID {text:?} is not an event id of this server"),
            ));
        };
        let rx = session.resume(after, core.config.sse_retry).await.map_err(|e| {
            let why = match e {
                ResumeError::NotResumable => {
                    "this session's streams are not resumable (its protocol version is before 2025-11-25)"
                }
                ResumeError::UnknownStream => "no stream of this session has that event id",
                ResumeError::Gone => {
                    "the events after that id are no longer kept (the replay buffer is full)"
                }
                ResumeError::Unavailable => {
                    "the event log cannot be reached now; retry shortly"
                }
            };
            Error::new(
                ErrorKind::CannotResume,
                format!("Bad Request: cannot resume after Last-Event-ID {text:?}: {why}"),
            )
        })?;
        if after.stream == STANDALONE {
            core.changes.listen(&session);
            keep_alive(core, &session);
        }
        return Ok(sse::response(McpBody::stream(rx)));
    }
    let rx = session.open_stream(64, core.config.sse_retry).await;
    // The newest GET stream wins on every replica: one held elsewhere ends.
    core.engine.bus.send(BusMessage::StreamOpened {
        session: session.id().to_owned(),
    });
    core.changes.listen(&session);
    keep_alive(core, &session);
    Ok(sse::response(McpBody::stream(rx)))
}

/// While the session's GET stream is open, the session is not idle: its state is touched in
/// the store at half its idle TTL, at most every `KEEP_EVERY` (so that a full store never
/// takes it for abandoned, see `EVICT_AFTER_IDLE`), and no store need know of streams.
fn keep_alive(core: &Arc<Core>, session: &Arc<Session>) {
    let period = (core.config.session_ttl / 2)
        .min(crate::session::KEEP_EVERY)
        .max(Duration::from_millis(10));
    let (core, session) = (Arc::clone(core), Arc::clone(session));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = session.ended() => return,
                () = tokio::time::sleep(period) => {}
            }
            // A comment on the stream: actix-web and poem see a gone client only when a
            // write fails, and a dead stream must not keep its session alive.
            if !session.ping_stream() || !session.has_open_stream() {
                return;
            }
            // A store that cannot be reached now is asked again next time.
            if let Ok(false) = core.store.touch(session.id()).await {
                core.runtimes.end(session.id());
                return;
            }
        }
    });
}

/// `DELETE {prefix}`: ends the session, its streams and its running calls.
pub(crate) async fn delete(
    core: &Core,
    parts: &http::request::Parts,
) -> Result<Response<McpBody>, Error> {
    let Some(session) = core.session(parts).await? else {
        return Err(ErrorKind::MethodNotAllowed.into());
    };
    core.store.remove(session.id()).await.map_err(store_error)?;
    core.runtimes.end(session.id());
    core.engine.bus.send(BusMessage::End {
        session: session.id().to_owned(),
    });
    session.close();
    // A log that cannot be reached forgets the session's events by its own expiry.
    let _ = core.log.forget(session.id()).await;
    Ok(Response::new(McpBody::empty()))
}
