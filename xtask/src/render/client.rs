//! `client.ts`: typed interfaces for actions, events and bridges, and `create<Prefix>Client`.
//! Callback parameters come back as callback options on the trailing options argument.

use agentos_core::runtime::{ActionSpec, Contract, EventScope};

use super::{PREAMBLE, jsdoc};
use crate::tstype::{Ty, parse_decl, parse_type};

pub fn render(c: &Contract, prefix: &str, runtime: &str) -> String {
    let body = body(c, prefix);
    // Doc comments name types in prose ("Closing a shell…"): only code counts as a use.
    let code: String = body
        .lines()
        .filter(|line| !line.trim_start().starts_with(['*', '/']))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::from(PREAMBLE);
    out.push_str(&format!(
        "\nimport {{ createClient }} from \"{runtime}\";\n"
    ));
    out.push_str(&format!(
        "import type {{ CallEvent, CallOptions, ClientBase, ClientOptions, Transport }} from \"{runtime}\";\n"
    ));
    out.push_str("import { contract } from \"./contract.js\";\n");
    let used: Vec<&str> = c
        .types
        .keys()
        .map(String::as_str)
        .filter(|name| mentions(&code, name))
        .collect();
    if !used.is_empty() {
        out.push_str(&format!(
            "import type {{ {} }} from \"./types.js\";\n",
            used.join(", ")
        ));
    }
    if !c.types.is_empty() {
        out.push_str("\nexport type * from \"./types.js\";\n");
    }
    out + &body
}

/// Whether `text` names the type `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

fn body(c: &Contract, prefix: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n/** Actions of the `{}` actor. */\nexport interface {prefix}Actions {{\n",
        c.actor
    ));
    for a in &c.actions {
        out.push_str(&action_docs(a, c));
        out.push_str(&format!(
            "  {}({}): Promise<{}>;\n",
            a.name,
            params(a, c).join(", "),
            a.returns
        ));
    }
    out.push_str("}\n");

    out.push_str(&format!("\n/** Events of the `{}` actor, by name, with their payloads. */\nexport interface {prefix}Events {{\n", c.actor));
    for e in &c.events {
        out.push_str(&jsdoc(std::slice::from_ref(&e.docs), "  "));
        let payload = match e.scope {
            EventScope::Call => format!("CallEvent<{}>", e.data),
            EventScope::Actor => e.data.clone(),
        };
        out.push_str(&format!("  {}: {payload};\n", e.name));
    }
    out.push_str("}\n");

    out.push_str(&format!("\n/** Bridges of the `{}` actor: requests a client answers with `handle`. */\nexport interface {prefix}Bridges {{\n", c.actor));
    for b in &c.bridges {
        out.push_str(&jsdoc(std::slice::from_ref(&b.docs), "  "));
        out.push_str(&format!(
            "  {}: {{ request: {}; response: {} }};\n",
            b.name, b.request, b.response
        ));
    }
    out.push_str("}\n");

    out.push_str(&format!(
        "\n/** A typed client of the `{}` actor. */\nexport type {prefix}Client = {prefix}Actions & ClientBase<{prefix}Events, {prefix}Bridges>;\n",
        c.actor
    ));
    let notes = |notes: &[agentos_core::runtime::MethodNote], what: &str| -> String {
        notes
            .iter()
            .map(|n| {
                format!(
                    "  {}: {},\n",
                    n.name,
                    serde_json::json!(n.reason.as_deref().unwrap_or(what))
                )
            })
            .collect()
    };
    out.push_str(&format!(
        "\n/** Core methods the `{}` actor does not offer over the wire, with the reason. */\nexport const {}Unsupported = {{\n{}}} as const;\n",
        c.actor,
        lower_first(prefix),
        notes(&c.unsupported, "")
    ));
    out.push_str(&format!(
        "\n/** Hooks: set by Rust code that hosts the actor, never over the wire. */\nexport const {}Hooks = {{\n{}}} as const;\n",
        lower_first(prefix),
        notes(&c.hooks, "set by Rust code that hosts the actor")
    ));
    out.push_str(&format!(
        "\n/** Connects to the `{}` actor; calls wait for the connection and its contract check. */\nexport function create{prefix}Client(transport: Transport, options?: ClientOptions): {prefix}Client {{\n  return createClient(transport, contract, options) as {prefix}Client;\n}}\n",
        c.actor
    ));
    out
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn action_docs(a: &ActionSpec, c: &Contract) -> String {
    let mut lines = vec![a.docs.clone()];
    for cb in &a.callbacks {
        lines.push(format!(
            "\nCallback option `{}` receives the data of each `{}` event this call raises.",
            cb.option, cb.event
        ));
    }
    for bridge in &a.bridges {
        let respond = c
            .bridges
            .iter()
            .find(|b| &b.name == bridge)
            .map_or("", |b| b.respond_action.as_str());
        lines.push(format!(
            "\nAsks connected clients through the `{bridge}` bridge (answered by `{respond}`)."
        ));
    }
    if let Some(d) = &a.deprecated {
        lines.push(format!("@deprecated {d}"));
    }
    jsdoc(&lines, "  ")
}

/// Parameters in TypeScript. Optional parameters are `?` only when no required one follows.
/// The call's options (`CallOptions`: its `signal`, and its callbacks) ride on a trailing
/// optional options parameter (an object type, or any optional one when there are callbacks),
/// or on a new `call` one.
fn params(a: &ActionSpec, c: &Contract) -> Vec<String> {
    let last_required = a.params.iter().rposition(|p| !p.optional);
    let mut out: Vec<String> = a
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| match (p.optional, last_required) {
            (true, Some(r)) if i < r => format!("{}: {} | null | undefined", p.name, p.ts),
            (true, _) => format!("{}?: {}", p.name, p.ts),
            (false, _) => format!("{}: {}", p.name, p.ts),
        })
        .collect();
    let listeners: Vec<String> = a
        .callbacks
        .iter()
        .map(|cb| {
            let data = c
                .events
                .iter()
                .find(|e| e.name == cb.event)
                .map_or("unknown", |e| e.data.as_str());
            format!("{}?: (data: {data}) => void", cb.option)
        })
        .collect();
    let options = if listeners.is_empty() {
        "CallOptions".to_owned()
    } else {
        format!("CallOptions & {{ {} }}", listeners.join("; "))
    };
    match (a.params.last(), out.last_mut()) {
        (Some(p), Some(last))
            if p.optional
                && last_required.is_none_or(|r| r + 1 < a.params.len())
                && (!a.callbacks.is_empty() || is_object(&p.ts, c)) =>
        {
            last.push_str(&format!(" & {options}"));
        }
        _ => out.push(format!("call?: {options}")),
    }
    out
}

/// Whether values of the TypeScript type `ts` are plain objects (an options bag).
fn is_object(ts: &str, c: &Contract) -> bool {
    let Ok(mut ty) = parse_type(ts) else {
        return false;
    };
    while let Ty::Named(name, args) = &ty {
        match c.types.get(name).and_then(|t| parse_decl(&t.decl).ok()) {
            Some(decl) => ty = decl.instantiate(args),
            None => return false,
        }
    }
    matches!(ty, Ty::Object(_))
}
