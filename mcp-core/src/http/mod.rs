//! The HTTP layer: routing under the mount prefix, negotiation, the guards (Host/Origin, CORS,
//! bearer tokens, forwarded headers), SSE, and one front end per transport: `streamable`
//! (2025 sessions), `stateless` (2026-07-28, with `mrtr`), `http_sse` (2024-11-05) and `rest`.
//!
//! `bearer` is behind the `oauth` feature, `http_sse` behind `http-sse` and `rest` behind
//! `rest-view`.
//!
//! Inside the layer, modules depend one way: `config` and the guards at the bottom, then
//! `core` (what the front ends share), then the front ends, then `service` (the front door).

#[cfg(feature = "oauth")]
pub(crate) mod bearer;
pub(crate) mod body;
pub(crate) mod config;
pub(crate) mod core;
pub(crate) mod cors;
pub(crate) mod error;
pub(crate) mod forwarded;
pub(crate) mod guard;
#[cfg(feature = "http-sse")]
pub(crate) mod http_sse;
pub(crate) mod inbound;
pub(crate) mod mrtr;
pub(crate) mod negotiate;
pub(crate) mod reply;
#[cfg(feature = "rest-view")]
pub(crate) mod rest;
pub(crate) mod routing;
pub(crate) mod service;
pub(crate) mod sse;
pub(crate) mod stateless;
pub(crate) mod streamable;
pub(crate) mod tasks;
