//! Signals by name: what `killProcess` accepts and what exits report.

use nix::sys::signal::Signal;

use crate::runtime::ActorError;

/// A signal's name, e.g. `SIGKILL`, or `signal 34` for one without a name.
pub(super) fn signal_name(signo: i32) -> String {
    Signal::try_from(signo).map_or_else(|_| format!("signal {signo}"), |s| s.as_str().to_owned())
}

/// A signal named as `SIGTERM`, `TERM` (any case) or by its number, e.g. `15`.
pub(in crate::vm) fn parse_signal(name: &str) -> Result<Signal, ActorError> {
    let trimmed = name.trim();
    let parsed = match trimmed.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) => {
            let upper = trimmed.to_ascii_uppercase();
            let full = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            full.parse().ok()
        }
    };
    parsed.ok_or_else(|| {
        let valid: Vec<&str> = Signal::iterator().map(Signal::as_str).collect();
        ActorError::invalid_input(format!(
            "unknown signal {name:?}; use one of {} (with or without `SIG`), or its number",
            valid.join(", ")
        ))
        .with_metadata(serde_json::json!({ "signal": name, "valid": valid }))
    })
}

/// Whether a signal's default action ends a process (rather than being ignored or stopping it).
pub(super) fn terminates(signal: Signal) -> bool {
    use Signal::*;
    !matches!(
        signal,
        SIGCHLD | SIGCONT | SIGURG | SIGWINCH | SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU
    )
}
