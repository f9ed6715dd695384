//! Signed preview URLs: a random token that lets whoever holds it reach one port of the VM
//! through the host (HTTP and WebSocket), with no other credential, until it expires or is
//! expired. Tokens are kept in the VM's store, so they survive a restart of the host.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::code;
use crate::runtime::{ActorError, GROUP_AGENTOS, SafeU64, params};
use crate::vm::store::{Store, columns};

/// Characters in a token: 32 of `[A-Za-z0-9]`, about 190 bits.
const TOKEN_CHARS: usize = 32;

/// How long preview URLs live.
#[derive(Debug, Clone, Copy)]
pub struct PreviewLimits {
    /// When `createSignedPreviewUrl` names no lifetime.
    pub default_lifetime: Duration,
    /// The longest a caller may ask for.
    pub max_lifetime: Duration,
}

impl Default for PreviewLimits {
    /// An hour, at most a day: the peer actor's defaults.
    fn default() -> Self {
        Self {
            default_lifetime: Duration::from_secs(3600),
            max_lifetime: Duration::from_secs(86_400),
        }
    }
}

/// A signed preview URL.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreviewUrl {
    /// Where the host serves it, from its origin: open `<origin><path>` in a browser.
    pub path: String,
    /// The credential the path holds.
    pub token: String,
    /// The VM port it reaches.
    pub port: u16,
    /// When it stops working, in milliseconds since the Unix epoch.
    pub expires_at: SafeU64,
}

/// The VM's preview tokens.
pub struct Previews {
    store: Store,
    vm: String,
    /// Where the host serves this VM's preview URLs, or `None` when it serves none.
    base: Option<String>,
    limits: PreviewLimits,
}

impl Previews {
    pub fn new(store: Store, vm: String, base: Option<String>, limits: PreviewLimits) -> Self {
        Self {
            store,
            vm,
            base,
            limits,
        }
    }

    pub fn create(
        &self,
        port: u16,
        expires_in_seconds: Option<u64>,
    ) -> Result<PreviewUrl, ActorError> {
        let Some(base) = &self.base else {
            return Err(ActorError::unsupported(
                "this host serves no preview URLs (the embedded host does); reach the VM's ports with vmFetch",
            ));
        };
        let max = self.limits.max_lifetime.as_secs();
        let lifetime = expires_in_seconds.unwrap_or(self.limits.default_lifetime.as_secs());
        if !(1..=max).contains(&lifetime) {
            return Err(ActorError::invalid_input(format!(
                "expiresInSeconds must be between 1 and {max}, not {lifetime}"
            )));
        }
        let token: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(TOKEN_CHARS)
            .map(char::from)
            .collect();
        let now = now_ms();
        let expires_at = now + lifetime * 1000;
        // Tokens expired a day ago go; later ones stay, to be answered as expired.
        self.store.execute(
            "DELETE FROM preview_tokens WHERE vm = ?1 AND expires_at < ?2",
            params![&self.vm, now.saturating_sub(86_400_000)],
        )?;
        self.store.execute(
            "INSERT INTO preview_tokens (token, vm, port, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&token, &self.vm, u32::from(port), now, expires_at],
        )?;
        Ok(PreviewUrl {
            path: format!("{base}/{token}/"),
            token,
            port,
            expires_at: SafeU64::new(expires_at)?,
        })
    }

    /// Ends a token now; an unknown one is already no use to anyone.
    pub fn expire(&self, token: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "DELETE FROM preview_tokens WHERE vm = ?1 AND token = ?2",
                params![&self.vm, token],
            )
            .map(drop)
    }

    /// The port `token` reaches: `not_found` for a token this VM never made or expired by
    /// action, `expired` for one past its time.
    pub fn port(&self, token: &str) -> Result<u16, ActorError> {
        let row = self
            .store
            .query(
                "SELECT port, expires_at FROM preview_tokens WHERE vm = ?1 AND token = ?2",
                params![&self.vm, token],
            )?
            .into_iter()
            .next()
            .ok_or_else(|| ActorError::not_found("no such preview URL"))?;
        let [port, expires_at] = columns(row)?;
        if u64::try_from(expires_at.integer()?).unwrap_or(0) <= now_ms() {
            return Err(ActorError::new(
                GROUP_AGENTOS,
                code::EXPIRED,
                "this preview URL has expired",
            ));
        }
        u16::try_from(port.integer()?)
            .map_err(|_| ActorError::internal("a stored preview port is out of range"))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previews(dir: &std::path::Path, base: Option<&str>) -> Previews {
        let store = Store::open(&dir.join("state.sqlite")).unwrap();
        Previews::new(
            store,
            "vm".into(),
            base.map(str::to_owned),
            PreviewLimits::default(),
        )
    }

    #[test]
    fn a_token_reaches_its_port_until_expired_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let url = previews(dir.path(), Some("/p"))
            .create(8080, Some(60))
            .unwrap();
        assert_eq!(url.path, format!("/p/{}/", url.token));
        assert_eq!(url.token.len(), TOKEN_CHARS);
        let reopened = previews(dir.path(), Some("/p"));
        assert_eq!(reopened.port(&url.token).unwrap(), 8080);
        reopened.expire(&url.token).unwrap();
        assert_eq!(reopened.port(&url.token).unwrap_err().code, "not_found");
        assert_eq!(reopened.port("other").unwrap_err().code, "not_found");
    }

    #[test]
    fn past_its_time_a_token_is_expired() {
        let dir = tempfile::tempdir().unwrap();
        let previews = previews(dir.path(), Some("/p"));
        let url = previews.create(1, Some(1)).unwrap();
        previews
            .store
            .execute(
                "UPDATE preview_tokens SET expires_at = ?1",
                params![now_ms() - 1],
            )
            .unwrap();
        assert_eq!(previews.port(&url.token).unwrap_err().code, code::EXPIRED);
    }

    #[test]
    fn lifetimes_are_bounded_and_hosts_without_previews_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let bounded = previews(dir.path(), Some("/p"));
        for bad in [0, 86_401] {
            assert_eq!(
                bounded.create(1, Some(bad)).unwrap_err().code,
                "invalid_input"
            );
        }
        let none = previews(dir.path(), None);
        assert_eq!(none.create(1, None).unwrap_err().code, "unsupported");
    }
}
