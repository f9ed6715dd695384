//! Filesystem-level tests: operations through the mount table, each driver, typed errors.

use super::test_vm::Vm;
use super::*;
use crate::error::code;
use std::os::unix::fs::{PermissionsExt, symlink};

fn recursive_mkdir() -> MkdirOptions {
    MkdirOptions {
        recursive: Some(true),
    }
}

fn recursive_delete() -> DeleteOptions {
    DeleteOptions {
        recursive: Some(true),
    }
}

fn code_of<T: std::fmt::Debug>(result: Result<T, ActorError>) -> String {
    result.unwrap_err().code
}

#[test]
fn filesystem_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Filesystem>();
}

#[test]
fn open_creates_root_and_scratch_and_drop_clears_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("scratch/uploads")).unwrap();
    std::fs::write(data.join("scratch/uploads/stale"), b"old").unwrap();
    let fs = Filesystem::open(&data).unwrap();
    assert!(data.join("root").is_dir());
    assert!(!data.join("scratch/uploads/stale").exists());
    fs.write_file("/kept", FileContent::Text("k".into()))
        .unwrap();
    drop(fs);
    assert!(!data.join("scratch").exists());
    let fs = Filesystem::open(&data).unwrap();
    assert_eq!(fs.read_file("/kept").unwrap().0, b"k");
}

#[test]
fn root_is_confined_even_without_mounts() {
    let vm = Vm::new();
    std::fs::write(vm.tmp.path().join("secret"), b"s").unwrap();
    symlink("../../secret", vm.root().join("rel")).unwrap();
    symlink("/etc", vm.root().join("abs")).unwrap();
    assert_eq!(code_of(vm.fs.read_file("/rel")), code::PATH_ESCAPE);
    assert_eq!(code_of(vm.fs.read_file("/abs/hostname")), code::PATH_ESCAPE);
    assert_eq!(code_of(vm.fs.read_file("/../secret")), code::PATH_ESCAPE);
    assert_eq!(code_of(vm.fs.read_file("relative")), code::INVALID_INPUT);
}

#[test]
fn read_and_write_files() {
    let vm = Vm::new();
    vm.write("/a.txt", "hello");
    vm.fs
        .write_file("/b.bin", FileContent::Bytes(Bytes(vec![0, 159, 255])))
        .unwrap();
    assert_eq!(vm.read("/a.txt"), "hello");
    assert_eq!(vm.fs.read_file("//b.bin").unwrap().0, [0, 159, 255]);
    vm.write("/a.txt", "hi");
    assert_eq!(vm.read("/./a.txt"), "hi");
    assert_eq!(std::fs::read(vm.root().join("a.txt")).unwrap(), b"hi");
    let write = |path: &str| vm.fs.write_file(path, FileContent::Text("x".into()));
    assert_eq!(code_of(write("/missing/f")), code::NOT_FOUND);
    assert_eq!(code_of(write("/a.txt/f")), code::NOT_A_DIRECTORY);
    assert_eq!(code_of(write("/")), code::IS_A_DIRECTORY);
    assert_eq!(code_of(vm.fs.read_file("/nope")), code::NOT_FOUND);
    vm.mkdir_p("/dir");
    assert_eq!(code_of(vm.fs.read_file("/dir")), code::IS_A_DIRECTORY);
    let err = vm.fs.read_file("/nope").unwrap_err();
    assert_eq!(
        err.metadata.as_deref(),
        Some(&serde_json::json!({ "path": "/nope" }))
    );
}

#[test]
fn batches_report_failures_per_entry() {
    let vm = Vm::new();
    let results = vm.fs.write_files(vec![
        WriteFileEntry {
            path: "/one".into(),
            content: FileContent::Text("1".into()),
        },
        WriteFileEntry {
            path: "/missing/two".into(),
            content: FileContent::Text("2".into()),
        },
        WriteFileEntry {
            path: "relative".into(),
            content: FileContent::Text("3".into()),
        },
    ]);
    let codes: Vec<Option<String>> = results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.clone()))
        .collect();
    assert_eq!(
        codes,
        [
            None,
            Some(code::NOT_FOUND.into()),
            Some(code::INVALID_INPUT.into())
        ]
    );
    assert_eq!(results[1].path, "/missing/two");
    let results = vm.fs.read_files(vec!["/one".into(), "/two".into()]);
    assert_eq!(results[0].content.as_ref().unwrap().0, b"1");
    assert!(results[0].error.is_none());
    assert!(results[1].content.is_none());
    assert_eq!(results[1].error.as_ref().unwrap().code, code::NOT_FOUND);
}

#[test]
fn mkdir_recursive_and_not() {
    let vm = Vm::new();
    let plain = MkdirOptions::default();
    assert_eq!(code_of(vm.fs.mkdir("/a/b", plain.clone())), code::NOT_FOUND);
    vm.fs.mkdir("/a/b/c", recursive_mkdir()).unwrap();
    vm.fs.mkdir("/a/b/c", recursive_mkdir()).unwrap();
    assert_eq!(
        code_of(vm.fs.mkdir("/a/b", plain.clone())),
        code::ALREADY_EXISTS
    );
    assert_eq!(
        code_of(vm.fs.mkdir("/", plain.clone())),
        code::ALREADY_EXISTS
    );
    vm.fs.mkdir("/a/d", plain).unwrap();
    assert_eq!(vm.fs.readdir("/a").unwrap(), ["b", "d"]);
    vm.write("/f", "");
    assert_eq!(
        code_of(vm.fs.mkdir("/f/x", recursive_mkdir())),
        code::NOT_A_DIRECTORY
    );
}

#[test]
fn readdir_is_sorted_and_shows_mount_points() {
    let vm = Vm::new();
    vm.write("/b", "");
    vm.write("/a", "");
    vm.mkdir_p("/c");
    vm.fs
        .mount("/mnt/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
    assert_eq!(vm.fs.readdir("/").unwrap(), ["a", "b", "c", "mnt"]);
    assert_eq!(vm.fs.readdir("/mnt").unwrap(), ["mem"]);
    assert!(vm.fs.readdir("/mnt/mem").unwrap().is_empty());
    assert_eq!(code_of(vm.fs.readdir("/a")), code::NOT_A_DIRECTORY);
    assert_eq!(code_of(vm.fs.readdir("/zzz")), code::NOT_FOUND);
}

#[test]
fn mount_points_are_listed_even_if_their_directory_vanishes_on_the_host() {
    let vm = Vm::new();
    let host = vm.host_dir("host");
    vm.mount_host("/h", &host, false);
    vm.fs
        .mount("/h/inner", MountDriver::Memory, MountOptions::default())
        .unwrap();
    std::fs::remove_dir(host.join("inner")).unwrap();
    assert_eq!(vm.fs.readdir("/h").unwrap(), ["inner"]);
    vm.write("/h/inner/f", "still mounted");
    assert_eq!(vm.fs.readdir("/h/inner").unwrap(), ["f"]);
}

#[test]
fn readdir_recursive_order_depth_exclude_and_mounts() {
    let vm = Vm::new();
    vm.mkdir_p("/top/b/deep");
    vm.write("/top/b/deep/x", "12345");
    vm.write("/top/a", "1");
    vm.mkdir_p("/top/node_modules/pkg");
    vm.fs
        .mount("/top/m", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.write("/top/m/inside", "");
    symlink("b", vm.root().join("top/link")).unwrap();
    let list = |max_depth, exclude: &[&str]| -> Vec<(String, FileKind)> {
        let options = ReaddirRecursiveOptions {
            max_depth,
            exclude: Some(exclude.iter().map(|s| s.to_string()).collect()),
        };
        vm.fs
            .readdir_recursive("/top", options)
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.kind))
            .collect()
    };
    use FileKind::{Directory as D, File as F, Symlink as L};
    let all = list(None, &[]);
    let expect = [
        ("/top/a", F),
        ("/top/b", D),
        ("/top/b/deep", D),
        ("/top/b/deep/x", F),
        ("/top/link", L),
        ("/top/m", D),
        ("/top/m/inside", F),
        ("/top/node_modules", D),
        ("/top/node_modules/pkg", D),
    ];
    assert_eq!(
        all,
        expect.map(|(p, k)| (p.to_owned(), k)).to_vec(),
        "depth-first, sorted, into mounts, not through links"
    );
    let shallow: Vec<String> = list(Some(0), &[]).into_iter().map(|e| e.0).collect();
    assert_eq!(
        shallow,
        [
            "/top/a",
            "/top/b",
            "/top/link",
            "/top/m",
            "/top/node_modules"
        ]
    );
    let one: Vec<String> = list(Some(1), &["node_modules", "m"])
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(one, ["/top/a", "/top/b", "/top/b/deep", "/top/link"]);
    let sized = vm
        .fs
        .readdir_recursive("/top/b", ReaddirRecursiveOptions::default())
        .unwrap();
    assert_eq!(sized[1].size.get(), 5);
    assert_eq!(
        code_of(
            vm.fs
                .readdir_recursive("/top/a", ReaddirRecursiveOptions::default())
        ),
        code::NOT_A_DIRECTORY
    );
}

#[test]
fn stat_and_exists() {
    let vm = Vm::new();
    vm.write("/f", "abc");
    std::fs::set_permissions(vm.root().join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    symlink("f", vm.root().join("l")).unwrap();
    symlink("/etc", vm.root().join("abs")).unwrap();
    let stat = vm.fs.stat("/f").unwrap();
    assert_eq!(
        (stat.kind, stat.size.get(), stat.mode),
        (FileKind::File, 3, 0o640)
    );
    assert!(!stat.read_only);
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64
        - stat.modified_ms;
    // The file's time comes from the kernel's coarse clock and keeps its fraction of a
    // millisecond, `now` is truncated: it may read a little ahead.
    assert!((-1_000.0..60_000.0).contains(&age), "{age}");
    assert_eq!(vm.fs.stat("/l").unwrap().kind, FileKind::Symlink);
    assert_eq!(vm.fs.stat("/abs").unwrap().kind, FileKind::Symlink);
    assert_eq!(vm.fs.stat("/").unwrap().kind, FileKind::Directory);
    assert!(vm.fs.exists("/f").unwrap());
    assert!(vm.fs.exists("/l").unwrap());
    assert!(!vm.fs.exists("/missing").unwrap());
    assert!(!vm.fs.exists("/f/child").unwrap());
    assert_eq!(code_of(vm.fs.exists("/abs/passwd")), code::PATH_ESCAPE);
    assert_eq!(code_of(vm.fs.exists("/..")), code::PATH_ESCAPE);
    assert_eq!(code_of(vm.fs.exists("nope")), code::INVALID_INPUT);
}

#[test]
fn mount_unmount_and_list() {
    let vm = Vm::new();
    let host = vm.host_dir("host");
    let memory = || MountOptions::default();
    assert_eq!(
        code_of(vm.fs.mount("/", MountDriver::Memory, memory())),
        code::INVALID_INPUT
    );
    assert_eq!(
        code_of(vm.fs.mount("rel", MountDriver::Memory, memory())),
        code::INVALID_INPUT
    );
    let info = vm
        .fs
        .mount("/z/mem", MountDriver::Memory, memory())
        .unwrap();
    assert_eq!(info.path, "/z/mem");
    vm.mount_host("/a", &host, true);
    assert_eq!(
        code_of(vm.fs.mount("/a", MountDriver::Memory, memory())),
        code::ALREADY_EXISTS
    );
    assert_eq!(
        code_of(vm.fs.mount("/z/mem/", MountDriver::Memory, memory())),
        code::ALREADY_EXISTS
    );
    vm.write("/file", "");
    assert_eq!(
        code_of(vm.fs.mount("/file", MountDriver::Memory, memory())),
        code::NOT_A_DIRECTORY
    );
    let missing = MountDriver::HostDir {
        path: vm.tmp.path().join("missing").display().to_string(),
    };
    assert_eq!(
        code_of(vm.fs.mount("/new/point", missing, memory())),
        code::NOT_FOUND
    );
    assert!(
        !vm.fs.exists("/new").unwrap(),
        "a failed mount changes nothing"
    );
    let mounts = vm.fs.list_mounts();
    assert_eq!(
        mounts,
        [
            MountInfo {
                path: "/a".into(),
                driver: MountDriver::HostDir {
                    path: host.display().to_string()
                },
                read_only: true,
                restored: None,
            },
            MountInfo {
                path: "/z/mem".into(),
                driver: MountDriver::Memory,
                read_only: false,
                restored: None,
            },
        ]
    );
    assert!(
        vm.root().join("z/mem").is_dir(),
        "mount point created in its parent"
    );
    assert_eq!(code_of(vm.fs.unmount("/nothing")), code::NOT_FOUND);
    vm.fs.unmount("/a").unwrap();
    vm.fs.unmount("/z/mem").unwrap();
    assert!(vm.fs.list_mounts().is_empty());
    assert_eq!(vm.fs.readdir("/z").unwrap(), ["mem"], "the directory stays");
}

#[test]
fn nested_mounts_resolve_innermost_and_unmount_in_order() {
    let vm = Vm::new();
    vm.fs
        .mount("/outer", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.fs
        .mount("/outer/inner", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.write("/outer/inner/f", "inner");
    vm.write("/outer/g", "outer");
    assert_eq!(vm.fs.readdir("/outer").unwrap(), ["g", "inner"]);
    assert_eq!(code_of(vm.fs.unmount("/outer")), code::INVALID_INPUT);
    vm.fs.unmount("/outer/inner").unwrap();
    assert!(vm.fs.readdir("/outer/inner").unwrap().is_empty());
    vm.fs.unmount("/outer").unwrap();
}

/// Finds the host directory holding a memory mount by a marker file written through the VM.
fn memory_host_dir(parent: &Path, marker: &str) -> Option<PathBuf> {
    std::fs::read_dir(parent)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|dir| dir.join(marker).exists())
}

/// A handle dropped after a newer one opened the same directory (an evicted VM whose last
/// tasks end after it reopened) leaves the newer one's scratch alone.
#[test]
fn an_older_handle_dropped_late_keeps_the_newer_ones_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let older = Filesystem::open(&data).unwrap();
    let newer = Filesystem::open(&data).unwrap();
    drop(older);
    assert!(data.join("scratch/uploads").is_dir());
    drop(newer);
    assert!(!data.join("scratch").exists());
}

#[test]
fn memory_mount_lives_in_dev_shm_and_vanishes_on_unmount_and_drop() {
    let vm = Vm::new();
    vm.fs
        .mount("/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
    let marker = format!("marker-{:x}", rand::random::<u64>());
    vm.write(&format!("/mem/{marker}"), "ram");
    let shm = Path::new("/dev/shm");
    let host = memory_host_dir(shm, &marker)
        .or_else(|| memory_host_dir(&vm.tmp.path().join("data/scratch"), &marker))
        .expect("memory mount directory");
    let shm_usable = shm.is_dir()
        && std::fs::metadata(shm)
            .map(|m| !m.permissions().readonly())
            .unwrap_or(false);
    assert_eq!(host.starts_with(shm), shm_usable, "{}", host.display());
    assert!(!host.starts_with(vm.root()));
    vm.fs.unmount("/mem").unwrap();
    assert!(!host.exists());

    vm.fs
        .mount("/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
    assert!(
        vm.fs.readdir("/mem").unwrap().is_empty(),
        "a fresh directory each time"
    );
    vm.write(&format!("/mem/{marker}"), "ram");
    let host = memory_host_dir(shm, &marker)
        .or_else(|| memory_host_dir(&vm.tmp.path().join("data/scratch"), &marker))
        .unwrap();
    drop(vm);
    assert!(!host.exists());
}

#[test]
fn host_dir_reads_and_writes_the_host_and_refuses_every_escape() {
    let vm = Vm::new();
    let host = vm.host_dir("host");
    std::fs::write(vm.tmp.path().join("secret"), b"s").unwrap();
    std::fs::write(host.join("on-host"), b"h").unwrap();
    symlink("..", host.join("up")).unwrap();
    symlink("../secret", host.join("rel")).unwrap();
    symlink("/etc", host.join("abs")).unwrap();
    symlink("on-host", host.join("ok")).unwrap();
    vm.mount_host("/h", &host, false);
    assert_eq!(vm.read("/h/on-host"), "h");
    assert_eq!(vm.read("/h/ok"), "h");
    vm.write("/h/new", "n");
    assert_eq!(std::fs::read(host.join("new")).unwrap(), b"n");
    let text = || FileContent::Text("x".into());
    for (what, result) in [
        ("read ..", vm.fs.read_file("/h/up/secret").map(drop)),
        ("read relative link", vm.fs.read_file("/h/rel").map(drop)),
        (
            "read absolute link",
            vm.fs.read_file("/h/abs/hostname").map(drop),
        ),
        ("write via ..", vm.fs.write_file("/h/up/planted", text())),
        ("write via link", vm.fs.write_file("/h/rel", text())),
        ("stat via ..", vm.fs.stat("/h/up/secret").map(drop)),
        ("readdir ..", vm.fs.readdir("/h/up").map(drop)),
        ("readdir abs", vm.fs.readdir("/h/abs").map(drop)),
        ("mkdir", vm.fs.mkdir("/h/up/d", recursive_mkdir())),
        (
            "delete",
            vm.fs.delete("/h/up/secret", DeleteOptions::default()),
        ),
        ("move out", vm.fs.rename("/h/up/secret", "/stolen")),
        ("exists", vm.fs.exists("/h/abs/passwd").map(drop)),
    ] {
        assert_eq!(code_of(result), code::PATH_ESCAPE, "{what}");
    }
    assert_eq!(
        code_of(vm.fs.read_file("/h/../../secret")),
        code::PATH_ESCAPE
    );
    assert_eq!(
        vm.read("/h/../h/on-host"),
        "h",
        "lexical `..` inside the VM is fine"
    );
    assert!(!vm.tmp.path().join("planted").exists());
    assert_eq!(std::fs::read(vm.tmp.path().join("secret")).unwrap(), b"s");
    assert_eq!(vm.fs.stat("/h/up").unwrap().kind, FileKind::Symlink);
    vm.fs.delete("/h/up", DeleteOptions::default()).unwrap();
    assert!(
        vm.tmp.path().join("secret").exists(),
        "unlinking a link leaves its target"
    );
}

#[test]
fn overlay_merges_and_never_touches_lower() {
    let vm = Vm::new();
    let lower = vm.host_dir("lower");
    std::fs::create_dir(lower.join("dir")).unwrap();
    std::fs::write(lower.join("dir/base.txt"), b"base").unwrap();
    std::fs::write(lower.join("gone.txt"), b"g").unwrap();
    let driver = MountDriver::Overlay {
        lower: lower.display().to_string(),
    };
    vm.fs.mount("/o", driver, MountOptions::default()).unwrap();
    vm.write("/o/dir/base.txt", "changed");
    vm.write("/o/dir/added.txt", "added");
    vm.fs
        .delete("/o/gone.txt", DeleteOptions::default())
        .unwrap();
    assert_eq!(vm.fs.readdir("/o").unwrap(), ["dir"]);
    assert_eq!(vm.fs.readdir("/o/dir").unwrap(), ["added.txt", "base.txt"]);
    assert_eq!(vm.read("/o/dir/base.txt"), "changed");
    assert!(!vm.fs.exists("/o/gone.txt").unwrap());
    assert_eq!(std::fs::read(lower.join("dir/base.txt")).unwrap(), b"base");
    assert!(lower.join("gone.txt").exists());
    assert!(!lower.join("dir/added.txt").exists());
    let scratch = vm.tmp.path().join("data/scratch");
    let upper_count = || {
        std::fs::read_dir(&scratch)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("overlay")
            })
            .count()
    };
    assert_eq!(upper_count(), 1, "the upper layer lives in scratch");
    vm.fs.unmount("/o").unwrap();
    assert_eq!(upper_count(), 0);
}

#[test]
fn read_only_mounts_reject_every_write() {
    let vm = Vm::new();
    let host = vm.host_dir("ro");
    std::fs::create_dir(host.join("sub")).unwrap();
    std::fs::write(host.join("file"), b"f").unwrap();
    let before = std::fs::read_dir(&host).unwrap().count();
    vm.mount_host("/ro", &host, true);
    vm.fs
        .mount(
            "/ro-mem",
            MountDriver::Memory,
            MountOptions {
                read_only: Some(true),
            },
        )
        .unwrap();
    vm.write("/rw", "w");
    let text = || FileContent::Text("x".into());
    for (what, result) in [
        ("write", vm.fs.write_file("/ro/new", text())),
        ("overwrite", vm.fs.write_file("/ro/file", text())),
        ("memory write", vm.fs.write_file("/ro-mem/new", text())),
        ("mkdir", vm.fs.mkdir("/ro/d", MkdirOptions::default())),
        ("mkdir -p", vm.fs.mkdir("/ro/sub", recursive_mkdir())),
        ("delete", vm.fs.delete("/ro/file", DeleteOptions::default())),
        ("delete -r", vm.fs.delete("/ro/sub", recursive_delete())),
        ("move within", vm.fs.rename("/ro/file", "/ro/moved")),
        ("move out", vm.fs.rename("/ro/file", "/taken")),
        ("move in", vm.fs.rename("/rw", "/ro/rw")),
        (
            "nested mount point",
            vm.fs
                .mount("/ro/newpoint", MountDriver::Memory, MountOptions::default())
                .map(drop),
        ),
    ] {
        assert_eq!(code_of(result), code::READ_ONLY, "{what}");
    }
    let batch = vm.fs.write_files(vec![WriteFileEntry {
        path: "/ro/batch".into(),
        content: text(),
    }]);
    assert_eq!(batch[0].error.as_ref().unwrap().code, code::READ_ONLY);
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), before);
    assert_eq!(vm.read("/ro/file"), "f", "reads still work");
    assert!(vm.fs.stat("/ro/file").unwrap().read_only);
    assert!(vm.fs.exists("/rw").unwrap());
    vm.fs
        .mount("/ro/sub", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.write("/ro/sub/ok", "a writable mount inside a read-only one");
}

#[test]
fn rename_within_and_across_mounts() {
    let vm = Vm::new();
    let host = vm.host_dir("host");
    vm.mount_host("/h", &host, false);
    vm.fs
        .mount("/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.write("/a", "a");
    vm.fs.rename("/a", "/b").unwrap();
    assert_eq!(vm.read("/b"), "a");
    assert!(!vm.fs.exists("/a").unwrap());

    vm.mkdir_p("/tree/sub");
    vm.write("/tree/sub/f", "deep");
    std::fs::set_permissions(
        vm.root().join("tree/sub/f"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    symlink("sub/f", vm.root().join("tree/link")).unwrap();
    vm.fs.rename("/tree", "/h/tree").unwrap();
    assert!(!vm.fs.exists("/tree").unwrap());
    assert_eq!(std::fs::read(host.join("tree/sub/f")).unwrap(), b"deep");
    assert_eq!(vm.fs.stat("/h/tree/sub/f").unwrap().mode, 0o600);
    assert_eq!(vm.read("/h/tree/link"), "deep");
    vm.fs.rename("/h/tree/sub/f", "/mem/f").unwrap();
    assert_eq!(vm.read("/mem/f"), "deep");
    vm.write("/mem/g", "old");
    vm.fs.rename("/b", "/mem/g").unwrap();
    assert_eq!(vm.read("/mem/g"), "a", "a file replaces a file");
    vm.mkdir_p("/mem/full/x");
    vm.mkdir_p("/d");
    assert_eq!(
        code_of(vm.fs.rename("/d", "/mem/full")),
        code::DIRECTORY_NOT_EMPTY
    );
    assert_eq!(code_of(vm.fs.rename("/mem/g", "/d")), code::IS_A_DIRECTORY);
    let missing = vm.fs.rename("/missing", "/x").unwrap_err();
    assert_eq!(missing.code, code::NOT_FOUND);
    assert_eq!(
        missing.metadata.as_deref(),
        Some(&serde_json::json!({ "path": "/missing", "to": "/x" }))
    );
    assert_eq!(
        code_of(vm.fs.rename("/mem", "/elsewhere")),
        code::INVALID_INPUT
    );
    assert_eq!(code_of(vm.fs.rename("/d", "/mem")), code::INVALID_INPUT);
    assert_eq!(code_of(vm.fs.rename("/", "/x")), code::INVALID_INPUT);
    vm.mkdir_p("/holder");
    vm.fs
        .mount("/holder/m", MountDriver::Memory, MountOptions::default())
        .unwrap();
    assert_eq!(
        code_of(vm.fs.rename("/holder", "/moved")),
        code::INVALID_INPUT
    );
}

#[test]
fn delete_files_dirs_and_refuse_mount_points() {
    let vm = Vm::new();
    vm.mkdir_p("/d/e");
    vm.write("/d/e/f", "");
    vm.write("/file", "");
    assert_eq!(
        code_of(vm.fs.delete("/d", DeleteOptions::default())),
        code::DIRECTORY_NOT_EMPTY
    );
    vm.fs.delete("/d", recursive_delete()).unwrap();
    assert!(!vm.fs.exists("/d").unwrap());
    vm.fs.delete("/file", DeleteOptions::default()).unwrap();
    vm.mkdir_p("/empty");
    vm.fs.delete("/empty", DeleteOptions::default()).unwrap();
    assert_eq!(
        code_of(vm.fs.delete("/missing", DeleteOptions::default())),
        code::NOT_FOUND
    );
    vm.fs
        .mount("/p/m", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.write("/p/m/x", "");
    assert_eq!(
        code_of(vm.fs.delete("/p/m", recursive_delete())),
        code::INVALID_INPUT
    );
    assert_eq!(
        code_of(vm.fs.delete("/", recursive_delete())),
        code::INVALID_INPUT
    );
    assert_eq!(
        code_of(vm.fs.delete("/p", recursive_delete())),
        code::INVALID_INPUT
    );
    assert_eq!(
        code_of(vm.fs.delete("/p", DeleteOptions::default())),
        code::DIRECTORY_NOT_EMPTY
    );
    vm.fs.delete("/p/m/x", DeleteOptions::default()).unwrap();
    assert!(vm.fs.readdir("/p/m").unwrap().is_empty());
}

#[test]
fn concurrent_operations_across_threads() {
    let vm = Vm::new();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let fs = &vm.fs;
            scope.spawn(move || {
                let point = format!("/t{t}");
                fs.mount(&point, MountDriver::Memory, MountOptions::default())
                    .unwrap();
                for i in 0..20 {
                    let path = format!("{point}/{i}");
                    fs.write_file(&path, FileContent::Text(path.clone()))
                        .unwrap();
                    assert_eq!(fs.read_file(&path).unwrap().0, path.as_bytes());
                }
                fs.unmount(&point).unwrap();
            });
        }
    });
    assert!(vm.fs.list_mounts().is_empty());
}

/// Runs `call` on a thread of its own and waits for it at most 10 s, so that a call that
/// blocks fails the test instead of hanging it; on a timeout, `release` is called first (to
/// let the stuck thread go).
fn promptly<T: Send + 'static>(
    what: &str,
    call: impl FnOnce() -> T + Send + 'static,
    release: impl FnOnce(),
) -> T {
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    match result.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(value) => value,
        Err(_) => {
            release();
            panic!("{what} blocked");
        }
    }
}

/// Opens the FIFO at `host` both ways without waiting, and closes it: whatever waits on it,
/// to read or to write, goes on.
fn release_fifo(host: &std::path::Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(host);
}

fn mkfifo(host: &std::path::Path) {
    let path = std::ffi::CString::new(host.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
}

/// Asserts that reading and writing `path` is refused at once, as a `kind`, not a regular file.
fn assert_refused_promptly(vm: &Arc<Vm>, path: &'static str, kind: &str, host: &Path) {
    let expect = |what: &str, err: ActorError| {
        assert_eq!(err.code, code::INVALID_INPUT, "{what}: {err}");
        assert_eq!(
            err.message,
            format!("`{path}` is a {kind}, not a regular file"),
            "{what}"
        );
        assert_eq!(
            err.metadata.as_deref(),
            Some(&serde_json::json!({ "path": path, "kind": kind })),
            "{what}"
        );
    };
    // Twice: the first attempt must not leave anything behind that the second waits on.
    for _ in 0..2 {
        let fs = vm.clone();
        let read = promptly(
            "readFile",
            move || fs.fs.read_file(path),
            || release_fifo(host),
        );
        expect("readFile", read.unwrap_err());
    }
    let fs = vm.clone();
    let write = promptly(
        "writeFile",
        move || fs.fs.write_file(path, FileContent::Text("x".into())),
        || release_fifo(host),
    );
    expect("writeFile", write.unwrap_err());
    let fs = vm.clone();
    let batch = promptly(
        "readFiles",
        move || fs.fs.read_files(vec![path.into()]),
        || release_fifo(host),
    );
    expect("readFiles", batch[0].error.clone().unwrap());
    // Left as it was: not replaced by a regular file.
    assert!(!std::fs::symlink_metadata(host).unwrap().is_file());
}

#[test]
fn fifos_sockets_and_devices_are_refused_without_waiting() {
    let vm = Arc::new(Vm::new());
    let root = vm.root();
    mkfifo(&root.join("f"));
    symlink("f", root.join("to-fifo")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
    assert_refused_promptly(&vm, "/f", "FIFO", &root.join("f"));
    assert_refused_promptly(&vm, "/to-fifo", "FIFO", &root.join("f"));
    assert_refused_promptly(&vm, "/sock", "socket", &root.join("sock"));
    // A device node can only be made with CAP_MKNOD: tried when the test has it.
    let null = std::ffi::CString::new(root.join("null").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `null` is a NUL-terminated string that outlives the call.
    if unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0 {
        assert_refused_promptly(&vm, "/null", "character device", &root.join("null"));
    }
    // An overlay resolves and opens its layers itself; a FIFO in the lower layer is refused
    // too, not shadowed by a new file in the upper one.
    let lower = vm.host_dir("lower");
    mkfifo(&lower.join("f"));
    let driver = MountDriver::Overlay {
        lower: lower.display().to_string(),
    };
    vm.fs.mount("/o", driver, MountOptions::default()).unwrap();
    assert_refused_promptly(&vm, "/o/f", "FIFO", &lower.join("f"));
    // Regular files and directories are as before.
    vm.write("/regular", "fine");
    assert_eq!(vm.read("/regular"), "fine");
    assert_eq!(code_of(vm.fs.read_file("/")), code::IS_A_DIRECTORY);
}

/// The process's peak resident memory, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
fn a_file_over_the_limit_is_limit_exceeded_without_being_read() {
    const MIB: u64 = 1 << 20;
    let vm = Arc::new(Vm::new());
    let big = std::fs::File::create(vm.root().join("big")).unwrap();
    big.set_len(1 << 30).unwrap(); // 1 GiB, sparse
    let before = peak_rss();
    let fs = vm.clone();
    let err = promptly(
        "reading a 1 GiB file",
        move || fs.fs.read_file_within("/big", MIB).unwrap_err(),
        || {},
    );
    // Told from its size: nothing near the file's size was ever held.
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 64 * MIB, "reading used {grown} bytes");
    assert_eq!(err.code, code::LIMIT_EXCEEDED, "{err}");
    assert_eq!(
        err.message,
        format!(
            "/big is {} bytes, more than the {MIB} bytes a read may return",
            1u64 << 30
        )
    );
    assert_eq!(
        err.metadata.as_deref(),
        Some(&serde_json::json!({ "path": "/big", "limit": MIB }))
    );
    let fs = vm.clone();
    let batch = promptly(
        "reading a 1 GiB file in a batch",
        move || fs.fs.read_files_within(vec!["/big".into()], MIB),
        || {},
    );
    assert_eq!(batch[0].error.as_ref().unwrap().code, code::LIMIT_EXCEEDED);
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 64 * MIB, "reading a batch used {grown} bytes");

    // Up to the limit exactly; a batch's entries share it.
    vm.write("/ten", "0123456789");
    assert_eq!(vm.fs.read_file_within("/ten", 10).unwrap().0, b"0123456789");
    assert_eq!(
        code_of(vm.fs.read_file_within("/ten", 9)),
        code::LIMIT_EXCEEDED
    );
    let batch = vm
        .fs
        .read_files_within(vec!["/ten".into(), "/ten".into()], 15);
    assert_eq!(batch[0].content.as_ref().unwrap().0, b"0123456789");
    assert_eq!(batch[1].error.as_ref().unwrap().code, code::LIMIT_EXCEEDED);
}
