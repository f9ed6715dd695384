//! A sandboxed `exec("true")` through the generated dispatcher vs. a bare
//! `Command::spawn` of `true`, both waited for, measured in the same run; prints the ratio.
//! Run: `cargo bench -p agentos-core --bench exec` (needs bubblewrap).

use std::sync::Arc;

use agentos_core::runtime::{Discard, Surface, Value};
use criterion::Criterion;

mod common;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_dir, os) = common::vm(&rt);
    let ctx = common::ctx(Arc::new(Discard));
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("true");
    group.bench_function("spawn", |b| {
        b.iter(|| {
            std::process::Command::new("true")
                .status()
                .expect("true runs")
        })
    });
    group.bench_function("exec", |b| {
        b.iter(|| {
            rt.block_on(os.dispatch("exec", vec![Value::Text("true".into())], &ctx))
                .expect("exec succeeds")
        })
    });
    group.finish();
    c.final_summary();
    print_ratio("true", "exec", "spawn");
}

/// Criterion's point estimate (mean, ns) of `group/name` from this run.
fn mean_ns(group: &str, name: &str) -> Option<f64> {
    let home = std::env::var("CRITERION_HOME").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion"),
        Into::into,
    );
    let path = home.join(group).join(name).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints `ratio measured/baseline group: r (m ns vs b ns)` when both were measured.
fn print_ratio(group: &str, measured: &str, baseline: &str) {
    if let (Some(m), Some(b)) = (mean_ns(group, measured), mean_ns(group, baseline)) {
        println!(
            "ratio {measured}/{baseline} {group}: {:.3} ({m:.0} ns vs {b:.0} ns)",
            m / b
        );
    }
}
