//! Every conformance case against a real salvo server on `127.0.0.1:0`: the host app of
//! [`hosts::salvo`](mcp_mount_conformance::hosts::salvo), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested router.

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::salvo::serve);
