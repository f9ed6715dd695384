//! Who a VM is on the host. A sandboxed process is root inside its user namespace, and that
//! root maps to one unprivileged host user: the host's own when the host is not root, or the
//! configured [`VmUser`] when it is. Files the VM's processes create belong to that user, so
//! setuid bits and `/proc/sys` give them nothing on the host. When the host is root it also
//! reads and writes the VM's files as that user (per thread, with `setfsuid`), so what a
//! client writes is the VM's own and the host can reach no more than the VM can.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A host uid and gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmUser {
    pub uid: u32,
    pub gid: u32,
}

impl Default for VmUser {
    /// `nobody:nogroup`, which owns no files of the host's own.
    fn default() -> Self {
        Self {
            uid: 65534,
            gid: 65534,
        }
    }
}

impl std::str::FromStr for VmUser {
    type Err = String;

    /// `UID:GID` (or a single number for both).
    fn from_str(s: &str) -> Result<Self, String> {
        let number = |part: &str| {
            part.parse::<u32>()
                .ok()
                .filter(|id| *id != 0)
                .ok_or_else(|| format!("`{part}` is not a non-zero uid or gid"))
        };
        let (uid, gid) = s.split_once(':').unwrap_or((s, s));
        Ok(Self {
            uid: number(uid)?,
            gid: number(gid)?,
        })
    }
}

impl VmUser {
    /// The user the host must act as for its VMs: `self` when the host runs as root, `None`
    /// when it does not (the host's own user is then the VM's, and no switch is possible).
    pub fn when_root(self) -> Option<Self> {
        // SAFETY: geteuid takes nothing and cannot fail.
        (unsafe { libc::geteuid() } == 0).then_some(self)
    }

    /// Runs `f` on this thread with this user's file-system identity: what it creates is
    /// owned by the user, and permissions are checked as the user's.
    pub fn act<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(u32, u32);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: setfsuid/setfsgid take ids and change only this thread.
                unsafe {
                    libc::setfsuid(self.0);
                    libc::setfsgid(self.1);
                }
            }
        }
        // SAFETY: as above; each returns the previous id. The gid first: once the uid is
        // not root, the thread may no longer change it.
        let _restore = unsafe {
            let gid = libc::setfsgid(self.gid) as u32;
            let uid = libc::setfsuid(self.uid) as u32;
            Restore(uid, gid)
        };
        f()
    }

    /// Gives `path` to this user: just the directory when it already is the user's, its
    /// whole tree (symlinks themselves, never followed) when it is not (a VM made before).
    pub fn adopt(&self, path: &Path) -> io::Result<()> {
        let meta = std::fs::symlink_metadata(path)?;
        if (meta.uid(), meta.gid()) == (self.uid, self.gid) {
            return Ok(());
        }
        self.chown_tree(path)
    }

    fn chown_tree(&self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))?;
        if std::fs::symlink_metadata(path)?.is_dir() {
            for entry in std::fs::read_dir(path)? {
                self.chown_tree(&entry?.path())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uid_gid_and_refuses_root() {
        assert_eq!(
            "1000:100".parse::<VmUser>(),
            Ok(VmUser {
                uid: 1000,
                gid: 100
            })
        );
        assert_eq!(
            "4242".parse::<VmUser>(),
            Ok(VmUser {
                uid: 4242,
                gid: 4242
            })
        );
        assert!("0:0".parse::<VmUser>().is_err());
        assert!("x".parse::<VmUser>().is_err());
    }

    #[test]
    fn acting_creates_files_as_the_user_and_restores_the_thread() {
        if VmUser::default().when_root().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let user = VmUser::default();
        user.adopt(dir.path()).unwrap();
        user.act(|| std::fs::write(dir.path().join("f"), b"x"))
            .unwrap();
        let meta = std::fs::metadata(dir.path().join("f")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (user.uid, user.gid));
        // Back to root: a root-only file is readable again.
        let private = dir.path().join("private");
        std::fs::write(&private, b"secret").unwrap();
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        std::os::unix::fs::chown(&private, Some(0), Some(0)).unwrap();
        assert!(user.act(|| std::fs::read(&private)).is_err());
        assert_eq!(std::fs::read(&private).unwrap(), b"secret");
    }
}
