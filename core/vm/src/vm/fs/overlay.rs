//! The `overlay` driver: a host `lower` directory that is never written, under a private upper
//! directory in scratch that takes every write. Reads and listings merge upper over lower.
//!
//! Deleting something that exists in the lower layer records a whiteout in memory (never in the
//! visible tree); it hides that path and everything below it in the lower layer, so a directory
//! deleted and then re-created starts empty. The upper layer lives exactly as long as the mount,
//! so in-memory whiteouts are as durable as the writes they shadow.
//!
//! Symlinks are resolved here, across both layers, instead of by the host: a link in the lower
//! layer to a directory whose files were since changed in the upper layer must see the change.

use super::backend::{
    Meta, NodeKind, OwnedDir, Storage, clear_destination, copy_tree, create_regular, escape_error,
    host_rel, join_rel, not_regular, open_regular, os_name, parent_rel,
};
use cap_std::fs::{Dir, Permissions, PermissionsExt};
use std::collections::{BTreeSet, VecDeque};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Same bound as Linux's `MAXSYMLINKS`: a longer chain is taken for a loop.
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Upper,
    Lower,
}

pub(super) struct Overlay {
    lower: Dir,
    upper: Dir,
    /// Whiteouts: lower-layer paths hidden together with everything below them.
    hidden: Mutex<BTreeSet<String>>,
    _upper_dir: OwnedDir,
}

impl Overlay {
    /// Opens `lower` and creates a fresh upper directory under `scratch`.
    pub(super) fn open(lower: &Path, scratch: &Path) -> io::Result<Self> {
        let lower = Dir::open_ambient_dir(lower, cap_std::ambient_authority())?;
        let upper_dir = OwnedDir::create_in(scratch, "overlay")?;
        Ok(Self {
            lower,
            upper: Dir::open_ambient_dir(upper_dir.path(), cap_std::ambient_authority())?,
            hidden: Mutex::new(BTreeSet::new()),
            _upper_dir: upper_dir,
        })
    }

    fn layer(&self, layer: Layer) -> &Dir {
        match layer {
            Layer::Upper => &self.upper,
            Layer::Lower => &self.lower,
        }
    }

    fn whiteouts(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.hidden.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_hidden(&self, path: &str) -> bool {
        let hidden = self.whiteouts();
        !hidden.is_empty() && prefixes(path).any(|prefix| hidden.contains(prefix))
    }

    fn hide(&self, path: &str) {
        let below = format!("{path}/");
        let mut hidden = self.whiteouts();
        hidden.retain(|h| !h.starts_with(&below));
        hidden.insert(path.to_owned());
    }

    /// Which layer holds `path` (already resolved: no symlink before its last component).
    fn locate(&self, path: &str) -> io::Result<(Layer, Meta)> {
        match self.upper.symlink_metadata(host_rel(path)) {
            Ok(meta) => return Ok((Layer::Upper, Meta::from_cap(&meta))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        if self.is_hidden(path) {
            return Err(io::ErrorKind::NotFound.into());
        }
        let meta = self.lower.symlink_metadata(host_rel(path))?;
        Ok((Layer::Lower, Meta::from_cap(&meta)))
    }

    /// Whether the lower layer still shows something at `path`.
    fn lower_has(&self, path: &str) -> bool {
        !self.is_hidden(path) && self.lower.symlink_metadata(host_rel(path)).is_ok()
    }

    /// Resolves symlinks in the merged view, returning a path with none before its last
    /// component (nor as the last one when `follow_last`). Climbing above the overlay's root
    /// or an absolute target is an escape, as in the other drivers.
    fn resolve(&self, rel: &str, follow_last: bool) -> io::Result<String> {
        let mut done: Vec<String> = Vec::new();
        let mut todo: VecDeque<String> = rel
            .split('/')
            .filter(|part| !part.is_empty())
            .map(str::to_owned)
            .collect();
        let mut hops = 0;
        while let Some(part) = todo.pop_front() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    if done.pop().is_none() {
                        return Err(escape_error());
                    }
                    continue;
                }
                _ => done.push(part),
            }
            if todo.is_empty() && !follow_last {
                break;
            }
            let current = done.join("/");
            let (layer, meta) = match self.locate(&current) {
                Ok(found) => found,
                Err(err) if err.kind() == io::ErrorKind::NotFound && todo.is_empty() => break,
                Err(err) => return Err(err),
            };
            if meta.kind != NodeKind::Symlink {
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "too many levels of symbolic links",
                ));
            }
            let target = self.layer(layer).read_link_contents(host_rel(&current))?;
            if target.has_root() {
                return Err(escape_error());
            }
            let target = target.into_os_string().into_string().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "symlink target is not UTF-8")
            })?;
            done.pop();
            for part in target.split('/').rev().filter(|part| !part.is_empty()) {
                todo.push_front(part.to_owned());
            }
        }
        Ok(done.join("/"))
    }

    fn require_dir(&self, path: &str) -> io::Result<()> {
        if self.locate(path)?.1.is_dir() {
            Ok(())
        } else {
            Err(io::ErrorKind::NotADirectory.into())
        }
    }

    /// Makes sure the upper layer has the directory `path` and its parents, with the lower
    /// layer's permission bits, so a write below it can land there.
    fn copy_up_dirs(&self, path: &str) -> io::Result<()> {
        for prefix in prefixes(path) {
            match self.upper.symlink_metadata(prefix) {
                Ok(meta) if meta.is_dir() => continue,
                Ok(_) => return Err(io::ErrorKind::NotADirectory.into()),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
            let mode = Meta::from_cap(&self.lower.symlink_metadata(prefix)?).mode;
            self.upper.create_dir(prefix)?;
            self.upper
                .set_permissions(prefix, Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// Copies a lower-layer node into the upper layer, so it can be changed in place.
    fn copy_up(&self, path: &str, meta: &Meta) -> io::Result<()> {
        match meta.kind {
            NodeKind::Directory => self.copy_up_dirs(path),
            NodeKind::File => {
                self.copy_up_dirs(parent_rel(path))?;
                let mut source = open_regular(&self.lower, host_rel(path))?;
                io::copy(
                    &mut source,
                    &mut create_regular(&self.upper, host_rel(path))?,
                )?;
                Ok(())
            }
            NodeKind::Symlink | NodeKind::Special => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    fn list_resolved(&self, path: &str) -> io::Result<Vec<String>> {
        self.require_dir(path)?;
        let mut names = BTreeSet::new();
        match self.upper.read_dir(host_rel(path)) {
            Ok(entries) => {
                for entry in entries {
                    names.insert(os_name(entry?.file_name()));
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        if !self.is_hidden(path) {
            match self.lower.read_dir(host_rel(path)) {
                Ok(entries) => {
                    for entry in entries {
                        let name = os_name(entry?.file_name());
                        if !self.is_hidden(&join_rel(path, &name)) {
                            names.insert(name);
                        }
                    }
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(names.into_iter().collect())
    }

    fn mkdir_one(&self, path: &str) -> io::Result<()> {
        let parent = parent_rel(path);
        self.require_dir(parent)?;
        self.copy_up_dirs(parent)?;
        self.upper.create_dir(host_rel(path))
    }

    fn exists(&self, path: &str) -> io::Result<bool> {
        match self.locate(path) {
            Ok(_) => Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }
}

/// Every ancestor of a relative path and the path itself: `a`, `a/b`, `a/b/c`.
fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(|(cut, _)| &path[..cut])
        .chain((!path.is_empty()).then_some(path))
}

impl Storage for Overlay {
    fn host_dir(&self) -> Option<&Path> {
        None
    }

    fn lstat(&self, rel: &str) -> io::Result<Meta> {
        Ok(self.locate(&self.resolve(rel, false)?)?.1)
    }

    fn list(&self, rel: &str) -> io::Result<Vec<String>> {
        self.list_resolved(&self.resolve(rel, true)?)
    }

    fn open_read(&self, rel: &str) -> io::Result<cap_std::fs::File> {
        let path = self.resolve(rel, true)?;
        let (layer, _) = self.locate(&path)?;
        open_regular(self.layer(layer), host_rel(&path))
    }

    fn write_from(&self, rel: &str, data: &mut dyn Read) -> io::Result<()> {
        let path = self.resolve(rel, true)?;
        match self.locate(&path) {
            Ok((_, meta)) if meta.is_dir() => return Err(io::ErrorKind::IsADirectory.into()),
            // Refused in either layer, not shadowed by a new file in the upper one.
            Ok((layer, meta)) if meta.kind == NodeKind::Special => {
                let meta = self.layer(layer).symlink_metadata(host_rel(&path))?;
                return Err(not_regular(&meta.file_type()));
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let parent = parent_rel(&path);
        self.require_dir(parent)?;
        self.copy_up_dirs(parent)?;
        io::copy(data, &mut create_regular(&self.upper, host_rel(&path))?)?;
        Ok(())
    }

    fn mkdir(&self, rel: &str, recursive: bool) -> io::Result<()> {
        if !recursive {
            let path = self.resolve(rel, false)?;
            if self.exists(&path)? {
                return Err(io::ErrorKind::AlreadyExists.into());
            }
            return self.mkdir_one(&path);
        }
        for prefix in prefixes(rel) {
            let path = self.resolve(prefix, true)?;
            match self.locate(&path) {
                Ok((_, meta)) if meta.is_dir() => {}
                Ok(_) if prefix == rel => return Err(io::ErrorKind::AlreadyExists.into()),
                Ok(_) => return Err(io::ErrorKind::NotADirectory.into()),
                Err(err) if err.kind() == io::ErrorKind::NotFound => self.mkdir_one(&path)?,
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    fn remove(&self, rel: &str, recursive: bool) -> io::Result<()> {
        let path = self.resolve(rel, false)?;
        if path.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot remove the overlay's root",
            ));
        }
        let (layer, meta) = self.locate(&path)?;
        if meta.is_dir() && !recursive && !self.list_resolved(&path)?.is_empty() {
            return Err(io::ErrorKind::DirectoryNotEmpty.into());
        }
        if layer == Layer::Upper {
            if meta.is_dir() {
                self.upper.remove_dir_all(host_rel(&path))?;
            } else {
                self.upper.remove_file(host_rel(&path))?;
            }
        }
        if self.lower_has(&path) {
            self.hide(&path);
        }
        Ok(())
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let from = self.resolve(from, false)?;
        let to = self.resolve(to, false)?;
        if from.is_empty() || to.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot move the overlay's root",
            ));
        }
        let (_, meta) = self.locate(&from)?;
        if from == to {
            return Ok(());
        }
        if to.starts_with(&format!("{from}/")) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot move a directory into itself",
            ));
        }
        self.require_dir(parent_rel(&to))?;
        clear_destination(self, &to, meta.is_dir())?;
        if self.lower_has(&from) {
            // Lower-layer content cannot be moved, only copied up and hidden at its old path.
            copy_tree(self, &from, self, &to)?;
            return self.remove(&from, true);
        }
        self.copy_up_dirs(parent_rel(&to))?;
        self.upper
            .rename(host_rel(&from), &self.upper, host_rel(&to))
    }

    fn read_link(&self, rel: &str) -> io::Result<PathBuf> {
        let path = self.resolve(rel, false)?;
        let (layer, _) = self.locate(&path)?;
        self.layer(layer).read_link_contents(host_rel(&path))
    }

    fn symlink(&self, target: &Path, rel: &str) -> io::Result<()> {
        let path = self.resolve(rel, false)?;
        if self.exists(&path)? {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        let parent = parent_rel(&path);
        self.require_dir(parent)?;
        self.copy_up_dirs(parent)?;
        self.upper.symlink(target, host_rel(&path))
    }

    fn set_mode(&self, rel: &str, mode: u32) -> io::Result<()> {
        let path = self.resolve(rel, true)?;
        let (layer, meta) = self.locate(&path)?;
        if layer == Layer::Lower {
            self.copy_up(&path, &meta)?;
        }
        self.upper
            .set_permissions(host_rel(&path), Permissions::from_mode(mode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _tmp: tempfile::TempDir,
        lower: PathBuf,
        overlay: Overlay,
    }

    /// lower/: a.txt, d/b.txt, d/e/c.txt, link -> d
    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("lower");
        std::fs::create_dir_all(lower.join("d/e")).unwrap();
        std::fs::write(lower.join("a.txt"), b"lower a").unwrap();
        std::fs::write(lower.join("d/b.txt"), b"lower b").unwrap();
        std::fs::write(lower.join("d/e/c.txt"), b"lower c").unwrap();
        symlink("d", lower.join("link")).unwrap();
        let scratch = tmp.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let overlay = Overlay::open(&lower, &scratch).unwrap();
        Fixture {
            _tmp: tmp,
            lower,
            overlay,
        }
    }

    /// Every path under `dir` with its contents (files) or target (links), to compare trees.
    fn host_tree(dir: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                let key = path.strip_prefix(dir).unwrap().display().to_string();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let value = if meta.is_symlink() {
                    format!("-> {}", std::fs::read_link(&path).unwrap().display())
                } else if meta.is_dir() {
                    stack.push(path);
                    "dir".to_owned()
                } else {
                    String::from_utf8(std::fs::read(&path).unwrap()).unwrap()
                };
                out.insert(key, value);
            }
        }
        out
    }

    fn sorted(mut names: Vec<String>) -> Vec<String> {
        names.sort();
        names
    }

    #[test]
    fn writes_land_in_upper_and_lower_is_never_modified() {
        let fx = fixture();
        let before = host_tree(&fx.lower);
        let o = &fx.overlay;
        o.write_from("a.txt", &mut &b"upper a"[..]).unwrap();
        o.write_from("d/e/new.txt", &mut &b"new"[..]).unwrap();
        o.mkdir("x/y", true).unwrap();
        o.remove("d/b.txt", false).unwrap();
        o.rename("d/e", "moved").unwrap();
        o.set_mode("link", 0o700).unwrap();
        o.symlink(Path::new("a.txt"), "alias").unwrap();
        assert_eq!(host_tree(&fx.lower), before);
        assert_eq!(o.read("a.txt").unwrap(), b"upper a");
        assert_eq!(o.read("moved/c.txt").unwrap(), b"lower c");
        assert_eq!(o.read("moved/new.txt").unwrap(), b"new");
        assert_eq!(o.read("alias").unwrap(), b"upper a");
        assert_eq!(o.lstat("d").unwrap().mode, 0o700);
        assert_eq!(sorted(o.list("d").unwrap()), Vec::<String>::new());
    }

    #[test]
    fn readdir_merges_upper_over_lower() {
        let fx = fixture();
        let o = &fx.overlay;
        o.write_from("d/upper.txt", &mut &b"u"[..]).unwrap();
        o.write_from("d/b.txt", &mut &b"changed"[..]).unwrap();
        assert_eq!(o.list("d").unwrap(), ["b.txt", "e", "upper.txt"]);
        assert_eq!(o.list("").unwrap(), ["a.txt", "d", "link"]);
        assert_eq!(o.read("d/b.txt").unwrap(), b"changed");
    }

    #[test]
    fn deleting_a_lower_file_hides_it_until_recreated() {
        let fx = fixture();
        let o = &fx.overlay;
        o.remove("a.txt", false).unwrap();
        assert_eq!(
            o.lstat("a.txt").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(o.read("a.txt").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!o.list("").unwrap().contains(&"a.txt".to_owned()));
        assert!(fx.lower.join("a.txt").exists());
        o.write_from("a.txt", &mut &b"again"[..]).unwrap();
        assert_eq!(o.read("a.txt").unwrap(), b"again");
    }

    #[test]
    fn a_deleted_then_recreated_directory_starts_empty() {
        let fx = fixture();
        let o = &fx.overlay;
        assert_eq!(
            o.remove("d", false).unwrap_err().kind(),
            io::ErrorKind::DirectoryNotEmpty
        );
        o.remove("d", true).unwrap();
        assert_eq!(
            o.lstat("d/e/c.txt").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        o.mkdir("d", false).unwrap();
        assert!(o.list("d").unwrap().is_empty());
        assert_eq!(
            o.read("d/b.txt").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        o.mkdir("d/e", false).unwrap();
        assert!(o.list("d/e").unwrap().is_empty());
    }

    #[test]
    fn symlinks_resolve_in_the_merged_view() {
        let fx = fixture();
        let o = &fx.overlay;
        o.write_from("d/b.txt", &mut &b"via upper"[..]).unwrap();
        assert_eq!(o.read("link/b.txt").unwrap(), b"via upper");
        assert_eq!(o.lstat("link").unwrap().kind, NodeKind::Symlink);
        assert_eq!(o.read_link("link").unwrap(), Path::new("d"));
        o.write_from("link/through.txt", &mut &b"t"[..]).unwrap();
        assert_eq!(o.read("d/through.txt").unwrap(), b"t");
        o.remove("link", false).unwrap();
        assert_eq!(o.lstat("link").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(o.lstat("d").unwrap().is_dir());
    }

    #[test]
    fn escaping_and_looping_links_are_refused() {
        let fx = fixture();
        std::fs::write(fx.lower.parent().unwrap().join("secret"), b"s").unwrap();
        symlink("../secret", fx.lower.join("up")).unwrap();
        symlink("/etc", fx.lower.join("abs")).unwrap();
        symlink("loop2", fx.lower.join("loop1")).unwrap();
        symlink("loop1", fx.lower.join("loop2")).unwrap();
        let o = &fx.overlay;
        for err in [
            o.read("up").unwrap_err(),
            o.read("abs/hostname").unwrap_err(),
            o.write_from("up", &mut &b"x"[..]).unwrap_err(),
            o.list("abs").unwrap_err(),
        ] {
            assert_eq!(err.to_string(), escape_error().to_string());
        }
        assert_eq!(o.lstat("up").unwrap().kind, NodeKind::Symlink);
        assert_eq!(
            o.read("loop1").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn rename_follows_rename_rules_across_layers() {
        let fx = fixture();
        let o = &fx.overlay;
        o.write_from("fresh.txt", &mut &b"f"[..]).unwrap();
        o.rename("fresh.txt", "d/e/fresh.txt").unwrap();
        assert_eq!(o.read("d/e/fresh.txt").unwrap(), b"f");
        o.rename("a.txt", "d/b.txt").unwrap();
        assert_eq!(o.read("d/b.txt").unwrap(), b"lower a");
        assert_eq!(
            o.lstat("a.txt").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            o.rename("d", "d/e/inside").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        o.mkdir("full/x", true).unwrap();
        assert_eq!(
            o.rename("d", "full").unwrap_err().kind(),
            io::ErrorKind::DirectoryNotEmpty
        );
        assert_eq!(
            o.rename("d/b.txt", "full").unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
        o.rename("d", "renamed").unwrap();
        assert_eq!(
            sorted(o.list("renamed").unwrap()),
            ["b.txt", "e"].map(String::from)
        );
        assert_eq!(o.lstat("d").unwrap_err().kind(), io::ErrorKind::NotFound);
        o.mkdir("d", false).unwrap();
        assert!(o.list("d").unwrap().is_empty());
    }

    #[test]
    fn mkdir_rules() {
        let fx = fixture();
        let o = &fx.overlay;
        assert_eq!(
            o.mkdir("d", false).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(
            o.mkdir("p/q", false).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        o.mkdir("d", true).unwrap();
        o.mkdir("link/e/f", true).unwrap();
        assert!(o.lstat("d/e/f").unwrap().is_dir());
        assert_eq!(
            o.mkdir("a.txt/x", true).unwrap_err().kind(),
            io::ErrorKind::NotADirectory
        );
        assert_eq!(
            o.mkdir("a.txt", true).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn prefixes_lists_each_ancestor_then_the_path() {
        assert_eq!(prefixes("a/b/c").collect::<Vec<_>>(), ["a", "a/b", "a/b/c"]);
        assert_eq!(prefixes("").count(), 0);
    }
}
