//! The VM's own network: one network namespace per VM, with a loopback of its own and no
//! other interface, so no route out. Every sandbox of the VM (the resident namespaces that
//! piped processes enter, and the bubblewrap of each terminal process and agent) is started
//! inside it, so a server one process starts is reachable from every other process of the VM
//! and from no other VM. The host reaches it for `vmFetch` and preview URLs by making its
//! socket inside the namespace ([`VmNetwork::connect`]): a socket stays in the namespace it
//! was made in.
//!
//! Only a root host can make such a namespace (one owned by the host's user namespace, which
//! bubblewrap's user namespaces cannot own). Elsewhere each sandbox keeps a loopback of its
//! own, as before, and the host cannot reach into it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// How long the host waits for a VM's server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A VM's network namespace, kept open by its descriptor.
#[derive(Debug)]
pub struct VmNetwork {
    ns: OwnedFd,
}

impl VmNetwork {
    /// A new namespace with its loopback up. Made on a thread of its own, which ends there:
    /// a thread may switch network namespaces, and the host's other threads stay in theirs.
    pub fn create() -> io::Result<Arc<Self>> {
        on_own_thread(|| {
            // SAFETY: unshare of this thread's network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            loopback_up()?;
            let ns = std::fs::File::open("/proc/thread-self/ns/net")?;
            Ok(Arc::new(Self {
                ns: OwnedFd::from(ns),
            }))
        })
    }

    /// The namespace's descriptor, to join (`setns`) in a child before it drops privileges.
    pub fn fd(&self) -> &OwnedFd {
        &self.ns
    }

    /// Joins the namespace: for a forked child, before it execs (only a system call).
    pub fn enter(&self) -> io::Result<()> {
        // SAFETY: setns on a descriptor this value owns.
        if unsafe { libc::setns(self.ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// A TCP connection to `port` on the namespace's loopback.
    pub async fn connect(self: &Arc<Self>, port: u16) -> io::Result<tokio::net::TcpStream> {
        let this = self.clone();
        let stream = tokio::task::spawn_blocking(move || {
            on_own_thread(move || {
                this.enter()?;
                connect_loopback(port)
            })
        })
        .await
        .map_err(io::Error::other)??;
        tokio::net::TcpStream::from_std(stream)
    }
}

/// A TCP connection to `port` on the loopback of the caller's own network.
pub fn connect_loopback(port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        CONNECT_TIMEOUT,
    )?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Runs `f` on a new thread and returns what it returned.
fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    std::thread::spawn(f)
        .join()
        .map_err(|_| io::Error::other("network namespace thread panicked"))?
}

/// Sets `lo` up in the caller's network namespace, as bubblewrap does for its own.
fn loopback_up() -> io::Result<()> {
    // SAFETY: a socket for the ioctls, closed by the OwnedFd.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `socket` is a fresh descriptor we own.
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(socket) };
    // SAFETY: a zeroed ifreq naming `lo`, read and written by the two ioctls.
    unsafe {
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo") {
            *slot = *byte as libc::c_char;
        }
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(io::Error::last_os_error());
        }
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
