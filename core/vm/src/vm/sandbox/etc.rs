//! The small `/etc` and home directory everyday tools expect (`id -un`, `git commit`, Python's
//! `ssl`, `getent hosts`). They are the VM's own files, in its root (so a process may edit
//! them and a snapshot keeps them), written before a launch when they are missing. Only what
//! depends on the host's network comes from the host, bound read-only over the VM's files
//! ([`network_binds`]), and only when the VM may use the network; without it, `resolv.conf`
//! says so instead of naming servers that cannot be reached.

use crate::vm::fs::{FileContent, Filesystem, MkdirOptions};

/// The sandbox's hostname (`--hostname`), also in `/etc/hostname` and `/etc/hosts`.
pub const HOSTNAME: &str = "agentos";

/// The home directory of the sandbox's user (uid 0 inside its user namespace).
pub const HOME: &str = "/root";

/// Files written when missing, with their contents.
const SEEDED: &[(&str, &str)] = &[
    (
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    ),
    ("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ("/etc/hostname", "agentos\n"),
    (
        "/etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tagentos\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    ),
    (
        "/etc/nsswitch.conf",
        "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    ),
];

const RESOLV_CONF: &str = "/etc/resolv.conf";

/// What `resolv.conf` holds without the network. A file that starts with the marker is the
/// host's to rewrite; one a process wrote is left alone.
const NO_NETWORK: &str = "# agentOS: this VM has no network (the host runs without --allow-network), so no name servers.\n";

/// The file the host's `resolv.conf` is bound over when the network is allowed.
const BOUND: &str =
    "# agentOS: the host's resolv.conf is bound here, read-only, inside the sandbox.\n";

const MARKER: &str = "# agentOS:";

/// Host files bound read-only at the same path when the VM may use the network: name
/// resolution and the CA certificates (`/etc/ssl/certs` links into `/usr/share`, which the
/// sandbox already sees).
pub const NETWORK_FILES: &[&str] = &[RESOLV_CONF, "/etc/ssl/certs"];

/// Writes what is missing of the VM's `/etc` and home directory. Best effort: a VM that
/// replaced them (or mounted something read-only there) keeps what it made.
pub fn seed(fs: &Filesystem, network: bool) {
    let recursive = || MkdirOptions {
        recursive: Some(true),
    };
    let dirs: &[&str] = if network {
        &["/etc", HOME, "/etc/ssl/certs"]
    } else {
        &["/etc", HOME]
    };
    for dir in dirs {
        if !fs.exists(dir).unwrap_or(true) {
            let _ = fs.mkdir(dir, recursive());
        }
    }
    for (path, content) in SEEDED {
        if !fs.exists(path).unwrap_or(true) {
            let _ = fs.write_file(path, FileContent::Text((*content).to_owned()));
        }
    }
    let resolv = if network { BOUND } else { NO_NETWORK };
    let current = fs.read_file_within(RESOLV_CONF, 4096);
    let ours = match &current {
        Ok(bytes) => bytes.0.starts_with(MARKER.as_bytes()),
        Err(err) => err.code == crate::runtime::code::NOT_FOUND,
    };
    if ours && current.map_or(true, |bytes| bytes.0 != resolv.as_bytes()) {
        let _ = fs.write_file(RESOLV_CONF, FileContent::Text(resolv.to_owned()));
    }
}
