//! An overlay mount as the VM's processes see it (a root host mounts it in the kernel): what an
//! action writes or deletes in it, a process sees, and the other way round; the lower
//! directory is never written; unmounting leaves nothing behind.

mod common;

use std::sync::Arc;

use agentos_core::runtime::{ActorEvents, Discard};
use agentos_core::vm::fs::{DeleteOptions, FileContent, HostPathPolicy, MountDriver};
use agentos_core::{AgentOs, VmConfig};
use common::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_and_actions_see_the_same_overlay() {
    let host = tempfile::tempdir().unwrap();
    // The VM's host user reads the lower directory, as a mount's host directory must allow.
    std::fs::set_permissions(
        host.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let lower = host.path().join("lower");
    std::fs::create_dir_all(lower.join("dir")).unwrap();
    for (name, text) in [
        ("kept.txt", "kept"),
        ("by-action.txt", "a"),
        ("by-process.txt", "p"),
    ] {
        std::fs::write(lower.join(name), text).unwrap();
    }
    std::fs::write(lower.join("dir/inner.txt"), "inner").unwrap();
    let mut host_paths = HostPathPolicy::default();
    host_paths.allow(host.path(), false).unwrap();
    let data = host.path().join("data");
    let os = AgentOs::open(
        &data,
        VmConfig {
            host_paths,
            ..VmConfig::default()
        },
        ActorEvents::new(Arc::new(Discard)),
    )
    .unwrap();
    let driver = MountDriver::Overlay {
        lower: lower.display().to_string(),
    };
    os.mount_fs("/mnt/o".into(), driver, None).unwrap();

    // Action → process: a new file, a deleted lower file.
    os.write_file(
        "/mnt/o/new.txt".into(),
        FileContent::Text("from an action".into()),
    )
    .unwrap();
    os.delete(
        "/mnt/o/by-action.txt".into(),
        Some(DeleteOptions::default()),
    )
    .unwrap();
    assert_eq!(
        run(
            &os,
            "cat /mnt/o/new.txt /mnt/o/kept.txt /mnt/o/dir/inner.txt"
        )
        .await,
        "from an actionkeptinner"
    );
    assert_eq!(
        run(&os, "ls /mnt/o").await,
        "by-process.txt\ndir\nkept.txt\nnew.txt\n"
    );

    // Process → action.
    run(
        &os,
        "rm /mnt/o/by-process.txt && echo made > /mnt/o/made.txt",
    )
    .await;
    assert!(!os.exists("/mnt/o/by-process.txt".into()).unwrap());
    assert_eq!(
        &os.read_file("/mnt/o/made.txt".into()).unwrap()[..],
        b"made\n"
    );
    let mut names: Vec<String> = os.readdir("/mnt/o".into()).unwrap().into_iter().collect();
    names.sort();
    assert_eq!(names, ["dir", "kept.txt", "made.txt", "new.txt"]);

    // A deleted file re-created is the new one, for both.
    os.write_file(
        "/mnt/o/by-action.txt".into(),
        FileContent::Text("again".into()),
    )
    .unwrap();
    assert_eq!(run(&os, "cat /mnt/o/by-action.txt").await, "again");

    // The lower directory is as it was.
    let mut lower_names: Vec<_> = std::fs::read_dir(&lower)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    lower_names.sort();
    assert_eq!(
        lower_names,
        ["by-action.txt", "by-process.txt", "dir", "kept.txt"]
    );
    assert_eq!(
        std::fs::read_to_string(lower.join("by-action.txt")).unwrap(),
        "a"
    );

    // Unmounted: the upper layer and the kernel mount are gone.
    os.unmount_fs("/mnt/o".into()).unwrap();
    let scratch_left = std::fs::read_dir(data.join("scratch"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("overlay")
        })
        .count();
    assert_eq!(scratch_left, 0);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&data.display().to_string()), "{mounts}");
    assert_eq!(run(&os, "ls -A /mnt/o").await, "");
}
