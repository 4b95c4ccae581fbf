// The context comes after the arguments.
use mcp_mount::{RequestContext, Tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Search {
    query: String,
}

fn main() {
    let _ = Tool::new("search", |_ctx: RequestContext, args: Search| async move { args.query });
}
