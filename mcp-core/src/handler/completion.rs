//! Completion handlers for prompt arguments and resource-template variables.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use crate::handler::context::RequestContext;
use crate::handler::future::BoxFuture;
use crate::protocol::model::Completion;

/// What `completion/complete` asks a completion handler for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The prompt argument or template variable being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Values already chosen for the other arguments or variables (`context.arguments`).
    pub context: HashMap<String, String>,
}

/// A function that can complete a prompt argument or a template variable: an async fn or
/// closure taking the [`CompletionRequest`] and a [`RequestContext`] and resolving to a
/// [`Completion`] or a `Vec` of strings; see [`Prompt::complete`](crate::Prompt::complete) and
/// [`ResourceTemplate::complete`](crate::ResourceTemplate::complete).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a completion handler",
    label = "expected an async fn or closure `|req: CompletionRequest, ctx: RequestContext| async move {{ … }}`",
    note = "a completion handler takes the `CompletionRequest` and the `RequestContext`, in that \
            order, and returns a `Send + 'static` future resolving to a `Completion`, a \
            `Vec<String>` or a `Vec<&'static str>`",
    note = "usual causes: the values themselves instead of a handler; the context first"
)]
pub trait CompletionHandler<Fut>:
    Fn(CompletionRequest, RequestContext) -> Fut + Send + Sync + 'static
{
}

impl<F, Fut> CompletionHandler<Fut> for F where
    F: Fn(CompletionRequest, RequestContext) -> Fut + Send + Sync + 'static
{
}

pub(crate) type CompleteFn =
    dyn Fn(CompletionRequest, RequestContext) -> BoxFuture<Completion> + Send + Sync;

/// Boxes a completion handler: an async fn or closure taking the [`CompletionRequest`] and a
/// [`RequestContext`] and returning anything that converts into a [`Completion`] (such as a
/// `Vec<String>`).
pub(crate) fn completer<F, Fut, R>(handler: F) -> Arc<CompleteFn>
where
    F: CompletionHandler<Fut>,
    Fut: Future<Output = R> + Send + 'static,
    R: Into<Completion>,
{
    Arc::new(move |request, ctx| {
        let fut = handler(request, ctx);
        Box::pin(async move { fut.await.into() })
    })
}
