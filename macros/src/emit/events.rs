//! Renders the typed emitter of the actor's own events: one method per event declared in
//! `#[surface(events(…))]`, so the core cannot raise an undeclared event or a wrong payload.

use proc_macro2::TokenStream;
use quote::quote;

use super::rt;
use crate::model::Surface;

pub fn render(surface: &Surface) -> TokenStream {
    if surface.actor_events.is_empty() {
        return TokenStream::new();
    }
    let rt = rt();
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
    quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct #ty(#rt::ActorEvents);

        impl #ty {
            pub fn new(events: #rt::ActorEvents) -> Self {
                Self(events)
            }
            #(#methods)*
        }
    }
}
