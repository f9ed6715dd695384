//! The `overlay` driver on a host that may mount (root): a kernel overlayfs over the lower
//! directory, with its upper and work directories in scratch, mounted at a directory of
//! scratch that is then an ordinary directory ([`Confined`]). Processes bind it like any other
//! mount, and the kernel keeps the whiteouts (its own 0/0 character devices in the upper
//! layer), so a file deleted through an action is gone for a process and the other way round.
//! Like the user-space overlay ([`super::overlay`]), the upper layer lives as long as the mount.

use std::io;
use std::path::Path;

use super::backend::{Confined, OwnedDir};

/// Whether this host mounts overlays in the kernel: only root may.
pub(super) fn available() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Mounts an overlay of `lower` in a new directory of `scratch` and returns the merged
/// directory. Called as the VM's host user, who then owns the upper layer's top.
pub(super) fn open(lower: &Path, scratch: &Path) -> io::Result<Confined> {
    let text = lower.to_str().filter(|s| !s.contains([',', ':', '\\']));
    let Some(lower_text) = text else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an overlay's lower directory path may not hold `,`, `:` or `\\`",
        ));
    };
    let mut owned = OwnedDir::create_in(scratch, "overlay")?;
    let [upper, work, merged] = ["upper", "work", "merged"].map(|name| owned.path().join(name));
    for dir in [&upper, &work, &merged] {
        std::fs::create_dir(dir)?;
    }
    let options = format!(
        "lowerdir={lower_text},upperdir={},workdir={}",
        upper.display(),
        work.display()
    );
    // On a thread of its own, as root: the caller may be acting as the VM's user (a thread
    // starts with its creator's file-system identity, and keeps its own), and the mount must
    // keep root's credentials, which the kernel uses to copy files up.
    let target = merged.clone();
    std::thread::spawn(move || {
        // SAFETY: setfsuid/setfsgid take ids and change only this thread.
        unsafe {
            libc::setfsuid(0);
            libc::setfsgid(0);
        }
        nix::mount::mount(
            Some("overlay"),
            &target,
            Some("overlay"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            Some(options.as_str()),
        )
    })
    .join()
    .map_err(|_| io::Error::other("the overlay mount's thread panicked"))?
    .map_err(io::Error::from)?;
    owned.holds_mount(merged.clone());
    Confined::owning_at(owned, merged)
}
