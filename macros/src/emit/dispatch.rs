//! Renders the `Surface` impl: the contract accessor and the dispatcher, whose match only
//! forwards each action and bridge response to a generated method of its own (and answers
//! unsupported methods). One function per action keeps compile time linear in the number of
//! actions: with every action inlined into the dispatcher's one future, 500 actions took 2.9x
//! the `cargo check` time of 250; split, 2.1x (`cargo xtask bench-compile`).

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::local;
use crate::model::{Action, BridgeDef, ParamKind, Surface};

pub fn render(surface: &Surface, rt: &TokenStream, contract: TokenStream) -> TokenStream {
    let (args, ctx, action) = (local("args"), local("ctx"), local("action"));
    let self_ty = &surface.item.self_ty;
    let handlers: Vec<Handler> = surface
        .actions
        .iter()
        .map(|a| action_handler(surface, a, rt))
        .chain(
            surface
                .bridges
                .iter()
                .map(|b| respond_handler(surface, b, rt)),
        )
        .collect();
    let arms = handlers.iter().map(|h| {
        let (name, aliases, ident) = (h.name, h.aliases, h.ident);
        let call = quote!(Self::#ident(self, #args, #ctx));
        if h.is_async {
            quote!(#name #(| #aliases)* => #call.await,)
        } else {
            quote!(#name #(| #aliases)* => #call,)
        }
    });
    let methods = handlers.iter().map(|h| h.render(rt));
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
    // The methods come after the trait impl: the compiler reports a type's errors in the order
    // of the bodies, and the contract's come first.
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
                match #action {
                    #(#arms)*
                    #(#unsupported)*
                    _ => #fallback,
                }
            }
        }

        impl #self_ty {
            #(#methods)*
        }
    }
}

/// The generated method behind one action: decodes the call's arguments, runs it, encodes
/// the result.
struct Handler<'a> {
    name: &'a str,
    /// Other names that reach it.
    aliases: &'a [String],
    ident: &'a Ident,
    is_async: bool,
    body: TokenStream,
}

impl Handler<'_> {
    fn render(&self, rt: &TokenStream) -> TokenStream {
        let (ident, body) = (self.ident, &self.body);
        let (args, ctx) = (local("args"), local("ctx"));
        let asyncness = self.is_async.then(|| quote!(async));
        quote! {
            #[doc(hidden)]
            #asyncness fn #ident(
                &self,
                #args: ::std::vec::Vec<#rt::Value>,
                #ctx: &#rt::CallContext,
            ) -> ::core::result::Result<#rt::Value, #rt::ActorError> {
                #body
            }
        }
    }
}

fn action_handler<'a>(surface: &Surface, action: &'a Action, rt: &TokenStream) -> Handler<'a> {
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
    Handler {
        name,
        aliases: &action.aliases,
        ident: &action.handler,
        is_async: action.is_async,
        body: quote! {
            let #args = <#module::#dto as #rt::ActionArgs>::from_args(#rt::Args::new(#name, #args))?;
            #(#callbacks)*
            let #output = #call;
            #rt::to_value(&#output)
        },
    }
}

fn respond_handler<'a>(surface: &Surface, bridge: &'a BridgeDef, rt: &TokenStream) -> Handler<'a> {
    let (respond, name, dto) = (&bridge.respond_action, &bridge.name, &bridge.respond_dto);
    let (args, ctx, module) = (local("args"), local("ctx"), &surface.dto_mod);
    Handler {
        name: respond,
        aliases: &[],
        ident: &bridge.respond_handler,
        is_async: false,
        body: quote! {
            let #args = <#module::#dto as #rt::ActionArgs>::from_args(#rt::Args::new(#respond, #args))?;
            #ctx.bridges().resolve(#name, &#args.request_id, #rt::to_value(&#args.outcome)?)?;
            ::core::result::Result::Ok(#rt::Value::Null)
        },
    }
}
