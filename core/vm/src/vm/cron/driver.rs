//! The clock cron runs on. The scheduler asks its driver what time it is and to wake it at
//! the next due instant, so the host decides what a timer is: tokio's by default, a manual
//! clock in tests (firing is then deterministic), a durable engine schedule elsewhere.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::runtime::instance::Alarm;

#[async_trait]
pub trait ScheduleDriver: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at or after `at`; with `None`, never (the scheduler is woken otherwise when
    /// its jobs change). The scheduler drops the future when it has something else to do.
    async fn sleep_until(&self, at: Option<DateTime<Utc>>);
    /// Whether a job falling due starts the VM again if it was closed, so that scheduled jobs
    /// alone need not keep it open.
    fn wakes_closed_vm(&self) -> bool {
        false
    }
}

/// Wall-clock time and tokio timers.
pub struct TokioDriver;

#[async_trait]
impl ScheduleDriver for TokioDriver {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: Option<DateTime<Utc>>) {
        match at {
            // Timers drift and the wall clock can jump: re-check the clock after each sleep.
            Some(at) => loop {
                let Ok(left) = (at - Utc::now()).to_std() else {
                    return;
                };
                tokio::time::sleep(left).await;
            },
            None => std::future::pending().await,
        }
    }
}

/// Wall-clock time and tokio timers while the VM is open, and the host's [`Alarm`] for while it
/// sleeps: before each wait the host is asked to wake the VM at the same instant.
pub struct AlarmDriver(pub Arc<dyn Alarm>);

#[async_trait]
impl ScheduleDriver for AlarmDriver {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, at: Option<DateTime<Utc>>) {
        self.0.wake_at(at.map(SystemTime::from)).await;
        TokioDriver.sleep_until(at).await;
    }

    fn wakes_closed_vm(&self) -> bool {
        true
    }
}

/// A clock that moves only when told. [`ManualClock::advance_to`] returns once the scheduler
/// has handled every instant up to the new time (started each due run) and gone back to
/// sleep, so a test can assert right after it.
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
    /// The clock time at which the scheduler last went to sleep with nothing due.
    parked: watch::Sender<Option<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: watch::Sender::new(start),
            parked: watch::Sender::new(None),
        }
    }

    /// Moves the clock to `to` (never backwards) and waits for the scheduler to settle.
    pub async fn advance_to(&self, to: DateTime<Utc>) {
        let to = self.now.send_replace(to).max(to);
        self.now.send_replace(to);
        let mut parked = self.parked.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = parked.wait_for(|at| at.is_some_and(|at| at >= to)).await;
    }

    /// Moves the clock forward by `by` and waits for the scheduler to settle.
    pub async fn advance(&self, by: chrono::Duration) {
        self.advance_to(self.now() + by).await;
    }
}

#[async_trait]
impl ScheduleDriver for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    async fn sleep_until(&self, at: Option<DateTime<Utc>>) {
        let mut now = self.now.subscribe();
        loop {
            let current = *now.borrow_and_update();
            if at.is_some_and(|at| at <= current) {
                return;
            }
            self.parked.send_replace(Some(current));
            if now.changed().await.is_err() {
                return;
            }
        }
    }
}
