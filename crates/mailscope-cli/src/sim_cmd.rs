//! `mailscope sim serve`: the emulator as a long-running server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use mailscope_exo::SessionConfig;
use mailscope_sim::{ServeOptions, SimConfig};

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Serve the token endpoint, the Exchange admin API and a Graph subset
    /// on loopback until interrupted (see docs/sim.md).
    Serve(ServeArgs),
    /// Send a mail through the emulator's Graph `sendMail` as one of its
    /// apps: shows the 202 an allowed mailbox gets and the 403 a restricted
    /// app gets (exit 0 sent, 2 denied, 1 other error).
    SendMail(SendMailArgs),
    /// Print the path of the local CA certificate that `sim serve --tls`
    /// uses for a state file (generated now when missing), for
    /// `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS` or `--ca-file`.
    Ca(CaArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaArgs {
    /// The emulator's state file; the CA lives in `STATE.tls/` beside it.
    #[arg(long, value_name = "STATE.json")]
    state: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SendMailArgs {
    /// The emulator: `sim:PATH` (created from the seed when missing).
    #[arg(long, value_name = "sim:PATH")]
    tenant: String,
    /// Seed of a new state file.
    #[arg(long, value_name = "SEED.yaml")]
    seed: Option<PathBuf>,
    /// The app sending: its display name or client id in the emulator.
    #[arg(long, value_name = "APP")]
    app: String,
    /// The mailbox to send as (`/users/{mailbox}/sendMail`).
    #[arg(long, value_name = "ADDRESS")]
    mailbox: String,
    /// Recipient of the test mail.
    #[arg(long, value_name = "ADDRESS", default_value = "someone@example.com")]
    to: String,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Tenant seed (YAML or JSON), used when the state file does not exist
    /// (default: the Contoso demo seed built into the binary).
    #[arg(long, value_name = "SEED.yaml")]
    seed: Option<PathBuf>,
    /// State file, written atomically after every change.
    #[arg(long, value_name = "STATE.json")]
    state: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8765")]
    listen: SocketAddr,
    /// Accept a `--listen` address other than loopback. The emulator hands
    /// out tokens to anyone who knows a seeded secret and its `/_sim/*`
    /// routes change the tenant unauthenticated: off this machine it is
    /// for a trusted network only.
    #[arg(long)]
    allow_non_loopback: bool,
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
    /// Largest `InvokeCommand` page, whatever the client asks.
    #[arg(long, value_name = "N")]
    page_size: Option<usize>,
    /// How long Graph lags policy changes, in milliseconds.
    #[arg(long, value_name = "MS")]
    propagation_delay_ms: Option<u64>,
    /// Serve HTTPS with a local CA kept beside the state file (needs
    /// --state; `mailscope sim ca` prints the CA's path).
    #[arg(long, requires = "state")]
    tls: bool,
}

pub(crate) async fn run(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SimCommand::Serve(args) => serve(args).await,
        SimCommand::SendMail(args) => send_mail(&args).await,
        SimCommand::Ca(args) => ca(&args),
    }
}

fn ca(args: &CaArgs) -> anyhow::Result<ExitCode> {
    let dir = mailscope_sim::tls_dir_for_state(&args.state);
    let material = mailscope_sim::TlsMaterial::load_or_create(&dir)
        .with_context(|| format!("cannot set up the emulator's CA in {}", dir.display()))?;
    let path = std::path::absolute(material.ca_file()).unwrap_or_else(|_| material.ca_file().to_path_buf());
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

async fn send_mail(args: &SendMailArgs) -> anyhow::Result<ExitCode> {
    let Some(state) = args.tenant.strip_prefix("sim:") else {
        anyhow::bail!("--tenant must name the emulator (`sim:PATH`): send-mail logs in as an emulated app");
    };
    let (sim, server) =
        crate::target::start_sim(std::path::Path::new(state), args.seed.as_deref(), false).await?;
    let tenant = sim.tenant();
    let app = tenant
        .apps
        .iter()
        .find(|a| a.display_name.eq_ignore_ascii_case(&args.app) || a.app_id.eq_ignore_ascii_case(&args.app));
    let result = match app {
        None => {
            Err(anyhow::anyhow!("--app {}: the emulator has no app with that name or client id", args.app))
        }
        Some(app) => match sim.app_secret(&app.app_id) {
            None => Err(anyhow::anyhow!(
                "--app {}: the app has no client secret in the emulator's seed",
                args.app
            )),
            Some(secret) => {
                let session = crate::target::sim_session(
                    &server,
                    &tenant.id,
                    &app.app_id,
                    &secret,
                    SessionConfig::default(),
                )?;
                let sent = session
                    .graph()
                    .send_mail(
                        &args.mailbox,
                        &args.to,
                        "mailscope test",
                        "Sent by `mailscope sim send-mail`.",
                    )
                    .await;
                Ok((app.display_name.clone(), sent))
            }
        },
    };
    server.shutdown().await;
    let (name, sent) = result?;
    match sent {
        Ok(()) => {
            println!("202 Accepted: {name} sent a mail as {}", args.mailbox);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.status == Some(403) => {
            println!("403 Forbidden: {name} may not send as {}: {}", args.mailbox, e.message);
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::Error::new(e).context("sendMail failed")),
    }
}

/// Refuses a non-loopback listen address unless asked for explicitly.
fn check_listen(listen: SocketAddr, allow_non_loopback: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        listen.ip().is_loopback() || allow_non_loopback,
        "--listen {listen} is not a loopback address: the emulator's control routes are unauthenticated; \
         pass --allow-non-loopback to serve it on a trusted network anyway"
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    check_listen(args.listen, args.allow_non_loopback)?;
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
    // Without --seed and without an existing state: the embedded demo seed,
    // written out until the emulator has loaded it.
    let demo = if crate::demo_seed::needed(args.seed.as_deref(), args.state.as_deref()) {
        Some(crate::demo_seed::MaterializedSeed::write()?)
    } else {
        None
    };
    let seed = args.seed.clone().or_else(|| demo.as_ref().map(crate::demo_seed::MaterializedSeed::seed_file));
    let tls_dir = args.state.as_deref().filter(|_| args.tls).map(mailscope_sim::tls_dir_for_state);
    let server =
        mailscope_sim::start(&ServeOptions { listen: args.listen, seed, state: args.state, config, tls_dir })
            .await
            .context("the emulator stopped")?;
    drop(demo);
    println!("mailscope sim listening on {}", server.base_url());
    if let Some(ca) = server.ca_file() {
        println!("trust the emulator's CA: {}", ca.display());
    }
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped.context("the emulator stopped")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::check_listen;

    #[test]
    fn a_non_loopback_listen_address_needs_the_flag() {
        for ok in ["127.0.0.1:0", "[::1]:8765", "127.5.6.7:1"] {
            check_listen(ok.parse().unwrap(), false).unwrap();
        }
        for bad in ["0.0.0.0:8765", "[::]:0", "192.168.1.2:80"] {
            let err = check_listen(bad.parse().unwrap(), false).unwrap_err().to_string();
            assert!(err.contains("--allow-non-loopback") && err.contains(bad), "{err}");
            check_listen(bad.parse().unwrap(), true).unwrap();
        }
    }
}
