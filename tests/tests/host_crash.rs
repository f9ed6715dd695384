//! The `agentos serve` binary killed with SIGKILL and started again on the same data
//! directory: what it recorded is consistent afterwards. A session that was live is ended
//! (`hostStopped`) and can be closed; a cron job is still scheduled; the mounts come back (a
//! memory one empty, one whose host directory is gone reported as unavailable), and the
//! killed host's memory mount directories are removed.

use agentos_core::runtime::Value;
use agentos_tests::{ServeProcess, serve_command, text};

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(key, value)| (text(key), value.clone()))
            .collect(),
    )
}

/// `agentos serve` on `data`, allowed to mount what is under `shared`.
fn serve(data: &std::path::Path, shared: &std::path::Path) -> std::process::Command {
    let mut command = serve_command(data);
    command.arg("--allow-host-path").arg(shared);
    command
}

fn memory_dirs_of(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("agentos-memory-{pid}-");
    std::fs::read_dir("/dev/shm")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_no_record_stays_live() {
    let data = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    for dir in ["keep", "gone"] {
        std::fs::create_dir(shared.path().join(dir)).unwrap();
    }
    std::fs::write(shared.path().join("keep/file.txt"), "kept").unwrap();
    let host = ServeProcess::start(serve(data.path(), shared.path())).await;
    let killed_pid = host.child.id().unwrap();
    let mut vm = host.connect("crash").await;
    let host_dir = |name: &str| {
        let path = shared.path().join(name).display().to_string();
        map(&[("type", text("hostDir")), ("path", text(&path))])
    };
    for (point, driver) in [
        ("/mnt/mem", map(&[("type", text("memory"))])),
        ("/mnt/keep", host_dir("keep")),
        ("/mnt/gone", host_dir("gone")),
    ] {
        vm.call("mountFs", vec![text(point), driver]).await.unwrap();
    }
    vm.call(
        "writeFile",
        vec![text("/mnt/mem/lost.txt"), text("in memory")],
    )
    .await
    .unwrap();
    assert_eq!(memory_dirs_of(killed_pid).len(), 1);
    let quiet = map(&[("skipOsInstructions", Value::Bool(true))]);
    let session = vm
        .call("createSession", vec![text("test"), quiet])
        .await
        .unwrap();
    let session_id = session["sessionId"].as_str().unwrap().to_owned();
    vm.call("prompt", vec![text(&session_id), text("hello")])
        .await
        .unwrap();
    let job = map(&[
        ("schedule", text("0 0 1 1 *")),
        (
            "action",
            map(&[("type", text("exec")), ("command", text("true"))]),
        ),
    ]);
    let job = vm.call("scheduleCron", vec![job]).await.unwrap();
    host.kill().await;
    std::fs::remove_dir(shared.path().join("gone")).unwrap();

    let host = ServeProcess::start(serve(data.path(), shared.path())).await;
    let mut vm = host.connect("crash").await;
    let sessions = vm.call("listPersistedSessions", vec![]).await.unwrap();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["sessionId"], session_id.as_str());
    assert_eq!(sessions[0]["endReason"], "hostStopped");
    assert!(sessions[0]["endedAt"].as_u64() >= sessions[0]["createdAt"].as_u64());
    assert_eq!(sessions[0]["events"], 1);
    // Closing it is no error: it has ended.
    assert_eq!(
        vm.call("closeSession", vec![text(&session_id)]).await,
        Ok(serde_json::Value::Null)
    );
    let jobs = vm.call("listCronJobs", vec![]).await.unwrap();
    assert_eq!(jobs[0]["id"], job["id"], "{jobs}");

    let mounts = vm.call("listMounts", vec![]).await.unwrap();
    let mounts = mounts.as_array().unwrap();
    let paths: Vec<_> = mounts.iter().map(|m| m["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/mnt/gone", "/mnt/keep", "/mnt/mem"], "{mounts:?}");
    assert_eq!(mounts[0]["restored"]["kind"], "unavailable", "{mounts:?}");
    assert!(mounts[0]["restored"]["reason"].is_string(), "{mounts:?}");
    assert!(mounts[1].get("restored").is_none(), "{mounts:?}");
    assert_eq!(mounts[2]["restored"]["kind"], "empty", "{mounts:?}");
    assert_eq!(
        vm.call("readTextFile", vec![text("/mnt/keep/file.txt")])
            .await,
        Ok("kept".into())
    );
    assert_eq!(
        vm.call("exists", vec![text("/mnt/mem/lost.txt")]).await,
        Ok(false.into())
    );
    vm.call("unmountFs", vec![text("/mnt/gone")]).await.unwrap();
    let mounts = vm.call("listMounts", vec![]).await.unwrap();
    assert_eq!(mounts.as_array().unwrap().len(), 2, "{mounts}");
    // The killed host's memory mount directory was swept when the VM opened again.
    assert_eq!(memory_dirs_of(killed_pid), Vec::<std::path::PathBuf>::new());
    host.kill().await;
}
