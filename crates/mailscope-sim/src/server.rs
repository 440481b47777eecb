//! The network part: serving a [`Sim`] on a TCP listener over HTTP
//! ([`serve`]) or HTTPS ([`serve_tls`]), and starting one from
//! [`ServeOptions`] ([`start`]).
//! Printing and waiting for Ctrl-C are the caller's (the CLI's) business.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::config::SimConfig;
use crate::http::{self, Scheme};
use crate::state::{Sim, SimError};
use crate::tcp::{ConnInfo, SimListener};
use crate::tls::{TlsListener, TlsMaterial};

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    scheme: Scheme,
    /// The CA clients must trust, when serving HTTPS.
    ca_file: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://…` when serving HTTPS; the
    /// certificate names 127.0.0.1, `::1` and localhost): the one origin
    /// serving every endpoint.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.addr)
    }

    /// The CA certificate (PEM) to trust, when serving HTTPS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
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
    let app = http::router(Arc::clone(&sim.shared), Scheme::Http);
    let task = tokio::spawn(async move {
        axum::serve(SimListener::new(listener), app.into_make_service_with_connect_info::<ConnInfo>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    ServerHandle { addr, scheme: Scheme::Http, ca_file: None, shutdown: Some(tx), task: Some(task) }
}

/// Serves `sim` over HTTPS on `listener` with the certificate of `tls`
/// (requires a Tokio runtime); otherwise as [`serve`].
pub async fn serve_tls(sim: Sim, listener: TcpListener, tls: &TlsMaterial) -> ServerHandle {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = http::router(Arc::clone(&sim.shared), Scheme::Https);
    let listener = TlsListener::new(listener, tls);
    let addr = listener.addr();
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<ConnInfo>())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    ServerHandle {
        addr,
        scheme: Scheme::Https,
        ca_file: Some(tls.ca_file().to_owned()),
        shutdown: Some(tx),
        task: Some(task),
    }
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
    /// Serve HTTPS with the CA and certificate kept in this directory
    /// (created at first start; see [`crate::tls_dir_for_state`]).
    pub tls_dir: Option<PathBuf>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8765)),
            seed: None,
            state: None,
            config: SimConfig::default(),
            tls_dir: None,
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
    let tls = opts.tls_dir.as_deref().map(TlsMaterial::load_or_create).transpose()?;
    let listener = TcpListener::bind(opts.listen).await?;
    Ok(match tls {
        Some(tls) => serve_tls(sim, listener, &tls).await,
        None => serve(sim, listener).await,
    })
}
