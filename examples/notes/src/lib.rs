//! Shared pieces of the example apps: a small notes service's domain (the "existing app") and
//! the MCP server each example mounts over the same state. The fixture's host apps, which
//! `fixture-server` serves, live in `mcp_mount_conformance::hosts`, shared with the adapter tests.

use std::sync::{Arc, RwLock};

use mcp_mount::model::{LoggingLevel, ToolAnnotations};
use std::collections::HashMap;

use mcp_mount::{
    CompletionRequest, InvalidToken, Json, McpServer, McpServerBuilder, Principal, Prompt,
    PromptArgument, PromptMessage, ProtectedResource, RequestContext, Resource, ResourceTemplate,
    RpcError, TokenVerifier, Tool, UriVariables, VerifyFuture,
};
use mcp_mount_redis::RedisCluster;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One note.
///
/// Besides `JsonSchema` (for the hand-written tools), it derives the OpenAPI schema trait of
/// the framework an example documents its REST routes with, behind a feature each example
/// turns on for its own (so an example builds no other framework): `utoipa` (axum,
/// actix-web), `poem-openapi` and `salvo-oapi`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem-openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo-oapi", derive(salvo::oapi::ToSchema))]
pub struct Note {
    /// Its id.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// Its text.
    pub body: String,
}

/// A new note, as the REST API and the `add_note` tool take it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "poem-openapi", derive(poem_openapi::Object))]
#[cfg_attr(feature = "salvo-oapi", derive(salvo::oapi::ToSchema))]
pub struct NewNote {
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
}

/// The app's state: notes in memory, shared by the REST routes and the MCP tools.
#[derive(Clone, Debug, Default)]
pub struct Notes {
    inner: Arc<RwLock<Vec<Note>>>,
}

impl Notes {
    /// A store with two notes in it.
    pub fn seeded() -> Self {
        let notes = Self::default();
        notes.add(NewNote {
            title: "Welcome".into(),
            body: "This app serves REST at /notes and MCP at /mcp.".into(),
        });
        notes.add(NewNote {
            title: "Groceries".into(),
            body: "Eggs, flour, coffee.".into(),
        });
        notes
    }

    /// Every note.
    pub fn all(&self) -> Vec<Note> {
        self.inner.read().map(|n| n.clone()).unwrap_or_default()
    }

    /// One note.
    pub fn get(&self, id: u64) -> Option<Note> {
        self.inner.read().ok()?.iter().find(|n| n.id == id).cloned()
    }

    /// Adds a note and returns it.
    pub fn add(&self, new: NewNote) -> Note {
        let mut notes = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let note = Note {
            id: notes.last().map_or(1, |n| n.id + 1),
            title: new.title,
            body: new.body,
        };
        notes.push(note.clone());
        note
    }

    /// Notes whose title or text contains `query` (case-insensitive).
    pub fn search(&self, query: &str) -> Vec<Note> {
        let query = query.to_lowercase();
        self.all()
            .into_iter()
            .filter(|n| {
                n.title.to_lowercase().contains(&query) || n.body.to_lowercase().contains(&query)
            })
            .collect()
    }
}

/// Arguments of `search_notes`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// Text to look for in titles and bodies.
    pub query: String,
}

/// Arguments of `get_note`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetArgs {
    /// The note's id.
    pub id: u64,
}

/// Output of the list and search tools.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NoteList {
    /// The matching notes.
    pub notes: Vec<Note>,
}

/// The app's admin dashboard: lists the MCP tools through the REST view and calls `whoami`.
pub const DASHBOARD: &str = include_str!("../assets/dashboard.html");

/// The user the app's auth middleware found in the request's bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User(pub String);

/// The demo's token table: a real app would check a JWT or ask its identity provider.
const TOKENS: &[(&str, &str)] = &[("demo-token", "demo-admin"), ("alice-token", "alice")];

/// What the app's auth middleware does: the user named by `Authorization: Bearer <token>`.
pub fn user_from(authorization: Option<&str>) -> Option<User> {
    let token = authorization?.strip_prefix("Bearer ")?.trim();
    TOKENS
        .iter()
        .find(|(known, _)| *known == token)
        .map(|(_, user)| User((*user).to_owned()))
}

/// The same tokens as an MCP token verifier, so the MCP routes answer unauthenticated clients
/// with the OAuth challenge that lets them discover where to get a token.
#[derive(Debug)]
pub struct DemoTokens;

impl TokenVerifier for DemoTokens {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(async move {
            TOKENS
                .iter()
                .find(|(known, _)| *known == token)
                .map(|(_, user)| Principal::new(*user, ["notes"]))
                .ok_or_else(|| InvalidToken("unknown token".into()))
        })
    }
}

/// The MCP server of the notes app, as one process or as one replica of several: see
/// [`notes_builder`] and [`deploy`].
///
/// # Errors
///
/// With `REDIS_URL` set, when Redis cannot be reached.
pub async fn notes_mcp(notes: &Notes) -> std::io::Result<McpServer> {
    deploy(notes_builder(notes)).await
}

/// How long a graceful shutdown gives the MCP calls in flight.
pub const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on SIGTERM (what an orchestrator sends to stop a replica) or Ctrl-C.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Builds `builder`'s server; with `REDIS_URL` set (e.g. `redis://127.0.0.1:6379`), as one
/// replica of several that share their sessions through that Redis, so that a load balancer
/// may send any request to any replica. `MCP_REQUEST_STATE_KEY` (32 or more bytes, the same on
/// every replica) seals the 2026-07-28 `requestState`; without it the server warns at start-up.
/// (The notes themselves live in each process's memory: a real app keeps them in its
/// database.)
///
/// # Errors
///
/// With `REDIS_URL` set, when Redis cannot be reached.
pub async fn deploy(builder: McpServerBuilder) -> std::io::Result<McpServer> {
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok(builder.build());
    };
    let cluster = RedisCluster::connect(&url)
        .await
        .map_err(|e| std::io::Error::other(format!("REDIS_URL={url}: {e}")))?;
    // The one line that makes the server one replica of several.
    let builder = builder.cluster(cluster);
    let builder = match std::env::var("MCP_REQUEST_STATE_KEY") {
        Ok(key) => builder.request_state_keys([key.as_bytes()]),
        Err(_) => builder,
    };
    Ok(builder.build())
}

/// The MCP server of the notes app, to build: its tools work on the same [`Notes`] as the
/// REST routes.
///
/// It requires a bearer token (the demo's are `demo-token` and `alice-token`), publishes its
/// OAuth protected resource metadata, and serves the REST view its dashboard uses. Beside the
/// tools: a resource (`notes://readme`), a template (`notes://notes/{id}`, with completion of
/// the id) and a prompt (`summarise_note`), over the same notes.
pub fn notes_builder(notes: &Notes) -> McpServerBuilder {
    let (list, search, get, add) = (notes.clone(), notes.clone(), notes.clone(), notes.clone());
    let (read, ids, summarise, argument_ids) =
        (notes.clone(), notes.clone(), notes.clone(), notes.clone());
    McpServer::builder("notes", env!("CARGO_PKG_VERSION"))
        .title("Notes")
        .instructions("Tools to read and write the user's notes.")
        .rest_view(true)
        .oauth(
            ProtectedResource::new(["https://auth.example.com"])
                .required_scopes(["notes"])
                .resource_name("Notes"),
            DemoTokens,
        )
        .tool(
            Tool::new("whoami", |ctx: RequestContext| async move {
                match ctx.extensions().get::<User>() {
                    Some(User(name)) => Ok(name.clone()),
                    None => Err("no user: the auth middleware found no valid token"),
                }
            })
            .description("Says which user the app's auth middleware recognised"),
        )
        .tool(
            Tool::new("list_notes", move || {
                let notes = list.all();
                async move { Json(NoteList { notes }) }
            })
            .description("Lists every note")
            .annotations(ToolAnnotations {
                read_only_hint: Some(true),
                ..ToolAnnotations::default()
            }),
        )
        .tool(
            Tool::new("search_notes", move |args: SearchArgs| {
                let notes = search.search(&args.query);
                async move { Json(NoteList { notes }) }
            })
            .description("Finds notes whose title or text contains the query")
            .annotations(ToolAnnotations {
                read_only_hint: Some(true),
                ..ToolAnnotations::default()
            }),
        )
        .tool(
            Tool::new("get_note", move |args: GetArgs| {
                let note = get.get(args.id);
                async move {
                    note.map(Json)
                        .ok_or_else(|| format!("no note with id {}", args.id))
                }
            })
            .description("Reads one note by id"),
        )
        .tool(
            Tool::new("add_note", move |args: NewNote, ctx: RequestContext| {
                let notes = add.clone();
                async move {
                    let note = notes.add(args);
                    ctx.log(
                        LoggingLevel::Info,
                        Some("notes"),
                        format!("added note {}", note.id),
                    )
                    .await;
                    Json(note)
                }
            })
            .description("Adds a note and returns it"),
        )
        .resource(
            Resource::new(
                "notes://readme",
                "readme",
                |ctx: RequestContext| async move {
                    // Resources see the middleware's user too.
                    let user = ctx
                        .extensions()
                        .get::<User>()
                        .map_or("nobody", |User(name)| name.as_str())
                        .to_owned();
                    format!(
                        "# Notes\n\nSigned in as {user}. Read a note at `notes://notes/{{id}}`, \
                     search with `search_notes`, add one with `add_note`."
                    )
                },
            )
            .title("How to use the notes server")
            .mime_type("text/markdown"),
        )
        .resource_template(
            ResourceTemplate::new(
                "notes://notes/{id}",
                "note",
                move |vars: UriVariables, _ctx: RequestContext| {
                    let note = vars
                        .get("id")
                        .and_then(|id| id.parse().ok())
                        .and_then(|id| read.get(id));
                    let uri = format!("notes://notes/{}", vars.get("id").unwrap_or_default());
                    async move {
                        note.map(|note| format!("# {}\n\n{}", note.title, note.body))
                            .ok_or_else(|| RpcError::resource_not_found(&uri))
                    }
                },
            )
            .title("One note")
            .mime_type("text/markdown")
            .complete("id", move |req: CompletionRequest, _ctx: RequestContext| {
                let ids = note_ids(&ids, &req.value);
                async move { ids }
            }),
        )
        .prompt(
            Prompt::new(
                "summarise_note",
                move |args: HashMap<String, String>, _ctx: RequestContext| {
                    let note = args
                        .get("id")
                        .and_then(|id| id.parse().ok())
                        .and_then(|id| summarise.get(id));
                    async move {
                        let note = note.ok_or_else(|| {
                            RpcError::invalid_params("no note with that id: see list_notes")
                        })?;
                        Ok::<_, RpcError>(PromptMessage::user(format!(
                            "Summarise this note in one sentence.\n\n# {}\n\n{}",
                            note.title, note.body
                        )))
                    }
                },
            )
            .title("Summarise a note")
            .description("Asks for a one-sentence summary of a note")
            .argument(PromptArgument::required("id").description("The note's id"))
            .complete("id", move |req: CompletionRequest, _ctx: RequestContext| {
                let ids = note_ids(&argument_ids, &req.value);
                async move { ids }
            }),
        )
}

/// The app's REST routes as MCP tools: the route tools of its OpenAPI document (written by the
/// framework's own OpenAPI crate), beside the hand-written tools of [`notes_builder`]. The
/// caller's `Authorization` header goes with each call (the default), so the app's auth
/// middleware sees the MCP client's own token.
///
/// # Errors
///
/// A document that is not OpenAPI 3.
pub fn notes_routes(doc: &serde_json::Value) -> std::io::Result<mcp_mount::routes::RouteTools> {
    mcp_mount::routes::RouteTools::from_openapi(doc)
        .map(|routes| routes.exclude_path("/mcp"))
        .map_err(std::io::Error::other)
}

/// The ids of the notes that start with `typed`, for completion.
fn note_ids(notes: &Notes, typed: &str) -> Vec<String> {
    notes
        .all()
        .into_iter()
        .map(|note| note.id.to_string())
        .filter(|id| id.starts_with(typed))
        .collect()
}
