//! Credentials end to end: the real binary reaches the emulator through the
//! real-tenant code path with each credential kind the environment can name
//! (docs/auth.md, "Credentials").

use std::time::Instant;

use mailscope_sim::{FaultConfig, SimConfig};
use mailscope_testkit::Emulator;
use mailscope_testkit::contoso::{IDENTITY_HEADER, MI_USER, OPERATOR, TENANT_ID};
use mailscope_testkit::github_actions::{FakeActions, REQUEST_TOKEN, SUBJECT};

use crate::harness::{Run, Scratch, mailscope};

const FILE: &str = "policies/contoso.yaml";

/// The Contoso emulator with the host's managed identities, served by the test.
struct Host {
    rt: tokio::runtime::Runtime,
    emulator: Emulator,
    scratch: Scratch,
}

impl Host {
    fn start(name: &str, config: SimConfig) -> Host {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sim = mailscope_testkit::contoso::with_managed_identities().with_config(config);
        let emulator = rt.block_on(Emulator::serve(sim));
        Host { rt, emulator, scratch: Scratch::new(name) }
    }

    fn url(&self) -> String {
        self.emulator.base_url()
    }

    /// Runs the binary against the emulator's tenant with only `env` as credentials.
    fn run(&self, args: &[&str], env: &[(&str, String)]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--tenant", TENANT_ID]);
        let journal = self.scratch.path("journal.jsonl");
        if args.first() == Some(&"apply") {
            all.extend(["--journal", journal.to_str().unwrap()]);
        }
        // `mailscope` clears every credential variable, the injected ones included.
        let mut cmd = mailscope(&all);
        cmd.env("MAILSCOPE_LOGIN_URL", self.url())
            .env("MAILSCOPE_EXO_URL", self.url())
            .env("MAILSCOPE_GRAPH_URL", self.url());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run mailscope").into()
    }
}

#[test]
fn github_oidc_apply_outlives_its_id_and_access_tokens() {
    // Access tokens of 2 s (refreshed after 1 s), ID tokens of 3 s, and
    // 300 ms on every call: the apply takes several token lifetimes, so it
    // must get new access tokens, each with a new ID token, as it goes.
    let config = SimConfig {
        token_lifetime_secs: 2,
        faults: FaultConfig { latency_ms: 300, ..FaultConfig::default() },
        ..SimConfig::default()
    };
    let host = Host::start("creds-oidc", config);
    let actions = host.rt.block_on(FakeActions::start(SUBJECT, 3));
    let env = [
        ("AZURE_CLIENT_ID", OPERATOR.to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", actions.request_url().to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", REQUEST_TOKEN.to_owned()),
    ];
    let started = Instant::now();
    let r = host.run(&["apply", FILE, "--auto-approve", "--allow-widening"], &env);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Apply complete: 16 done"), "{}", r.stderr);
    assert!(took.as_secs() >= 4, "the apply must outlive the tokens to test anything (took {took:?})");
    // Two scopes want two tokens at the start; every later ID token was
    // asked for mid-apply, after the earlier ones had expired.
    let issued = actions.issued();
    assert!(issued >= 4, "only {issued} ID tokens in {took:?}");
    assert_eq!(actions.refused(), 0);
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(REQUEST_TOKEN) && !out.contains("eyJ"), "a token in the output: {out}");
    }
    let r = host.run(&["plan", FILE, "--detailed-exitcode"], &env);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn managed_identity_through_imds_and_the_app_service_endpoint() {
    let host = Host::start("creds-mi", SimConfig::default());
    let imds_system =
        vec![("MAILSCOPE_USE_MANAGED_IDENTITY", "true".to_owned()), ("MAILSCOPE_IMDS_URL", host.url())];
    let mut imds_user = imds_system.clone();
    imds_user.push(("AZURE_CLIENT_ID", MI_USER.to_owned()));
    let app_service = vec![
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", host.url())),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
    ];
    for env in [&imds_system, &imds_user, &app_service] {
        let r = host.run(&["plan", FILE, "--detailed-exitcode"], env);
        assert_eq!(r.code, 2, "{env:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("Plan: 17 to add, 3 to change, 4 to destroy."), "{}", r.stdout);
        assert!(!r.stderr.contains(IDENTITY_HEADER));
    }
    // A proxy in the environment must not carry the identity request: the
    // same emulator also listens on 127.0.0.2 for IMDS, and only 127.0.0.1
    // (Exchange, Graph) is exempt from a proxy that does not exist.
    let imds = host.rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.expect("bind 127.0.0.2");
        mailscope_sim::serve(host.emulator.sim().clone(), listener).await
    });
    let dead_proxy = "http://127.0.0.1:9".to_owned();
    let env = [
        ("MAILSCOPE_USE_MANAGED_IDENTITY", "true".to_owned()),
        ("MAILSCOPE_IMDS_URL", imds.base_url()),
        ("HTTP_PROXY", dead_proxy.clone()),
        ("http_proxy", dead_proxy),
        ("NO_PROXY", "127.0.0.1".to_owned()),
        ("no_proxy", "127.0.0.1".to_owned()),
    ];
    assert!(imds.base_url().starts_with("http://127.0.0.2:"), "{}", imds.base_url());
    let r = host.run(&["plan", FILE, "--detailed-exitcode"], &env);
    assert_eq!(r.code, 2, "the IMDS request went through the proxy: {}", r.stderr);

    // IMDS is plain http on 169.254.169.254 only: another http host is refused before anything is sent.
    let r = host.run(
        &["plan", FILE],
        &[
            ("MAILSCOPE_USE_MANAGED_IDENTITY", "true".to_owned()),
            ("MAILSCOPE_IMDS_URL", "http://10.0.0.1".to_owned()),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("MAILSCOPE_IMDS_URL") && r.stderr.contains("169.254.169.254"), "{}", r.stderr);
}

#[test]
fn pfx_certificate_with_its_password() {
    let host = Host::start("creds-pfx", SimConfig::default());
    let pfx = mailscope_testkit::sim_testdata("operator.aes256.pfx").to_str().unwrap().to_owned();
    let env = |password: &str| {
        vec![
            ("AZURE_CLIENT_ID", OPERATOR.to_owned()),
            ("AZURE_CLIENT_CERTIFICATE_PATH", pfx.clone()),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", password.to_owned()),
        ]
    };
    let r = host.run(&["plan", FILE, "--detailed-exitcode"], &env("test-only-pfx-password"));
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = host.run(&["plan", FILE], &env("not-the-password"));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("does not open with AZURE_CLIENT_CERTIFICATE_PASSWORD"), "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-password"), "{}", r.stderr);
}
