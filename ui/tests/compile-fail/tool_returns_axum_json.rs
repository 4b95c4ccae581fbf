// A web framework's Json is not a tool result: mcp_mount::Json is.
use mcp_mount::Tool;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

fn main() {
    let _ = Tool::new("sum", || async { axum::Json(Sum { sum: 3 }) });
}
