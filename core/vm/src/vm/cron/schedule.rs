//! When a job is due: a cron expression (parsed by croner) read in a time zone, or one
//! instant for a one-shot job.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::runtime::ActorError;

pub enum Schedule {
    Recurring { cron: Box<Cron>, tz: Tz },
    Once(DateTime<Utc>),
}

impl Schedule {
    /// Reads `expr` as an RFC 3339 timestamp, else as a cron expression of 5 or 6 fields
    /// (or an `@hourly`-style nickname) in `timezone` (default UTC).
    pub fn parse(expr: &str, timezone: Option<&str>) -> Result<Self, ActorError> {
        let tz = match timezone {
            None => Tz::UTC,
            Some(name) => name.parse::<Tz>().map_err(|_| {
                ActorError::invalid_input(format!(
                    "unknown time zone `{name}`; use an IANA name such as `Europe/Paris`"
                ))
            })?,
        };
        if let Ok(at) = DateTime::parse_from_rfc3339(expr.trim()) {
            return Ok(Self::Once(at.with_timezone(&Utc)));
        }
        let fields = expr.split_whitespace().count();
        if !expr.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(ActorError::invalid_input(format!(
                "`{expr}` is neither a cron expression of 5 or 6 fields nor an ISO 8601 timestamp \
                 with an offset (found {fields} fields)"
            )));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(expr)
            .map_err(|err| {
                ActorError::invalid_input(format!("invalid cron expression `{expr}`: {err}"))
            })?;
        Ok(Self::Recurring {
            cron: Box::new(cron),
            tz,
        })
    }

    /// The first instant at which the job is due strictly after `after`; `None` when it
    /// never is again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Once(at) => (*at > after).then_some(*at),
            Self::Recurring { cron, tz } => cron
                .find_next_occurrence(&after.with_timezone(tz), false)
                .ok()
                .map(|next| next.with_timezone(&Utc)),
        }
    }

    pub fn is_once(&self) -> bool {
        matches!(self, Self::Once(_))
    }
}

/// The wire form of an instant.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_fields_step_by_minutes_and_six_by_seconds() {
        let every5 = Schedule::parse("*/5 * * * *", None).unwrap();
        let t = every5.next_after(at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(iso(t), "2026-01-01T00:05:00.000Z");
        assert_eq!(
            iso(every5.next_after(t).unwrap()),
            "2026-01-01T00:10:00.000Z"
        );
        let every10s = Schedule::parse("*/10 * * * * *", None).unwrap();
        let t = every10s.next_after(at("2026-01-01T00:00:03Z")).unwrap();
        assert_eq!(iso(t), "2026-01-01T00:00:10.000Z");
    }

    #[test]
    fn time_zones_shift_the_instants() {
        let nine = Schedule::parse("0 9 * * *", Some("Europe/Paris")).unwrap();
        let t = nine.next_after(at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(iso(t), "2026-01-01T08:00:00.000Z");
    }

    #[test]
    fn a_timestamp_is_due_once() {
        let once = Schedule::parse("2026-01-01T00:00:30+01:00", None).unwrap();
        assert!(once.is_once());
        let t = once.next_after(at("2025-12-31T00:00:00Z")).unwrap();
        assert_eq!(iso(t), "2025-12-31T23:00:30.000Z");
        assert_eq!(once.next_after(t), None);
    }

    #[test]
    fn bad_expressions_and_zones_are_invalid_input() {
        for (expr, tz) in [
            ("* * *", None),
            ("61 * * * *", None),
            ("* * * * * * *", None),
            ("tomorrow", None),
            ("* * * * *", Some("Mars/Olympus")),
        ] {
            let err = Schedule::parse(expr, tz).err().unwrap();
            assert_eq!(err.code, "invalid_input", "{expr}");
        }
    }
}
