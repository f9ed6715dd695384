//! `contract.ts` (what the client runtime needs: hash, arities, callbacks, bridges) and
//! `contract.json` (the whole contract, for tools and reviewers).

use agentos_core::runtime::Contract;
use serde_json::json;

use super::PREAMBLE;

pub fn render_ts(c: &Contract, runtime: &str) -> String {
    let mut out = format!(
        "{PREAMBLE}\nimport type {{ RuntimeContract }} from \"{runtime}\";\n\nexport const contract: RuntimeContract = {{\n  actor: {},\n  version: {},\n  hash: {},\n  actions: {{\n",
        json!(c.actor),
        json!(c.version),
        json!(c.hash)
    );
    for a in &c.actions {
        let callbacks: Vec<String> = a
            .callbacks
            .iter()
            .map(|cb| {
                format!(
                    "{{ option: {}, event: {} }}",
                    json!(cb.option),
                    json!(cb.event)
                )
            })
            .collect();
        out.push_str(&format!(
            "    {}: {{ arity: {}, callbacks: [{}] }},\n",
            a.name,
            a.params.len(),
            callbacks.join(", ")
        ));
    }
    out.push_str("  },\n  bridges: {\n");
    for b in &c.bridges {
        out.push_str(&format!(
            "    {}: {{ event: {}, respondAction: {} }},\n",
            b.name,
            json!(b.name),
            json!(b.respond_action)
        ));
    }
    out.push_str("  },\n};\n");
    out
}

pub fn render_json(c: &Contract) -> String {
    let mut value = serde_json::to_value(c).expect("contract serializes");
    value
        .as_object_mut()
        .expect("contract is an object")
        .insert(
            "$generated".into(),
            json!(PREAMBLE.trim_start_matches("// ").trim()),
        );
    serde_json::to_string_pretty(&value).expect("contract serializes") + "\n"
}
