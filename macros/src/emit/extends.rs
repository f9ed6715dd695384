//! Renders what lets one surface extend another (`extends = Base`): every surface publishes
//! the names it puts on the wire as a hidden `const`, and an extending surface asserts, one
//! `const` per name it adds and spanned on that name, that its base does not use it already —
//! so a clash is a compile error on the user's method, with a message that says what to do.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::model::Surface;

pub fn render(surface: &Surface, rt: &TokenStream) -> TokenStream {
    let self_ty = &surface.item.self_ty;
    let names = surface.wire_names.iter().map(|(name, _)| name);
    let list = quote! {
        impl #self_ty {
            #[doc(hidden)]
            pub const __AGENTOS_WIRE_NAMES: &'static [&'static str] = &[#(#names),*];
        }
    };
    let Some(base) = &surface.extends else {
        return list;
    };
    let base_name = path_name(base);
    let checks = surface.wire_names.iter().map(|(name, span)| {
        let message = format!(
            "`{name}` is already an action or event of `{base_name}`, which the `{}` surface extends; give yours another name with `#[action(name = \"…\")]`",
            surface.actor
        );
        quote_spanned! {*span=>
            const _: () = ::core::assert!(
                !#rt::__private::wire_name_taken(<#base>::__AGENTOS_WIRE_NAMES, #name),
                #message
            );
        }
    });
    quote! {
        #list
        #(#checks)*
    }
}

/// `a::b::C` as written, for messages.
pub fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
