//! `cargo xtask contract diff OLD NEW`: every change between two contracts (files, or git
//! revisions of the generated `contract.json`), classified at the wire level as breaking or
//! compatible, and whether the version says so. `cargo xtask contract check` diffs the last
//! release tag's contract (or, with no tag, the committed baseline) against the current one:
//! CI runs it, so an accidental break fails with the list of what broke.
//!
//! A type is compared in the direction its values travel. What a client sends (arguments, a
//! bridge's answer) may accept more and not less: a new enum variant there is compatible, a
//! removed one breaking. What a client receives (results, events, a bridge's request) may hold
//! less and not more: a removed field is breaking, and so is a new member of a union that is
//! not a string literal (`T` becoming `T | null`). A new string-literal variant in what a
//! client receives is compatible: clients must tolerate enum values they do not know.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::process::Command;

use agentos_core::runtime::{ActionSpec, Contract};

use crate::tstype::{Decl, Field, Ty, parse_decl, parse_type};

/// The committed contract of the last release, for a repository with no release tag.
pub const BASELINE: &str = "bindings/contract-baseline.json";
/// The generated contract, in the repository and in every revision of it.
pub const CURRENT: &str = "bindings/src/generated/contract.json";

/// One difference between two contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub breaking: bool,
    pub what: String,
}

pub fn run(args: &[&str]) -> Result<(), String> {
    let (old, new) = match args {
        ["diff", old, new] => (load(old)?, load(new)?),
        ["check"] => {
            let root = crate::codegen::workspace_root();
            let old = match last_tag(&root) {
                Some(tag) => load(&tag)?,
                None => load(&root.join(BASELINE).display().to_string())?,
            };
            (old, load(&root.join(CURRENT).display().to_string())?)
        }
        _ => return Err("usage: cargo xtask contract diff OLD NEW | cargo xtask contract check (OLD and NEW: contract.json files or git revisions)".into()),
    };
    let (report, ok) = report(&old, &new);
    print!("{report}");
    if ok {
        Ok(())
    } else {
        Err("breaking changes without a new major version".into())
    }
}

/// A contract from a file, or from a git revision's generated `contract.json`.
fn load(source: &str) -> Result<Contract, String> {
    let text = match std::fs::read_to_string(source) {
        Ok(text) => text,
        Err(_) => {
            let shown = Command::new("git")
                .args(["show", &format!("{source}:{CURRENT}")])
                .current_dir(crate::codegen::workspace_root())
                .output()
                .map_err(|e| format!("git: {e}"))?;
            if !shown.status.success() {
                return Err(format!(
                    "{source} is neither a file nor a git revision with {CURRENT}: {}",
                    String::from_utf8_lossy(&shown.stderr).trim()
                ));
            }
            String::from_utf8(shown.stdout).map_err(|e| e.to_string())?
        }
    };
    serde_json::from_str(&text).map_err(|e| format!("{source}: not a contract: {e}"))
}

fn last_tag(root: &std::path::Path) -> Option<String> {
    let out = Command::new("git")
        .args(["describe", "--tags", "--abbrev=0"])
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The report, and whether the new version allows its changes.
pub fn report(old: &Contract, new: &Contract) -> (String, bool) {
    let changes = diff(old, new);
    let breaking = changes.iter().filter(|c| c.breaking).count();
    let mut out = format!(
        "{} contract {} -> {}: {breaking} breaking, {} compatible change(s)\n",
        new.actor,
        old.version,
        new.version,
        changes.len() - breaking
    );
    for change in &changes {
        let kind = if change.breaking {
            "breaking"
        } else {
            "compatible"
        };
        let _ = writeln!(out, "  {kind:10} {}", change.what);
    }
    let ok = breaking == 0 || raises_major(&old.version, &new.version);
    if !ok {
        let _ = writeln!(
            out,
            "error: {breaking} breaking change(s) need a new major version (for 0.x, a new minor): raise `version` in #[surface(...)] past {}",
            old.version
        );
    } else if !changes.is_empty() && old.version == new.version {
        let _ = writeln!(out, "note: the contract changed but its version did not");
    }
    (out, ok)
}

/// Whether `new` is a new major version of `old` (for 0.x, a new minor).
fn raises_major(old: &str, new: &str) -> bool {
    let level = |v: &str| {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        if major == 0 { (0, minor) } else { (major, 0) }
    };
    level(new) > level(old)
}

/// Which way a type's values travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dir {
    /// From the client: arguments, bridge answers.
    Sent,
    /// To the client: results, events, bridge requests.
    Received,
}

/// Every change from `old` to `new`, breaking ones first.
pub fn diff(old: &Contract, new: &Contract) -> Vec<Change> {
    let mut cmp = Compare {
        old: decls(old),
        new: decls(new),
        changes: Vec::new(),
        seen: HashSet::new(),
    };
    let by_name = |c: &Contract| -> BTreeMap<String, ActionSpec> {
        c.actions
            .iter()
            .map(|a| (a.name.clone(), a.clone()))
            .collect()
    };
    let (old_actions, new_actions) = (by_name(old), by_name(new));
    for (name, a) in &old_actions {
        match new_actions.get(name) {
            None => cmp.note(true, format!("action `{name}` removed")),
            Some(b) => cmp.action(a, b),
        }
    }
    for name in new_actions.keys().filter(|n| !old_actions.contains_key(*n)) {
        cmp.note(false, format!("action `{name}` added"));
    }
    for e in &old.events {
        match new.events.iter().find(|n| n.name == e.name) {
            None => cmp.note(true, format!("event `{}` removed", e.name)),
            Some(n) if n.scope != e.scope => {
                cmp.note(
                    true,
                    format!(
                        "event `{}` moved from {:?} to {:?} scope",
                        e.name, e.scope, n.scope
                    ),
                );
            }
            Some(n) => cmp.types(
                &format!("event `{}`", e.name),
                &e.data,
                &n.data,
                Dir::Received,
            ),
        }
    }
    for e in new
        .events
        .iter()
        .filter(|n| !old.events.iter().any(|e| e.name == n.name))
    {
        cmp.note(false, format!("event `{}` added", e.name));
    }
    for b in &old.bridges {
        match new.bridges.iter().find(|n| n.name == b.name) {
            None => cmp.note(true, format!("bridge `{}` removed", b.name)),
            Some(n) => {
                let at = format!("bridge `{}`", b.name);
                cmp.types(
                    &format!("{at} request"),
                    &b.request,
                    &n.request,
                    Dir::Received,
                );
                cmp.types(&format!("{at} answer"), &b.response, &n.response, Dir::Sent);
            }
        }
    }
    for b in new
        .bridges
        .iter()
        .filter(|n| !old.bridges.iter().any(|b| b.name == n.name))
    {
        cmp.note(false, format!("bridge `{}` added", b.name));
    }
    let mut changes = cmp.changes;
    changes.sort_by_key(|c| !c.breaking);
    changes
}

fn decls(c: &Contract) -> BTreeMap<String, Decl> {
    c.types
        .values()
        .filter_map(|t| parse_decl(&t.decl).ok())
        .map(|d| (d.name.clone(), d))
        .collect()
}

struct Compare {
    old: BTreeMap<String, Decl>,
    new: BTreeMap<String, Decl>,
    changes: Vec<Change>,
    /// Named types already being compared, so that recursive types end.
    seen: HashSet<(String, String, Dir)>,
}

impl Compare {
    fn note(&mut self, breaking: bool, what: String) {
        self.changes.push(Change { breaking, what });
    }

    fn action(&mut self, a: &ActionSpec, b: &ActionSpec) {
        let at = format!("action `{}`", a.name);
        if a.alias_of != b.alias_of && b.alias_of.is_some() {
            self.note(
                false,
                format!(
                    "{at} became an alias of `{}`",
                    b.alias_of.as_deref().unwrap_or_default()
                ),
            );
        }
        for i in 0..a.params.len().max(b.params.len()) {
            match (a.params.get(i), b.params.get(i)) {
                (Some(p), None) => self.note(
                    true,
                    format!("{at}: argument {} `{}` removed", i + 1, p.name),
                ),
                (None, Some(q)) => self.note(
                    !q.optional,
                    format!(
                        "{at}: {} argument {} `{}` added",
                        if q.optional { "optional" } else { "required" },
                        i + 1,
                        q.name
                    ),
                ),
                (Some(p), Some(q)) => {
                    if p.optional && !q.optional {
                        self.note(
                            true,
                            format!("{at}: argument {} `{}` became required", i + 1, q.name),
                        );
                    }
                    self.types(
                        &format!("{at} argument {} `{}`", i + 1, q.name),
                        &p.ts,
                        &q.ts,
                        Dir::Sent,
                    );
                }
                (None, None) => unreachable!("i is below one of the lengths"),
            }
        }
        self.types(
            &format!("{at} result"),
            &a.returns,
            &b.returns,
            Dir::Received,
        );
    }

    fn types(&mut self, at: &str, old: &str, new: &str, dir: Dir) {
        match (parse_type(old), parse_type(new)) {
            (Ok(a), Ok(b)) => self.ty(at, &a, &b, dir),
            _ => self.note(old != new, format!("{at}: `{old}` became `{new}`")),
        }
    }

    /// `ty`, its names looked up (`in_new`: in the new contract's declarations).
    fn resolve(&self, ty: &Ty, in_new: bool) -> Ty {
        let decls = if in_new { &self.new } else { &self.old };
        match ty {
            Ty::Named(name, args) => decls
                .get(name)
                .map_or_else(|| ty.clone(), |d| d.instantiate(args)),
            Ty::Void => Ty::Null,
            other => other.clone(),
        }
    }

    fn ty(&mut self, at: &str, old: &Ty, new: &Ty, dir: Dir) {
        if let (Ty::Named(a, x), Ty::Named(b, y)) = (old, new)
            && x.is_empty()
            && y.is_empty()
            && !self.seen.insert((a.clone(), b.clone(), dir))
        {
            return;
        }
        let (old, new) = (self.resolve(old, false), self.resolve(new, true));
        if matches!(old, Ty::Named(..)) || matches!(new, Ty::Named(..)) {
            // Resolved already: a name still here is undeclared (a type parameter).
            if old != new {
                self.note(true, format!("{at}: {} became {}", show(&old), show(&new)));
            }
            return;
        }
        match (&old, &new) {
            (Ty::Union(_), _) | (_, Ty::Union(_)) => self.union(at, &old, &new, dir),
            (Ty::Object(a), Ty::Object(b)) => self.fields(at, a, b, dir),
            (Ty::Array(a), Ty::Array(b)) => self.ty(&format!("{at} items"), a, b, dir),
            (Ty::Map(a), Ty::Map(b)) => self.ty(&format!("{at} values"), a, b, dir),
            (Ty::Unknown, _) if dir == Dir::Received => {}
            (_, Ty::Unknown) if dir == Dir::Sent => {}
            (a, b) if a == b => {}
            (a, b) => self.note(true, format!("{at}: {} became {}", show(a), show(b))),
        }
    }

    fn union(&mut self, at: &str, old: &Ty, new: &Ty, dir: Dir) {
        let (olds, news) = (self.members(old, false), self.members(new, true));
        let mut matched = vec![false; news.len()];
        for o in &olds {
            match news.iter().position(|n| same_member(o, n)) {
                Some(i) => {
                    matched[i] = true;
                    let n = news[i].clone();
                    self.ty(&format!("{at} ({})", show(o)), o, &n, dir);
                }
                None => self.note(
                    dir == Dir::Sent,
                    format!(
                        "{at}: {} no longer {}",
                        show(o),
                        if dir == Dir::Sent { "accepted" } else { "sent" }
                    ),
                ),
            }
        }
        for (n, _) in news.iter().zip(&matched).filter(|(_, m)| !**m) {
            let breaking = dir == Dir::Received && !matches!(n, Ty::Literal(_));
            let what = if dir == Dir::Sent {
                "now accepted"
            } else {
                "may now be sent"
            };
            self.note(breaking, format!("{at}: {} {what}", show(n)));
        }
    }

    /// A union's alternatives, named unions inside it flattened (a type alias of literals
    /// among other members is the same set of values).
    fn members(&self, ty: &Ty, in_new: bool) -> Vec<Ty> {
        let mut out = Vec::new();
        let mut todo = vec![ty.clone()];
        while let Some(next) = todo.pop() {
            match self.resolve(&next, in_new) {
                Ty::Union(ms) if out.len() + todo.len() < 1000 => todo.extend(ms.into_iter().rev()),
                other if !out.contains(&other) => out.push(other),
                _ => {}
            }
        }
        out
    }

    fn fields(&mut self, at: &str, old: &[Field], new: &[Field], dir: Dir) {
        for f in old {
            match new.iter().find(|g| g.name == f.name) {
                None => self.note(
                    dir == Dir::Received,
                    format!(
                        "{at}: field `{}` removed{}",
                        f.name,
                        if dir == Dir::Sent {
                            " (no longer read)"
                        } else {
                            ""
                        }
                    ),
                ),
                Some(g) => {
                    let path = format!("{at}.{}", f.name);
                    match (dir, f.optional, g.optional) {
                        (Dir::Sent, true, false) => {
                            self.note(true, format!("{path} became required"))
                        }
                        (Dir::Received, false, true) => {
                            self.note(true, format!("{path} may now be absent"))
                        }
                        _ => {}
                    }
                    self.ty(&path, &f.ty, &g.ty, dir);
                }
            }
        }
        for g in new.iter().filter(|g| !old.iter().any(|f| f.name == g.name)) {
            let required = dir == Dir::Sent && !g.optional;
            let kind = if g.optional { "optional" } else { "required" };
            self.note(required, format!("{at}: {kind} field `{}` added", g.name));
        }
    }
}

/// Whether two union members are the same alternative: equal literals, the same kind of
/// value, or objects with the same string-literal tag.
fn same_member(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Object(x), Ty::Object(y)) => tag(x) == tag(y),
        (Ty::Literal(x), Ty::Literal(y)) => x == y,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// An object's tag: its string-literal fields, or its field names when it has none (as
/// `{ "ok": T } | { "err": string }`).
fn tag(fields: &[Field]) -> Vec<String> {
    let literals: Vec<String> = fields
        .iter()
        .filter_map(|f| match &f.ty {
            Ty::Literal(v) => Some(format!("{}={v}", f.name)),
            _ => None,
        })
        .collect();
    if literals.is_empty() {
        fields.iter().map(|f| f.name.clone()).collect()
    } else {
        literals
    }
}

fn show(ty: &Ty) -> String {
    match ty {
        Ty::String => "string".into(),
        Ty::Number => "number".into(),
        Ty::Boolean => "boolean".into(),
        Ty::Null | Ty::Void => "null".into(),
        Ty::Unknown => "unknown".into(),
        Ty::Bytes => "Uint8Array".into(),
        Ty::Literal(v) => format!("\"{v}\""),
        Ty::Named(n, _) => n.clone(),
        Ty::Array(t) => format!("Array<{}>", show(t)),
        Ty::Map(t) => format!("a map of {}", show(t)),
        Ty::Object(fields) => format!("{{ {} }}", tag(fields).join(", ")),
        Ty::Union(ms) => ms.iter().map(show).collect::<Vec<_>>().join(" | "),
    }
}

#[cfg(test)]
#[path = "contract_diff_tests.rs"]
mod tests;
