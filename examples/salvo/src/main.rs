//! An existing salvo app (a small notes service with REST routes, bearer-token auth and an admin
//! page) with an MCP server mounted at `/mcp` over the same state.
//! `cargo run -p mcp-mount-example-salvo`, then open `http://127.0.0.1:3000/admin`, or
//! point an MCP client at `http://127.0.0.1:3000/mcp` with `Authorization: Bearer demo-token`.
//!
//! Its REST routes are documented with salvo-oapi and served as MCP tools too (`index_notes`,
//! `create_note`, `show_note`), called in process through a service of the same router.

use mcp_mount_example_notes::{
    DASHBOARD, NewNote, Note, Notes, SHUTDOWN_DEADLINE, User, notes_mcp, notes_routes, terminated,
    user_from,
};
use salvo::Writer as _;
use salvo::conn::tcp::TcpAcceptor;
use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam};
use salvo::oapi::{OpenApi, endpoint};
use salvo::writing::{Json, Text};
use salvo::{Depot, FlowCtrl, Handler, Request, Response, Router, Server};

/// `GET /notes`.
struct ListNotes {
    notes: Notes,
}

/// Lists every note
#[endpoint(operation_id = "index_notes")]
impl ListNotes {
    async fn handle(&self) -> Json<Vec<Note>> {
        Json(self.notes.all())
    }
}

/// `POST /notes`.
struct CreateNote {
    notes: Notes,
}

/// Adds a note
#[endpoint(operation_id = "create_note", status_codes(201),
    responses((status_code = 201, description = "The new note", body = Note)))]
impl CreateNote {
    async fn handle(&self, new: JsonBody<NewNote>, res: &mut Response) {
        res.status_code(StatusCode::CREATED);
        res.render(Json(self.notes.add(new.into_inner())));
    }
}

/// `GET /notes/{id}`.
struct ShowNote {
    notes: Notes,
}

/// Reads one note
#[endpoint(operation_id = "show_note", status_codes(200, 404),
    responses((status_code = 200, description = "The note", body = Note),
              (status_code = 404, description = "No such note")))]
impl ShowNote {
    async fn handle(&self, id: PathParam<u64>, res: &mut Response) {
        match self.notes.get(id.into_inner()) {
            Some(note) => res.render(Json(note)),
            None => {
                res.status_code(StatusCode::NOT_FOUND);
            }
        }
    }
}

/// The app's auth middleware: the bearer token's user goes into the depot.
struct Auth;

#[salvo::async_trait]
impl Handler for Auth {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        _res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if let Some(user) = user_from(authorization) {
            depot.insert_typed(user);
        }
    }
}

/// salvo keeps middleware data in its depot: carry the user into MCP's extensions.
fn carry_user(depot: &Depot, extensions: &mut http::Extensions) {
    if let Ok(user) = depot.get_typed::<User>() {
        extensions.insert(user.clone());
    }
}

struct Admin;

#[salvo::async_trait]
impl Handler for Admin {
    async fn handle(
        &self,
        _req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        res.render(Text::Html(DASHBOARD));
    }
}

struct Health;

#[salvo::async_trait]
impl Handler for Health {
    async fn handle(
        &self,
        _req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        res.render("ok");
    }
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
    let router = Router::new()
        .hoop(Auth)
        .push(Router::with_path("health").get(Health))
        .push(Router::with_path("admin").get(Admin))
        .push(
            Router::with_path("notes")
                .get(ListNotes {
                    notes: notes.clone(),
                })
                .post(CreateNote {
                    notes: notes.clone(),
                })
                .push(Router::with_path("{id}").get(ShowNote {
                    notes: notes.clone(),
                })),
        )
        // The one line that adds MCP to the app…
        .push(Router::with_path("mcp").push(mcp_mount_salvo::router_with(mcp.clone(), carry_user)))
        // …and its OAuth metadata, at the root-anchored well-known path.
        .push(mcp_mount_salvo::well_known(mcp.clone(), "/mcp"));
    // …and the one line that serves its documented REST routes as MCP tools, called in
    // process through a service of this very router (and so through `Auth`).
    let doc = serde_json::to_value(OpenApi::new("notes", "1.0.0").merge_router(&router))?;
    let service = mcp_mount_salvo::routes_as_tools(router, &mcp, &notes_routes(&doc)?)
        .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "notes app on http://{}: REST at /notes, MCP at /mcp",
        listener.local_addr()?
    );
    let server = Server::new(TcpAcceptor::try_from(listener)?);
    // Graceful shutdown: on SIGTERM the MCP server winds down first (new requests 503, streams
    // end, calls get SHUTDOWN_DEADLINE), then salvo's handle stops the server gracefully.
    let handle = server.handle();
    tokio::spawn(async move {
        terminated().await;
        shutdown.shutdown(SHUTDOWN_DEADLINE).await;
        handle.stop_graceful(Some(std::time::Duration::from_secs(1)));
    });
    server.serve(service).await;
    Ok(())
}
