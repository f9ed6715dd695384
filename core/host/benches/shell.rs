//! Shell output throughput: the bytes a program writes to its terminal, delivered to a
//! TypeScript client as `shellData` events through the embedded host, vs. the same program's
//! output read straight from a PTY master, measured in the same run; prints both and the
//! ratio. The client half is `bindings/bench/shell-throughput.ts` (built by `npm run build`).
//! Run: `cargo bench -p agentos-host --bench shell` (needs bubblewrap and Node).

use std::process::Command;
use std::time::{Duration, Instant};

use agentos_core::VmConfig;
use agentos_core::runtime::Limits;
use agentos_host::embedded::{self, HostConfig};
use tokio::io::AsyncReadExt;

/// Bytes per run: large enough that starting the shell and its sandbox is noise.
const BYTES: usize = 64 << 20;
const RUNS: usize = 5;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bindings/dist/bench/shell-throughput.js"
    );
    assert!(
        std::path::Path::new(client).exists(),
        "{client} is missing: run `npm run build --prefix bindings` first"
    );
    let data = tempfile::tempdir().expect("temp dir");
    let token = embedded::generate_token();
    let host = rt
        .block_on(embedded::start(
            HostConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                token: token.clone(),
                data_dir: data.path().to_owned(),
                limits: Limits::default(),
                bridge_timeout: Duration::from_secs(5),
                web_root: None,
                vm_policy: Default::default(),
            },
            embedded::agent_os_kinds(VmConfig::default()),
        ))
        .expect("host starts");
    let url = format!("ws://{}", host.addr);

    let raw = median((0..RUNS).map(|_| rt.block_on(raw_pty())));
    let events = median((0..RUNS).map(|_| {
        let out = Command::new("node")
            .args([client, &url, &token, &BYTES.to_string()])
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        rate(
            report["bytes"].as_u64().expect("bytes"),
            report["seconds"].as_f64().expect("seconds"),
        )
    }));
    rt.block_on(host.stop()).expect("host stops");
    println!("raw PTY read:              {raw:8.1} MiB/s");
    println!("shellData to a TS client:  {events:8.1} MiB/s");
    println!("ratio events/raw shell: {:.3}", events / raw);
}

/// Reads the same program's output from a PTY master until the terminal hangs up.
async fn raw_pty() -> f64 {
    let (mut pty, pts) = pty_process::open().expect("a pty");
    pty.resize(pty_process::Size::new(24, 80)).expect("resize");
    let start = Instant::now();
    let mut child = pty_process::Command::new("/bin/sh")
        .args(["-c", &format!("yes 0123456789abcdef | head -c {BYTES}")])
        .spawn(pts)
        .expect("sh runs");
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    // EIO once the last process holding the terminal is gone.
    while let Ok(n @ 1..) = pty.read(&mut buf).await {
        total += n as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    child.wait().await.expect("sh exits");
    rate(total, seconds)
}

fn rate(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds / f64::from(1 << 20)
}

fn median(samples: impl Iterator<Item = f64>) -> f64 {
    let mut samples: Vec<f64> = samples.collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
