//! The VM's root filesystem kept in its store, so that a VM started on another machine has
//! its files: on the Rivet Engine the store is the actor's database in the engine, which any
//! runner reaches. A checkpoint is a snapshot archive (mounts' contents left out, as
//! `snapshotRootFilesystem` does by default) written in chunks under a new generation; the
//! pointer to it moves only once every chunk is in, so a checkpoint cut short (the host
//! killed) leaves the one before it whole. The generation the local root last matched is
//! noted beside it, in the data directory: on open, a root whose note is missing or names
//! another generation (a new machine, or one that held the VM before another did) is replaced
//! by the checkpoint; a root that matches keeps everything written since.

use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use super::fs::{Filesystem, SnapshotOptions};
use super::store::{Store, columns};
use crate::runtime::{ActorError, SafeU64, params};

/// Bytes per stored chunk: the Rivet Engine's remote SQLite takes at most 128 KiB of
/// parameters in one statement (a root of more than one chunk of 1 MiB failed to checkpoint).
const CHUNK: u32 = 64 << 10;

/// The largest root a checkpoint holds; past it `checkpoint` is `limit_exceeded` and the
/// previous checkpoint stays.
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

/// The note of the generation the local root matches, in the VM's data directory.
const NOTE: &str = "checkpoint";

/// A checkpoint of the root filesystem.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    /// Archive size in bytes.
    pub size: SafeU64,
    /// Hex SHA-256 of the archive.
    pub sha256: String,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub taken_at: SafeU64,
}

pub struct Checkpoints {
    store: Store,
    /// The VM whose root this is.
    vm: String,
    note: PathBuf,
    /// One checkpoint at a time.
    taking: Mutex<()>,
}

impl Checkpoints {
    pub fn new(store: Store, vm: String, data_dir: &std::path::Path) -> Self {
        Self {
            store,
            vm,
            note: data_dir.join(NOTE),
            taking: Mutex::new(()),
        }
    }

    /// Archives the root into the store under a new generation, then points at it and drops
    /// the older one's chunks.
    pub fn take(&self, fs: &Filesystem) -> Result<CheckpointInfo, ActorError> {
        let _one = self.taking.lock().unwrap_or_else(|p| p.into_inner());
        let generation = format!("{:016x}", rand::random::<u64>());
        let mut failed = None;
        let mut written = 0u64;
        // A failure is kept to report and stops the archive.
        let info = fs.snapshot_chunks(SnapshotOptions::default(), CHUNK, |chunk| {
            written += chunk.data.0.len() as u64;
            let stored = if written > MAX_CHECKPOINT_BYTES {
                Err(ActorError::limit_exceeded(format!(
                    "the root filesystem is over {MAX_CHECKPOINT_BYTES} bytes, the most a checkpoint holds"
                )))
            } else {
                self.store
                    .execute(
                        "INSERT INTO root_chunks (vm, generation, seq, data) VALUES (?1, ?2, ?3, ?4)",
                        params![&self.vm, &generation, chunk.index, chunk.data.0.clone()],
                    )
                    .map(drop)
            };
            stored.map_err(|err| {
                let stop = std::io::Error::other(err.message.clone());
                failed = Some(err);
                stop
            })
        });
        let info = match (info, failed) {
            (Ok(info), None) => info,
            (_, Some(err)) | (Err(err), None) => {
                self.drop_generation(&generation);
                return Err(err);
            }
        };
        let taken_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.store.execute(
            "INSERT OR REPLACE INTO root_checkpoints (vm, generation, size, sha256, chunks, taken_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &self.vm,
                &generation,
                info.size.get(),
                &info.sha256,
                info.chunks,
                taken_at
            ],
        )?;
        self.store.execute(
            "DELETE FROM root_chunks WHERE vm = ?1 AND generation != ?2",
            params![&self.vm, &generation],
        )?;
        self.write_note(&generation)?;
        Ok(CheckpointInfo {
            size: info.size,
            sha256: info.sha256,
            taken_at: SafeU64::new(taken_at)?,
        })
    }

    /// Replaces the root with the last checkpoint when the local root does not match it;
    /// returns the checkpoint restored, if one was.
    pub fn restore_if_stale(&self, fs: &Filesystem) -> Result<Option<CheckpointInfo>, ActorError> {
        let rows = self.store.query(
            "SELECT generation, size, sha256, chunks, taken_at FROM root_checkpoints WHERE vm = ?1",
            params![&self.vm],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let [generation, size, sha256, chunks, taken_at] = columns(row)?;
        let generation = generation.text()?;
        if std::fs::read_to_string(&self.note).ok().as_deref() == Some(generation.as_str()) {
            return Ok(None);
        }
        let sha256 = sha256.text()?;
        // Beside the VM's data rather than in the host's /tmp: a root may be large.
        let scratch = self.note.parent().unwrap_or(std::path::Path::new("."));
        let mut archive = tempfile::tempfile_in(scratch)
            .map_err(|e| ActorError::internal(format!("a checkpoint's scratch file: {e}")))?;
        let mut hasher = Sha256::new();
        for seq in 0..chunks.integer()? {
            let rows = self.store.query(
                "SELECT data FROM root_chunks WHERE vm = ?1 AND generation = ?2 AND seq = ?3",
                params![&self.vm, &generation, seq],
            )?;
            let [data] = columns(rows.into_iter().next().ok_or_else(|| {
                ActorError::internal(format!("checkpoint {generation} lacks chunk {seq}"))
            })?)?;
            let data = data.blob()?;
            hasher.update(&data);
            archive
                .write_all(&data)
                .map_err(|e| ActorError::internal(format!("a checkpoint's scratch file: {e}")))?;
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest != sha256 {
            return Err(ActorError::internal(format!(
                "checkpoint {generation} does not match its digest"
            )));
        }
        archive
            .seek(SeekFrom::Start(0))
            .map_err(|e| ActorError::internal(format!("a checkpoint's scratch file: {e}")))?;
        fs.restore_archive(archive)?;
        self.write_note(&generation)?;
        Ok(Some(CheckpointInfo {
            size: SafeU64::new(size.integer()? as u64)?,
            sha256,
            taken_at: SafeU64::new(taken_at.integer()? as u64)?,
        }))
    }

    fn write_note(&self, generation: &str) -> Result<(), ActorError> {
        std::fs::write(&self.note, generation)
            .map_err(|e| ActorError::internal(format!("{}: {e}", self.note.display())))
    }

    fn drop_generation(&self, generation: &str) {
        if let Err(err) = self.store.execute(
            "DELETE FROM root_chunks WHERE vm = ?1 AND generation = ?2",
            params![&self.vm, generation],
        ) {
            tracing::warn!(%err, "a checkpoint cut short left chunks behind");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::fs::test_vm::Vm;

    fn checkpoints(vm: &Vm, data_dir: &std::path::Path) -> Checkpoints {
        let store = Store::open(&vm.tmp.path().join("state.sqlite")).unwrap();
        Checkpoints::new(store, "vm".into(), data_dir)
    }

    #[test]
    fn a_root_that_matches_the_checkpoint_keeps_later_writes_and_another_is_replaced() {
        let vm = Vm::new();
        let data_dir = vm.tmp.path().join("data");
        let here = checkpoints(&vm, &data_dir);
        vm.write("/a.txt", "checkpointed");
        let taken = here.take(&vm.fs).unwrap();
        assert!(taken.size.get() > 0);
        vm.write("/b.txt", "after");
        assert_eq!(here.restore_if_stale(&vm.fs).unwrap(), None);
        assert_eq!(vm.read("/b.txt"), "after");

        // Another machine: its note is missing, so its root becomes the checkpoint's.
        std::fs::remove_file(data_dir.join(NOTE)).unwrap();
        let restored = here.restore_if_stale(&vm.fs).unwrap();
        assert_eq!(restored.map(|info| info.sha256), Some(taken.sha256));
        assert_eq!(vm.read("/a.txt"), "checkpointed");
        assert!(!vm.fs.exists("/b.txt").unwrap());
    }

    #[test]
    fn a_new_checkpoint_replaces_the_old_ones_chunks() {
        let vm = Vm::new();
        let here = checkpoints(&vm, &vm.tmp.path().join("data"));
        vm.write("/a.txt", "one");
        here.take(&vm.fs).unwrap();
        vm.write("/a.txt", "two");
        here.take(&vm.fs).unwrap();
        let generations = here
            .store
            .query("SELECT DISTINCT generation FROM root_chunks", vec![])
            .unwrap();
        assert_eq!(generations.len(), 1);
    }
}
