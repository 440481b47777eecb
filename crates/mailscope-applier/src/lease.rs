//! The apply lease: one applying run per tenant at a time.
//!
//! Stale-plan detection narrows the race between two applies but cannot
//! close it: both may read the same tenant, plan, and then interleave their
//! writes. The lease closes it. It is a hidden mail-enabled security group
//! with a fixed name ([`LEASE_GROUP`]) in the tenant itself, so every
//! machine that can write the tenant sees it:
//!
//! - **Take** (before the first write): `New-DistributionGroup` with the
//!   fixed name; Exchange refuses a name that exists, so exactly one taker
//!   wins. The winner's run id is in the group's `DisplayName` from that
//!   call on; then the record (holder: run id, host, pid; expiry) goes into
//!   `CustomAttribute14`, and the take **re-reads** the group to confirm that
//!   the group under the name is the one it created and names its run.
//! - **Renew** (while applying, every third of the time to live): the
//!   record is rewritten with a later expiry, addressed by the group's
//!   object id; if that group is gone (the lease was broken) the lease is
//!   lost and the run stops starting steps.
//! - **Release** (at the end): the group is removed by its object id.
//! - **Wait**: a run that finds the lease held polls until its
//!   `--lock-timeout`, then fails with the holder and the expiry.
//! - **Break**: a lease past its expiry, or held by a process of this very
//!   machine (same boot, same pid namespace) that no longer runs, may be
//!   removed (by object id) and taken again through the same `New-` race.
//!   A record nobody can read (a taker between its two calls, or a
//!   hand-edited group) counts as held until one time to live has passed
//!   since it was first seen.
//!
//! Residual race (documented in docs/reliability.md): a holder that is
//! alive but stalled past its expiry (a suspended VM, a partitioned
//! network) loses its lease to a breaker; it learns so at its next renewal
//! and stops starting steps, but a step it already sent may land after the
//! new holder's first read. The time to live (10 minutes by default,
//! renewed every 3) makes that a stall of minutes, not a race of
//! milliseconds.
//!
//! The one lease is tenant-wide, not per desired file: two pipelines that
//! apply two commits of one file, or two files sharing a group, must not
//! interleave either, and a per-file key would let them.

use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mailscope_exo::{ExoClient, ExoErrorKind};

use crate::apply::CancelToken;

// `LeaseKeeper` spawns its renewal task on the caller's runtime.

/// The lease group's `Name` and alias.
pub const LEASE_GROUP: &str = "mailscope-lease";

/// Default time to live of a lease (renewed every third of it).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(600);

/// Prefix of the lease record in `CustomAttribute14`.
const RECORD_PREFIX: &str = "mailscope/v1 lease";

/// 9999-12-31T23:59:59.999Z in Unix milliseconds: the latest expiry read.
const LAST_EXPIRY_MS: u64 = 253_402_300_799_999;

/// Prefix of the lease group's `DisplayName`, followed by the run id.
const DISPLAY_PREFIX: &str = "mailscope lease ";

/// Attempts per store call before a transient failure ends the take or
/// the release (a lost reply or a 5xx on one call should not fail a run).
const STORE_ATTEMPTS: u32 = 3;

/// Who holds (or wants) the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The run id (the journal's `run_id`).
    pub run_id: String,
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// Boot id and pid namespace (Linux): two processes with equal values
    /// see the same process table, so one can tell whether the other runs.
    pub machine: Option<String>,
}

impl Holder {
    /// This process, for a new run (a fresh run id).
    pub fn new_run() -> Self {
        Self::this_process(&uuid::Uuid::new_v4().to_string())
    }

    /// This process, for the run `run_id`.
    pub fn this_process(run_id: &str) -> Self {
        Self { run_id: run_id.to_owned(), host: host_name(), pid: std::process::id(), machine: machine_id() }
    }
}

impl Holder {
    /// `run=… host=… pid=… [machine=…]`, each value one token.
    fn fields(&self) -> String {
        let mut out = format!("run={} host={} pid={}", token(&self.run_id), token(&self.host), self.pid);
        if let Some(m) = &self.machine {
            let _ = write!(out, " machine={}", token(m));
        }
        out
    }

    /// The lease group's `DisplayName` for this holder: set by the create
    /// itself, so a taker killed before it wrote its record is still known
    /// (and, when its process is gone, its lease is broken at once).
    fn display_name(&self) -> String {
        format!("{DISPLAY_PREFIX}{}", self.fields())
    }

    /// The holder a `DisplayName` names, if it is one of ours.
    fn from_display_name(text: &str) -> Option<Self> {
        parse_fields(text.strip_prefix(DISPLAY_PREFIX)?).map(|(h, _)| h)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run {} (host {}, pid {})", self.run_id, self.host, self.pid)
    }
}

/// A lease record: holder and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The holder.
    pub holder: Holder,
    /// When the lease ends unless renewed.
    pub expires: SystemTime,
}

impl LeaseRecord {
    /// `mailscope/v1 lease run=… host=… pid=… machine=… expires=<unix ms>`.
    fn to_text(&self) -> String {
        let ms = self.expires.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        format!("{RECORD_PREFIX} {} expires={ms}", self.holder.fields())
    }

    /// Reads a record; `None` for anything else (the tenant is untrusted:
    /// a hand-edited record is "unreadable", never trusted in part).
    fn parse(text: &str) -> Option<Self> {
        let (holder, expires) = parse_fields(text.strip_prefix(RECORD_PREFIX)?)?;
        Some(Self { holder, expires: UNIX_EPOCH.checked_add(Duration::from_millis(expires?))? })
    }
}

/// `run=… host=… pid=… [machine=…] [expires=…]`: a holder and, if given, an
/// expiry in Unix milliseconds. Any malformed field makes the whole `None`.
fn parse_fields(text: &str) -> Option<(Holder, Option<u64>)> {
    let (mut run, mut host, mut pid, mut machine, mut expires) = (None, None, None, None, None);
    for field in text.split_whitespace() {
        let (key, value) = field.split_once('=')?;
        match key {
            "run" => run = Some(value.to_owned()),
            "host" => host = Some(value.to_owned()),
            "pid" => pid = Some(value.parse::<u32>().ok()?),
            "machine" => machine = Some(value.to_owned()),
            // Past year 9999 is no expiry a run writes: a forged
            // "forever" lease is unreadable, not trusted.
            "expires" => expires = Some(value.parse::<u64>().ok().filter(|ms| *ms <= LAST_EXPIRY_MS)?),
            _ => {}
        }
    }
    Some((Holder { run_id: run?, host: host?, pid: pid?, machine }, expires))
}

/// A value as one record token: no whitespace, no `=`, bounded.
fn token(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_whitespace() || c == '=' || c.is_control() { '_' } else { c })
        .collect()
}

/// The lease group as read (untrusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseObject {
    /// Its object id.
    pub id: String,
    /// Its `DisplayName`.
    pub display_name: String,
    /// Its record, raw.
    pub record: Option<String>,
}

/// How a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A recipient with the lease name exists (or the create may have
    /// happened: the caller reads back).
    #[error("the lease group already exists")]
    Exists,
    /// The group is gone.
    #[error("the lease group does not exist")]
    NotFound,
    /// Anything else (scrubbed text).
    #[error("{0}")]
    Other(String),
}

/// Where the lease lives: Exchange Online in practice ([`ExoClient`]), a
/// map in the tests.
pub trait LeaseStore: Sync {
    /// Creates the group `name` with `display_name`; its object id.
    fn create(
        &self,
        name: &str,
        display_name: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// The group `name`, if any.
    fn read(&self, name: &str) -> impl Future<Output = Result<Option<LeaseObject>, StoreError>> + Send;
    /// Writes the record of the group `id`.
    fn write(&self, id: &str, record: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes the group `id` (gone already is fine).
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

fn store_error(e: &mailscope_exo::ExoError) -> StoreError {
    match e.kind {
        ExoErrorKind::AlreadyExists => StoreError::Exists,
        // A create whose reply was lost may have happened: read back.
        _ if e.maybe_applied && e.operation == "New-DistributionGroup" => StoreError::Exists,
        ExoErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Other(crate::tenant::scrub_secrets(&e.to_string())),
    }
}

impl LeaseStore for ExoClient {
    async fn create(&self, name: &str, display_name: &str) -> Result<String, StoreError> {
        self.new_lease_group(name, display_name).await.map(|g| g.id).map_err(|e| store_error(&e))
    }

    async fn read(&self, name: &str) -> Result<Option<LeaseObject>, StoreError> {
        let group = self.get_lease_group(name).await.map_err(|e| store_error(&e))?;
        Ok(group.map(|g| LeaseObject { id: g.id, display_name: g.display_name, record: g.record }))
    }

    async fn write(&self, id: &str, record: &str) -> Result<(), StoreError> {
        self.set_lease_record(id, record).await.map_err(|e| store_error(&e))
    }

    async fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.remove_lease_group(id).await.map_err(|e| store_error(&e))
    }
}

/// How to take and keep the lease.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// The group name ([`LEASE_GROUP`]).
    pub name: String,
    /// Time to live of a record; renewed every third of it.
    pub ttl: Duration,
    /// How long to wait for a held lease (`--lock-timeout`; zero: fail at once).
    pub wait: Duration,
    /// Pause between two looks at a held lease.
    pub poll: Duration,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        Self {
            name: LEASE_GROUP.to_owned(),
            ttl: DEFAULT_LEASE_TTL,
            wait: Duration::ZERO,
            poll: Duration::from_secs(5),
        }
    }
}

/// Why the lease could not be taken or kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it (after waiting `waited`). `holder` is `None`
    /// when the record cannot be read.
    #[error("{}", held_message(holder.as_ref(), *expires, *waited))]
    Held {
        /// The holder, when its record is readable.
        holder: Option<Holder>,
        /// Its expiry, when readable.
        expires: Option<SystemTime>,
        /// How long this run waited.
        waited: Duration,
    },
    /// The lease was broken by another run while this one held it.
    #[error("the apply lease was taken over by another run (this run had stalled past its expiry)")]
    Lost,
    /// The tenant refused or failed a lease call.
    #[error("the apply lease could not be {action}: {error}")]
    Store {
        /// "taken", "renewed", "released".
        action: &'static str,
        /// What failed.
        error: StoreError,
    },
}

fn held_message(holder: Option<&Holder>, expires: Option<SystemTime>, waited: Duration) -> String {
    let who = match (holder, expires) {
        (Some(h), Some(_)) => h.to_string(),
        (Some(h), None) => format!("{h}, which has not written its lease record yet,"),
        (None, _) => "another run (its lease record is not readable)".to_owned(),
    };
    let until = expires.map_or_else(String::new, |e| format!(" until {}", at(e)));
    format!(
        "the tenant is locked by another apply: {who} holds the lease{until}; waited {} s (--lock-timeout)",
        waited.as_secs()
    )
}

/// `t` as RFC 3339 UTC, as the journal writes times.
fn at(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    crate::journal::rfc3339(d.as_secs(), d.subsec_millis())
}

/// A held lease.
#[derive(Debug)]
pub struct Lease {
    id: String,
    record: LeaseRecord,
    ttl: Duration,
    /// Whether a dead or expired holder's lease was broken to take it.
    broke: Option<Holder>,
}

impl Lease {
    /// The record as last written.
    pub fn record(&self) -> &LeaseRecord {
        &self.record
    }

    /// The previous holder, when this take broke an expired or dead one's lease.
    pub fn broke(&self) -> Option<&Holder> {
        self.broke.as_ref()
    }

    /// Writes a later expiry. [`LeaseError::Lost`] when the group is gone.
    pub async fn renew(&mut self, store: &impl LeaseStore, now: SystemTime) -> Result<(), LeaseError> {
        let record = LeaseRecord { holder: self.record.holder.clone(), expires: now + self.ttl };
        match store.write(&self.id, &record.to_text()).await {
            Ok(()) => {
                self.record = record;
                Ok(())
            }
            Err(StoreError::NotFound) => Err(LeaseError::Lost),
            Err(error) => Err(LeaseError::Store { action: "renewed", error }),
        }
    }

    /// Removes the group (retrying a transient failure).
    pub async fn release(self, store: &impl LeaseStore) -> Result<(), LeaseError> {
        retry(|| store.remove(&self.id))
            .await
            .map_err(|error| LeaseError::Store { action: "released", error })
    }
}

/// Calls `op` up to [`STORE_ATTEMPTS`] times while it fails with
/// [`StoreError::Other`] (the client has already retried per its policy;
/// this covers a single-attempt policy too).
async fn retry<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(StoreError::Other(_)) if attempt < STORE_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// What a look at a taken lease decided.
enum Verdict {
    /// Ours (a create whose reply was lost): finish the take.
    Ours,
    /// Expired or its holder is gone: remove it and race again.
    Breakable(Option<Holder>),
    /// Held (by whom, until when, as far as readable): wait or fail.
    Held(Option<Holder>, Option<SystemTime>),
}

/// Takes the lease for `me`, waiting up to `options.wait`. `now` is the
/// clock (injected for tests); `alive` tells whether a process of this
/// machine runs.
pub async fn acquire(
    store: &impl LeaseStore,
    options: &LeaseOptions,
    me: &Holder,
    now: &(dyn Fn() -> SystemTime + Sync),
    alive: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Lease, LeaseError> {
    let started = Instant::now();
    let taken = |error| LeaseError::Store { action: "taken", error };
    let display = me.display_name();
    // An unreadable record: when this run first saw it.
    let mut unreadable_since: Option<Instant> = None;
    let mut broke = None;
    loop {
        let id = match retry(|| store.create(&options.name, &display)).await {
            Ok(id) => Some(id),
            Err(StoreError::Exists) => None,
            Err(e) => return Err(taken(e)),
        };
        let object = match id {
            Some(id) => Some(LeaseObject { id, display_name: display.clone(), record: None }),
            None => retry(|| store.read(&options.name)).await.map_err(taken)?,
        };
        let Some(object) = object else { continue };
        let dead_here = |h: &Holder| h.machine.is_some() && h.machine == me.machine && !alive(h.pid);
        let verdict = match object.record.as_deref().and_then(LeaseRecord::parse) {
            Some(r) if r.holder.run_id == me.run_id => Verdict::Ours,
            Some(r) if r.expires <= now() || dead_here(&r.holder) => Verdict::Breakable(Some(r.holder)),
            Some(r) => Verdict::Held(Some(r.holder), Some(r.expires)),
            // No readable record: a taker between its create and its write
            // (or killed there), known by the group's display name.
            None => match Holder::from_display_name(&object.display_name) {
                Some(h) if h.run_id == me.run_id => Verdict::Ours,
                Some(h) if dead_here(&h) => Verdict::Breakable(Some(h)),
                holder => {
                    let since = *unreadable_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= options.ttl {
                        Verdict::Breakable(holder)
                    } else {
                        Verdict::Held(holder, None)
                    }
                }
            },
        };
        match verdict {
            Verdict::Ours => {
                let record = LeaseRecord { holder: me.clone(), expires: now() + options.ttl };
                let text = record.to_text();
                retry(|| store.write(&object.id, &text)).await.map_err(taken)?;
                // Confirm: the group under the name is the one this run
                // wrote, with its record (a breaker may have removed it
                // between the create and the write).
                let back = retry(|| store.read(&options.name)).await.map_err(taken)?;
                let confirmed = back.as_ref().is_some_and(|b| {
                    b.id == object.id
                        && b.record
                            .as_deref()
                            .and_then(LeaseRecord::parse)
                            .is_some_and(|r| r.holder.run_id == me.run_id)
                });
                if confirmed {
                    return Ok(Lease { id: object.id, record, ttl: options.ttl, broke });
                }
            }
            Verdict::Breakable(holder) => {
                tracing::warn!(holder = ?holder, "breaking an expired or abandoned apply lease");
                retry(|| store.remove(&object.id)).await.or_else(ignore_not_found).map_err(taken)?;
                unreadable_since = None;
                broke = holder.or(broke);
            }
            Verdict::Held(holder, expires) => {
                let waited = started.elapsed();
                if waited >= options.wait {
                    return Err(LeaseError::Held { holder, expires, waited });
                }
                tokio::time::sleep(options.poll.min(options.wait.saturating_sub(waited))).await;
            }
        }
    }
}

fn ignore_not_found(e: StoreError) -> Result<(), StoreError> {
    if e == StoreError::NotFound { Ok(()) } else { Err(e) }
}

/// Runs `work` while holding `lease`: renews it every third of its time to
/// live; if it is lost, cancels `cancel` (no new step starts) and reports
/// it. Releases it when `work` ends. Returns `work`'s output and the first
/// lease problem, if any.
pub async fn hold_while<T>(
    mut lease: Lease,
    store: &impl LeaseStore,
    cancel: &CancelToken,
    work: impl Future<Output = T>,
) -> (T, Option<LeaseError>) {
    let every = (lease.ttl / 3).max(Duration::from_millis(10));
    let mut work = std::pin::pin!(work);
    let mut problem = None;
    let output = loop {
        tokio::select! {
            out = &mut work => break out,
            () = tokio::time::sleep(every) => {
                match lease.renew(store, SystemTime::now()).await {
                    Ok(()) => {}
                    Err(LeaseError::Lost) => {
                        tracing::error!("the apply lease was lost: no new step starts");
                        cancel.cancel();
                        problem.get_or_insert(LeaseError::Lost);
                    }
                    // A failed renewal is retried at the next tick; the
                    // record still holds until its expiry.
                    Err(e) => tracing::warn!(error = %e, "the apply lease could not be renewed"),
                }
            }
        }
    };
    if problem != Some(LeaseError::Lost)
        && let Err(e) = lease.release(store).await
    {
        problem.get_or_insert(e);
    }
    (output, problem)
}

/// A lease kept by a task of its own: for holders whose work is not one
/// future (the reconcile loop's session reads, plans and corrects).
#[derive(Debug)]
pub struct LeaseKeeper {
    stop: CancelToken,
    task: tokio::task::JoinHandle<Option<LeaseError>>,
}

impl LeaseKeeper {
    /// Renews `lease` every third of its time to live until
    /// [`LeaseKeeper::release`]; cancels `on_lost` if it is lost.
    pub fn spawn<S: LeaseStore + Send + 'static>(lease: Lease, store: S, on_lost: CancelToken) -> Self {
        let stop = CancelToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let ((), problem) = hold_while(lease, &store, &on_lost, until.cancelled()).await;
            problem
        });
        Self { stop, task }
    }

    /// Stops renewing and releases the lease; the first problem, if any.
    pub async fn release(self) -> Option<LeaseError> {
        self.stop.cancel();
        self.task.await.unwrap_or(None)
    }
}

/// The host name (Linux: the kernel's; else `HOSTNAME`/`COMPUTERNAME`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Boot id and pid namespace (Linux only): equal values mean one process
/// table, so a pid can be checked. Elsewhere `None`, and a lease is only
/// ever broken by expiry.
fn machine_id() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), ns.display()))
}

/// Whether process `pid` of this machine runs (Linux: `/proc/PID` exists).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") { std::path::Path::new(&format!("/proc/{pid}")).exists() } else { true }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
