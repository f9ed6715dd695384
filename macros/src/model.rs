//! Stage 2: the checked IR of a surface ([`ir`]) and the rules that build it ([`check`]).
//! Every rule of the attribute language is enforced here, so renderers only print.

mod check;
mod ir;

pub use ir::*;

#[cfg(test)]
mod tests;
