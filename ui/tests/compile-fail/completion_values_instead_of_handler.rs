// Completion takes a handler, not the values.
use std::collections::HashMap;

use mcp_mount::{Prompt, PromptMessage, RequestContext};

fn main() {
    let _ = Prompt::new(
        "review",
        |_args: HashMap<String, String>, _ctx: RequestContext| async { PromptMessage::user("hi") },
    )
    .complete("language", vec!["rust", "python"]);
}
