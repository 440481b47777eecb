//! The network part: serving a [`Sim`] on a TCP listener ([`serve`],
//! [`ServerHandle`]) and starting one from [`ServeOptions`] ([`start`]).
//! Printing and waiting for Ctrl-C are the caller's (the CLI's) business.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::config::SimConfig;
use crate::http;
use crate::state::{Sim, SimError};
use crate::tcp::{ConnInfo, SimListener};

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
    let app = http::router(Arc::clone(&sim.shared));
    let task = tokio::spawn(async move {
        axum::serve(SimListener::new(listener), app.into_make_service_with_connect_info::<ConnInfo>())
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

/// Loads the tenant per `opts` (the state file wins over the seed), applies its
/// configuration, binds `opts.listen` and serves it. The caller prints the
/// address and decides when to stop (the CLI waits for Ctrl-C).
pub async fn start(opts: &ServeOptions) -> Result<ServerHandle, SimError> {
    let sim = match (&opts.state, &opts.seed) {
        (Some(state), seed) => Sim::open(state, seed.as_deref())?,
        (None, Some(seed)) => Sim::from_seed_file(seed)?,
        (None, None) => return Err(SimError::NoSeed),
    };
    sim.set_config(opts.config.clone());
    let listener = TcpListener::bind(opts.listen).await?;
    Ok(serve(sim, listener).await)
}
