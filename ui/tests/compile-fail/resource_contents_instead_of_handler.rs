// A resource takes a handler, not its contents.
use mcp_mount::Resource;

fn main() {
    let _ = Resource::new("docs://readme", "readme", "# Hello");
}
