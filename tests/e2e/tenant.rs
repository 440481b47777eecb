//! Tenant identity: `--tenant`, the file's `tenant:` and `AZURE_TENANT_ID`
//! may each be the tenant GUID, its initial domain or a verified domain;
//! the binary resolves them against the tenant (token `tid`,
//! `Get-AcceptedDomain`) and refuses only a real mismatch, naming where each
//! value came from. A saved plan is bound to its tenant id.

use std::path::Path;

use mailscope_testkit::contoso;

use crate::harness::{Run, Scratch, mailscope, root, run, serve_contoso_state};

const TENANT_ID: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
const OTHER_ID: &str = "0b0b0b0b-1111-4222-8333-444444444444";
const FORMS: [&str; 3] = [TENANT_ID, "contoso.onmicrosoft.com", "Contoso.com"];

/// contoso.yaml with its `tenant:` line set to `tenant`, or removed.
fn policy_with_tenant(scratch: &Scratch, name: &str, tenant: Option<&str>) -> String {
    let text = std::fs::read_to_string(root().join("policies/contoso.yaml")).unwrap();
    let line = tenant.map(|t| format!("tenant: {t}")).unwrap_or_default();
    let text = text.replace("tenant: contoso.onmicrosoft.com", &line);
    scratch.write(name, &text).to_str().unwrap().to_owned()
}

struct Served {
    /// Runs the emulator; kept alive with it.
    _rt: tokio::runtime::Runtime,
    emulator: mailscope_testkit::Emulator,
    scratch: Scratch,
}

impl Served {
    fn start(name: &str) -> Served {
        let scratch = Scratch::new(name);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = serve_contoso_state(&rt, scratch.path("state.json"));
        Served { _rt: rt, emulator, scratch }
    }

    /// `plan FILE` with the tenant named by `flag` and `env` (each optional).
    fn plan(&self, file: &str, flag: Option<&str>, env: Option<&str>) -> Run {
        let mut args = vec!["plan", file];
        if let Some(flag) = flag {
            args.extend(["--tenant", flag]);
        }
        let url = self.emulator.base_url();
        let op = self.emulator.operator();
        let mut cmd = mailscope(&args);
        cmd.env("AZURE_CLIENT_ID", &op.client_id)
            .env("AZURE_CLIENT_SECRET", &op.client_secret)
            .env("MAILSCOPE_LOGIN_URL", &url)
            .env("MAILSCOPE_EXO_URL", &url)
            .env("MAILSCOPE_GRAPH_URL", &url);
        if let Some(env) = env {
            cmd.env("AZURE_TENANT_ID", env);
        }
        cmd.output().expect("run mailscope").into()
    }
}

#[test]
fn every_form_in_every_place_names_the_same_tenant() {
    let t = Served::start("tenant-forms");
    let options = || std::iter::once(None).chain(FORMS.iter().copied().map(Some));
    let mut files = Vec::new();
    for (i, file_tenant) in options().enumerate() {
        files.push((file_tenant, policy_with_tenant(&t.scratch, &format!("p{i}.yaml"), file_tenant)));
    }
    let mut cases = Vec::new();
    for flag in options() {
        for (file_tenant, file) in &files {
            for env in options() {
                if flag.is_some() || file_tenant.is_some() || env.is_some() {
                    cases.push((flag, *file_tenant, file.as_str(), env));
                }
            }
        }
    }
    assert_eq!(cases.len(), 63);
    std::thread::scope(|s| {
        for chunk in cases.chunks(16) {
            let t = &t;
            s.spawn(move || {
                for (flag, file_tenant, file, env) in chunk {
                    let r = t.plan(file, *flag, *env);
                    assert_eq!(
                        r.code, 0,
                        "--tenant {flag:?}, tenant: {file_tenant:?}, AZURE_TENANT_ID {env:?}: {}",
                        r.stderr
                    );
                    assert!(r.stdout.contains("to add"), "{}", r.stdout);
                }
            });
        }
    });
}

#[test]
fn a_real_mismatch_is_refused_naming_where_each_value_came_from() {
    let t = Served::start("tenant-mismatch");
    let fabrikam = policy_with_tenant(&t.scratch, "fabrikam.yaml", Some("fabrikam.com"));
    let r = t.plan(&fabrikam, Some(TENANT_ID), None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "`tenant: fabrikam.com` in {fabrikam} does not name the tenant of --tenant {TENANT_ID} \
             (tenant id {TENANT_ID}, domains contoso.onmicrosoft.com, contoso.com)"
        )),
        "{}",
        r.stderr
    );

    let plain = policy_with_tenant(&t.scratch, "plain.yaml", None);
    let r = t.plan(&plain, Some("contoso.com"), Some(OTHER_ID));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "AZURE_TENANT_ID={OTHER_ID} does not name the tenant of --tenant contoso.com"
        )),
        "{}",
        r.stderr
    );

    // Two different GUIDs are refused before any login.
    let mut cmd = mailscope(&["plan", &plain, "--tenant", TENANT_ID]);
    let r: Run = cmd.env("AZURE_TENANT_ID", OTHER_ID).output().unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "AZURE_TENANT_ID={OTHER_ID} and --tenant {TENANT_ID} are two different tenants"
        )),
        "{}",
        r.stderr
    );

    // The emulator checks the file's `tenant:` too.
    let state = format!("sim:{}", t.scratch.path("sim.json").display());
    let r = run(&["plan", &fabrikam, "--tenant", &state]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("does not name the tenant of --tenant {state}")), "{}", r.stderr);
}

/// A copy of the Contoso seed as another tenant (same objects, another id).
fn other_tenant_seed(scratch: &Scratch) -> String {
    let seed = std::fs::read_to_string(contoso::seed_path()).unwrap();
    assert!(seed.contains(TENANT_ID));
    // Paths in the seed are relative to it: make them absolute.
    let crates = format!("{}/crates/", root().display());
    let seed = seed.replace(TENANT_ID, OTHER_ID).replace("../crates/", &crates);
    scratch.write("other.tenant.yaml", &seed).to_str().unwrap().to_owned()
}

#[test]
fn a_plan_saved_for_one_tenant_is_refused_on_another() {
    let s = Scratch::new("tenant-binding");
    let file = policy_with_tenant(&s, "plain.yaml", None);
    let plan = s.path("plan.json");
    let a = format!("sim:{}", s.path("a.json").display());
    let b = format!("sim:{}", s.path("b.json").display());
    let seed = contoso::seed_path();
    let r = run(&[
        "plan",
        &file,
        "--tenant",
        &a,
        "--seed",
        seed.to_str().unwrap(),
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["tenant_id"], TENANT_ID);

    let other = other_tenant_seed(&s);
    let journal = s.path("journal.jsonl");
    let r = run(&[
        "apply",
        plan.to_str().unwrap(),
        "--tenant",
        &b,
        "--seed",
        &other,
        "--allow-widening",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} was planned for tenant {TENANT_ID}, but this is tenant {OTHER_ID}: plan again against this tenant",
            plan.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!Path::new(&journal).exists(), "nothing was applied");
}
