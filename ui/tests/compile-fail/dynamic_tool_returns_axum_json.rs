// The dynamic form names the result trait itself.
use mcp_mount::Tool;
use mcp_mount::serde_json::{Map, Value, json};

fn main() {
    let _ = Tool::dynamic(
        "echo",
        json!({"type": "object"}),
        |args: Map<String, Value>, _ctx| async move { axum::Json(args) },
    );
}
