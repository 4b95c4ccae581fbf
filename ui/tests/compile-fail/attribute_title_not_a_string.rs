// Text arguments are string literals.
use mcp_mount::tool;

/// Says hello.
#[tool(title = Hello)]
async fn hello() -> &'static str {
    "hello"
}

fn main() {}
