//! Root filesystem snapshots as tar archives, and their restore.
//!
//! Archives are canonical: entries in sorted depth-first order (a directory before its
//! contents), GNU headers with mtime, uid and gid 0, no owner names and only permission bits,
//! so the same tree always gives the same bytes and snapshot → restore → snapshot is stable.
//! Restore checks every entry before touching anything, because an archive comes from a client,
//! then builds the new root next to the old one and swaps it in with one rename: a restore that
//! fails, or a host killed during one, leaves the old root exactly as it was.

use super::as_user::AsUser;
use super::backend::{Confined, NodeKind, Storage, join_rel, parent_rel};
use super::mounts::host_error;
use super::offload::Cancelled;
use super::types::{SnapshotChunk, SnapshotInfo, SnapshotOptions, SnapshotSource, UploadInfo};
use super::{Filesystem, ROOT_DIR, UPLOADS_DIR, VmPath, skip_not_found};
use crate::error::VmError;
use crate::runtime::{ActorError, Bytes, Emitter, SafeU64};
use crate::vm::identity::VmUser;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError};

/// Where a restore builds the new root: beside the root, on the same filesystem, so that a
/// rename swaps it in.
const STAGING_DIR: &str = "root.restoring";
/// Where the old root waits while the new one is renamed into place, on a filesystem that
/// cannot exchange two directories in one rename.
const ASIDE_DIR: &str = "root.replaced";
/// How much of a file one read takes while archiving.
const READ_BUFFER: usize = 1 << 20;
/// A tar archive is made of 512-byte blocks and ends with zero blocks.
const BLOCK: u64 = 512;

fn check_chunk_size(chunk_size: u32) -> Result<(), ActorError> {
    if chunk_size == 0 {
        return Err(ActorError::invalid_input(
            "chunk size must be at least 1 byte",
        ));
    }
    Ok(())
}

/// Counts and hashes what passes through, so the archive is digested while it is written.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Cuts the archive into chunks of `size` bytes as it is written, handing each one on as soon
/// as it is full (the last when flushed), then to `digest`: nothing is staged on disk, and the
/// first chunk leaves while the tree is still being read.
struct ChunkWriter<F> {
    buf: Vec<u8>,
    size: usize,
    index: u32,
    send: F,
    digest: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Buffers the digest is done with, to fill again rather than fault in fresh pages.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl<F: FnMut(&SnapshotChunk) -> io::Result<()>> ChunkWriter<F> {
    fn send_full(&mut self) -> io::Result<()> {
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.size));
        let chunk = SnapshotChunk {
            index: self.index,
            data: Bytes(std::mem::replace(&mut self.buf, next)),
        };
        (self.send)(&chunk)?;
        self.digest
            .send(chunk.data.0)
            .map_err(|_| io::Error::other("the snapshot's digest stopped"))?;
        self.index = self.index.checked_add(1).ok_or_else(|| {
            io::Error::other("the archive needs more than 2^32 chunks: use larger ones")
        })?;
        Ok(())
    }
}

impl<F: FnMut(&SnapshotChunk) -> io::Result<()>> Write for ChunkWriter<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(self.size - self.buf.len());
        self.buf.extend_from_slice(&buf[..n]);
        if self.buf.len() == self.size {
            self.send_full()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send_full()?;
        }
        Ok(())
    }
}

/// The hex form of what `hasher` digested.
fn hex_digest(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A header with everything but the kind, permission bits and size fixed.
fn canonical_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// What a restore does with one archive entry.
enum EntryKind {
    Directory,
    File,
    Symlink(PathBuf),
    /// Pax global headers carry nothing a restore needs.
    Ignored,
}

fn invalid_archive(err: io::Error) -> ActorError {
    ActorError::invalid_input(format!("not a valid snapshot archive: {err}"))
}

/// The VM path an entry names, or `None` for the archive root (`./`). Anything that could
/// land outside the root is an escape.
fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<Option<VmPath>, ActorError> {
    let raw = entry.path().map_err(invalid_archive)?;
    let mut parts = Vec::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(|| {
                ActorError::invalid_input(format!("{}: entry name is not UTF-8", raw.display()))
            })?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ActorError::path_escape(format!(
                    "archive entry `{}` would land outside the root",
                    raw.display()
                )));
            }
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    VmPath::parse(&format!("/{}", parts.join("/"))).map(Some)
}

fn entry_kind<R: Read>(entry: &tar::Entry<'_, R>, path: &VmPath) -> Result<EntryKind, ActorError> {
    let kind = entry.header().entry_type();
    if kind.is_dir() {
        Ok(EntryKind::Directory)
    } else if kind.is_file() || kind == tar::EntryType::Continuous {
        Ok(EntryKind::File)
    } else if kind.is_symlink() {
        let target = entry.link_name().map_err(invalid_archive)?.ok_or_else(|| {
            ActorError::invalid_input(format!("{path}: symlink without a target"))
        })?;
        Ok(EntryKind::Symlink(target.into_owned()))
    } else if kind.is_pax_global_extensions() {
        Ok(EntryKind::Ignored)
    } else {
        Err(ActorError::invalid_input(format!(
            "{path}: unsupported archive entry type {kind:?}"
        )))
    }
}

/// A link target must stay inside the root however its components resolve: it may climb with
/// leading `..` (no higher than the root), then only descend. `..` after a name is refused
/// because that name could itself be a link, which makes the result impossible to check
/// without following it.
fn check_link_target(link: &VmPath, target: &Path) -> Result<(), ActorError> {
    let escape = || {
        ActorError::path_escape(format!(
            "symlink {link} -> {} may point outside the root",
            target.display()
        ))
    };
    if target.as_os_str().is_empty() {
        return Err(ActorError::invalid_input(format!(
            "{link}: empty symlink target"
        )));
    }
    let depth = link.ancestors().count().saturating_sub(2);
    let mut climbs = 0;
    let mut descended = false;
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if !descended => climbs += 1,
            Component::Normal(_) => descended = true,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(escape());
            }
        }
    }
    if climbs > depth {
        return Err(escape());
    }
    Ok(())
}

impl Filesystem {
    /// Archives the root (and, with `include_mounts`, what is mounted in it) into `out` as it
    /// reads the tree; returns the archive's size and hex SHA-256. Sockets, FIFOs and devices
    /// are left out; nothing is followed through a symlink.
    pub fn snapshot_into<W: Write>(
        &self,
        options: SnapshotOptions,
        out: W,
    ) -> Result<(u64, String), ActorError> {
        let writer = self.write_archive(
            options,
            HashingWriter {
                inner: out,
                hasher: Sha256::new(),
                written: 0,
            },
        )?;
        Ok((writer.written, hex_digest(writer.hasher)))
    }

    /// Archives the root as [`Self::snapshot_chunks`] does, emitting each chunk as an event
    /// that fits in one message: half the message limit leaves room for base64 in JSON and
    /// the frame around it.
    pub fn snapshot_to(
        &self,
        options: SnapshotOptions,
        emitter: &Emitter<SnapshotChunk>,
        cancelled: &Cancelled,
    ) -> Result<SnapshotInfo, ActorError> {
        let chunk_size = u32::try_from(emitter.max_message_bytes() / 2)
            .unwrap_or(u32::MAX)
            .max(1024);
        self.snapshot_chunks(options, chunk_size, |chunk| {
            if cancelled.is_set() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "the call was cancelled",
                ));
            }
            emitter.emit(chunk);
            Ok(())
        })
    }

    /// Archives the root as [`Self::snapshot_into`] does, handing it to `send` in chunks of
    /// `chunk_size` bytes (the last may be shorter) while it is made; an error from `send`
    /// stops it. Each sent chunk is digested on a thread of its own, beside the one reading the
    /// tree.
    pub fn snapshot_chunks(
        &self,
        options: SnapshotOptions,
        chunk_size: u32,
        send: impl FnMut(&SnapshotChunk) -> io::Result<()>,
    ) -> Result<SnapshotInfo, ActorError> {
        check_chunk_size(chunk_size)?;
        let size = usize::try_from(chunk_size).unwrap_or(usize::MAX);
        let (digest, chunks) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (done, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        std::thread::scope(|scope| {
            let digested = scope.spawn(move || {
                let (mut hasher, mut bytes) = (Sha256::new(), 0u64);
                for mut chunk in chunks {
                    hasher.update(&chunk);
                    bytes += chunk.len() as u64;
                    chunk.clear();
                    // Full: the writer has spares enough; this one is freed.
                    let _ = done.try_send(chunk);
                }
                (bytes, hex_digest(hasher))
            });
            let written = self.write_archive(
                options,
                ChunkWriter {
                    buf: Vec::with_capacity(size),
                    size,
                    index: 0,
                    send,
                    digest,
                    spare,
                },
            )?;
            let chunks = written.index;
            drop(written);
            let (bytes, sha256) = digested
                .join()
                .map_err(|_| ActorError::internal("the snapshot's digest failed"))?;
            Ok(SnapshotInfo {
                size: SafeU64::new(bytes)?,
                sha256,
                chunks,
            })
        })
    }

    /// Writes the archive into `out` and flushes it.
    fn write_archive<W: Write>(&self, options: SnapshotOptions, out: W) -> Result<W, ActorError> {
        let out_err = |err: io::Error| ActorError::internal(format!("writing snapshot: {err}"));
        let mut builder = tar::Builder::new(out);
        self.archive_tree(&mut builder, options.include_mounts.unwrap_or(false))?;
        let mut out = builder.into_inner().map_err(out_err)?;
        out.flush().map_err(out_err)?;
        Ok(out)
    }

    fn archive_tree<W: Write>(
        &self,
        builder: &mut tar::Builder<W>,
        include_mounts: bool,
    ) -> Result<(), ActorError> {
        let mut stack = Vec::new();
        let no_exclusions = HashSet::new();
        self.push_children(&mut stack, &VmPath::root(), 0, &no_exclusions)?;
        while let Some((path, _)) = stack.pop() {
            let Some((meta, _)) = skip_not_found(self.lstat_vm(&path))? else {
                continue;
            };
            let name = path.relative();
            let vm_err = |err: io::Error| ActorError::io(&err, path.as_str());
            match meta.kind {
                NodeKind::Directory => {
                    let mut header = canonical_header(tar::EntryType::Directory, meta.mode, 0);
                    builder
                        .append_data(&mut header, format!("{name}/"), io::empty())
                        .map_err(vm_err)?;
                    if include_mounts || !self.table().is_mount_point(&path) {
                        skip_not_found(self.push_children(&mut stack, &path, 0, &no_exclusions))?;
                    }
                }
                NodeKind::File => {
                    let resolved = self.resolve(&path);
                    let Some(file) =
                        skip_not_found(resolved.storage.open_read(&resolved.rel).map_err(vm_err))?
                    else {
                        continue;
                    };
                    // Exactly `size` bytes whatever happens to the file meanwhile: a grown file
                    // is cut, a shrunk one padded, and the archive stays well-formed. Read in
                    // large pieces: the copy into the archive asks for 8 KiB at a time.
                    let data = BufReader::with_capacity(READ_BUFFER, file.take(meta.size))
                        .chain(io::repeat(0))
                        .take(meta.size);
                    let mut header =
                        canonical_header(tar::EntryType::Regular, meta.mode, meta.size);
                    builder
                        .append_data(&mut header, name, data)
                        .map_err(vm_err)?;
                }
                NodeKind::Symlink => {
                    let resolved = self.resolve(&path);
                    let target = resolved.storage.read_link(&resolved.rel).map_err(vm_err)?;
                    let mut header = canonical_header(tar::EntryType::Symlink, meta.mode, 0);
                    builder
                        .append_link(&mut header, name, target)
                        .map_err(vm_err)?;
                }
                NodeKind::Special => {}
            }
        }
        Ok(())
    }

    /// Appends a piece of an archive to an upload; `None` starts a new upload. The VM's
    /// uploads not yet restored may hold `max_pending` bytes together: a chunk past that is
    /// `limit_exceeded` and not stored.
    pub fn upload_chunk(
        &self,
        upload_id: Option<String>,
        chunk: Bytes,
        max_pending: u64,
    ) -> Result<UploadInfo, ActorError> {
        let upload_err = |err: io::Error| ActorError::internal(format!("storing upload: {err}"));
        let pending: u64 = std::fs::read_dir(self.scratch.join(UPLOADS_DIR))
            .map_err(upload_err)?
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .map(|meta| meta.len())
            .sum();
        if pending.saturating_add(chunk.0.len() as u64) > max_pending {
            return Err(ActorError::limit_exceeded(format!(
                "this VM's pending uploads hold {pending} bytes; this chunk would take them past its most, {max_pending} (restore or start over)"
            ))
            .with_metadata(serde_json::json!({ "limit": "uploads", "max": max_pending })));
        }
        let (upload_id, mut file) = match upload_id {
            None => {
                let id = format!("{:032x}", rand::random::<u128>());
                let file = OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .open(self.upload_path(&id)?)
                    .map_err(upload_err)?;
                (id, file)
            }
            Some(id) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(self.upload_path(&id)?)
                    .map_err(|err| match err.kind() {
                        io::ErrorKind::NotFound => unknown_upload(&id),
                        _ => upload_err(err),
                    })?;
                (id, file)
            }
        };
        file.write_all(&chunk).map_err(upload_err)?;
        let size = file.metadata().map_err(upload_err)?.len();
        Ok(UploadInfo {
            upload_id,
            size: SafeU64::new(size)?,
        })
    }

    /// Upload ids are ours (32 hex digits), so anything else is unknown rather than a path.
    fn upload_path(&self, id: &str) -> Result<PathBuf, ActorError> {
        if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(unknown_upload(id));
        }
        Ok(self.scratch.join(UPLOADS_DIR).join(id))
    }

    /// Replaces the root's contents with an archive's, all at once: the new root is built
    /// beside the old one and swapped in by a rename, so a restore that fails (or a host killed
    /// during one) leaves the old root exactly as it was. Mount contents are kept, except that
    /// entries under a mount path are written through the mount, before the swap (those
    /// writes stay if a later entry fails). Every entry is checked first: an invalid,
    /// truncated or empty archive changes nothing.
    pub fn restore(&self, source: SnapshotSource) -> Result<(), ActorError> {
        match source {
            SnapshotSource::Bytes(bytes) => self.restore_archive(Cursor::new(&bytes[..])),
            SnapshotSource::UploadId(id) => {
                let (file, path) = self.open_upload(&id)?;
                // Consumed: the open handle keeps the bytes readable after the unlink.
                forget_upload(&path)?;
                self.restore_archive(file)
            }
        }
    }

    /// A finished upload, open for reading, and its path for [`forget_upload`].
    pub(super) fn open_upload(&self, id: &str) -> Result<(File, PathBuf), ActorError> {
        let path = self.upload_path(id)?;
        let file = File::open(&path).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => unknown_upload(id),
            _ => ActorError::internal(format!("opening upload: {err}")),
        })?;
        Ok((file, path))
    }

    /// As [`Self::restore`], from an archive the host holds.
    pub(crate) fn restore_archive<R: Read + Seek>(&self, mut reader: R) -> Result<(), ActorError> {
        self.check_archive(&mut reader)?;
        reader.seek(SeekFrom::Start(0)).map_err(invalid_archive)?;
        let _one_at_a_time = self
            .restoring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let staging = Staging::create(&self.data_dir, self.user)?;
        self.extract(reader, &staging.storage)?;
        self.swap_in(&staging)
        // Dropping `staging` deletes what is left beside the root: the old root, once swapped.
    }

    /// Writes the archive's entries: those under a mount through the mount, the rest into
    /// `staged`, the new root, where the root's mount points are directories too.
    fn extract<R: Read>(&self, reader: R, staged: &Arc<dyn Storage>) -> Result<(), ActorError> {
        let (root, points) = {
            let table = self.table();
            (table.root(), table.points())
        };
        // Where an entry lands: through its mount, or into the new root in the old one's place.
        let target = |path: &VmPath| -> Result<(Arc<dyn Storage>, String), ActorError> {
            let resolved = self.resolve_writable(path)?;
            if Arc::ptr_eq(&resolved.storage, &root) {
                Ok((Arc::clone(staged), resolved.rel))
            } else {
                Ok((resolved.storage, resolved.rel))
            }
        };
        for (point, _) in points {
            if let Some(parent) = point.parent()
                && Arc::ptr_eq(&self.resolve(&parent).storage, &root)
            {
                staged
                    .mkdir(point.relative(), true)
                    .map_err(|err| ActorError::io(&err, point.as_str()))?;
            }
        }
        let mut dir_modes = Vec::new();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(invalid_archive)? {
            let mut entry = entry.map_err(invalid_archive)?;
            let Some(path) = entry_path(&entry)? else {
                continue;
            };
            let kind = entry_kind(&entry, &path)?;
            if matches!(kind, EntryKind::Ignored) || self.table().is_mount_point(&path) {
                continue;
            }
            let mode = entry.header().mode().map_err(invalid_archive)? & 0o777;
            let (storage, rel) = target(&path)?;
            let (storage, rel) = (&*storage, rel.as_str());
            let vm_err = |err: io::Error| ActorError::io(&err, path.as_str());
            if let EntryKind::Directory = kind {
                match storage.mkdir(rel, false) {
                    Ok(()) => {}
                    Err(err)
                        if err.kind() == io::ErrorKind::AlreadyExists
                            && storage.lstat(rel).is_ok_and(|meta| meta.is_dir()) => {}
                    Err(err) => return Err(vm_err(err)),
                }
                dir_modes.push((path, mode));
                continue;
            }
            storage.mkdir(parent_rel(rel), true).map_err(vm_err)?;
            // An older file or link may sit there (a mount's, or an earlier entry's); never
            // write through a link.
            match storage.lstat(rel) {
                Ok(meta) if !meta.is_dir() => storage.remove(rel, false).map_err(vm_err)?,
                _ => {}
            }
            match kind {
                EntryKind::Symlink(target) => storage.symlink(&target, rel).map_err(vm_err)?,
                _ => {
                    storage.write_from(rel, &mut entry).map_err(vm_err)?;
                    storage.set_mode(rel, mode).map_err(vm_err)?;
                }
            }
        }
        // Last, and deepest first, so a read-only directory could still be filled.
        for (path, mode) in dir_modes.into_iter().rev() {
            let (storage, rel) = target(&path)?;
            storage
                .set_mode(&rel, mode)
                .map_err(|err| ActorError::io(&err, path.as_str()))?;
        }
        Ok(())
    }

    /// Puts the staged root in the old one's place and the filesystem on it. The table stays
    /// locked meanwhile, so that no path resolves to the old root once the new one is in place.
    /// Resident sandboxes still bind the old directory; the sandbox rebuilds them when it sees
    /// another directory at the root's path.
    fn swap_in(&self, staging: &Staging) -> Result<(), ActorError> {
        let root_path = self.data_dir.join(ROOT_DIR);
        let aside = self.data_dir.join(ASIDE_DIR);
        let swap_err = |err: io::Error| {
            ActorError::internal(format!(
                "swapping the restored root into {}: {err}",
                root_path.display()
            ))
        };
        let mut table = self.table_mut();
        let swap = Swap::perform(&staging.path, &root_path, &aside).map_err(swap_err)?;
        let root = match Confined::open(&root_path) {
            Ok(root) => root,
            Err(err) => {
                // The old root goes back: the VM keeps the files it was using.
                if let Err(undo) = swap.undo(&staging.path, &root_path, &aside) {
                    tracing::error!(path = %root_path.display(), %undo, "could not put the old root back");
                }
                return Err(host_error(&err, &root_path));
            }
        };
        let old = table.replace_root(AsUser::wrap(Arc::new(root), self.user));
        drop(table);
        drop(old);
        Ok(())
    }

    /// Validates a whole archive without changing anything: entry paths and kinds, link
    /// targets, nothing stored beneath a link, and what the mounts it lands in allow.
    fn check_archive<R: Read + Seek>(&self, reader: &mut R) -> Result<(), ActorError> {
        let mounts = self.table().points();
        let mut paths = Vec::new();
        let mut links = HashSet::new();
        // Where the last entry's data ends, padded to a block: the end marker comes next.
        let mut end = 0;
        let mut archive = tar::Archive::new(&mut *reader);
        for entry in archive.entries().map_err(invalid_archive)? {
            let entry = entry.map_err(invalid_archive)?;
            end = entry.raw_file_position() + entry.size().div_ceil(BLOCK) * BLOCK;
            let Some(path) = entry_path(&entry)? else {
                continue;
            };
            let kind = entry_kind(&entry, &path)?;
            if matches!(kind, EntryKind::Ignored) {
                continue;
            }
            entry.header().mode().map_err(invalid_archive)?;
            if let EntryKind::Symlink(target) = &kind {
                check_link_target(&path, target)?;
                links.insert(path.clone());
            }
            let holder = mounts
                .iter()
                .filter(|(point, _)| path.starts_with(point))
                .max_by_key(|(point, _)| point.as_str().len());
            if let Some((point, read_only)) = holder {
                if *point == path && !matches!(kind, EntryKind::Directory) {
                    return Err(ActorError::invalid_input(format!(
                        "{path} is a mount point but the archive has a non-directory there"
                    )));
                }
                if *read_only && *point != path {
                    return Err(ActorError::read_only(format!(
                        "{path} would be written to the read-only mount at {point}"
                    )));
                }
            }
            paths.push(path);
        }
        for path in &paths {
            if let Some(link) = path.ancestors().skip(1).find(|a| links.contains(a)) {
                return Err(ActorError::path_escape(format!(
                    "archive entry {path} lies beneath the symlink {link}"
                )));
            }
        }
        // Without the end marker the archive was cut short, perhaps to nothing, and would
        // restore only part of a tree.
        let mut marker = [0; BLOCK as usize];
        let ended = reader.seek(SeekFrom::Start(end)).is_ok()
            && reader.read_exact(&mut marker).is_ok()
            && marker.iter().all(|byte| *byte == 0);
        if !ended {
            return Err(ActorError::invalid_input(
                "not a valid snapshot archive: it has no end-of-archive marker (it is empty or truncated)",
            ));
        }
        Ok(())
    }
}

/// The directory a restore builds the new root in, deleted when dropped, with whatever it
/// holds by then: nothing the VM uses, since after the swap it holds the old root.
struct Staging {
    data_dir: PathBuf,
    path: PathBuf,
    /// The new root, reached as the VM's host user.
    storage: Arc<dyn Storage>,
}

impl Staging {
    /// A fresh, empty directory beside the root, with the root's owner and mode.
    fn create(data_dir: &Path, user: Option<VmUser>) -> Result<Self, ActorError> {
        let root = data_dir.join(ROOT_DIR);
        let path = data_dir.join(STAGING_DIR);
        let host_err = |err: io::Error| host_error(&err, &path);
        // Left by a restore whose clean-up failed.
        remove_tree(&path).map_err(host_err)?;
        let owner = std::fs::metadata(&root).map_err(|err| host_error(&err, &root))?;
        std::fs::create_dir(&path).map_err(host_err)?;
        let storage = Confined::open(&path).map_err(host_err)?;
        let staging = Self {
            data_dir: data_dir.to_owned(),
            path: path.clone(),
            storage: AsUser::wrap(Arc::new(storage), user),
        };
        let made = std::fs::metadata(&path).map_err(host_err)?;
        if (made.uid(), made.gid()) != (owner.uid(), owner.gid()) {
            std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid()))
                .map_err(host_err)?;
        }
        std::fs::set_permissions(
            &path,
            std::fs::Permissions::from_mode(owner.mode() & 0o7777),
        )
        .map_err(host_err)?;
        Ok(staging)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(err) = discard_leftovers(&self.data_dir) {
            tracing::warn!(path = %self.path.display(), %err, "could not remove a restore's leftovers");
        }
    }
}

/// How a restore swapped the new root in, which says how to undo it.
#[derive(Debug, Clone, Copy)]
enum Swap {
    /// One `renameat2(RENAME_EXCHANGE)`: the old root is where the new one was.
    Exchanged,
    /// The old root renamed aside, then the new one into its place.
    MovedAside,
}

impl Swap {
    /// Puts `new` at `root`. At every step a complete root is at `root` (the old one, then
    /// the new one) or, between the two renames of the fallback, at `aside`, which
    /// [`recover_root`] puts back.
    fn perform(new: &Path, root: &Path, aside: &Path) -> io::Result<Self> {
        match exchange(new, root) {
            Ok(()) => return Ok(Self::Exchanged),
            // Filesystems without RENAME_EXCHANGE, and kernels before 3.15.
            Err(err)
                if matches!(
                    err.raw_os_error(),
                    Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
                ) => {}
            Err(err) => return Err(err),
        }
        std::fs::rename(root, aside)?;
        if let Err(err) = std::fs::rename(new, root) {
            std::fs::rename(aside, root)?;
            return Err(err);
        }
        Ok(Self::MovedAside)
    }

    /// Puts the old root back at `root` and the new one back at `new`.
    fn undo(self, new: &Path, root: &Path, aside: &Path) -> io::Result<()> {
        match self {
            Self::Exchanged => exchange(new, root),
            Self::MovedAside => {
                std::fs::rename(root, new)?;
                std::fs::rename(aside, root)
            }
        }
    }
}

/// Swaps two paths atomically: `renameat2(RENAME_EXCHANGE)`.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call, relative to the working
    // directory; the call keeps no pointer.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Finishes what a restore interrupted by a crash left in `data_dir`, before the VM opens:
/// the old root goes back in place if it was moved aside and the new one never took its
/// place, and the half-built or replaced root beside it is deleted.
pub(super) fn recover_root(data_dir: &Path) -> Result<(), ActorError> {
    let root = data_dir.join(ROOT_DIR);
    let aside = data_dir.join(ASIDE_DIR);
    let found = |path: &Path| exists(path).map_err(|err| host_error(&err, path));
    if !found(&root)? && found(&aside)? {
        tracing::warn!(path = %root.display(), "putting back the root an interrupted restore moved aside");
        std::fs::rename(&aside, &root).map_err(|err| host_error(&err, &root))?;
    }
    discard_leftovers(data_dir).map_err(|err| host_error(&err, data_dir))
}

/// Deletes the staging directory and, once the root is in place, the old root moved aside.
fn discard_leftovers(data_dir: &Path) -> io::Result<()> {
    remove_tree(&data_dir.join(STAGING_DIR))?;
    if exists(&data_dir.join(ROOT_DIR))? {
        remove_tree(&data_dir.join(ASIDE_DIR))?;
    }
    Ok(())
}

/// Whether anything is at `path` (a link counts, and is not followed).
fn exists(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Deletes `path` and everything below it, if it is there. Links are removed, never followed
/// (std's `remove_dir_all` opens each directory without following one). A host that is not
/// root cannot empty a directory the VM made read-only: those are opened up first, through a
/// handle confined to the tree.
fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        done => return done,
    }
    let tree = Confined::open(path)?;
    open_up(&tree, "");
    drop(tree);
    std::fs::remove_dir_all(path)
}

/// Makes every directory at or below `rel` writable by its owner, as far as it can.
fn open_up(tree: &Confined, rel: &str) {
    if !tree.lstat(rel).is_ok_and(|meta| meta.is_dir()) {
        return;
    }
    let _ = tree.set_mode(rel, 0o700);
    for name in tree.list(rel).unwrap_or_default() {
        open_up(tree, &join_rel(rel, &name));
    }
}

/// Ends an upload: no longer pending, nor counted against the VM's upload quota.
pub(super) fn forget_upload(path: &Path) -> Result<(), ActorError> {
    std::fs::remove_file(path)
        .map_err(|err| ActorError::internal(format!("removing upload: {err}")))
}

fn unknown_upload(id: &str) -> ActorError {
    ActorError::not_found(format!("no upload with id `{id}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::vm::fs::test_vm::Vm;
    use crate::vm::fs::{DeleteOptions, FileContent, MountDriver, MountOptions};
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// Snapshot shorthands on the shared test VM.
    impl Vm {
        fn chmod(&self, path: &str, mode: u32) {
            let host = self.root().join(path.trim_start_matches('/'));
            std::fs::set_permissions(host, std::fs::Permissions::from_mode(mode)).unwrap();
        }

        fn snapshot(&self, include_mounts: bool) -> Vec<u8> {
            let options = SnapshotOptions {
                include_mounts: Some(include_mounts),
            };
            let mut bytes = Vec::new();
            let (size, _) = self.fs.snapshot_into(options, &mut bytes).unwrap();
            assert_eq!(bytes.len() as u64, size);
            bytes
        }

        fn restore(&self, archive: &[u8]) -> Result<(), ActorError> {
            self.fs
                .restore(SnapshotSource::Bytes(Bytes(archive.to_vec())))
        }
    }

    /// A tree with every kind of entry, odd modes, long names and a long link target.
    fn populate(vm: &Vm) {
        let long_dir = format!("/{}", "d".repeat(90));
        let long_file = format!("{long_dir}/{}", "f".repeat(60));
        vm.mkdir_p("/dir/sub");
        vm.mkdir_p("/empty");
        vm.mkdir_p(&long_dir);
        vm.write("/a.txt", "alpha");
        vm.write("/dir/sub/x", "x contents");
        vm.write("/dir/b.bin", "");
        vm.write(&long_file, "long");
        vm.fs
            .write_file("/dir/bytes", FileContent::Bytes(Bytes((0..=255).collect())))
            .unwrap();
        vm.chmod("/a.txt", 0o600);
        vm.chmod("/dir/sub/x", 0o755);
        vm.chmod("/empty", 0o700);
        symlink("dir/sub/x", vm.root().join("link")).unwrap();
        symlink(
            long_file.trim_start_matches('/'),
            vm.root().join("long-link"),
        )
        .unwrap();
    }

    /// (path, kind byte, mode) of every entry, with the invariant header fields checked.
    fn entries(archive: &[u8]) -> Vec<(String, u8, u32)> {
        let mut out = Vec::new();
        let mut reader = tar::Archive::new(archive);
        for entry in reader.entries().unwrap() {
            let entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            assert_eq!(header.groupname_bytes(), Some(&b""[..]));
            assert!(header.as_gnu().is_some());
            let path = entry.path().unwrap().display().to_string();
            out.push((path, header.entry_type().as_byte(), header.mode().unwrap()));
        }
        out
    }

    fn paths(archive: &[u8]) -> Vec<String> {
        entries(archive).into_iter().map(|e| e.0).collect()
    }

    #[test]
    fn snapshots_are_canonical_and_deterministic() {
        let vm = Vm::new();
        populate(&vm);
        let first = vm.snapshot(false);
        let touched = std::fs::File::options()
            .write(true)
            .open(vm.root().join("a.txt"))
            .unwrap();
        touched
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(12345))
            .unwrap();
        assert_eq!(
            vm.snapshot(false),
            first,
            "mtimes do not leak into the archive"
        );
        let long_dir = "d".repeat(90);
        let long_file = format!("{long_dir}/{}", "f".repeat(60));
        assert_eq!(
            paths(&first),
            [
                "a.txt",
                &format!("{long_dir}/"),
                &long_file,
                "dir/",
                "dir/b.bin",
                "dir/bytes",
                "dir/sub/",
                "dir/sub/x",
                "empty/",
                "link",
                "long-link",
            ]
        );
        let modes: Vec<(u8, u32)> = entries(&first).into_iter().map(|e| (e.1, e.2)).collect();
        assert_eq!(modes[0], (b'0', 0o600));
        assert_eq!(modes[7], (b'0', 0o755));
        assert_eq!(modes[8], (b'5', 0o700));
        assert_eq!(modes[9].0, b'2');
    }

    #[test]
    fn snapshot_restore_snapshot_round_trips_byte_for_byte() {
        let source = Vm::new();
        populate(&source);
        let archive = source.snapshot(false);
        let target = Vm::new();
        target.write("/stale", "removed by restore");
        target.mkdir_p("/dir/old");
        target.restore(&archive).unwrap();
        assert_eq!(target.snapshot(false), archive);
        assert!(!target.fs.exists("/stale").unwrap());
        assert!(!target.fs.exists("/dir/old").unwrap());
        assert_eq!(target.read("/a.txt"), "alpha");
        assert_eq!(target.read("/link"), "x contents");
        assert_eq!(
            target.fs.read_file("/dir/bytes").unwrap().0,
            (0..=255).collect::<Vec<u8>>()
        );
        assert_eq!(target.fs.stat("/a.txt").unwrap().mode, 0o600);
        assert_eq!(target.fs.stat("/empty").unwrap().mode, 0o700);
        let long_file = format!("/{}/{}", "d".repeat(90), "f".repeat(60));
        assert_eq!(target.read(&long_file), "long");
        assert_eq!(target.read("/long-link"), "long");
    }

    #[test]
    fn restore_applies_directory_modes_after_contents() {
        let source = Vm::new();
        source.mkdir_p("/locked");
        source.write("/locked/inside", "still restored");
        source.chmod("/locked", 0o555);
        let archive = source.snapshot(false);
        let target = Vm::new();
        target.restore(&archive).unwrap();
        assert_eq!(target.read("/locked/inside"), "still restored");
        assert_eq!(target.fs.stat("/locked").unwrap().mode, 0o555);
        source.chmod("/locked", 0o755);
        target.chmod("/locked", 0o755);
    }

    #[test]
    fn mounts_are_empty_directories_unless_included() {
        let vm = Vm::new();
        vm.write("/top", "t");
        vm.fs
            .mount("/mnt/mem", MountDriver::Memory, MountOptions::default())
            .unwrap();
        vm.mkdir_p("/mnt/mem/inner");
        vm.write("/mnt/mem/inner/file", "in the mount");
        assert_eq!(paths(&vm.snapshot(false)), ["mnt/", "mnt/mem/", "top"]);
        let with_mounts = vm.snapshot(true);
        assert_eq!(
            paths(&with_mounts),
            [
                "mnt/",
                "mnt/mem/",
                "mnt/mem/inner/",
                "mnt/mem/inner/file",
                "top"
            ]
        );
        let fresh = Vm::new();
        fresh.restore(&with_mounts).unwrap();
        assert_eq!(fresh.read("/mnt/mem/inner/file"), "in the mount");
        assert!(
            fresh.root().join("mnt/mem/inner/file").exists(),
            "no mount: into the root"
        );
    }

    #[test]
    fn restore_keeps_mount_contents_and_writes_through_mounts() {
        let vm = Vm::new();
        vm.fs
            .mount("/m", MountDriver::Memory, MountOptions::default())
            .unwrap();
        vm.write("/m/kept", "mine");
        vm.write("/rootfile", "r");
        let plain = vm.snapshot(false);
        vm.write("/m/kept", "changed");
        vm.write("/m/extra", "e");
        vm.fs.delete("/rootfile", DeleteOptions::default()).unwrap();
        vm.restore(&plain).unwrap();
        assert_eq!(vm.read("/rootfile"), "r");
        assert_eq!(
            vm.read("/m/kept"),
            "changed",
            "mount contents are not replaced"
        );
        assert_eq!(vm.fs.readdir("/").unwrap(), ["m", "rootfile"]);
        assert!(
            vm.root().join("m").is_dir(),
            "mount point directory is put back"
        );

        let source = Vm::new();
        source.mkdir_p("/m/sub");
        source.write("/m/sub/new", "through the mount");
        source.write("/m/kept", "from archive");
        vm.restore(&source.snapshot(false)).unwrap();
        assert_eq!(vm.read("/m/sub/new"), "through the mount");
        assert_eq!(vm.read("/m/kept"), "from archive");
        assert_eq!(vm.read("/m/extra"), "e");
        assert!(!vm.root().join("m/sub").exists());
    }

    #[test]
    fn restore_into_a_read_only_mount_fails_before_changing_anything() {
        let source = Vm::new();
        source.mkdir_p("/ro");
        source.write("/ro/file", "x");
        let archive = source.snapshot(false);
        let vm = Vm::new();
        vm.fs
            .mount(
                "/ro",
                MountDriver::Memory,
                MountOptions {
                    read_only: Some(true),
                },
            )
            .unwrap();
        vm.write("/precious", "p");
        assert_eq!(vm.restore(&archive).unwrap_err().code, code::READ_ONLY);
        assert_eq!(vm.read("/precious"), "p");
        let empty_point = {
            let source = Vm::new();
            source.mkdir_p("/ro");
            source.snapshot(false)
        };
        vm.restore(&empty_point).unwrap();
        assert!(!vm.fs.exists("/precious").unwrap());
    }

    #[test]
    fn a_directory_entry_over_a_file_in_a_mount_fails() {
        let source = Vm::new();
        source.mkdir_p("/m/clash");
        let vm = Vm::new();
        vm.fs
            .mount("/m", MountDriver::Memory, MountOptions::default())
            .unwrap();
        vm.write("/m/clash", "a file");
        let err = vm.restore(&source.snapshot(false)).unwrap_err();
        assert_eq!(err.code, code::ALREADY_EXISTS);
    }

    #[test]
    fn chunks_reassemble_to_the_whole_archive() {
        let vm = Vm::new();
        populate(&vm);
        let whole = vm.snapshot(false);
        let mut chunks = Vec::new();
        let info = vm
            .fs
            .snapshot_chunks(SnapshotOptions::default(), 1000, |c| {
                chunks.push(c.clone());
                Ok(())
            })
            .unwrap();
        assert_eq!(info.size.get(), whole.len() as u64);
        assert_eq!(info.chunks as u64, info.size.get().div_ceil(1000));
        assert_eq!(info.chunks as usize, chunks.len());
        assert!(info.chunks > 2);
        let mut joined = Vec::new();
        for (index, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.index as usize, index);
            assert!(chunk.data.len() <= 1000);
            joined.extend_from_slice(&chunk.data);
        }
        assert_eq!(joined, whole);
        let digest: String = Sha256::digest(&joined)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(info.sha256, digest);
        let zero = vm
            .fs
            .snapshot_chunks(SnapshotOptions::default(), 0, |_| panic!("no chunk"))
            .unwrap_err();
        assert_eq!(zero.code, code::INVALID_INPUT);
    }

    #[test]
    fn upload_in_chunks_then_restore() {
        let source = Vm::new();
        populate(&source);
        let archive = source.snapshot(false);
        let vm = Vm::new();
        let mut pieces = archive.chunks(777);
        let first = vm
            .fs
            .upload_chunk(None, Bytes(pieces.next().unwrap().to_vec()), u64::MAX)
            .unwrap();
        let id = first.upload_id.clone();
        let mut size = first.size.get();
        for piece in pieces {
            let info = vm
                .fs
                .upload_chunk(Some(id.clone()), Bytes(piece.to_vec()), u64::MAX)
                .unwrap();
            assert_eq!(info.upload_id, id);
            assert_eq!(info.size.get(), size + piece.len() as u64);
            size = info.size.get();
        }
        assert_eq!(size, archive.len() as u64);
        vm.fs.restore(SnapshotSource::UploadId(id.clone())).unwrap();
        assert_eq!(vm.snapshot(false), archive);
        let consumed = vm.fs.restore(SnapshotSource::UploadId(id.clone()));
        assert_eq!(consumed.unwrap_err().code, code::NOT_FOUND);
        let append = vm.fs.upload_chunk(Some(id), Bytes(vec![1]), u64::MAX);
        assert_eq!(append.unwrap_err().code, code::NOT_FOUND);
        for bogus in ["0123456789abcdef0123456789abcdef", "../../root/a.txt", ""] {
            let err = vm
                .fs
                .upload_chunk(Some(bogus.into()), Bytes(vec![1]), u64::MAX);
            assert_eq!(err.unwrap_err().code, code::NOT_FOUND, "{bogus}");
        }
    }

    #[test]
    fn pending_uploads_are_capped_and_a_refused_chunk_is_not_stored() {
        let vm = Vm::new();
        let first = vm.fs.upload_chunk(None, Bytes(vec![0; 600]), 1000).unwrap();
        let id = first.upload_id;
        let err = vm
            .fs
            .upload_chunk(Some(id.clone()), Bytes(vec![0; 500]), 1000)
            .unwrap_err();
        assert_eq!(err.code, code::LIMIT_EXCEEDED, "{err:?}");
        // Another upload counts against the same total; what fits is still taken.
        let err = vm
            .fs
            .upload_chunk(None, Bytes(vec![0; 401]), 1000)
            .unwrap_err();
        assert_eq!(err.code, code::LIMIT_EXCEEDED, "{err:?}");
        let info = vm
            .fs
            .upload_chunk(Some(id), Bytes(vec![0; 400]), 1000)
            .unwrap();
        assert_eq!(info.size, SafeU64::new(1000).unwrap());
    }

    /// One raw archive entry: name, kind, link target, contents.
    type RawEntry<'a> = (&'a str, tar::EntryType, &'a str, &'a [u8]);

    /// An archive written header by header, bypassing the tar crate's own path checks.
    fn raw_archive(entries: &[RawEntry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, link, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn malicious_archives_are_rejected_before_anything_changes() {
        use tar::EntryType::{Directory as D, Regular as F, Symlink as L};
        let vm = Vm::new();
        vm.write("/precious", "p");
        let before = vm.snapshot(false);
        let ok_file: RawEntry<'_> = ("fine", F, "", b"fine");
        let cases: &[(&str, &[RawEntry<'_>])] = &[
            ("parent dir", &[ok_file, ("../x", F, "", b"evil")]),
            ("nested parent", &[("a/../../x", F, "", b"evil")]),
            ("absolute path", &[ok_file, ("/etc/evil", F, "", b"evil")]),
            ("absolute link", &[("l", L, "/etc", b"")]),
            (
                "relative link out",
                &[("d", D, "", b""), ("d/l", L, "../../etc", b"")],
            ),
            ("link out from top", &[("l", L, "..", b"")]),
            (
                "climb after a name",
                &[("s", L, ".", b""), ("l", L, "s/../..", b"")],
            ),
            (
                "entry beneath a link",
                &[("s", L, ".", b""), ("s/x", F, "", b"evil")],
            ),
            (
                "entry before its link",
                &[("s/x", F, "", b"evil"), ("s", L, ".", b"")],
            ),
        ];
        for (what, entries) in cases {
            let err = vm.restore(&raw_archive(entries)).unwrap_err();
            assert_eq!(err.code, code::PATH_ESCAPE, "{what}: {err}");
            assert_eq!(vm.snapshot(false), before, "{what} changed the root");
        }
        let hard_link = raw_archive(&[ok_file, ("h", tar::EntryType::Link, "fine", b"")]);
        assert_eq!(
            vm.restore(&hard_link).unwrap_err().code,
            code::INVALID_INPUT
        );
        let garbage = vec![7u8; 1024];
        assert_eq!(vm.restore(&garbage).unwrap_err().code, code::INVALID_INPUT);
        assert_eq!(vm.snapshot(false), before);
        assert!(!vm.tmp.path().join("x").exists());
        assert!(!vm.tmp.path().join("data/x").exists());
        let fine = raw_archive(&[
            ("./", D, "", b""),
            ("d", D, "", b""),
            ("d/up", L, "../fine", b""),
            ("d/here", L, "./x/y", b""),
            ("fine", F, "", b"fine"),
        ]);
        vm.restore(&fine).unwrap();
        assert_eq!(vm.read("/d/up"), "fine");
        assert!(!vm.fs.exists("/precious").unwrap());
    }

    /// Every node under a host directory, sorted: path, kind, mode, and a file's bytes or a
    /// link's target. Compares trees byte for byte.
    fn host_tree(dir: &Path) -> Vec<(String, String, u32, Vec<u8>)> {
        fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, String, u32, Vec<u8>)>) {
            let mut names: Vec<_> = std::fs::read_dir(dir.join(rel))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            for name in names {
                let rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let host = dir.join(&rel);
                let meta = std::fs::symlink_metadata(&host).unwrap();
                let mode = meta.permissions().mode() & 0o7777;
                if meta.is_symlink() {
                    let target = std::fs::read_link(&host).unwrap();
                    out.push((rel, "link".into(), 0, target.into_os_string().into_vec()));
                } else if meta.is_dir() {
                    out.push((rel.clone(), "dir".into(), mode, Vec::new()));
                    walk(dir, &rel, out);
                } else {
                    out.push((rel, "file".into(), mode, std::fs::read(&host).unwrap()));
                }
            }
        }
        use std::os::unix::ffi::OsStringExt;
        let mut out = Vec::new();
        walk(dir, "", &mut out);
        out
    }

    /// What a restore leaves beside the root: nothing, once it is over.
    fn leftovers(vm: &Vm) -> Vec<String> {
        let data = vm.tmp.path().join("data");
        [STAGING_DIR, ASIDE_DIR]
            .into_iter()
            .filter(|dir| data.join(dir).exists())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_restore_that_fails_midway_leaves_the_root_exactly_as_it_was() {
        use tar::EntryType::{Directory as D, Regular as F};
        let vm = Vm::new();
        populate(&vm);
        let before = host_tree(&vm.root());
        let snapshot = vm.snapshot(false);
        let whole = {
            let source = Vm::new();
            source.write("/a.txt", "replaced");
            source.write("/new", "n");
            source.snapshot(false)
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "a directory, then a file of the same name",
                raw_archive(&[
                    ("a.txt", F, "", b"overwritten"),
                    ("dir", D, "", b""),
                    ("zzz", D, "", b""),
                    ("zzz", F, "", b"clash"),
                ]),
            ),
            ("an empty archive", Vec::new()),
            ("cut data", whole[..700].to_vec()),
            ("a cut header", whole[..1100].to_vec()),
            ("no end marker", whole[..whole.len() - 1024].to_vec()),
        ];
        for (what, archive) in cases {
            let err = vm.restore(&archive).unwrap_err();
            assert!(
                [code::INVALID_INPUT, code::IS_A_DIRECTORY].contains(&err.code.as_str()),
                "{what}: {err:?}"
            );
            assert_eq!(host_tree(&vm.root()), before, "{what} changed the root");
            assert_eq!(vm.snapshot(false), snapshot, "{what} changed the VM's view");
            assert!(leftovers(&vm).is_empty(), "{what}: {:?}", leftovers(&vm));
        }
        vm.restore(&whole).unwrap();
        assert_eq!(vm.read("/a.txt"), "replaced");
    }

    #[test]
    fn a_successful_restore_swaps_in_a_new_root_the_filesystem_then_uses() {
        use std::os::unix::fs::MetadataExt;
        let source = Vm::new();
        populate(&source);
        let archive = source.snapshot(false);
        let vm = Vm::new();
        vm.write("/old", "o");
        let old_root = std::fs::metadata(vm.root()).unwrap();
        std::fs::set_permissions(vm.root(), std::fs::Permissions::from_mode(0o751)).unwrap();
        vm.restore(&archive).unwrap();
        assert_eq!(host_tree(&vm.root()), host_tree(&source.root()));
        let new_root = std::fs::metadata(vm.root()).unwrap();
        assert_ne!(new_root.ino(), old_root.ino(), "another directory");
        assert_eq!(new_root.mode() & 0o7777, 0o751, "with the old one's mode");
        assert_eq!(
            (new_root.uid(), new_root.gid()),
            (old_root.uid(), old_root.gid())
        );
        assert!(leftovers(&vm).is_empty());
        // Reads and writes reach the new root's directory.
        vm.write("/after", "a");
        assert_eq!(std::fs::read(vm.root().join("after")).unwrap(), b"a");
        assert!(!vm.fs.exists("/old").unwrap());
        assert_eq!(vm.fs.host_view().unwrap().root, vm.root());
        // A second restore swaps again.
        vm.restore(&archive).unwrap();
        assert!(!vm.fs.exists("/after").unwrap());
        assert_eq!(vm.snapshot(false), archive);
    }

    /// Closes the VM, lets `crash` leave its data directory as a killed restore would, and
    /// opens it again.
    fn reopen_after(vm: Vm, crash: impl FnOnce(&Path)) -> Vm {
        let Vm { tmp, fs } = vm;
        drop(fs);
        let data = tmp.path().join("data");
        crash(&data);
        let fs = Filesystem::open(&data).unwrap();
        Vm { tmp, fs }
    }

    #[test]
    fn an_interrupted_restore_is_rolled_back_or_completed_on_open() {
        let vm = Vm::new();
        populate(&vm);
        let before = host_tree(&vm.root());
        let half_built = |data: &Path| {
            std::fs::create_dir_all(data.join(STAGING_DIR).join("half")).unwrap();
            std::fs::write(data.join(STAGING_DIR).join("half/f"), b"partial").unwrap();
        };
        // Killed while extracting: the staging directory is half full.
        let vm = reopen_after(vm, half_built);
        assert_eq!(host_tree(&vm.root()), before);
        assert!(leftovers(&vm).is_empty());
        // Killed between the fallback's two renames: no root, the old one aside.
        let vm = reopen_after(vm, |data| {
            half_built(data);
            std::fs::rename(data.join(ROOT_DIR), data.join(ASIDE_DIR)).unwrap();
        });
        assert_eq!(host_tree(&vm.root()), before, "the old root is put back");
        assert!(leftovers(&vm).is_empty());
        assert_eq!(vm.read("/a.txt"), "alpha");
        // Killed after the swap: the new root is in place, the old one beside it.
        let vm = reopen_after(vm, |data| {
            std::fs::rename(data.join(ROOT_DIR), data.join(ASIDE_DIR)).unwrap();
            std::fs::create_dir(data.join(ROOT_DIR)).unwrap();
            std::fs::write(data.join(ROOT_DIR).join("new"), b"new root").unwrap();
            // A read-only directory in what is left over.
            let locked = data.join(ASIDE_DIR).join("locked");
            std::fs::create_dir(&locked).unwrap();
            std::fs::write(locked.join("f"), b"x").unwrap();
            std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
        });
        assert_eq!(vm.fs.readdir("/").unwrap(), ["new"]);
        assert!(leftovers(&vm).is_empty());
    }

    #[test]
    fn link_targets_may_only_climb_first_and_not_above_the_root() {
        let check = |link: &str, target: &str| {
            check_link_target(&VmPath::parse(link).unwrap(), Path::new(target)).map_err(|e| e.code)
        };
        assert_eq!(check("/a/b/l", "../../x"), Ok(()));
        assert_eq!(check("/a/b/l", "./../x/./y"), Ok(()));
        assert_eq!(check("/l", "x/y"), Ok(()));
        assert_eq!(check("/a/b/l", "../../../x"), Err(code::PATH_ESCAPE.into()));
        assert_eq!(check("/a/l", "x/../y"), Err(code::PATH_ESCAPE.into()));
        assert_eq!(check("/a/l", "/a"), Err(code::PATH_ESCAPE.into()));
        assert_eq!(check("/a/l", ""), Err(code::INVALID_INPUT.into()));
    }
}
