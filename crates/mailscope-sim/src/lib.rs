//! mailscope-sim: a local emulator of the tenant APIs mailscope talks to.
//!
//! One HTTP origin serves the Entra token endpoint, the Exchange Online
//! admin `InvokeCommand` API, a Microsoft Graph subset and `/_sim` control
//! endpoints, following `docs/exchange.md` (the wire format, the access
//! decision, Graph and tokens as the real services behave). It is the
//! embedded default target of the CLI (`--tenant sim:PATH`) and the ground
//! for integration, fault and performance tests. See `docs/sim.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = mailscope_sim::Sim::from_seed_file("policies/contoso.tenant.yaml")?;
//! let creds = sim.operator_credentials().expect("seed names an operator app");
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = mailscope_sim::serve(sim, listener).await;
//! println!("{} as {}", server.base_url(), creds.client_id);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

// Layers, bottom to top; a module only uses modules of its own or a lower layer
// (checked by `tests/layers.rs`):
// data and rules
mod catalog;
mod clock;
mod config;
mod decision;
mod exposure;
mod exposure_delta;
mod faults;

mod model;
mod opath;
mod secrets;
mod seed;
mod stats;
mod store;
mod tcp;
mod token;
// cmdlets over a tenant
mod exo;
// the in-process emulator
mod state;
// HTTP handlers and router, then the network
mod http;
mod server;
mod tls;

pub use catalog::{EXCHANGE_APP_ID, EXCHANGE_AUDIENCE, GRAPH_APP_ID, GRAPH_AUDIENCE};
pub use config::{Fidelity, SimConfig};
pub use decision::{InvalidPolicyMode, NestedGroups, Verdict};

pub use exposure::{Exposure, OTHER_MAILBOX};
pub use faults::{FailKind, FailNth, FailWhen, FaultConfig};
pub use http::AAP_DENIAL;
pub use model::{
    AccessRight, App, Directory, ManagedIdentityKind, Policy, Recipient, RecipientId, RecipientKind,
    RecipientMut, SharedVec, Tenant,
};
pub use opath::{Filter, FilterError, Op, parse as parse_filter};
pub use seed::SeedError;
pub use server::{ServeOptions, ServerHandle, serve, serve_tls, start};
pub use state::{OperatorCredentials, Sim, SimError};
pub use stats::StatsSnapshot;
pub use store::StoreError;
pub use tls::{TlsError, TlsMaterial, tls_dir_for_state};
