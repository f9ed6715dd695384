//! RivetKit's JSON-compatible envelopes (`["$Uint8Array", b64]`, `["$BigInt", "…"]`,
//! `["$Undefined", 0]`, `$$` escapes).
//!
//! Even first byte: the rest is JSON; `unwrap_envelopes` on its plain decoding (what a host on
//! RivetKit gets) must agree with `Encoding::Json.decode` (what the embedded host gets), value
//! for value or error code for error code. Odd: the rest is CBOR for any value (tags, bytes,
//! floats, non-text keys); `unwrap_envelopes` must not panic, and what it yields must come back
//! unchanged through `Json` and `Cbor` encode/decode wherever those can carry it exactly (and
//! it nests no deeper than a host accepts).
#![no_main]

use agentos_core::runtime::{Encoding, Limits, Value, unwrap_envelopes};
use agentos_fuzz::{has_tag, json_canonical, same};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = agentos_fuzz::split(data);
    if selector & 1 == 0 {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return;
        };
        let raw = Value::serialized(&json).expect("any JSON value serializes");
        let unwrapped = unwrap_envelopes(raw);
        let decoded = Encoding::Json.decode(bytes);
        match (&unwrapped, &decoded) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "unwrap_envelopes and Json.decode disagree"),
            (Err(a), Err(b)) => assert_eq!(a.code, b.code, "different errors: {a} / {b}"),
            _ => panic!("unwrap_envelopes gave {unwrapped:?} but Json.decode gave {decoded:?}"),
        }
        return;
    }
    let Ok(value) =
        ciborium::de::from_reader_with_recursion_limit::<Value, _>(bytes, Limits::PARSE_DEPTH)
    else {
        return;
    };
    let Ok(value) = unwrap_envelopes(value) else {
        return;
    };
    // Deeper than any message a host accepts: its decoders count depth their own way near
    // the parse limit, and such a value never reaches an encoder.
    if Limits::default()
        .check_args(std::slice::from_ref(&value))
        .is_err()
    {
        return;
    }
    if let Some(expected) = json_canonical(&value) {
        let back = round_trip(Encoding::Json, &value);
        assert_eq!(
            json_canonical(&back),
            Some(expected),
            "JSON round trip changed the value"
        );
    }
    if !has_tag(&value) {
        let back = round_trip(Encoding::Cbor, &value);
        assert!(
            same(&back, &value),
            "CBOR round trip changed {value:?} into {back:?}"
        );
    }
});

/// `value` encoded and decoded again, for a value `encoding` can carry.
fn round_trip(encoding: Encoding, value: &Value) -> Value {
    let wire = encoding
        .encode(value)
        .unwrap_or_else(|e| panic!("{encoding:?} does not encode {value:?}: {e}"));
    encoding
        .decode(&wire)
        .unwrap_or_else(|e| panic!("{encoding:?} does not decode what it encoded: {e}"))
}
