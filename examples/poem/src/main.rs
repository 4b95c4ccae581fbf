//! An existing poem app (a small notes service with REST routes, bearer-token auth and an admin
//! page) with an MCP server mounted at `/mcp` over the same state.
//! `cargo run -p mcp-mount-example-poem`, then open `http://127.0.0.1:3000/admin`, or
//! point an MCP client at `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.
//!
//! Its REST routes are a poem-openapi API, served as MCP tools too (`index_notes`,
//! `create_note`, `show_note`), called in process through the same endpoint and middleware.

use mcp_mount_example_notes::{
    DASHBOARD, NewNote, Note, Notes, SHUTDOWN_DEADLINE, notes_mcp, notes_routes, terminated,
    user_from,
};
use poem::listener::TcpAcceptor;
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Route, Server, get, handler};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, OpenApiService};

/// The REST routes, documented by poem-openapi.
struct NotesApi {
    notes: Notes,
}

#[derive(ApiResponse)]
enum Created {
    /// The new note
    #[oai(status = 201)]
    Created(Json<Note>),
}

#[derive(ApiResponse)]
enum Found {
    /// The note
    #[oai(status = 200)]
    Ok(Json<Note>),
    /// No such note
    #[oai(status = 404)]
    NotFound,
}

#[OpenApi]
impl NotesApi {
    /// Lists every note
    #[oai(path = "/notes", method = "get", operation_id = "index_notes")]
    async fn list(&self) -> Json<Vec<Note>> {
        Json(self.notes.all())
    }

    /// Adds a note
    #[oai(path = "/notes", method = "post", operation_id = "create_note")]
    async fn create(&self, new: Json<NewNote>) -> Created {
        Created::Created(Json(self.notes.add(new.0)))
    }

    /// Reads one note
    #[oai(path = "/notes/:id", method = "get", operation_id = "show_note")]
    async fn one(&self, id: Path<u64>) -> Found {
        self.notes
            .get(id.0)
            .map_or(Found::NotFound, |note| Found::Ok(Json(note)))
    }
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
    let api = OpenApiService::new(
        NotesApi {
            notes: notes.clone(),
        },
        "notes",
        "1.0.0",
    );
    let doc: serde_json::Value = serde_json::from_str(&api.spec())?;
    let app = Route::new()
        .at("/health", get(health))
        .at("/admin", get(admin))
        .nest("/", api)
        // The one line that adds MCP to the app…
        .nest("/mcp", mcp_mount_poem::router(mcp.clone()))
        // …and its OAuth metadata, at the root-anchored well-known path.
        .at(
            mcp_mount::adapter::well_known_path("/mcp"),
            mcp_mount_poem::well_known(mcp.clone(), "/mcp"),
        )
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
    // …and the one line that serves its documented REST routes as MCP tools, called in
    // process through this very endpoint (and so through the auth middleware).
    let app = mcp_mount_poem::routes_as_tools(app, &mcp, &notes_routes(&doc)?)
        .map_err(std::io::Error::other)?;
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
