//! One incoming client frame, CBOR or JSON (the first byte's low bit), through the embedded
//! host's path: size check, decode (envelopes unwrapped), frame decode, argument limits, the
//! named action's positional argument decoding, and the encoding of the error reply.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: agentos_fuzz::check_action_list(), |data: &[u8]| {
    let (selector, frame) = agentos_fuzz::split(data);
    agentos_fuzz::handle_frame(agentos_fuzz::encoding(selector), frame);
});
