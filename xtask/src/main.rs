//! `cargo xtask codegen [--check]` writes `bindings/src/generated/` from the contract of the
//! annotated core (with `--check`, fails and names every file that differs);
//! `cargo xtask parity` prints every core method with its mapping.

mod codegen;
mod parity;
mod render;

use std::process::ExitCode;

use agentos_core::runtime::{Contract, Surface};

/// The surfaces this workspace generates clients for, with the prefix of their TS names.
fn surfaces() -> Vec<(&'static Contract, &'static str)> {
    vec![(<agentos_core::AgentOs as Surface>::contract(), "AgentOs")]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen::run(false),
        ["codegen", "--check"] => codegen::run(true),
        ["parity"] => {
            for (contract, _) in surfaces() {
                print!("{}", parity::report(contract));
            }
            Ok(())
        }
        _ => Err("usage: cargo xtask codegen [--check] | cargo xtask parity".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
