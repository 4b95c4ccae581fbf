//! Every conformance case against a real poem server on `127.0.0.1:0`: the host app of
//! [`hosts::poem`](mcp_mount_conformance::hosts::poem), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested route.

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::poem::serve);
