//! Every conformance case against a real axum server on `127.0.0.1:0`: the host app of
//! [`hosts::axum`](mcp_mount_conformance::hosts::axum), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::axum::serve);
