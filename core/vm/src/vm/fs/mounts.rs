//! The mount table: which storage serves a VM path (longest mount-point prefix wins), the
//! construction of each driver's storage, and the policy on which host directories a driver
//! may use.

use super::backend::{Confined, OwnedDir, Storage};
use super::overlay::Overlay;
use super::overlay_mount;
use super::path::VmPath;
use super::types::{MountDriver, MountInfo};
use super::{HostBind, HostView};
use crate::error::VmError;
use crate::runtime::ActorError;
use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Where `memory` mounts go when the host has a writable tmpfs there.
const SHM: &str = "/dev/shm";

pub(super) struct Mount {
    pub driver: MountDriver,
    pub read_only: bool,
    pub storage: Arc<dyn Storage>,
}

/// A VM path resolved to the storage that holds it. Owning the `Arc` lets the caller drop the
/// table lock before doing I/O, and keeps an unmounted storage alive until the call finishes.
pub(super) struct Resolved {
    pub storage: Arc<dyn Storage>,
    /// The path relative to the storage's root (`""` is the mount point itself).
    pub rel: String,
    pub read_only: bool,
}

pub(super) struct MountTable {
    root: Arc<dyn Storage>,
    mounts: BTreeMap<VmPath, Mount>,
}

impl MountTable {
    pub(super) fn new(root: Arc<dyn Storage>) -> Self {
        Self {
            root,
            mounts: BTreeMap::new(),
        }
    }

    pub(super) fn resolve(&self, path: &VmPath) -> Resolved {
        for point in path.ancestors() {
            if let Some(mount) = self.mounts.get(&point) {
                return Resolved {
                    storage: Arc::clone(&mount.storage),
                    rel: path.relative_to(&point).unwrap_or_default().to_owned(),
                    read_only: mount.read_only,
                };
            }
        }
        Resolved {
            storage: Arc::clone(&self.root),
            rel: path.relative().to_owned(),
            read_only: false,
        }
    }

    /// The storage behind `/` itself, whatever is mounted.
    pub(super) fn root(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.root)
    }

    /// Puts `root` behind `/` (a restored root), handing back the storage it replaces.
    pub(super) fn replace_root(&mut self, root: Arc<dyn Storage>) -> Arc<dyn Storage> {
        std::mem::replace(&mut self.root, root)
    }

    pub(super) fn is_mount_point(&self, path: &VmPath) -> bool {
        self.mounts.contains_key(path)
    }

    /// Whether some mount point lies strictly below `path`.
    pub(super) fn has_mount_below(&self, path: &VmPath) -> bool {
        self.mounts
            .keys()
            .any(|point| point != path && point.starts_with(path))
    }

    /// Names of the mount points directly inside `dir`.
    pub(super) fn child_mount_names(&self, dir: &VmPath) -> Vec<String> {
        self.mounts
            .keys()
            .filter(|point| point.parent().as_ref() == Some(dir))
            .filter_map(|point| point.file_name().map(str::to_owned))
            .collect()
    }

    /// Mount points with their read-only flags, sorted by path.
    pub(super) fn points(&self) -> Vec<(VmPath, bool)> {
        self.mounts
            .iter()
            .map(|(point, mount)| (point.clone(), mount.read_only))
            .collect()
    }

    /// Adds a mount, or hands it back when the point is taken so that the caller can drop it
    /// (deleting its scratch) after releasing the lock.
    pub(super) fn insert(&mut self, point: VmPath, mount: Mount) -> Result<(), Mount> {
        if self.mounts.contains_key(&point) {
            return Err(mount);
        }
        self.mounts.insert(point, mount);
        Ok(())
    }

    /// Takes a mount out of the table; the caller drops it after releasing the lock, since
    /// dropping a memory or overlay storage deletes its directory.
    pub(super) fn remove(&mut self, point: &VmPath) -> Result<Mount, ActorError> {
        let missing = || ActorError::not_found(format!("nothing is mounted at {point}"));
        if !self.mounts.contains_key(point) {
            return Err(missing());
        }
        if let Some(nested) = self
            .mounts
            .keys()
            .find(|nested| *nested != point && nested.starts_with(point))
        {
            return Err(ActorError::invalid_input(format!(
                "{nested} is mounted inside {point}: unmount it first"
            )));
        }
        self.mounts.remove(point).ok_or_else(missing)
    }

    /// The host directories behind the VM's tree, parents before children, for a process
    /// sandbox to bind. A user-space overlay (a host that may not mount) has no single such
    /// directory, so it is refused.
    pub(super) fn host_view(&self) -> Result<HostView, ActorError> {
        let root = self
            .root
            .host_dir()
            .expect("the VM root is a plain directory")
            .to_owned();
        let mounts = self
            .mounts
            .iter()
            .map(|(point, mount)| match mount.storage.host_dir() {
                Some(dir) => Ok(HostBind {
                    vm_path: point.to_string(),
                    host_dir: dir.to_owned(),
                    read_only: mount.read_only,
                }),
                None => Err(ActorError::unsupported(format!(
                    "processes cannot see the overlay mounted at {point}: only a host that runs as root mounts overlays they see; unmount it or use a hostDir or memory mount"
                ))),
            })
            .collect::<Result<_, _>>()?;
        Ok(HostView { root, mounts })
    }

    pub(super) fn list(&self) -> Vec<MountInfo> {
        self.mounts
            .iter()
            .map(|(point, mount)| MountInfo {
                path: point.to_string(),
                driver: mount.driver.clone(),
                read_only: mount.read_only,
                restored: None,
            })
            .collect()
    }
}

/// Builds the storage a driver describes; `scratch` holds overlay uppers and the fallback for
/// memory mounts. A host directory (a `hostDir`, an overlay's lower) must be one `policy`
/// allows, for writing unless the mount is `read_only`; it is opened by its canonical path.
pub(super) fn open_driver(
    driver: &MountDriver,
    scratch: &Path,
    policy: &HostPathPolicy,
    read_only: bool,
) -> Result<Arc<dyn Storage>, ActorError> {
    let storage: Arc<dyn Storage> = match driver {
        MountDriver::Memory => {
            let owned = create_memory_dir(&[Path::new(SHM), scratch])
                .map_err(|err| host_error(&err, scratch))?;
            let path = owned.path().to_owned();
            Arc::new(Confined::owning(owned).map_err(|err| host_error(&err, &path))?)
        }
        MountDriver::HostDir { path } => {
            let path = policy.check(path, !read_only)?;
            Arc::new(Confined::open(&path).map_err(|err| host_error(&err, &path))?)
        }
        MountDriver::Overlay { lower } => {
            // The lower layer is never written, whatever the mount allows.
            let lower = policy.check(lower, false)?;
            let opened: io::Result<Arc<dyn Storage>> = if overlay_mount::available() {
                overlay_mount::open(&lower, scratch).map(|s| Arc::new(s) as _)
            } else {
                Overlay::open(&lower, scratch).map(|s| Arc::new(s) as _)
            };
            opened.map_err(|err| host_error(&err, &lower))?
        }
    };
    Ok(storage)
}

/// The command-line flags that allow host directories, for error messages.
const ALLOW_FLAG: &str = "--allow-host-path";
const ALLOW_RO_FLAG: &str = "--allow-host-path-ro";

/// Which host directories `hostDir` mounts and overlay lowers may use: only those below a
/// directory the host allows (read-write, or read-only), and never one inside a protected
/// directory (the host's data directory, which holds every VM and the host's own state) or
/// containing one. Paths are compared after symlinks are resolved. The default allows none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPathPolicy {
    /// Canonical paths.
    allowed: Vec<AllowedHostPath>,
    /// Absolute paths; canonicalized on each check, since they may not exist yet.
    protected: Vec<PathBuf>,
}

/// A host directory the host lets mounts use, with everything below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHostPath {
    /// Canonical: absolute, symlinks resolved.
    pub path: PathBuf,
    /// Whether a `hostDir` mount of it must be read-only (an overlay never writes its lower).
    pub read_only: bool,
}

impl HostPathPolicy {
    /// Allows `dir` and everything below it. It must exist: it is canonicalized now.
    pub fn allow(&mut self, dir: &Path, read_only: bool) -> io::Result<()> {
        let path = std::fs::canonicalize(dir)?;
        if !std::fs::metadata(&path)?.is_dir() {
            return Err(io::ErrorKind::NotADirectory.into());
        }
        self.allowed.push(AllowedHostPath { path, read_only });
        Ok(())
    }

    /// Refuses every host path inside `dir` or containing it, whatever is allowed. `dir`
    /// need not exist yet (a relative one is taken from the working directory).
    pub fn protect(&mut self, dir: &Path) -> io::Result<()> {
        self.protected.push(std::path::absolute(dir)?);
        Ok(())
    }

    /// The allowed directories, canonical.
    pub fn allowed(&self) -> &[AllowedHostPath] {
        &self.allowed
    }

    /// The canonical path of host path `requested` when the policy lets a mount use it, for
    /// writing when `writable`; otherwise an `invalid_input` error that names the path and
    /// what would allow it. A path that cannot be resolved is reported as missing only when
    /// it would be allowed, so that refusals tell nothing about the rest of the host.
    pub(super) fn check(&self, requested: &str, writable: bool) -> Result<PathBuf, ActorError> {
        let path = absolute_host_path(requested)?;
        let canonical = match std::fs::canonicalize(path) {
            Ok(canonical) => canonical,
            Err(err) if self.containing(&lexically_normal(path)).is_some() => {
                return Err(host_error(&err, path));
            }
            Err(_) => return Err(self.outside(requested, None)),
        };
        let shown = (canonical != path).then_some(canonical.as_path());
        for protected in &self.protected {
            let protected = std::fs::canonicalize(protected).unwrap_or_else(|_| protected.clone());
            let relation = if canonical.starts_with(&protected) {
                "lies inside"
            } else if protected.starts_with(&canonical) {
                "contains"
            } else {
                continue;
            };
            return Err(refusal(
                requested,
                shown,
                format!(
                    "{relation} the host's data directory {}, which no mount may reach",
                    protected.display()
                ),
            ));
        }
        let Some(allowed) = self.containing(&canonical) else {
            return Err(self.outside(requested, shown));
        };
        if writable {
            if allowed.read_only {
                return Err(refusal(
                    requested,
                    shown,
                    format!(
                        "is allowed read-only ({ALLOW_RO_FLAG} {}): mount it with readOnly, or start the host with {ALLOW_FLAG} for it",
                        allowed.path.display()
                    ),
                ));
            }
            if let Some(inner) = self
                .allowed
                .iter()
                .find(|inner| inner.read_only && inner.path.starts_with(&canonical))
            {
                return Err(refusal(
                    requested,
                    shown,
                    format!(
                        "contains {}, which is allowed read-only ({ALLOW_RO_FLAG}): mount it with readOnly",
                        inner.path.display()
                    ),
                ));
            }
        }
        Ok(canonical)
    }

    /// The most specific allowed directory holding `path`; a read-only one wins a tie.
    fn containing(&self, path: &Path) -> Option<&AllowedHostPath> {
        self.allowed
            .iter()
            .filter(|allowed| path.starts_with(&allowed.path))
            .max_by_key(|allowed| (allowed.path.components().count(), allowed.read_only))
    }

    fn outside(&self, requested: &str, shown: Option<&Path>) -> ActorError {
        let allowed = if self.allowed.is_empty() {
            "this host allows no host directory".to_owned()
        } else {
            let dirs: Vec<String> = self
                .allowed
                .iter()
                .map(|a| a.path.display().to_string())
                .collect();
            format!("this host allows only {}", dirs.join(", "))
        };
        refusal(
            requested,
            shown,
            format!(
                "is outside the directories mounts may use ({allowed}): start the host with {ALLOW_FLAG} DIR (or {ALLOW_RO_FLAG} DIR) for a directory that holds it"
            ),
        )
    }
}

/// A host path the policy refuses: `invalid_input`, with the path requested and, when it
/// differs, what it resolves to.
fn refusal(requested: &str, resolved: Option<&Path>, why: String) -> ActorError {
    let resolved_note = resolved
        .map(|r| format!(" (resolved: {})", r.display()))
        .unwrap_or_default();
    ActorError::invalid_input(format!("host path `{requested}`{resolved_note} {why}"))
        .with_metadata(serde_json::json!({
            "hostPath": requested,
            "resolved": resolved.map(|r| r.display().to_string()),
        }))
}

/// `path` with `.` dropped and `..` taken away from the name before it, without looking at
/// the host: only to decide whether a path that does not resolve may be reported as missing.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// What memory mount directories are named after: with the host's pid, so that those of a
/// host that is gone can be told apart and removed ([`sweep_memory_dirs`]).
const MEMORY_PREFIX: &str = "agentos-memory-";

/// A fresh directory in the first candidate that accepts one: `/dev/shm` keeps memory mounts
/// in RAM, and scratch works everywhere else.
fn create_memory_dir(candidates: &[&Path]) -> io::Result<OwnedDir> {
    let mut last_err = io::Error::from(io::ErrorKind::NotFound);
    let prefix = format!("{MEMORY_PREFIX}{}", std::process::id());
    for parent in candidates {
        match OwnedDir::create_in(parent, &prefix) {
            Ok(owned) => return Ok(owned),
            Err(err) => last_err = err,
        }
    }
    Err(last_err)
}

/// Removes the memory mount directories in `/dev/shm` of hosts that are gone (killed before
/// they could remove them; a live host's are left alone).
pub(super) fn sweep_memory_dirs() {
    let Ok(entries) = std::fs::read_dir(SHM) else {
        return;
    };
    for entry in entries.flatten() {
        if crate::vm::left_by_a_gone_host(&entry.file_name(), MEMORY_PREFIX)
            && let Err(err) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), %err, "a stale memory mount stays");
        }
    }
}

/// Host paths must be absolute: a relative one would depend on the server's working directory.
fn absolute_host_path(path: &str) -> Result<&Path, ActorError> {
    let host = Path::new(path);
    if host.is_absolute() {
        Ok(host)
    } else {
        Err(ActorError::invalid_input(format!(
            "host path `{path}` must be absolute"
        )))
    }
}

/// An I/O failure on a host path (not a VM path): same codes, the host path in the message.
pub(super) fn host_error(err: &io::Error, host: &Path) -> ActorError {
    ActorError::io(err, &host.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    fn table() -> (tempfile::TempDir, MountTable) {
        let tmp = tempfile::tempdir().unwrap();
        let root: Arc<dyn Storage> = Arc::new(Confined::open(tmp.path()).unwrap());
        (tmp, MountTable::new(root))
    }

    fn vm(raw: &str) -> VmPath {
        VmPath::parse(raw).unwrap()
    }

    fn memory_mount(scratch: &Path) -> Mount {
        Mount {
            driver: MountDriver::Memory,
            read_only: false,
            storage: open_driver(
                &MountDriver::Memory,
                scratch,
                &HostPathPolicy::default(),
                false,
            )
            .unwrap(),
        }
    }

    #[test]
    fn longest_prefix_wins_component_wise() {
        let (tmp, mut table) = table();
        assert!(table.insert(vm("/a"), memory_mount(tmp.path())).is_ok());
        let mut ro = memory_mount(tmp.path());
        ro.read_only = true;
        assert!(table.insert(vm("/a/b"), ro).is_ok());
        let r = table.resolve(&vm("/a/b/c/d"));
        assert_eq!((r.rel.as_str(), r.read_only), ("c/d", true));
        let r = table.resolve(&vm("/a/bc"));
        assert_eq!((r.rel.as_str(), r.read_only), ("bc", false));
        assert!(!Arc::ptr_eq(&r.storage, &table.root()));
        let r = table.resolve(&vm("/a/b"));
        assert_eq!(r.rel, "");
        let r = table.resolve(&vm("/ab"));
        assert_eq!(r.rel, "ab");
        assert!(Arc::ptr_eq(&r.storage, &table.root()));
        assert_eq!(table.resolve(&VmPath::root()).rel, "");
    }

    #[test]
    fn insert_remove_and_queries() {
        let (tmp, mut table) = table();
        assert!(table.insert(vm("/m"), memory_mount(tmp.path())).is_ok());
        assert!(table.insert(vm("/m/n"), memory_mount(tmp.path())).is_ok());
        assert!(table.insert(vm("/m"), memory_mount(tmp.path())).is_err());
        assert!(table.is_mount_point(&vm("/m")));
        assert!(table.has_mount_below(&vm("/m")));
        assert!(!table.has_mount_below(&vm("/m/n")));
        assert!(table.has_mount_below(&VmPath::root()));
        assert_eq!(table.child_mount_names(&VmPath::root()), ["m"]);
        assert_eq!(table.child_mount_names(&vm("/m")), ["n"]);
        let err = table.remove(&vm("/m")).err().unwrap();
        assert_eq!(err.code, code::INVALID_INPUT);
        assert_eq!(table.remove(&vm("/x")).err().unwrap().code, code::NOT_FOUND);
        table.remove(&vm("/m/n")).unwrap();
        table.remove(&vm("/m")).unwrap();
        assert!(table.list().is_empty());
    }

    #[test]
    fn memory_dir_falls_back_when_shm_is_unusable() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("no-such-dir");
        let owned = create_memory_dir(&[&missing, tmp.path()]).unwrap();
        assert_eq!(owned.path().parent(), Some(tmp.path()));
        assert!(create_memory_dir(&[&missing]).is_err());
    }

    #[test]
    fn drivers_need_absolute_existing_host_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let mut policy = HostPathPolicy::default();
        policy.allow(tmp.path(), false).unwrap();
        let relative = MountDriver::HostDir {
            path: "relative/dir".into(),
        };
        let missing = MountDriver::Overlay {
            lower: tmp.path().join("missing").display().to_string(),
        };
        let open_err = |driver| {
            open_driver(&driver, tmp.path(), &policy, false)
                .err()
                .unwrap()
                .code
        };
        assert_eq!(open_err(relative), code::INVALID_INPUT);
        assert_eq!(open_err(missing), code::NOT_FOUND);
    }

    /// A policy allowing `rw` read-write and `ro` read-only, protecting `data`.
    fn policy(rw: &Path, ro: &Path, data: &Path) -> HostPathPolicy {
        let mut policy = HostPathPolicy::default();
        policy.allow(rw, false).unwrap();
        policy.allow(ro, true).unwrap();
        policy.protect(data).unwrap();
        policy
    }

    fn refused(result: Result<PathBuf, ActorError>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.code, code::INVALID_INPUT, "{err:?}");
        err.message
    }

    #[test]
    fn host_paths_must_lie_in_an_allowed_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let (rw, ro, data) = (base.join("rw"), base.join("ro"), base.join("data"));
        for dir in [
            &rw.join("sub"),
            &ro.join("sub"),
            &data,
            &base.join("elsewhere"),
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let policy = policy(&rw, &ro, &data);
        let at = |p: &Path| p.display().to_string();
        assert_eq!(
            policy.check(&at(&rw.join("sub")), true).unwrap(),
            rw.join("sub")
        );
        assert_eq!(policy.check(&at(&rw), false).unwrap(), rw);
        assert_eq!(
            policy.check(&at(&ro.join("sub")), false).unwrap(),
            ro.join("sub")
        );
        // Outside every allowed directory, existing or not: the same refusal.
        let outside = refused(policy.check(&at(&base.join("elsewhere")), false));
        assert!(outside.contains("--allow-host-path"), "{outside}");
        assert_eq!(
            refused(policy.check(&at(&base.join("missing")), false)),
            refused(policy.check(&at(&base.join("missing")), false))
        );
        assert!(refused(policy.check("/", false)).contains("contains the host's data directory"));
        assert!(refused(policy.check("/etc", false)).contains("`/etc`"));
        // `..` cannot climb out of an allowed directory.
        let climb = format!("{}/../elsewhere", at(&rw));
        refused(policy.check(&climb, false));
        // Inside an allowed directory, what is missing is reported as missing.
        assert_eq!(
            policy
                .check(&at(&rw.join("missing")), true)
                .unwrap_err()
                .code,
            code::NOT_FOUND
        );
    }

    #[test]
    fn the_data_directory_is_never_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let data = base.join("data");
        std::fs::create_dir_all(data.join("actors/vm")).unwrap();
        let mut policy = HostPathPolicy::default();
        policy.allow(Path::new("/"), false).unwrap();
        policy.protect(&data).unwrap();
        let at = |p: &Path| p.display().to_string();
        for inside in [data.clone(), data.join("actors/vm")] {
            let message = refused(policy.check(&at(&inside), false));
            assert!(
                message.contains("lies inside the host's data directory"),
                "{message}"
            );
        }
        for containing in [PathBuf::from("/"), base.clone()] {
            let message = refused(policy.check(&at(&containing), false));
            assert!(
                message.contains("contains the host's data directory"),
                "{message}"
            );
        }
        std::fs::create_dir(base.join("beside")).unwrap();
        assert!(policy.check(&at(&base.join("beside")), true).is_ok());
    }

    #[test]
    fn symlinks_are_resolved_before_the_check() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let (rw, ro, data) = (base.join("rw"), base.join("ro"), base.join("data"));
        for dir in [&rw, &ro, &data, &base.join("secret")] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::os::unix::fs::symlink(base.join("secret"), rw.join("out")).unwrap();
        std::os::unix::fs::symlink("../data", rw.join("to-data")).unwrap();
        std::os::unix::fs::symlink(&ro, rw.join("to-ro")).unwrap();
        std::os::unix::fs::symlink(&rw, base.join("link-to-rw")).unwrap();
        let policy = policy(&rw, &ro, &data);
        let at = |p: &Path| p.display().to_string();
        let out = refused(policy.check(&at(&rw.join("out")), false));
        assert!(out.contains("resolved: "), "{out}");
        assert!(refused(policy.check(&at(&rw.join("to-data")), false)).contains("data directory"));
        refused(policy.check(&at(&rw.join("to-ro")), true));
        assert_eq!(policy.check(&at(&rw.join("to-ro")), false).unwrap(), ro);
        assert_eq!(
            policy.check(&at(&base.join("link-to-rw")), true).unwrap(),
            rw
        );
    }

    #[test]
    fn read_only_directories_take_read_only_mounts() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let (rw, data) = (base.join("rw"), base.join("data"));
        let ro = rw.join("ro");
        std::fs::create_dir_all(ro.join("sub")).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        // A read-only directory inside a read-write one.
        let policy = policy(&rw, &ro, &data);
        let at = |p: &Path| p.display().to_string();
        let message = refused(policy.check(&at(&ro.join("sub")), true));
        assert!(message.contains("--allow-host-path-ro"), "{message}");
        let message = refused(policy.check(&at(&rw), true));
        assert!(message.contains("contains"), "{message}");
        assert!(policy.check(&at(&rw), false).is_ok());
        assert!(policy.check(&at(&ro.join("sub")), false).is_ok());
        // The overlay driver never writes its lower, so a read-only directory will do.
        let lower = MountDriver::Overlay { lower: at(&ro) };
        assert!(open_driver(&lower, tmp.path(), &policy, false).is_ok());
        let host_dir = MountDriver::HostDir { path: at(&ro) };
        let err = open_driver(&host_dir, tmp.path(), &policy, false)
            .err()
            .unwrap();
        assert_eq!(err.code, code::INVALID_INPUT);
        assert!(open_driver(&host_dir, tmp.path(), &policy, true).is_ok());
    }

    #[test]
    fn allowed_directories_must_exist_and_are_canonical() {
        let tmp = tempfile::tempdir().unwrap();
        let mut policy = HostPathPolicy::default();
        assert!(policy.allow(&tmp.path().join("missing"), false).is_err());
        std::fs::write(tmp.path().join("file"), b"").unwrap();
        assert!(policy.allow(&tmp.path().join("file"), false).is_err());
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("link")).unwrap();
        policy.allow(&tmp.path().join("link"), true).unwrap();
        assert_eq!(
            policy.allowed(),
            [AllowedHostPath {
                path: std::fs::canonicalize(tmp.path()).unwrap(),
                read_only: true
            }]
        );
    }
}
