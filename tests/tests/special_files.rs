//! A FIFO in one VM's tree stalls neither that VM's connection, nor other VMs, nor the host:
//! `readFile` and `writeFile` on it (and an agent's `fs/read_text_file`) answer a typed
//! error at once instead of waiting for a peer that never comes (which used to hold the
//! host's workers, its health endpoint and every VM's calls and new connections).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentos_core::VmConfig;
use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_core::vm::session::AgentConfig;
use agentos_host::embedded::{self, HostConfig, VmPolicy};
use agentos_tests::{RawClient, TOKEN, TestHost, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How soon the host must answer while VM "a" has calls on its FIFO outstanding.
const PROMPTLY: Duration = Duration::from_millis(100);

/// A host on a runtime of its own with two workers (as `agentos serve` has on a 2-core
/// machine), so that the test's own timeouts, on another runtime, fire even if the host's
/// runtime stalls. Dropped, it releases whatever waits on the FIFO and stops the runtime
/// without waiting long: a regression fails the test instead of hanging it.
struct Host {
    test: Option<TestHost>,
    runtime: Option<tokio::runtime::Runtime>,
    fifo: Option<PathBuf>,
}

impl Host {
    /// Starts the host, serving VMs made with `config`, on its own two-worker runtime.
    fn start(config: VmConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let host = runtime
            .block_on(embedded::start(
                HostConfig {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    token: TOKEN.into(),
                    data_dir: data.path().to_path_buf(),
                    limits: Limits::default(),
                    bridge_timeout: Duration::from_secs(5),
                    web_root: None,
                    vm_policy: VmPolicy::default(),
                },
                embedded::agent_os_kinds(config),
            ))
            .unwrap();
        Self {
            test: Some(TestHost { host, data }),
            runtime: Some(runtime),
            fifo: None,
        }
    }

    fn test(&self) -> &TestHost {
        self.test.as_ref().unwrap()
    }

    /// Makes the FIFO `/f` in VM `vm` from inside it, and notes where it is on the host.
    async fn mkfifo(&mut self, vm: &mut RawClient) {
        let made = vm.call("exec", vec![text("mkfifo /f")]).await.unwrap();
        assert_eq!(made["exitCode"], 0, "{made}");
        self.fifo = find_fifo(self.test().data.path(), "f");
        assert!(self.fifo.is_some(), "the FIFO is in the VM's root");
    }
}

/// A runtime for the test's own side: its timers run whatever becomes of the host's.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(fifo) = &self.fifo {
            release_fifo(fifo);
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
        drop(self.test.take());
    }
}

/// Opens the FIFO both ways without waiting, and closes it: whoever waits on it goes on.
fn release_fifo(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo);
}

/// The FIFO named `name` somewhere under `dir` (a VM's root, in the host's data directory).
fn find_fifo(dir: &Path, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let kind = entry.file_type().ok()?;
        if kind.is_fifo() && entry.file_name() == name {
            return Some(entry.path());
        }
        if kind.is_dir()
            && let Some(found) = find_fifo(&entry.path(), name)
        {
            return Some(found);
        }
    }
    None
}

/// `GET /health`, on a new connection.
async fn health(host: &TestHost) -> String {
    let mut stream = tokio::net::TcpStream::connect(host.host.addr)
        .await
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: agentos\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// `/health` and a call on VM b each answer within [`PROMPTLY`].
async fn probe(test: &TestHost, b: &mut RawClient) {
    let answer = tokio::time::timeout(PROMPTLY, health(test))
        .await
        .expect("/health answers while VM a has calls on its FIFO");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    let exists = tokio::time::timeout(PROMPTLY, b.call("exists", vec![text("/")]))
        .await
        .expect("VM b answers while VM a has calls on its FIFO");
    assert_eq!(exists, Ok(true.into()));
}

fn assert_fifo_refused(what: &str, result: Result<serde_json::Value, serde_json::Value>) {
    let err = result.expect_err(what);
    assert_eq!(err["code"], "invalid_input", "{what}: {err}");
    assert_eq!(
        err["message"], "`/f` is a FIFO, not a regular file",
        "{what}: {err}"
    );
    assert_eq!(err["metadata"]["kind"], "FIFO", "{what}: {err}");
}

#[test]
fn a_fifo_in_one_vm_stalls_neither_the_host_nor_other_vms() {
    let mut host = Host::start(VmConfig::default());
    client_runtime().block_on(async {
        let mut a = host.test().connect("a", Encoding::Json).await;
        host.mkfifo(&mut a).await;
        let test = host.test();
        let mut b = test.connect("b", Encoding::Json).await;
        assert_eq!(b.call("exists", vec![text("/")]).await, Ok(true.into()));

        // More calls on the FIFO than the host has workers. While they are outstanding, the
        // host and VM b answer promptly, again and again; then the calls' own answers come.
        let mut calls = Vec::new();
        for _ in 0..4 {
            calls.push(a.request("readFile", vec![text("/f")]).await);
        }
        let results = {
            // Their answers may come in any order.
            let answers = async {
                let mut results = BTreeMap::new();
                while results.len() < calls.len() {
                    let frame = a.next().await;
                    let result = match frame.tag.as_str() {
                        "ActionResponse" => (&frame.val["id"], Ok(frame.val["output"].clone())),
                        "Error" => (&frame.val["actionId"], Err(frame.val.clone())),
                        _ => continue,
                    };
                    if let Some(id) = result.0.as_u64().filter(|id| calls.contains(id)) {
                        results.insert(id, result.1);
                    }
                }
                results.into_values().collect::<Vec<_>>()
            };
            tokio::pin!(answers);
            tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    tokio::select! {
                        biased;
                        results = &mut answers => break results,
                        () = probe(test, &mut b) => {}
                    }
                }
            })
            .await
            .expect("readFile on a FIFO answers")
        };
        for result in results {
            assert_fifo_refused("readFile", result);
        }
        probe(test, &mut b).await;
        let mut again =
            tokio::time::timeout(Duration::from_secs(5), test.connect("b", Encoding::Json))
                .await
                .expect("a new connection to VM b opens");
        assert_eq!(again.call("exists", vec![text("/")]).await, Ok(true.into()));

        let write = tokio::time::timeout(
            Duration::from_secs(5),
            a.call("writeFile", vec![text("/f"), text("x")]),
        )
        .await
        .expect("writeFile on a FIFO answers");
        assert_fifo_refused("writeFile", write);
        let read_text = a.call("readTextFile", vec![text("/f")]).await;
        assert_fifo_refused("readTextFile", read_text);
        // VM a is as usable as ever.
        assert_eq!(a.call("exists", vec![text("/f")]).await, Ok(true.into()));
    });
}

#[test]
fn an_agents_read_of_a_fifo_fails_at_once() {
    let agent = AgentConfig {
        command: agentos_tests::binary("AGENTOS_TEST_AGENT", "agentos-test-agent")
            .display()
            .to_string(),
        ..AgentConfig::default()
    };
    let mut host = Host::start(VmConfig {
        agents: BTreeMap::from([("test".to_owned(), agent)]),
        ..VmConfig::default()
    });
    client_runtime().block_on(async {
        let mut a = host.test().connect("a", Encoding::Json).await;
        host.mkfifo(&mut a).await;
        let quiet = Value::Map(vec![(text("skipOsInstructions"), Value::Bool(true))]);
        let session = a
            .call("createSession", vec![text("test"), quiet])
            .await
            .unwrap();
        let id = session["sessionId"].as_str().unwrap().to_owned();
        let turn = tokio::time::timeout(
            Duration::from_secs(10),
            a.call("prompt", vec![text(&id), text("read /f")]),
        )
        .await
        .expect("the agent's fs/read_text_file on a FIFO answers")
        .unwrap();
        let said = turn["text"].as_str().unwrap();
        // The agent is told `invalid_params`, the typed error in its data.
        assert!(said.ends_with("read failed: Invalid params"), "{said}");
        // Regular files are served as before.
        a.call("writeFile", vec![text("/note.txt"), text("from the VM")])
            .await
            .unwrap();
        let turn = a
            .call("prompt", vec![text(&id), text("read /note.txt")])
            .await
            .unwrap();
        let said = turn["text"].as_str().unwrap();
        assert!(said.ends_with("read: from the VM"), "{said}");
        a.call(
            "prompt",
            vec![text(&id), text("write /out.txt from the agent")],
        )
        .await
        .unwrap();
        assert_eq!(
            a.call("readTextFile", vec![text("/out.txt")]).await,
            Ok("from the agent".into())
        );
        a.call("closeSession", vec![text(&id)]).await.unwrap();
    });
}
