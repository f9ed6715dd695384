//! The generated layer's own cost: each action called directly and through the generated
//! dispatcher, the variants interleaved batch by batch so that drift on a shared machine hits
//! them alike, and the median of each reported.
//!
//! - `direct`: the core method, called from the async context dispatch runs in;
//! - `dispatch`: positional decode of wire values, the call, the result encoded to a wire value;
//! - `wire`: CBOR bytes in, `dispatch`, CBOR bytes out (everything a remote call adds on the host
//!   before the network).
//!
//! `listShells` does almost nothing (a lock and an empty list), so its difference is the
//! layer's overhead in nanoseconds; `exists` and `stat` are calls that do real work
//! (filesystem syscalls), where the target is `dispatch/direct` ≤ 1.10.
//! Run: `cargo bench -p agentos-core --bench dispatch` (prints one table).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentos_core::AgentOs;
use agentos_core::runtime::{CallContext, Discard, Encoding, Surface, Value};
use agentos_core::vm::fs::FileContent;

mod common;

/// Rounds per action; each round times one batch of every variant. Odd, for a plain median.
const ROUNDS: usize = 61;
/// A batch takes about this long, so that timer resolution and scheduling are small next to it.
const BATCH: Duration = Duration::from_millis(4);

const PATH: &str = "/data/file.txt";

#[derive(Clone, Copy)]
enum Variant {
    Direct,
    Dispatch,
    Wire,
}

const VARIANTS: [Variant; 3] = [Variant::Direct, Variant::Dispatch, Variant::Wire];

struct Bench<'a> {
    os: &'a AgentOs,
    rt: &'a tokio::runtime::Runtime,
    ctx: CallContext,
}

impl Bench<'_> {
    /// One call of `action` made the way `variant` says.
    fn call(&self, action: &str, variant: Variant) {
        let direct = || match action {
            "listShells" => drop(black_box(self.os.list_shells())),
            "exists" => drop(black_box(self.os.exists(black_box(PATH).into()))),
            "stat" => drop(black_box(self.os.stat(black_box(PATH).into()))),
            _ => unreachable!("no direct call for {action}"),
        };
        let args = || match action {
            "listShells" => Vec::new(),
            _ => vec![Value::Text(PATH.into())],
        };
        match variant {
            Variant::Direct => self.rt.block_on(async { direct() }),
            Variant::Dispatch => {
                let out = self
                    .rt
                    .block_on(self.os.dispatch(action, args(), &self.ctx));
                drop(black_box(out.expect("call succeeds")));
            }
            Variant::Wire => {
                let bytes = Encoding::Cbor
                    .encode(&Value::Array(args()))
                    .expect("encodes");
                let Value::Array(values) =
                    Encoding::Cbor.decode(black_box(&bytes)).expect("decodes")
                else {
                    unreachable!("args are an array")
                };
                let out = self
                    .rt
                    .block_on(self.os.dispatch(action, values, &self.ctx))
                    .expect("call succeeds");
                black_box(Encoding::Cbor.encode(&out).expect("encodes"));
            }
        }
    }

    /// Nanoseconds per call of each variant: the median over interleaved rounds, each round
    /// starting with a different variant.
    fn measure(&self, action: &str) -> [f64; 3] {
        let calls = self.calls_per_batch(action);
        let mut samples: [Vec<f64>; 3] = Default::default();
        for round in 0..ROUNDS {
            for i in 0..VARIANTS.len() {
                let at = (round + i) % VARIANTS.len();
                let start = Instant::now();
                for _ in 0..calls {
                    self.call(action, VARIANTS[at]);
                }
                samples[at].push(start.elapsed().as_nanos() as f64 / calls as f64);
            }
        }
        samples.map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
    }

    /// How many calls of the slowest variant fill [`BATCH`] (after a warm-up).
    fn calls_per_batch(&self, action: &str) -> u32 {
        let mut calls = 1u32;
        loop {
            let start = Instant::now();
            for _ in 0..calls {
                self.call(action, Variant::Wire);
            }
            if start.elapsed() >= BATCH / 4 {
                return calls.saturating_mul(4);
            }
            calls = calls.saturating_mul(2);
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (_dir, os) = common::vm(&rt);
    os.mkdir("/data".into(), None).expect("mkdir");
    os.write_file(PATH.into(), FileContent::Text("hello".into()))
        .expect("write");
    let bench = Bench {
        os: &os,
        rt: &rt,
        ctx: common::ctx(Arc::new(Discard)),
    };
    println!("| action | direct | dispatch | wire | dispatch − direct | dispatch / direct |");
    println!("|---|---|---|---|---|---|");
    for action in ["listShells", "exists", "stat"] {
        let [direct, dispatch, wire] = bench.measure(action);
        println!(
            "| `{action}` | {direct:.0} ns | {dispatch:.0} ns | {wire:.0} ns | {:.0} ns | {:.3} |",
            dispatch - direct,
            dispatch / direct
        );
    }
}
