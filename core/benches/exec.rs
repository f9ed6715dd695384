//! A sandboxed `exec("true")` through the generated dispatcher vs. a bare
//! `Command::spawn` of `true`, both waited for, measured in the same run; prints the ratio.
//! Run: `cargo bench -p agentos-core --bench exec` (needs bubblewrap).

use agentos_core::runtime::{Surface, Value};
use criterion::Criterion;

mod common;

fn main() {
    let (_dir, os) = common::vm();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ctx = common::ctx();
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
    common::print_ratio("true", "exec", "spawn");
}
