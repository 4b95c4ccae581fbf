//! One benchmark target per process: `bench-server TARGET ADDR [REDIS_URL [KEY_PREFIX]]` serves
//! `POST /mcp` on ADDR and prints `ready http://ADDR/mcp` once it accepts connections.
//!
//! Targets, each on its framework's default server set-up (no TCP_NODELAY added):
//! - `bare-{fw}`: the framework's own handler parsing the JSON-RPC `tools/call` body and
//!   answering the same bytes an MCP server does (the practical ceiling);
//! - `mcp-{fw}-stateless-json`, `mcp-{fw}-stateful-json`, `mcp-{fw}-stateful-sse`: mcp-mount's
//!   adapter serving one `add(a, b)` tool;
//! - `rmcp-stateless-json`, `rmcp-stateful`: rmcp's `StreamableHttpService` nested in axum;
//! - `mcp-axum-stateful-json-redis`, `mcp-axum-stateful-sse-redis`: the stateful axum targets
//!   as one replica of several, their sessions in the Redis at REDIS_URL (`mcp-mount-redis`,
//!   keys under KEY_PREFIX, default `mcp`);
//!
//! where `{fw}` is `axum`, `actix-web`, `poem` or `salvo`.

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;

use bytes::Bytes;
use mcp_mount::{McpServer, McpServerBuilder, ResponseMode, Tool};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    a: i64,
    b: i64,
}

fn mcp(mode: &str) -> Option<McpServer> {
    let builder = builder();
    Some(match mode {
        "stateless-json" => builder
            .stateless(true)
            .response_mode(ResponseMode::Json)
            .build(),
        "stateful-json" => builder.response_mode(ResponseMode::Json).build(),
        "stateful-sse" => builder.response_mode(ResponseMode::Sse).build(),
        _ => return None,
    })
}

/// Every mcp-mount target's server, before its mode.
fn builder() -> McpServerBuilder {
    // Above the memory run's 10,020 sessions (the default cap is 10,000).
    McpServer::builder("bench", "1.0.0")
        .max_sessions(1_000_000)
        .tool(
            Tool::new("add", |args: AddArgs| async move {
                (args.a + args.b).to_string()
            })
            .description("Adds two integers"),
        )
}

/// The same key on every replica seals 2026-07-28 `requestState` (a fixed one: a benchmark).
const REQUEST_STATE_KEY: [u8; 32] = *b"mcp-bench request-state key 32 B";

/// `mcp-axum-stateful-{json,sse}-redis`: the stateful axum target as one replica of a cluster
/// whose sessions live in the Redis at `url`, its keys under `prefix`.
fn axum_redis_target(
    listener: TcpListener,
    mode: &str,
    url: &str,
    prefix: &str,
) -> std::io::Result<()> {
    let response_mode = match mode {
        "stateful-json" => ResponseMode::Json,
        "stateful-sse" => ResponseMode::Sse,
        _ => return Err(unknown(&format!("mcp-axum-{mode}-redis"))),
    };
    runtime()?.block_on(async move {
        let options = mcp_mount_redis::RedisOptions::default().prefix(prefix);
        let cluster = mcp_mount_redis::RedisCluster::connect_with(url, options)
            .await
            .map_err(std::io::Error::other)?;
        let server = builder()
            .response_mode(response_mode)
            .cluster(cluster)
            .request_state_keys([REQUEST_STATE_KEY])
            .build();
        let app = axum::Router::new().nest_service("/mcp", mcp_mount_axum::router(server));
        announce(&listener)?;
        axum::serve(tokio::net::TcpListener::from_std(listener)?, app).await
    })
}

/// The bare handler's whole job: parse the call, add, answer with the bytes an MCP server sends.
fn bare_answer(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Call<'a> {
        #[serde(borrow)]
        id: &'a RawValue,
        #[serde(borrow)]
        method: std::borrow::Cow<'a, str>,
        params: Params,
    }
    #[derive(Deserialize)]
    struct Params {
        arguments: AddArgs,
    }
    let call: Call<'_> = serde_json::from_slice(body).ok()?;
    (call.method == "tools/call").then(|| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":"{}"}}],"isError":false}}}}"#,
            call.id.get(),
            call.params.arguments.a + call.params.arguments.b
        )
    })
}

mod peer {
    //! The rmcp server: one `add` tool, its router built once and kept in a field (rmcp's
    //! fastest configuration).
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::handler::server::wrapper::Parameters;
    use rmcp::{ServerHandler, tool, tool_handler, tool_router};

    #[derive(serde::Deserialize, rmcp::schemars::JsonSchema)]
    #[schemars(crate = "rmcp::schemars")]
    pub(crate) struct AddRequest {
        a: i64,
        b: i64,
    }

    #[derive(Clone)]
    pub(crate) struct Adder {
        tool_router: ToolRouter<Adder>,
    }

    #[tool_router]
    impl Adder {
        pub(crate) fn new() -> Self {
            Self {
                tool_router: Self::tool_router(),
            }
        }

        #[tool(description = "Adds two integers")]
        fn add(&self, Parameters(AddRequest { a, b }): Parameters<AddRequest>) -> String {
            (a + b).to_string()
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Adder {}
}

fn announce(listener: &TcpListener) -> std::io::Result<()> {
    println!("ready http://{}/mcp", listener.local_addr()?);
    std::io::stdout().flush()
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn serve_axum(listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
    runtime()?.block_on(async move {
        axum::serve(tokio::net::TcpListener::from_std(listener)?, app).await
    })
}

fn axum_target(listener: TcpListener, what: &str) -> std::io::Result<()> {
    use axum::routing::post;
    let app = match what {
        "bare" => axum::Router::new().route(
            "/mcp",
            post(|body: Bytes| async move {
                match bare_answer(&body) {
                    Some(answer) => {
                        ([(http::header::CONTENT_TYPE, "application/json")], answer).into_response()
                    }
                    None => http::StatusCode::BAD_REQUEST.into_response(),
                }
            }),
        ),
        mode => match mcp(mode) {
            Some(server) => {
                axum::Router::new().nest_service("/mcp", mcp_mount_axum::router(server))
            }
            None => return Err(unknown(what)),
        },
    };
    announce(&listener)?;
    serve_axum(listener, app)
}

use axum::response::IntoResponse as _;

fn rmcp_target(listener: TcpListener, mode: &str) -> std::io::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let config = match mode {
        "stateless-json" => StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None),
        "stateful" => StreamableHttpServerConfig::default(),
        _ => return Err(unknown(mode)),
    };
    announce(&listener)?;
    runtime()?.block_on(async move {
        let sessions = std::sync::Arc::new(LocalSessionManager::default());
        let service = StreamableHttpService::new(|| Ok(peer::Adder::new()), sessions, config);
        let app = axum::Router::new().nest_service("/mcp", service);
        axum::serve(tokio::net::TcpListener::from_std(listener)?, app).await
    })
}

fn actix_target(listener: TcpListener, what: &str) -> std::io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let server = match what {
        "bare" => None,
        mode => Some(mcp(mode).ok_or_else(|| unknown(what))?),
    };
    announce(&listener)?;
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new();
            match &server {
                None => app.route(
                    "/mcp",
                    web::post().to(|body: web::Bytes| async move {
                        match bare_answer(&body) {
                            Some(answer) => HttpResponse::Ok()
                                .content_type("application/json")
                                .body(answer),
                            None => HttpResponse::BadRequest().finish(),
                        }
                    }),
                ),
                Some(server) => app.service(
                    web::scope("/mcp").default_service(mcp_mount_actix_web::router(server.clone())),
                ),
            }
        })
        .listen(listener)?
        .run()
        .await
    })
}

fn poem_target(listener: TcpListener, what: &str) -> std::io::Result<()> {
    use poem::{EndpointExt, Response, Route, Server, endpoint::make, listener::TcpAcceptor, post};
    let route = match what {
        "bare" => Route::new().at(
            "/mcp",
            post(make(|req: poem::Request| async move {
                let body = req.into_body().into_bytes().await.unwrap_or_default();
                match bare_answer(&body) {
                    Some(answer) => Response::builder()
                        .content_type("application/json")
                        .body(answer),
                    None => Response::builder()
                        .status(http::StatusCode::BAD_REQUEST)
                        .finish(),
                }
            })),
        ),
        mode => Route::new().nest(
            "/mcp",
            mcp_mount_poem::router(mcp(mode).ok_or_else(|| unknown(what))?),
        ),
    };
    announce(&listener)?;
    runtime()?.block_on(async move {
        Server::new_with_acceptor(TcpAcceptor::from_std(listener)?)
            .run(route.boxed())
            .await
    })
}

struct BareSalvo;

#[salvo::async_trait]
impl salvo::Handler for BareSalvo {
    async fn handle(
        &self,
        req: &mut salvo::Request,
        _: &mut salvo::Depot,
        res: &mut salvo::Response,
        _: &mut salvo::FlowCtrl,
    ) {
        let answer = match req.payload().await {
            Ok(body) => bare_answer(body),
            Err(_) => None,
        };
        match answer {
            Some(answer) => {
                let _ = res.add_header(http::header::CONTENT_TYPE, "application/json", true);
                res.body(answer);
            }
            None => {
                res.status_code(http::StatusCode::BAD_REQUEST);
            }
        }
    }
}

fn salvo_target(listener: TcpListener, what: &str) -> std::io::Result<()> {
    use salvo::conn::tcp::TcpAcceptor;
    use salvo::{Router, Server};
    let router = match what {
        "bare" => Router::with_path("mcp").post(BareSalvo),
        mode => Router::with_path("mcp").push(mcp_mount_salvo::router(
            mcp(mode).ok_or_else(|| unknown(what))?,
        )),
    };
    announce(&listener)?;
    runtime()?.block_on(async move {
        let acceptor = TcpAcceptor::try_from(tokio::net::TcpListener::from_std(listener)?)?;
        Server::new(acceptor).serve(router).await;
        Ok(())
    })
}

fn unknown(target: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("unknown target {target:?}"),
    )
}

fn run(target: &str, addr: &str, redis: Option<(&str, &str)>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    if let Some(mode) = target
        .strip_prefix("mcp-axum-")
        .and_then(|rest| rest.strip_suffix("-redis"))
    {
        let Some((url, prefix)) = redis else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{target} needs a Redis URL: bench-server {target} ADDR REDIS_URL"),
            ));
        };
        return axum_redis_target(listener, mode, url, prefix);
    }
    if let Some(what) = target.strip_prefix("bare-") {
        return match what {
            "axum" => axum_target(listener, "bare"),
            "actix-web" => actix_target(listener, "bare"),
            "poem" => poem_target(listener, "bare"),
            "salvo" => salvo_target(listener, "bare"),
            _ => Err(unknown(target)),
        };
    }
    if let Some(mode) = target.strip_prefix("rmcp-") {
        return rmcp_target(listener, mode);
    }
    let rest = target.strip_prefix("mcp-").ok_or_else(|| unknown(target))?;
    for framework in ["actix-web", "axum", "poem", "salvo"] {
        if let Some(mode) = rest
            .strip_prefix(framework)
            .and_then(|m| m.strip_prefix('-'))
        {
            return match framework {
                "axum" => axum_target(listener, mode),
                "actix-web" => actix_target(listener, mode),
                "poem" => poem_target(listener, mode),
                _ => salvo_target(listener, mode),
            };
        }
    }
    Err(unknown(target))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (target, addr, redis) = match args.as_slice() {
        [target, addr] => (target, addr, None),
        [target, addr, url] => (target, addr, Some((url.as_str(), "mcp"))),
        [target, addr, url, prefix] => (target, addr, Some((url.as_str(), prefix.as_str()))),
        _ => {
            eprintln!("usage: bench-server TARGET ADDR [REDIS_URL [KEY_PREFIX]]");
            return ExitCode::from(2);
        }
    };
    match run(target, addr, redis) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server {target}: {e}");
            ExitCode::FAILURE
        }
    }
}
