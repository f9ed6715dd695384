//! The embedded host's actor registry: which actors exist, so that a key reaches the same VM
//! (and its data directory) after a restart.

use std::path::Path;

use super::Store;
use crate::runtime::{ActorError, params};

/// The actor registry, on a [`Store`] like the VMs' own tables in this file: the VMs write to
/// it too, and a registration that meets one of their writes waits for it.
pub struct Registry {
    store: Store,
}

impl Registry {
    pub fn open(path: &Path) -> Result<Self, ActorError> {
        Ok(Self {
            store: Store::open(path)?,
        })
    }

    /// The id of actor `name`/`key`, when it was ever created.
    pub fn find(&self, name: &str, key: &str) -> Result<Option<String>, ActorError> {
        self.store
            .query(
                "SELECT id FROM actors WHERE name = ?1 AND key = ?2",
                params![name, key],
            )?
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .map(|id| id.text())
            .transpose()
    }

    /// The id of actor `name`/`key`, created on first use. Only this host registers actors,
    /// one at a time.
    pub fn actor_id(&self, name: &str, key: &str) -> Result<String, ActorError> {
        if let Some(id) = self.find(name, key)? {
            return Ok(id);
        }
        let id = format!("{:016x}", rand::random::<u64>());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.store.execute(
            "INSERT INTO actors (name, key, id, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, key, &id, now],
        )?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_ids_are_stable_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::vm::store::FILE);
        let first = Registry::open(&path)
            .unwrap()
            .actor_id("agentOS", "a")
            .unwrap();
        let store = Registry::open(&path).unwrap();
        assert_eq!(store.actor_id("agentOS", "a").unwrap(), first);
        assert_ne!(store.actor_id("agentOS", "b").unwrap(), first);
        assert_eq!(store.find("agentOS", "a").unwrap(), Some(first));
        assert_eq!(store.find("agentOS", "c").unwrap(), None);
    }

    /// A VM holding the file's write lock (a session log or cron write in progress) makes a
    /// registration wait for it, not fail.
    #[test]
    fn a_registration_waits_for_another_connections_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::vm::store::FILE);
        let store = Registry::open(&path).unwrap();
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

    /// Everything that writes `host.sqlite` at once, for a few seconds: the registry, two VMs'
    /// session logs and a cron job store. Every write succeeds.
    #[test]
    fn concurrent_writers_of_the_host_file_never_see_busy() {
        use crate::vm::cron::store::JobStore;
        use crate::vm::session::log::EventLog;
        use crate::vm::session::{SessionEvent, SessionInfo};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::vm::store::FILE);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let registry = Registry::open(&path).unwrap();
        let vms: Vec<_> = ["a", "b"]
            .map(|vm| EventLog::open(Store::open(&path).unwrap(), vm.into()).unwrap())
            .into();
        let jobs = JobStore::new(Store::open(&path).unwrap(), "a".into());
        let options = serde_json::from_value(serde_json::json!({
            "schedule": "* * * * *",
            "action": { "type": "exec", "command": "true" },
        }))
        .unwrap();
        jobs.save("job", &options, None).unwrap();

        let writes = std::thread::scope(|scope| {
            let registry = scope.spawn(|| {
                let mut n = 0u32;
                while std::time::Instant::now() < until {
                    registry.actor_id("agentOS", &n.to_string()).unwrap();
                    n += 1;
                }
                n
            });
            let cron = scope.spawn(|| {
                let mut n = 0u32;
                while std::time::Instant::now() < until {
                    jobs.record_run("job", n, "2026-12-03T00:00:00Z").unwrap();
                    n += 1;
                }
                n
            });
            let logs = vms.iter().map(|log| {
                scope.spawn(move || {
                    let mut n = 0u32;
                    while std::time::Instant::now() < until {
                        let session_id = format!("{:p}-{n}", log);
                        log.started(&SessionInfo {
                            session_id: session_id.clone(),
                            agent_type: "test".into(),
                            cwd: "/".into(),
                            pid: 1,
                        })
                        .unwrap();
                        log.append(&SessionEvent {
                            session_id,
                            seq: 1,
                            update: serde_json::json!({ "n": n }),
                        })
                        .unwrap();
                        n += 1;
                    }
                    n
                })
            });
            let logs: Vec<_> = logs.collect();
            [registry.join().unwrap(), cron.join().unwrap()]
                .into_iter()
                .chain(logs.into_iter().map(|log| log.join().unwrap()))
                .collect::<Vec<_>>()
        });
        assert!(writes.iter().all(|n| *n > 0), "{writes:?}");
    }
}
