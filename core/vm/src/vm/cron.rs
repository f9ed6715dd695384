//! Cron: jobs that run an `exec`, a session prompt or an event on a schedule, with an
//! overlap policy. One scheduler task per VM sleeps on a [`ScheduleDriver`] until the next
//! due instant; runs are tasks of their own. Jobs are saved in the VM's store and scheduled
//! again when the VM opens.

mod action;
pub mod driver;
mod schedule;
pub(crate) mod store;
pub mod types;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};

pub(crate) use action::Actions;
pub use driver::{AlarmDriver, ManualClock, ScheduleDriver, TokioDriver};
use schedule::{Schedule, iso};
use store::JobStore;
pub use types::{
    CronAction, CronEvent, CronEventKind, CronJobInfo, CronJobOptions, Overlap, ScheduledEvent,
    ScheduledJob,
};

use crate::runtime::ActorError;
use crate::vm::store::Store;

/// The most jobs one VM keeps.
pub const MAX_JOBS: usize = 1000;

/// Where `cronEvent`s, and the events `event` jobs raise, go.
pub trait Listener: Send + Sync {
    fn cron_event(&self, event: &CronEvent);
    fn scheduled_event(&self, event: &ScheduledEvent);
}

pub struct Cron {
    inner: Arc<Inner>,
    scheduler: AbortHandle,
}

struct Inner {
    jobs: Mutex<BTreeMap<String, Job>>,
    driver: Mutex<Arc<dyn ScheduleDriver>>,
    /// Wakes the scheduler when jobs or the driver change.
    changed: Notify,
    store: JobStore,
    actions: Actions,
    listener: Arc<dyn Listener>,
    /// Runs in progress, aborted with the VM.
    runs: Mutex<JoinSet<()>>,
    /// Tells a job from an earlier one with the same id, whose runs may still be going.
    generations: std::sync::atomic::AtomicU64,
}

/// A change to a job's record, made once the jobs' lock is released.
enum Write {
    Next(String, Option<DateTime<Utc>>),
    Run(String, u32, String),
    Delete(String),
}

struct Job {
    options: CronJobOptions,
    schedule: Schedule,
    generation: u64,
    next_run: Option<DateTime<Utc>>,
    last_run: Option<String>,
    run_count: u32,
    running: u32,
    /// When each queued firing was due (overlap `queue`).
    queued: VecDeque<DateTime<Utc>>,
}

impl Cron {
    /// Opens the VM's cron with the jobs saved under `vm` in `store`, on
    /// `driver`'s clock, running their actions with `actions`. A job that fell due while
    /// nothing ran fires once, at once.
    pub(crate) fn open(
        store: Store,
        vm: String,
        driver: Arc<dyn ScheduleDriver>,
        actions: Actions,
        listener: Arc<dyn Listener>,
    ) -> Result<Self, ActorError> {
        let store = JobStore::new(store, vm);
        let now = driver.now();
        let mut jobs = BTreeMap::new();
        for saved in store.load()? {
            let id = saved.options.id.clone().unwrap_or_default();
            let schedule = match Schedule::parse(
                &saved.options.schedule,
                saved.options.timezone.as_deref(),
            ) {
                Ok(schedule) => schedule,
                Err(err) => {
                    tracing::warn!(job = id, %err, "a saved cron job no longer parses; skipped");
                    continue;
                }
            };
            let mut job = Job::new(saved.options, schedule, 0);
            job.run_count = saved.run_count;
            job.last_run = saved.last_run;
            job.next_run = saved.next_run;
            if job.next_run.is_none() {
                job.reschedule(now);
            }
            if job.finished() {
                // A one-shot job whose run the host did not see end.
                store.delete(&id)?;
                continue;
            }
            jobs.insert(id, job);
        }
        let inner = Arc::new(Inner {
            jobs: Mutex::new(jobs),
            driver: Mutex::new(driver),
            changed: Notify::new(),
            store,
            actions,
            listener,
            runs: Mutex::new(JoinSet::new()),
            generations: 1.into(),
        });
        let scheduler = tokio::spawn(inner.clone().schedule_loop()).abort_handle();
        Ok(Self { inner, scheduler })
    }

    /// Adds a job, or replaces the one with its id.
    pub fn schedule(&self, mut options: CronJobOptions) -> Result<ScheduledJob, ActorError> {
        let id = match options.id.take() {
            Some(id) if id.is_empty() || id.len() > 128 => {
                return Err(ActorError::invalid_input(
                    "a cron job id has 1 to 128 characters",
                ));
            }
            Some(id) => id,
            None => format!("cron-{:016x}", rand::random::<u64>()),
        };
        options.id = Some(id.clone());
        let schedule = Schedule::parse(&options.schedule, options.timezone.as_deref())?;
        let now = self.inner.driver().now();
        if schedule.next_after(now).is_none() {
            return Err(ActorError::invalid_input(format!(
                "`{}` is not in the future (now is {})",
                options.schedule,
                iso(now)
            )));
        }
        let full = {
            let jobs = self.inner.lock();
            jobs.len() >= MAX_JOBS && !jobs.contains_key(&id)
        };
        if full {
            return Err(ActorError::limit_exceeded(format!(
                "a VM keeps at most {MAX_JOBS} cron jobs"
            )));
        }
        let generation = self
            .inner
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut job = Job::new(options, schedule, generation);
        job.reschedule(now);
        // Saved first and outside the lock: the store may be remote (see `Write`).
        self.inner.store.save(&id, &job.options, job.next_run)?;
        self.inner.lock().insert(id.clone(), job);
        self.inner.changed.notify_one();
        Ok(ScheduledJob { id })
    }

    /// Stops a job from firing again; runs in progress finish.
    pub fn cancel(&self, id: &str) -> Result<(), ActorError> {
        if self.inner.lock().remove(id).is_none() {
            return Err(ActorError::not_found(format!("no cron job `{id}`")));
        }
        self.inner.store.delete(id)?;
        self.inner.changed.notify_one();
        Ok(())
    }

    pub fn list(&self) -> Vec<CronJobInfo> {
        self.inner
            .lock()
            .iter()
            .map(|(id, job)| job.info(id))
            .collect()
    }

    /// Whether closing the VM now would lose cron work: a run going or queued, or, unless the
    /// host wakes a closed VM when a job is due, any job at all.
    pub fn keeps_vm_open(&self) -> bool {
        let durable = self.inner.driver().wakes_closed_vm();
        self.inner
            .lock()
            .values()
            .any(|job| job.running > 0 || !job.queued.is_empty() || !durable)
    }

    /// Puts the scheduler on another clock; every job's next run is computed again on it.
    pub fn set_driver(&self, driver: Arc<dyn ScheduleDriver>) {
        let now = driver.now();
        *self
            .inner
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = driver;
        for job in self.inner.lock().values_mut() {
            job.reschedule(now);
        }
        self.inner.changed.notify_one();
    }
}

impl Drop for Cron {
    fn drop(&mut self) {
        self.scheduler.abort();
        self.inner
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .abort_all();
    }
}

impl Job {
    fn new(options: CronJobOptions, schedule: Schedule, generation: u64) -> Self {
        Self {
            options,
            schedule,
            generation,
            next_run: None,
            last_run: None,
            run_count: 0,
            running: 0,
            queued: VecDeque::new(),
        }
    }

    /// The next due instant seen from `now`. A one-shot job that has not run stays due even
    /// when its instant passed while the host was down.
    fn reschedule(&mut self, now: DateTime<Utc>) {
        self.next_run = match &self.schedule {
            Schedule::Once(at) => (self.run_count == 0).then_some(*at),
            recurring => recurring.next_after(now),
        };
    }

    fn overlap(&self) -> Overlap {
        self.options.overlap.unwrap_or_default()
    }

    fn info(&self, id: &str) -> CronJobInfo {
        CronJobInfo {
            id: id.to_owned(),
            schedule: self.options.schedule.clone(),
            action: self.options.action.clone(),
            overlap: self.overlap(),
            timezone: self
                .options
                .timezone
                .clone()
                .unwrap_or_else(|| "UTC".into()),
            last_run: self.last_run.clone(),
            next_run: self.next_run.map(iso),
            run_count: self.run_count,
            running: self.running,
            queued: u32::try_from(self.queued.len()).unwrap_or(u32::MAX),
        }
    }

    /// Whether a one-shot job is done with: fired, nothing running or queued.
    fn finished(&self) -> bool {
        self.schedule.is_once()
            && self.next_run.is_none()
            && self.running == 0
            && self.queued.is_empty()
    }
}

/// A run about to start.
struct Start {
    id: String,
    generation: u64,
    action: CronAction,
    run: u32,
    scheduled_at: DateTime<Utc>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn driver(&self) -> Arc<dyn ScheduleDriver> {
        self.driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn schedule_loop(self: Arc<Self>) {
        loop {
            let driver = self.driver();
            let next = self.fire_due(driver.now());
            // A change comes first: a manual clock must not see the scheduler go back to
            // sleep on a deadline that a new job has already made stale.
            tokio::select! {
                biased;
                () = self.changed.notified() => {}
                () = driver.sleep_until(next) => {}
            }
        }
    }

    /// Fires every job due at `now` and returns the earliest next due instant.
    fn fire_due(self: &Arc<Self>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut starts = Vec::new();
        let mut writes = Vec::new();
        let mut jobs = self.lock();
        for (id, job) in jobs.iter_mut() {
            let Some(due) = job.next_run.filter(|due| *due <= now) else {
                continue;
            };
            // Missed instants (the host was down, the clock jumped) fire once, not each.
            job.next_run = match job.schedule {
                Schedule::Once(_) => None,
                _ => job.schedule.next_after(now),
            };
            writes.push(Write::Next(id.clone(), job.next_run));
            match (job.overlap(), job.running > 0) {
                (Overlap::Skip, true) => self.listener.cron_event(&CronEvent {
                    job_id: id.clone(),
                    kind: CronEventKind::Skip,
                    run: None,
                    scheduled_at: iso(due),
                    result: None,
                    error: None,
                }),
                (Overlap::Queue, true) => job.queued.push_back(due),
                _ => starts.push(self.begin(id, job, due, now, &mut writes)),
            }
        }
        let next = jobs.values().filter_map(|job| job.next_run).min();
        drop(jobs);
        self.persist(writes);
        for start in starts {
            self.spawn_run(start);
        }
        next
    }

    /// Counts a run of `job` as started and says so; what to record goes to `writes`.
    fn begin(
        &self,
        id: &str,
        job: &mut Job,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        writes: &mut Vec<Write>,
    ) -> Start {
        job.run_count += 1;
        job.running += 1;
        let started = iso(now);
        writes.push(Write::Run(id.to_owned(), job.run_count, started.clone()));
        job.last_run = Some(started);
        self.listener.cron_event(&CronEvent {
            job_id: id.to_owned(),
            kind: CronEventKind::Fire,
            run: Some(job.run_count),
            scheduled_at: iso(due),
            result: None,
            error: None,
        });
        Start {
            id: id.to_owned(),
            generation: job.generation,
            action: job.options.action.clone(),
            run: job.run_count,
            scheduled_at: due,
        }
    }

    /// Runs `start`, then whatever was queued behind it, in one task.
    fn spawn_run(self: &Arc<Self>, start: Start) {
        let inner = self.clone();
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        while runs.try_join_next().is_some() {}
        runs.spawn(async move {
            let mut next = Some(start);
            while let Some(start) = next {
                let outcome = inner
                    .actions
                    .run(&*inner.listener, start.id.clone(), start.action.clone())
                    .await;
                let (kind, result, error) = match outcome {
                    Ok(result) => (CronEventKind::Complete, Some(result), None),
                    Err(err) => (CronEventKind::Error, None, Some(err.message)),
                };
                inner.listener.cron_event(&CronEvent {
                    job_id: start.id.clone(),
                    kind,
                    run: Some(start.run),
                    scheduled_at: iso(start.scheduled_at),
                    result,
                    error,
                });
                next = inner.end_run(&start);
            }
        });
    }

    /// Counts a run as ended; returns the queued run to start next, if any. A replaced or
    /// cancelled job's runs end without touching its successor.
    fn end_run(&self, ended: &Start) -> Option<Start> {
        let now = self.driver().now();
        let mut writes = Vec::new();
        let next = {
            let mut jobs = self.lock();
            let job = jobs
                .get_mut(&ended.id)
                .filter(|job| job.generation == ended.generation)?;
            job.running -= 1;
            match job.queued.pop_front() {
                Some(due) => Some(self.begin(&ended.id, job, due, now, &mut writes)),
                None => {
                    if job.finished() {
                        jobs.remove(&ended.id);
                        writes.push(Write::Delete(ended.id.clone()));
                    }
                    None
                }
            }
        };
        self.persist(writes);
        next
    }

    /// Records what changed, after the jobs' lock is released: a store lent by the host may
    /// be remote, and nothing else should wait on the lock meanwhile. A failure is logged;
    /// the job runs on as it is in memory.
    fn persist(&self, writes: Vec<Write>) {
        for write in writes {
            let (id, done) = match &write {
                Write::Next(id, next_run) => (id, self.store.record_next(id, *next_run)),
                Write::Run(id, count, at) => (id, self.store.record_run(id, *count, at)),
                Write::Delete(id) => (id, self.store.delete(id)),
            };
            if let Err(err) = done {
                tracing::warn!(job = id, %err, "a cron job's change was not recorded");
            }
        }
    }
}
