// #[tool] reports a shape it cannot take at the function.
use mcp_mount::{RequestContext, tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Search {
    query: String,
}

/// Searches.
#[tool]
async fn search(_ctx: RequestContext, args: Search) -> String {
    args.query
}

fn main() {
    let _ = search_tool();
}
