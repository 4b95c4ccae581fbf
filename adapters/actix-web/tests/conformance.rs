//! Every conformance case against a real actix-web server on `127.0.0.1:0`: the host app of
//! [`hosts::actix_web`](mcp_mount_conformance::hosts::actix_web), with the fixture mounted at
//! `/mcp` and at `/api/v1/tenants/acme/mcp` inside a nested scope.

mcp_mount_conformance::suite!(host = mcp_mount_conformance::hosts::actix_web::serve);
