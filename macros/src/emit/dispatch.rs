//! Renders the `Surface` impl: the contract accessor and the dispatcher — one match arm per
//! action, bridge response and unsupported method, no hand-written arms.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::local;
use crate::model::{Action, ParamKind, Surface};

pub fn render(surface: &Surface, rt: &TokenStream, contract: TokenStream) -> TokenStream {
    let (args, ctx, action) = (local("args"), local("ctx"), local("action"));
    let self_ty = &surface.item.self_ty;
    let actions = surface.actions.iter().map(|a| action_arm(surface, a, rt));
    let bridges = surface.bridges.iter().map(|b| {
        let (respond, name, dto) = (&b.respond_action, &b.name, &b.respond_dto);
        let module = &surface.dto_mod;
        quote! {
            #respond => {
                let #args = <#module::#dto as #rt::ActionArgs>::from_args(#rt::Args::new(#respond, #args))?;
                #ctx.bridges().resolve(#name, &#args.request_id, #rt::to_value(&#args.outcome)?)?;
                ::core::result::Result::Ok(#rt::Value::Null)
            }
        }
    });
    let unsupported = surface.unsupported.iter().map(|n| {
        let name = &n.name;
        let message = format!(
            "`{name}` is not supported by the `{}` actor: {}",
            surface.actor,
            n.reason.as_deref().unwrap_or_default()
        );
        quote!(#name => ::core::result::Result::Err(#rt::ActorError::unsupported(#message)),)
    });
    // An extending surface hands every other name to its base, reached through `AsRef`.
    let fallback = match &surface.extends {
        Some(base) => quote_spanned! {base.span()=>
            <#base as #rt::Surface>::dispatch(::core::convert::AsRef::<#base>::as_ref(self), #action, #args, #ctx).await
        },
        None => quote!(::core::result::Result::Err(#rt::ActorError::unknown_action(#action))),
    };
    quote! {
        #[#rt::__private::async_trait]
        impl #rt::Surface for #self_ty {
            fn contract() -> &'static #rt::Contract {
                static CONTRACT: ::std::sync::OnceLock<#rt::Contract> = ::std::sync::OnceLock::new();
                CONTRACT.get_or_init(|| { #contract })
            }

            async fn dispatch(
                &self,
                #action: &str,
                #args: ::std::vec::Vec<#rt::Value>,
                #ctx: &#rt::CallContext,
            ) -> ::core::result::Result<#rt::Value, #rt::ActorError> {
                let _ = #ctx;
                match #action {
                    #(#actions)*
                    #(#bridges)*
                    #(#unsupported)*
                    _ => #fallback,
                }
            }
        }
    }
}

fn action_arm(surface: &Surface, action: &Action, rt: &TokenStream) -> TokenStream {
    let (name, method, dto, module) = (&action.name, &action.method, &action.dto, &surface.dto_mod);
    let (args, ctx, output) = (local("args"), local("ctx"), local("output"));
    let callbacks = action.params.iter().filter_map(|p| {
        let (ident, ty) = (&p.ident, &p.ty);
        match &p.kind {
            ParamKind::Data { .. } => None,
            ParamKind::Emitter { event, .. } => {
                Some(quote!(let #ident: #ty = #ctx.emitter(#event);))
            }
            ParamKind::Bridge { bridge } => Some(quote!(let #ident: #ty = #ctx.bridge(#bridge);)),
        }
    });
    let call_args = action.params.iter().map(|p| {
        let ident = &p.ident;
        match p.kind {
            ParamKind::Data { .. } => quote!(#args.#ident),
            _ => quote!(#ident),
        }
    });
    let mut call = quote!(self.#method(#(#call_args),*));
    if action.is_async {
        call = quote!(#call.await);
    }
    if let Some(error) = &action.output.error {
        // Every token of the conversion carries the error type's span, so a type that does
        // not convert is reported on the user's `E`.
        let convert =
            quote_spanned!(error.span()=> ::core::convert::Into::<#rt::ActorError>::into(error));
        call = quote! {
            match #call {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => return ::core::result::Result::Err(#convert),
            }
        };
    }
    quote! {
        #name => {
            let #args = <#module::#dto as #rt::ActionArgs>::from_args(#rt::Args::new(#name, #args))?;
            #(#callbacks)*
            let #output = #call;
            #rt::to_value(&#output)
        }
    }
}
