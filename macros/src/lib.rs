//! `#[surface]`: turns an annotated `impl` of a core type into an actor surface — action DTOs,
//! a dispatcher, event and bridge wiring, and the contract the TypeScript client is rendered
//! from. Stages: [`parse`] (syn → attributes) → [`model`] (checked IR) → [`emit`] (renderers).

use proc_macro::TokenStream;

mod diag;
mod emit;
mod model;
mod names;
mod parse;

/// Generates the actor surface of an inherent `impl`. See the workspace README for the
/// attribute language: `#[action]`, `#[hook]`, `#[unsupported(reason = "…")]`, and
/// `#[event("…")]` / `#[bridge("…")]` on callback parameters.
#[proc_macro_attribute]
pub fn surface(attr: TokenStream, item: TokenStream) -> TokenStream {
    parse::parse(attr.into(), item.into())
        .and_then(model::Surface::check)
        .map(|surface| emit::emit(&surface))
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}
