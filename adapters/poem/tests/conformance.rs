//! Every conformance case against a real poem server on `127.0.0.1:0`: the host app of
//! [`hosts::poem`](mcp_mount_conformance::hosts::poem), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested route.
//!
//! The same cases through two replicas, this framework and salvo as separate
//! `fixture-server` processes on one Redis behind a round-robin proxy, run in
//! `examples/tests/replicas.rs` (module `poem_salvo`): every case passes there but seven, which
//! that file lists with the reason (each depends on state the fixture keeps in its process).

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::poem::serve);
