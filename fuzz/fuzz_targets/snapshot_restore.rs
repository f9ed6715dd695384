//! Restoring a VM's root filesystem from arbitrary tar bytes (see `fuzz/src/snapshot.rs` for
//! how the input becomes an archive and what is asserted afterwards).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    agentos_fuzz::snapshot::restore(agentos_fuzz::snapshot::archive_from(data));
});
