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

pub fn emit(surface: &Surface) -> TokenStream {
    let item = &surface.item;
    let dtos = dto::render(surface);
    let events = events::render(surface);
    let checks = checks::render(surface);
    let extends = extends::render(surface);
    let dispatch = dispatch::render(surface, contract::render(surface));
    quote! {
        #item
        #dtos
        #events
        #checks
        #extends
        #dispatch
    }
}

/// The runtime path every renderer uses.
fn rt() -> TokenStream {
    quote!(::agentos_core::runtime)
}

/// A local of generated code, named `name` but hygienic (`mixed_site`): a parameter the user
/// named the same (`args`, `ctx`, …) neither shadows it nor is shadowed by it.
fn local(name: &str) -> proc_macro2::Ident {
    proc_macro2::Ident::new(name, proc_macro2::Span::mixed_site())
}
