//! Restoring a VM's root filesystem from untrusted tar bytes, and what must hold afterwards.
//!
//! The first input byte picks how the rest becomes an archive: as is; as is with every header
//! checksum it walks over fixed (so mutations get past the checksum); or built entry by entry
//! from the bytes (paths with `..`, `/`, mount points, links, long names, pax records, odd
//! entry types and sizes). Then the archive is restored into a fresh VM filesystem with memory
//! mounts (one of them read-only), and the harness asserts: no panic, nothing appears or
//! changes outside the VM's data directory, the read-only mount stays empty, the data
//! directory keeps its layout, and no symlink in the VM's tree points above its root.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use agentos_core::runtime::Bytes;
use agentos_core::vm::fs::{
    FileContent, Filesystem, MkdirOptions, MountDriver, MountOptions, SnapshotSource,
};
use libfuzzer_sys::arbitrary::Unstructured;

const BLOCK: usize = 512;

/// Turns a fuzz input into archive bytes (see the module docs).
pub fn archive_from(data: &[u8]) -> Vec<u8> {
    let (selector, rest) = crate::split(data);
    match selector % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut bytes = rest.to_vec();
            fix_checksums(&mut bytes);
            bytes
        }
        _ => build_archive(&mut Unstructured::new(rest)),
    }
}

/// Walks headers the way a reader does (header, data rounded up to blocks, next header) and
/// sets each one's checksum.
pub fn fix_checksums(bytes: &mut [u8]) {
    let mut offset = 0usize;
    while offset + BLOCK <= bytes.len() {
        let block = &mut bytes[offset..offset + BLOCK];
        if block.iter().all(|b| *b == 0) {
            offset += BLOCK;
            continue;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|b| u32::from(*b)).sum();
        let octal = format!("{sum:06o}\0 ");
        block[148..156].copy_from_slice(&octal.as_bytes()[..8]);
        let size = tar::Header::from_byte_slice(block)
            .entry_size()
            .unwrap_or(0);
        let Some(next) = usize::try_from(size)
            .ok()
            .and_then(|s| s.checked_next_multiple_of(BLOCK))
            .and_then(|s| offset.checked_add(BLOCK)?.checked_add(s))
        else {
            return;
        };
        offset = next;
    }
}

/// Path components the builder favours: the mounts' names, climbing, empty and dot parts.
const PARTS: &[&str] = &[
    "a", "b", "mnt", "mem", "ro", "inner", "before", "dir", ".", "..", "", "x y", "é",
];

/// Entry types: regular (old and new), directory, symlink, hard link, char, block, fifo,
/// contiguous, pax local and global, GNU long name and long link, sparse, volume, multivolume.
const TYPES: &[u8] = b"0\x005123467xgLKSVMN";

fn component(u: &mut Unstructured) -> String {
    let pick = u.int_in_range(0..=PARTS.len()).unwrap_or(0);
    match PARTS.get(pick) {
        Some(part) => (*part).to_owned(),
        None => u
            .arbitrary::<&str>()
            .unwrap_or("z")
            .chars()
            .take(40)
            .collect(),
    }
}

fn path(u: &mut Unstructured, max_parts: usize) -> String {
    let mut out = match u.int_in_range(0u8..=7).unwrap_or(0) {
        0 => "/".to_owned(),
        1 => "./".to_owned(),
        2 => "../".to_owned(),
        _ => String::new(),
    };
    let n = u.int_in_range(0..=max_parts).unwrap_or(1);
    for i in 0..n {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&component(u));
    }
    if u.ratio(1, 8).unwrap_or(false) {
        out.push('/');
    }
    out
}

fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len.to_string().len() + body.len() != len {
        len = len.to_string().len() + body.len();
    }
    format!("{len}{body}").into_bytes()
}

fn push_entry(
    out: &mut Vec<u8>,
    kind: u8,
    name: &[u8],
    link: &[u8],
    mode: u32,
    size: u64,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    {
        let old = header.as_old_mut();
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
        let n = link.len().min(100);
        old.linkname[..n].copy_from_slice(&link[..n]);
    }
    header.set_entry_type(tar::EntryType::new(kind));
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
}

/// An archive built entry by entry from `u`.
pub fn build_archive(u: &mut Unstructured) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..16 {
        if u.is_empty() {
            break;
        }
        let kind = *u.choose(TYPES).unwrap_or(&b'0');
        let name = path(u, 5);
        let link = match kind {
            b'1' | b'2' => path(u, 6),
            _ => String::new(),
        };
        let mode = u.arbitrary::<u32>().unwrap_or(0o644) & 0o7777;
        let data: Vec<u8> = match u.int_in_range(0u8..=3).unwrap_or(0) {
            0 => Vec::new(),
            _ => {
                let len = u.int_in_range(0usize..=96).unwrap_or(0);
                u.bytes(len).unwrap_or(&[]).to_vec()
            }
        };
        // Long names through GNU records or pax, or truncated in the header.
        match u.int_in_range(0u8..=5).unwrap_or(0) {
            0 => {
                let mut long = name.clone().into_bytes();
                long.push(0);
                push_entry(
                    &mut out,
                    b'L',
                    b"././@LongLink",
                    b"",
                    0o644,
                    long.len() as u64,
                    &long,
                );
                if !link.is_empty() {
                    let mut long = link.clone().into_bytes();
                    long.push(0);
                    push_entry(
                        &mut out,
                        b'K',
                        b"././@LongLink",
                        b"",
                        0o644,
                        long.len() as u64,
                        &long,
                    );
                }
            }
            1 => {
                let mut records = pax_record("path", &name);
                if !link.is_empty() {
                    records.extend(pax_record("linkpath", &link));
                }
                if u.ratio(1, 4).unwrap_or(false) {
                    let size = u.int_in_range(0u64..=1 << 20).unwrap_or(0);
                    records.extend(pax_record("size", &size.to_string()));
                }
                push_entry(
                    &mut out,
                    b'x',
                    b"PaxHeaders/x",
                    b"",
                    0o644,
                    records.len() as u64,
                    &records,
                );
            }
            _ => {}
        }
        // Usually the true size; sometimes one that claims more (or less) than follows.
        let size = if u.ratio(1, 8).unwrap_or(false) {
            u.arbitrary::<u64>().unwrap_or(0) % (1 << 33)
        } else {
            data.len() as u64
        };
        push_entry(
            &mut out,
            kind,
            name.as_bytes(),
            link.as_bytes(),
            mode,
            size,
            &data,
        );
    }
    if !u.ratio(1, 8).unwrap_or(false) {
        out.extend_from_slice(&[0; 2 * BLOCK]);
    }
    out
}

fn scratch_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every symlink below `host_dir`, which shows the VM directory `vm_dir`, must resolve
/// (lexically, from its VM location) without climbing above the VM's `/`; `skip` are host
/// paths not to descend into (mount points, whose contents another mount shows).
fn check_links(host_dir: &Path, vm_dir: &[String], skip: &BTreeSet<PathBuf>) {
    let Ok(entries) = fs::read_dir(host_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let mut here = vm_dir.to_vec();
        here.push(name);
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap();
            let mut resolved = vm_dir.to_vec();
            for part in target.components() {
                match part {
                    Component::Normal(p) => resolved.push(p.to_string_lossy().into_owned()),
                    Component::CurDir => {}
                    Component::ParentDir => {
                        assert!(
                            resolved.pop().is_some(),
                            "symlink /{} -> {} climbs above the VM's root",
                            here.join("/"),
                            target.display()
                        );
                    }
                    Component::RootDir | Component::Prefix(_) => panic!(
                        "symlink /{} -> {} is absolute on the host",
                        here.join("/"),
                        target.display()
                    ),
                }
            }
        } else if meta.is_dir() {
            check_links(&path, &here, skip);
        }
    }
}

/// Makes every directory below `dir` writable again, so the temporary tree can be removed
/// even when the process does not run as root.
fn unlock(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                unlock(&entry.path());
            }
        }
    }
}

/// Restores `archive` into a fresh VM filesystem and checks the invariants.
pub fn restore(archive: Vec<u8>) {
    let tmp = tempfile::Builder::new()
        .prefix("agentos-fuzz-restore-")
        .tempdir_in(scratch_base())
        .expect("temporary directory");
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep"), b"keep").unwrap();
    let data_dir = tmp.path().join("vm");

    let vm = Filesystem::open(&data_dir).expect("open a fresh VM filesystem");
    vm.write_file("/before", FileContent::Text("before".into()))
        .unwrap();
    vm.mkdir("/dir", MkdirOptions::default()).unwrap();
    vm.mount("/mnt/mem", MountDriver::Memory, MountOptions::default())
        .unwrap();
    vm.mount(
        "/mnt/mem/inner",
        MountDriver::Memory,
        MountOptions::default(),
    )
    .unwrap();
    let read_only = MountOptions {
        read_only: Some(true),
    };
    vm.mount("/mnt/ro", MountDriver::Memory, read_only).unwrap();
    let layout = names(&data_dir);

    let _ = vm.restore(SnapshotSource::Bytes(Bytes(archive)));

    assert_eq!(
        names(tmp.path()),
        BTreeSet::from(["outside".to_owned(), "vm".to_owned()]),
        "the restore created something next to the VM's data directory"
    );
    assert_eq!(names(&outside), BTreeSet::from(["keep".to_owned()]));
    assert_eq!(fs::read(outside.join("keep")).unwrap(), b"keep");
    assert_eq!(
        names(&data_dir),
        layout,
        "the data directory's layout changed"
    );

    let view = vm.host_view().expect("host view");
    let skip: BTreeSet<PathBuf> = view
        .mounts
        .iter()
        .map(|m| view.root.join(m.vm_path.trim_start_matches('/')))
        .collect();
    check_links(&view.root, &[], &skip);
    for mount in &view.mounts {
        let vm_dir: Vec<String> = mount
            .vm_path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let inner: BTreeSet<PathBuf> = view
            .mounts
            .iter()
            .filter_map(|m| m.vm_path.strip_prefix(&format!("{}/", mount.vm_path)))
            .map(|rel| mount.host_dir.join(rel))
            .collect();
        check_links(&mount.host_dir, &vm_dir, &inner);
        if mount.read_only {
            assert!(
                names(&mount.host_dir).is_empty(),
                "the restore wrote into the read-only mount at {}",
                mount.vm_path
            );
        }
    }

    drop(vm);
    unlock(tmp.path());
}
