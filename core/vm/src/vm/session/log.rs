//! Every session's history in SQLite (the host's file, shared by its VMs, each VM's rows
//! under its own name): the sessions that were started and each of their updates, so that
//! `getSessionEvents` pages through them after the agent, the session or the host is gone.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::OptionalExtension;

use super::types::{
    PersistedSession, SessionEndReason, SessionEvent, SessionEventsOptions, SessionInfo,
};
use crate::runtime::{ActorError, SafeU64};
use crate::vm::store::Store;

/// The most events one `getSessionEvents` call returns.
pub const MAX_PAGE: u32 = 1000;

pub struct EventLog {
    store: Store,
    /// The VM whose sessions these are.
    vm: String,
}

impl EventLog {
    /// The log of VM `vm` in the SQLite file `path`, which other connections (the host's own
    /// state, other VMs) may share. Sessions it still records as live belong to a run of the
    /// VM that is over (only one runs at a time): they are marked ended, `hostStopped`.
    pub fn open(path: &Path, vm: String) -> Result<Self, ActorError> {
        let store = Store::open(path, "session log")?;
        let log = Self { store, vm };
        {
            log.lock()
                .execute(
                    "UPDATE sessions SET ended_at = ?2, end_reason = ?3
                 WHERE vm = ?1 AND ended_at IS NULL",
                    (&log.vm, now_ms(), SessionEndReason::HostStopped.as_str()),
                )
                .map_err(db_error)?;
        }
        Ok(log)
    }

    pub fn started(&self, info: &SessionInfo) -> Result<(), ActorError> {
        self.lock()
            .execute(
                "INSERT INTO sessions (id, vm, agent_type, cwd, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    &info.session_id,
                    &self.vm,
                    &info.agent_type,
                    &info.cwd,
                    now_ms(),
                ),
            )
            .map(drop)
            .map_err(db_error)
    }

    /// Marks a session ended, unless it already is (the first reason stays).
    pub fn ended(&self, session_id: &str, reason: SessionEndReason) -> Result<(), ActorError> {
        self.lock()
            .execute(
                "UPDATE sessions SET ended_at = ?2, end_reason = ?3
                 WHERE id = ?1 AND ended_at IS NULL",
                (session_id, now_ms(), reason.as_str()),
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn append(&self, event: &SessionEvent) -> Result<(), ActorError> {
        self.lock()
            .execute(
                "INSERT INTO session_events (session_id, seq, at, update_json) VALUES (?1, ?2, ?3, ?4)",
                (
                    &event.session_id,
                    event.seq,
                    now_ms(),
                    event.update.to_string(),
                ),
            )
            .map(drop)
            .map_err(db_error)
    }

    /// A session's events after `after`, in order, at most `limit` (capped at [`MAX_PAGE`]).
    pub fn events(
        &self,
        session_id: &str,
        options: SessionEventsOptions,
    ) -> Result<Vec<SessionEvent>, ActorError> {
        let conn = self.lock();
        let known = conn
            .query_row(
                "SELECT 1 FROM sessions WHERE id = ?1 AND vm = ?2",
                (session_id, &self.vm),
                |_| Ok(()),
            )
            .optional()
            .map_err(db_error)?;
        if known.is_none() {
            return Err(ActorError::not_found(format!("no session {session_id}")));
        }
        let limit = options.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut query = conn
            .prepare(
                "SELECT seq, update_json FROM session_events
                 WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )
            .map_err(db_error)?;
        let rows = query
            .query_map((session_id, options.after.unwrap_or(0), limit), |row| {
                Ok((row.get::<_, u32>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(db_error)?;
        rows.map(|row| {
            let (seq, update) = row.map_err(db_error)?;
            Ok(SessionEvent {
                session_id: session_id.to_owned(),
                seq,
                update: serde_json::from_str(&update)
                    .map_err(|e| ActorError::internal(format!("a stored event: {e}")))?,
            })
        })
        .collect()
    }

    /// Every session on record, oldest first.
    pub fn sessions(&self) -> Result<Vec<PersistedSession>, ActorError> {
        let conn = self.lock();
        let mut query = conn
            .prepare(
                "SELECT s.id, s.agent_type, s.cwd, s.created_at, s.ended_at, s.end_reason,
                        (SELECT COUNT(*) FROM session_events e WHERE e.session_id = s.id)
                 FROM sessions s WHERE s.vm = ?1 ORDER BY s.created_at, s.id",
            )
            .map_err(db_error)?;
        let rows = query
            .query_map([&self.vm], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, u64>(3)?,
                    row.get::<_, Option<u64>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, u32>(6)?,
                ))
            })
            .map_err(db_error)?;
        rows.map(|row| {
            let (session_id, agent_type, cwd, created_at, ended_at, end_reason, events) =
                row.map_err(db_error)?;
            Ok(PersistedSession {
                session_id,
                agent_type,
                cwd,
                created_at: SafeU64::new(created_at)?,
                ended_at: ended_at.map(SafeU64::new).transpose()?,
                end_reason: end_reason.as_deref().and_then(SessionEndReason::parse),
                events,
            })
        })
        .collect()
    }

    /// When a session on record ended: `Some(None)` while it is live, `None` if there is
    /// no such session.
    pub fn ended_at(&self, session_id: &str) -> Result<Option<Option<u64>>, ActorError> {
        self.lock()
            .query_row(
                "SELECT ended_at FROM sessions WHERE id = ?1 AND vm = ?2",
                (session_id, &self.vm),
                |row| row.get::<_, Option<u64>>(0),
            )
            .optional()
            .map_err(db_error)
    }

    /// Deletes a session's record and its events.
    pub fn forget(&self, session_id: &str) -> Result<(), ActorError> {
        self.lock()
            .execute(
                "DELETE FROM sessions WHERE id = ?1 AND vm = ?2",
                (session_id, &self.vm),
            )
            .map(drop)
            .map_err(db_error)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.store.lock()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn db_error(e: rusqlite::Error) -> ActorError {
    ActorError::internal(format!("session log: {e}"))
}
