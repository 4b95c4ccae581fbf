//! The front door: the guards every request passes (Host/Origin, CORS, bearer token), then
//! the route under the mount prefix picks the front end.

use std::sync::Arc;

use bytes::Bytes;
#[cfg(feature = "oauth")]
use http::HeaderValue;
use http::{Method, Request, Response, header};

#[cfg(feature = "oauth")]
use crate::http::bearer;
use crate::http::body::McpBody;
use crate::http::core::Core;
use crate::http::cors::Cors;
use crate::http::error::{Error, ErrorKind};
#[cfg(feature = "http-sse")]
use crate::http::http_sse;
#[cfg(feature = "rest-view")]
use crate::http::rest;
use crate::http::routing::{self, Route};
use crate::http::streamable;
#[cfg(feature = "oauth")]
use crate::http::{forwarded, reply};
use crate::routes::MountPrefix;
use crate::session::BusMessage;

/// Serves one request: the guards, the route, the front end; CORS headers on the way out.
pub(crate) async fn serve(
    core: &Arc<Core>,
    req: Request<Bytes>,
    prefix: &str,
) -> Response<McpBody> {
    // The CORS origin, when there is a policy and it allows the request's Origin.
    let cors = core.config.cors.as_ref().and_then(|cors| {
        let origin = req.headers().get(header::ORIGIN)?;
        cors.allows(origin.to_str().ok()?)
            .then(|| (cors, origin.clone()))
    });
    let result = if core.engine.shutdown.draining.is_cancelled() {
        Err(Error::new(
            ErrorKind::Unavailable,
            "Service Unavailable: this server is shutting down; send the request again (another replica, or this one once restarted, will answer)",
        ))
    } else {
        handle(core, req, prefix, cors.is_some()).await
    };
    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            error.log();
            error.into_response()
        }
    };
    if let Some((cors, origin)) = cors {
        cors.decorate(&origin, &mut response);
    }
    response
}

/// `GET /.well-known/oauth-protected-resource{prefix}` (RFC 9728).
#[cfg(feature = "oauth")]
pub(crate) async fn well_known(
    core: &Core,
    req: Request<Bytes>,
    prefix: &str,
) -> Response<McpBody> {
    let (parts, _) = req.into_parts();
    let external = forwarded::external(&parts, core.config.trusted_proxies.as_ref());
    if let Err(e) = core
        .config
        .policy
        .check(&parts.headers, &external.authority, false)
    {
        return e.into_response();
    }
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Error::new(ErrorKind::MethodNotAllowed, "Method Not Allowed")
            .with_allow("GET")
            .into_response();
    }
    let Some((resource, _)) = &core.config.oauth else {
        return Error::new(
            ErrorKind::NotFound,
            "Not Found: this server is not an OAuth protected resource",
        )
        .into_response();
    };
    let document = resource.document(&external.url(prefix.trim_end_matches('/')));
    let mut response = reply::json_response(Bytes::from(document.to_string()));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    response
}

/// With an OAuth configuration, the bearer token's check: the request goes on with its
/// [`Principal`](bearer::Principal) in the extensions, or is answered 401/403.
#[cfg(feature = "oauth")]
async fn authenticate(
    core: &Core,
    mut parts: http::request::Parts,
    prefix: &str,
) -> Result<http::request::Parts, Error> {
    if let Some((resource, verifier)) = &core.config.oauth {
        let external = core.external(&parts);
        let metadata = format!(
            "{}{}",
            external.origin(),
            bearer::well_known_path(&external.path(prefix.trim_end_matches('/')))
        );
        let principal =
            bearer::authenticate(&parts.headers, resource, &**verifier, &metadata).await?;
        parts.extensions.insert(principal);
    }
    Ok(parts)
}

async fn handle(
    core: &Arc<Core>,
    req: Request<Bytes>,
    prefix: &str,
    cors_allowed: bool,
) -> Result<Response<McpBody>, Error> {
    let (mut parts, body) = req.into_parts();
    // Route tools refuse to call back into the mount that serves them.
    parts
        .extensions
        .insert(MountPrefix(prefix.trim_end_matches('/').to_owned()));
    // Only the Host check needs the external view on every request; the few routes that
    // build URLs derive it again themselves, so the hot path allocates nothing for it.
    core.config.policy.check(
        &parts.headers,
        &core.external(&parts).authority,
        cors_allowed,
    )?;
    if cors_allowed && Cors::is_preflight(&parts.method, &parts.headers) {
        if let (Some(cors), Some(origin)) = (&core.config.cors, parts.headers.get(header::ORIGIN)) {
            routing::route(parts.uri.path(), prefix, core.config.rest_view())?;
            return Ok(cors.preflight(origin, &parts.headers));
        }
    }
    #[cfg(feature = "oauth")]
    let parts = authenticate(core, parts, prefix).await?;
    match routing::route(parts.uri.path(), prefix, core.config.rest_view())? {
        Route::Endpoint => {}
        #[cfg(feature = "rest-view")]
        Route::RestTools => return rest::tools(core, &parts.method),
        #[cfg(feature = "rest-view")]
        Route::RestTool(name) => return rest::call(core, &name, parts, body).await,
        #[cfg(feature = "rest-view")]
        Route::RestImage(name) => return rest::image(core, &name, parts, body).await,
        #[cfg(feature = "rest-view")]
        Route::RestCompletions => return rest::completions(core, parts, body).await,
        #[cfg(feature = "rest-view")]
        Route::OpenApi => {
            return rest::openapi(core, &parts.method, &core.external(&parts), prefix);
        }
        #[cfg(feature = "http-sse")]
        Route::HttpSseStream | Route::HttpSseMessages if core.config.stateless => {
            return Err(Error::new(
                ErrorKind::MethodNotAllowed,
                "Method Not Allowed: the HTTP+SSE transport needs sessions, and this server is stateless",
            )
            .with_allow("POST"));
        }
        #[cfg(feature = "http-sse")]
        Route::HttpSseStream if parts.method == Method::GET => {
            let external_prefix = core.external(&parts).path(prefix.trim_end_matches('/'));
            return http_sse::open(core, &parts, &external_prefix).await;
        }
        #[cfg(feature = "http-sse")]
        Route::HttpSseMessages if parts.method == Method::POST => {
            return http_sse::message(core, parts, body).await;
        }
        #[cfg(feature = "http-sse")]
        Route::HttpSseStream => {
            return Err(Error::from(ErrorKind::MethodNotAllowed).with_allow("GET"));
        }
        #[cfg(feature = "http-sse")]
        Route::HttpSseMessages => {
            return Err(Error::from(ErrorKind::MethodNotAllowed).with_allow("POST"));
        }
    }
    let allow = if core.config.stateless {
        "POST"
    } else {
        "GET, POST, DELETE"
    };
    match parts.method {
        Method::POST => streamable::post(core, parts, body).await,
        Method::GET if !core.config.stateless => streamable::get(core, &parts).await,
        Method::DELETE if !core.config.stateless => streamable::delete(core, &parts).await,
        _ => Err(Error::new(
            ErrorKind::MethodNotAllowed,
            format!("Method Not Allowed: {} (allowed: {allow})", parts.method),
        )
        .with_allow(allow)),
    }
}

/// Acts on a message another replica sent.
pub(crate) fn deliver(core: &Arc<Core>, message: BusMessage) {
    match message {
        BusMessage::ClientReply {
            session,
            request,
            reply,
        } => {
            if let Some(session) = core.runtimes.get(&session) {
                // Nobody waiting here either: the handler gave up or never was here.
                let _ = session.complete_client_request(&request, reply);
            }
        }
        BusMessage::Cancel { session, request } => {
            if let Some(session) = core.runtimes.get(&session) {
                session.cancel_request(&request);
            }
        }
        BusMessage::End { session } => core.runtimes.end(&session),
        BusMessage::StreamOpened { session } => {
            if let Some(session) = core.runtimes.get(&session) {
                session.detach_stream(crate::session::STANDALONE);
            }
        }
        BusMessage::Change(event) => {
            core.changes.publish(&event);
        }
        BusMessage::TaskInput { task, responses } => {
            if let Some(link) = core.tasks.running(&task) {
                link.answer(responses);
            }
        }
        BusMessage::TaskCancel { task } => {
            if let Some(link) = core.tasks.running(&task) {
                link.cancel.cancel();
            }
        }
        #[cfg(feature = "http-sse")]
        BusMessage::HttpSseMessage {
            session,
            uri,
            headers,
            body,
        } => {
            // Only a replica holding the stream acts, on the runtime that serves it.
            if core.http_sse.get(&session).is_none() {
                return;
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let core = Arc::clone(core);
            runtime.spawn(async move {
                http_sse::forwarded(&core, &session, &uri, &headers, &body).await;
            });
        }
        // Without the HTTP+SSE transport no stream of it is held here.
        #[cfg(not(feature = "http-sse"))]
        BusMessage::HttpSseMessage { .. } => {}
    }
}
