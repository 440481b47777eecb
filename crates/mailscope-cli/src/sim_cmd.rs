//! `mailscope sim serve`: the emulator as a long-running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use mailscope_sim::{ServeOptions, SimConfig};

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Serve the token endpoint, the Exchange admin API and a Graph subset
    /// on loopback until interrupted (see docs/sim.md).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Tenant seed (YAML or JSON), used when the state file does not exist.
    #[arg(long, value_name = "SEED.yaml")]
    seed: Option<PathBuf>,
    /// State file, written atomically after every change.
    #[arg(long, value_name = "STATE.json")]
    state: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
    listen: SocketAddr,
    /// Behaviour and fault knobs as JSON (the `SimConfig` of docs/sim.md).
    #[arg(long, value_name = "CONFIG.json")]
    config: Option<PathBuf>,
    /// Delay added to every call, in milliseconds.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Fraction (0..1) of calls answered 429 with Retry-After.
    #[arg(long, value_name = "RATE")]
    throttle_rate: Option<f64>,
    /// Fraction (0..1) of calls answered with a 5xx.
    #[arg(long, value_name = "RATE")]
    server_error_rate: Option<f64>,
    /// Fraction (0..1) of calls whose connection is reset.
    #[arg(long, value_name = "RATE")]
    reset_rate: Option<f64>,
    /// Largest InvokeCommand page, whatever the client asks.
    #[arg(long, value_name = "N")]
    page_size: Option<usize>,
    /// How long Graph lags policy changes, in milliseconds.
    #[arg(long, value_name = "MS")]
    propagation_delay_ms: Option<u64>,
}

pub(crate) async fn run(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    let SimCommand::Serve(args) = cmd;
    let mut config = match &args.config {
        Some(path) => serde_json::from_str::<SimConfig>(&crate::output::read_text(path)?)
            .with_context(|| format!("{} is not an emulator config (see docs/sim.md)", path.display()))?,
        None => SimConfig::default(),
    };
    if let Some(v) = args.latency_ms {
        config.faults.latency_ms = v;
    }
    for (flag, value, slot) in [
        ("--throttle-rate", args.throttle_rate, &mut config.faults.throttle_rate),
        ("--server-error-rate", args.server_error_rate, &mut config.faults.server_error_rate),
        ("--reset-rate", args.reset_rate, &mut config.faults.reset_rate),
    ] {
        if let Some(v) = value {
            anyhow::ensure!((0.0..=1.0).contains(&v), "{flag} must be between 0 and 1, not {v}");
            *slot = v;
        }
    }
    if let Some(v) = args.page_size {
        anyhow::ensure!(v > 0, "--page-size must be at least 1");
        config.faults.page_size = Some(v);
    }
    if let Some(v) = args.propagation_delay_ms {
        config.propagation_delay_ms = v;
    }
    let seed = args.seed.clone().or_else(|| {
        let default = PathBuf::from(crate::target::DEFAULT_SEED);
        (args.state.as_ref().is_none_or(|s| !s.exists()) && default.exists()).then_some(default)
    });
    mailscope_sim::run(ServeOptions { listen: args.listen, seed, state: args.state, config })
        .await
        .context("the emulator stopped")?;
    Ok(ExitCode::SUCCESS)
}
