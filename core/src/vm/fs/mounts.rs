//! The mount table: which storage serves a VM path (longest mount-point prefix wins), and the
//! construction of each driver's storage.

use super::backend::{Confined, OwnedDir, Storage};
use super::overlay::Overlay;
use super::path::VmPath;
use super::types::{MountDriver, MountInfo};
use super::{HostBind, HostView};
use crate::runtime::ActorError;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
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
    /// sandbox to bind. An overlay has no single such directory, so it is refused.
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
                    "processes cannot see the overlay mounted at {point} yet; unmount it or use a hostDir or memory mount"
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
            })
            .collect()
    }
}

/// Builds the storage a driver describes; `scratch` holds overlay uppers and the fallback for
/// memory mounts.
pub(super) fn open_driver(
    driver: &MountDriver,
    scratch: &Path,
) -> Result<Arc<dyn Storage>, ActorError> {
    let storage: Arc<dyn Storage> = match driver {
        MountDriver::Memory => {
            let owned = create_memory_dir(&[Path::new(SHM), scratch])
                .map_err(|err| host_error(&err, scratch))?;
            let path = owned.path().to_owned();
            Arc::new(Confined::owning(owned).map_err(|err| host_error(&err, &path))?)
        }
        MountDriver::HostDir { path } => {
            let path = absolute_host_path(path)?;
            Arc::new(Confined::open(path).map_err(|err| host_error(&err, path))?)
        }
        MountDriver::Overlay { lower } => {
            let lower = absolute_host_path(lower)?;
            Arc::new(Overlay::open(lower, scratch).map_err(|err| host_error(&err, lower))?)
        }
    };
    Ok(storage)
}

/// A fresh directory in the first candidate that accepts one: `/dev/shm` keeps memory mounts
/// in RAM, and scratch works everywhere else.
fn create_memory_dir(candidates: &[&Path]) -> io::Result<OwnedDir> {
    let mut last_err = io::Error::from(io::ErrorKind::NotFound);
    for parent in candidates {
        match OwnedDir::create_in(parent, "agentos-memory") {
            Ok(owned) => return Ok(owned),
            Err(err) => last_err = err,
        }
    }
    Err(last_err)
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
    use crate::runtime::code;

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
            storage: open_driver(&MountDriver::Memory, scratch).unwrap(),
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
        let relative = MountDriver::HostDir {
            path: "relative/dir".into(),
        };
        let missing = MountDriver::Overlay {
            lower: tmp.path().join("missing").display().to_string(),
        };
        let open_err = |driver| open_driver(&driver, tmp.path()).err().unwrap().code;
        assert_eq!(open_err(relative), code::INVALID_INPUT);
        assert_eq!(open_err(missing), code::NOT_FOUND);
    }
}
