//! The MCP server every example app mounts, as a client sees it: what it lists, that its
//! schemas use only JSON Schema 2020-12 formats, and that the user the host's middleware put in
//! the request's extensions reaches its tool and resource.

use bytes::Bytes;
use mcp_mount::McpServer;
use mcp_mount_conformance::cases::unknown_formats;
use mcp_mount_example_notes::{Notes, User, notes_builder};
use serde_json::{Value, json};

fn server() -> McpServer {
    notes_builder(&Notes::seeded()).stateless(true).build()
}

/// One stateless (2026-07-28) request, with the demo token and, as the host's middleware would
/// put it there, `user` in the extensions.
async fn call(server: &McpServer, method: &str, params: Value, user: Option<&str>) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut request = http::Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", "Bearer demo-token")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = params
        .get("name")
        .or(params.get("uri"))
        .and_then(Value::as_str)
    {
        request = request.header("mcp-name", name);
    }
    let mut request = request
        .body(Bytes::from(body.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(user) = user {
        request.extensions_mut().insert(User(user.to_owned()));
    }
    let response = server.handle(request, "/mcp").await;
    let status = response.status();
    let body = response.into_body().as_full().unwrap_or_default();
    let answer: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    assert_eq!(status, 200, "{method}: {answer}");
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

fn names(list: &Value, field: &str, key: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field}: {list}"))
        .iter()
        .filter_map(|item| item[key].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn lists_tools_a_resource_a_template_and_a_prompt() {
    let server = server();
    let tools = call(&server, "tools/list", json!({}), None).await;
    assert!(
        names(&tools, "tools", "name").contains(&"whoami".to_owned()),
        "{tools}"
    );
    let resources = call(&server, "resources/list", json!({}), None).await;
    assert_eq!(names(&resources, "resources", "uri"), ["notes://readme"]);
    let templates = call(&server, "resources/templates/list", json!({}), None).await;
    assert_eq!(
        names(&templates, "resourceTemplates", "uriTemplate"),
        ["notes://notes/{id}"]
    );
    let prompts = call(&server, "prompts/list", json!({}), None).await;
    assert_eq!(names(&prompts, "prompts", "name"), ["summarise_note"]);
}

#[tokio::test]
async fn tool_schemas_use_only_2020_12_formats() {
    let tools = call(&server(), "tools/list", json!({}), None).await;
    let mut unknown = Vec::new();
    for tool in tools["tools"].as_array().into_iter().flatten() {
        for field in ["inputSchema", "outputSchema"] {
            if let Some(schema) = tool.get(field) {
                unknown.extend(
                    unknown_formats(schema)
                        .into_iter()
                        .map(|(at, f)| format!("{} {field} {at}: {f}", tool["name"])),
                );
            }
        }
    }
    // Note::id is a u64: schemars' "uint64" became minimum/maximum.
    assert!(unknown.is_empty(), "{unknown:?}");
}

#[tokio::test]
async fn the_middlewares_user_reaches_the_tool_and_the_resource() {
    let server = server();
    let result = call(
        &server,
        "tools/call",
        json!({"name": "whoami"}),
        Some("alice"),
    )
    .await;
    assert_eq!(result["content"][0]["text"], "alice", "{result}");
    let result = call(
        &server,
        "resources/read",
        json!({"uri": "notes://readme"}),
        Some("alice"),
    )
    .await;
    let text = result["contents"][0]["text"].as_str().unwrap_or_default();
    assert!(text.contains("Signed in as alice"), "{result}");
    // Without a user the tool says so, as a tool error.
    let result = call(&server, "tools/call", json!({"name": "whoami"}), None).await;
    assert_eq!(result["isError"], true, "{result}");
}

#[tokio::test]
async fn the_template_the_prompt_and_completion_read_the_notes() {
    let server = server();
    let result = call(
        &server,
        "resources/read",
        json!({"uri": "notes://notes/2"}),
        None,
    )
    .await;
    assert!(
        result["contents"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("# Groceries"),
        "{result}"
    );
    let result = call(
        &server,
        "prompts/get",
        json!({"name": "summarise_note", "arguments": {"id": "1"}}),
        None,
    )
    .await;
    let text = result["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("# Welcome"), "{result}");
    let result = call(
        &server,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "summarise_note"},
               "argument": {"name": "id", "value": ""}}),
        None,
    )
    .await;
    assert_eq!(
        result["completion"]["values"],
        json!(["1", "2"]),
        "{result}"
    );
}
