//! The sessions of the 2024-11-05 HTTP+SSE transport: each one is its `/sse` stream, and the
//! session-era [`Session`] that its `initialize` creates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::session::runtime::Session;
use crate::session::store::StoreError;

/// The live HTTP+SSE sessions, by the id in their `endpoint` URL.
#[derive(Default)]
pub(crate) struct HttpSseSessions {
    sessions: Mutex<HashMap<Arc<str>, Arc<HttpSseSession>>>,
}

/// One HTTP+SSE session.
pub(crate) struct HttpSseSession {
    /// Its `/sse` stream: every answer and server message goes out there.
    pub(crate) stream: mpsc::Sender<Bytes>,
    /// Who opened it, when sessions are bound to their principal.
    pub(crate) principal: Option<String>,
    /// Set by `initialize`, which arrives as the first message.
    pub(crate) session: OnceLock<Arc<Session>>,
}

impl HttpSseSessions {
    /// Ends every HTTP+SSE session here, and so its `/sse` stream (a graceful shutdown: the
    /// transport's stream is its session; its client opens a new one, elsewhere).
    pub(crate) fn close_all(&self) {
        let sessions: Vec<Arc<HttpSseSession>> = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .map(|(_, session)| session)
            .collect();
        for session in sessions {
            if let Some(runtime) = session.session.get() {
                runtime.close();
            }
        }
    }

    /// The live session `id`; one whose stream's client went away is ended and forgotten.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSseSession>> {
        // The map holds plain pointers; a panic elsewhere cannot leave it inconsistent.
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let session = sessions.get(id).cloned()?;
        if session.stream.is_closed() {
            // Its client went away: the session ended with its stream.
            sessions.remove(id);
            if let Some(inner) = session.session.get() {
                inner.close();
            }
            return None;
        }
        Some(session)
    }

    /// Adds a session, unless `cap` live ones are open already.
    pub(crate) fn insert(
        &self,
        id: Arc<str>,
        session: HttpSseSession,
        cap: usize,
    ) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= cap {
            sessions.retain(|_, s| !s.stream.is_closed());
        }
        if sessions.len() >= cap {
            return Err(StoreError::Full);
        }
        sessions.insert(id, Arc::new(session));
        Ok(())
    }
}
