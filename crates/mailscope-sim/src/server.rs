//! The library API ([`Sim`], [`SimConfig`], [`serve`], [`ServeOptions`], [`run`])
//! and the shared runtime state every handler reads.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::decision::{DecisionKnobs, InvalidPolicyMode, NestedGroups};
use crate::exo::{CmdletError, Params, WriteCtx};
use crate::exposure::ExposureLog;
use crate::faults::{FaultConfig, Faults};
use crate::model::Tenant;
use crate::seed::SeedError;
use crate::stats::Stats;
use crate::store::StoreError;
use crate::{clock, control, exo, graph, seed, store, token};

/// `Rate-Limit-Limit` the service advertises (exo-wire §5.2).
pub(crate) const RATE_LIMIT: u64 = 30_000;
/// Window over which `Rate-Limit-Remaining` counts down (unknown in reality; see docs/sim.md).
const RATE_WINDOW_SECS: u64 = 60;

/// Behaviour knobs. Serde (camelCase, `snake_case` aliases) so the CLI can read
/// it from a file and `POST /_sim/config` can replace it at runtime.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimConfig {
    /// `expires_in` of issued tokens (and their `exp - iat`), seconds.
    #[serde(alias = "token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// How long Graph keeps using the old AAP/membership state after a change, milliseconds.
    #[serde(alias = "propagation_delay_ms")]
    pub propagation_delay_ms: u64,
    /// Whether AAP scope membership is direct or transitive.
    #[serde(alias = "aap_nested_groups")]
    pub aap_nested_groups: NestedGroups,
    /// How policies whose scope was deleted are evaluated.
    #[serde(alias = "invalid_policy_mode")]
    pub invalid_policy_mode: InvalidPolicyMode,
    /// HTTP status of cmdlet execution errors (400 by default; 404/500 also seen in the wild).
    #[serde(alias = "cmdlet_error_status")]
    pub cmdlet_error_status: u16,
    /// Reject `InvokeCommand` calls without `X-AnchorMailbox` (exo-wire §8.1).
    #[serde(alias = "require_anchor_mailbox")]
    pub require_anchor_mailbox: bool,
    /// Fault injection.
    pub faults: FaultConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token_lifetime_secs: 3599,
            propagation_delay_ms: 0,
            aap_nested_groups: NestedGroups::Direct,
            invalid_policy_mode: InvalidPolicyMode::FailClosed,
            cmdlet_error_status: 400,
            require_anchor_mailbox: true,
            faults: FaultConfig::default(),
        }
    }
}

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
    config: RwLock<SimConfig>,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) signing_key: Vec<u8>,
    state_path: Option<PathBuf>,
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

    /// Runs a mutating cmdlet on a working copy and commits it (persist, history, exposure) on success.
    pub(crate) fn execute_write(
        &self,
        cmdlet: &str,
        f: fn(&mut WriteCtx<'_>) -> Result<Vec<serde_json::Value>, CmdletError>,
        params: &Params,
    ) -> Result<Vec<serde_json::Value>, WriteError> {
        let knobs = self.knobs();
        let delay = Duration::from_millis(self.config().propagation_delay_ms);
        let mut core = self.core();
        let mut working = (*core.tenant).clone();
        let out = f(&mut WriteCtx { tenant: &mut working, params, now: clock::unix_now() })
            .map_err(WriteError::Cmdlet)?;
        if let Some(path) = &self.state_path {
            store::save(path, &working, &self.signing_key).map_err(|e| WriteError::Persist(e.to_string()))?;
        }
        if let Some(log) = core.exposure.as_mut() {
            log.record(&working, cmdlet, knobs);
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
        Ok(out)
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

fn random_key() -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

impl Sim {
    fn build(tenant: Tenant, key: Vec<u8>, state_path: Option<PathBuf>) -> Self {
        let config = SimConfig::default();
        Self {
            shared: Arc::new(Shared {
                core: Mutex::new(Core { tenant: Arc::new(tenant), history: VecDeque::new(), exposure: None }),
                faults: Faults::new(config.faults.clone()),
                config: RwLock::new(config),
                stats: Stats::default(),
                signing_key: key,
                state_path,
                rate: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// An in-memory tenant from a seed file (YAML, or JSON by extension). Nothing is persisted.
    pub fn from_seed_file(path: impl AsRef<Path>) -> Result<Self, SimError> {
        let tenant = seed::load_file(path.as_ref())?;
        Ok(Self::build(tenant, random_key(), None))
    }

    /// An in-memory tenant from seed text; relative PEM paths resolve against `base_dir`.
    pub fn from_seed_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Self, SimError> {
        let base = base_dir.as_ref();
        let tenant = seed::load_str(text, false, base, Path::new("<seed>"))?;
        Ok(Self::build(tenant, random_key(), None))
    }

    /// A persistent tenant: loads `state_path` if it exists (it wins over the seed),
    /// else builds from `seed_path` and writes the state file at once. Every
    /// committed mutation then rewrites the state file atomically.
    pub fn open(state_path: impl AsRef<Path>, seed_path: Option<&Path>) -> Result<Self, SimError> {
        let state_path = state_path.as_ref().to_owned();
        if state_path.exists() {
            let (tenant, key) = store::load(&state_path)?;
            return Ok(Self::build(tenant, key, Some(state_path)));
        }
        let seed_path = seed_path.ok_or(SimError::NoSeed)?;
        let tenant = seed::load_file(seed_path)?;
        let key = random_key();
        store::save(&state_path, &tenant, &key)?;
        Ok(Self::build(tenant, key, Some(state_path)))
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

    /// The operator app's tenant id, client id and first client secret, if the seed names one.
    pub fn operator_credentials(&self) -> Option<OperatorCredentials> {
        let t = self.shared.tenant();
        let app = t.app(t.operator_app_id.as_deref()?)?;
        Some(OperatorCredentials {
            tenant_id: t.id.clone(),
            client_id: app.app_id.clone(),
            client_secret: app.client_secrets.first()?.clone(),
        })
    }
}

/// Per-connection info handed to handlers: the peer and a "reset me" flag.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfo {
    reset: Arc<AtomicBool>,
}

impl ConnInfo {
    /// Marks the connection for an abrupt reset and returns a placeholder
    /// response that will never reach the client: the stream fails its next
    /// write, hyper drops it, and zero linger turns the close into a TCP RST.
    pub(crate) fn reset(&self) -> Response {
        self.reset.store(true, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl Connected<IncomingStream<'_, SimListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose streams can be reset from a handler.
pub(crate) struct SimListener {
    inner: TcpListener,
}

/// A TCP stream that fails all I/O (and closes with RST) once its flag is set.
pub(crate) struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    fn check(&self) -> std::io::Result<()> {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for SimListener {
    type Io = ResettableStream;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let reset = Arc::new(AtomicBool::new(false));
                    return (
                        ResettableStream { inner: stream, reset: Arc::clone(&reset) },
                        ConnInfo { reset },
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()?;
        Ok(ConnInfo { reset: Arc::new(AtomicBool::new(false)) })
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_endpoint))
        .route("/adminapi/{version}/{tenant}/InvokeCommand", post(exo::invoke_command))
        .route("/v1.0/users/{user}/sendMail", post(graph::send_mail))
        .route("/v1.0/{*rest}", get(graph::get))
        .merge(control::routes())
        .with_state(shared)
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the one origin serving every endpoint.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `sim` on `listener` in a background task (requires a Tokio runtime).
///
/// The server runs until [`ServerHandle::shutdown`] is awaited or the handle is dropped.
pub async fn serve(sim: Sim, listener: TcpListener) -> ServerHandle {
    // A bound TCP listener always knows its address; the fallback only keeps the signature infallible.
    let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(Arc::clone(&sim.shared));
    let task = tokio::spawn(async move {
        axum::serve(SimListener { inner: listener }, app.into_make_service_with_connect_info::<ConnInfo>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    ServerHandle { addr, shutdown: Some(tx), task: Some(task) }
}

/// What `mailscope sim serve` needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ServeOptions {
    /// Listen address; loopback by default. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed file (used when the state file does not exist yet, or when there is none).
    pub seed: Option<PathBuf>,
    /// State file; persisted after every mutation.
    pub state: Option<PathBuf>,
    /// Behaviour and fault knobs.
    pub config: SimConfig,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8765)),
            seed: None,
            state: None,
            config: SimConfig::default(),
        }
    }
}

/// Loads the tenant per `opts`, serves it, prints
/// `mailscope sim listening on http://127.0.0.1:PORT`, and runs until Ctrl-C.
pub async fn run(opts: ServeOptions) -> Result<(), SimError> {
    let sim = match (&opts.state, &opts.seed) {
        (Some(state), seed) => Sim::open(state, seed.as_deref())?,
        (None, Some(seed)) => Sim::from_seed_file(seed)?,
        (None, None) => return Err(SimError::NoSeed),
    };
    sim.set_config(opts.config.clone());
    let listener = TcpListener::bind(opts.listen).await?;
    let handle = serve(sim, listener).await;
    println!("mailscope sim listening on {}", handle.base_url());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
