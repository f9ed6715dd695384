//! A positional argument array decoded into an action's generated DTO, as its dispatcher does.
//! First byte: the action (an index into every action of the surface) and the encoding (its
//! low bit); the rest: the encoded argument array (a non-array is one argument). A DTO that
//! decodes must re-encode and decode again through both encodings.
#![no_main]

use agentos_core::runtime::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: agentos_fuzz::check_action_list(), |data: &[u8]| {
    let (selector, bytes) = agentos_fuzz::split(data);
    let action = agentos_fuzz::ACTIONS[usize::from(selector >> 1) % agentos_fuzz::ACTIONS.len()];
    let Ok(value) = agentos_fuzz::encoding(selector).decode(bytes) else {
        return;
    };
    let args = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let _ = agentos_fuzz::decode_args(action, args);
});
