//! The in-process emulator: [`Sim`] (the handle the CLI and tests hold) and the
//! shared state every HTTP handler reads. No network here: `server` serves a
//! [`Sim`] over TCP, and the cmdlet handlers in `exo` only see a tenant.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::config::SimConfig;
use crate::decision::DecisionKnobs;
use crate::exo::{CmdletError, Params, WriteCtx};
use crate::exposure::ExposureLog;
use crate::faults::Faults;
use crate::model::Tenant;
use crate::secrets::{self, ClearSecrets};
use crate::seed::SeedError;
use crate::stats::Stats;
use crate::store::{StateLock, StoreError};
use crate::{clock, seed, store};

/// `Rate-Limit-Limit` the service advertises (docs/exchange.md, "Admin API wire format").
pub(crate) const RATE_LIMIT: u64 = 30_000;
/// Window over which `Rate-Limit-Remaining` counts down (unknown in reality; see docs/sim.md).
const RATE_WINDOW_SECS: u64 = 60;

/// Why a sim could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The seed is unreadable or invalid.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The state file is unreadable or unwritable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Binding or serving failed.
    #[error("cannot serve on the network")]
    Io(#[from] std::io::Error),
    /// The HTTPS certificates could not be loaded or created.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// Neither a seed nor an existing state file was given.
    #[error("no tenant: give a seed file, or a state file that exists")]
    NoSeed,
}

/// Credentials of the seed's operator app, for `--tenant sim:PATH` logins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorCredentials {
    /// Tenant GUID.
    pub tenant_id: String,
    /// The operator app's client id.
    pub client_id: String,
    /// Its first client secret.
    pub client_secret: String,
}

/// A why a mutating cmdlet did not commit.
pub(crate) enum WriteError {
    /// The cmdlet failed; nothing changed.
    Cmdlet(CmdletError),
    /// The state file could not be written; nothing changed.
    Persist(String),
}

/// A mutating cmdlet as the admin API runs it.
pub(crate) type WriteFn = fn(&mut WriteCtx<'_>) -> Result<Vec<serde_json::Value>, CmdletError>;

/// A write waiting for the commit lock (see [`Shared::execute_write`]).
struct QueuedWrite {
    cmdlet: &'static str,
    f: WriteFn,
    params: Params,
    answer: Arc<Mutex<Option<WriteAnswer>>>,
}

/// What a write's caller gets back.
type WriteAnswer = Result<Vec<serde_json::Value>, WriteError>;

/// Tenant state plus its history (for Graph's propagation delay) and the exposure log.
struct Core {
    tenant: Arc<Tenant>,
    /// (time the state became current, state); `None` = since before the history started.
    history: VecDeque<(Option<Instant>, Arc<Tenant>)>,
    exposure: Option<ExposureLog>,
}

/// Everything the handlers share.
pub(crate) struct Shared {
    core: Mutex<Core>,
    /// Writes waiting for the holder of `core` to run them.
    queue: Mutex<VecDeque<QueuedWrite>>,
    config: RwLock<SimConfig>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    /// Random per process, never written: tokens do not outlive the process.
    pub(crate) signing_key: Vec<u8>,
    /// The seed's clear client secrets (memory only; the tenant holds hashes).
    clear_secrets: ClearSecrets,
    state_path: Option<PathBuf>,
    /// Held for the emulator's lifetime when it has a state file.
    _state_lock: Option<Arc<StateLock>>,
    rate: Mutex<HashMap<String, (u64, u64)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// The current tenant (a cheap, consistent snapshot).
    pub(crate) fn tenant(&self) -> Arc<Tenant> {
        Arc::clone(&self.core().tenant)
    }

    /// The tenant as Graph sees it: as of now minus the propagation delay.
    pub(crate) fn graph_view(&self) -> Arc<Tenant> {
        let delay = Duration::from_millis(self.config().propagation_delay_ms);
        let core = self.core();
        if delay.is_zero() || core.history.is_empty() {
            return Arc::clone(&core.tenant);
        }
        let cutoff = Instant::now().checked_sub(delay);
        let mut view = None;
        for (t, state) in &core.history {
            match (t, cutoff) {
                (None, _) => view = Some(state),
                (Some(t), Some(c)) if *t <= c => view = Some(state),
                _ => break,
            }
        }
        Arc::clone(view.unwrap_or(&core.tenant))
    }

    /// The configuration (faults as currently armed).
    pub(crate) fn config(&self) -> SimConfig {
        self.config.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the configuration, faults included.
    pub(crate) fn set_config(&self, cfg: SimConfig) {
        self.faults.set(cfg.faults.clone());
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = cfg;
    }

    /// Decision knobs from the configuration.
    pub(crate) fn knobs(&self) -> DecisionKnobs {
        let c = self.config.read().unwrap_or_else(PoisonError::into_inner);
        DecisionKnobs { nested: c.aap_nested_groups, invalid: c.invalid_policy_mode }
    }

    /// Runs a mutating cmdlet and commits it (persist, history, exposure) on success.
    ///
    /// Group commit: the call queues its cmdlet, then takes the commit lock.
    /// Whoever holds the lock runs every queued cmdlet in queue order on one
    /// working copy, saves the state file once for all of them, publishes
    /// the result and hands each caller its answer; a caller whose cmdlet a
    /// previous holder already ran just takes its answer. Durability is that
    /// of one write at a time (nothing is answered before the save that
    /// holds it), while concurrent writers share one save instead of each
    /// rewriting the whole state file (docs/sim.md, "State file").
    pub(crate) fn execute_write(&self, cmdlet: &'static str, f: WriteFn, params: &Params) -> WriteAnswer {
        let answer = Arc::new(Mutex::new(None));
        lock(&self.queue).push_back(QueuedWrite {
            cmdlet,
            f,
            params: params.clone(),
            answer: Arc::clone(&answer),
        });
        let mut core = self.core();
        if let Some(done) = lock(&answer).take() {
            return done;
        }
        let batch: Vec<QueuedWrite> = lock(&self.queue).drain(..).collect();
        let results = self.commit_batch(&mut core, &batch);
        // Answered before the lock is released: a caller of this batch that
        // takes the lock next must find its answer, not an empty queue.
        for (job, result) in batch.iter().zip(results) {
            *lock(&job.answer) = Some(result);
        }
        drop(core);
        // Only a holder that panicked mid-batch (a cmdlet bug) drains a
        // write without answering it; its caller gets a 500, not a panic.
        lock(&answer).take().unwrap_or_else(|| {
            Err(WriteError::Persist("the write was lost: the call that ran its batch failed".to_owned()))
        })
    }

    /// Runs `batch` in order on a working copy; saves and publishes it when
    /// at least one cmdlet succeeded. A failed cmdlet changes nothing; a
    /// failed save applies none of the batch (each succeeded caller gets the
    /// persistence error).
    fn commit_batch(&self, core: &mut Core, batch: &[QueuedWrite]) -> Vec<WriteAnswer> {
        let knobs = self.knobs();
        let delay = Duration::from_millis(self.config().propagation_delay_ms);
        let mut working = (*core.tenant).clone();
        let mut steps: Vec<(Tenant, Tenant, &'static str)> = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        for job in batch {
            let before = working.clone();
            match (job.f)(&mut WriteCtx { tenant: &mut working, params: &job.params, now: clock::unix_now() })
            {
                Ok(out) => {
                    if core.exposure.is_some() {
                        steps.push((before, working.clone(), job.cmdlet));
                    }
                    results.push(Ok(out));
                }
                Err(e) => {
                    working = before;
                    results.push(Err(WriteError::Cmdlet(e)));
                }
            }
        }
        if !results.iter().any(Result::is_ok) {
            return results;
        }
        if let Some(path) = &self.state_path
            && let Err(e) = store::save(path, &working, NO_KEY)
        {
            let msg = e.to_string();
            return results
                .into_iter()
                .map(|r| r.and_then(|_| Err(WriteError::Persist(msg.clone()))))
                .collect();
        }
        if self.state_path.is_some() {
            self.stats.state_saved();
        }
        if let Some(log) = core.exposure.as_mut() {
            for (before, after, cmdlet) in &steps {
                log.record(before, after, cmdlet, knobs);
            }
        }
        let new = Arc::new(working);
        let now = Instant::now();
        if delay.is_zero() {
            core.history.clear();
        } else {
            if core.history.is_empty() {
                let old = Arc::clone(&core.tenant);
                core.history.push_back((None, old));
            }
            core.history.push_back((Some(now), Arc::clone(&new)));
            if let Some(cutoff) = now.checked_sub(delay) {
                while core.history.len() >= 2 && core.history[1].0.is_some_and(|t| t <= cutoff) {
                    core.history.pop_front();
                }
            }
        }
        core.tenant = new;
        results
    }

    /// Starts the exposure log with the current state as "before".
    pub(crate) fn exposure_checkpoint(&self) {
        let knobs = self.knobs();
        let mut core = self.core();
        let log = ExposureLog::checkpoint(&core.tenant, knobs);
        core.exposure = Some(log);
    }

    /// The exposure report (None when no checkpoint was taken).
    pub(crate) fn exposure_report(&self) -> Option<(u64, Vec<crate::exposure::Exposure>)> {
        let knobs = self.knobs();
        let core = self.core();
        core.exposure.as_ref().map(|log| (log.mutations(), log.report(&core.tenant, knobs)))
    }

    /// Counts a call against the app's rate budget: (remaining, window reset time).
    pub(crate) fn rate_limit(&self, app_id: &str) -> (u64, u64) {
        let now = clock::unix_now();
        let window = now - now % RATE_WINDOW_SECS;
        let mut rate = lock(&self.rate);
        let entry = rate.entry(app_id.to_ascii_lowercase()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        (RATE_LIMIT.saturating_sub(entry.1), window + RATE_WINDOW_SECS)
    }
}

/// An emulated tenant. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Sim {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("tenant", &self.tenant_id()).finish_non_exhaustive()
    }
}

/// What the state file holds for the token-signing key: nothing.
const NO_KEY: &[u8] = &[];

fn random_key() -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

impl Sim {
    fn build(tenant: Tenant, clear_secrets: ClearSecrets, state: Option<(PathBuf, Arc<StateLock>)>) -> Self {
        let (state_path, state_lock) = state.unzip();
        let config = SimConfig::default();
        Self {
            shared: Arc::new(Shared {
                core: Mutex::new(Core { tenant: Arc::new(tenant), history: VecDeque::new(), exposure: None }),
                queue: Mutex::new(VecDeque::new()),
                faults: Faults::new(config.faults.clone()),
                config: RwLock::new(config),
                stats: Stats::default(),
                signing_key: random_key(),
                clear_secrets,
                state_path,
                _state_lock: state_lock,
                rate: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// An in-memory tenant built by the caller (generated tenants for
    /// benchmarks and scale tests). Nothing is persisted.
    pub fn from_tenant(mut tenant: Tenant) -> Self {
        let clear = secrets::seal(&mut tenant);
        Self::build(tenant, clear, None)
    }

    /// An in-memory tenant from a seed file (YAML, or JSON by extension). Nothing is persisted.
    pub fn from_seed_file(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let mut tenant = seed::load_file(path.as_ref())?;
        let clear = secrets::seal(&mut tenant);
        Ok(Self::build(tenant, clear, None))
    }

    /// An in-memory tenant from seed text; relative PEM paths resolve against `base_dir`.
    pub fn from_seed_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Self, SimError> {
        let base = base_dir.as_ref();
        let mut tenant = seed::load_str(text, false, base, Path::new("<seed>"))?;
        let clear = secrets::seal(&mut tenant);
        Ok(Self::build(tenant, clear, None))
    }

    /// A persistent tenant: loads `state_path` if it exists (it wins over the seed),
    /// else builds from `seed_path` and writes the state file at once. Every
    /// committed mutation then rewrites the state file atomically.
    ///
    /// The state file stays locked against other processes while this `Sim` (or a
    /// clone, or a server serving it) lives: a second process gets
    /// [`StoreError::Locked`] instead of silently losing one side's changes.
    pub fn open(state_path: impl AsRef<Path>, seed_path: Option<&Path>) -> Result<Self, SimError> {
        let state_path = state_path.as_ref().to_owned();
        if seed_path.is_none() && !state_path.exists() {
            return Err(SimError::NoSeed);
        }
        let lock = StateLock::acquire(&state_path)?;
        // The seed gives the clear secrets (for the operator's logins); the
        // state file holds only their hashes and no signing key. A state
        // file written before that is rewritten so at once.
        let from_seed =
            seed_path.map(|p| seed::load_file(p).map(|mut t| secrets::seal(&mut t))).transpose()?;
        if state_path.exists() {
            let (mut tenant, old_key) = store::load(&state_path)?;
            let from_state = secrets::seal(&mut tenant);
            let had_clear = from_state.any() || !old_key.is_empty();
            if had_clear {
                store::save(&state_path, &tenant, NO_KEY)?;
            }
            let clear = from_seed.unwrap_or(from_state);
            return Ok(Self::build(tenant, clear, Some((state_path, lock))));
        }
        let seed_path = seed_path.ok_or(SimError::NoSeed)?;
        let mut tenant = seed::load_file(seed_path)?;
        let clear = secrets::seal(&mut tenant);
        store::save(&state_path, &tenant, NO_KEY)?;
        Ok(Self::build(tenant, clear, Some((state_path, lock))))
    }

    /// Replaces the configuration (faults included).
    pub fn set_config(&self, config: SimConfig) {
        self.shared.set_config(config);
    }

    /// Builder form of [`Sim::set_config`].
    #[must_use]
    pub fn with_config(self, config: SimConfig) -> Self {
        self.set_config(config);
        self
    }

    /// The current configuration.
    pub fn config(&self) -> SimConfig {
        let mut c = self.shared.config();
        c.faults = self.shared.faults.get();
        c
    }

    /// The tenant GUID.
    pub fn tenant_id(&self) -> String {
        self.shared.tenant().id.clone()
    }

    /// A snapshot of the whole tenant.
    pub fn tenant(&self) -> Tenant {
        (*self.shared.tenant()).clone()
    }

    /// The operator app's tenant id, client id and first client secret, if
    /// the seed names one. The secret comes from the seed this emulator was
    /// built or opened with: a state file keeps only hashes.
    pub fn operator_credentials(&self) -> Option<OperatorCredentials> {
        let t = self.shared.tenant();
        let app = t.app(t.operator_app_id.as_deref()?)?;
        Some(OperatorCredentials {
            tenant_id: t.id.clone(),
            client_id: app.app_id.clone(),
            client_secret: self.app_secret(&app.app_id)?,
        })
    }

    /// The first clear client secret of `app_id`, as the seed gave it.
    pub fn app_secret(&self, app_id: &str) -> Option<String> {
        self.shared.clear_secrets.first(app_id).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_group(name: &str) -> Params {
        let raw = serde_json::json!({"Name": name, "Type": "Security"});
        let spec = crate::exo::find("New-DistributionGroup").unwrap();
        Params::bind(spec.params, raw.as_object().unwrap()).unwrap()
    }

    /// Writes queued while another holds the commit lock are run by the next
    /// holder in queue order, saved once, and each gets its own answer.
    #[test]
    fn queued_writes_share_one_save_and_each_gets_its_answer() {
        let dir = std::env::temp_dir().join(format!("mailscope-sim-batch-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso.tenant.yaml");
        let sim = Sim::open(dir.join("state.json"), Some(&seed)).unwrap();
        let shared = &sim.shared;
        let crate::exo::Handler::Write(create) = crate::exo::find("New-DistributionGroup").unwrap().handler
        else {
            panic!("a write cmdlet")
        };
        let answers: Vec<_> = ["queued-1", "queued-1", "queued-2"]
            .into_iter()
            .map(|name| {
                let answer = Arc::new(Mutex::new(None));
                lock(&shared.queue).push_back(QueuedWrite {
                    cmdlet: "New-DistributionGroup",
                    f: create,
                    params: new_group(name),
                    answer: Arc::clone(&answer),
                });
                answer
            })
            .collect();
        let own = shared.execute_write("New-DistributionGroup", create, &new_group("caller"));
        assert!(own.is_ok());
        let taken: Vec<bool> = answers.iter().map(|a| matches!(lock(a).take(), Some(Ok(_)))).collect();
        assert_eq!(taken, [true, false, true], "the second `queued-1` is refused: the first ran before it");
        assert_eq!(shared.stats.snapshot().state_saves, 1);
        drop(sim);
        let (saved, _) = store::load(&dir.join("state.json")).unwrap();
        for name in ["queued-1", "queued-2", "caller"] {
            assert_eq!(saved.recipients.iter().filter(|r| r.name == name).count(), 1, "{name} saved once");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
