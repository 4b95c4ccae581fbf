// Argument types need schemars' JsonSchema beside Deserialize.
use mcp_mount::Tool;
use serde::Deserialize;

#[derive(Deserialize)]
struct Search {
    query: String,
}

fn main() {
    let _ = Tool::new("search", |args: Search| async move { args.query });
}
