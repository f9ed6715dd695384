//! Fitting an `exec` result in one answer: both streams, kept whole, must fit in it with
//! the rest of the result, so more is truncated and flagged, never a result lost to
//! `limit_exceeded`.

use super::{DEFAULT_MAX_OUTPUT, ExecResult};

/// What an `exec` result holds besides its output, with room to spare.
const RESULT_OVERHEAD: u64 = 16 * 1024;

/// The bytes of each stream to keep: what the caller asked for (default 1 MiB), at most half
/// of what an answer of `answer_limit` bytes leaves for output.
pub(super) fn kept_per_stream(asked: Option<u32>, answer_limit: u64) -> u32 {
    let per_stream = answer_limit.saturating_sub(RESULT_OVERHEAD) / 2;
    let kept = asked
        .map_or(DEFAULT_MAX_OUTPUT as u64, u64::from)
        .min(per_stream);
    u32::try_from(kept).unwrap_or(u32::MAX)
}

/// Trims the longer stream of `result` by halves, flagging it truncated, until the result
/// encodes within `limit` as JSON (the encoding that grows most: a NUL is `\u0000`).
pub(super) fn fit(result: &mut ExecResult, limit: u64) {
    let encoded = |result: &ExecResult| serde_json::to_vec(result).map_or(0, |v| v.len() as u64);
    while encoded(result) + RESULT_OVERHEAD > limit {
        let (stream, truncated) = if result.stdout.len() >= result.stderr.len() {
            (&mut result.stdout, &mut result.stdout_truncated)
        } else {
            (&mut result.stderr, &mut result.stderr_truncated)
        };
        if stream.is_empty() {
            return;
        }
        stream.truncate(stream.floor_char_boundary(stream.len() / 2));
        *truncated = true;
    }
}
