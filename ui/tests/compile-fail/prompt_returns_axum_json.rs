// Prompts return messages.
use std::collections::HashMap;

use mcp_mount::{Prompt, RequestContext};

fn main() {
    let _ = Prompt::new(
        "review",
        |args: HashMap<String, String>, _ctx: RequestContext| async move { axum::Json(args) },
    );
}
