//! Renders the typed emitter of the actor's own events and questions: one method per event
//! declared in `#[surface(events(…))]` and per bridge in `#[surface(bridges(…))]`, so the core
//! cannot raise an undeclared event, ask an undeclared bridge, or use a wrong type.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Asker, Surface};

pub fn render(surface: &Surface, rt: &TokenStream) -> TokenStream {
    let actor_bridges: Vec<_> = surface
        .bridges
        .iter()
        .filter(|b| matches!(b.asker, Asker::Actor))
        .collect();
    if surface.actor_events.is_empty() && actor_bridges.is_empty() {
        return TokenStream::new();
    }
    let ty = &surface.events_type;
    let doc = format!(
        "Raises the `{}` actor's own events. Its host creates it from the actor's event sink.",
        surface.actor
    );
    let methods = surface.actor_events.iter().map(|e| {
        let (name, method, payload) = (&e.name, &e.method, &e.payload);
        let doc = format!("Raises `{name}`.");
        quote! {
            #[doc = #doc]
            pub fn #method(&self, data: &#payload) {
                self.0.emit(#name, data);
            }
        }
    });
    let asks = actor_bridges.iter().map(|b| {
        let (name, method, request, response) = (&b.name, &b.ident, &b.request, &b.response);
        let doc = format!(
            "Asks connected clients through the `{name}` bridge and waits up to `timeout` for the first valid answer (`timeout` error if none comes)."
        );
        quote! {
            #[doc = #doc]
            pub async fn #method(
                &self,
                request: &#request,
                timeout: ::std::time::Duration,
            ) -> ::core::result::Result<#response, #rt::ActorError> {
                self.0.ask(#name, request, timeout).await
            }
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct #ty(#rt::ActorEvents);

        impl #ty {
            pub fn new(events: #rt::ActorEvents) -> Self {
                Self(events)
            }
            #(#methods)*
            #(#asks)*
        }
    }
}
