//! An existing actix-web app (a small notes service with REST routes, bearer-token auth and an
//! admin page) with an MCP server mounted at `/mcp` over the same state.
//! `cargo run -p mcp-mount-example-actix-web`, then open `http://127.0.0.1:3000/admin`, or
//! point an MCP client at `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.
//!
//! Its REST routes are documented with utoipa and served as MCP tools too (`index_notes`,
//! `create_note`, `show_note`). actix-web builds its `App` per worker, so those tools call the
//! app over loopback, on its own listener, through the same middleware.

use actix_web::dev::Service as _;
use actix_web::http::header;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use mcp_mount_example_notes::{
    DASHBOARD, NewNote, Note, Notes, SHUTDOWN_DEADLINE, User, notes_mcp, notes_routes, terminated,
    user_from,
};
use utoipa::OpenApi;

/// Lists every note
#[utoipa::path(get, path = "/notes", operation_id = "index_notes",
    responses((status = 200, description = "Every note", body = [Note])))]
async fn list(notes: web::Data<Notes>) -> HttpResponse {
    HttpResponse::Ok().json(notes.all())
}

/// Adds a note
#[utoipa::path(post, path = "/notes", operation_id = "create_note", request_body = NewNote,
    responses((status = 201, description = "The new note", body = Note)))]
async fn create(notes: web::Data<Notes>, new: web::Json<NewNote>) -> HttpResponse {
    HttpResponse::Created().json(notes.add(new.into_inner()))
}

/// Reads one note
#[utoipa::path(get, path = "/notes/{id}", operation_id = "show_note",
    params(("id" = u64, Path, description = "The note's id")),
    responses((status = 200, description = "The note", body = Note),
              (status = 404, description = "No such note")))]
async fn one(notes: web::Data<Notes>, id: web::Path<u64>) -> HttpResponse {
    match notes.get(id.into_inner()) {
        Some(note) => HttpResponse::Ok().json(note),
        None => HttpResponse::NotFound().finish(),
    }
}

/// The REST routes' OpenAPI document.
#[derive(OpenApi)]
#[openapi(info(title = "notes", version = "1.0.0"), paths(list, create, one))]
struct NotesApi;

/// actix-web keeps middleware data in its own extensions: carry the user into MCP's.
fn carry_user(req: &HttpRequest, extensions: &mut http::Extensions) {
    if let Some(user) = req.extensions().get::<User>() {
        extensions.insert(user.clone());
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    // Built once, outside the worker factory, so every worker serves the same sessions.
    // With REDIS_URL set, one replica of several (see `notes_mcp`).
    let mcp = notes_mcp(&notes).await?;
    let shutdown = mcp.clone();
    let tools_of = mcp.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(notes.clone()))
            // The app's auth middleware: the bearer token's user goes into the extensions.
            .wrap_fn(|req, srv| {
                let authorization = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                if let Some(user) = user_from(authorization) {
                    req.extensions_mut().insert(user);
                }
                srv.call(req)
            })
            .route("/health", web::get().to(|| async { "ok" }))
            .route(
                "/admin",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(DASHBOARD)
                }),
            )
            .route("/notes", web::get().to(list))
            .route("/notes", web::post().to(create))
            .route("/notes/{id}", web::get().to(one))
            // The one line that adds MCP to the app…
            .service(
                web::scope("/mcp")
                    .default_service(mcp_mount_actix_web::router_with(mcp.clone(), carry_user)),
            )
            // …and its OAuth metadata, at the root-anchored well-known path.
            .service(mcp_mount_actix_web::well_known(mcp.clone(), "/mcp"))
    })
    // actix-web's own SIGTERM handling would stop the workers without a word to the MCP
    // server: it is off, and the app stops itself gracefully below.
    .disable_signals()
    .shutdown_timeout(1)
    .bind(&addr)?;
    for addr in server.addrs() {
        println!("notes app on http://{addr}: REST at /notes, MCP at /mcp, admin at /admin");
    }
    // The one line that serves the documented REST routes as MCP tools, over loopback to the
    // app's own listener (and so through its middleware).
    if let Some(&own) = server.addrs().first() {
        mcp_mount_actix_web::routes_as_tools(
            &tools_of,
            own,
            &notes_routes(&serde_json::to_value(NotesApi::openapi())?)?,
        )
        .map_err(std::io::Error::other)?;
    }
    let server = server.run();
    // Graceful shutdown: on SIGTERM the MCP server winds down first (new requests 503, streams
    // end, calls get SHUTDOWN_DEADLINE), then the server handle stops actix-web gracefully.
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        terminated().await;
        shutdown.shutdown(SHUTDOWN_DEADLINE).await;
        handle.stop(true).await;
    });
    server.await
}
