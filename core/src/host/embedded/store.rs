//! The host's state in a local SQLite file: which actors exist, so that a key reaches the
//! same VM (and its data directory) after a restart.

use std::path::Path;

use rusqlite::OptionalExtension;

use crate::runtime::ActorError;

/// The actor registry, on the same kind of connection as the VMs' own tables in this file
/// (WAL, a busy timeout): the VMs write to it too, and without the timeout a registration
/// that meets one of their writes would fail with `SQLITE_BUSY` instead of waiting.
pub struct Store {
    store: crate::vm::store::Store,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, ActorError> {
        let store = crate::vm::store::Store::open(
            path,
            "host database",
            "CREATE TABLE IF NOT EXISTS actors (
                 name TEXT NOT NULL,
                 key TEXT NOT NULL,
                 id TEXT NOT NULL UNIQUE,
                 created_at INTEGER NOT NULL,
                 PRIMARY KEY (name, key)
             );",
        )?;
        Ok(Self { store })
    }

    /// The id of actor `name`/`key`, created on first use.
    pub fn actor_id(&self, name: &str, key: &str) -> Result<String, ActorError> {
        let conn = self.store.lock();
        let existing = conn
            .query_row(
                "SELECT id FROM actors WHERE name = ?1 AND key = ?2",
                (name, key),
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map_err(|e| self.store.error(e))?;
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
        .map_err(|e| self.store.error(e))?;
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

    /// A VM holding the file's write lock (a session log or cron write in progress) makes a
    /// registration wait for it, not fail.
    #[test]
    fn a_registration_waits_for_another_connections_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.sqlite");
        let store = Store::open(&path).unwrap();
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let (locked, done) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            locked.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            writer.execute_batch("COMMIT").unwrap();
        });
        done.recv().unwrap();
        let id = store.actor_id("agentOS", "busy");
        holder.join().unwrap();
        assert!(id.is_ok(), "{id:?}");
    }
}
