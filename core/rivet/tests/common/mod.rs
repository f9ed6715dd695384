//! A real Rivet Engine for the adapter's tests: the engine binary from the npm lockfile
//! (`bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl`, installed by
//! `scripts/setup.sh`, or `RIVET_ENGINE_BINARY_PATH`), started by hand on loopback with fresh
//! storage and stopped with SIGTERM. One test per binary: one envoy per process (docs/rivetkit.md).

// Every test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentos_core::{AgentOs, VmConfig};
use agentos_rivet::Setup;
use rivetkit::client::{Client, ClientConfig};
use rivetkit::{EngineSpawnMode, Registry, ServeConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub struct Engine {
    child: Child,
    pub endpoint: String,
    _storage: tempfile::TempDir,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SIGTERM, as docs/rivetkit.md says; then reap.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
}

pub fn start_engine() -> Engine {
    let binary = std::env::var_os("RIVET_ENGINE_BINARY_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
                "../../bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl/rivet-engine",
            )
        });
    assert!(
        binary.exists(),
        "{} is missing: run scripts/setup.sh (npm ci --prefix bindings) or set RIVET_ENGINE_BINARY_PATH",
        binary.display()
    );
    let storage = tempfile::tempdir().unwrap();
    let (guard, peer, metrics) = (free_port(), free_port(), free_port());
    let child = Command::new(binary)
        .arg("start")
        .env("RIVET__GUARD__HOST", "127.0.0.1")
        .env("RIVET__GUARD__PORT", guard.to_string())
        .env("RIVET__API_PEER__HOST", "127.0.0.1")
        .env("RIVET__API_PEER__PORT", peer.to_string())
        .env("RIVET__METRICS__HOST", "127.0.0.1")
        .env("RIVET__METRICS__PORT", metrics.to_string())
        .env("RIVET__FILE_SYSTEM__PATH", storage.path())
        .env("RIVET__TELEMETRY__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let engine = Engine {
        child,
        endpoint: format!("http://127.0.0.1:{guard}"),
        _storage: storage,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy(guard) {
        assert!(Instant::now() < deadline, "engine not healthy in 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    engine
}

/// Retries `attempt` while the engine is still creating its default namespace or the actor
/// is still being placed on a new pool.
pub async fn retrying<T, F, Fut>(attempt: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match attempt().await {
            Err(e)
                if Instant::now() < deadline
                    && [
                        "actor_ready_timeout",
                        "no_runner_config",
                        "Service Unavailable",
                        "namespace/not_found",
                    ]
                    .iter()
                    .any(|t| e.to_string().contains(t)) =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
}

/// A rivetkit client of `pool` on `engine`.
pub fn client(engine: &Engine, pool: &str) -> Client {
    Client::new(
        ClientConfig::new(&engine.endpoint)
            .token("dev")
            .namespace("default")
            .pool_name(pool),
    )
}

/// A registry served to an engine under one pool, and a client of that pool.
pub struct Served {
    pub client: Client,
    shutdown: CancellationToken,
    serve: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Serves `registry` to `engine` under `pool` (never spawning an engine of its own).
pub fn serve(registry: Registry, engine: &Engine, pool: &str) -> Served {
    let shutdown = CancellationToken::new();
    let serve = tokio::spawn(registry.serve_with_config(
        ServeConfig {
            endpoint: engine.endpoint.clone(),
            token: Some("dev".into()),
            namespace: "default".into(),
            pool_name: pool.to_owned(),
            engine_spawn: EngineSpawnMode::Never,
            ..ServeConfig::default()
        },
        shutdown.clone(),
    ));
    let client = client(engine, pool);
    Served {
        client,
        shutdown,
        serve,
    }
}

impl Served {
    /// Stops serving and waits for the registry to drain.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.serve.await;
    }
}

/// How `agentOS` is served with its VMs under `root`: actors sleep after 0.5 s without a call,
/// and the count says how many times a VM was opened (a second opening is a wake).
pub fn sleepy_setup(root: &Path, vm: VmConfig) -> (Setup, Arc<AtomicUsize>) {
    let opened = Arc::new(AtomicUsize::new(0));
    let mut setup = Setup::new(root.to_owned(), {
        let opened = opened.clone();
        move |dir, events| {
            opened.fetch_add(1, Ordering::SeqCst);
            AgentOs::open(dir, vm.clone(), events)
        }
    });
    setup.actor.sleep_timeout = Duration::from_millis(500);
    (setup, opened)
}

/// A toolkit for `registerToolkit`, to find again after the actor moved.
pub fn toolkit() -> Value {
    json!({
        "name": "notes",
        "description": "Notes kept by the app",
        "tools": { "add": { "description": "Adds a note", "inputSchema": { "type": "object" } } },
    })
}
