//! Per-mount storage. Every backend answers in mount-relative paths (`""` is the mount's own
//! root, `a/b` below it) and plain `io::Error`s; the `Filesystem` turns those into typed errors
//! carrying the VM path. All host access goes through `cap_std::fs::Dir`, so no path or
//! symlink can reach outside the directory a backend was opened on.

use super::types::FileKind;
use cap_std::fs::{
    Dir, File, FileType, FileTypeExt, Metadata, OpenOptions, OpenOptionsExt, Permissions,
    PermissionsExt,
};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// What a node is, including the kinds the wire does not name (FIFOs, sockets, devices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeKind {
    File,
    Directory,
    Symlink,
    Special,
}

impl NodeKind {
    /// Special files show up as files to clients: they can be listed and deleted, not archived.
    pub(super) fn file_kind(self) -> FileKind {
        match self {
            Self::File | Self::Special => FileKind::File,
            Self::Directory => FileKind::Directory,
            Self::Symlink => FileKind::Symlink,
        }
    }
}

/// `lstat` of one node.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    pub kind: NodeKind,
    pub size: u64,
    /// Permission bits only (`0o777` mask).
    pub mode: u32,
    pub modified_ms: f64,
}

impl Meta {
    pub(super) fn from_cap(meta: &Metadata) -> Self {
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            NodeKind::Symlink
        } else if file_type.is_dir() {
            NodeKind::Directory
        } else if file_type.is_file() {
            NodeKind::File
        } else {
            NodeKind::Special
        };
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.into_std().duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        Self {
            kind,
            size: meta.len(),
            mode: meta.permissions().mode() & 0o777,
            modified_ms,
        }
    }

    pub(super) fn is_dir(&self) -> bool {
        self.kind == NodeKind::Directory
    }
}

/// The operations a mount's storage provides. Paths are mount-relative (see the module doc).
pub(super) trait Storage: Send + Sync {
    /// Metadata of the node itself (a final symlink is not followed).
    fn lstat(&self, rel: &str) -> io::Result<Meta>;
    /// Names in a directory, in no particular order.
    fn list(&self, rel: &str) -> io::Result<Vec<String>>;
    /// Opens a regular file for reading (see [`open_regular`]): anything else is refused,
    /// without ever waiting on it.
    fn open_read(&self, rel: &str) -> io::Result<cap_std::fs::File>;
    /// Creates or truncates a file (not its parents) and fills it from `data`; an existing
    /// node that is not a regular file is refused (see [`create_regular`]).
    fn write_from(&self, rel: &str, data: &mut dyn Read) -> io::Result<()>;
    fn mkdir(&self, rel: &str, recursive: bool) -> io::Result<()>;
    /// Removes a file, symlink or directory (a non-empty one only when `recursive`).
    fn remove(&self, rel: &str, recursive: bool) -> io::Result<()>;
    /// Moves within this storage, replacing a file or empty directory at `to` like `rename(2)`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// The target of a symlink, as stored.
    fn read_link(&self, rel: &str) -> io::Result<PathBuf>;
    /// Creates a symlink; absolute targets are refused as escapes.
    fn symlink(&self, target: &Path, rel: &str) -> io::Result<()>;
    fn set_mode(&self, rel: &str, mode: u32) -> io::Result<()>;
    /// The host directory holding this storage's tree, for binding it into a process
    /// sandbox; `None` when no single directory shows what the VM sees (an overlay).
    fn host_dir(&self) -> Option<&Path>;

    /// A whole file, unbounded: for tests (the `Filesystem` reads with a limit).
    #[cfg(test)]
    fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.open_read(rel)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Why a node cannot be read or written as a file: it is a FIFO, socket or device. The
/// payload of the `InvalidInput` error [`open_regular`] and [`create_regular`] return, so the
/// `Filesystem` can name the kind; `ActorError::io` alone reports `invalid_input` with it.
#[derive(Debug)]
pub(super) struct NotRegular {
    /// "FIFO", "socket", "character device", "block device" or "special file".
    pub kind: &'static str,
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "is a {}, not a regular file", self.kind)
    }
}

impl std::error::Error for NotRegular {}

/// The error for a node of `file_type` where a regular file was needed.
pub(super) fn not_regular(file_type: &FileType) -> io::Error {
    if file_type.is_dir() {
        return io::ErrorKind::IsADirectory.into();
    }
    let kind = if file_type.is_fifo() {
        "FIFO"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else {
        "special file"
    };
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular { kind })
}

fn require_regular(file_type: &FileType) -> io::Result<()> {
    if file_type.is_file() {
        Ok(())
    } else {
        Err(not_regular(file_type))
    }
}

/// Open flags that make `open(2)` itself never wait: on a FIFO without a peer it would, and a
/// terminal must not become the host's controlling one. Cleared once the node is known to be
/// a regular file (which ignores them anyway).
const NO_WAIT: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens the regular file at `path` (symlinks followed, confined to `dir`) for reading.
/// A FIFO, socket or device is refused with a [`NotRegular`] error and a directory with
/// `IsADirectory`, and opening never blocks: the node is looked at first (so a device is not
/// even opened), opened with `O_NONBLOCK`, and what was opened is checked again with `fstat`
/// (the path may have changed in between).
pub(super) fn open_regular(dir: &Dir, path: &Path) -> io::Result<File> {
    require_regular(&dir.metadata(path)?.file_type())?;
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(NO_WAIT);
    checked_open(dir, path, &options)
}

/// Creates or truncates the file at `path` for writing, as [`open_regular`] opens one for
/// reading: an existing FIFO, socket, device or directory is refused, never waited on.
pub(super) fn create_regular(dir: &Dir, path: &Path) -> io::Result<File> {
    match dir.metadata(path) {
        Ok(meta) => require_regular(&meta.file_type())?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(NO_WAIT);
    checked_open(dir, path, &options)
}

fn checked_open(dir: &Dir, path: &Path, options: &OpenOptions) -> io::Result<File> {
    let file = match dir.open_with(path, options) {
        Ok(file) => file,
        // A socket, or a FIFO without a reader opened to write: one swapped in since the look.
        Err(err) if err.raw_os_error() == Some(libc::ENXIO) => {
            return Err(match dir.metadata(path) {
                Ok(meta) if !meta.is_file() => not_regular(&meta.file_type()),
                _ => err,
            });
        }
        Err(err) => return Err(err),
    };
    require_regular(&file.metadata()?.file_type())?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open for as long as `file` lives; F_GETFL/F_SETFL only change its flags.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !cleared {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

/// cap-std's own escape error; `ActorError::io` recognizes it and reports `path_escape`, so
/// escapes detected outside cap-std (the overlay's resolver) must look exactly like it.
pub(super) fn escape_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "a path led outside of the filesystem",
    )
}

/// cap-std names a directory's own root `.`; an empty path would be "not found".
pub(super) fn host_rel(rel: &str) -> &Path {
    Path::new(if rel.is_empty() { "." } else { rel })
}

/// Joins a mount-relative directory and an entry name.
pub(super) fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The mount-relative parent (`""` for a top-level name).
pub(super) fn parent_rel(rel: &str) -> &str {
    rel.rfind('/').map_or("", |cut| &rel[..cut])
}

pub(super) fn os_name(name: std::ffi::OsString) -> String {
    name.into_string()
        .unwrap_or_else(|raw| raw.to_string_lossy().into_owned())
}

/// A host directory this process created and owns: removed when dropped, so a memory mount or
/// overlay upper disappears with the last handle to it (unmount, or the `Filesystem` dropping).
#[derive(Debug)]
pub(super) struct OwnedDir {
    path: PathBuf,
    /// A mount inside it, detached before the directory is deleted.
    mount: Option<PathBuf>,
}

impl OwnedDir {
    /// Creates a fresh, uniquely named directory under `parent`.
    pub(super) fn create_in(parent: &Path, prefix: &str) -> io::Result<Self> {
        let path = parent.join(format!("{prefix}-{:032x}", rand::random::<u128>()));
        std::fs::create_dir(&path)?;
        Ok(Self { path, mount: None })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Notes that something is mounted at `point`, inside this directory.
    pub(super) fn holds_mount(&mut self, point: PathBuf) {
        self.mount = Some(point);
    }
}

impl Drop for OwnedDir {
    fn drop(&mut self) {
        if let Some(point) = &self.mount {
            // Detached: a process still inside keeps what it sees, the host no longer does.
            if let Err(err) = nix::mount::umount2(point, nix::mount::MntFlags::MNT_DETACH) {
                tracing::warn!(path = %point.display(), %err, "could not unmount");
                return;
            }
        }
        match std::fs::remove_dir_all(&self.path) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(path = %self.path.display(), %err, "could not remove scratch directory");
            }
            _ => {}
        }
    }
}

/// A plain directory: the VM root, a `hostDir`, or a `memory` mount (which owns its directory).
pub(super) struct Confined {
    dir: Dir,
    host: PathBuf,
    _owned: Option<OwnedDir>,
}

impl Confined {
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            dir: Dir::open_ambient_dir(path, cap_std::ambient_authority())?,
            host: path.to_owned(),
            _owned: None,
        })
    }

    /// Takes ownership of `owned`: its directory is deleted with this storage.
    pub(super) fn owning(owned: OwnedDir) -> io::Result<Self> {
        let path = owned.path().to_owned();
        Self::owning_at(owned, path)
    }

    /// The directory `path`, inside `owned`, which is deleted with this storage.
    pub(super) fn owning_at(owned: OwnedDir, path: PathBuf) -> io::Result<Self> {
        Ok(Self {
            dir: Dir::open_ambient_dir(&path, cap_std::ambient_authority())?,
            host: path,
            _owned: Some(owned),
        })
    }
}

impl Storage for Confined {
    fn host_dir(&self) -> Option<&Path> {
        Some(&self.host)
    }

    fn lstat(&self, rel: &str) -> io::Result<Meta> {
        Ok(Meta::from_cap(&self.dir.symlink_metadata(host_rel(rel))?))
    }

    fn list(&self, rel: &str) -> io::Result<Vec<String>> {
        self.dir
            .read_dir(host_rel(rel))?
            .map(|entry| Ok(os_name(entry?.file_name())))
            .collect()
    }

    fn open_read(&self, rel: &str) -> io::Result<cap_std::fs::File> {
        open_regular(&self.dir, host_rel(rel))
    }

    fn write_from(&self, rel: &str, data: &mut dyn Read) -> io::Result<()> {
        let mut file = create_regular(&self.dir, host_rel(rel))?;
        io::copy(data, &mut file)?;
        Ok(())
    }

    fn mkdir(&self, rel: &str, recursive: bool) -> io::Result<()> {
        if recursive {
            self.dir.create_dir_all(host_rel(rel))
        } else {
            self.dir.create_dir(host_rel(rel))
        }
    }

    fn remove(&self, rel: &str, recursive: bool) -> io::Result<()> {
        let path = host_rel(rel);
        match self.lstat(rel)?.kind {
            NodeKind::Directory if recursive => self.dir.remove_dir_all(path),
            NodeKind::Directory => self.dir.remove_dir(path),
            _ => self.dir.remove_file(path),
        }
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.dir.rename(host_rel(from), &self.dir, host_rel(to))
    }

    fn read_link(&self, rel: &str) -> io::Result<PathBuf> {
        self.dir.read_link_contents(host_rel(rel))
    }

    fn symlink(&self, target: &Path, rel: &str) -> io::Result<()> {
        self.dir.symlink(target, host_rel(rel))
    }

    fn set_mode(&self, rel: &str, mode: u32) -> io::Result<()> {
        self.dir
            .set_permissions(host_rel(rel), Permissions::from_mode(mode))
    }
}

/// Makes room at `to` for a node of the given kind, with `rename(2)`'s rules: a file replaces a
/// file or symlink, a directory replaces an empty directory (removing a non-empty one fails
/// with `DirectoryNotEmpty`), anything else is an error.
pub(super) fn clear_destination(
    storage: &dyn Storage,
    to: &str,
    source_is_dir: bool,
) -> io::Result<()> {
    let existing = match storage.lstat(to) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    match (existing.is_dir(), source_is_dir) {
        (true, false) => Err(io::ErrorKind::IsADirectory.into()),
        (false, true) => Err(io::ErrorKind::NotADirectory.into()),
        _ => storage.remove(to, false),
    }
}

/// Copies the node at `from` in `src` to `to` in `dst` (which must not exist yet), with
/// permission bits; symlinks are copied as links. Directory modes are applied after their
/// contents, so a read-only directory can still be filled.
pub(super) fn copy_tree(
    src: &dyn Storage,
    from: &str,
    dst: &dyn Storage,
    to: &str,
) -> io::Result<()> {
    enum Step {
        Copy(String, String),
        SetMode(String, u32),
    }
    let mut steps = vec![Step::Copy(from.to_owned(), to.to_owned())];
    while let Some(step) = steps.pop() {
        let (from, to) = match step {
            Step::SetMode(to, mode) => {
                dst.set_mode(&to, mode)?;
                continue;
            }
            Step::Copy(from, to) => (from, to),
        };
        let meta = src.lstat(&from)?;
        match meta.kind {
            NodeKind::Directory => {
                dst.mkdir(&to, false)?;
                steps.push(Step::SetMode(to.clone(), meta.mode));
                for name in src.list(&from)? {
                    steps.push(Step::Copy(join_rel(&from, &name), join_rel(&to, &name)));
                }
            }
            NodeKind::File => {
                dst.write_from(&to, &mut src.open_read(&from)?)?;
                dst.set_mode(&to, meta.mode)?;
            }
            NodeKind::Symlink => dst.symlink(&src.read_link(&from)?, &to)?,
            NodeKind::Special => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("`{from}` is a FIFO, socket or device and cannot be copied"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn confined() -> (tempfile::TempDir, Confined) {
        let tmp = tempfile::tempdir().unwrap();
        let inner = tmp.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        (tmp, Confined::open(&inner).unwrap())
    }

    #[test]
    fn owned_dir_is_removed_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let owned = OwnedDir::create_in(tmp.path(), "x").unwrap();
        let path = owned.path().to_owned();
        std::fs::write(path.join("f"), b"1").unwrap();
        let storage = Confined::owning(owned).unwrap();
        assert_eq!(storage.read("f").unwrap(), b"1");
        drop(storage);
        assert!(!path.exists());
    }

    #[test]
    fn confined_reports_kinds_modes_and_special_files() {
        let (tmp, storage) = confined();
        storage.write_from("f", &mut &b"abc"[..]).unwrap();
        storage.set_mode("f", 0o640).unwrap();
        storage.symlink(Path::new("f"), "l").unwrap();
        let meta = storage.lstat("f").unwrap();
        assert_eq!(
            (meta.kind, meta.size, meta.mode),
            (NodeKind::File, 3, 0o640)
        );
        assert!(meta.modified_ms > 0.0);
        assert_eq!(storage.lstat("l").unwrap().kind, NodeKind::Symlink);
        assert_eq!(storage.lstat("").unwrap().kind, NodeKind::Directory);
        let socket = std::os::unix::net::UnixListener::bind(tmp.path().join("inner/sock")).unwrap();
        assert_eq!(storage.lstat("sock").unwrap().kind, NodeKind::Special);
        assert_eq!(NodeKind::Special.file_kind(), FileKind::File);
        let err = copy_tree(&storage, "sock", &storage, "sock2").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        drop(socket);
    }

    #[test]
    fn copy_tree_keeps_modes_links_and_fills_read_only_dirs() {
        let (_src_tmp, src) = confined();
        let (_dst_tmp, dst) = confined();
        src.mkdir("d/e", true).unwrap();
        src.write_from("d/e/f", &mut &b"data"[..]).unwrap();
        src.set_mode("d/e/f", 0o600).unwrap();
        src.symlink(Path::new("e/f"), "d/link").unwrap();
        src.set_mode("d", 0o555).unwrap();
        copy_tree(&src, "d", &dst, "copy").unwrap();
        assert_eq!(dst.read("copy/e/f").unwrap(), b"data");
        assert_eq!(dst.lstat("copy/e/f").unwrap().mode, 0o600);
        assert_eq!(dst.lstat("copy").unwrap().mode, 0o555);
        assert_eq!(dst.read_link("copy/link").unwrap(), Path::new("e/f"));
        dst.set_mode("copy", 0o755).unwrap();
        src.set_mode("d", 0o755).unwrap();
    }

    #[test]
    fn clear_destination_follows_rename_rules() {
        let (_tmp, storage) = confined();
        storage.mkdir("empty", false).unwrap();
        storage.mkdir("full/x", true).unwrap();
        storage.write_from("file", &mut &b""[..]).unwrap();
        let kind = |r: io::Result<()>| r.unwrap_err().kind();
        assert_eq!(
            kind(clear_destination(&storage, "empty", false)),
            io::ErrorKind::IsADirectory
        );
        assert_eq!(
            kind(clear_destination(&storage, "file", true)),
            io::ErrorKind::NotADirectory
        );
        assert_eq!(
            kind(clear_destination(&storage, "full", true)),
            io::ErrorKind::DirectoryNotEmpty
        );
        clear_destination(&storage, "missing", true).unwrap();
        clear_destination(&storage, "empty", true).unwrap();
        clear_destination(&storage, "file", false).unwrap();
        assert!(storage.list("").unwrap() == ["full"]);
    }

    #[test]
    fn confined_escapes_are_cap_std_escape_errors() {
        let (tmp, storage) = confined();
        std::fs::write(tmp.path().join("secret"), b"s").unwrap();
        symlink("../secret", tmp.path().join("inner/rel")).unwrap();
        symlink("/etc", tmp.path().join("inner/abs")).unwrap();
        for err in [
            storage.read("rel").unwrap_err(),
            storage.read("abs/hostname").unwrap_err(),
            storage.symlink(Path::new("/etc"), "new").unwrap_err(),
        ] {
            assert_eq!(err.kind(), escape_error().kind());
            assert_eq!(err.to_string(), escape_error().to_string());
        }
    }
}
