//! Generated dispatch vs. a direct method call, measured in the same run, per action:
//!
//! - `direct`: the core method called from Rust;
//! - `direct_async`: the same call made from the async context dispatch runs in;
//! - `dispatch`: the generated layer — positional decode of wire values, the call, the result
//!   encoded to a wire value;
//! - `wire`: the whole server path — CBOR bytes in, `dispatch`, CBOR bytes out.
//!
//! After the measurements it prints `dispatch/direct_async` (the generated layer's cost) and
//! `wire/direct` (everything a remote call adds on the host) from criterion's estimates.
//! Run: `cargo bench -p agentos-core --bench dispatch`.

use std::hint::black_box;

use agentos_core::AgentOs;
use agentos_core::runtime::{Encoding, Surface, Value};
use agentos_core::vm::fs::FileContent;
use criterion::{BatchSize, Criterion};

mod common;

const ACTIONS: [&str; 2] = ["stat", "exists"];

fn bench(c: &mut Criterion, os: &AgentOs, rt: &tokio::runtime::Runtime) {
    let ctx = common::ctx();
    let args = Encoding::Cbor
        .encode(&Value::Array(vec![Value::Text("/data/file.txt".into())]))
        .expect("encodes");
    for action in ACTIONS {
        let mut group = c.benchmark_group(action);
        let direct = || match action {
            "stat" => drop(black_box(os.stat(black_box("/data/file.txt").into()))),
            _ => drop(black_box(os.exists(black_box("/data/file.txt").into()))),
        };
        group.bench_function("direct", |b| b.iter(direct));
        group.bench_function("direct_async", |b| {
            b.iter(|| rt.block_on(async { direct() }))
        });
        let Value::Array(values) = Encoding::Cbor.decode(&args).expect("decodes") else {
            unreachable!("args are an array")
        };
        group.bench_function("dispatch", |b| {
            b.iter_batched(
                || values.clone(),
                |values| {
                    black_box(
                        rt.block_on(os.dispatch(action, values, &ctx))
                            .expect("call succeeds"),
                    )
                },
                BatchSize::SmallInput,
            )
        });
        group.bench_function("wire", |b| {
            b.iter(|| {
                let Value::Array(values) =
                    Encoding::Cbor.decode(black_box(&args)).expect("decodes")
                else {
                    unreachable!("args are an array")
                };
                let out = rt
                    .block_on(os.dispatch(action, values, &ctx))
                    .expect("call succeeds");
                black_box(Encoding::Cbor.encode(&out).expect("encodes"))
            })
        });
        group.finish();
    }
}

fn main() {
    let (_dir, os) = common::vm();
    os.mkdir("/data".into(), None).expect("mkdir");
    os.write_file("/data/file.txt".into(), FileContent::Text("hello".into()))
        .expect("write");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &os, &rt);
    c.final_summary();
    for action in ACTIONS {
        common::print_ratio(action, "dispatch", "direct_async");
        common::print_ratio(action, "wire", "direct");
    }
}
