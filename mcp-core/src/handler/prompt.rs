//! Prompts: named message templates with declared arguments.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::handler::completion::{CompleteFn, CompletionHandler, completer};
use crate::handler::context::RequestContext;
use crate::handler::future::BoxFuture;
use crate::protocol::jsonrpc::RpcError;
use crate::protocol::model::{Completion, Content, GetPromptResult, PromptMessage};

/// What a prompt handler may return.
///
/// Implemented for [`GetPromptResult`], `Vec<PromptMessage>`, [`PromptMessage`], text (one user
/// message) and `Result<T, RpcError>`, whose error is sent to the client.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not something a prompt handler can return",
    label = "the handler's future resolves to `{Self}`",
    note = "a prompt handler returns `GetPromptResult`, `Vec<PromptMessage>`, `PromptMessage`, text \
            (`String`, `&'static str`: one user message), or `Result<T, RpcError>` of one of those"
)]
pub trait IntoPromptResult {
    /// Converts the handler's output.
    ///
    /// # Errors
    ///
    /// The JSON-RPC error the client gets instead of messages.
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError>;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        Ok(self)
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        Ok(GetPromptResult::new(self))
    }
}

impl IntoPromptResult for PromptMessage {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        Ok(GetPromptResult::new(vec![self]))
    }
}

impl IntoPromptResult for String {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        Ok(GetPromptResult::new(vec![PromptMessage::user(
            Content::text(self),
        )]))
    }
}

impl IntoPromptResult for &'static str {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        self.to_owned().into_prompt_result()
    }
}

impl<T: IntoPromptResult> IntoPromptResult for Result<T, RpcError> {
    fn into_prompt_result(self) -> Result<GetPromptResult, RpcError> {
        self.and_then(IntoPromptResult::into_prompt_result)
    }
}

/// One argument a prompt declares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PromptArgument {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    required: bool,
}

impl PromptArgument {
    /// An optional argument named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: None,
            description: None,
            required: false,
        }
    }

    /// A required argument named `name`: `prompts/get` without it is `-32602`.
    pub fn required(name: impl Into<String>) -> Self {
        Self {
            required: true,
            ..Self::new(name)
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The argument's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the argument is required.
    pub fn is_required(&self) -> bool {
        self.required
    }
}

/// A function that can render a [`Prompt`]: an async fn or closure taking the arguments and a
/// [`RequestContext`]; see [`Prompt::new`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a prompt handler",
    label = "expected an async fn or closure `|args: HashMap<String, String>, ctx: RequestContext| async move {{ … }}`",
    note = "a prompt handler takes the arguments the client sent (`HashMap<String, String>`) and \
            the `RequestContext`, in that order, and returns a `Send + 'static` future resolving \
            to an `IntoPromptResult` (`PromptMessage`, `Vec<PromptMessage>`, `GetPromptResult`, \
            text, `Result<_, RpcError>`)",
    note = "usual causes: the messages themselves instead of a handler; the context first"
)]
pub trait PromptHandler<Fut>:
    Fn(HashMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static
{
}

impl<F, Fut> PromptHandler<Fut> for F where
    F: Fn(HashMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static
{
}

pub(crate) type GetOutput = Result<GetPromptResult, RpcError>;
type GetFn = dyn Fn(HashMap<String, String>, RequestContext) -> BoxFuture<GetOutput> + Send + Sync;

/// A prompt: a name, its declared arguments and the async handler that renders its messages.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use mcp_mount::{Prompt, PromptArgument, PromptMessage, RequestContext};
///
/// let review = Prompt::new("review", |args: HashMap<String, String>, _ctx: RequestContext| async move {
///     PromptMessage::user(format!("Review this code:\n{}", args["code"]))
/// })
/// .description("Asks for a code review")
/// .argument(PromptArgument::required("code").description("The code to review"));
/// # let _ = review;
/// ```
#[derive(Clone)]
pub struct Prompt {
    pub(crate) name: String,
    title: Option<String>,
    description: Option<String>,
    pub(crate) arguments: Vec<PromptArgument>,
    meta: Option<Map<String, Value>>,
    get: Arc<GetFn>,
    pub(crate) completers: Vec<(String, Arc<CompleteFn>)>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.name)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt named `name`. `handler` is an async fn or closure taking the arguments the client
    /// sent (every required one is present) and a [`RequestContext`], and returning anything
    /// [`IntoPromptResult`].
    pub fn new<F, Fut, R>(name: impl Into<String>, handler: F) -> Self
    where
        F: PromptHandler<Fut>,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoPromptResult,
    {
        Self {
            name: name.into(),
            title: None,
            description: None,
            arguments: Vec::new(),
            meta: None,
            get: Arc::new(move |args, ctx| {
                let fut = handler(args, ctx);
                Box::pin(async move { fut.await.into_prompt_result() })
            }),
            completers: Vec::new(),
        }
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the human-readable title.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Declares an argument.
    #[must_use]
    pub fn argument(mut self, argument: PromptArgument) -> Self {
        self.arguments.push(argument);
        self
    }

    /// Sets `_meta` on the prompt's definition.
    #[must_use]
    pub fn meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Completes values of the declared argument `argument` for `completion/complete` with a
    /// `ref/prompt` naming this prompt. `handler` is an async fn or closure taking a
    /// [`CompletionRequest`](crate::CompletionRequest) and a [`RequestContext`] and returning a [`Completion`] or a `Vec`
    /// of strings.
    #[must_use]
    pub fn complete<F, Fut, R>(mut self, argument: impl Into<String>, handler: F) -> Self
    where
        F: CompletionHandler<Fut>,
        Fut: Future<Output = R> + Send + 'static,
        R: Into<Completion>,
    {
        let argument = argument.into();
        self.completers.retain(|(a, _)| *a != argument);
        self.completers.push((argument, completer(handler)));
        self
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts rendering the prompt.
    pub(crate) fn get(
        &self,
        args: HashMap<String, String>,
        ctx: RequestContext,
    ) -> BoxFuture<GetOutput> {
        (self.get)(args, ctx)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("a prompt needs a name".to_owned());
        }
        for (i, argument) in self.arguments.iter().enumerate() {
            if self.arguments[..i].iter().any(|a| a.name == argument.name) {
                return Err(format!(
                    "prompt {:?} declares argument {:?} twice",
                    self.name, argument.name
                ));
            }
        }
        if let Some((argument, _)) = self
            .completers
            .iter()
            .find(|(a, _)| !self.arguments.iter().any(|d| d.name == *a))
        {
            return Err(format!(
                "prompt {:?} completes {argument:?}, which it does not declare",
                self.name
            ));
        }
        Ok(())
    }

    /// The definition in `prompts/list`, serialised once.
    pub(crate) fn definition(&self) -> Box<RawValue> {
        #[derive(Serialize)]
        struct Definition<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            title: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            description: Option<&'a str>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            arguments: &'a [PromptArgument],
            #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
            meta: Option<&'a Map<String, Value>>,
        }
        let definition = Definition {
            name: &self.name,
            title: self.title.as_deref(),
            description: self.description.as_deref(),
            arguments: &self.arguments,
            meta: self.meta.as_ref(),
        };
        // Strings and our own derive(Serialize) types always serialise.
        serde_json::value::to_raw_value(&definition).unwrap_or_default()
    }
}
