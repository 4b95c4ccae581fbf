//! [`McpServer`] as a [`tower::Service`](tower_service::Service), for any tower- or hyper-based
//! host: plain hyper, tonic-web, loco, or your own tower stack (the `tower` feature).
//!
//! [`McpServer`] itself serves at the root (`/`); [`McpService`] serves at a mount path of the
//! host's own routing, answers its OAuth metadata at the root-anchored well-known path when the
//! server is a protected resource, and answers anything else with the core's 404. The request's
//! path must still hold the mount path (a router that strips it, such as axum's
//! `nest_service`, has an adapter of its own).
//!
//! Either one reads any [`http_body::Body`] up to [`McpServer::max_body`] (a 413 past it, once
//! the rest was drained), passes the request's extensions (what the host's middleware
//! inserted) to the handlers, and answers a streaming [`McpBody`]. It never fails: every
//! outcome, bad input included, is a response, so its error type is [`Infallible`].
//!
//! ```
//! use mcp_mount::McpServer;
//! use mcp_mount::tower::McpService;
//!
//! let server = McpServer::builder("demo", "1.0.0").build();
//! // A tower service answering /api/mcp, /api/mcp/ and the paths below it:
//! let service: McpService = server.into_service("/api/mcp");
//! # fn is_service<S: mcp_mount::tower::Service<http::Request<String>>>(_: &S) {}
//! # is_service(&service);
//! ```
//!
//! The peer's address, which trusted-proxy handling needs, is not in a hyper request: insert
//! it as a [`PeerAddr`](crate::adapter::PeerAddr) extension in your accept loop.

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use crate::http::body::McpBody;
use crate::http::inbound::read_body;
use crate::server::McpServer;

/// The trait both implement, re-exported so that a host names the version this crate uses.
pub use tower_service::Service;

/// The future of [`McpServer`]'s and [`McpService`]'s `call`.
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<McpBody>, Infallible>> + Send + 'static>>;

/// An [`McpServer`] mounted at a path, as a [`tower::Service`](tower_service::Service); made by
/// [`McpServer::into_service`].
#[derive(Clone, Debug)]
pub struct McpService {
    server: McpServer,
    prefix: String,
    #[cfg(feature = "oauth")]
    well_known: Option<String>,
}

impl McpService {
    /// Serves `server` at `prefix` (`"/api/mcp"`; `""` or `"/"` for the root).
    pub fn new(server: McpServer, prefix: &str) -> Self {
        let prefix = crate::http::routing::mount_path(prefix);
        Self {
            #[cfg(feature = "oauth")]
            well_known: server
                .is_protected_resource()
                .then(|| crate::http::bearer::well_known_path(&prefix)),
            server,
            prefix,
        }
    }

    /// The mount path, with a leading slash and no trailing one (`""` at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether a request for `path` is this service's to answer: the mount path, a path below
    /// it, or (for an OAuth protected resource) its well-known path. A host that routes by
    /// hand sends exactly these requests here.
    pub fn serves(&self, path: &str) -> bool {
        #[cfg(feature = "oauth")]
        if self.well_known.as_deref() == Some(path) {
            return true;
        }
        path.strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The server.
    pub fn server(&self) -> &McpServer {
        &self.server
    }

    /// Answers one request.
    async fn answer<B>(self, req: Request<B>) -> Response<McpBody>
    where
        B: Body,
        B::Data: Buf,
        B::Error: Display,
    {
        let (parts, body) = req.into_parts();
        #[cfg(feature = "oauth")]
        if self.well_known.as_deref() == Some(parts.uri.path()) {
            let req = Request::from_parts(parts, Bytes::new());
            return self.server.well_known(req, &self.prefix).await;
        }
        match read_body(self.server.max_body(), IntoBytes { body }).await {
            Ok(body) => {
                let req = Request::from_parts(parts, body);
                self.server.handle(req, &self.prefix).await
            }
            Err(e) => e.into_response(),
        }
    }
}

impl McpServer {
    /// This server as a [`tower::Service`](tower_service::Service) mounted at `prefix` of the
    /// host's routing; see [`McpService`].
    pub fn into_service(self, prefix: &str) -> McpService {
        McpService::new(self, prefix)
    }
}

impl<B> tower_service::Service<Request<B>> for McpService
where
    B: Body + Send + 'static,
    B::Data: Buf + Send,
    B::Error: Display + Send,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { Ok(service.answer(req).await) })
    }
}

/// The server mounted at the root: the same as [`McpServer::into_service`] with `"/"`.
impl<B> tower_service::Service<Request<B>> for McpServer
where
    B: Body + Send + 'static,
    B::Data: Buf + Send,
    B::Error: Display + Send,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let service = McpService::new(self.clone(), "");
        Box::pin(async move { Ok(service.answer(req).await) })
    }
}

pin_project! {
    /// A body whose data chunks are any [`Buf`], read as [`Bytes`] (a copy only where the
    /// chunk is not `Bytes` already).
    struct IntoBytes<B> {
        #[pin]
        body: B,
    }
}

impl<B> Body for IntoBytes<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        self.project().body.poll_frame(cx).map(|frame| {
            frame.map(|frame| {
                frame.map(|frame| frame.map_data(|mut data| data.copy_to_bytes(data.remaining())))
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tool;

    /// A body whose chunks are `&'static [u8]`, not `Bytes`, in two frames.
    struct Slices(Vec<&'static [u8]>);

    impl Body for Slices {
        type Data = &'static [u8];
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<&'static [u8]>, Infallible>>> {
            Poll::Ready((!self.0.is_empty()).then(|| Ok(Frame::data(self.0.remove(0)))))
        }
    }

    fn request(uri: &str, chunks: Vec<&'static [u8]>) -> Request<Slices> {
        Request::post(uri)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Slices(chunks))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn server() -> McpServer {
        McpServer::builder("tower", "1.0.0")
            .tool(Tool::new("hello", || async { "hello" }))
            .stateless(true)
            .build()
    }

    const CALL: [&[u8]; 2] = [
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","#,
        br#""params":{"name":"hello"}}"#,
    ];

    #[tokio::test]
    async fn any_body_is_read_and_the_prefix_routed() {
        let mut service = server().into_service("api/mcp/");
        assert_eq!(service.prefix(), "/api/mcp");
        for uri in ["/api/mcp", "/api/mcp/"] {
            let response = service
                .call(request(uri, CALL.to_vec()))
                .await
                .unwrap_or_else(|e| match e {});
            assert_eq!(response.status(), 200, "{uri}");
            let body = response.into_body().as_full().unwrap_or_default();
            assert!(
                String::from_utf8_lossy(&body).contains(r#""text":"hello""#),
                "{body:?}"
            );
        }
        assert!(service.serves("/api/mcp/sse"));
        assert!(!service.serves("/api/mcp-other"));
        assert!(!service.serves("/elsewhere"));
        let response = service
            .call(request("/elsewhere", CALL.to_vec()))
            .await
            .unwrap_or_else(|e| match e {});
        assert_eq!(response.status(), 404);
    }

    #[tokio::test]
    async fn the_server_itself_serves_the_root() {
        let mut server = server();
        let response = server
            .call(request("/", CALL.to_vec()))
            .await
            .unwrap_or_else(|e| match e {});
        assert_eq!(response.status(), 200);
    }

    #[tokio::test]
    async fn an_oversize_body_is_413() {
        let mut service = McpServer::builder("tower", "1.0.0")
            .max_body(16)
            .build()
            .into_service("/mcp");
        let response = service
            .call(request("/mcp", CALL.to_vec()))
            .await
            .unwrap_or_else(|e| match e {});
        assert_eq!(response.status(), 413);
    }
}
