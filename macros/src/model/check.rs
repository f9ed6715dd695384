//! The rules of the attribute language, applied while building the IR: each violation is
//! spanned on the user's tokens and says what the valid choices are.

use std::collections::HashMap;
use std::fmt;

use proc_macro2::{Ident, Span};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, ReturnType, Type};

use super::ir::{
    Action, ActorEvent, Asker, BridgeDef, Event, Note, Output, Param, ParamKind, Surface,
};
use crate::diag::Diagnostics;
use crate::names;
use crate::parse::{
    ActionAttr, ActorBridgeDecl, MAPPINGS, Mapping, Parsed, ParsedMethod, ParsedParam,
};

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

/// What claimed a wire name: actions, events and bridges share one namespace, and the kind
/// decides whether a second declaration of the name is a clash and what the message says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WireKind {
    Action,
    /// An event of an `Emitter` parameter.
    Event,
    /// An event of `#[surface(events(…))]`.
    ActorEvent,
    /// A bridge of a `Bridge` parameter.
    Bridge,
    /// A bridge of `#[surface(bridges(…))]`.
    ActorBridge,
    /// The generated action that answers a bridge.
    ResponseAction,
}

impl WireKind {
    /// Whether several declarations may claim one name of this kind (with one type): a call's
    /// event or bridge may serve several actions.
    fn shared(self) -> bool {
        matches!(self, Self::Event | Self::Bridge)
    }

    /// What an invalid or reserved name is called in its error.
    fn noun(self) -> &'static str {
        match self {
            Self::Action | Self::ResponseAction => "action",
            Self::Event | Self::ActorEvent => "event",
            Self::Bridge | Self::ActorBridge => "bridge",
        }
    }
}

impl fmt::Display for WireKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Action => "action",
            Self::Event => "event",
            Self::ActorEvent => "actor event",
            Self::Bridge => "bridge",
            Self::ActorBridge => "actor bridge",
            Self::ResponseAction => "response action",
        })
    }
}

/// The parameter types the macro wires to the call instead of decoding from its arguments.
#[derive(Clone, Copy)]
enum Callback {
    /// `Emitter<T>`, with `#[event("…")]`.
    Emitter,
    /// `Bridge<Req, Resp>`, with `#[bridge("…")]`.
    Bridge,
}

impl Callback {
    /// The type's name, as the last segment of its path.
    fn type_name(self) -> &'static str {
        match self {
            Self::Emitter => "Emitter",
            Self::Bridge => "Bridge",
        }
    }

    /// `Some((kind, type arguments))` when `ty` is a path ending in `Emitter<…>` or `Bridge<…>`.
    fn of(ty: &Type) -> Option<(Self, Vec<Type>)> {
        [Self::Emitter, Self::Bridge]
            .into_iter()
            .find_map(|kind| generic_args(ty, kind.type_name()).map(|args| (kind, args)))
    }
}

/// Where a wire name was claimed, for clash messages.
struct Claim {
    kind: WireKind,
    span: Span,
    owner: String,
    /// Token text of the payload type for events and bridges: the same name may be declared
    /// by several actions only with the same type.
    ty: Option<String>,
}

/// Every wire name claimed so far.
#[derive(Default)]
struct Claims(HashMap<String, Claim>);

impl Surface {
    pub fn check(parsed: Parsed) -> syn::Result<Surface> {
        let Parsed {
            actor,
            version,
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
        let version = match version {
            Some(lit) if is_semver(&lit.value()) => lit.value(),
            Some(lit) => {
                diag.error(
                    lit.span(),
                    format!(
                        "`{}` is not a semantic version: write `version = \"MAJOR.MINOR.PATCH\"`, e.g. `version = \"1.0.0\"`",
                        lit.value()
                    ),
                );
                String::new()
            }
            None => DEFAULT_VERSION.to_owned(),
        };
        let self_name = match &*item.self_ty {
            Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        }
        .unwrap_or_else(|| "surface".to_owned());
        let mut claims = Claims::default();
        let actor_events = actor_events
            .into_iter()
            .filter_map(|(ident, payload)| {
                let name = ident.to_string();
                let kind = WireKind::ActorEvent;
                check_name(&name, kind, ident.span(), &mut diag).then(|| {
                    claims.claim(&name, ident.span(), kind, "the surface", None, &mut diag);
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
            version,
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
            surface.bridge(
                &name.to_string(),
                name.span(),
                [request, response],
                Asker::Actor,
                &mut claims,
                &mut diag,
            );
        }
        for method in &methods {
            surface.classify(method, &mut claims, &mut diag);
        }
        surface.wire_names = claims.into_sorted();
        diag.finish(surface)
    }

    fn classify(&mut self, method: &ParsedMethod, claims: &mut Claims, diag: &mut Diagnostics) {
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
            Mapping::Action { attr, .. } => {
                if let Some(action) = self.action(method, attr, docs, claims, diag) {
                    self.actions.push(action);
                }
            }
        }
    }

    fn action(
        &mut self,
        method: &ParsedMethod,
        attr: &ActionAttr,
        docs: String,
        claims: &mut Claims,
        diag: &mut Diagnostics,
    ) -> Option<Action> {
        let sig = &method.sig;
        let ident = &sig.ident;
        let (wire, name_span) = match &attr.name {
            Some(lit) => (lit.value(), lit.span()),
            None => (names::camel(&ident.to_string()), ident.span()),
        };
        let mut ok = check_name(&wire, WireKind::Action, name_span, diag);
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
        claims.claim(
            &wire,
            name_span,
            WireKind::Action,
            &format!("method `{ident}`"),
            None,
            diag,
        );
        for alias in &attr.aliases {
            ok &= check_name(&alias.value(), WireKind::Action, alias.span(), diag);
            claims.claim(
                &alias.value(),
                alias.span(),
                WireKind::Action,
                &format!("method `{ident}` (as an alias)"),
                None,
                diag,
            );
        }
        let output = output(&sig.output);
        ok.then(|| Action {
            method: ident.clone(),
            dto: format_ident!("{}", names::pascal(&wire)),
            handler: handler(&wire),
            name: wire,
            docs,
            deprecated: attr.deprecated.as_ref().map(syn::LitStr::value),
            aliases: attr.aliases.iter().map(syn::LitStr::value).collect(),
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
        claims: &mut Claims,
        diag: &mut Diagnostics,
    ) {
        let (kind, owner) = match &asker {
            Asker::Action(action) => (WireKind::Bridge, format!("action `{action}`")),
            Asker::Actor => (WireKind::ActorBridge, "the surface".to_owned()),
        };
        if !check_name(name, kind, span, diag) {
            return;
        }
        let pair: Type = syn::parse_quote!((#request, #response));
        claims.claim(name, span, kind, &owner, Some(&pair), diag);
        if self.bridges.iter().any(|b| b.name == name) {
            return;
        }
        let respond_action = format!("respond{}", names::pascal(name));
        let respond_dto = format_ident!("{}", names::pascal(&respond_action));
        claims.claim(
            &respond_action,
            span,
            WireKind::ResponseAction,
            &format!("bridge `{name}`"),
            None,
            diag,
        );
        self.bridges.push(BridgeDef {
            name: name.to_owned(),
            ident: format_ident!("{}", names::snake(name)),
            request,
            response,
            respond_dto,
            respond_handler: handler(&respond_action),
            respond_action,
            asker,
        });
    }

    fn param(
        &mut self,
        p: &ParsedParam,
        action: &str,
        method: &Ident,
        claims: &mut Claims,
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
        let wire = names::camel(&ident.to_string());
        let kind = match (Callback::of(&ty), &p.event, &p.bridge) {
            (Some((Callback::Emitter, args)), Some(event), None) if args.len() == 1 => {
                let payload = args[0].clone();
                let name = event.value();
                if check_name(&name, WireKind::Event, event.span(), diag) {
                    let owner = format!("action `{action}`");
                    claims.claim(
                        &name,
                        event.span(),
                        WireKind::Event,
                        &owner,
                        Some(&payload),
                        diag,
                    );
                    if !self.events.iter().any(|e| e.name == name) {
                        self.events.push(Event {
                            name: name.clone(),
                            payload: payload.clone(),
                            action: action.to_owned(),
                            option: wire.clone(),
                        });
                    }
                }
                ParamKind::Emitter {
                    event: name,
                    payload,
                }
            }
            (Some((Callback::Bridge, args)), None, Some(bridge)) if args.len() == 2 => {
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
            (Some((Callback::Emitter, _)), None, _) => {
                diag.error(ty.span(), format!("`{ident}` is an `Emitter`; name its event: `#[event(\"name\")] {ident}: Emitter<T>`"));
                return None;
            }
            (Some((Callback::Bridge, _)), _, None) => {
                diag.error(ty.span(), format!("`{ident}` is a `Bridge`; name it: `#[bridge(\"name\")] {ident}: Bridge<Req, Resp>`"));
                return None;
            }
            (Some((kind, _)), _, _) => {
                diag.error(ty.span(), format!("`{ident}`: write `Emitter<T>` or `Bridge<Req, Resp>` with their type arguments, with `#[event(\"…\")]` or `#[bridge(\"…\")]` respectively (found `{}`)", kind.type_name()));
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
        Some(Param {
            ident,
            wire,
            ty,
            kind,
        })
    }
}

/// The generated method behind the action `wire`: named after the wire name, which is unique,
/// rather than the Rust method, which a response action does not have.
fn handler(wire: &str) -> Ident {
    format_ident!("__action_{}", names::snake(wire))
}

fn check_name(name: &str, kind: WireKind, span: Span, diag: &mut Diagnostics) -> bool {
    let kind = kind.noun();
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

impl Claims {
    /// Claims `name` for `owner`, or reports why it cannot have it.
    fn claim(
        &mut self,
        name: &str,
        span: Span,
        kind: WireKind,
        owner: &str,
        ty: Option<&Type>,
        diag: &mut Diagnostics,
    ) {
        let ty = ty.map(|t| t.to_token_stream().to_string());
        match self.0.get(name) {
            None => {
                self.0.insert(
                    name.to_owned(),
                    Claim {
                        kind,
                        span,
                        owner: owner.to_owned(),
                        ty,
                    },
                );
            }
            Some(prev) if prev.kind == kind && kind.shared() && prev.ty == ty => {}
            Some(prev) if prev.kind == kind && kind.shared() => diag.error(
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

    /// Every claimed name, sorted, with the span of its first claim.
    fn into_sorted(self) -> Vec<(String, Span)> {
        let mut names: Vec<_> = self
            .0
            .into_iter()
            .map(|(name, claim)| (name, claim.span))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names
    }
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

/// The version of a surface that names none.
const DEFAULT_VERSION: &str = "0.1.0";

/// `MAJOR.MINOR.PATCH`, each a number without leading zeros.
fn is_semver(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}
