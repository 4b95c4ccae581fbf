//! Every conformance case against a real salvo server on `127.0.0.1:0`: the host app of
//! [`hosts::salvo`](mcp_mount_conformance::hosts::salvo), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.
//!
//! The same cases through two replicas, this framework and poem as separate
//! `fixture-server` processes on one Redis behind a round-robin proxy, run in
//! `examples/tests/replicas.rs` (module `poem_salvo`): every case passes there but seven, which
//! that file lists with the reason (each depends on state the fixture keeps in its process).

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::salvo::serve);
