// #[tool] is for free functions.
use mcp_mount::tool;

struct Notes;

impl Notes {
    /// Counts.
    #[tool]
    async fn count(&self) -> String {
        String::new()
    }
}

fn main() {}
