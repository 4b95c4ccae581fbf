// Misspelt arguments are named, with the list of the right ones.
use mcp_mount::tool;

/// Says hello.
#[tool(read_ony)]
async fn hello() -> &'static str {
    "hello"
}

fn main() {}
