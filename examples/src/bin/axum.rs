//! An existing axum app (a small notes service with REST routes) with an MCP server mounted at
//! `/mcp` over the same state. `cargo run -p mcp-mount-examples --bin axum`, then point an MCP
//! client at `http://127.0.0.1:3000/mcp`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use mcp_mount_examples::{NewNote, Note, Notes, notes_mcp};

async fn list(State(notes): State<Notes>) -> Json<Vec<Note>> {
    Json(notes.all())
}

async fn create(State(notes): State<Notes>, Json(new): Json<NewNote>) -> (StatusCode, Json<Note>) {
    (StatusCode::CREATED, Json(notes.add(new)))
}

async fn one(State(notes): State<Notes>, Path(id): Path<u64>) -> Result<Json<Note>, StatusCode> {
    notes.get(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/notes", get(list).post(create))
        .route("/notes/{id}", get(one))
        // The one line that adds MCP to the app.
        .nest_service("/mcp", mcp_mount_axum::router(notes_mcp(&notes)))
        .with_state(notes);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "notes app on http://{}: REST at /notes, MCP at /mcp",
        listener.local_addr()?
    );
    // Small SSE events must not wait for delayed ACKs (Nagle).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}
