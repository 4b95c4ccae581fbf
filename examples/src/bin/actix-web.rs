//! An existing actix-web app (a small notes service with REST routes) with an MCP server mounted
//! at `/mcp` over the same state. `cargo run -p mcp-mount-examples --bin actix-web`, then point an
//! MCP client at `http://127.0.0.1:3000/mcp`.

use actix_web::{App, HttpResponse, HttpServer, web};
use mcp_mount_examples::{NewNote, Notes, notes_mcp};

async fn list(notes: web::Data<Notes>) -> HttpResponse {
    HttpResponse::Ok().json(notes.all())
}

async fn create(notes: web::Data<Notes>, new: web::Json<NewNote>) -> HttpResponse {
    HttpResponse::Created().json(notes.add(new.into_inner()))
}

async fn one(notes: web::Data<Notes>, id: web::Path<u64>) -> HttpResponse {
    match notes.get(id.into_inner()) {
        Some(note) => HttpResponse::Ok().json(note),
        None => HttpResponse::NotFound().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let notes = Notes::seeded();
    // Built once, outside the worker factory, so every worker serves the same sessions.
    let mcp = notes_mcp(&notes);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(notes.clone()))
            .route("/health", web::get().to(|| async { "ok" }))
            .route("/notes", web::get().to(list))
            .route("/notes", web::post().to(create))
            .route("/notes/{id}", web::get().to(one))
            // The one line that adds MCP to the app.
            .service(web::scope("/mcp").default_service(mcp_mount_actix_web::router(mcp.clone())))
    })
    .bind(&addr)?;
    for addr in server.addrs() {
        println!("notes app on http://{addr}: REST at /notes, MCP at /mcp");
    }
    server.run().await
}
