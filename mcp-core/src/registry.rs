//! The registered tools, resources, templates and prompts: immutable snapshots, replaced as a
//! whole when the set changes at run time, with their list definitions serialised once.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

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

    /// Every definition, in order (the REST view lists them; the engine pages them itself).
    #[cfg(feature = "rest-view")]
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

/// A registry that can be replaced while the server runs: readers take the current snapshot
/// (an `Arc`, so a running call keeps the set it started with), a change swaps in a new one.
pub(crate) struct Shelf<T> {
    current: RwLock<Arc<Registry<T>>>,
}

impl<T: Entry> Shelf<T> {
    /// A shelf holding `items`, checked as [`Registry::new`] checks them.
    pub(crate) fn new(items: Vec<T>) -> Result<Self, String> {
        Ok(Self {
            current: RwLock::new(Arc::new(Registry::new(items)?)),
        })
    }

    /// The current snapshot.
    ///
    /// A writer that panicked cannot have left a half-made registry behind (it swaps in a
    /// finished one or nothing), so a poisoned lock still holds a valid snapshot and is read.
    pub(crate) fn snapshot(&self) -> Arc<Registry<T>> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` on the current registry without taking a snapshot (the hot path's lookup).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Registry<T>) -> R) -> R {
        f(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the registry with `change(current)`, if it gives one; `Ok(false)` when not.
    pub(crate) fn update(
        &self,
        change: impl FnOnce(&Registry<T>) -> Result<Option<Registry<T>>, String>,
    ) -> Result<bool, String> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match change(&current)? {
            Some(next) => {
                *current = Arc::new(next);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Everything a server offers, each kind on its own shelf.
pub(crate) struct Registries {
    pub(crate) tools: Shelf<Tool>,
    pub(crate) resources: Shelf<Resource>,
    pub(crate) templates: Shelf<ResourceTemplate>,
    pub(crate) prompts: Shelf<Prompt>,
}

/// Which kinds of entry a server has now: what its capabilities declare.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Offered {
    pub(crate) tools: bool,
    pub(crate) resources: bool,
    pub(crate) templates: bool,
    pub(crate) prompts: bool,
}

impl Registries {
    /// The registries of a server definition.
    pub(crate) fn new(
        tools: Vec<Tool>,
        resources: Vec<Resource>,
        templates: Vec<ResourceTemplate>,
        prompts: Vec<Prompt>,
    ) -> Result<Self, String> {
        Ok(Self {
            tools: Shelf::new(tools)?,
            resources: Shelf::new(resources)?,
            templates: Shelf::new(templates)?,
            prompts: Shelf::new(prompts)?,
        })
    }

    /// Which kinds are registered now.
    pub(crate) fn offered(&self) -> Offered {
        Offered {
            tools: !self.tools.snapshot().is_empty(),
            resources: !self.resources.snapshot().is_empty(),
            templates: !self.templates.snapshot().is_empty(),
            prompts: !self.prompts.snapshot().is_empty(),
        }
    }

    /// Whether `uri` names a resource or matches a template.
    pub(crate) fn resource_exists(&self, uri: &str) -> bool {
        self.resources.snapshot().get(uri).is_some()
            || self
                .templates
                .snapshot()
                .iter()
                .any(|t| t.matches(uri).is_some())
    }
}
