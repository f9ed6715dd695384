//! Stage 3: renderers, one per output. Each reads the checked [`Surface`] and returns tokens.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::Surface;

mod checks;
mod contract;
mod dispatch;
mod dto;
mod events;
mod extends;

/// Renders every output; `rt` is the path generated code reaches `agentos-runtime` by.
pub fn emit(surface: &Surface, rt: &TokenStream) -> TokenStream {
    let item = &surface.item;
    let dtos = dto::render(surface, rt);
    let events = events::render(surface, rt);
    let checks = checks::render(surface, rt);
    let extends = extends::render(surface, rt);
    let dispatch = dispatch::render(surface, rt, contract::render(surface, rt));
    quote! {
        #item
        #dtos
        #events
        #checks
        #extends
        #dispatch
    }
}

/// A local of generated code, named `name` but hygienic (`mixed_site`): a parameter the user
/// named the same (`args`, `ctx`, …) neither shadows it nor is shadowed by it.
fn local(name: &str) -> proc_macro2::Ident {
    proc_macro2::Ident::new(name, proc_macro2::Span::mixed_site())
}
