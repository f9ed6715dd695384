//! Each VM's own network: a server one process starts is reachable from the VM's other
//! processes (piped, in a terminal, after the VM's view changed) and from the host through
//! `vmFetch`, never from another VM; and the VM reaches neither the host's loopback nor the
//! outside.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentos_core::runtime::{ActorEvents, Discard, Emitter};
use agentos_core::vm::fs::{FileContent, MountDriver, MountOptions};
use agentos_core::vm::network::VmFetchOptions;
use agentos_core::{AgentOs, VmConfig};

fn open(dir: &std::path::Path) -> AgentOs {
    AgentOs::open(
        dir,
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .unwrap()
}

async fn run(os: &AgentOs, script: &str) -> (Option<i32>, String, String) {
    let result = os
        .exec(script.into(), None, Emitter::discard(), Emitter::discard())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    (result.exit_code, result.stdout, result.stderr)
}

/// A Python one-liner that prints what `url` answers, or the error's class name.
fn python_get(url: &str) -> String {
    format!(
        "python3 -c \"import urllib.request as u\ntry: print(u.urlopen('{url}', timeout=5).read().decode())\nexcept Exception as e: print(type(e).__name__, e)\""
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_server_is_reachable_from_the_vm_and_the_host_and_nowhere_else() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open(dir_a.path()), open(dir_b.path()));
    a.mkdir("/srv".into(), None).unwrap();
    a.write_file(
        "/srv/hello.txt".into(),
        FileContent::Text("hi from a".into()),
    )
    .unwrap();
    a.spawn(
        "python3".into(),
        [
            "-m",
            "http.server",
            "8000",
            "--bind",
            "127.0.0.1",
            "--directory",
            "/srv",
        ]
        .map(String::from)
        .to_vec(),
        None,
    )
    .unwrap();

    // The host, through vmFetch, once the server listens.
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        match a.vm_fetch(8000, "/hello.txt".into(), None).await {
            Ok(answer) => break answer,
            Err(e) if e.code == "not_found" && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("vmFetch: {e}"),
        }
    };
    assert_eq!((answer.status, answer.status_text.as_str()), (200, "OK"));
    assert_eq!(&answer.body[..], b"hi from a");
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["content-length"], "9");
    let posted = a
        .vm_fetch(
            8000,
            "http://ignored.example/hello.txt?x=1".into(),
            Some(VmFetchOptions {
                method: Some("POST".into()),
                body: Some(FileContent::Text("payload".into())),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(posted.status, 501, "http.server has no POST");

    // Another piped process of the VM.
    let (_, stdout, _) = run(&a, &python_get("http://127.0.0.1:8000/hello.txt")).await;
    assert_eq!(stdout, "hi from a\n");
    // ... also once a mount has changed the VM's view (its processes enter new namespaces).
    a.mount_fs(
        "/mnt/scratch".into(),
        MountDriver::Memory,
        Some(MountOptions::default()),
    )
    .unwrap();
    let (_, stdout, _) = run(&a, &python_get("http://127.0.0.1:8000/hello.txt")).await;
    assert_eq!(stdout, "hi from a\n", "after a mount");

    // A terminal process (a bubblewrap of its own).
    let shell = a.open_shell(None).unwrap();
    let saw = format!(
        "{} > /root/shell-saw\n",
        python_get("http://127.0.0.1:8000/hello.txt")
    );
    a.write_shell(shell.shell_id.clone(), FileContent::Text(saw))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match a.read_file("/root/shell-saw".into()) {
            Ok(bytes) if !bytes.is_empty() => {
                assert_eq!(&bytes[..], b"hi from a\n");
                break;
            }
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("the shell wrote nothing: {other:?}"),
        }
    }

    // Not another VM, by vmFetch or from inside.
    let err = b
        .vm_fetch(8000, "/hello.txt".into(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, "not_found", "{err}");
    let (_, stdout, _) = run(&b, &python_get("http://127.0.0.1:8000/hello.txt")).await;
    assert!(stdout.starts_with("URLError"), "{stdout}");

    // Not the host's loopback, nor the outside.
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host_port = host.local_addr().unwrap().port();
    let (_, stdout, _) = run(&a, &python_get(&format!("http://127.0.0.1:{host_port}/"))).await;
    assert!(stdout.contains("Connection refused"), "{stdout}");
    let (_, stdout, _) = run(&a, &python_get("http://1.1.1.1/")).await;
    assert!(stdout.contains("unreachable"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_that_nothing_answers_or_that_is_malformed_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let os = open(dir.path());
    let err = os.vm_fetch(9, "/".into(), None).await.unwrap_err();
    assert_eq!(err.code, "not_found", "{err}");
    assert!(
        err.message.contains("no process of the VM listens"),
        "{err}"
    );
    let bad = VmFetchOptions {
        method: Some("NOT A METHOD".into()),
        ..Default::default()
    };
    let err = os.vm_fetch(9, "/".into(), Some(bad)).await.unwrap_err();
    assert_eq!(err.code, "invalid_input", "{err}");
}
