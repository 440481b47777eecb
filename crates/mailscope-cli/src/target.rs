//! Choosing and connecting to the tenant a command works on.
//!
//! Owns: the tenant flags ([`TenantArgs`]), credentials from the
//! environment, the in-process emulator's lifetime, and the one live read
//! a command makes (what to read is the planner's
//! [`mailscope_planner::reads_for`]).
//!
//! `--tenant sim:PATH` starts the emulator inside this process on a state
//! file (created from a seed when missing: `--seed`, else the Contoso demo
//! seed compiled into the binary, [`crate::demo_seed`]) and logs in with the
//! seed's operator app: nothing to configure, nothing leaves 127.0.0.1.
//! `--tenant <GUID|domain>` (or `tenant:` in the desired file, or
//! `AZURE_TENANT_ID`) talks to Exchange Online with the credential the
//! environment names (`mailscope_exo::ClientCredentials::from_lookup`: the
//! `AZURE_*` variables, GitHub Actions OIDC or a managed identity; the
//! precedence is documented there and in docs/auth.md). Every name given must name the tenant reached
//! ([`crate::tenant_names`]); the connection carries its tenant id.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use mailscope_exo::{
    ClientCredentials, Cloud, EndpointOverrides, ExoClient, Session, SessionConfig, SnapshotRequest,
    TenantIdentity,
};
use mailscope_planner::LiveSnapshot;
use mailscope_sim::{ServerHandle, Sim};
use mailscope_spec::{DesiredState, EntraGrants, Mechanism, UnlistedMode};

use crate::tenant_names::{self, Origin, TenantName};

/// Options that pick and reach the tenant.
#[derive(Debug, Args, Clone)]
pub(crate) struct TenantArgs {
    /// `sim:PATH` for the embedded emulator on a state file, or the tenant
    /// GUID, initial or verified domain for Exchange Online (default:
    /// `tenant:` in the file, then `AZURE_TENANT_ID`).
    #[arg(long, value_name = "TENANT")]
    pub(crate) tenant: Option<String>,
    /// Seed of a new emulator state file (with `--tenant sim:PATH`;
    /// default: the Contoso demo seed built into the binary).
    #[arg(long, value_name = "SEED.yaml")]
    pub(crate) seed: Option<PathBuf>,
    /// National cloud: public, gcc-high, dod or china.
    #[arg(long, value_name = "CLOUD", default_value = "public", env = "MAILSCOPE_ENVIRONMENT")]
    pub(crate) environment: String,
    /// Login authority override (also `MAILSCOPE_LOGIN_URL`).
    #[arg(long, value_name = "URL")]
    pub(crate) login_url: Option<String>,
    /// Exchange Online base URL override (also `MAILSCOPE_EXO_URL`).
    #[arg(long, value_name = "URL")]
    pub(crate) exo_url: Option<String>,
    /// Microsoft Graph base URL override (also `MAILSCOPE_GRAPH_URL`).
    #[arg(long, value_name = "URL")]
    pub(crate) graph_url: Option<String>,
    /// Attempts per call, the first included: transient failures (429, 503,
    /// resets, …) are retried with backoff up to this many times; 1 disables
    /// retries.
    #[arg(long, value_name = "N", default_value_t = SessionConfig::default().retry.max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub(crate) max_attempts: u32,
    /// Extra root CA certificate (PEM) to trust, e.g. the emulator's
    /// (`mailscope sim ca`); verification stays on.
    #[arg(long, value_name = "CA.pem", env = "MAILSCOPE_CA_FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// With `--tenant sim:PATH`: serve the in-process emulator over HTTPS
    /// (its CA in `PATH.tls/`, trusted by this session only).
    #[arg(long, env = "MAILSCOPE_SIM_TLS")]
    pub(crate) sim_tls: bool,
}

impl TenantArgs {
    fn session_config(&self) -> anyhow::Result<SessionConfig> {
        let mut config = SessionConfig::default();
        config.retry.max_attempts = self.max_attempts;
        if let Some(path) = &self.ca_file {
            config.extra_root_pem = Some(
                std::fs::read(path).with_context(|| format!("cannot read --ca-file {}", path.display()))?,
            );
        }
        Ok(config)
    }
}

/// A live connection; keeps the in-process emulator alive while it exists.
pub(crate) struct Connection {
    pub(crate) session: Session,
    /// Shown in messages: `sim:PATH` or the tenant name used to log in.
    pub(crate) label: String,
    /// The tenant id (GUID, lower case) the session reached, learnt from
    /// its token: what saved plans, journals and comments record.
    pub(crate) tenant_id: String,
    server: Option<ServerHandle>,
}

impl Connection {
    /// Stops the in-process emulator, if any (its state is already on disk).
    pub(crate) async fn close(self) {
        if let Some(server) = self.server {
            server.shutdown().await;
        }
    }
}

/// Connects to the target named by the flags, or by `tenant:` in the file,
/// or by `AZURE_TENANT_ID`, and checks that every name given is this tenant.
pub(crate) async fn connect(args: &TenantArgs, desired: Option<&DesiredState>) -> anyhow::Result<Connection> {
    connect_limited(args, desired, None).await
}

/// [`connect`] with the session's ceiling on calls in flight set to
/// `max_concurrency` (`--concurrency` of the writing commands), so that the
/// flag bounds the reads too, not only the applier's steps.
pub(crate) async fn connect_limited(
    args: &TenantArgs,
    desired: Option<&DesiredState>,
    max_concurrency: Option<usize>,
) -> anyhow::Result<Connection> {
    let mut config = args.session_config()?;
    if let Some(n) = max_concurrency {
        config.max_concurrency = n.max(1);
    }
    let file_name = desired.and_then(|d| d.tenant.as_deref().map(|t| (d.origin.as_str(), t)));
    if let Some(path) = args.tenant.as_deref().and_then(|t| t.strip_prefix("sim:")) {
        // The emulator's own operator app logs in: AZURE_TENANT_ID names the
        // credentials of a real tenant and plays no part here.
        let conn = connect_sim(Path::new(path), args.seed.as_deref(), config, args.sim_tls).await?;
        let login = TenantName { origin: Origin::Sim(path.to_owned()), value: conn.tenant_id.clone() };
        let mut names = vec![login];
        names.extend(tenant_names::given(None, file_name, None));
        return check_names(conn, &names).await;
    }
    let env_tenant = std::env::var("AZURE_TENANT_ID").ok();
    let names = tenant_names::given(args.tenant.as_deref(), file_name, env_tenant.as_deref());
    let Some(login) = names.first().cloned() else {
        bail!(
            "no tenant chosen: pass `--tenant sim:.mailscope/demo.json` to try the embedded emulator, \
             or `--tenant <tenant id or domain>` (or `tenant:` in the file, or AZURE_TENANT_ID) with \
             a credential in the environment: AZURE_CLIENT_ID with a secret, certificate or federated \
             token, GitHub Actions OIDC, or a managed identity (see docs/auth.md)"
        );
    };
    if let Some((a, b)) = tenant_names::guid_conflict(&names) {
        bail!("{b} and {a} are two different tenants; make them name the same tenant, or drop one of them");
    }
    let cloud: Cloud = args.environment.parse().context("--environment")?;
    let overrides = EndpointOverrides {
        login_url: args.login_url.clone(),
        exo_url: args.exo_url.clone(),
        graph_url: args.graph_url.clone(),
    }
    .or(EndpointOverrides::from_env());
    // The first name given logs in; the others are checked against the
    // tenant it reaches.
    let creds = ClientCredentials::from_lookup(|name| {
        if name == "AZURE_TENANT_ID" { Some(login.value.clone()) } else { std::env::var(name).ok() }
    })
    .with_context(|| format!("cannot build credentials for Exchange Online ({login})"))?;
    let session = Session::new(creds, cloud, &overrides, config)
        .context("cannot set up the Exchange Online session")?;
    let tenant_id =
        session.exo().tenant_id().await.with_context(|| format!("cannot log in to the tenant of {login}"))?;
    let conn = Connection { session, label: login.value.clone(), tenant_id, server: None };
    check_names(conn, &names).await
}

/// Checks the names against the connection's tenant, reading its accepted
/// domains only when a domain has to be compared; closes the connection
/// on a mismatch.
async fn check_names(conn: Connection, names: &[TenantName]) -> anyhow::Result<Connection> {
    let verdict = if tenant_names::needs_domains(names) {
        match conn.session.exo().accepted_domains().await {
            Ok((domains, initial_domain)) => {
                let identity = TenantIdentity { id: conn.tenant_id.clone(), initial_domain, domains };
                tenant_names::check(names, &identity).map_err(anyhow::Error::msg)
            }
            Err(err) => Err(anyhow::Error::new(err).context(format!(
                "cannot read the accepted domains of {} to check that {} name the same tenant",
                conn.label,
                names.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    } else {
        let identity =
            TenantIdentity { id: conn.tenant_id.clone(), initial_domain: None, domains: Vec::new() };
        tenant_names::check(names, &identity).map_err(anyhow::Error::msg)
    };
    match verdict {
        Ok(()) => Ok(conn),
        Err(err) => {
            conn.close().await;
            Err(err)
        }
    }
}

/// Opens (or seeds) an emulator state file and serves it on 127.0.0.1, over
/// HTTPS with the CA beside the state file when `tls` is set.
pub(crate) async fn start_sim(
    state: &Path,
    seed: Option<&Path>,
    tls: bool,
) -> anyhow::Result<(Sim, ServerHandle)> {
    // Without --seed: the embedded demo seed, written out only while the
    // emulator loads it. It is needed even when the state file exists: the
    // state keeps client secrets only hashed, so the operator's credentials
    // come from the seed.
    let demo = if seed.is_none() { Some(crate::demo_seed::MaterializedSeed::write()?) } else { None };
    let seed = seed
        .map(Path::to_path_buf)
        .or_else(|| demo.as_ref().map(crate::demo_seed::MaterializedSeed::seed_file));
    if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let sim = Sim::open(state, seed.as_deref())
        .with_context(|| format!("cannot open the emulator state {}", state.display()))?;
    drop(demo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot bind 127.0.0.1 for the emulator")?;
    let server = if tls {
        let dir = mailscope_sim::tls_dir_for_state(state);
        let material = mailscope_sim::TlsMaterial::load_or_create(&dir)
            .with_context(|| format!("cannot set up the emulator's CA in {}", dir.display()))?;
        mailscope_sim::serve_tls(sim.clone(), listener, &material).await
    } else {
        mailscope_sim::serve(sim.clone(), listener).await
    };
    Ok((sim, server))
}

/// A session with the emulator as the given app (client secret from the seed);
/// over HTTPS it trusts the emulator's CA unless `config` names a CA already.
pub(crate) fn sim_session(
    server: &ServerHandle,
    tenant: &str,
    client_id: &str,
    secret: &str,
    mut config: SessionConfig,
) -> anyhow::Result<Session> {
    if let (Some(ca), None) = (server.ca_file(), &config.extra_root_pem) {
        config.extra_root_pem = Some(
            std::fs::read(ca).with_context(|| format!("cannot read the emulator's CA {}", ca.display()))?,
        );
    }
    let creds = ClientCredentials::with_secret(tenant, client_id, secret)
        .context("the emulator's app credentials are invalid")?;
    Session::new(creds, Cloud::Public, &EndpointOverrides::all(&server.base_url()), config)
        .context("cannot set up a session with the emulator")
}

async fn connect_sim(
    state: &Path,
    seed: Option<&Path>,
    config: SessionConfig,
    tls: bool,
) -> anyhow::Result<Connection> {
    let (sim, server) = start_sim(state, seed, tls).await?;
    let creds = sim.operator_credentials().context(
        "no operator app credentials for the emulator: its state file keeps only hashes of client secrets; \
             pass --seed SEED.yaml (the seed it was made from)",
    )?;
    let session = sim_session(&server, &creds.tenant_id, &creds.client_id, &creds.client_secret, config)?;
    let tenant_id = creds.tenant_id.to_ascii_lowercase();
    Ok(Connection { session, label: format!("sim:{}", state.display()), tenant_id, server: Some(server) })
}

/// What to read for planning a desired state: the planner's list, in the
/// client's request type, plus the RBAC side. The RBAC objects themselves
/// are read whenever the tenant has an Exchange pointer (one call finds
/// out); the Entra service principals and grants when the file has
/// `mechanism: rbac` apps, asks to remove grants, or does not ignore
/// unlisted apps (`unlistedApps: warn`, the default, and `lock-down` name
/// the apps holding mailbox permissions, which only the grants tell).
fn snapshot_request(desired: &DesiredState) -> SnapshotRequest {
    let reads = mailscope_planner::reads_for(desired);
    let rbac_app_ids: Vec<String> =
        desired.apps.iter().filter(|a| a.mechanism == Mechanism::Rbac).map(|a| a.app_id.clone()).collect();
    let grants = !rbac_app_ids.is_empty()
        || desired.apps.iter().any(|a| a.entra_grants == EntraGrants::Remove)
        || desired.unlisted_apps.mode != UnlistedMode::Ignore;
    SnapshotRequest {
        app_ids: reads.app_ids,
        group_names: reads.group_names,
        addresses: reads.addresses,
        rbac_app_ids,
        grants,
        ..SnapshotRequest::default()
    }
}

/// The Exchange client for a desired file: group markers in the file's
/// `markerAttribute` (`CustomAttribute15` by default), for reads and writes
/// alike, so that a plan and its apply look at the same attribute.
pub(crate) fn exo_for(conn: &Connection, desired: &DesiredState) -> ExoClient {
    conn.session.exo().with_marker_attribute(desired.marker_attribute)
}

/// Reads the live state the planner needs.
pub(crate) async fn read_live(conn: &Connection, desired: &DesiredState) -> anyhow::Result<LiveSnapshot> {
    let mut live = exo_for(conn, desired)
        .read_snapshot(&snapshot_request(desired))
        .await
        .with_context(|| format!("cannot read the live state of {}", conn.label))?;
    live.tenant = Some(conn.tenant_id.clone());
    Ok(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(state: &Path, sim_tls: bool) -> TenantArgs {
        TenantArgs {
            tenant: Some(format!("sim:{}", state.display())),
            seed: None,
            environment: "public".into(),
            login_url: None,
            exo_url: None,
            graph_url: None,
            max_attempts: 1,
            ca_file: None,
            sim_tls,
        }
    }

    #[tokio::test]
    async fn sim_target_over_https_trusts_its_own_ca() {
        let dir = std::env::temp_dir().join(format!(
            "mailscope-cli-sim-tls-{}-{}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
        ));
        let state = dir.join("state.json");
        let conn = connect(&args(&state, true), None).await.expect("in-process HTTPS emulator");
        assert!(conn.server.as_ref().is_some_and(|s| s.base_url().starts_with("https://127.0.0.1:")));
        assert!(mailscope_sim::tls_dir_for_state(&state).join("ca.pem").exists());
        let policies = conn.session.exo().get_policies().await.expect("InvokeCommand over HTTPS");
        assert!(!policies.is_empty());
        conn.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_ca_file_is_an_error() {
        let mut a = args(Path::new("unused.json"), false);
        a.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        let err = a.session_config().expect_err("read a missing file");
        assert!(format!("{err:#}").contains("--ca-file /nonexistent/ca.pem"), "{err:#}");
    }
}
