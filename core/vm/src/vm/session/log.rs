//! Every session's history in the VM's store (the host's file, or the database it lends the VM):
//! the sessions that were started and each of their updates, so that `getSessionEvents` pages
//! through them after the agent, the session or the host is gone.

use std::time::{SystemTime, UNIX_EPOCH};

use super::types::{
    PersistedSession, SessionEndReason, SessionEvent, SessionEventsOptions, SessionInfo,
};
use crate::runtime::{ActorError, SafeU64, params};
use crate::vm::store::{Store, columns};

/// The most events one `getSessionEvents` call returns.
pub const MAX_PAGE: u32 = 1000;

pub struct EventLog {
    store: Store,
    /// The VM whose sessions these are.
    vm: String,
}

impl EventLog {
    /// The log of VM `vm` in `store`, which others (the host's own state, other VMs) may
    /// share. Sessions it still records as live belong to a run of the VM that is over (only
    /// one runs at a time): they are marked ended, `hostStopped`.
    pub fn open(store: Store, vm: String) -> Result<Self, ActorError> {
        store.execute(
            "UPDATE sessions SET ended_at = ?2, end_reason = ?3
             WHERE vm = ?1 AND ended_at IS NULL",
            params![&vm, now_ms(), SessionEndReason::HostStopped.as_str()],
        )?;
        Ok(Self { store, vm })
    }

    pub fn started(&self, info: &SessionInfo) -> Result<(), ActorError> {
        self.store
            .execute(
                "INSERT INTO sessions (id, vm, agent_type, cwd, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &info.session_id,
                    &self.vm,
                    &info.agent_type,
                    &info.cwd,
                    now_ms()
                ],
            )
            .map(drop)
    }

    /// Records the id the agent gave the session (ACP's), which `resumeSession` asks it to
    /// load.
    pub fn agent_session(
        &self,
        session_id: &str,
        agent_session_id: &str,
    ) -> Result<(), ActorError> {
        self.store
            .execute(
                "UPDATE sessions SET agent_session_id = ?2 WHERE id = ?1",
                params![session_id, agent_session_id],
            )
            .map(drop)
    }

    /// A session on record that ended, to start again: its agent type, cwd, the agent's id for
    /// it and its last event's number. `None` if there is no such session.
    pub fn resumable(&self, session_id: &str) -> Result<Option<Resumable>, ActorError> {
        let rows = self.store.query(
            "SELECT agent_type, cwd, agent_session_id, end_reason,
                    (SELECT COALESCE(MAX(seq), 0) FROM session_events e WHERE e.session_id = s.id)
             FROM sessions s WHERE id = ?1 AND vm = ?2",
            params![session_id, &self.vm],
        )?;
        rows.into_iter()
            .next()
            .map(|row| {
                let [agent_type, cwd, agent_session_id, end_reason, last_seq] = columns(row)?;
                Ok(Resumable {
                    agent_type: agent_type.text()?,
                    cwd: cwd.text()?,
                    agent_session_id: agent_session_id.optional_text()?,
                    end_reason: end_reason
                        .optional_text()?
                        .as_deref()
                        .and_then(SessionEndReason::parse),
                    last_seq: u32::try_from(last_seq.integer()?).unwrap_or(u32::MAX),
                })
            })
            .transpose()
    }

    /// A session started again: live, no longer ended.
    pub fn resumed(&self, session_id: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "UPDATE sessions SET ended_at = NULL, end_reason = NULL WHERE id = ?1",
                params![session_id],
            )
            .map(drop)
    }

    /// Marks a session ended, unless it already is (the first reason stays).
    pub fn ended(&self, session_id: &str, reason: SessionEndReason) -> Result<(), ActorError> {
        self.store
            .execute(
                "UPDATE sessions SET ended_at = ?2, end_reason = ?3
                 WHERE id = ?1 AND ended_at IS NULL",
                params![session_id, now_ms(), reason.as_str()],
            )
            .map(drop)
    }

    pub fn append(&self, event: &SessionEvent) -> Result<(), ActorError> {
        self.store
            .execute(
                "INSERT INTO session_events (session_id, seq, at, update_json) VALUES (?1, ?2, ?3, ?4)",
                params![
                    &event.session_id,
                    event.seq,
                    now_ms(),
                    event.update.to_string()
                ],
            )
            .map(drop)
    }

    /// A session's events after `after`, in order, at most `limit` (capped at [`MAX_PAGE`]).
    pub fn events(
        &self,
        session_id: &str,
        options: SessionEventsOptions,
    ) -> Result<Vec<SessionEvent>, ActorError> {
        if self.ended_at(session_id)?.is_none() {
            return Err(ActorError::not_found(format!("no session {session_id}")));
        }
        let limit = options.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let rows = self.store.query(
            "SELECT seq, update_json FROM session_events
             WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![session_id, options.after.unwrap_or(0), limit],
        )?;
        rows.into_iter()
            .map(|row| {
                let [seq, update] = columns(row)?;
                Ok(SessionEvent {
                    session_id: session_id.to_owned(),
                    seq: u32::try_from(seq.integer()?).unwrap_or(u32::MAX),
                    update: serde_json::from_str(&update.text()?)
                        .map_err(|e| ActorError::internal(format!("a stored event: {e}")))?,
                })
            })
            .collect()
    }

    /// Every session on record, oldest first.
    pub fn sessions(&self) -> Result<Vec<PersistedSession>, ActorError> {
        let rows = self.store.query(
            "SELECT s.id, s.agent_type, s.cwd, s.created_at, s.ended_at, s.end_reason,
                    (SELECT COUNT(*) FROM session_events e WHERE e.session_id = s.id)
             FROM sessions s WHERE s.vm = ?1 ORDER BY s.created_at, s.id",
            params![&self.vm],
        )?;
        rows.into_iter()
            .map(|row| {
                let [
                    id,
                    agent_type,
                    cwd,
                    created_at,
                    ended_at,
                    end_reason,
                    events,
                ] = columns(row)?;
                Ok(PersistedSession {
                    session_id: id.text()?,
                    agent_type: agent_type.text()?,
                    cwd: cwd.text()?,
                    created_at: SafeU64::new(created_at.integer()? as u64)?,
                    ended_at: ended_at
                        .optional_integer()?
                        .map(|at| SafeU64::new(at as u64))
                        .transpose()?,
                    end_reason: end_reason
                        .optional_text()?
                        .as_deref()
                        .and_then(SessionEndReason::parse),
                    events: u32::try_from(events.integer()?).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    /// When a session on record ended: `Some(None)` while it is live, `None` if there is
    /// no such session.
    pub fn ended_at(&self, session_id: &str) -> Result<Option<Option<u64>>, ActorError> {
        let rows = self.store.query(
            "SELECT ended_at FROM sessions WHERE id = ?1 AND vm = ?2",
            params![session_id, &self.vm],
        )?;
        rows.into_iter()
            .next()
            .map(|row| {
                let [ended_at] = columns(row)?;
                Ok(ended_at.optional_integer()?.map(|at| at as u64))
            })
            .transpose()
    }

    /// Deletes a session's record and its events.
    pub fn forget(&self, session_id: &str) -> Result<(), ActorError> {
        if self.ended_at(session_id)?.is_none() {
            return Ok(());
        }
        self.store.execute(
            "DELETE FROM session_events WHERE session_id = ?1",
            params![session_id],
        )?;
        self.store
            .execute(
                "DELETE FROM sessions WHERE id = ?1 AND vm = ?2",
                params![session_id, &self.vm],
            )
            .map(drop)
    }
}

/// What `resumeSession` needs of a session on record.
pub struct Resumable {
    pub agent_type: String,
    pub cwd: String,
    pub agent_session_id: Option<String>,
    pub end_reason: Option<SessionEndReason>,
    pub last_seq: u32,
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
