//! An existing poem app (a small notes service with REST routes, bearer-token auth and an admin
//! page) with an MCP server mounted at `/mcp` over the same state.
//! `cargo run -p mcp-mount-example-poem`, then open `http://127.0.0.1:3000/admin`, or
//! point an MCP client at `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.

use mcp_mount_example_notes::{
    DASHBOARD, NewNote, Note, Notes, SHUTDOWN_DEADLINE, notes_mcp, terminated, user_from,
};
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Data, Html, Json, Path};
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server, get, handler};

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

#[handler]
fn admin() -> Html<&'static str> {
    Html(DASHBOARD)
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
    let app = Route::new()
        .at("/health", get(health))
        .at("/admin", get(admin))
        .at("/notes", get(list).post(create))
        .at("/notes/:id", get(one))
        // The one line that adds MCP to the app…
        .nest("/mcp", mcp_mount_poem::router(mcp.clone()))
        // …and its OAuth metadata, at the root-anchored well-known path.
        .at(
            mcp_mount::adapter::well_known_path("/mcp"),
            mcp_mount_poem::well_known(mcp, "/mcp"),
        )
        .data(notes)
        // The app's auth middleware: the bearer token's user goes into the extensions.
        .around(|ep, mut req| async move {
            let authorization = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if let Some(user) = user_from(authorization) {
                req.extensions_mut().insert(user);
            }
            Ok(ep.call(req).await?.into_response())
        });
    let listener = std::net::TcpListener::bind(&addr)?;
    listener.set_nonblocking(true)?;
    println!(
        "notes app on http://{}: REST at /notes, MCP at /mcp, admin at /admin",
        listener.local_addr()?
    );
    // Graceful shutdown: on SIGTERM the MCP server winds down first (new requests 503, streams
    // end, calls get SHUTDOWN_DEADLINE), then poem waits (a second at most) for connections.
    Server::new_with_acceptor(TcpAcceptor::from_std(listener)?)
        .run_with_graceful_shutdown(
            app,
            async move {
                terminated().await;
                shutdown.shutdown(SHUTDOWN_DEADLINE).await;
            },
            Some(std::time::Duration::from_secs(1)),
        )
        .await
}
