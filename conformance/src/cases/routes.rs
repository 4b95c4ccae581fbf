//! The host app's own REST routes as tools (`routes_as_tools`): every host serves the shop of
//! [`hosts::shop`](crate::hosts::shop), documented with its framework's OpenAPI crate, as tools
//! of the main fixture, called through the host's own router and middleware.

use serde_json::{Value, json};

use super::text_of;
use crate::hosts::shop::TOKEN;
use crate::{Session, Target, request_body};

/// Every tool of `tools/list`, following `nextCursor`.
async fn all_tools(session: &Session) -> Vec<Value> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let params = match &cursor {
            Some(cursor) => json!({"cursor": cursor}),
            None => json!({}),
        };
        let page = session.call("tools/list", params).await;
        tools.extend(page["tools"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return tools,
        }
    }
    panic!("tools/list did not end after 50 pages");
}

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools.iter().find(|t| t["name"] == name).unwrap_or_else(|| {
        let names: Vec<&Value> = tools.iter().map(|t| &t["name"]).collect();
        panic!("no tool {name} in tools/list: {names:?}")
    })
}

/// Whether a schema's `type` is `kind` (alone, or beside `"null"`).
fn is_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(types) => types.iter().any(|t| t == kind),
        _ => false,
    }
}

/// Calls `name` with the shop's bearer token on the MCP request (forwarded to the route).
async fn call_with_token(session: &Session, name: &str, arguments: Value) -> Value {
    let body = request_body("tools/call", json!({"name": name, "arguments": arguments}));
    let response = session
        .send(
            session
                .post(&body)
                .header("authorization", format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(
        response.status, 200,
        "tools/call {name}: {:?}",
        response.body
    );
    response.result()
}

fn assert_success(result: &Value, what: &str) {
    assert_eq!(result["isError"], false, "{what}: {result}");
}

/// The shop's documented routes are tools with the names, schemas and annotations their
/// documents give.
pub async fn route_tools_are_listed(t: &Target) {
    let session = t.connect().await;
    let tools = all_tools(&session).await;

    let list = tool(&tools, "list_items");
    assert!(
        list["description"]
            .as_str()
            .is_some_and(|d| d.contains("Lists")),
        "{list}"
    );
    assert!(
        is_type(&list["inputSchema"]["properties"]["limit"], "integer"),
        "{list}"
    );
    let required = list["inputSchema"]["required"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !required.contains(&json!("limit")),
        "limit is optional: {list}"
    );
    assert_eq!(list["annotations"]["readOnlyHint"], true, "{list}");

    let create = tool(&tools, "create_item");
    assert!(
        is_type(&create["inputSchema"]["properties"]["name"], "string"),
        "{create}"
    );
    assert_eq!(
        create["inputSchema"]["required"],
        json!(["name"]),
        "{create}"
    );
    assert_eq!(create["annotations"]["readOnlyHint"], false, "{create}");
    assert_eq!(create["annotations"]["destructiveHint"], false, "{create}");
    assert_eq!(create["annotations"]["idempotentHint"], false, "{create}");
    // The 201 answer is a JSON object: its schema is the output schema.
    assert_eq!(create["outputSchema"]["type"], "object", "{create}");
    let output = &create["outputSchema"]["properties"];
    assert!(
        is_type(&output["id"], "integer") && is_type(&output["name"], "string"),
        "{create}"
    );

    let replace = tool(&tools, "replace_item");
    assert_eq!(replace["annotations"]["idempotentHint"], true, "{replace}");
    // Nothing of the MCP mount itself is a tool (the documents describe only the shop).
    assert!(
        tools
            .iter()
            .all(|t| t["name"] != "listTools" && t["name"] != "toolImage"),
        "the REST view became tools"
    );
}

/// A call runs the real route through the host's middleware: without the token the MCP
/// request carried, the route's 401 comes back as a tool error; with it, the route's answer.
pub async fn route_tools_pass_the_hosts_middleware(t: &Target) {
    let session = t.connect().await;
    let denied = session.call_tool("list_items", json!({})).await;
    assert_eq!(denied["isError"], true, "{denied}");
    let text = text_of(&denied);
    assert!(text.contains("401"), "{denied}");
    assert!(
        text.contains("missing or wrong bearer token"),
        "the route's own body: {denied}"
    );

    let listed = call_with_token(&session, "list_items", json!({})).await;
    assert_success(&listed, "list_items with the token");
    let items = listed["structuredContent"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 3, "{listed}");
    assert_eq!(items[0], json!({"id": 1, "name": "apple"}), "{listed}");
    // The text content carries the same JSON.
    let text: Value = serde_json::from_str(&text_of(&listed)).unwrap_or_default();
    assert_eq!(text, listed["structuredContent"], "{listed}");
}

/// Path, query and body arguments reach the route.
pub async fn route_tools_carry_path_query_and_body(t: &Target) {
    let session = t.connect().await;
    let limited = call_with_token(&session, "list_items", json!({"limit": 1})).await;
    assert_success(&limited, "list_items limit 1");
    assert_eq!(
        limited["structuredContent"]["items"],
        json!([{"id": 1, "name": "apple"}])
    );

    let created = call_with_token(&session, "create_item", json!({"name": "kiwi"})).await;
    assert_success(&created, "create_item");
    assert_eq!(created["structuredContent"]["name"], "kiwi", "{created}");
    assert!(
        created["structuredContent"]["id"]
            .as_u64()
            .is_some_and(|id| id >= 100),
        "{created}"
    );

    let pear = call_with_token(&session, "get_item", json!({"id": 2})).await;
    assert_success(&pear, "get_item 2");
    assert_eq!(pear["structuredContent"], json!({"id": 2, "name": "pear"}));

    let missing = call_with_token(&session, "create_item", json!({})).await;
    assert_eq!(
        missing["isError"], true,
        "the route's own validation refuses it: {missing}"
    );
}

/// The path's `id` and the body's `id` of `replace_item` are two arguments, `id` and
/// `body_id`, and each reaches its place.
pub async fn route_tools_disambiguate_colliding_names(t: &Target) {
    let session = t.connect().await;
    let tools = all_tools(&session).await;
    let replace = tool(&tools, "replace_item");
    let properties = &replace["inputSchema"]["properties"];
    assert!(is_type(&properties["id"], "integer"), "{replace}");
    assert!(is_type(&properties["body_id"], "integer"), "{replace}");
    assert!(is_type(&properties["name"], "string"), "{replace}");
    let required = replace["inputSchema"]["required"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        required.contains(&json!("id")),
        "a path argument is required: {replace}"
    );

    let replaced = call_with_token(
        &session,
        "replace_item",
        json!({"id": 7, "body_id": 9, "name": "fig"}),
    )
    .await;
    assert_success(&replaced, "replace_item");
    assert_eq!(
        replaced["structuredContent"],
        json!({"path_id": 7, "body_id": 9, "name": "fig"})
    );
}

/// An operation documented without an `operationId` is a tool named from its method and path.
pub async fn route_tools_name_operations_without_an_id(t: &Target) {
    let session = t.connect().await;
    let tools = all_tools(&session).await;
    let status = tool(&tools, "get_shop_status");
    assert_eq!(status["annotations"]["readOnlyHint"], true, "{status}");
    let answer = call_with_token(&session, "get_shop_status", json!({})).await;
    assert_success(&answer, "get_shop_status");
    assert_eq!(answer["structuredContent"], json!({"status": "ok"}));
}

/// A route's 404 and 500 are tool execution errors carrying the status and the route's body.
pub async fn route_tools_report_http_errors(t: &Target) {
    let session = t.connect().await;
    let missing = call_with_token(&session, "get_item", json!({"id": 999})).await;
    assert_eq!(missing["isError"], true, "{missing}");
    let text = text_of(&missing);
    assert!(
        text.contains("404") && text.contains("no item 999"),
        "{missing}"
    );

    let failed = call_with_token(&session, "fail", json!({})).await;
    assert_eq!(failed["isError"], true, "{failed}");
    let text = text_of(&failed);
    assert!(
        text.contains("500") && text.contains("failed on purpose"),
        "{failed}"
    );

    let unknown = call_with_token(&session, "get_item", json!({"id": 1, "colour": "red"})).await;
    assert_eq!(unknown["isError"], true, "an unknown argument: {unknown}");
    assert!(text_of(&unknown).contains("colour"), "{unknown}");
}
