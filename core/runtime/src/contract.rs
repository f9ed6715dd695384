//! The contract: everything a client or a reviewer needs to know about a surface — actions,
//! events, bridges, hooks, unsupported methods, the TypeScript of every type — and a hash of
//! the part that decides wire compatibility.

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::{TS, TypeVisitor};

/// A surface's contract. Built once per surface by generated code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub actor: String,
    /// Semantic version: a breaking change raises the major (under 1.0, the minor). Clients
    /// accept a host of the same major whose minor is at least theirs.
    #[serde(default)]
    pub version: String,
    /// SHA-256 of [`Contract::public_part`]: docs do not change it, names and types do.
    pub hash: String,
    pub actions: Vec<ActionSpec>,
    pub events: Vec<EventSpec>,
    pub bridges: Vec<BridgeSpec>,
    pub hooks: Vec<MethodNote>,
    pub unsupported: Vec<MethodNote>,
    /// TypeScript declarations by type name, each `type Name = …`.
    pub types: BTreeMap<String, TypeDecl>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSpec {
    pub name: String,
    /// The core method it calls; `None` for generated actions such as bridge responses.
    pub method: Option<String>,
    pub docs: String,
    pub deprecated: Option<String>,
    /// For another name of an action (`#[action(alias = "…")]`, a peer's name for it): the
    /// action it calls. Everything else is that action's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    pub params: Vec<ParamSpec>,
    /// TypeScript of the result.
    pub returns: String,
    pub callbacks: Vec<CallbackSpec>,
    pub bridges: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamSpec {
    pub name: String,
    pub ts: String,
    pub optional: bool,
}

/// An `Emitter` parameter: in TypeScript a callback option that receives the event's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackSpec {
    pub option: String,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSpec {
    pub name: String,
    /// TypeScript of the data.
    pub data: String,
    /// Raised by a call (the wire payload is `{ callId, data }`) or by the actor itself (the
    /// payload is the data).
    pub scope: EventScope,
    pub docs: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventScope {
    Call,
    Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BridgeSpec {
    pub name: String,
    pub request: String,
    pub response: String,
    pub respond_action: String,
    /// Asked during a call (the request payload carries its `callId`) or by the actor itself.
    pub scope: EventScope,
    pub docs: String,
}

/// A method that is a hook or unsupported: shown, never callable over the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodNote {
    pub method: String,
    pub name: String,
    pub docs: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeDecl {
    pub decl: String,
    pub docs: String,
}

impl Contract {
    /// The wire-relevant part: names, arities, optionality, callbacks and types, not docs.
    pub fn public_part(&self) -> serde_json::Value {
        serde_json::json!({
            "actor": self.actor,
            "version": self.version,
            "actions": self.actions.iter().map(|a| serde_json::json!({
                "name": a.name,
                "params": a.params.iter().map(|p| (&p.ts, p.optional)).collect::<Vec<_>>(),
                "returns": a.returns,
                "callbacks": a.callbacks,
                "bridges": a.bridges,
            })).collect::<Vec<_>>(),
            "events": self.events.iter().map(|e| (&e.name, &e.data, e.scope)).collect::<Vec<_>>(),
            "bridges": self.bridges.iter().map(|b| (&b.name, &b.request, &b.response, &b.respond_action, b.scope)).collect::<Vec<_>>(),
            "types": self.types.iter().map(|(k, v)| (k, &v.decl)).collect::<Vec<_>>(),
        })
    }

    /// The contract with its hash recomputed from its public part.
    pub fn sealed(mut self) -> Self {
        let bytes = serde_json::to_vec(&self.public_part()).expect("contract serializes");
        self.hash = format!("{:x}", Sha256::digest(bytes));
        self
    }
}

/// Collects a contract; generated code feeds it, [`ContractBuilder::build`] seals the hash.
pub struct ContractBuilder {
    contract: Contract,
    seen: HashSet<TypeId>,
    cfg: ts_rs::Config,
}

impl ContractBuilder {
    pub fn new(actor: &str, version: &str) -> Self {
        Self {
            contract: Contract {
                actor: actor.to_owned(),
                version: version.to_owned(),
                hash: String::new(),
                actions: Vec::new(),
                events: Vec::new(),
                bridges: Vec::new(),
                hooks: Vec::new(),
                unsupported: Vec::new(),
                types: BTreeMap::new(),
            },
            seen: HashSet::new(),
            cfg: ts_rs::Config::new(),
        }
    }

    /// The TypeScript name of `T`, recording the declarations of `T` and all it depends on.
    pub fn ts<T: TS + 'static + ?Sized>(&mut self) -> String {
        self.visit::<T>();
        T::name(&self.cfg)
    }

    pub fn action(&mut self, spec: ActionSpec) {
        self.contract.actions.push(spec);
    }
    pub fn event(&mut self, spec: EventSpec) {
        if !self.contract.events.iter().any(|e| e.name == spec.name) {
            self.contract.events.push(spec);
        }
    }
    pub fn bridge(&mut self, spec: BridgeSpec) {
        if !self.contract.bridges.iter().any(|b| b.name == spec.name) {
            self.contract.bridges.push(spec);
        }
    }
    pub fn hook(&mut self, note: MethodNote) {
        self.contract.hooks.push(note);
    }
    pub fn unsupported(&mut self, note: MethodNote) {
        self.contract.unsupported.push(note);
    }

    /// Adds everything of `base`, the surface this one extends: one actor, one contract.
    /// The macro already refuses names both use at compile time; this catches what it cannot
    /// see (a base that itself extends another).
    pub fn extend(&mut self, base: &Contract) {
        let c = &mut self.contract;
        let taken: HashSet<&str> = c
            .actions
            .iter()
            .map(|a| a.name.as_str())
            .chain(c.events.iter().map(|e| e.name.as_str()))
            .chain(c.bridges.iter().map(|b| b.name.as_str()))
            .collect();
        let clash = base
            .actions
            .iter()
            .map(|a| &a.name)
            .chain(base.events.iter().map(|e| &e.name))
            .chain(base.bridges.iter().map(|b| &b.name))
            .find(|name| taken.contains(name.as_str()));
        if let Some(name) = clash {
            panic!(
                "`{name}` is declared by `{}` and by `{}`, which it extends",
                c.actor, base.actor
            );
        }
        c.actions.extend(base.actions.iter().cloned());
        c.events.extend(base.events.iter().cloned());
        c.bridges.extend(base.bridges.iter().cloned());
        c.hooks.extend(base.hooks.iter().cloned());
        c.unsupported.extend(base.unsupported.iter().cloned());
        for (name, decl) in &base.types {
            c.types.entry(name.clone()).or_insert_with(|| decl.clone());
        }
    }

    pub fn build(self) -> Contract {
        self.contract.sealed()
    }
}

impl TypeVisitor for ContractBuilder {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Only types with a file of their own in ts-rs (derived ones) have a declaration;
        // built-ins and wrappers are inlined by name.
        if T::output_path().is_some() && self.seen.insert(TypeId::of::<T::WithoutGenerics>()) {
            self.contract.types.insert(
                T::ident(&self.cfg),
                TypeDecl {
                    decl: T::WithoutGenerics::decl(&self.cfg),
                    docs: T::docs().unwrap_or_default(),
                },
            );
            T::visit_dependencies(self);
        }
        T::visit_generics(self);
    }
}
