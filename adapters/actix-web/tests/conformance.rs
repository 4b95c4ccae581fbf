//! Every conformance case against a real actix-web server on `127.0.0.1:0`: the host app of
//! [`hosts::actix_web`](mcp_mount_conformance::hosts::actix_web), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested scope.
//!
//! The same cases through two replicas, this framework and axum as separate
//! `fixture-server` processes on one Redis behind a round-robin proxy, run in
//! `examples/tests/replicas.rs` (module `axum_actix_web`): every case passes there but seven, which
//! that file lists with the reason (each depends on state the fixture keeps in its process).

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::actix_web::serve);
