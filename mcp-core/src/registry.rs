//! The registered tools, resources, templates and prompts: immutable snapshots, replaced as a
//! whole when the set changes at run time, with their list definitions serialised once.

use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::handler::prompt::Prompt;
use crate::handler::resource::{Resource, ResourceTemplate};
use crate::handler::tool::Tool;
use crate::protocol::jsonrpc::RpcError;

/// Something a registry holds.
pub(crate) trait Entry: Clone {
    /// What it is called in messages ("tool", "prompt", …).
    const KIND: &'static str;
    /// Its unique key (name or URI).
    fn key(&self) -> &str;
    /// Its definition as `*/list` shows it.
    fn definition(&self) -> Box<RawValue>;
    /// Checks what the spec requires of it.
    fn validate(&self) -> Result<(), String>;
}

impl Entry for Tool {
    const KIND: &'static str = "tool";
    fn key(&self) -> &str {
        &self.name
    }
    fn definition(&self) -> Box<RawValue> {
        Tool::definition(self)
    }
    fn validate(&self) -> Result<(), String> {
        Tool::validate(self)
    }
}

impl Entry for Resource {
    const KIND: &'static str = "resource";
    fn key(&self) -> &str {
        &self.uri
    }
    fn definition(&self) -> Box<RawValue> {
        Resource::definition(self)
    }
    fn validate(&self) -> Result<(), String> {
        Resource::validate(self)
    }
}

impl Entry for ResourceTemplate {
    const KIND: &'static str = "resource template";
    fn key(&self) -> &str {
        &self.template
    }
    fn definition(&self) -> Box<RawValue> {
        ResourceTemplate::definition(self)
    }
    fn validate(&self) -> Result<(), String> {
        ResourceTemplate::validate(self)
    }
}

impl Entry for Prompt {
    const KIND: &'static str = "prompt";
    fn key(&self) -> &str {
        &self.name
    }
    fn definition(&self) -> Box<RawValue> {
        Prompt::definition(self)
    }
    fn validate(&self) -> Result<(), String> {
        Prompt::validate(self)
    }
}

/// An ordered set of entries with unique keys.
pub(crate) struct Registry<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
    definitions: Vec<Box<RawValue>>,
}

impl<T: Entry> Registry<T> {
    /// A registry of `items`, in order.
    pub(crate) fn new(items: Vec<T>) -> Result<Self, String> {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            item.validate()?;
            if index.insert(item.key().to_owned(), i).is_some() {
                return Err(format!("{} {:?} is registered twice", T::KIND, item.key()));
            }
        }
        let definitions = items.iter().map(Entry::definition).collect();
        Ok(Self {
            items,
            index,
            definitions,
        })
    }

    /// A copy with `item` added, or replacing the entry with the same key in place.
    pub(crate) fn with(&self, item: T) -> Result<Self, String> {
        item.validate()?;
        let mut items = self.items.clone();
        match self.index.get(item.key()) {
            Some(&i) => items[i] = item,
            None => items.push(item),
        }
        Self::new(items)
    }

    /// A copy without the entry `key`; `None` when there is none.
    pub(crate) fn without(&self, key: &str) -> Option<Self> {
        let &i = self.index.get(key)?;
        let mut items = self.items.clone();
        items.remove(i);
        Self::new(items).ok()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        self.index.get(key).map(|&i| &self.items[i])
    }

    /// Every definition, in order.
    pub(crate) fn definitions(&self) -> &[Box<RawValue>] {
        &self.definitions
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One page of `{"<field>":[definitions…],"nextCursor":…}` from an opaque `cursor`.
    pub(crate) fn page(
        &self,
        field: &str,
        cursor: Option<&str>,
        page_size: usize,
    ) -> Result<Vec<u8>, RpcError> {
        let definitions = &self.definitions;
        let start = match cursor {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .filter(|start| *start <= definitions.len())
                .ok_or_else(|| RpcError::invalid_params("Invalid params: invalid cursor"))?,
        };
        let end = start.saturating_add(page_size).min(definitions.len());
        let page = &definitions[start..end];
        let mut out =
            Vec::with_capacity(64 + page.iter().map(|d| d.get().len() + 1).sum::<usize>());
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":[");
        for (i, definition) in page.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(definition.get().as_bytes());
        }
        out.push(b']');
        if end < definitions.len() {
            out.extend_from_slice(b",\"nextCursor\":\"");
            out.extend_from_slice(encode_cursor(end).as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(out)
    }
}

fn encode_cursor(offset: usize) -> String {
    format!("o{offset:x}")
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix('o')?, 16).ok()
}
