//! The rules of the attribute language, applied while building the IR: each violation is
//! spanned on the user's tokens and says what the valid choices are.

use std::collections::HashMap;

use proc_macro2::{Ident, Span};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, ReturnType, Type};

use super::ir::{
    Action, ActorEvent, Asker, BridgeDef, Event, Note, Output, Param, ParamKind, Surface,
};
use crate::diag::Diagnostics;
use crate::names;
use crate::parse::{ActorBridgeDecl, MAPPINGS, Mapping, Parsed, ParsedMethod, ParsedParam};

/// Names the TypeScript client object already uses, or that break JavaScript objects: the same
/// list as the client runtime's `RESERVED_NAMES` (`bindings/src/runtime/contract.ts`), which
/// checks contracts it is handed at run time; a test in `tests.rs` keeps the two equal.
pub(super) const RESERVED: &[&str] = &[
    "on",
    "handle",
    "ready",
    "close",
    "then",
    "constructor",
    "toString",
    "valueOf",
    "hasOwnProperty",
];

/// Where a wire name was claimed, for clash messages.
struct Claim {
    kind: &'static str,
    span: Span,
    owner: String,
    /// Token text of the payload type for events and bridges: the same name may be declared
    /// by several actions only with the same type.
    ty: Option<String>,
}

impl Surface {
    pub fn check(parsed: Parsed) -> syn::Result<Surface> {
        let Parsed {
            actor,
            extends,
            actor_events,
            actor_bridges,
            attr_span,
            item,
            methods,
            mut diag,
        } = parsed;
        let actor = match actor {
            Some(lit) => lit.value(),
            None => {
                diag.error(
                    attr_span,
                    "#[surface] needs the actor's name: `#[surface(actor = \"agentOS\")]`",
                );
                String::new()
            }
        };
        let self_name = match &*item.self_ty {
            Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        }
        .unwrap_or_else(|| "surface".to_owned());
        let mut claims: HashMap<String, Claim> = HashMap::new();
        let actor_events = actor_events
            .into_iter()
            .filter_map(|(ident, payload)| {
                let name = ident.to_string();
                check_name(&name, "event", ident.span(), &mut diag).then(|| {
                    claim(
                        &mut claims,
                        &name,
                        ident.span(),
                        "actor event",
                        "the surface",
                        None,
                        &mut diag,
                    );
                    ActorEvent {
                        method: format_ident!("{}", names::snake(&name)),
                        name,
                        payload,
                    }
                })
            })
            .collect();
        let mut surface = Surface {
            actor,
            extends,
            events_type: format_ident!("{self_name}Events"),
            actor_events,
            dto_mod: format_ident!("{}_actions", names::snake(&self_name)),
            item,
            actions: Vec::new(),
            events: Vec::new(),
            bridges: Vec::new(),
            hooks: Vec::new(),
            unsupported: Vec::new(),
            wire_names: Vec::new(),
        };
        for ActorBridgeDecl {
            name,
            request,
            response,
        } in actor_bridges
        {
            let wire = name.to_string();
            let method = format_ident!("{}", names::snake(&wire));
            surface.bridge(
                &wire,
                name.span(),
                [request, response],
                Asker::Actor(method),
                &mut claims,
                &mut diag,
            );
        }
        for method in &methods {
            surface.classify(method, &mut claims, &mut diag);
        }
        surface.wire_names = claims
            .into_iter()
            .map(|(name, claim)| (name, claim.span))
            .collect();
        surface.wire_names.sort_by(|a, b| a.0.cmp(&b.0));
        diag.finish(surface)
    }

    fn classify(
        &mut self,
        method: &ParsedMethod,
        claims: &mut HashMap<String, Claim>,
        diag: &mut Diagnostics,
    ) {
        let ident = &method.sig.ident;
        let mapping = match method.mappings.as_slice() {
            [] if method.is_pub => {
                diag.error(
                    ident.span(),
                    format!(
                        "public method `{ident}` has no surface mapping; add one of {MAPPINGS}"
                    ),
                );
                return;
            }
            [] => return,
            [first, rest @ ..] => {
                for extra in rest {
                    diag.error(
                        extra.span(),
                        format!("`{ident}` has more than one surface mapping; keep exactly one of {MAPPINGS}"),
                    );
                }
                first
            }
        };
        if !method.is_pub {
            diag.error(
                mapping.span(),
                format!("`{ident}` is not `pub`; only public methods belong to the surface — make it `pub` or remove the mapping"),
            );
            return;
        }
        let docs = method.docs.clone();
        match mapping {
            Mapping::Hook { .. } => self.hooks.push(Note {
                method: ident.clone(),
                name: names::camel(&ident.to_string()),
                docs,
                reason: None,
            }),
            Mapping::Unsupported { span, reason } => {
                match reason.as_ref().map(|r| r.value()).filter(|r| !r.trim().is_empty()) {
                    Some(reason) => self.unsupported.push(Note {
                        method: ident.clone(),
                        name: names::camel(&ident.to_string()),
                        docs,
                        reason: Some(reason),
                    }),
                    None => diag.error(
                        *span,
                        format!("#[unsupported] on `{ident}` needs a reason users will read: `#[unsupported(reason = \"…\")]`"),
                    ),
                }
            }
            Mapping::Action {
                name, deprecated, ..
            } => {
                if let Some(action) =
                    self.action(method, name.as_ref(), docs, deprecated, claims, diag)
                {
                    self.actions.push(action);
                }
            }
        }
    }

    fn action(
        &mut self,
        method: &ParsedMethod,
        name: Option<&syn::LitStr>,
        docs: String,
        deprecated: &Option<syn::LitStr>,
        claims: &mut HashMap<String, Claim>,
        diag: &mut Diagnostics,
    ) -> Option<Action> {
        let sig = &method.sig;
        let ident = &sig.ident;
        let (wire, name_span) = match name {
            Some(lit) => (lit.value(), lit.span()),
            None => (names::camel(&ident.to_string()), ident.span()),
        };
        let mut ok = check_name(&wire, "action", name_span, diag);
        match sig.receiver() {
            None => {
                diag.error(
                    ident.span(),
                    format!("action `{ident}` has no `self` receiver; actions are methods taking `&self`"),
                );
                ok = false;
            }
            Some(r) if r.reference.is_none() || r.mutability.is_some() => {
                diag.error(
                    r.span(),
                    format!("action `{ident}` must take `&self`: calls run concurrently, so state needs interior mutability"),
                );
                ok = false;
            }
            Some(_) => {}
        }
        if !sig.generics.params.is_empty() {
            diag.error(
                sig.generics.span(),
                format!(
                    "action `{ident}` is generic; actions cross the wire with concrete types only"
                ),
            );
            ok = false;
        }
        let params: Vec<Param> = method
            .params
            .iter()
            .filter_map(|p| self.param(p, &wire, ident, claims, diag))
            .collect();
        if params.len() != method.params.len() {
            ok = false;
        }
        claim(
            claims,
            &wire,
            name_span,
            "action",
            &format!("method `{ident}`"),
            None,
            diag,
        );
        let output = output(&sig.output);
        ok.then(|| Action {
            method: ident.clone(),
            dto: format_ident!("{}", names::pascal(&wire)),
            name: wire,
            docs,
            deprecated: deprecated.as_ref().map(syn::LitStr::value),
            is_async: sig.asyncness.is_some(),
            params,
            output,
        })
    }

    /// Records a bridge and claims its name and its response action's. Several actions may
    /// ask the same bridge when its types are the same.
    fn bridge(
        &mut self,
        name: &str,
        span: Span,
        [request, response]: [Type; 2],
        asker: Asker,
        claims: &mut HashMap<String, Claim>,
        diag: &mut Diagnostics,
    ) {
        if !check_name(name, "bridge", span, diag) {
            return;
        }
        let pair: Type = syn::parse_quote!((#request, #response));
        let (kind, owner) = match &asker {
            Asker::Action(action) => ("bridge", format!("action `{action}`")),
            Asker::Actor(_) => ("actor bridge", "the surface".to_owned()),
        };
        claim(claims, name, span, kind, &owner, Some(&pair), diag);
        if self.bridges.iter().any(|b| b.name == name) {
            return;
        }
        let respond = format!("respond{}", names::pascal(name));
        let owner = format!("bridge `{name}`");
        claim(
            claims,
            &respond,
            span,
            "response action",
            &owner,
            None,
            diag,
        );
        self.bridges.push(BridgeDef {
            name: name.to_owned(),
            request,
            response,
            respond_action: respond,
            asker,
        });
    }

    fn param(
        &mut self,
        p: &ParsedParam,
        action: &str,
        method: &Ident,
        claims: &mut HashMap<String, Claim>,
        diag: &mut Diagnostics,
    ) -> Option<Param> {
        let ty = (*p.pat_type.ty).clone();
        let ident = match &*p.pat_type.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => pi.ident.clone(),
            other => {
                diag.error(
                    other.span(),
                    format!("parameters of action `{method}` must be plain names, not patterns"),
                );
                return None;
            }
        };
        match &ty {
            Type::Reference(_) => {
                diag.error(
                    ty.span(),
                    format!("parameter `{ident}` of action `{method}` is borrowed; actions take owned values (e.g. `String`, not `&str`)"),
                );
                return None;
            }
            Type::ImplTrait(_) => {
                diag.error(
                    ty.span(),
                    format!("parameter `{ident}` of action `{method}` is `impl Trait`; actions take concrete types"),
                );
                return None;
            }
            _ => {}
        }
        let option = camel_ident(&ident);
        let callback = callback_kind(&ty);
        let kind = match (callback, &p.event, &p.bridge) {
            (Some(("Emitter", args)), Some(event), None) if args.len() == 1 => {
                let payload = args[0].clone();
                let name = event.value();
                if check_name(&name, "event", event.span(), diag) {
                    let owner = format!("action `{action}`");
                    claim(
                        claims,
                        &name,
                        event.span(),
                        "event",
                        &owner,
                        Some(&payload),
                        diag,
                    );
                    if !self.events.iter().any(|e| e.name == name) {
                        self.events.push(Event {
                            name: name.clone(),
                            payload: payload.clone(),
                            action: action.to_owned(),
                            option,
                        });
                    }
                }
                ParamKind::Emitter {
                    event: name,
                    payload,
                }
            }
            (Some(("Bridge", args)), None, Some(bridge)) if args.len() == 2 => {
                let name = bridge.value();
                let [request, response] = [args[0].clone(), args[1].clone()];
                let asker = Asker::Action(action.to_owned());
                self.bridge(
                    &name,
                    bridge.span(),
                    [request, response],
                    asker,
                    claims,
                    diag,
                );
                ParamKind::Bridge { bridge: name }
            }
            (Some(("Emitter", _)), None, _) => {
                diag.error(ty.span(), format!("`{ident}` is an `Emitter`; name its event: `#[event(\"name\")] {ident}: Emitter<T>`"));
                return None;
            }
            (Some(("Bridge", _)), _, None) => {
                diag.error(ty.span(), format!("`{ident}` is a `Bridge`; name it: `#[bridge(\"name\")] {ident}: Bridge<Req, Resp>`"));
                return None;
            }
            (Some((kind, _)), _, _) => {
                diag.error(ty.span(), format!("`{ident}`: write `Emitter<T>` or `Bridge<Req, Resp>` with their type arguments, with `#[event(\"…\")]` or `#[bridge(\"…\")]` respectively (found `{kind}`)"));
                return None;
            }
            (None, Some(event), _) => {
                diag.error(
                    event.span(),
                    format!(
                        "#[event] applies to `Emitter<T>` parameters; `{ident}` is a plain argument"
                    ),
                );
                return None;
            }
            (None, _, Some(bridge)) => {
                diag.error(bridge.span(), format!("#[bridge] applies to `Bridge<Req, Resp>` parameters; `{ident}` is a plain argument"));
                return None;
            }
            (None, None, None) => ParamKind::Data {
                optional: generic_args(&ty, "Option").and_then(|a| a.into_iter().next()),
            },
        };
        Some(Param { ident, ty, kind })
    }
}

fn camel_ident(ident: &Ident) -> String {
    names::camel(&ident.to_string())
}

fn check_name(name: &str, kind: &str, span: Span, diag: &mut Diagnostics) -> bool {
    if !names::is_wire_name(name) {
        diag.error(
            span,
            format!("{kind} name `{name}` is not a valid wire name; use camelCase ASCII letters and digits, starting lowercase"),
        );
        return false;
    }
    if RESERVED.contains(&name) {
        diag.error(
            span,
            format!(
                "{kind} name `{name}` is reserved by the TypeScript client ({}); choose another with `name = \"…\"`",
                RESERVED.join(", ")
            ),
        );
        return false;
    }
    true
}

/// Claims a wire name: actions, events and bridges share one namespace.
fn claim(
    claims: &mut HashMap<String, Claim>,
    name: &str,
    span: Span,
    kind: &'static str,
    owner: &str,
    ty: Option<&Type>,
    diag: &mut Diagnostics,
) {
    let ty = ty.map(|t| t.to_token_stream().to_string());
    match claims.get(name) {
        None => {
            claims.insert(
                name.to_owned(),
                Claim {
                    kind,
                    span,
                    owner: owner.to_owned(),
                    ty,
                },
            );
        }
        // One call event or bridge may serve several actions when its type is the same.
        Some(prev) if prev.kind == kind && shared(kind) && prev.ty == ty => {}
        Some(prev) if prev.kind == kind && shared(kind) => diag.error(
            span,
            format!(
                "{kind} `{name}` is declared by {} with type `{}`; every use must have the same type",
                prev.owner,
                prev.ty.as_deref().unwrap_or_default()
            ),
        ),
        Some(prev) => diag.error(
            span,
            format!(
                "{kind} name `{name}` clashes with the {} `{name}` of {}; actions, events and bridges share one namespace",
                prev.kind, prev.owner
            ),
        ),
    }
}

/// Whether several declarations may name the same wire name of this kind.
fn shared(kind: &str) -> bool {
    matches!(kind, "event" | "bridge")
}

/// `Some(("Emitter", [T]))` when `ty` is a path ending in `Emitter<…>` or `Bridge<…>`.
fn callback_kind(ty: &Type) -> Option<(&'static str, Vec<Type>)> {
    ["Emitter", "Bridge"]
        .into_iter()
        .find_map(|kind| generic_args(ty, kind).map(|args| (kind, args)))
}

/// The type arguments of `ty` when its last path segment is `name`.
fn generic_args(ty: &Type, name: &str) -> Option<Vec<Type>> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    Some(match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

fn output(ret: &ReturnType) -> Output {
    let ReturnType::Type(_, ty) = ret else {
        return Output {
            ok: None,
            error: None,
        };
    };
    let (ok, error) = match generic_args(ty, "Result").as_deref() {
        Some([ok, error]) => (ok.clone(), Some(error.clone())),
        // A one-argument alias such as `io::Result<T>` fixes its own error type.
        Some([ok]) => (ok.clone(), Some(syn::parse_quote!(_))),
        _ => ((**ty).clone(), None),
    };
    Output {
        ok: (!is_unit(&ok)).then_some(ok),
        error,
    }
}
