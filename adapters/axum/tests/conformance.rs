//! Every conformance case against a real axum server on `127.0.0.1:0`: the host app of
//! [`hosts::axum`](mcp_mount_conformance::hosts::axum), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.
//!
//! The same cases through two replicas, this framework and actix-web as separate
//! `fixture-server` processes on one Redis behind a round-robin proxy, run in
//! `examples/tests/replicas.rs` (module `axum_actix_web`): every case passes there but seven, which
//! that file lists with the reason (each depends on state the fixture keeps in its process).

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::axum::serve);
