//! The checking rules, one test per family, run on token streams without compiling a crate
//! (the trybuild cases in `tests/ui/fail` pin the same errors with their spans as users see
//! them).

use proc_macro2::TokenStream;
use quote::quote;

use super::check::RESERVED;
use super::{Asker, Surface};
use crate::parse;

/// Every error `#[surface(attr)]` on `item` reports, in order.
fn errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
    let checked = parse::parse(attr, item).and_then(Surface::check);
    match checked {
        Ok(_) => Vec::new(),
        Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn demo(item: TokenStream) -> Vec<String> {
    errors(quote!(actor = "demo"), item)
}

#[track_caller]
fn assert_errors(found: Vec<String>, expected: &[&str]) {
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(
            found.starts_with(expected),
            "{found:?} does not start with {expected:?}"
        );
    }
}

#[test]
fn a_well_formed_surface_checks_and_derives_its_names() {
    let item = quote! {
        impl FileSystem {
            #[action]
            pub fn read_file(&self, path: String, #[event("progress")] on_progress: Emitter<u32>) -> Vec<u8> { todo!() }
            #[action(name = "stat")]
            pub fn stat_path(&self, path: String) -> u64 { 0 }
            #[hook]
            pub fn on_open(&self) {}
            #[unsupported(reason = "not on this host")]
            pub fn raw(&self) {}
            fn private_helper(&self) {}
        }
    };
    let surface = parse::parse(quote!(actor = "files"), item)
        .and_then(Surface::check)
        .unwrap();
    assert_eq!(surface.actor, "files");
    assert_eq!(surface.dto_mod, "file_system_actions");
    assert_eq!(surface.events_type, "FileSystemEvents");
    let names: Vec<_> = surface
        .wire_names
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["progress", "readFile", "stat"]);
    assert_eq!((surface.hooks.len(), surface.unsupported.len()), (1, 1));
    let [read, stat] = &surface.actions[..] else {
        panic!("two actions")
    };
    assert_eq!(
        (read.dto.to_string(), stat.dto.to_string()),
        ("ReadFile".into(), "Stat".into())
    );
    assert_eq!(read.handler, "__action_read_file");
    let wires: Vec<_> = read.params.iter().map(|p| p.wire.as_str()).collect();
    assert_eq!(wires, ["path", "onProgress"]);
    assert_eq!(surface.events[0].option, "onProgress");
    assert_eq!(surface.hooks[0].name, "onOpen");
}

#[test]
fn a_bridge_derives_its_response_action_with_its_dto_and_handler() {
    let item = quote! {
        impl Core {
            #[action]
            pub fn ask(&self, #[bridge("userInput")] input: Bridge<String, u32>) {}
            #[action]
            pub fn ask_again(&self, #[bridge("userInput")] input: Bridge<String, u32>) {}
        }
    };
    let surface = parse::parse(
        quote!(actor = "demo", bridges(toolCall = String => u32)),
        item,
    )
    .and_then(Surface::check)
    .unwrap();
    let bridges: Vec<_> = surface
        .bridges
        .iter()
        .map(|b| {
            let asker = match &b.asker {
                Asker::Action(action) => action.as_str(),
                Asker::Actor => "(actor)",
            };
            (
                b.name.as_str(),
                b.ident.to_string(),
                b.respond_action.as_str(),
                b.respond_dto.to_string(),
                b.respond_handler.to_string(),
                asker,
            )
        })
        .collect();
    assert_eq!(
        bridges,
        [
            (
                "toolCall",
                "tool_call".into(),
                "respondToolCall",
                "RespondToolCall".into(),
                "__action_respond_tool_call".into(),
                "(actor)"
            ),
            (
                "userInput",
                "user_input".into(),
                "respondUserInput",
                "RespondUserInput".into(),
                "__action_respond_user_input".into(),
                "ask"
            ),
        ]
    );
    let names: Vec<_> = surface.wire_names.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ask",
            "askAgain",
            "respondToolCall",
            "respondUserInput",
            "toolCall",
            "userInput"
        ]
    );
}

#[test]
fn surface_arguments_name_the_valid_options() {
    let found = errors(quote!(name = "demo"), quote!(impl Core {}));
    assert_errors(
        found,
        &[
            "unknown #[surface] option; valid options: `actor = \"…\"`",
            "#[surface] needs the actor's name",
        ],
    );
}

#[test]
fn every_public_method_has_exactly_one_mapping_and_unsupported_has_a_reason() {
    let found = demo(quote! {
        impl Core {
            pub fn forgot(&self) {}
            #[action]
            #[hook]
            pub fn twice(&self) {}
            #[unsupported(reason = "  ")]
            pub fn blank(&self) {}
        }
    });
    assert_errors(
        found,
        &[
            "public method `forgot` has no surface mapping",
            "`twice` has more than one surface mapping",
            "#[unsupported] on `blank` needs a reason users will read",
        ],
    );
}

#[test]
fn wire_names_are_camel_case_unreserved_and_unique() {
    let found = demo(quote! {
        impl Core {
            #[action(name = "mount-fs")]
            pub fn mount_fs(&self) {}
            #[action]
            pub fn then(&self) {}
            #[action]
            pub fn exec(&self, #[event("output")] on_output: Emitter<String>) {}
            #[action]
            pub fn output(&self) {}
        }
    });
    assert_errors(
        found,
        &[
            "action name `mount-fs` is not a valid wire name",
            "action name `then` is reserved by the TypeScript client",
            "action name `output` clashes with the event `output` of action `exec`",
        ],
    );
}

#[test]
fn callbacks_are_named_and_attributes_match_their_types() {
    let found = demo(quote! {
        impl Core {
            #[action]
            pub fn exec(&self, on_output: Emitter<String>) {}
            #[action]
            pub fn ask(&self, answer: Bridge<String, u32>) {}
            #[action]
            pub fn plain(&self, #[bridge("answer")] value: u32) {}
            #[action]
            pub fn a(&self, #[event("done")] done: Emitter<String>) {}
            #[action]
            pub fn b(&self, #[event("done")] done: Emitter<u32>) {}
        }
    });
    assert_errors(
        found,
        &[
            "`on_output` is an `Emitter`; name its event",
            "`answer` is a `Bridge`; name it",
            "#[bridge] applies to `Bridge<Req, Resp>` parameters; `value` is a plain argument",
            "event `done` is declared by action `a` with type `String`",
        ],
    );
}

#[test]
fn actor_events_and_bridges_share_the_namespace_and_are_declared_once() {
    let found = errors(
        quote!(actor = "demo", events(ping = String), bridges(ping = String => u32, ask = String => u32, ask = String => u32)),
        quote! {
            impl Core {
                #[action]
                pub fn respond_ask(&self) {}
                #[action]
                pub fn tell(&self, #[bridge("ask")] ask: Bridge<String, u32>) {}
            }
        },
    );
    assert_errors(
        found,
        &[
            "actor bridge name `ping` clashes with the actor event `ping` of the surface",
            "actor bridge name `ask` clashes with the actor bridge `ask` of the surface",
            "action name `respondAsk` clashes with the response action `respondAsk` of bridge `ask`",
            "bridge name `ask` clashes with the actor bridge `ask` of the surface",
        ],
    );
}

#[test]
fn callback_types_need_their_arguments() {
    let found = demo(quote! {
        impl Core {
            #[action]
            pub fn a(&self, #[event("done")] done: Emitter) {}
            #[action]
            pub fn b(&self, #[bridge("ask")] ask: Bridge<String>) {}
        }
    });
    assert_errors(
        found,
        &[
            "`done`: write `Emitter<T>` or `Bridge<Req, Resp>` with their type arguments, with `#[event(\"…\")]` or `#[bridge(\"…\")]` respectively (found `Emitter`)",
            "`ask`: write `Emitter<T>` or `Bridge<Req, Resp>` with their type arguments, with `#[event(\"…\")]` or `#[bridge(\"…\")]` respectively (found `Bridge`)",
        ],
    );
}

#[test]
fn action_parameters_are_owned_named_and_concrete() {
    let found = demo(quote! {
        impl Core {
            #[action]
            pub fn read(&self, path: &str) {}
            #[action]
            pub fn add(&self, (a, b): (u32, u32)) {}
            #[action]
            pub fn each(&self, items: impl Iterator<Item = u32>) {}
        }
    });
    assert_errors(
        found,
        &[
            "parameter `path` of action `read` is borrowed",
            "parameters of action `add` must be plain names, not patterns",
            "parameter `items` of action `each` is `impl Trait`",
        ],
    );
}

/// The macro and the TypeScript runtime refuse the same action names.
#[test]
fn reserved_names_match_the_client_runtime() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bindings/src/runtime/contract.ts"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let list = source
        .split_once("export const RESERVED_NAMES: readonly string[] = [")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(list, _)| list)
        .expect("RESERVED_NAMES in contract.ts");
    let names: Vec<&str> = list
        .split(',')
        .map(|name| name.trim().trim_matches('"'))
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(names, RESERVED, "{path}");
}

#[test]
fn aliases_are_wire_names_of_their_action_and_clash_like_any_name() {
    let item = quote! {
        impl Files {
            #[action(alias = "deleteFile", alias = "rm")]
            pub fn delete(&self, path: String) {}
        }
    };
    let surface = parse::parse(quote!(actor = "files"), item)
        .and_then(Surface::check)
        .unwrap();
    assert_eq!(surface.actions[0].aliases, ["deleteFile", "rm"]);
    let names: Vec<_> = surface.wire_names.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["delete", "deleteFile", "rm"]);
    assert_errors(
        demo(quote! {
            impl Core {
                #[action(alias = "then")]
                pub fn go(&self) {}
                #[action(alias = "go")]
                pub fn went(&self) {}
            }
        }),
        &[
            "action name `then` is reserved",
            "action name `go` clashes with the action `go` of method `go`",
        ],
    );
}
