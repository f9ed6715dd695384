//! `cargo xtask codegen [--check]` writes `bindings/src/generated/` from the contract of the
//! annotated core (with `--check`, fails and names every file that differs);
//! `cargo xtask parity` prints every core method with its mapping; `cargo xtask bench-compile
//! [--runs N]` times `cargo check` of generated surfaces of 250 and 500 actions; `cargo xtask
//! contract diff OLD NEW` and `cargo xtask contract check` classify contract changes.

mod bench_compile;
mod codegen;
mod contract_diff;
mod parity;
mod render;
mod tstype;

use std::process::ExitCode;

use agentos_core::runtime::{Contract, Surface};

/// A surface this workspace generates a client for.
pub struct Target {
    pub contract: &'static Contract,
    /// The prefix of its TypeScript names (`AgentOsClient`, `createAgentOsClient`).
    pub prefix: &'static str,
    /// Where its files go, from the workspace root.
    pub dir: &'static str,
    /// The client runtime, as the generated files import it.
    pub runtime: &'static str,
    /// Where its Python client goes, if it has one.
    pub python: Option<&'static str>,
}

fn surfaces() -> Vec<Target> {
    vec![
        Target {
            contract: <agentos_core::AgentOs as Surface>::contract(),
            prefix: "AgentOs",
            dir: "bindings/src/generated",
            runtime: "../runtime/index.js",
            python: Some("bindings/python/agentos_client/generated"),
        },
        // The example app's own actions joined to the built-in ones: one actor, one client.
        Target {
            contract: <agentos_example_notes::NotesApp as Surface>::contract(),
            prefix: "Notes",
            dir: "bindings/examples/notes",
            runtime: "../../src/runtime/index.js",
            python: None,
        },
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen::run(false),
        ["codegen", "--check"] => codegen::run(true),
        ["parity"] => {
            print!("{}", parity::report(surfaces()[0].contract));
            Ok(())
        }
        ["bench-compile", rest @ ..] => bench_compile::run(rest),
        ["contract", rest @ ..] => contract_diff::run(rest),
        _ => Err(
            "usage: cargo xtask codegen [--check] | cargo xtask parity | cargo xtask bench-compile [--runs N] | cargo xtask contract diff OLD NEW | cargo xtask contract check"
                .to_owned(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
