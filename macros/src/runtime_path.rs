//! Where generated code finds `agentos-runtime`: looked up in the annotated crate's manifest,
//! so a crate may depend on the runtime directly (under any name) or reach it through
//! `agentos-core`'s re-export, and the runtime's own dependents need no `extern crate self`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

/// The path of `agentos-runtime` as the crate being compiled names it.
pub fn find() -> syn::Result<TokenStream> {
    let named = |found: FoundCrate, suffix: TokenStream| match found {
        FoundCrate::Itself => quote!(crate #suffix),
        FoundCrate::Name(name) => {
            let name = format_ident!("{name}");
            quote!(::#name #suffix)
        }
    };
    if let Ok(found) = crate_name("agentos-runtime") {
        return Ok(named(found, quote!()));
    }
    if let Ok(found) = crate_name("agentos-core") {
        return Ok(named(found, quote!(::runtime)));
    }
    Err(syn::Error::new(
        Span::call_site(),
        "#[surface] needs `agentos-runtime` (or `agentos-core`) in this crate's [dependencies]",
    ))
}
