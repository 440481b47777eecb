//! mailscope-testkit: the one way tests, benches and the end-to-end suite start
//! an emulator and talk to it.
//!
//! Before this crate, seven copies of "load the seed, bind 127.0.0.1:0, serve,
//! build a session" lived across the crates' tests; each drifted a little
//! (retry numbers, paths). [`Emulator`] does it once, [`contoso`] names the
//! fixture's ids and test-only secrets, and [`fast_retry`] keeps retries short
//! so a fault test does not wait for production backoffs.
//!
//! Dependency direction: this crate depends on `mailscope-sim` and
//! `mailscope-exo` and is only ever a dev-dependency (never of a product crate).
//!
//! ```no_run
//! # async fn demo() {
//! let emu = mailscope_testkit::Emulator::contoso().await;
//! let exo = emu.session().exo();
//! # let _ = exo;
//! emu.shutdown().await;
//! # }
//! ```

pub mod contoso;
pub mod github_actions;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mailscope_exo::{ClientCredentials, Cloud, EndpointOverrides, RetryPolicy, Session, SessionConfig};
use mailscope_sim::{OperatorCredentials, ServerHandle, Sim};

/// The repository root (where `policies/` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the emulator's test data (`crates/mailscope-sim/testdata`: keys
/// and certificates for the certificate and federated credential flows).
pub fn sim_testdata(name: &str) -> PathBuf {
    workspace_root().join("crates/mailscope-sim/testdata").join(name)
}

/// Where an emulator's tenant comes from.
#[derive(Clone, Debug)]
pub enum Seed {
    /// The Contoso fixture, `policies/contoso.tenant.yaml`, in memory.
    Contoso,
    /// A seed file (YAML or JSON), in memory.
    File(PathBuf),
    /// A persistent tenant: `state` if it exists, else built from `seed` and written there.
    State {
        /// The state file.
        state: PathBuf,
        /// The seed of a new state file.
        seed: PathBuf,
    },
}

impl Seed {
    /// Builds the (not yet served) emulator.
    ///
    /// # Panics
    /// When the seed or state file does not load: a broken fixture is a test bug.
    pub fn load(&self) -> Sim {
        let sim = match self {
            Seed::Contoso => Sim::from_seed_file(contoso::seed_path()),
            Seed::File(path) => Sim::from_seed_file(path),
            Seed::State { state, seed } => Sim::open(state, Some(seed)),
        };
        sim.unwrap_or_else(|e| panic!("emulator seed {self:?} does not load: {e}"))
    }
}

/// Retries short enough for tests (20 ms doubling to 200 ms, 8 attempts) while
/// still honouring `Retry-After` up to 5 s.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        total_budget: Duration::from_secs(60),
    }
}

/// The default session configuration with [`fast_retry`].
pub fn fast_config() -> SessionConfig {
    SessionConfig { retry: fast_retry(), ..SessionConfig::default() }
}

/// An emulator served on `127.0.0.1:0`; stops when dropped (or at [`Emulator::shutdown`]).
#[derive(Debug)]
pub struct Emulator {
    sim: Sim,
    server: ServerHandle,
    operator: Option<OperatorCredentials>,
}

impl Emulator {
    /// The Contoso fixture, in memory.
    pub async fn contoso() -> Self {
        Self::start(&Seed::Contoso).await
    }

    /// Loads `seed` and serves it. Requires a Tokio runtime.
    pub async fn start(seed: &Seed) -> Self {
        Self::serve(seed.load()).await
    }

    /// Serves an emulator the caller built (to set a config or open a state file first).
    ///
    /// # Panics
    /// When loopback cannot be bound.
    pub async fn serve(sim: Sim) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let operator = sim.operator_credentials();
        let server = mailscope_sim::serve(sim.clone(), listener).await;
        Self { sim, server, operator }
    }

    /// The emulator itself (tenant snapshot, config, faults).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// `http://127.0.0.1:PORT`, the origin of every endpoint.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Endpoint overrides pointing the client at this emulator.
    pub fn overrides(&self) -> EndpointOverrides {
        EndpointOverrides::all(&self.base_url())
    }

    /// The seed's operator app (tenant id, client id, first secret).
    ///
    /// # Panics
    /// When the seed names no operator app.
    pub fn operator(&self) -> &OperatorCredentials {
        self.operator.as_ref().expect("the seed names an operator app")
    }

    /// Client credentials (secret) of the operator app.
    ///
    /// # Panics
    /// When the seed names no operator app.
    pub fn credentials(&self) -> ClientCredentials {
        let op = self.operator();
        ClientCredentials::with_secret(&op.tenant_id, &op.client_id, op.client_secret.as_str())
            .expect("operator credentials are well formed")
    }

    /// A session on this emulator with `creds` and `config`.
    ///
    /// # Panics
    /// When the session cannot be built (the loopback URL is always valid).
    pub fn session_with(&self, creds: ClientCredentials, config: SessionConfig) -> Session {
        Session::new(creds, Cloud::Public, &self.overrides(), config).expect("session on the emulator")
    }

    /// The operator's session with [`fast_config`].
    pub fn session(&self) -> Session {
        self.session_with(self.credentials(), fast_config())
    }

    /// The server handle (for its address).
    pub fn server(&self) -> &ServerHandle {
        &self.server
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
