//! The handler layer: tools, resources (and URI templates), prompts and completions as app
//! authors write them, and the [`RequestContext`](context::RequestContext) they are called with.

pub(crate) mod completion;
pub(crate) mod context;
pub(crate) mod future;
pub(crate) mod prompt;
pub(crate) mod resource;
pub(crate) mod schema;
pub(crate) mod tool;
