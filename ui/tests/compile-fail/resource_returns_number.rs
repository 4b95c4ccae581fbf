// Resource contents are text, bytes or ResourceContents.
use mcp_mount::{RequestContext, Resource};

fn main() {
    let _ = Resource::new("stats://count", "count", |_ctx: RequestContext| async { 42_u32 });
}
