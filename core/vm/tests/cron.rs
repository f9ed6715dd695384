//! Cron on a manual clock, so firing is deterministic: each `advance` returns once the
//! scheduler has started every run due by then. Runs are real sandboxed processes; a run
//! that must outlast its interval waits for a gate file that the test writes into the VM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentos_core::error::code;
use agentos_core::runtime::{ActorEvents, EventSink, Value, from_value};
use agentos_core::vm::cron::{
    CronAction, CronEvent, CronEventKind, CronJobOptions, ManualClock, Overlap, ScheduledEvent,
};
use agentos_core::vm::fs::FileContent;
use agentos_core::{AgentOs, VmConfig};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

/// What the VM raised, in order.
enum Raised {
    Cron(CronEvent),
    Scheduled(ScheduledEvent),
}

struct Sink(mpsc::UnboundedSender<Raised>);

impl EventSink for Sink {
    fn emit(&self, event: &str, payload: Value) {
        let raised = match event {
            "cronEvent" => Raised::Cron(from_value(&payload).unwrap()),
            "scheduledEvent" => Raised::Scheduled(from_value(&payload).unwrap()),
            _ => return,
        };
        let _ = self.0.send(raised);
    }
}

struct Vm {
    os: AgentOs,
    clock: Arc<ManualClock>,
    raised: mpsc::UnboundedReceiver<Raised>,
}

fn start() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// The VM in `dir` with cron on a manual clock that reads `at`.
fn open_at(dir: &Path, at: DateTime<Utc>) -> Vm {
    let (tx, raised) = mpsc::unbounded_channel();
    let clock = Arc::new(ManualClock::new(at));
    let config = VmConfig {
        schedule_driver: Some(clock.clone()),
        ..VmConfig::default()
    };
    let os = AgentOs::open(dir, config, ActorEvents::new(Arc::new(Sink(tx)))).unwrap();
    Vm { os, clock, raised }
}

fn open(dir: &Path) -> Vm {
    open_at(dir, start())
}

fn job(schedule: &str, action: CronAction, overlap: Option<Overlap>) -> CronJobOptions {
    CronJobOptions {
        id: Some("job".into()),
        schedule: schedule.into(),
        action,
        overlap,
        timezone: None,
    }
}

fn event(name: &str) -> CronAction {
    CronAction::Event {
        name: name.into(),
        payload: Some(serde_json::json!({ "n": 1 })),
    }
}

fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

impl Vm {
    /// The next cron event, waiting for a run to end if need be.
    async fn next_cron(&mut self) -> CronEvent {
        loop {
            let raised = tokio::time::timeout(Duration::from_secs(20), self.raised.recv())
                .await
                .expect("a cron event within 20 s")
                .expect("the VM is open");
            if let Raised::Cron(event) = raised {
                return event;
            }
        }
    }

    /// Everything raised so far, without waiting.
    fn drain(&mut self) -> Vec<Raised> {
        std::iter::from_fn(|| self.raised.try_recv().ok()).collect()
    }

    fn only_job(&self) -> agentos_core::vm::cron::CronJobInfo {
        let mut jobs = self.os.list_cron_jobs();
        assert_eq!(jobs.len(), 1);
        jobs.remove(0)
    }
}

fn kinds(events: &[CronEvent]) -> Vec<(CronEventKind, Option<u32>)> {
    events.iter().map(|e| (e.kind, e.run)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_five_minutes_fires_at_each_fifth_minute_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = open(dir.path());
    // The hook that Rust hosting code calls swaps the clock of a running VM.
    vm.clock = Arc::new(ManualClock::new(start()));
    vm.os.set_schedule_driver(vm.clock.clone());
    vm.os
        .schedule_cron(job("*/5 * * * *", event("tick"), None))
        .unwrap();
    assert_eq!(
        vm.only_job().next_run.as_deref(),
        Some("2026-01-01T00:05:00.000Z")
    );
    let mut fired = Vec::new();
    for _ in 0..22 {
        vm.clock.advance(minutes(1)).await;
        for raised in vm.drain() {
            match raised {
                Raised::Cron(e) if e.kind == CronEventKind::Fire => {
                    fired.push((vm.clock_minute(), e.scheduled_at))
                }
                Raised::Scheduled(e) => {
                    assert_eq!((e.job_id.as_str(), e.name.as_str()), ("job", "tick"));
                    assert_eq!(e.payload, Some(serde_json::json!({ "n": 1 })));
                }
                Raised::Cron(_) => {}
            }
        }
    }
    assert_eq!(
        fired,
        [
            (5, "2026-01-01T00:05:00.000Z".to_owned()),
            (10, "2026-01-01T00:10:00.000Z".to_owned()),
            (15, "2026-01-01T00:15:00.000Z".to_owned()),
            (20, "2026-01-01T00:20:00.000Z".to_owned()),
        ]
    );
    let info = vm.only_job();
    assert_eq!(info.run_count, 4);
    assert_eq!(info.last_run.as_deref(), Some("2026-01-01T00:20:00.000Z"));
    assert_eq!(info.next_run.as_deref(), Some("2026-01-01T00:25:00.000Z"));
}

impl Vm {
    fn clock_minute(&self) -> i64 {
        use agentos_core::vm::cron::ScheduleDriver;
        (self.clock.now() - start()).num_minutes()
    }
}

/// A run that lasts until `/gate` exists, due every 5 minutes; fires twice before the gate
/// opens and returns the cron events until `ends` runs have ended.
async fn outlasting_runs(overlap: Overlap, ends: usize) -> (Vec<CronEvent>, u32, u32) {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = open(dir.path());
    let wait_for_gate = CronAction::Exec {
        command: "while [ ! -e /gate ]; do sleep 0.02; done; echo through".into(),
        args: None,
        options: None,
    };
    vm.os
        .schedule_cron(job("*/5 * * * *", wait_for_gate, Some(overlap)))
        .unwrap();
    vm.clock.advance(minutes(5)).await;
    vm.clock.advance(minutes(5)).await;
    let busy = vm.only_job();
    vm.os
        .write_file("/gate".into(), FileContent::Text(String::new()))
        .unwrap();
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&CronEvent| e.kind == CronEventKind::Complete)
        .count()
        < ends
    {
        events.push(vm.next_cron().await);
    }
    for event in events.iter().filter(|e| e.kind == CronEventKind::Complete) {
        let result = event.result.as_ref().unwrap();
        assert_eq!(result["stdout"], "through\n");
    }
    (events, busy.running, busy.queued)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_runs_alongside() {
    let (events, running, queued) = outlasting_runs(Overlap::Allow, 2).await;
    assert_eq!((running, queued), (2, 0));
    let fires: Vec<_> = kinds(&events).into_iter().take(2).collect();
    assert_eq!(
        fires,
        [
            (CronEventKind::Fire, Some(1)),
            (CronEventKind::Fire, Some(2))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_drops_the_firing() {
    let (events, running, queued) = outlasting_runs(Overlap::Skip, 1).await;
    assert_eq!((running, queued), (1, 0));
    assert_eq!(
        kinds(&events),
        [
            (CronEventKind::Fire, Some(1)),
            (CronEventKind::Skip, None),
            (CronEventKind::Complete, Some(1)),
        ]
    );
    assert_eq!(events[1].scheduled_at, "2026-01-01T00:10:00.000Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_runs_after_the_earlier_run() {
    let (events, running, queued) = outlasting_runs(Overlap::Queue, 2).await;
    assert_eq!((running, queued), (1, 1));
    assert_eq!(
        kinds(&events),
        [
            (CronEventKind::Fire, Some(1)),
            (CronEventKind::Complete, Some(1)),
            (CronEventKind::Fire, Some(2)),
            (CronEventKind::Complete, Some(2)),
        ]
    );
    assert_eq!(events[2].scheduled_at, "2026-01-01T00:10:00.000Z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iso_timestamp_fires_once_then_the_job_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = open(dir.path());
    vm.os
        .schedule_cron(job("2026-01-01T00:01:30Z", event("once"), None))
        .unwrap();
    vm.clock.advance(minutes(1)).await;
    assert!(vm.drain().is_empty());
    vm.clock.advance(minutes(1)).await;
    let fire = vm.next_cron().await;
    assert_eq!(
        (fire.kind, fire.scheduled_at.as_str()),
        (CronEventKind::Fire, "2026-01-01T00:01:30.000Z")
    );
    assert_eq!(vm.next_cron().await.kind, CronEventKind::Complete);
    vm.clock.advance(minutes(60)).await;
    let later: Vec<_> = vm
        .drain()
        .into_iter()
        .filter(|r| matches!(r, Raised::Cron(_)))
        .collect();
    assert!(later.is_empty(), "a one-shot job fired again");
    assert!(vm.os.list_cron_jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedules_are_invalid_input_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vm = open(dir.path());
    for (schedule, timezone) in [
        ("every five minutes", None),
        ("*/5 * * *", None),
        ("0 25 * * *", None),
        ("2025-12-31T23:59:59Z", None),
        ("*/5 * * * *", Some("Nowhere/Special")),
    ] {
        let mut options = job(schedule, event("x"), None);
        options.timezone = timezone.map(Into::into);
        let err = vm.os.schedule_cron(options).unwrap_err();
        assert_eq!(err.code, code::INVALID_INPUT, "{schedule}: {}", err.message);
    }
    assert!(vm.os.list_cron_jobs().is_empty());
    let err = vm.os.cancel_cron_job("job".into()).unwrap_err();
    assert_eq!(err.code, code::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_scheduled_again_when_the_vm_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut vm = open(dir.path());
    vm.os
        .schedule_cron(job("*/5 * * * *", event("tick"), Some(Overlap::Skip)))
        .unwrap();
    vm.clock.advance(minutes(5)).await;
    assert_eq!(vm.next_cron().await.kind, CronEventKind::Fire);
    drop(vm);
    let vm = open_at(dir.path(), start() + minutes(6));
    let info = vm.only_job();
    assert_eq!(info.overlap, Overlap::Skip);
    assert_eq!(info.run_count, 1);
    assert_eq!(info.last_run.as_deref(), Some("2026-01-01T00:05:00.000Z"));
    assert_eq!(info.next_run.as_deref(), Some("2026-01-01T00:10:00.000Z"));
    vm.os.cancel_cron_job("job".into()).unwrap();
    drop(vm);
    assert!(open(dir.path()).os.list_cron_jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fell_due_while_the_vm_was_closed_fires_once_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let vm = open(dir.path());
    vm.os
        .schedule_cron(job("*/5 * * * *", event("tick"), None))
        .unwrap();
    drop(vm);
    // Closed from 00:00 to 00:17: three instants passed, one run catches up.
    let mut vm = open_at(dir.path(), start() + minutes(17));
    vm.clock.advance(chrono::Duration::zero()).await;
    let fire = vm.next_cron().await;
    assert_eq!(
        (fire.kind, fire.run, fire.scheduled_at.as_str()),
        (CronEventKind::Fire, Some(1), "2026-01-01T00:05:00.000Z")
    );
    assert_eq!(vm.next_cron().await.kind, CronEventKind::Complete);
    assert!(vm.drain().iter().all(|r| !matches!(r, Raised::Cron(_))));
    assert_eq!(
        vm.only_job().next_run.as_deref(),
        Some("2026-01-01T00:20:00.000Z")
    );
}
