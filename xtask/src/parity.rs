//! The parity report: every core method of a surface and what it became on the wire.

use std::fmt::Write as _;

use agentos_core::runtime::{Contract, EventScope};

pub fn report(contract: &Contract) -> String {
    let mut rows: Vec<(String, &str, String)> = Vec::new();
    for action in &contract.actions {
        let Some(method) = &action.method else {
            continue;
        };
        let params: Vec<String> = action
            .params
            .iter()
            .map(|p| format!("{}{}", p.name, if p.optional { "?" } else { "" }))
            .collect();
        let mut wire = format!(
            "{}({}) -> {}",
            action.name,
            params.join(", "),
            action.returns
        );
        for cb in &action.callbacks {
            write!(wire, "; event {} (callback {})", cb.event, cb.option).expect("string write");
        }
        for bridge in &action.bridges {
            let respond = contract
                .bridges
                .iter()
                .find(|b| &b.name == bridge)
                .map_or("?", |b| b.respond_action.as_str());
            write!(wire, "; bridge {bridge} (answered by {respond})").expect("string write");
        }
        if let Some(d) = &action.deprecated {
            write!(wire, "; deprecated: {d}").expect("string write");
        }
        rows.push((method.clone(), "action", wire));
    }
    for hook in &contract.hooks {
        rows.push((
            hook.method.clone(),
            "hook",
            "set by Rust code that hosts the actor".into(),
        ));
    }
    // The actor's own questions belong to no method; they are listed for the callbacks they
    // replace (a toolkit tool's `execute`).
    for bridge in contract
        .bridges
        .iter()
        .filter(|b| b.scope == EventScope::Actor)
    {
        rows.push((
            "(the actor)".into(),
            "bridge",
            format!(
                "{}: {} -> {} (answered by {})",
                bridge.name, bridge.request, bridge.response, bridge.respond_action
            ),
        ));
    }
    for note in &contract.unsupported {
        rows.push((
            note.method.clone(),
            "unsupported",
            note.reason.clone().unwrap_or_default(),
        ));
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(11);
    let mut out = format!(
        "{} ({} core methods, contract {})\n",
        contract.actor,
        rows.len(),
        &contract.hash[..12]
    );
    writeln!(out, "{:width$}  {:11}  wire", "core method", "mapping").expect("string write");
    for (method, kind, wire) in rows {
        writeln!(out, "{method:width$}  {kind:11}  {wire}").expect("string write");
    }
    out
}
