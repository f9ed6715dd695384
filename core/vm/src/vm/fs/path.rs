//! VM paths: absolute, `/`-separated, normalized lexically before any host access, so a path
//! can never name anything above the VM root and two spellings of one file compare equal.

use crate::error::VmError;
use crate::runtime::ActorError;
use std::fmt;

/// A normalized absolute VM path: `/` or `/a/b` (no `.`, `..`, empty or trailing components).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VmPath(String);

impl VmPath {
    /// Parses and normalizes `raw`: `.` and repeated `/` vanish, `..` pops a component.
    pub fn parse(raw: &str) -> Result<Self, ActorError> {
        if raw.contains('\0') {
            return Err(ActorError::invalid_input("path contains a NUL byte"));
        }
        if !raw.starts_with('/') {
            return Err(ActorError::invalid_input(format!(
                "`{raw}` is relative: VM paths start with `/`"
            )));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(ActorError::path_escape(format!("`{raw}` climbs above `/`")));
                    }
                }
                name => parts.push(name),
            }
        }
        Ok(Self(format!("/{}", parts.join("/"))))
    }

    pub fn root() -> Self {
        Self("/".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The path without its leading `/`: `""` for the root, `a/b` for `/a/b`.
    pub fn relative(&self) -> &str {
        &self.0[1..]
    }

    /// The containing directory; `None` for the root.
    pub fn parent(&self) -> Option<VmPath> {
        if self.is_root() {
            return None;
        }
        let cut = self.0.rfind('/').unwrap_or(0);
        Some(if cut == 0 {
            Self::root()
        } else {
            Self(self.0[..cut].to_owned())
        })
    }

    /// The last component; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        self.0.rsplit('/').next()
    }

    /// Appends one directory-entry name (as a listing returns it: no `/`, not `.` or `..`).
    pub(crate) fn join(&self, name: &str) -> VmPath {
        if self.is_root() {
            Self(format!("/{name}"))
        } else {
            Self(format!("{}/{name}", self.0))
        }
    }

    /// This path, then each ancestor up to and including `/`.
    pub fn ancestors(&self) -> impl Iterator<Item = VmPath> {
        std::iter::successors(Some(self.clone()), VmPath::parent)
    }

    /// Whether `self` is `base` or lies below it (component-wise, so `/ab` is not under `/a`).
    pub fn starts_with(&self, base: &VmPath) -> bool {
        self.relative_to(base).is_some()
    }

    /// The part of `self` below `base` (`""` when equal), or `None` when `self` is not under it.
    pub fn relative_to(&self, base: &VmPath) -> Option<&str> {
        if base.is_root() {
            return Some(self.relative());
        }
        match self.0.strip_prefix(base.as_str())? {
            "" => Some(""),
            rest => rest.strip_prefix('/'),
        }
    }
}

impl fmt::Display for VmPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    fn norm(raw: &str) -> String {
        VmPath::parse(raw).unwrap().as_str().to_owned()
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("//a///b/"), "/a/b");
        assert_eq!(norm("/a/./b/."), "/a/b");
        assert_eq!(norm("/a/b/../c"), "/a/c");
        assert_eq!(norm("/a/.."), "/");
        assert_eq!(norm("/a/b/../../c/./d/.."), "/c");
    }

    #[test]
    fn rejects_relative_nul_and_climbing_above_root() {
        for raw in ["", "a/b", "./a", "../a"] {
            assert_eq!(
                VmPath::parse(raw).unwrap_err().code,
                code::INVALID_INPUT,
                "{raw}"
            );
        }
        assert_eq!(
            VmPath::parse("/a\0b").unwrap_err().code,
            code::INVALID_INPUT
        );
        for raw in ["/..", "/../etc", "/a/../../b", "/a/b/../../../.."] {
            assert_eq!(
                VmPath::parse(raw).unwrap_err().code,
                code::PATH_ESCAPE,
                "{raw}"
            );
        }
    }

    #[test]
    fn parent_name_join_and_ancestors() {
        let p = VmPath::parse("/a/b/c").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "/a/b");
        assert_eq!(p.file_name(), Some("c"));
        assert_eq!(VmPath::parse("/a").unwrap().parent(), Some(VmPath::root()));
        assert_eq!(VmPath::root().parent(), None);
        assert_eq!(VmPath::root().file_name(), None);
        assert_eq!(VmPath::root().join("x").as_str(), "/x");
        assert_eq!(p.join("d").as_str(), "/a/b/c/d");
        let all: Vec<String> = p.ancestors().map(|a| a.to_string()).collect();
        assert_eq!(all, ["/a/b/c", "/a/b", "/a", "/"]);
    }

    #[test]
    fn relative_to_is_component_wise() {
        let a = VmPath::parse("/a").unwrap();
        assert_eq!(VmPath::parse("/a/b").unwrap().relative_to(&a), Some("b"));
        assert_eq!(a.relative_to(&a), Some(""));
        assert_eq!(VmPath::parse("/ab").unwrap().relative_to(&a), None);
        assert!(!VmPath::parse("/ab").unwrap().starts_with(&a));
        assert_eq!(a.relative_to(&VmPath::root()), Some("a"));
        assert_eq!(VmPath::root().relative(), "");
    }
}
