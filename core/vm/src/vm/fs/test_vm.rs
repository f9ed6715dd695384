//! The test VM shared by the filesystem's test modules: a `Filesystem` in a temporary data
//! directory with shorthands for the steps every test repeats.

use std::path::{Path, PathBuf};

use super::{FileContent, Filesystem, HostPathPolicy, MkdirOptions, MountDriver, MountOptions};

pub(crate) struct Vm {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) fs: Filesystem,
}

impl Vm {
    /// A VM whose host directories (see [`host_dir`](Self::host_dir)) may be mounted.
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut host_paths = HostPathPolicy::default();
        host_paths.allow(tmp.path(), false).unwrap();
        let fs = Filesystem::open_as(&tmp.path().join("data"), None, host_paths).unwrap();
        Self { tmp, fs }
    }

    /// A host directory next to the VM's data dir, in the directory mounts may use.
    pub(crate) fn host_dir(&self, name: &str) -> PathBuf {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub(crate) fn root(&self) -> PathBuf {
        self.tmp.path().join("data/root")
    }

    pub(crate) fn write(&self, path: &str, text: &str) {
        self.fs
            .write_file(path, FileContent::Text(text.into()))
            .unwrap();
    }

    pub(crate) fn read(&self, path: &str) -> String {
        String::from_utf8(self.fs.read_file(path).unwrap().0).unwrap()
    }

    pub(crate) fn mkdir_p(&self, path: &str) {
        self.fs
            .mkdir(
                path,
                MkdirOptions {
                    recursive: Some(true),
                },
            )
            .unwrap();
    }

    pub(crate) fn mount_host(&self, at: &str, dir: &Path, read_only: bool) {
        let driver = MountDriver::HostDir {
            path: dir.display().to_string(),
        };
        let options = MountOptions {
            read_only: Some(read_only),
        };
        self.fs.mount(at, driver, options).unwrap();
    }
}
