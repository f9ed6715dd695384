//! Types whose TypeScript shape differs from what serde alone would suggest: bytes are
//! `Uint8Array`, and every 64-bit integer says whether it is a checked `number` or a `bigint`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ts_rs::TS;

/// Largest integer a JavaScript `number` holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Binary data: a CBOR byte string on the wire, `["$Uint8Array", base64]` in JSON,
/// `Uint8Array` in TypeScript.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a Uint8Array")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

impl TS for Bytes {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &ts_rs::Config) -> String {
        "Uint8Array".into()
    }
    fn inline(cfg: &ts_rs::Config) -> String {
        Self::name(cfg)
    }
}

/// A 64-bit unsigned integer that is a TypeScript `number`: values above 2^53−1 are
/// rejected on both encode and decode instead of losing precision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeU64(u64);

impl SafeU64 {
    pub fn new(v: u64) -> Result<Self, crate::ActorError> {
        if v > MAX_SAFE_INTEGER {
            return Err(crate::ActorError::limit_exceeded(format!(
                "{v} exceeds 2^53-1, the largest integer a TypeScript number holds exactly"
            )));
        }
        Ok(Self(v))
    }
    /// Saturates at 2^53−1: for sizes and counts that cannot realistically get there.
    pub fn saturating(v: u64) -> Self {
        Self(v.min(MAX_SAFE_INTEGER))
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Serialize for SafeU64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for SafeU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        Self::new(v).map_err(|e| serde::de::Error::custom(e.message))
    }
}

impl TS for SafeU64 {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &ts_rs::Config) -> String {
        "number".into()
    }
    fn inline(cfg: &ts_rs::Config) -> String {
        Self::name(cfg)
    }
}
