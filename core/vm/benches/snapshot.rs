//! Snapshot export vs. GNU tar on the same tree: a VM root of 2,000 files of 100 KiB (195 MiB),
//! archived by `snapshotRootFilesystem` through the generated dispatcher with every chunk event
//! encoded as the embedded host would send it (CBOR), and by `tar -cf - -C ROOT .` piped into
//! this process (tar skips reading files when it writes to `/dev/null`, so it must be piped).
//! Interleaved runs, medians; prints one table with the throughput ratio.
//!
//! Run: `cargo bench -p agentos-core --bench snapshot` (needs GNU tar).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentos_core::runtime::{Encoding, EventSink, Surface, Value};

const FILES: usize = 2_000;
const FILE_BYTES: usize = 100 * 1024;
const ROUNDS: usize = 7;

/// Encodes every event as the embedded host would put it on the wire, and counts the bytes.
#[derive(Default)]
struct Wire(AtomicU64);

impl EventSink for Wire {
    fn emit(&self, _: &str, payload: Value) {
        let bytes = Encoding::Cbor.encode(&payload).expect("event encodes");
        self.0.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

fn tar_bytes(root: &std::path::Path) -> u64 {
    let mut child = Command::new("tar")
        .args(["-cf", "-", "-C"])
        .arg(root)
        .arg(".")
        .stdout(Stdio::piped())
        .spawn()
        .expect("GNU tar runs");
    let mut out = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        match out.read(&mut buf).expect("tar's output reads") {
            0 => break,
            n => total += n as u64,
        }
    }
    assert!(child.wait().expect("tar ends").success());
    total
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (dir, os) = common::vm(&rt);
    let root = dir.path().join("root");
    let content: Vec<u8> = (0..FILE_BYTES).map(|i| (i * 7 % 251) as u8).collect();
    for i in 0..FILES {
        let sub = root.join(format!("d{:02}", i % 40));
        std::fs::create_dir_all(&sub).expect("directory");
        std::fs::write(sub.join(format!("f{i:04}.bin")), &content).expect("file");
    }
    let tree = (FILES * FILE_BYTES) as f64 / (1 << 20) as f64;

    let (mut ours, mut tars) = (Vec::new(), Vec::new());
    let mut archive_bytes = (0, 0);
    for round in 0..ROUNDS {
        let snapshot = || {
            let wire = Arc::new(Wire::default());
            let ctx = common::ctx(wire.clone());
            let start = Instant::now();
            rt.block_on(os.dispatch("snapshotRootFilesystem", Vec::new(), &ctx))
                .expect("snapshot");
            (start.elapsed(), wire.0.load(Ordering::Relaxed))
        };
        let tar = || {
            let start = Instant::now();
            let bytes = tar_bytes(&root);
            (start.elapsed(), bytes)
        };
        // Alternate which goes first, so neither always runs on a warmer cache.
        let ((a, wire), (b, tarred)) = if round % 2 == 0 {
            let s = snapshot();
            (s, tar())
        } else {
            let t = tar();
            (snapshot(), t)
        };
        ours.push(a);
        tars.push(b);
        archive_bytes = (wire, tarred);
    }
    let (ours, tar) = (median(ours), median(tars));
    let mib_s = |d: Duration| tree / d.as_secs_f64();
    println!("tree: {FILES} files, {tree:.0} MiB; {ROUNDS} interleaved rounds, medians");
    println!("| export | time | MiB/s | bytes out |");
    println!("|---|---|---|---|");
    println!(
        "| snapshotRootFilesystem, chunk events encoded | {:.0} ms | {:.0} | {} |",
        ours.as_secs_f64() * 1e3,
        mib_s(ours),
        archive_bytes.0
    );
    println!(
        "| `tar -cf - \\| (read)` | {:.0} ms | {:.0} | {} |",
        tar.as_secs_f64() * 1e3,
        mib_s(tar),
        archive_bytes.1
    );
    println!(
        "throughput vs GNU tar: {:.2}x",
        tar.as_secs_f64() / ours.as_secs_f64()
    );
}
