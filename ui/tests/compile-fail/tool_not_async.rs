// A handler returns a future.
use mcp_mount::Tool;

fn main() {
    let _ = Tool::new("hello", || "hello");
}
