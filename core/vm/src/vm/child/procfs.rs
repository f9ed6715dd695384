//! What the host's `/proc` says about a process: its parent, group, state and argv, and
//! its children. Every read may find the process gone, which is never an error.

use std::collections::BTreeMap;

/// The fields of `/proc/<pid>/stat` the process table uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::vm) struct Stat {
    pub pid: u32,
    /// The executable's name, at most 15 bytes.
    pub name: String,
    /// `R`, `S`, `D`, `Z`, `T`, …
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Clock ticks after boot.
    pub start: u64,
}

impl Stat {
    pub(super) fn read(pid: u32) -> Option<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Self::parse(&text)
    }

    /// `pid (name) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    /// stime cutime cstime priority nice threads itrealvalue starttime …`; the name may hold
    /// spaces and parentheses, so it ends at the last `)`.
    fn parse(text: &str) -> Option<Self> {
        let (pid, rest) = text.split_once(" (")?;
        let (name, rest) = rest.rsplit_once(") ")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(Self {
            pid: pid.trim().parse().ok()?,
            name: name.to_owned(),
            state: fields.first()?.chars().next()?,
            ppid: fields.get(1)?.parse().ok()?,
            pgrp: fields.get(2)?.parse().ok()?,
            start: fields.get(19)?.parse().ok()?,
        })
    }
}

/// The process's argv; empty once it has exited (a zombie) or for a kernel thread.
pub(in crate::vm) fn cmdline(pid: u32) -> Vec<String> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    bytes
        .strip_suffix(&[0])
        .unwrap_or(&bytes)
        .split(|b| *b == 0)
        .filter(|_| !bytes.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// Every process on the host, keyed by pid.
pub(in crate::vm) fn all() -> BTreeMap<u32, Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(Stat::read)
        .map(|stat| (stat.pid, stat))
        .collect()
}

/// The children of `pid`, oldest first: from `/proc/<pid>/task/*/children` where the kernel
/// has it, otherwise from every process's parent.
pub(super) fn children(pid: u32) -> Vec<Stat> {
    let listed = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()
        .and_then(|tasks| {
            let mut pids = Vec::new();
            for task in tasks {
                let list = std::fs::read_to_string(task.ok()?.path().join("children")).ok()?;
                pids.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
            Some(pids)
        });
    let mut children: Vec<Stat> = match listed {
        Some(pids) => pids.into_iter().filter_map(Stat::read).collect(),
        None => all().into_values().filter(|s| s.ppid == pid).collect(),
    };
    children.sort_by_key(|s| (s.start, s.pid));
    children
}

/// The oldest descendant `depth` generations under `pid` (`pid` itself for 0): the program
/// under a sandbox's wrapper processes, which are always started first.
pub(super) fn descendant(pid: u32, depth: usize) -> Option<u32> {
    (0..depth).try_fold(pid, |pid, _| children(pid).first().map(|c| c.pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_may_hold_spaces_and_parentheses() {
        let text = "42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 9876 1 2 3\n";
        let stat = Stat::parse(text).unwrap();
        assert_eq!(
            stat,
            Stat {
                pid: 42,
                name: "a (b) c".into(),
                state: 'S',
                ppid: 7,
                pgrp: 42,
                start: 9876,
            }
        );
    }

    #[test]
    fn this_process_is_its_parents_child() {
        let me = std::process::id();
        let stat = Stat::read(me).unwrap();
        assert!(children(stat.ppid).iter().any(|c| c.pid == me));
        assert_eq!(descendant(me, 0), Some(me));
        assert!(!cmdline(me).is_empty());
        assert!(all().contains_key(&me));
    }
}
