//! The adapter through a real Rivet Engine: the engine binary from the npm lockfile
//! (`bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl`, installed by `scripts/setup.sh`,
//! or `RIVET_ENGINE_BINARY_PATH`), started by hand on loopback with fresh storage, the agentOS
//! actor served in-process under a fixed pool, and rivetkit's own Rust client calling generated
//! actions and receiving a broadcast event. One test: one envoy per process (RIVETKIT.md).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentos_core::vm::sandbox::SandboxMode;
use agentos_core::{AgentOs, VmConfig};
use agentos_rivet::Setup;
use rivetkit::client::{Client, ClientConfig, GetOrCreateOptions};
use rivetkit::{EngineSpawnMode, Registry, ServeConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

struct Engine {
    child: Child,
    endpoint: String,
    _storage: tempfile::TempDir,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SIGTERM, as RIVETKIT.md advises; then reap.
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

fn start_engine() -> Engine {
    let binary = std::env::var_os("RIVET_ENGINE_BINARY_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../bindings/node_modules/@rivetkit/engine-cli-linux-x64-musl/rivet-engine")
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

/// Retries while the actor is still being placed on the new pool.
async fn call(
    conn: &rivetkit::client::connection::ActorConnection,
    name: &str,
    args: Vec<Value>,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match conn.action(name, args.clone()).await {
            Err(e)
                if Instant::now() < deadline
                    && [
                        "actor_ready_timeout",
                        "no_runner_config",
                        "Service Unavailable",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_actions_and_a_broadcast_event_through_a_real_engine() {
    let engine = start_engine();
    let data = tempfile::tempdir().unwrap();
    let pool = format!("agentos-rust-{}", std::process::id());
    let mut registry = Registry::new();
    let vm = VmConfig {
        sandbox: SandboxMode::None,
        ..VmConfig::default()
    };
    agentos_rivet::register::<AgentOs>(
        &mut registry,
        "agentOS",
        Setup::new(data.path().to_owned(), move |dir, events| {
            AgentOs::open(dir, vm.clone(), events)
        }),
    );
    let shutdown = CancellationToken::new();
    let serve = tokio::spawn(registry.serve_with_config(
        ServeConfig {
            endpoint: engine.endpoint.clone(),
            token: Some("dev".into()),
            namespace: "default".into(),
            pool_name: pool.clone(),
            engine_spawn: EngineSpawnMode::Never,
            ..ServeConfig::default()
        },
        shutdown.clone(),
    ));

    let client = Client::new(
        ClientConfig::new(&engine.endpoint)
            .token("dev")
            .namespace("default")
            .pool_name(&pool),
    );
    let conn = client
        .get_or_create(
            "agentOS",
            vec!["rust-test".into()],
            GetOrCreateOptions::default(),
        )
        .unwrap()
        .connect();

    let (tx, mut chunks) = tokio::sync::mpsc::unbounded_channel::<Vec<Value>>();
    let _sub = conn
        .on_event("snapshotChunk", move |args| {
            let _ = tx.send(args.clone());
        })
        .await;

    call(
        &conn,
        "writeFile",
        vec![json!("/hello.txt"), json!("héllo")],
    )
    .await
    .unwrap();
    assert_eq!(
        call(&conn, "readTextFile", vec![json!("/hello.txt")])
            .await
            .unwrap(),
        json!("héllo")
    );
    assert_eq!(
        call(&conn, "exists", vec![json!("/hello.txt")])
            .await
            .unwrap(),
        json!(true)
    );
    // Bytes travel as RivetKit's envelope both ways.
    call(
        &conn,
        "writeFile",
        vec![json!("/b.bin"), json!(["$Uint8Array", "AAH/"])],
    )
    .await
    .unwrap();
    assert_eq!(
        call(&conn, "readFile", vec![json!("/b.bin")])
            .await
            .unwrap(),
        json!(["$Uint8Array", "AAH/"])
    );

    // A call-scoped event, broadcast while the call runs, reaches the subscribed connection.
    let info = call(&conn, "snapshotRootFilesystem", vec![]).await.unwrap();
    assert!(info["size"].as_u64().unwrap() > 0, "{info}");
    let event = tokio::time::timeout(Duration::from_secs(10), chunks.recv())
        .await
        .expect("a snapshotChunk event")
        .unwrap();
    assert_eq!(event.len(), 1, "one argument: the payload");
    assert!(event[0]["callId"].is_string(), "{event:?}");

    // A typed error keeps its code and message in group `user`.
    let err = call(&conn, "readFile", vec![json!("/missing")])
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("not_found"), "{text}");

    conn.dispose().await;
    shutdown.cancel();
    let _ = serve.await;
}
