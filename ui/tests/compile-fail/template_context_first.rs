// A template handler takes the variables first, the context second.
use mcp_mount::{RequestContext, ResourceTemplate, UriVariables};

fn main() {
    let _ = ResourceTemplate::new(
        "notes://{id}",
        "note",
        |_ctx: RequestContext, vars: UriVariables| async move {
            vars.get("id").unwrap_or_default().to_owned()
        },
    );
}
