//! `routes_as_tools` on poem: the app that contains the MCP mount is freed with the endpoint
//! that serves it (the tools hold it weakly: no cycle of `Arc`s).

use std::sync::Arc;

use mcp_mount::routes::{HostError, HostHandle, RouteTools, host_fn};
use mcp_mount::{McpServer, Tool};
use poem::endpoint::make_sync;
use poem::{Route, get};

fn routes() -> RouteTools {
    let doc = serde_json::json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/items": {"get": {"operationId": "list_items", "responses": {"200": {"description": "ok"}}}}}});
    RouteTools::from_openapi(&doc).unwrap_or_else(|e| panic!("{e}"))
}

/// A host that holds nothing.
fn unused() -> impl mcp_mount::routes::HostApp {
    host_fn(|_req, _max| async { Err::<http::Response<bytes::Bytes>, _>(HostError::new("unused")) })
}

/// A server with a tool that holds `sentinel`, mounted in an app with one REST route.
fn app(sentinel: &Arc<()>) -> (McpServer, Route) {
    let held = Arc::clone(sentinel);
    let mcp = McpServer::builder("t", "1")
        .tool(Tool::new("hold", move || {
            let _ = &held;
            async { "held" }
        }))
        .build();
    let app = Route::new()
        .at("/items", get(make_sync(|_| "[]")))
        .nest("/mcp", mcp_mount_poem::router(mcp.clone()));
    (mcp, app)
}

#[test]
fn the_served_router_owns_the_app_and_nothing_leaks() {
    let sentinel = Arc::new(());
    let (mcp, app) = app(&sentinel);
    let served =
        mcp_mount_poem::routes_as_tools(app, &mcp, &routes()).unwrap_or_else(|e| panic!("{e}"));
    // The route tool is there: the same operation again needs another name.
    let again = mcp
        .add_route_tools(&routes(), &HostHandle::new(Arc::new(unused())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, ["list_items_2"]);
    assert_eq!(Arc::strong_count(&sentinel), 2, "the server holds its tool");
    drop(mcp);
    drop(served);
    assert_eq!(
        Arc::strong_count(&sentinel),
        1,
        "dropping the served endpoint freed the server"
    );
}

/// The control: tools that held the app strongly would keep the server alive for ever,
/// which the check above would see.
#[test]
fn a_strong_handle_to_the_containing_app_would_leak() {
    let sentinel = Arc::new(());
    let (mcp, app) = app(&sentinel);
    let keep = Arc::new(app);
    let app = Arc::clone(&keep);
    let strong = HostHandle::new(Arc::new(host_fn(move |_req, _max| {
        let _ = &keep;
        async { Err::<http::Response<bytes::Bytes>, _>(HostError::new("unused")) }
    })));
    mcp.add_route_tools(&routes(), &strong)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(mcp);
    drop(app);
    assert_eq!(
        Arc::strong_count(&sentinel),
        2,
        "the cycle keeps the server"
    );
}
