//! Which host directories `hostDir` mounts and overlay lowers may use: only those below a
//! directory the host allows, never its data directory or anything containing it, symlinks
//! resolved first, and read-only directories only for read-only mounts.

use super::test_vm::Vm;
use super::*;
use crate::error::code;
use std::os::unix::fs::symlink;

fn host_dir(path: &Path) -> MountDriver {
    MountDriver::HostDir {
        path: path.display().to_string(),
    }
}

fn overlay(lower: &Path) -> MountDriver {
    MountDriver::Overlay {
        lower: lower.display().to_string(),
    }
}

fn options(read_only: bool) -> MountOptions {
    MountOptions {
        read_only: Some(read_only),
    }
}

/// The refusal a mount gets: `invalid_input`, naming the path, and nothing mounted.
fn refused(vm: &Vm, driver: MountDriver, read_only: bool) -> String {
    let shown = match &driver {
        MountDriver::HostDir { path } => path.clone(),
        MountDriver::Overlay { lower } => lower.clone(),
        MountDriver::Memory => unreachable!(),
    };
    let err = vm
        .fs
        .mount("/mnt/x", driver, options(read_only))
        .unwrap_err();
    assert_eq!(err.code, code::INVALID_INPUT, "{err:?}");
    assert!(
        err.message.contains(&format!("`{shown}`")),
        "{}",
        err.message
    );
    assert!(vm.fs.list_mounts().is_empty());
    assert!(
        !vm.fs.exists("/mnt").unwrap(),
        "a refused mount changes nothing"
    );
    err.message
}

#[test]
fn a_filesystem_opened_without_a_policy_mounts_no_host_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = Filesystem::open(&tmp.path().join("data")).unwrap();
    let vm = Vm { tmp, fs };
    let dir = vm.host_dir("shared");
    let message = refused(&vm, host_dir(&dir), true);
    assert!(message.contains("--allow-host-path"), "{message}");
    refused(&vm, overlay(&dir), false);
    // Memory mounts need no host directory.
    vm.fs
        .mount("/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
}

#[test]
fn host_paths_outside_the_allowed_directories_are_refused() {
    let vm = Vm::new();
    for path in ["/", "/etc", "/root", "/no/such/dir"] {
        refused(&vm, host_dir(Path::new(path)), true);
        refused(&vm, overlay(Path::new(path)), false);
    }
    let message = refused(&vm, host_dir(Path::new("/etc")), true);
    assert!(
        message.contains("--allow-host-path DIR"),
        "names the flag: {message}"
    );
    // `..` resolves before the check.
    let climb = vm.tmp.path().join("shared/../../../etc");
    vm.host_dir("shared");
    refused(&vm, host_dir(&climb), true);
}

#[test]
fn the_data_directory_and_what_contains_it_are_refused_even_when_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut host_paths = HostPathPolicy::default();
    host_paths.allow(Path::new("/"), false).unwrap();
    let fs = Filesystem::open_as(&data, None, host_paths).unwrap();
    let vm = Vm { tmp, fs };
    vm.write("/inside", "the VM's own file");
    for path in [
        PathBuf::from("/"),
        vm.tmp.path().to_owned(),
        data.clone(),
        data.join("root"),
        data.join("scratch"),
    ] {
        let message = refused(&vm, host_dir(&path), true);
        assert!(message.contains("data directory"), "{message}");
        refused(&vm, overlay(&path), false);
    }
    // Through a symlink, too.
    symlink(&data, vm.tmp.path().join("to-data")).unwrap();
    refused(&vm, host_dir(&vm.tmp.path().join("to-data")), true);
    // Beside it is fine: `/` is allowed.
    let beside = vm.host_dir("beside");
    std::fs::write(beside.join("f"), b"beside").unwrap();
    vm.mount_host("/mnt/beside", &beside, false);
    assert_eq!(vm.read("/mnt/beside/f"), "beside");
}

#[test]
fn host_paths_inside_an_allowed_directory_mount_as_before() {
    let vm = Vm::new();
    let shared = vm.host_dir("shared");
    std::fs::write(shared.join("ok.txt"), b"fine").unwrap();
    vm.mount_host("/mnt/shared", &shared, false);
    assert_eq!(vm.read("/mnt/shared/ok.txt"), "fine");
    vm.write("/mnt/shared/new.txt", "written");
    assert_eq!(std::fs::read(shared.join("new.txt")).unwrap(), b"written");
    let info = &vm.fs.list_mounts()[0];
    assert_eq!(info.driver, host_dir(&shared), "listed as requested");
    vm.fs
        .mount("/mnt/over", overlay(&shared), MountOptions::default())
        .unwrap();
    assert_eq!(vm.read("/mnt/over/ok.txt"), "fine");
    // A missing directory in an allowed one is reported as missing.
    let err = vm
        .fs
        .mount("/mnt/gone", host_dir(&shared.join("gone")), options(false))
        .unwrap_err();
    assert_eq!(err.code, code::NOT_FOUND);
}

#[test]
fn a_symlink_in_an_allowed_directory_cannot_lead_out_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let allowed = tmp.path().join("allowed");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(allowed.join("real")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"top secret").unwrap();
    symlink(&outside, allowed.join("abs")).unwrap();
    symlink("../outside", allowed.join("rel")).unwrap();
    symlink("/etc", allowed.join("etc")).unwrap();
    symlink("real", allowed.join("inner")).unwrap();
    let mut host_paths = HostPathPolicy::default();
    host_paths.allow(&allowed, false).unwrap();
    let fs = Filesystem::open_as(&tmp.path().join("data"), None, host_paths).unwrap();
    let vm = Vm { tmp, fs };
    for link in ["abs", "rel", "etc"] {
        let message = refused(&vm, host_dir(&allowed.join(link)), true);
        assert!(message.contains("resolved: "), "{message}");
        refused(&vm, overlay(&allowed.join(link)), false);
    }
    // A link that stays inside is followed, and the mount is of its target.
    vm.mount_host("/mnt/inner", &allowed.join("inner"), false);
    let view = vm.fs.host_view().unwrap();
    assert_eq!(
        view.mounts[0].host_dir,
        std::fs::canonicalize(allowed.join("real")).unwrap()
    );
}

#[test]
fn a_read_only_allowed_directory_takes_only_read_only_mounts() {
    let tmp = tempfile::tempdir().unwrap();
    let ro = tmp.path().join("ro");
    std::fs::create_dir_all(ro.join("sub")).unwrap();
    std::fs::write(ro.join("sub/f"), b"read me").unwrap();
    let mut host_paths = HostPathPolicy::default();
    host_paths.allow(&ro, true).unwrap();
    let fs = Filesystem::open_as(&tmp.path().join("data"), None, host_paths).unwrap();
    let vm = Vm { tmp, fs };
    for path in [ro.clone(), ro.join("sub")] {
        let message = refused(&vm, host_dir(&path), false);
        assert!(message.contains("--allow-host-path-ro"), "{message}");
    }
    vm.mount_host("/mnt/ro", &ro, true);
    assert_eq!(vm.read("/mnt/ro/sub/f"), "read me");
    let write = vm
        .fs
        .write_file("/mnt/ro/sub/f", FileContent::Text("no".into()));
    assert_eq!(write.unwrap_err().code, code::READ_ONLY);
    // An overlay never writes its lower: its writes go to its own upper layer.
    vm.fs
        .mount("/mnt/over", overlay(&ro), MountOptions::default())
        .unwrap();
    vm.write("/mnt/over/sub/f", "changed above");
    assert_eq!(std::fs::read(ro.join("sub/f")).unwrap(), b"read me");
}

#[test]
fn the_vm_directory_is_traverse_only_for_others() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("vm");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _fs = Filesystem::open(&data).unwrap();
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o711);
}
