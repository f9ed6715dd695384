//! The host's state in a local SQLite file: which actors exist, so that a key reaches the
//! same VM (and its data directory) after a restart.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension};

use crate::runtime::ActorError;

pub struct Store {
    conn: Mutex<Connection>,
}

fn db_error(e: rusqlite::Error) -> ActorError {
    ActorError::internal(format!("host database: {e}"))
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, ActorError> {
        let conn = Connection::open(path).map_err(db_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS actors (
                 name TEXT NOT NULL,
                 key TEXT NOT NULL,
                 id TEXT NOT NULL UNIQUE,
                 created_at INTEGER NOT NULL,
                 PRIMARY KEY (name, key)
             );",
        )
        .map_err(db_error)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The id of actor `name`/`key`, created on first use.
    pub fn actor_id(&self, name: &str, key: &str) -> Result<String, ActorError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let existing = conn
            .query_row(
                "SELECT id FROM actors WHERE name = ?1 AND key = ?2",
                (name, key),
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(db_error)?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let id = format!("{:016x}", rand::random::<u64>());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        conn.execute(
            "INSERT INTO actors (name, key, id, created_at) VALUES (?1, ?2, ?3, ?4)",
            (name, key, &id, now),
        )
        .map_err(db_error)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_ids_are_stable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.sqlite");
        let first = Store::open(&path)
            .unwrap()
            .actor_id("agentOS", "a")
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.actor_id("agentOS", "a").unwrap(), first);
        assert_ne!(store.actor_id("agentOS", "b").unwrap(), first);
    }
}
