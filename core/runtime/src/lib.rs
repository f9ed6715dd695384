//! agentos-runtime: what `#[surface]`'s generated code calls and hosts build on — errors with
//! the generic codes, wire types, codec, limits, positional arguments, the contract, the
//! dispatch trait, what callback parameters become, how a host opens an instance and the
//! durable database it lends one.

mod args;
mod callbacks;
mod codec;
mod contract;
pub mod database;
mod dispatch;
mod error;
pub mod instance;
mod limits;
mod wire_types;

pub use args::{ActionArgs, Args};
pub use callbacks::{ActorEvents, Bridge, BridgeHub, BridgeOutcome, Emitter};
pub use codec::{Encoding, from_value, to_json_value, to_value, unwrap_envelopes};
pub use contract::{
    ActionSpec, BridgeSpec, CallbackSpec, Contract, ContractBuilder, EventScope, EventSpec,
    MethodNote, ParamSpec, TypeDecl,
};
pub use dispatch::{CallContext, Discard, EventSink, Surface};
pub use error::{ActorError, GROUP_AGENTOS, code};
pub use limits::Limits;
pub use wire_types::{Bytes, MAX_SAFE_INTEGER, SafeU64};

/// The wire value every encoding decodes to.
pub type Value = ciborium::Value;

/// Crates generated code needs, re-exported so that annotated crates need not depend on them.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    #[cfg(feature = "rivetkit")]
    pub use rivetkit;
    pub use serde;
    pub use ts_rs;

    /// Whether `names` holds `name`: the compile-time check that an extending surface adds
    /// no name its base already puts on the wire (`const fn`, so a clash fails the build).
    pub const fn wire_name_taken(names: &[&str], name: &str) -> bool {
        let mut i = 0;
        while i < names.len() {
            if bytes_eq(names[i].as_bytes(), name.as_bytes()) {
                return true;
            }
            i += 1;
        }
        false
    }

    const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

/// What action parameters, results and event payloads must be. Generated code asserts it per
/// parameter so that the error points at the offending type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire",
    label = "not Serialize + DeserializeOwned + ts_rs::TS",
    note = "action parameters, results, event payloads and bridge types must derive serde's `Serialize` and `Deserialize` and `ts_rs::TS`"
)]
pub trait WireType: serde::Serialize + serde::de::DeserializeOwned + ts_rs::TS + 'static {}
impl<T: serde::Serialize + serde::de::DeserializeOwned + ts_rs::TS + 'static> WireType for T {}

/// Makes a generated DTO a `rivetkit::Action` when the `rivetkit` feature is on (its
/// arguments serialized positionally, as on the wire), and expands to nothing otherwise. The
/// feature is this crate's, so the choice is made here and not in the crate the DTO is
/// generated in; off, a DTO has no serde impls that could repeat the wire-type errors.
#[cfg(feature = "rivetkit")]
#[doc(hidden)]
#[macro_export]
macro_rules! __rivetkit_action {
    ($dto:ident, $output:ty, { $($field:ident : $ty:ty),* $(,)? }) => {
        impl $crate::__private::serde::Serialize for $dto {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serde::Serialize::serialize(
                    &($(&self.$field,)*),
                    serializer,
                )
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $dto {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                let ($($field,)*): ($($ty,)*) =
                    $crate::__private::serde::Deserialize::deserialize(deserializer)?;
                ::core::result::Result::Ok(Self { $($field),* })
            }
        }

        impl $crate::__private::rivetkit::Action for $dto {
            type Output = $output;
            const NAME: &'static str = <$dto as $crate::ActionArgs>::NAME;
        }
    };
}

#[cfg(not(feature = "rivetkit"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __rivetkit_action {
    ($($tokens:tt)*) => {};
}
