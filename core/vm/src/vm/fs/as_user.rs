//! Storage reached as the VM's host user: a root host reads and writes a VM's files with that
//! user's file-system identity, so what a client writes belongs to the VM (whose processes
//! can then change it) and the host reaches no file the VM's own processes could not.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::backend::{Meta, Storage};
use crate::vm::identity::VmUser;

pub(super) struct AsUser {
    inner: Arc<dyn Storage>,
    user: VmUser,
}

impl AsUser {
    /// `inner` as `user`, or as it is when the host need not switch (`None`).
    pub(super) fn wrap(inner: Arc<dyn Storage>, user: Option<VmUser>) -> Arc<dyn Storage> {
        match user {
            Some(user) => Arc::new(Self { inner, user }),
            None => inner,
        }
    }
}

impl Storage for AsUser {
    fn lstat(&self, rel: &str) -> io::Result<Meta> {
        self.user.act(|| self.inner.lstat(rel))
    }

    fn list(&self, rel: &str) -> io::Result<Vec<String>> {
        self.user.act(|| self.inner.list(rel))
    }

    fn open_read(&self, rel: &str) -> io::Result<cap_std::fs::File> {
        self.user.act(|| self.inner.open_read(rel))
    }

    fn write_from(&self, rel: &str, data: &mut dyn Read) -> io::Result<()> {
        self.user.act(|| self.inner.write_from(rel, data))
    }

    fn mkdir(&self, rel: &str, recursive: bool) -> io::Result<()> {
        self.user.act(|| self.inner.mkdir(rel, recursive))
    }

    fn remove(&self, rel: &str, recursive: bool) -> io::Result<()> {
        self.user.act(|| self.inner.remove(rel, recursive))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.user.act(|| self.inner.rename(from, to))
    }

    fn read_link(&self, rel: &str) -> io::Result<PathBuf> {
        self.user.act(|| self.inner.read_link(rel))
    }

    fn symlink(&self, target: &Path, rel: &str) -> io::Result<()> {
        self.user.act(|| self.inner.symlink(target, rel))
    }

    fn set_mode(&self, rel: &str, mode: u32) -> io::Result<()> {
        self.user.act(|| self.inner.set_mode(rel, mode))
    }

    fn host_dir(&self) -> Option<&Path> {
        self.inner.host_dir()
    }
}
