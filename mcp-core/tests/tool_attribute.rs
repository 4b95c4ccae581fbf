//! `#[tool]`: what a documented async fn becomes, as a client sees it in `tools/list` and
//! `tools/call`.

use bytes::Bytes;
use mcp_mount::{Json, McpServer, RequestContext, tool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone)]
struct User {
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

/// Adds two integers.
///
/// Both must fit in 64 bits.
#[tool(title = "Add", read_only, idempotent, open_world = false)]
async fn add(args: AddArgs) -> Json<Sum> {
    Json(Sum {
        sum: args.a + args.b,
    })
}

/// Says which user the host's middleware let in.
#[tool]
async fn whoami(ctx: RequestContext) -> String {
    ctx.extensions()
        .get::<User>()
        .map_or_else(|| "anonymous".to_owned(), |u| u.name.clone())
}

/// This text is replaced by the attribute's.
#[tool(name = "greet.v2", description = "Greets", destructive = false)]
async fn greet(args: AddArgs, _ctx: RequestContext) -> Result<String, String> {
    if args.a < 0 {
        return Err("a must not be negative".to_owned());
    }
    Ok(format!("hello {}", args.a + args.b))
}

#[tool]
async fn undocumented() -> &'static str {
    "ok"
}

fn server() -> McpServer {
    McpServer::builder("attribute", "1.0.0")
        .tool(add_tool())
        .tool(whoami_tool())
        .tool(greet_tool())
        .tool(undocumented_tool())
        .stateless(true)
        .build()
}

async fn call(server: &McpServer, body: Value, user: Option<User>) -> Value {
    let mut request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Bytes::from(body.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    let response = server.handle(request, "/mcp").await;
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .as_full()
        .unwrap_or_else(|| panic!("a JSON answer"))
        .clone();
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"))
}

fn list_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
}

fn call_body(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
}

#[tokio::test]
async fn the_fn_name_doc_comment_and_attributes_become_the_definition() {
    let server = server();
    let list = call(&server, list_body(), None).await;
    let tools = list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"));
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {list}"))
            .clone()
    };

    let add = tool("add");
    assert_eq!(
        add["description"],
        "Adds two integers.\n\nBoth must fit in 64 bits."
    );
    assert_eq!(add["title"], "Add");
    assert_eq!(
        add["annotations"],
        json!({"readOnlyHint": true, "idempotentHint": true, "openWorldHint": false})
    );
    assert_eq!(
        add["inputSchema"]["properties"]["a"]["description"],
        "The first addend."
    );
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    assert!(
        add["outputSchema"]["properties"]["sum"].is_object(),
        "{add}"
    );

    let whoami = tool("whoami");
    assert_eq!(
        whoami["description"],
        "Says which user the host's middleware let in."
    );
    assert!(whoami.get("annotations").is_none(), "{whoami}");
    assert!(whoami.get("title").is_none(), "{whoami}");

    let greet = tool("greet.v2");
    assert_eq!(greet["description"], "Greets");
    assert_eq!(greet["annotations"], json!({"destructiveHint": false}));

    let undocumented = tool("undocumented");
    assert!(undocumented.get("description").is_none(), "{undocumented}");
}

#[tokio::test]
async fn the_tool_runs_the_function() {
    let server = server();
    let result = call(&server, call_body("add", json!({"a": 2, "b": 3})), None).await;
    assert_eq!(result["result"]["structuredContent"], json!({"sum": 5}));

    let alice = User {
        name: "alice".to_owned(),
    };
    let result = call(&server, call_body("whoami", json!({})), Some(alice)).await;
    assert_eq!(result["result"]["content"][0]["text"], "alice");
    let result = call(&server, call_body("whoami", json!({})), None).await;
    assert_eq!(result["result"]["content"][0]["text"], "anonymous");

    let result = call(
        &server,
        call_body("greet.v2", json!({"a": -1, "b": 0})),
        None,
    )
    .await;
    assert_eq!(result["result"]["isError"], true);
    assert_eq!(
        result["result"]["content"][0]["text"],
        "a must not be negative"
    );
}

#[tokio::test]
async fn the_function_stays_callable() {
    let Json(sum) = add(AddArgs { a: 1, b: 1 }).await;
    assert_eq!(sum.sum, 2);
}
