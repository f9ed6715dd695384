//! One fixture pair per rule: a small base contract, and the base with one edit.

use super::*;
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "actor": "demo", "version": "1.2.0", "hash": "",
        "actions": [
            { "name": "run", "method": "run", "docs": "", "deprecated": null,
              "params": [{ "name": "command", "ts": "string", "optional": false },
                         { "name": "options", "ts": "RunOptions", "optional": true }],
              "returns": "RunResult", "callbacks": [], "bridges": [] },
            { "name": "stat", "method": "stat", "docs": "", "deprecated": null,
              "params": [{ "name": "path", "ts": "string", "optional": false }],
              "returns": "Stat", "callbacks": [], "bridges": [] }
        ],
        "events": [{ "name": "exited", "data": "Exited", "scope": "actor", "docs": "" }],
        "bridges": [],
        "hooks": [], "unsupported": [],
        "types": {
            "RunOptions": { "decl": "type RunOptions = { cwd?: string, mode?: Mode, };", "docs": "" },
            "Mode": { "decl": "type Mode = \"fast\" | \"safe\";", "docs": "" },
            "RunResult": { "decl": "type RunResult = { code: number, stdout: string, kind: Kind, };", "docs": "" },
            "Kind": { "decl": "type Kind = \"ok\" | \"failed\";", "docs": "" },
            "Stat": { "decl": "type Stat = { size: number, mtime?: number, };", "docs": "" },
            "Exited": { "decl": "type Exited = { pid: number, };", "docs": "" }
        }
    })
}

fn contract(v: Value) -> Contract {
    serde_json::from_value(v).unwrap()
}

/// The changes the edit makes, as `(breaking, what)`.
fn changes(edit: impl FnOnce(&mut Value)) -> Vec<(bool, String)> {
    let mut new = base();
    edit(&mut new);
    diff(&contract(base()), &contract(new))
        .into_iter()
        .map(|c| (c.breaking, c.what))
        .collect()
}

/// A rule: its name, the edit that exercises it, and what the report must say.
type Case = (&'static str, Box<dyn FnOnce(&mut Value)>, &'static str);

fn decl(v: &mut Value, name: &str, decl: &str) {
    v["types"][name]["decl"] = json!(decl);
}

#[test]
fn breaking_rules() {
    let cases: Vec<Case> = vec![
        (
            "removed action",
            Box::new(|v| {
                v["actions"].as_array_mut().unwrap().remove(1);
            }),
            "action `stat` removed",
        ),
        (
            "renamed action",
            Box::new(|v| v["actions"][1]["name"] = json!("status")),
            "action `stat` removed",
        ),
        (
            "removed event",
            Box::new(|v| v["events"] = json!([])),
            "event `exited` removed",
        ),
        (
            "new required argument",
            Box::new(|v| {
                v["actions"][1]["params"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "name": "deep", "ts": "boolean", "optional": false }));
            }),
            "action `stat`: required argument 2 `deep` added",
        ),
        (
            "optional argument made required",
            Box::new(|v| v["actions"][0]["params"][1]["optional"] = json!(false)),
            "argument 2 `options` became required",
        ),
        (
            "argument type changed",
            Box::new(|v| v["actions"][1]["params"][0]["ts"] = json!("number")),
            "argument 1 `path`: string became number",
        ),
        (
            "argument narrowed",
            Box::new(|v| decl(v, "Mode", "type Mode = \"fast\";")),
            "\"safe\" no longer accepted",
        ),
        (
            "result field removed",
            Box::new(|v| {
                decl(
                    v,
                    "RunResult",
                    "type RunResult = { code: number, kind: Kind, };",
                )
            }),
            "field `stdout` removed",
        ),
        (
            "result field type changed",
            Box::new(|v| decl(v, "Stat", "type Stat = { size: string, mtime?: number, };")),
            "action `stat` result.size: number became string",
        ),
        (
            "result field may be absent",
            Box::new(|v| decl(v, "Stat", "type Stat = { size?: number, mtime?: number, };")),
            "size may now be absent",
        ),
        (
            "result may be null",
            Box::new(|v| v["actions"][1]["returns"] = json!("Stat | null")),
            "null may now be sent",
        ),
        (
            "event field removed",
            Box::new(|v| decl(v, "Exited", "type Exited = { };")),
            "event `exited`: field `pid` removed",
        ),
        (
            "new required field sent",
            Box::new(|v| {
                decl(
                    v,
                    "RunOptions",
                    "type RunOptions = { cwd?: string, mode?: Mode, user: string, };",
                )
            }),
            "required field `user` added",
        ),
    ];
    for (rule, edit, expected) in cases {
        let found = changes(edit);
        assert!(
            found
                .iter()
                .any(|(breaking, what)| *breaking && what.contains(expected)),
            "{rule}: expected a breaking change naming `{expected}`, got {found:?}"
        );
    }
}

#[test]
fn compatible_rules() {
    let cases: Vec<Case> = vec![
        (
            "new action",
            Box::new(|v| {
                let mut a = v["actions"][1].clone();
                a["name"] = json!("statMany");
                v["actions"].as_array_mut().unwrap().push(a);
            }),
            "action `statMany` added",
        ),
        (
            "new event",
            Box::new(|v| {
                v["events"].as_array_mut().unwrap().push(
                    json!({ "name": "started", "data": "Exited", "scope": "actor", "docs": "" }),
                )
            }),
            "event `started` added",
        ),
        (
            "new optional trailing argument",
            Box::new(|v| {
                v["actions"][1]["params"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "name": "deep", "ts": "boolean", "optional": true }));
            }),
            "optional argument 2 `deep` added",
        ),
        (
            "new optional field sent",
            Box::new(|v| {
                decl(
                    v,
                    "RunOptions",
                    "type RunOptions = { cwd?: string, mode?: Mode, user?: string, };",
                )
            }),
            "optional field `user` added",
        ),
        (
            "new field received",
            Box::new(|v| {
                decl(
                    v,
                    "Stat",
                    "type Stat = { size: number, mtime?: number, ctime: number, };",
                )
            }),
            "required field `ctime` added",
        ),
        (
            "enum variant in an argument",
            Box::new(|v| decl(v, "Mode", "type Mode = \"fast\" | \"safe\" | \"slow\";")),
            "\"slow\" now accepted",
        ),
        (
            "enum variant in a result",
            Box::new(|v| decl(v, "Kind", "type Kind = \"ok\" | \"failed\" | \"killed\";")),
            "\"killed\" may now be sent",
        ),
        (
            "enum variant gone from a result",
            Box::new(|v| decl(v, "Kind", "type Kind = \"ok\";")),
            "\"failed\" no longer sent",
        ),
        (
            "argument widened",
            Box::new(|v| v["actions"][1]["params"][0]["ts"] = json!("string | null")),
            "null now accepted",
        ),
        (
            "type renamed, same shape",
            Box::new(|v| {
                v["types"]["Status"] = json!({ "decl": "type Status = { size: number, mtime?: number, };", "docs": "" });
                v["actions"][1]["returns"] = json!("Status");
            }),
            "",
        ),
    ];
    for (rule, edit, expected) in cases {
        let found = changes(edit);
        assert!(
            found.iter().all(|(breaking, _)| !breaking),
            "{rule}: {found:?}"
        );
        if expected.is_empty() {
            assert!(
                found.is_empty(),
                "{rule}: expected no change, got {found:?}"
            );
        } else {
            assert!(
                found.iter().any(|(_, what)| what.contains(expected)),
                "{rule}: expected `{expected}`, got {found:?}"
            );
        }
    }
}

#[test]
fn a_break_passes_only_with_a_new_major_version() {
    let mut new = base();
    new["actions"].as_array_mut().unwrap().remove(1);
    let (text, ok) = report(&contract(base()), &contract(new.clone()));
    assert!(!ok, "{text}");
    assert!(text.contains("breaking   action `stat` removed"), "{text}");
    assert!(text.contains("need a new major version"), "{text}");
    new["version"] = json!("2.0.0");
    assert!(report(&contract(base()), &contract(new.clone())).1);
    // Under 1.0, the minor is the major.
    let mut zero = base();
    zero["version"] = json!("0.3.1");
    new["version"] = json!("0.3.2");
    assert!(!report(&contract(zero.clone()), &contract(new.clone())).1);
    new["version"] = json!("0.4.0");
    assert!(report(&contract(zero), &contract(new)).1);
}

/// A real breaking edit of the real contract, in a scratch copy, fails the check by name.
#[test]
fn a_breaking_edit_of_the_real_contract_fails_the_check() {
    let real = crate::surfaces()[0].contract.clone();
    let dir = std::env::temp_dir().join(format!("xtask-contract-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&old, serde_json::to_string(&real).unwrap()).unwrap();
    let mut edited = serde_json::to_value(&real).unwrap();
    let actions = edited["actions"].as_array_mut().unwrap();
    actions.retain(|a| a["name"] != "exec");
    let stat = actions.iter_mut().find(|a| a["name"] == "stat").unwrap();
    stat["params"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "follow", "ts": "boolean", "optional": false }));
    std::fs::write(&new, edited.to_string()).unwrap();
    let (text, ok) = report(
        &load(old.to_str().unwrap()).unwrap(),
        &load(new.to_str().unwrap()).unwrap(),
    );
    assert!(!ok);
    assert!(text.contains("action `exec` removed"), "{text}");
    assert!(
        text.contains("action `stat`: required argument 2 `follow` added"),
        "{text}"
    );
    let err = run(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("breaking"), "{err}");
    assert!(run(&["diff", old.to_str().unwrap(), old.to_str().unwrap()]).is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}
