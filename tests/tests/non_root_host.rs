//! The `agentos serve` binary run as an unprivileged user (nobody, when the tests run as
//! root; the tests' own user otherwise): files, exec, a shell on a PTY and a session with the
//! test agent work, and inside the VM root is that user, so `/proc/sys` cannot be written
//! and a setuid file the VM makes belongs to it on the host.
//! The binaries are the workspace's ([`agentos_tests::binary`]).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use agentos_core::runtime::Value;
use agentos_tests::{ServeProcess, serve_command, text};

const NOBODY: u32 = 65534;

/// Every path below `dir` (not following symlinks).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            walk(&path, out);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_run_as_an_unprivileged_user_works_end_to_end() {
    // SAFETY: getuid cannot fail.
    let tests_uid = unsafe { libc::getuid() };
    let host_uid = if tests_uid == 0 { NOBODY } else { tests_uid };
    let data = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(data.path(), Some(host_uid), Some(host_uid)).unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut command = serve_command(data.path());
    if tests_uid == 0 {
        command.uid(NOBODY).gid(NOBODY);
    }
    let host = ServeProcess::start(command).await;
    let mut vm = host.connect("non-root").await;

    vm.call("writeFile", vec![text("/hello.txt"), text("hi")])
        .await
        .unwrap();
    let script = "id -u; cat /hello.txt; echo; touch /setuid; chmod 4755 /setuid; \
                  (echo 0 > /proc/sys/kernel/core_uses_pid) 2>/dev/null && echo wrote; \
                  echo more >> /hello.txt";
    let out = vm.call("exec", vec![text(script)]).await.unwrap();
    // No `wrote`: the `/proc/sys` write failed.
    assert_eq!(
        (&out["exitCode"], &out["stdout"]),
        (&0.into(), &"0\nhi\n".into()),
        "{out}"
    );
    assert_eq!(
        vm.call("readTextFile", vec![text("/hello.txt")]).await,
        Ok("himore\n".into())
    );

    let shell = vm.call("openShell", vec![]).await.unwrap();
    let id = shell["shellId"].clone();
    let id = Value::Text(id.as_str().unwrap().into());
    vm.call("writeShell", vec![id.clone(), text("exit 42\r")])
        .await
        .unwrap();
    let exit = vm.call("waitShell", vec![id]).await.unwrap();
    assert_eq!(exit["exitCode"], 42, "{exit}");

    let quiet = Value::Map(vec![(text("skipOsInstructions"), Value::Bool(true))]);
    let session = vm
        .call("createSession", vec![text("test"), quiet])
        .await
        .unwrap();
    let session_id = text(session["sessionId"].as_str().unwrap());
    let reply = vm
        .call("prompt", vec![session_id.clone(), text("read /hello.txt")])
        .await
        .unwrap();
    assert_eq!(
        reply["text"], "echo: read /hello.txtread: himore\n",
        "{reply}"
    );
    vm.call("closeSession", vec![session_id]).await.unwrap();

    // On the host, everything the VM made is the unprivileged user's, and not setuid for
    // anyone else.
    let mut paths = Vec::new();
    walk(data.path(), &mut paths);
    let setuid = paths
        .iter()
        .find(|path| path.ends_with("root/setuid"))
        .expect("the VM's file is in its root");
    let meta = std::fs::metadata(setuid).unwrap();
    assert_eq!(meta.uid(), host_uid);
    for path in &paths {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert_ne!(meta.uid(), 0, "{} belongs to root", path.display());
    }
    host.kill().await;
}
