//! The VM filesystem: a root directory on the host plus a table of mounts, all reached through
//! capability handles so that no VM path, however spelled and whatever symlinks it meets, can
//! touch the host outside them. Every failure is a typed `ActorError` naming the VM path.
//!
//! Methods block on std I/O; callers on an async runtime run them through [`offload`].

mod as_user;
mod backend;
mod mounts;
pub(crate) mod offload;
mod overlay;
mod overlay_mount;
mod path;
mod snapshot;
mod transfer;
mod types;

#[cfg(test)]
mod host_path_tests;
#[cfg(test)]
pub(crate) mod test_vm;
#[cfg(test)]
mod tests;

pub use mounts::{AllowedHostPath, HostPathPolicy};
pub use path::VmPath;
pub(crate) use transfer::read_in_pieces;
pub use types::{
    DeleteOptions, DirEntry, FileContent, FileKind, FileRange, FileStat, MkdirOptions, MountDriver,
    MountInfo, MountOptions, MountRestored, ReadFileResult, ReaddirRecursiveOptions, SnapshotChunk,
    SnapshotInfo, SnapshotOptions, SnapshotSource, UploadInfo, WriteFileEntry, WriteFileResult,
};

use crate::error::VmError;
use crate::error::code;
use crate::runtime::{ActorError, Bytes, SafeU64};
use crate::vm::identity::VmUser;
use as_user::AsUser;
use backend::{Confined, Meta, NotRegular, clear_destination, copy_tree, join_rel};
use mounts::{Mount, MountTable, Resolved, host_error, open_driver};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// What a process sandbox binds to show the VM's tree: the root and each mount's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct HostView {
    pub root: PathBuf,
    /// Sorted by VM path, so a mount comes after any mount that contains it.
    pub mounts: Vec<HostBind>,
}

/// One mount as a sandbox binds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBind {
    pub vm_path: String,
    pub host_dir: PathBuf,
    pub read_only: bool,
}

/// Subdirectories of scratch, created by `open`.
const UPLOADS_DIR: &str = "uploads";
/// The VM's root, in its data directory.
const ROOT_DIR: &str = "root";

/// In scratch: the token of the handle that created it (see `Filesystem::owner`).
const OWNER_FILE: &str = ".owner";

/// The most [`Filesystem::read_file`] reads when given no smaller limit: no host can send a
/// larger file in a message (`Limits::max_message_bytes` is a `u32`).
pub const MAX_READ_BYTES: u64 = u32::MAX as u64;

/// One VM's filesystem. Cheap to share (`Send + Sync`, every method takes `&self`): the mount
/// table sits behind a lock that is held only to resolve a path, never during I/O.
pub struct Filesystem {
    /// The VM's data directory: its root, scratch, and a restore's new root while it is built.
    data_dir: PathBuf,
    /// `data_dir/scratch`: overlay uppers, memory-mount fallbacks, uploads, snapshot files.
    scratch: PathBuf,
    /// Written to `scratch/.owner` at open: a handle still being dropped after a newer one
    /// opened the same directory (an evicted VM's last tasks) must not remove the newer one's
    /// scratch.
    owner: String,
    /// Who the host acts as on the VM's files, when it must switch (a root host).
    user: Option<VmUser>,
    /// Which host directories `hostDir` mounts and overlay lowers may use.
    host_paths: HostPathPolicy,
    /// Held by a restore from building the new root to swapping it in: one at a time.
    restoring: Mutex<()>,
    table: RwLock<MountTable>,
}

impl Filesystem {
    /// Opens the VM filesystem kept in `data_dir` (mode 0711: others may pass through, not
    /// list it): its root is `data_dir/root` (created if missing; a restore that a crash
    /// interrupted is rolled back or completed first). Scratch space left over from an
    /// earlier process is cleared, so only one `Filesystem` may be open on a `data_dir` at a
    /// time. No host directory may be mounted: see [`open_as`](Self::open_as).
    pub fn open(data_dir: &Path) -> Result<Self, ActorError> {
        Self::open_as(data_dir, None, HostPathPolicy::default())
    }

    /// [`open`](Self::open), with the root and scratch belonging to `user` and every access
    /// to the VM's files made as that user (see [`crate::vm::identity`]), and `hostDir`
    /// mounts and overlay lowers limited to what `host_paths` allows (never `data_dir`).
    pub fn open_as(
        data_dir: &Path,
        user: Option<VmUser>,
        mut host_paths: HostPathPolicy,
    ) -> Result<Self, ActorError> {
        let root_path = data_dir.join(ROOT_DIR);
        let scratch = data_dir.join("scratch");
        crate::runtime::instance::prepare_data_dir(data_dir)
            .map_err(|err| host_error(&err, data_dir))?;
        host_paths
            .protect(data_dir)
            .map_err(|err| host_error(&err, data_dir))?;
        snapshot::recover_root(data_dir)?;
        mounts::sweep_memory_dirs();
        std::fs::create_dir_all(&root_path).map_err(|err| host_error(&err, &root_path))?;
        match std::fs::remove_dir_all(&scratch) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(host_error(&err, &scratch));
            }
            _ => {}
        }
        let uploads = scratch.join(UPLOADS_DIR);
        std::fs::create_dir_all(&uploads).map_err(|err| host_error(&err, &uploads))?;
        let owner = format!("{:016x}", rand::random::<u64>());
        let owner_file = scratch.join(OWNER_FILE);
        std::fs::write(&owner_file, &owner).map_err(|err| host_error(&err, &owner_file))?;
        if let Some(user) = user {
            for dir in [&root_path, &scratch] {
                user.adopt(dir).map_err(|err| host_error(&err, dir))?;
                // Bubblewrap binds the root as the user: it must reach it.
                user.act(|| std::fs::read_dir(dir)).map_err(|err| {
                    ActorError::internal(format!(
                        "the VM's host user (uid {}) cannot reach {}: {err}; give it search permission on every directory above, or run the host as that user",
                        user.uid,
                        dir.display()
                    ))
                })?;
            }
        }
        let root = Confined::open(&root_path).map_err(|err| host_error(&err, &root_path))?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            scratch,
            owner,
            user,
            host_paths,
            restoring: Mutex::new(()),
            table: RwLock::new(MountTable::new(AsUser::wrap(Arc::new(root), user))),
        })
    }

    /// Mounts `driver` at `path`, creating the mount point directory if it is missing. A host
    /// directory must be one the host allows (see [`HostPathPolicy`]), else `invalid_input`.
    pub fn mount(
        &self,
        path: &str,
        driver: MountDriver,
        options: MountOptions,
    ) -> Result<MountInfo, ActorError> {
        let point = VmPath::parse(path)?;
        if point.is_root() {
            return Err(ActorError::invalid_input("cannot mount over `/`"));
        }
        if self.table().is_mount_point(&point) {
            return Err(ActorError::already_exists(format!(
                "something is already mounted at {point}"
            )));
        }
        let read_only = options.read_only.unwrap_or(false);
        // The driver first: if it cannot be opened, nothing in the VM has changed.
        let storage =
            self.as_user(|| open_driver(&driver, &self.scratch, &self.host_paths, read_only))?;
        let storage = AsUser::wrap(storage, self.user);
        self.ensure_mount_point(&point)?;
        let info = MountInfo {
            path: point.to_string(),
            driver: driver.clone(),
            read_only,
            restored: None,
        };
        let mount = Mount {
            driver,
            read_only,
            storage,
        };
        // A concurrent mount may have won the race; the loser's storage is dropped (and its
        // scratch deleted) only after the lock is released.
        let inserted = self.table_mut().insert(point.clone(), mount);
        match inserted {
            Ok(()) => Ok(info),
            Err(_rejected) => Err(ActorError::already_exists(format!(
                "something is already mounted at {point}"
            ))),
        }
    }

    /// Unmounts whatever is mounted at `path`; a memory mount's contents are deleted.
    pub fn unmount(&self, path: &str) -> Result<(), ActorError> {
        let point = VmPath::parse(path)?;
        let mount = self.table_mut().remove(&point)?;
        drop(mount);
        Ok(())
    }

    /// The mount table, sorted by mount path.
    pub fn list_mounts(&self) -> Vec<MountInfo> {
        self.table().list()
    }

    /// The host directories a process sandbox must bind to show this VM's tree.
    pub fn host_view(&self) -> Result<HostView, ActorError> {
        self.table().host_view()
    }

    /// Reads a whole regular file of at most [`MAX_READ_BYTES`] (see
    /// [`read_file_within`](Self::read_file_within)).
    pub fn read_file(&self, path: &str) -> Result<Bytes, ActorError> {
        self.read_file_within(path, MAX_READ_BYTES)
    }

    /// Reads a whole regular file. One larger than `max_bytes` is `limit_exceeded`, told from
    /// its size before anything is read, and at most `max_bytes + 1` bytes are ever read, so
    /// memory stays bounded if it grows meanwhile. A FIFO, socket or device is
    /// `invalid_input`, answered at once instead of waiting on it; a directory
    /// `is_a_directory`.
    pub fn read_file_within(&self, path: &str, max_bytes: u64) -> Result<Bytes, ActorError> {
        use std::io::Read;
        let path = VmPath::parse(path)?;
        let resolved = self.resolve(&path);
        let fs_err = |err: io::Error| fs_error(&err, &path);
        let file = resolved.storage.open_read(&resolved.rel).map_err(fs_err)?;
        let too_big = |what: String| {
            ActorError::limit_exceeded(format!(
                "{path} {what}, more than the {max_bytes} bytes a read may return"
            ))
            .with_metadata(serde_json::json!({ "path": path.as_str(), "limit": max_bytes }))
        };
        let size = file.metadata().map_err(fs_err)?.len();
        if size > max_bytes {
            return Err(too_big(format!("is {size} bytes")));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(usize::MAX));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(fs_err)?;
        if bytes.len() as u64 > max_bytes {
            return Err(too_big("grew while it was read".to_owned()));
        }
        Ok(Bytes(bytes))
    }

    /// Creates or replaces a regular file; its parent directory must exist. A FIFO, socket
    /// or device at `path` is `invalid_input`, never written to (nor waited on).
    pub fn write_file(&self, path: &str, content: FileContent) -> Result<(), ActorError> {
        let path = VmPath::parse(path)?;
        let resolved = self.resolve_writable(&path)?;
        resolved
            .storage
            .write_from(&resolved.rel, &mut content.as_bytes())
            .map_err(|err| fs_error(&err, &path))
    }

    /// Reads each path independently: one failure is reported in its entry, not for the batch.
    pub fn read_files(&self, paths: Vec<String>) -> Vec<ReadFileResult> {
        self.read_files_within(paths, MAX_READ_BYTES)
    }

    /// [`read_files`](Self::read_files), with `max_bytes` for the contents of all entries
    /// together: an entry that would go over it is `limit_exceeded` (and not read).
    pub fn read_files_within(&self, paths: Vec<String>, max_bytes: u64) -> Vec<ReadFileResult> {
        let mut left = max_bytes;
        paths
            .into_iter()
            .map(|path| match self.read_file_within(&path, left) {
                Ok(content) => {
                    left -= content.0.len() as u64;
                    ReadFileResult {
                        path,
                        content: Some(content),
                        error: None,
                    }
                }
                Err(error) => ReadFileResult {
                    path,
                    content: None,
                    error: Some(error),
                },
            })
            .collect()
    }

    /// Writes each entry independently: one failure is reported in its entry, not for the batch.
    pub fn write_files(&self, entries: Vec<WriteFileEntry>) -> Vec<WriteFileResult> {
        entries
            .into_iter()
            .map(|entry| {
                let error = self.write_file(&entry.path, entry.content).err();
                WriteFileResult {
                    path: entry.path,
                    error,
                }
            })
            .collect()
    }

    pub fn mkdir(&self, path: &str, options: MkdirOptions) -> Result<(), ActorError> {
        let path = VmPath::parse(path)?;
        let resolved = self.resolve_writable(&path)?;
        resolved
            .storage
            .mkdir(&resolved.rel, options.recursive.unwrap_or(false))
            .map_err(|err| ActorError::io(&err, path.as_str()))
    }

    /// Names in a directory, sorted; mount points show up in their parent's listing.
    pub fn readdir(&self, path: &str) -> Result<Vec<String>, ActorError> {
        self.list_dir(&VmPath::parse(path)?)
    }

    /// Everything below `path`, depth-first in sorted order, descending into mounts but never
    /// following symlinks. Entries that vanish during the walk are skipped.
    pub fn readdir_recursive(
        &self,
        path: &str,
        options: ReaddirRecursiveOptions,
    ) -> Result<Vec<DirEntry>, ActorError> {
        let top = VmPath::parse(path)?;
        let exclude: HashSet<String> = options.exclude.unwrap_or_default().into_iter().collect();
        let mut entries = Vec::new();
        let mut stack = Vec::new();
        self.push_children(&mut stack, &top, 0, &exclude)?;
        while let Some((path, depth)) = stack.pop() {
            let Some((meta, _)) = skip_not_found(self.lstat_vm(&path))? else {
                continue;
            };
            entries.push(DirEntry {
                path: path.to_string(),
                kind: meta.kind.file_kind(),
                size: SafeU64::saturating(meta.size),
            });
            if meta.is_dir() && options.max_depth.is_none_or(|max| depth < max) {
                skip_not_found(self.push_children(&mut stack, &path, depth + 1, &exclude))?;
            }
        }
        Ok(entries)
    }

    /// Metadata of `path`; a symlink is described itself, not its target.
    pub fn stat(&self, path: &str) -> Result<FileStat, ActorError> {
        let (meta, read_only) = self.lstat_vm(&VmPath::parse(path)?)?;
        Ok(FileStat {
            kind: meta.kind.file_kind(),
            size: SafeU64::saturating(meta.size),
            mode: meta.mode,
            modified_ms: meta.modified_ms,
            read_only,
        })
    }

    /// Whether `path` exists. Only "not there" answers `false`: an escape is still an error.
    pub fn exists(&self, path: &str) -> Result<bool, ActorError> {
        match self.stat(path) {
            Ok(_) => Ok(true),
            Err(err) if err.code == code::NOT_FOUND || err.code == code::NOT_A_DIRECTORY => {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Moves `from` to `to` with `rename(2)`'s rules (a file or empty directory at `to` is
    /// replaced). Between two mounts the tree is copied, then the source deleted.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), ActorError> {
        let from = VmPath::parse(from)?;
        let to = VmPath::parse(to)?;
        {
            let table = self.table();
            for path in [&from, &to] {
                if path.is_root() || table.is_mount_point(path) {
                    return Err(ActorError::invalid_input(format!(
                        "{path} is a mount point: unmount it instead"
                    )));
                }
                if table.has_mount_below(path) {
                    return Err(ActorError::invalid_input(format!(
                        "{path} contains mount points: unmount them first"
                    )));
                }
            }
        }
        let source = self.resolve_writable(&from)?;
        let target = self.resolve_writable(&to)?;
        let io_err = |err: io::Error| {
            let mut error = ActorError::io(&err, from.as_str());
            error.message = format!("{from} -> {to}: {err}");
            error.with_metadata(serde_json::json!({ "path": from.as_str(), "to": to.as_str() }))
        };
        if Arc::ptr_eq(&source.storage, &target.storage) {
            return source
                .storage
                .rename(&source.rel, &target.rel)
                .map_err(io_err);
        }
        let (src, dst) = (&*source.storage, &*target.storage);
        let meta = src.lstat(&source.rel).map_err(io_err)?;
        clear_destination(dst, &target.rel, meta.is_dir()).map_err(io_err)?;
        copy_tree(src, &source.rel, dst, &target.rel).map_err(io_err)?;
        src.remove(&source.rel, true).map_err(io_err)
    }

    /// Deletes a file, symlink or directory. A mount point cannot be deleted: unmount it.
    pub fn delete(&self, path: &str, options: DeleteOptions) -> Result<(), ActorError> {
        let path = VmPath::parse(path)?;
        let recursive = options.recursive.unwrap_or(false);
        {
            let table = self.table();
            if path.is_root() || table.is_mount_point(&path) {
                return Err(ActorError::invalid_input(format!(
                    "{path} is a mount point: unmount it instead"
                )));
            }
            if table.has_mount_below(&path) {
                return Err(if recursive {
                    ActorError::invalid_input(format!(
                        "{path} contains mount points: unmount them first"
                    ))
                } else {
                    ActorError::io(&io::ErrorKind::DirectoryNotEmpty.into(), path.as_str())
                });
            }
        }
        let resolved = self.resolve_writable(&path)?;
        resolved
            .storage
            .remove(&resolved.rel, recursive)
            .map_err(|err| ActorError::io(&err, path.as_str()))
    }

    /// Runs `f` as the VM's host user, when the host must switch.
    fn as_user<T>(&self, f: impl FnOnce() -> T) -> T {
        match self.user {
            Some(user) => user.act(f),
            None => f(),
        }
    }

    fn table(&self) -> RwLockReadGuard<'_, MountTable> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn table_mut(&self) -> RwLockWriteGuard<'_, MountTable> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The host directory or file that holds VM path `path`, checked to be inside its
    /// storage's directory with every symlink resolved (so that watching it watches nothing
    /// of the host's), for inotify. An overlay mount has no single host directory.
    pub(crate) fn host_path(&self, path: &VmPath) -> Result<PathBuf, ActorError> {
        let resolved = self.resolve(path);
        let base = resolved.storage.host_dir().ok_or_else(|| {
            ActorError::unsupported(format!(
                "{path} is on an overlay mount, which cannot be watched yet"
            ))
        })?;
        let base = std::fs::canonicalize(base).map_err(|err| fs_error(&err, path))?;
        let host =
            std::fs::canonicalize(base.join(&resolved.rel)).map_err(|err| fs_error(&err, path))?;
        if !host.starts_with(&base) {
            return Err(ActorError::path_escape(format!(
                "{path} leads outside the VM through a symlink"
            )));
        }
        Ok(host)
    }

    fn resolve(&self, path: &VmPath) -> Resolved {
        self.table().resolve(path)
    }

    fn resolve_writable(&self, path: &VmPath) -> Result<Resolved, ActorError> {
        let resolved = self.resolve(path);
        if resolved.read_only {
            return Err(
                ActorError::read_only(format!("{path} is on a read-only mount"))
                    .with_metadata(serde_json::json!({ "path": path.as_str() })),
            );
        }
        Ok(resolved)
    }

    /// `lstat` through the mount table, with whether the path is on a read-only mount.
    fn lstat_vm(&self, path: &VmPath) -> Result<(Meta, bool), ActorError> {
        let resolved = self.resolve(path);
        let meta = resolved
            .storage
            .lstat(&resolved.rel)
            .map_err(|err| ActorError::io(&err, path.as_str()))?;
        Ok((meta, resolved.read_only))
    }

    fn list_dir(&self, path: &VmPath) -> Result<Vec<String>, ActorError> {
        let (resolved, mounted) = {
            let table = self.table();
            (table.resolve(path), table.child_mount_names(path))
        };
        let mut names = resolved
            .storage
            .list(&resolved.rel)
            .map_err(|err| ActorError::io(&err, path.as_str()))?;
        names.extend(mounted);
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Pushes `dir`'s children so that popping yields them in sorted order.
    fn push_children(
        &self,
        stack: &mut Vec<(VmPath, u32)>,
        dir: &VmPath,
        depth: u32,
        exclude: &HashSet<String>,
    ) -> Result<(), ActorError> {
        let names = self.list_dir(dir)?;
        stack.extend(
            names
                .iter()
                .rev()
                .filter(|name| !exclude.contains(*name))
                .map(|name| (dir.join(name), depth)),
        );
        Ok(())
    }

    /// Makes sure `point` is a directory in whatever holds its parent, so that it shows up in
    /// listings and sandboxed processes see it too.
    fn ensure_mount_point(&self, point: &VmPath) -> Result<(), ActorError> {
        let (Some(parent), Some(name)) = (point.parent(), point.file_name()) else {
            return Ok(());
        };
        let holder = self.resolve(&parent);
        let rel = join_rel(&holder.rel, name);
        match holder.storage.lstat(&rel) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(ActorError::io(
                &io::ErrorKind::NotADirectory.into(),
                point.as_str(),
            )),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                self.resolve_writable(&parent)?;
                holder
                    .storage
                    .mkdir(&rel, true)
                    .map_err(|err| ActorError::io(&err, point.as_str()))
            }
            Err(err) => Err(ActorError::io(&err, point.as_str())),
        }
    }
}

impl Drop for Filesystem {
    /// Scratch only ever holds this handle's temporary state, unless a newer handle on the
    /// same directory has replaced it since.
    fn drop(&mut self) {
        if std::fs::read_to_string(self.scratch.join(OWNER_FILE))
            .ok()
            .as_deref()
            != Some(self.owner.as_str())
        {
            return;
        }
        match std::fs::remove_dir_all(&self.scratch) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(path = %self.scratch.display(), %err, "could not remove scratch");
            }
            _ => {}
        }
    }
}

/// `ActorError::io`, except that a FIFO, socket or device where a regular file was needed is
/// named: "`/f` is a FIFO, not a regular file" (`invalid_input`, its kind in the metadata).
fn fs_error(err: &io::Error, path: &VmPath) -> ActorError {
    match err.get_ref().and_then(|e| e.downcast_ref::<NotRegular>()) {
        Some(NotRegular { kind }) => {
            ActorError::invalid_input(format!("`{path}` is a {kind}, not a regular file"))
                .with_metadata(serde_json::json!({ "path": path.as_str(), "kind": kind }))
        }
        None => ActorError::io(err, path.as_str()),
    }
}

/// Turns `not_found` into `None`, for walks that tolerate entries vanishing under them.
fn skip_not_found<T>(result: Result<T, ActorError>) -> Result<Option<T>, ActorError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.code == code::NOT_FOUND => Ok(None),
        Err(err) => Err(err),
    }
}
