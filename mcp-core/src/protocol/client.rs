//! Requests a handler sends to the client: sampling, elicitation and roots.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::jsonrpc::RpcError;
use crate::protocol::model::{Content, Role};

/// The parameters of `sampling/createMessage`: ask the client's model for a completion.
///
/// # Examples
///
/// ```
/// use mcp_mount::model::{CreateMessageParams, SamplingMessage};
///
/// let params = CreateMessageParams::new(100)
///     .message(SamplingMessage::user_text("What is the capital of France?"))
///     .system_prompt("Answer in one word.");
/// # let _ = params;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageParams {
    messages: Vec<SamplingMessage>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_preferences: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    include_context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
}

impl CreateMessageParams {
    /// A request for at most `max_tokens` tokens; add messages with [`message`](Self::message).
    pub fn new(max_tokens: u32) -> Self {
        Self {
            max_tokens,
            ..Self::default()
        }
    }

    /// Appends a message to the conversation.
    #[must_use]
    pub fn message(mut self, message: SamplingMessage) -> Self {
        self.messages.push(message);
        self
    }

    /// Sets the system prompt.
    #[must_use]
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Adds a stop sequence.
    #[must_use]
    pub fn stop_sequence(mut self, stop: impl Into<String>) -> Self {
        self.stop_sequences.push(stop.into());
        self
    }

    /// Sets `modelPreferences` (hints, cost, speed and intelligence priorities).
    #[must_use]
    pub fn model_preferences(mut self, preferences: Value) -> Self {
        self.model_preferences = Some(preferences);
        self
    }

    /// Sets `includeContext` (`"none"`, `"thisServer"` or `"allServers"`).
    #[must_use]
    pub fn include_context(mut self, context: impl Into<String>) -> Self {
        self.include_context = Some(context.into());
        self
    }

    /// Sets provider-specific `metadata`.
    #[must_use]
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Offers the model tools (needs the client's `sampling.tools` capability) and optionally a
    /// `toolChoice`.
    #[must_use]
    pub fn tools(mut self, tools: Vec<Value>, tool_choice: Option<Value>) -> Self {
        self.tools = Some(tools);
        self.tool_choice = tool_choice;
        self
    }

    pub(crate) fn uses_tools(&self) -> bool {
        self.tools.is_some()
    }
}

/// One message of a sampling conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingMessage {
    /// Who speaks.
    pub role: Role,
    /// One content block, or an array of them.
    pub content: Value,
}

impl SamplingMessage {
    /// A message holding one content block (text, image or audio).
    pub fn new(role: Role, content: Content) -> Self {
        Self {
            role,
            // Content is our own derive(Serialize) type: it always serialises.
            content: serde_json::to_value(content).unwrap_or_default(),
        }
    }

    /// A text message from the user.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::new(Role::User, Content::text(text))
    }
}

/// What the client's model answered to `sampling/createMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateMessageResult {
    /// Who speaks (the assistant).
    pub role: Role,
    /// One content block, or an array of them.
    pub content: Value,
    /// The model that answered.
    pub model: String,
    /// Why sampling stopped (`endTurn`, `stopSequence`, `maxTokens`, `toolUse`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

impl CreateMessageResult {
    /// The text of the first text block of the answer.
    pub fn text(&self) -> Option<&str> {
        let block = match &self.content {
            Value::Array(blocks) => blocks.iter().find(|b| b["type"] == "text")?,
            block => block,
        };
        (block["type"] == "text")
            .then(|| block["text"].as_str())
            .flatten()
    }
}

/// The parameters of `elicitation/create`: ask the user for input through the client.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elicitation_id: Option<String>,
}

impl ElicitParams {
    /// Form mode: the client shows `message` and a form for `requested_schema`, a flat object
    /// schema of primitive properties. Never use it for sensitive data; use
    /// [`url`](Self::url) for that.
    pub fn form(message: impl Into<String>, requested_schema: Value) -> Self {
        Self {
            mode: None,
            message: message.into(),
            requested_schema: Some(requested_schema),
            url: None,
            elicitation_id: None,
        }
    }

    /// URL mode (2025-11-25): the client offers to open `url`, where the user completes the
    /// interaction out of band; `elicitation_id` identifies it.
    pub fn url(
        message: impl Into<String>,
        url: impl Into<String>,
        elicitation_id: impl Into<String>,
    ) -> Self {
        Self {
            mode: Some("url"),
            message: message.into(),
            requested_schema: None,
            url: Some(url.into()),
            elicitation_id: Some(elicitation_id.into()),
        }
    }

    pub(crate) fn is_url(&self) -> bool {
        self.mode == Some("url")
    }
}

/// What the user chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// The user submitted (form mode: `content` holds the values) or consented (URL mode).
    Accept,
    /// The user refused.
    Decline,
    /// The user dismissed the request without choosing.
    Cancel,
}

/// The client's answer to `elicitation/create`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitResult {
    /// What the user chose.
    pub action: ElicitAction,
    /// The submitted values (form mode, when accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
}

/// A root the client exposes (`roots/list`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Root {
    /// The root's URI (`file://` in 2025-11-25).
    pub uri: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ListRootsResult {
    pub(crate) roots: Vec<Root>,
}

/// Why a request to the client failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientRequestError {
    /// The client did not declare this capability at `initialize` (e.g. `"sampling"`,
    /// `"elicitation.url"`), so nothing was sent.
    MissingCapability(&'static str),
    /// This request has no way to reach the client: stateless mode (no session to route the
    /// answer), or an answer sent as plain JSON (`ResponseMode::Json`, a JSON-RPC batch).
    Unavailable(&'static str),
    /// The client did not answer in time; the request was cancelled
    /// (`notifications/cancelled`).
    Timeout(Duration),
    /// The client answered with a JSON-RPC error.
    Rejected(RpcError),
    /// The client's answer does not have the shape of the expected result.
    InvalidResult(String),
    /// The session ended before the client answered.
    Closed,
}

impl fmt::Display for ClientRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingCapability(capability) => write!(
                f,
                "the client did not declare the {capability:?} capability at initialize"
            ),
            Self::Unavailable(why) => write!(f, "cannot send a request to the client: {why}"),
            Self::Timeout(after) => write!(f, "the client did not answer within {after:?}"),
            Self::Rejected(error) => write!(f, "the client answered with an error: {error}"),
            Self::InvalidResult(why) => write!(f, "the client's answer is malformed: {why}"),
            Self::Closed => f.write_str("the session ended before the client answered"),
        }
    }
}

impl std::error::Error for ClientRequestError {}
