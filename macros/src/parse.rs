//! Stage 1: syn → attributes. Reads `#[surface(…)]`, each method's mapping attribute and each
//! parameter's `#[event]`/`#[bridge]`, strips them from the item, and records malformed
//! attributes without stopping, so the model stage can report everything at once.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, ItemImpl, LitStr, Visibility};

use crate::diag::Diagnostics;

pub const MAPPINGS: &str = "`#[action]`, `#[hook]` or `#[unsupported(reason = \"…\")]`";

pub struct Parsed {
    pub actor: Option<LitStr>,
    /// `version = "MAJOR.MINOR.PATCH"`: the contract's semantic version.
    pub version: Option<LitStr>,
    /// `extends = Path`: the surface whose actions and events this one adds to.
    pub extends: Option<syn::Path>,
    /// `events(name = Type, …)`: events the actor raises itself, not through a call.
    pub actor_events: Vec<(syn::Ident, syn::Type)>,
    /// `bridges(name = Req => Resp, …)`: questions the actor asks clients itself, not for a
    /// call (an agent's tool call arrives while no client call runs).
    pub actor_bridges: Vec<ActorBridgeDecl>,
    pub attr_span: Span,
    /// The impl with every helper attribute removed: what the compiler sees.
    pub item: ItemImpl,
    pub methods: Vec<ParsedMethod>,
    pub diag: Diagnostics,
}

pub struct ActorBridgeDecl {
    pub name: syn::Ident,
    pub request: syn::Type,
    pub response: syn::Type,
}

/// The options of `#[surface(…)]`.
#[derive(Default)]
struct SurfaceArgs {
    actor: Option<LitStr>,
    version: Option<LitStr>,
    extends: Option<syn::Path>,
    events: Vec<(syn::Ident, syn::Type)>,
    bridges: Vec<ActorBridgeDecl>,
}

pub struct ParsedMethod {
    pub sig: syn::Signature,
    pub is_pub: bool,
    pub docs: String,
    pub mappings: Vec<Mapping>,
    /// One entry per typed (non-receiver) input, in order.
    pub params: Vec<ParsedParam>,
}

/// The options of `#[action(…)]`.
#[derive(Default)]
pub struct ActionAttr {
    pub name: Option<LitStr>,
    pub deprecated: Option<LitStr>,
    /// Other names it answers to on the wire (a peer's), deprecated in clients.
    pub aliases: Vec<LitStr>,
}

pub enum Mapping {
    Action { span: Span, attr: ActionAttr },
    Hook { span: Span },
    Unsupported { span: Span, reason: Option<LitStr> },
}

impl Mapping {
    pub fn span(&self) -> Span {
        match self {
            Self::Action { span, .. } | Self::Hook { span } | Self::Unsupported { span, .. } => {
                *span
            }
        }
    }
}

pub struct ParsedParam {
    pub pat_type: syn::PatType,
    pub event: Option<LitStr>,
    pub bridge: Option<LitStr>,
}

pub fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Parsed> {
    let mut diag = Diagnostics::default();
    let attr_span = if attr.is_empty() {
        Span::call_site()
    } else {
        attr.span()
    };
    let args = parse_surface_args(attr, &mut diag);
    let mut item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[surface] applies to an inherent `impl` block of the core type",
        )
    })?;
    if let Some((_, path, _)) = &item.trait_ {
        diag.error(
            path.span(),
            "#[surface] applies to an inherent `impl` block, not a trait impl",
        );
    }
    if !item.generics.params.is_empty() {
        diag.error(
            item.generics.span(),
            "#[surface] cannot be generic: one concrete type backs one actor",
        );
    }
    let methods = item
        .items
        .iter_mut()
        .filter_map(|it| match it {
            ImplItem::Fn(f) => Some(parse_method(f, &mut diag)),
            _ => None,
        })
        .collect();
    Ok(Parsed {
        actor: args.actor,
        version: args.version,
        extends: args.extends,
        actor_events: args.events,
        actor_bridges: args.bridges,
        attr_span,
        item,
        methods,
        diag,
    })
}

fn parse_surface_args(attr: TokenStream, diag: &mut Diagnostics) -> SurfaceArgs {
    let mut args = SurfaceArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("actor") {
            args.actor = Some(meta.value()?.parse::<LitStr>()?);
            Ok(())
        } else if meta.path.is_ident("version") {
            args.version = Some(meta.value()?.parse::<LitStr>()?);
            Ok(())
        } else if meta.path.is_ident("extends") {
            args.extends = Some(meta.value()?.parse::<syn::Path>()?);
            Ok(())
        } else if meta.path.is_ident("events") {
            meta.parse_nested_meta(|event| {
                let name = event.path.require_ident()?.clone();
                args.events
                    .push((name, event.value()?.parse::<syn::Type>()?));
                Ok(())
            })
        } else if meta.path.is_ident("bridges") {
            meta.parse_nested_meta(|bridge| {
                let name = bridge.path.require_ident()?.clone();
                let input = bridge.value()?;
                let request = input.parse::<syn::Type>()?;
                input.parse::<syn::Token![=>]>().map_err(|e| {
                    syn::Error::new(e.span(), format!("expected `{name} = Request => Response`"))
                })?;
                let response = input.parse::<syn::Type>()?;
                args.bridges.push(ActorBridgeDecl {
                    name,
                    request,
                    response,
                });
                Ok(())
            })
        } else {
            Err(meta.error(
                "unknown #[surface] option; valid options: `actor = \"…\"`, `version = \"MAJOR.MINOR.PATCH\"`, `extends = Path`, `events(name = Type, …)`, `bridges(name = Request => Response, …)`",
            ))
        }
    });
    if let Err(err) = syn::parse::Parser::parse2(parser, attr) {
        diag.push(err);
    }
    args
}

fn parse_method(f: &mut syn::ImplItemFn, diag: &mut Diagnostics) -> ParsedMethod {
    let mut mappings = Vec::new();
    f.attrs.retain(|attr| match parse_mapping(attr) {
        Some((mapping, problem)) => {
            mappings.push(mapping);
            if let Some(err) = problem {
                diag.push(err);
            }
            false
        }
        None => true,
    });
    let params = f
        .sig
        .inputs
        .iter_mut()
        .filter_map(|input| match input {
            syn::FnArg::Typed(pat_type) => Some(parse_param(pat_type, diag)),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    ParsedMethod {
        sig: f.sig.clone(),
        is_pub: matches!(f.vis, Visibility::Public(_)),
        docs: docs(&f.attrs),
        mappings,
        params,
    }
}

/// A recognised mapping attribute, with the problem in its options if any: a malformed
/// mapping still classifies its method, so one mistake is reported once.
fn parse_mapping(attr: &Attribute) -> Option<(Mapping, Option<syn::Error>)> {
    let path = attr.path();
    let span = attr.span();
    let has_list = matches!(attr.meta, syn::Meta::List(_));
    if path.is_ident("action") {
        let mut options = ActionAttr::default();
        let problem = has_list
            .then(|| {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("name") {
                        options.name = Some(meta.value()?.parse()?);
                    } else if meta.path.is_ident("deprecated") {
                        options.deprecated = Some(meta.value()?.parse()?);
                    } else if meta.path.is_ident("alias") {
                        options.aliases.push(meta.value()?.parse()?);
                    } else {
                        return Err(meta.error(
                            "unknown #[action] option; valid options: `name = \"…\"`, `deprecated = \"…\"`, `alias = \"…\"` (repeatable)",
                        ));
                    }
                    Ok(())
                })
                .err()
            })
            .flatten();
        Some((
            Mapping::Action {
                span,
                attr: options,
            },
            problem,
        ))
    } else if path.is_ident("hook") {
        let problem = (!matches!(attr.meta, syn::Meta::Path(_)))
            .then(|| syn::Error::new(span, "#[hook] takes no options"));
        Some((Mapping::Hook { span }, problem))
    } else if path.is_ident("unsupported") {
        let mut reason = None;
        let problem = has_list
            .then(|| {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("reason") {
                        reason = Some(meta.value()?.parse()?);
                        Ok(())
                    } else {
                        Err(meta.error(
                            "unknown #[unsupported] option; valid options: `reason = \"…\"`",
                        ))
                    }
                })
                .err()
            })
            .flatten();
        Some((Mapping::Unsupported { span, reason }, problem))
    } else {
        None
    }
}

fn parse_param(pat_type: &mut syn::PatType, diag: &mut Diagnostics) -> ParsedParam {
    let (mut event, mut bridge) = (None, None);
    pat_type.attrs.retain(|attr| {
        let slot = if attr.path().is_ident("event") {
            &mut event
        } else if attr.path().is_ident("bridge") {
            &mut bridge
        } else {
            return true;
        };
        match attr.parse_args::<LitStr>() {
            Ok(name) => *slot = Some(name),
            Err(_) => diag.error(
                attr.span(),
                format!(
                    "expected a name in quotes: `#[{}(\"name\")]`",
                    attr.path()
                        .get_ident()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            ),
        }
        false
    });
    ParsedParam {
        pat_type: pat_type.clone(),
        event,
        bridge,
    }
}

/// Doc comments, one line each, with rustdoc's single leading space removed.
fn docs(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}
