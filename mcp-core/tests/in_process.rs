//! Every conformance case against the core behind plain hyper, no web framework, through its
//! tower face (`mcp_mount::tower::McpService`, the `tower` feature): the host app of
//! [`hosts::hyper`](mcp_mount_conformance::hosts::hyper) on `127.0.0.1:0`, with the fixture
//! mounted at `/mcp` and at `/api/v1/tenants/acme/mcp`. So `cargo test -p mcp-mount` runs the
//! whole pipeline, body limit, routing, well-known paths and trusted proxies included.

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::hyper::serve);
