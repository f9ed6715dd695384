//! Renders the contract builder: every action, event, bridge, hook and unsupported method with
//! its docs and the TypeScript of each type (collected through ts-rs at runtime).

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Action, Asker, ParamKind, Surface};

pub fn render(surface: &Surface, rt: &TokenStream) -> TokenStream {
    let actor = &surface.actor;
    let version = &surface.version;
    let actions = surface.actions.iter().map(|a| action(a, rt));
    let events = surface.events.iter().map(|e| {
        let (name, payload) = (&e.name, &e.payload);
        let docs = format!(
            "Raised while `{}` runs; its callback option `{}` receives the data.",
            e.action, e.option
        );
        quote! {
            let data = b.ts::<#payload>();
            b.event(#rt::EventSpec { name: #name.into(), data, scope: #rt::EventScope::Call, docs: #docs.into() });
        }
    });
    let actor_events = surface.actor_events.iter().map(|e| {
        let (name, payload) = (&e.name, &e.payload);
        let docs = format!("Raised by the `{}` actor itself, not by a call; the payload is the data.", surface.actor);
        quote! {
            let data = b.ts::<#payload>();
            b.event(#rt::EventSpec { name: #name.into(), data, scope: #rt::EventScope::Actor, docs: #docs.into() });
        }
    });
    let bridges = surface.bridges.iter().map(|br| {
        let (name, respond, req, resp) = (&br.name, &br.respond_action, &br.request, &br.response);
        let (asker, scope) = match &br.asker {
            Asker::Action(action) => (format!("Asked by `{action}`"), quote!(Call)),
            Asker::Actor => (format!("Asked by the `{}` actor itself", surface.actor), quote!(Actor)),
        };
        let docs = format!(
            "{asker}: a client registers a handler with `handle(\"{name}\", …)`; the host answers through `{respond}`."
        );
        let respond_docs = format!("Answers a pending `{name}` bridge request; the first valid answer wins.");
        quote! {
            let request = b.ts::<#req>();
            let response = b.ts::<#resp>();
            let outcome = b.ts::<#rt::BridgeOutcome<#resp>>();
            b.bridge(#rt::BridgeSpec { name: #name.into(), request, response, respond_action: #respond.into(), scope: #rt::EventScope::#scope, docs: #docs.into() });
            b.action(#rt::ActionSpec {
                name: #respond.into(),
                method: ::core::option::Option::None,
                docs: #respond_docs.into(),
                deprecated: ::core::option::Option::None,
                alias_of: ::core::option::Option::None,
                params: ::std::vec![
                    #rt::ParamSpec { name: "requestId".into(), ts: "string".into(), optional: false },
                    #rt::ParamSpec { name: "outcome".into(), ts: outcome, optional: false },
                ],
                returns: "void".into(),
                callbacks: ::std::vec![],
                bridges: ::std::vec![],
            });
        }
    });
    let notes = |notes: &[crate::model::Note], add: TokenStream| {
        notes
            .iter()
            .map(|n| {
                let (method, name, docs) = (n.method.to_string(), &n.name, &n.docs);
                let reason = match &n.reason {
                    Some(r) => quote!(::core::option::Option::Some(#r.into())),
                    None => quote!(::core::option::Option::None),
                };
                quote!(b.#add(#rt::MethodNote { method: #method.into(), name: #name.into(), docs: #docs.into(), reason: #reason });)
            })
            .collect::<Vec<_>>()
    };
    let hooks = notes(&surface.hooks, quote!(hook));
    let unsupported = notes(&surface.unsupported, quote!(unsupported));
    let base = surface
        .extends
        .as_ref()
        .map(|base| quote!(b.extend(<#base as #rt::Surface>::contract());));
    quote! {
        let mut b = #rt::ContractBuilder::new(#actor, #version);
        #(#actions)*
        #(#events)*
        #(#actor_events)*
        #(#bridges)*
        #(#hooks)*
        #(#unsupported)*
        #base
        b.build()
    }
}

fn action(action: &Action, rt: &TokenStream) -> TokenStream {
    let (name, method, docs) = (&action.name, action.method.to_string(), &action.docs);
    let deprecated = match &action.deprecated {
        Some(d) => quote!(::core::option::Option::Some(#d.into())),
        None => quote!(::core::option::Option::None),
    };
    let params = action.data_params().map(|(p, optional)| {
        let (ts_name, ty) = (&p.wire, optional.unwrap_or(&p.ty));
        let optional = optional.is_some();
        quote!(#rt::ParamSpec { name: #ts_name.into(), ts: b.ts::<#ty>(), optional: #optional })
    });
    let callbacks = action.params.iter().filter_map(|p| match &p.kind {
        ParamKind::Emitter { event, .. } => {
            let option = &p.wire;
            Some(quote!(#rt::CallbackSpec { option: #option.into(), event: #event.into() }))
        }
        _ => None,
    });
    let bridges = action.params.iter().filter_map(|p| match &p.kind {
        ParamKind::Bridge { bridge } => Some(quote!(#bridge.into())),
        _ => None,
    });
    let returns = match &action.output.ok {
        Some(ty) => quote!(b.ts::<#ty>()),
        None => quote!(::std::string::String::from("void")),
    };
    // Each alias is listed as an action of its own, the same but for its name, deprecation
    // (pointing at the primary name) and `alias_of`.
    let aliases = action.aliases.iter().map(|alias| {
        let note = format!("Use `{name}`: `{alias}` is another name for it, kept for clients that know it by that name.");
        quote! {
            b.action(#rt::ActionSpec {
                name: #alias.into(),
                deprecated: ::core::option::Option::Some(#note.into()),
                alias_of: ::core::option::Option::Some(#name.into()),
                ..spec.clone()
            });
        }
    });
    quote! {
        let params = ::std::vec![#(#params),*];
        let returns = #returns;
        let spec = #rt::ActionSpec {
            name: #name.into(),
            method: ::core::option::Option::Some(#method.into()),
            docs: #docs.into(),
            deprecated: #deprecated,
            alias_of: ::core::option::Option::None,
            params,
            returns,
            callbacks: ::std::vec![#(#callbacks),*],
            bridges: ::std::vec![#(#bridges),*],
        };
        b.action(spec.clone());
        #(#aliases)*
    }
}
