//! `types.ts`: every type that crosses the wire, as ts-rs declares it, with its docs.

use agentos_core::runtime::Contract;

use super::PREAMBLE;

pub fn render(c: &Contract) -> String {
    let mut out = String::from(PREAMBLE);
    for decl in c.types.values() {
        out.push('\n');
        out.push_str(&decl.docs);
        out.push_str("export ");
        out.push_str(&decl.decl);
        out.push('\n');
    }
    out
}
