//! Wire values in CBOR and JSON. JSON carries what it cannot express natively in RivetKit's
//! JSON-compatible envelopes (`["$Uint8Array", b64]`, `["$BigInt", "…"]`, `["$Undefined", 0]`,
//! `$$` escaping), so both encodings decode to the same [`Value`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Serialize, de::DeserializeOwned};

use super::{ActorError, Limits, MAX_SAFE_INTEGER, Value};

/// CBOR tag for an unsigned bignum, the CBOR form of a `bigint`.
const TAG_POS_BIGNUM: u64 = 2;
/// CBOR tag for a negative bignum.
const TAG_NEG_BIGNUM: u64 = 3;
/// CBOR tag some encoders (cbor-x) put around a `Uint8Array`.
const TAG_UINT8_ARRAY: u64 = 64;

/// How a connection encodes its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Cbor,
    Json,
}

impl std::str::FromStr for Encoding {
    type Err = ActorError;
    fn from_str(s: &str) -> Result<Self, ActorError> {
        match s {
            "cbor" => Ok(Self::Cbor),
            "json" => Ok(Self::Json),
            other => Err(ActorError::invalid_input(format!(
                "unknown encoding `{other}`; expected `cbor` or `json`"
            ))),
        }
    }
}

impl Encoding {
    /// Decodes one message into a [`Value`], envelopes unwrapped, recursion bounded.
    pub fn decode(self, bytes: &[u8]) -> Result<Value, ActorError> {
        match self {
            Self::Cbor => {
                let value: Value =
                    ciborium::de::from_reader_with_recursion_limit(bytes, Limits::PARSE_DEPTH)
                        .map_err(|e| match e {
                            ciborium::de::Error::RecursionLimitExceeded => too_deep(),
                            other => ActorError::invalid_input(format!("malformed CBOR: {other}")),
                        })?;
                normalize_cbor(value)
            }
            Self::Json => {
                let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
                    if e.to_string().contains("recursion limit") {
                        too_deep()
                    } else {
                        ActorError::invalid_input(format!("malformed JSON: {e}"))
                    }
                })?;
                from_json(json)
            }
        }
    }

    /// Encodes a [`Value`] into one message.
    pub fn encode(self, value: &Value) -> Result<Vec<u8>, ActorError> {
        match self {
            Self::Cbor => {
                let mut out = Vec::new();
                ciborium::ser::into_writer(value, &mut out)
                    .map_err(|e| ActorError::internal(format!("CBOR encoding failed: {e}")))?;
                Ok(out)
            }
            Self::Json => serde_json::to_vec(&to_json(value)?)
                .map_err(|e| ActorError::internal(format!("JSON encoding failed: {e}"))),
        }
    }
}

fn too_deep() -> ActorError {
    ActorError::limit_exceeded(format!(
        "message nests deeper than {} levels",
        Limits::PARSE_DEPTH
    ))
}

/// Serializes a Rust value into a wire value.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ActorError> {
    Value::serialized(value).map_err(|e| ActorError::internal(format!("encoding failed: {e}")))
}

/// Deserializes a wire value; the error message is serde's, for the caller to place.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    value.deserialized().map_err(|e| match e {
        ciborium::value::Error::Custom(msg) => msg,
    })
}

/// Unwraps CBOR tags that carry plain values: tagged byte strings and bignums.
fn normalize_cbor(value: Value) -> Result<Value, ActorError> {
    Ok(match value {
        Value::Tag(TAG_UINT8_ARRAY, inner) if matches!(*inner, Value::Bytes(_)) => *inner,
        Value::Tag(tag @ (TAG_POS_BIGNUM | TAG_NEG_BIGNUM), inner) => match *inner {
            Value::Bytes(b) => bignum(tag == TAG_NEG_BIGNUM, &b)?,
            _ => return Err(ActorError::invalid_input("malformed bignum")),
        },
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(normalize_cbor)
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((normalize_cbor(k)?, normalize_cbor(v)?)))
                .collect::<Result<_, ActorError>>()?,
        ),
        other => other,
    })
}

fn bignum(negative: bool, magnitude: &[u8]) -> Result<Value, ActorError> {
    let digits = magnitude
        .iter()
        .skip_while(|b| **b == 0)
        .collect::<Vec<_>>();
    if digits.len() > 8 {
        return Err(ActorError::limit_exceeded("bigint does not fit in 64 bits"));
    }
    let n = digits
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(**b));
    let n = i128::from(n);
    integer(if negative { -1 - n } else { n })
}

fn integer(n: i128) -> Result<Value, ActorError> {
    ciborium::value::Integer::try_from(n)
        .map(Value::Integer)
        .map_err(|_| ActorError::limit_exceeded(format!("integer {n} does not fit in 64 bits")))
}

fn from_json(json: serde_json::Value) -> Result<Value, ActorError> {
    use serde_json::Value as J;
    Ok(match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::Integer(u.into()),
            (None, Some(i)) => Value::Integer(i.into()),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Text(s),
        J::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| Ok((Value::Text(k), from_json(v)?)))
                .collect::<Result<_, ActorError>>()?,
        ),
        J::Array(items) => match items.first() {
            Some(J::String(tag)) if tag.starts_with('$') => from_envelope(items)?,
            _ => Value::Array(items.into_iter().map(from_json).collect::<Result<_, _>>()?),
        },
    })
}

fn from_envelope(mut items: Vec<serde_json::Value>) -> Result<Value, ActorError> {
    use serde_json::Value as J;
    let J::String(tag) = &items[0] else {
        unreachable!("caller matched a string tag")
    };
    if let Some(escaped) = tag.strip_prefix("$$") {
        items[0] = J::String(format!("${escaped}"));
        return Ok(Value::Array(
            items.into_iter().map(from_json).collect::<Result<_, _>>()?,
        ));
    }
    let malformed = || {
        ActorError::invalid_input(format!(
            "malformed `{tag}` envelope: expected [\"{tag}\", …] with its payload"
        ))
    };
    match (tag.as_str(), items.as_slice()) {
        ("$Uint8Array", [_, J::String(b64)]) => BASE64
            .decode(b64)
            .map(Value::Bytes)
            .map_err(|_| malformed()),
        ("$BigInt", [_, J::String(digits)]) => {
            integer(digits.parse::<i128>().map_err(|_| malformed())?)
        }
        ("$Undefined", [_, _]) => Ok(Value::Null),
        ("$Uint8Array" | "$BigInt" | "$Undefined", _) => Err(malformed()),
        _ => Err(ActorError::invalid_input(format!(
            "unknown envelope `{tag}`; arrays whose first element starts with `$` must be escaped as `$${}`",
            &tag[1..]
        ))),
    }
}

/// A wire value in RivetKit's JSON-compatible form: bytes and bigints as envelopes, arrays
/// whose first element starts with `$` escaped. What a host on RivetKit hands its runtime.
pub fn to_json_value(value: &Value) -> Result<serde_json::Value, ActorError> {
    to_json(value)
}

/// Unwraps RivetKit's envelopes inside an already decoded value: what a host on RivetKit
/// receives, since its runtime hands actions the client's envelopes untouched.
pub fn unwrap_envelopes(value: Value) -> Result<Value, ActorError> {
    Ok(match value {
        Value::Array(mut items) => match items.first() {
            Some(Value::Text(tag)) if tag.starts_with("$$") => {
                items[0] = Value::Text(tag[1..].to_owned());
                let mut items = items.into_iter();
                let first = items.next().into_iter();
                Value::Array(
                    first
                        .map(Ok)
                        .chain(items.map(unwrap_envelopes))
                        .collect::<Result<_, _>>()?,
                )
            }
            Some(Value::Text(tag)) if tag.starts_with('$') => {
                use serde_json::Value as J;
                let shallow = items
                    .into_iter()
                    .map(|item| match item {
                        Value::Text(s) => J::String(s),
                        Value::Integer(i) => J::from(i128::from(i) as i64),
                        _ => J::Null,
                    })
                    .collect();
                from_envelope(shallow)?
            }
            _ => Value::Array(
                items
                    .into_iter()
                    .map(unwrap_envelopes)
                    .collect::<Result<_, _>>()?,
            ),
        },
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok((k, unwrap_envelopes(v)?)))
                .collect::<Result<_, ActorError>>()?,
        ),
        other => other,
    })
}

fn to_json(value: &Value) -> Result<serde_json::Value, ActorError> {
    use serde_json::Value as J;
    Ok(match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Integer(i) => {
            let n = i128::from(*i);
            if n.unsigned_abs() > u128::from(MAX_SAFE_INTEGER) {
                return Err(ActorError::internal(format!(
                    "integer {n} exceeds 2^53-1 and would lose precision as a TypeScript number; \
                     declare the field as a bigint"
                )));
            }
            J::from(n as i64)
        }
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s.clone()),
        Value::Bytes(b) => J::Array(vec![J::from("$Uint8Array"), J::from(BASE64.encode(b))]),
        Value::Tag(tag @ (TAG_POS_BIGNUM | TAG_NEG_BIGNUM), inner) => match &**inner {
            Value::Bytes(b) => {
                let Value::Integer(i) = bignum(*tag == TAG_NEG_BIGNUM, b)? else {
                    unreachable!("bignum yields an integer")
                };
                J::Array(vec![J::from("$BigInt"), J::from(i128::from(i).to_string())])
            }
            _ => return Err(ActorError::internal("malformed bignum")),
        },
        Value::Tag(_, inner) => to_json(inner)?,
        Value::Array(items) => {
            let mut out = items.iter().map(to_json).collect::<Result<Vec<_>, _>>()?;
            if let Some(J::String(first)) = out.first_mut()
                && first.starts_with('$')
            {
                first.insert(0, '$');
            }
            J::Array(out)
        }
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| match k {
                    Value::Text(k) => Ok((k.clone(), to_json(v)?)),
                    _ => Err(ActorError::internal("map keys must be strings in JSON")),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(ActorError::internal("value has no JSON form")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Result<Value, ActorError> {
        Encoding::Json.decode(s.as_bytes())
    }

    #[test]
    fn envelopes_decode_to_plain_values() {
        assert_eq!(
            json(r#"["$Uint8Array","AAEC"]"#).unwrap(),
            Value::Bytes(vec![0, 1, 2])
        );
        assert_eq!(
            json(r#"["$BigInt","-9007199254740993"]"#).unwrap(),
            Value::Integer((-9007199254740993i64).into())
        );
        assert_eq!(json(r#"["$Undefined",0]"#).unwrap(), Value::Null);
        assert_eq!(
            json(r#"["$$HOME",1]"#).unwrap(),
            Value::Array(vec![Value::Text("$HOME".into()), Value::Integer(1.into())])
        );
    }

    #[test]
    fn malformed_or_unknown_envelopes_are_invalid_input() {
        for bad in [
            r#"["$Uint8Array",5]"#,
            r#"["$Uint8Array","!!"]"#,
            r#"["$BigInt","x"]"#,
            r#"["$Undefined"]"#,
            r#"["$HOME",1]"#,
        ] {
            assert_eq!(json(bad).unwrap_err().code, "invalid_input", "{bad}");
        }
    }

    #[test]
    fn json_round_trips_bytes_and_escapes_dollar_arrays() {
        let value = Value::Array(vec![
            Value::Bytes(vec![255, 0]),
            Value::Array(vec![Value::Text("$x".into())]),
        ]);
        let wire = Encoding::Json.encode(&value).unwrap();
        assert_eq!(
            String::from_utf8(wire.clone()).unwrap(),
            r#"[["$Uint8Array","/wA="],["$$x"]]"#
        );
        assert_eq!(Encoding::Json.decode(&wire).unwrap(), value);
    }

    #[test]
    fn unsafe_integers_never_become_json_numbers() {
        let err = Encoding::Json
            .encode(&Value::Integer((1u64 << 53).into()))
            .unwrap_err();
        assert_eq!(err.code, "internal");
        let ok = Encoding::Json
            .encode(&Value::Integer(MAX_SAFE_INTEGER.into()))
            .unwrap();
        assert_eq!(ok, b"9007199254740991");
    }

    #[test]
    fn cbor_unwraps_tagged_bytes_and_bignums() {
        let tagged = Value::Array(vec![
            Value::Tag(TAG_UINT8_ARRAY, Box::new(Value::Bytes(vec![7]))),
            Value::Tag(TAG_POS_BIGNUM, Box::new(Value::Bytes(vec![1, 0]))),
        ]);
        let wire = Encoding::Cbor.encode(&tagged).unwrap();
        assert_eq!(
            Encoding::Cbor.decode(&wire).unwrap(),
            Value::Array(vec![Value::Bytes(vec![7]), Value::Integer(256.into())])
        );
    }

    #[test]
    fn decoded_values_unwrap_envelopes_like_json() {
        for text in [
            r#"[["$Uint8Array","AAEC"],{"a":["$BigInt","12"]},["$$HOME",["$Undefined",0]]]"#,
            r#"["$Undefined",0]"#,
        ] {
            let raw = Value::serialized(&serde_json::from_str::<serde_json::Value>(text).unwrap())
                .unwrap();
            assert_eq!(
                unwrap_envelopes(raw).unwrap(),
                json(text).unwrap(),
                "{text}"
            );
        }
        let bad: Value = Value::Array(vec![Value::Text("$HOME".into())]);
        assert_eq!(unwrap_envelopes(bad).unwrap_err().code, "invalid_input");
    }

    #[test]
    fn hostile_nesting_is_limit_exceeded_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert_eq!(json(&deep).unwrap_err().code, "limit_exceeded");
        let mut cbor = vec![0x81u8; 100_000];
        cbor.push(0x01);
        assert_eq!(
            Encoding::Cbor.decode(&cbor).unwrap_err().code,
            "limit_exceeded"
        );
    }
}
