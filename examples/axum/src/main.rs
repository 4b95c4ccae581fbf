//! An existing axum app (a small notes service with REST routes, bearer-token auth and an admin
//! page) with an MCP server mounted at `/mcp` over the same state.
//! `cargo run -p mcp-mount-example-axum`, then open `http://127.0.0.1:3000/admin`, or
//! point an MCP client at `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.
//! With `REDIS_URL=redis://127.0.0.1:6379` (and `MCP_REQUEST_STATE_KEY`), several of it behind a
//! load balancer serve one MCP deployment: `cargo run -p mcp-mount-example-axum --
//! 127.0.0.1:3001`, a second on 3002.
//!
//! Its REST routes are documented with utoipa and served as MCP tools too (`index_notes`,
//! `create_note`, `show_note`), called in process through the same router and middleware.

use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use mcp_mount_axum::McpRouterExt as _;
use mcp_mount_example_notes::{
    DASHBOARD, NewNote, Note, Notes, SHUTDOWN_DEADLINE, notes_mcp, notes_routes, terminated,
    user_from,
};
use utoipa::OpenApi;

/// Lists every note
#[utoipa::path(get, path = "/notes", operation_id = "index_notes",
    responses((status = 200, description = "Every note", body = [Note])))]
async fn list(State(notes): State<Notes>) -> Json<Vec<Note>> {
    Json(notes.all())
}

/// Adds a note
#[utoipa::path(post, path = "/notes", operation_id = "create_note", request_body = NewNote,
    responses((status = 201, description = "The new note", body = Note)))]
async fn create(State(notes): State<Notes>, Json(new): Json<NewNote>) -> (StatusCode, Json<Note>) {
    (StatusCode::CREATED, Json(notes.add(new)))
}

/// Reads one note
#[utoipa::path(get, path = "/notes/{id}", operation_id = "show_note",
    params(("id" = u64, Path, description = "The note's id")),
    responses((status = 200, description = "The note", body = Note),
              (status = 404, description = "No such note")))]
async fn one(State(notes): State<Notes>, Path(id): Path<u64>) -> Result<Json<Note>, StatusCode> {
    notes.get(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

/// The REST routes' OpenAPI document.
#[derive(OpenApi)]
#[openapi(info(title = "notes", version = "1.0.0"), paths(list, create, one))]
struct NotesApi;

/// The app's auth middleware: the bearer token's user goes into the request's extensions,
/// where the MCP tools find it too.
async fn auth(mut req: Request, next: Next) -> Response {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(user) = user_from(authorization) {
        req.extensions_mut().insert(user);
    }
    next.run(req).await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    // With REDIS_URL set, one replica of several (see `notes_mcp`).
    let mcp = notes_mcp(&notes).await?;
    let shutdown = mcp.clone();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/admin", get(|| async { Html(DASHBOARD) }))
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(one))
        .with_state(notes)
        // The one line that adds MCP to the app, and its OAuth metadata at the root-anchored
        // well-known path (`nest_service` and `merge(well_known(..))`).
        .mount_mcp("/mcp", mcp.clone())
        .layer(middleware::from_fn(auth));
    // …and the one line that serves its documented REST routes as MCP tools, called in
    // process through this very router (and so through `auth`).
    let app = mcp_mount_axum::routes_as_tools(
        app,
        &mcp,
        &notes_routes(&serde_json::to_value(NotesApi::openapi())?)?,
    )
    .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "notes app on http://{}: REST at /notes, MCP at /mcp, admin at /admin",
        listener.local_addr()?
    );
    // Small SSE events must not wait for delayed ACKs (Nagle).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // Graceful shutdown: on SIGTERM the MCP server winds down first (new requests 503, streams
    // end, calls get SHUTDOWN_DEADLINE), then axum waits for the connections.
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            terminated().await;
            shutdown.shutdown(SHUTDOWN_DEADLINE).await;
        })
        .await
}
