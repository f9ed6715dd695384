//! Bearer-token checks. Node clients send a header; browsers, which cannot set headers on a
//! WebSocket, offer the token as a subprotocol.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};

const PROTOCOL_PREFIX: &str = "agentos.bearer.";

/// A fresh random token: 32 bytes, hex.
pub fn generate_token() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .filter_map(|p| p.strip_prefix(PROTOCOL_PREFIX));
    bearer.into_iter().chain(offered).any(|t| same(t, token))
}

/// Compares without an early exit, so timing does not reveal a token's prefix.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_or_subprotocol_carries_the_token() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "t0k"));
        h.insert(AUTHORIZATION, "Bearer t0k".parse().unwrap());
        assert!(authorized(&h, "t0k"));
        assert!(!authorized(&h, "t0"));
        let mut h = HeaderMap::new();
        h.insert(
            SEC_WEBSOCKET_PROTOCOL,
            "agentos.v1, agentos.bearer.t0k".parse().unwrap(),
        );
        assert!(authorized(&h, "t0k"));
        assert!(!authorized(&h, "other"));
    }
}
