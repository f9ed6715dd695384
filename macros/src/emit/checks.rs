//! Renders compile-time assertions that every type crossing the wire is a `WireType`. Each
//! assertion is spanned on the user's type and named for the action, so the error says which
//! parameter of which action is at fault.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use syn::Type;

use crate::model::{ParamKind, Surface};

pub fn render(surface: &Surface, rt: &TokenStream) -> TokenStream {
    let mut checks = Vec::new();
    for action in &surface.actions {
        let method = &action.method;
        for p in &action.params {
            let (what, ty) = match &p.kind {
                ParamKind::Data { .. } => ("argument", &p.ty),
                ParamKind::Emitter { payload, .. } => ("event_payload", payload),
                ParamKind::Bridge { .. } => continue,
            };
            checks.push(assert_wire(&format!("{method}_{what}_{}", p.ident), ty, rt));
        }
        if let Some(ok) = &action.output.ok {
            checks.push(assert_wire(&format!("{method}_result"), ok, rt));
        }
    }
    for event in &surface.actor_events {
        let label = format!("{}_event_payload", event.method);
        checks.push(assert_wire(&label, &event.payload, rt));
    }
    for bridge in &surface.bridges {
        let name = &bridge.ident;
        checks.push(assert_wire(
            &format!("{name}_bridge_request"),
            &bridge.request,
            rt,
        ));
        checks.push(assert_wire(
            &format!("{name}_bridge_response"),
            &bridge.response,
            rt,
        ));
    }
    quote! {
        const _: () = {
            #(#checks)*
        };
    }
}

fn assert_wire(label: &str, ty: &Type, rt: &TokenStream) -> TokenStream {
    let check = format_ident!("{label}_must_cross_the_wire");
    let caller = format_ident!("{label}_check");
    let call = quote_spanned!(ty.span()=> #check::<#ty>());
    quote! {
        #[allow(non_snake_case)]
        fn #check<T: #rt::WireType>() {}
        #[allow(non_snake_case, dead_code)]
        fn #caller() { #call; }
    }
}
