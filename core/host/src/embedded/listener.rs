//! The host's TCP listener, guarding its descriptors against clients that never authenticate:
//! a connection that has not made an authenticated request lives at most
//! [`UNAUTHENTICATED_LIFETIME`] (reads fail after it, and the connection closes), and one peer
//! address may hold at most [`UNAUTHENTICATED_PER_PEER`] such connections (more are closed as
//! they are accepted). A connection whose WebSocket upgrade authenticated is the actor's and
//! lives as long as its client wants.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// How long a connection may go without an authenticated request.
pub const UNAUTHENTICATED_LIFETIME: Duration = Duration::from_secs(10);
/// How many unauthenticated connections one peer address may hold at once.
pub const UNAUTHENTICATED_PER_PEER: usize = 64;

pub struct GuardedListener {
    inner: TcpListener,
    unauthenticated: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl GuardedListener {
    pub fn new(inner: TcpListener) -> Self {
        Self {
            inner,
            unauthenticated: Arc::default(),
        }
    }
}

/// A connection as handlers see it (axum's `ConnectInfo`): its peer, and the switch that
/// lifts its time limit once it has authenticated.
#[derive(Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    state: Arc<PeerState>,
}

struct PeerState {
    ip: IpAddr,
    authenticated: AtomicBool,
    unauthenticated: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.addr.fmt(f)
    }
}

impl Peer {
    /// Lifts the connection's time limit and takes it off its peer's count.
    pub fn authenticated(&self) {
        if !self.state.authenticated.swap(true, Ordering::AcqRel) {
            self.state.release();
        }
    }
}

impl PeerState {
    fn release(&self) {
        let mut counts = lock(&self.unauthenticated);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

impl Drop for PeerState {
    fn drop(&mut self) {
        if !self.authenticated.load(Ordering::Acquire) {
            self.release();
        }
    }
}

impl Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors, say: wait for some to close rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            {
                let mut counts = lock(&self.unauthenticated);
                let count = counts.entry(addr.ip()).or_default();
                if *count >= UNAUTHENTICATED_PER_PEER {
                    tracing::debug!(%addr, "too many unauthenticated connections from this peer");
                    continue;
                }
                *count += 1;
            }
            let state = Arc::new(PeerState {
                ip: addr.ip(),
                authenticated: AtomicBool::new(false),
                unauthenticated: self.unauthenticated.clone(),
            });
            let io = GuardedStream {
                inner: stream,
                state: state.clone(),
                deadline: Box::pin(tokio::time::sleep(UNAUTHENTICATED_LIFETIME)),
            };
            return (io, Peer { addr, state });
        }
    }

    /// A peer names the other end: the host reads its own address from the TCP listener
    /// before wrapping it.
    fn local_addr(&self) -> io::Result<Self::Addr> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "read the address from the TCP listener",
        ))
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream whose reads fail once it outlived [`UNAUTHENTICATED_LIFETIME`] without
/// authenticating.
pub struct GuardedStream {
    inner: TcpStream,
    state: Arc<PeerState>,
    deadline: Pin<Box<Sleep>>,
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.state.authenticated.load(Ordering::Acquire)
            && self.deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no authenticated request in time",
            )));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
