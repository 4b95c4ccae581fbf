//! An existing poem app (a small notes service with REST routes) with an MCP server mounted at
//! `/mcp` over the same state. `cargo run -p mcp-mount-examples --bin poem`, then point an MCP
//! client at `http://127.0.0.1:3000/mcp`.

use mcp_mount_examples::{NewNote, Note, Notes, notes_mcp};
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Json, Path};
use poem::{EndpointExt, Route, Server, get, handler};

#[handler]
fn list(notes: Data<&Notes>) -> Json<Vec<Note>> {
    Json(notes.all())
}

#[handler]
fn create(notes: Data<&Notes>, Json(new): Json<NewNote>) -> (StatusCode, Json<Note>) {
    (StatusCode::CREATED, Json(notes.add(new)))
}

#[handler]
fn one(notes: Data<&Notes>, Path(id): Path<u64>) -> Result<Json<Note>, StatusCode> {
    notes.get(id).map(Json).ok_or(StatusCode::NOT_FOUND)
}

#[handler]
fn health() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    let app = Route::new()
        .at("/health", get(health))
        .at("/notes", get(list).post(create))
        .at("/notes/:id", get(one))
        // The one line that adds MCP to the app.
        .nest("/mcp", mcp_mount_poem::router(notes_mcp(&notes)))
        .data(notes);
    println!("notes app on http://{addr}: REST at /notes, MCP at /mcp");
    Server::new(TcpListener::bind(addr)).run(app).await
}
