//! `#[surface]`: turns an annotated `impl` of a core type into an actor surface — action DTOs,
//! a dispatcher, event and bridge wiring, and the contract the TypeScript client is rendered
//! from. Stages: [`parse`] (syn → attributes) → [`model`] (checked IR) → [`emit`] (renderers).

use proc_macro::TokenStream;

mod diag;
mod emit;
mod model;
mod names;
mod parse;
mod runtime_path;

/// Generates the actor surface of an inherent `impl`. See the workspace README for the
/// attribute language: `#[action]`, `#[hook]`, `#[unsupported(reason = "…")]`, and
/// `#[event("…")]` / `#[bridge("…")]` on callback parameters.
#[proc_macro_attribute]
pub fn surface(attr: TokenStream, item: TokenStream) -> TokenStream {
    let rt = match runtime_path::find() {
        Ok(rt) => rt,
        Err(err) => return err.to_compile_error().into(),
    };
    let parsed = match parse::parse(attr.into(), item.into()) {
        Ok(parsed) => parsed,
        Err(err) => return err.to_compile_error().into(),
    };
    // On errors the impl is still emitted (helper attributes stripped), so the user sees
    // the surface's errors and not a cascade of "unused" or "not found" ones.
    let item = parsed.item.clone();
    match model::Surface::check(parsed) {
        Ok(surface) => emit::emit(&surface, &rt),
        Err(err) => {
            let errors = err.to_compile_error();
            quote::quote!(#item #errors)
        }
    }
    .into()
}
