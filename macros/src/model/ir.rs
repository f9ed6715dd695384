//! The checked IR of a surface: what [`check`](super::check) builds from the parsed attributes
//! and every renderer in `emit/` reads.

use proc_macro2::{Ident, Span};
use syn::{ItemImpl, Type};

pub struct Surface {
    pub actor: String,
    /// The contract's semantic version.
    pub version: String,
    /// The surface this one adds its actions to (`extends = Path`).
    pub extends: Option<syn::Path>,
    pub item: ItemImpl,
    /// The generated emitter of the actor's own events, e.g. `AgentOsEvents`.
    pub events_type: Ident,
    pub actor_events: Vec<ActorEvent>,
    /// The module that holds the action DTOs, e.g. `agent_os_actions`.
    pub dto_mod: Ident,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    pub bridges: Vec<BridgeDef>,
    pub hooks: Vec<Note>,
    pub unsupported: Vec<Note>,
    /// Every name this surface puts on the wire (actions, events, bridges, bridge responses),
    /// sorted, each spanned where it was first declared.
    pub wire_names: Vec<(String, Span)>,
}

pub struct Action {
    pub method: Ident,
    pub name: String,
    /// The DTO struct, e.g. `MountFs`.
    pub dto: Ident,
    /// The generated method that decodes a call's arguments and calls `method`, e.g.
    /// `__action_mount_fs`: the dispatcher only forwards to it.
    pub handler: Ident,
    pub docs: String,
    pub deprecated: Option<String>,
    /// Other wire names that call it (`#[action(alias = "…")]`).
    pub aliases: Vec<String>,
    pub is_async: bool,
    pub params: Vec<Param>,
    pub output: Output,
}

impl Action {
    pub fn data_params(&self) -> impl Iterator<Item = (&Param, Option<&Type>)> {
        self.params.iter().filter_map(|p| match &p.kind {
            ParamKind::Data { optional } => Some((p, optional.as_ref())),
            _ => None,
        })
    }
}

pub struct Param {
    pub ident: Ident,
    /// Its name in TypeScript (`onChunk`): the parameter's in the contract, or the callback
    /// option's of an emitter.
    pub wire: String,
    pub ty: Type,
    pub kind: ParamKind,
}

pub enum ParamKind {
    /// Travels positionally; `optional` holds `T` of an `Option<T>`.
    Data {
        optional: Option<Type>,
    },
    Emitter {
        event: String,
        payload: Type,
    },
    Bridge {
        bridge: String,
    },
}

pub struct Output {
    /// `None` for `()`.
    pub ok: Option<Type>,
    /// The `E` of a `Result<T, E>` return; `None` for infallible methods.
    pub error: Option<Type>,
}

pub struct Event {
    pub name: String,
    pub payload: Type,
    pub action: String,
    pub option: String,
}

/// An event the actor raises itself (declared in `#[surface(events(…))]`).
pub struct ActorEvent {
    pub name: String,
    /// The emitter method, e.g. `shell_data`.
    pub method: Ident,
    pub payload: Type,
}

pub struct BridgeDef {
    pub name: String,
    /// Its name in Rust (`tool_call`): the method of the generated events type that asks an
    /// actor bridge, and the label of the bridge's type checks.
    pub ident: Ident,
    pub request: Type,
    pub response: Type,
    /// The action through which clients answer, e.g. `respondToolCall`.
    pub respond_action: String,
    /// That action's DTO, e.g. `RespondToolCall`.
    pub respond_dto: Ident,
    /// That action's generated method, e.g. `__action_respond_tool_call`.
    pub respond_handler: Ident,
    pub asker: Asker,
}

/// Who asks a bridge's question.
pub enum Asker {
    /// A `Bridge` parameter of this action, during the call.
    Action(String),
    /// The actor itself (declared in `#[surface(bridges(…))]`), through the generated events
    /// type.
    Actor,
}

pub struct Note {
    pub method: Ident,
    pub name: String,
    pub docs: String,
    pub reason: Option<String>,
}
