//! RBAC for Applications end to end: `verify` on the seed's RBAC apps (and
//! the additive trap), and an app moved from an access policy to a scoped
//! RBAC assignment on the emulator, step by step, with the exposure log and
//! Graph `sendMail` as witnesses.

use mailscope_applier::{ExoTenant, StepOutcome, Tenant};
use mailscope_exo::{ClientCredentials, ExoClient, GraphClient, Outcome, Session, SnapshotRequest};
use mailscope_planner::{Action, ScopeFilter};
use mailscope_testkit::{Emulator, Seed, contoso};
use serde_json::Value;

use crate::harness::{Scratch, run};

const NEWSLETTER: &str = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f7";
const DIGEST: &str = "8e9f0a1b-2c3d-4e4f-9a5b-6c7d8e9f0a1c";
const INVOICE: &str = contoso::INVOICE_MAILER;
const INVOICE_GROUP: &str = "mailscope-invoice-mailer-allow";

fn rbac_file(name: &str, app_id: &str, extra: &str) -> String {
    format!(
        "apiVersion: mailscope/v1\napps:\n  - name: {name}\n    appId: {app_id}\n    mechanism: rbac\n    permissions: [Mail.Send]\n{extra}    allow: [marketing@contoso.com]\n"
    )
}

#[test]
fn verify_checks_rbac_apps_with_test_service_principal_authorization_and_reports_the_additive_trap() {
    let s = Scratch::new("rbac-verify");
    let tenant = format!("sim:{}", s.path("state.json").display());

    // newsletter-rbac: scoped to Marketing-Senders, no Entra grant.
    let file = s.write("newsletter.yaml", &rbac_file("newsletter", NEWSLETTER, ""));
    let r = run(&["verify", file.to_str().unwrap(), "--tenant", &tenant]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("marketing@contoso.com"), "{}", r.stdout);
    assert!(r.stdout.contains("ok: no tenant-wide Entra grant"), "{}", r.stdout);
    assert!(r.stdout.contains("0 mismatches"), "{}", r.stdout);

    // digest-sender: the same RBAC scope (every mailbox check passes), but a
    // tenant-wide Entra Mail.Send grant: the trap, with its fix.
    let file = s.write("digest.yaml", &rbac_file("digest", DIGEST, ""));
    let r = run(&["verify", file.to_str().unwrap(), "--tenant", &tenant]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("additive trap"), "{}", r.stdout);
    assert!(r.stdout.contains("set `entraGrants: remove` for digest"), "{}", r.stdout);
    assert!(r.stdout.contains("1 mismatch "), "{}", r.stdout);

    // An allow list RBAC does not cover is a mailbox mismatch.
    let file = s.write(
        "wrong.yaml",
        &rbac_file("newsletter", NEWSLETTER, "").replace("[marketing@contoso.com]", "[ceo@contoso.com]"),
    );
    let r = run(&["verify", file.to_str().unwrap(), "--tenant", &tenant]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("MISMATCH"), "{}", r.stdout);
}

/// The Contoso seed with the operator also allowed to delete Entra grants,
/// in a temporary file with its relative paths made absolute.
fn seed_with_grant_write(s: &Scratch) -> std::path::PathBuf {
    let text = std::fs::read_to_string(contoso::seed_path()).unwrap();
    let testdata = mailscope_testkit::sim_testdata("");
    let text = text.replace("../crates/mailscope-sim/testdata/", testdata.to_str().unwrap()).replace(
        "graphPermissions: [Application.Read.All]",
        "graphPermissions: [Application.Read.All, AppRoleAssignment.ReadWrite.All]",
    );
    assert!(text.contains("AppRoleAssignment.ReadWrite.All"), "the operator's line moved in the seed");
    s.write("seed.yaml", &text)
}

struct Lab {
    emu: Emulator,
    exo: ExoClient,
    http: reqwest::Client,
}

impl Lab {
    async fn start(s: &Scratch) -> Lab {
        let emu = Emulator::start(&Seed::File(seed_with_grant_write(s))).await;
        let exo = emu.session().exo();
        Lab { emu, exo, http: reqwest::Client::new() }
    }

    async fn checkpoint(&self) {
        let r =
            self.http.post(format!("{}/_sim/exposure/checkpoint", self.emu.base_url())).send().await.unwrap();
        assert!(r.status().is_success());
    }

    async fn exposures(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/_sim/exposure", self.emu.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["checkpoint"], true);
        v["exposures"].as_array().unwrap().clone()
    }

    /// Graph as invoice-mailer, with a fresh token (a token keeps the roles
    /// it was issued with).
    fn app_graph(&self) -> GraphClient {
        let creds = ClientCredentials::with_secret(
            &self.emu.operator().tenant_id,
            INVOICE,
            contoso::secret_of(INVOICE).as_str(),
        )
        .unwrap();
        let session: Session = self.emu.session_with(creds, mailscope_testkit::fast_config());
        session.graph()
    }

    /// Sends as each mailbox; returns those that let the app in.
    async fn reachable(&self, mailboxes: &[String]) -> Vec<String> {
        let graph = self.app_graph();
        let mut out = Vec::new();
        for m in mailboxes {
            if graph.send_mail(m, "someone@contoso.com", "t", "b").await.is_ok() {
                out.push(m.clone());
            }
        }
        out
    }
}

#[tokio::test]
async fn an_app_moves_from_a_policy_to_rbac_without_reaching_anything_else_at_any_step() {
    let s = Scratch::new("rbac-migrate");
    let lab = Lab::start(&s).await;
    let exo = &lab.exo;
    let tenant = ExoTenant::new(exo.clone());
    let allowed: Vec<String> =
        exo.get_members(INVOICE_GROUP).await.unwrap().into_iter().map(|r| r.address.to_lowercase()).collect();
    assert!(!allowed.is_empty());
    let mut probe = allowed.clone();
    probe.extend(["ceo@contoso.com".to_owned(), "marketing@contoso.com".to_owned()]);

    let live = exo
        .read_snapshot(&SnapshotRequest {
            rbac_app_ids: vec![INVOICE.into()],
            grants: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let sp = live.service_principals.iter().find(|s| s.app_id == INVOICE).unwrap();
    let grant = live.grants.iter().find(|g| g.app_id == INVOICE).unwrap();
    let policy = live.policies.iter().find(|p| p.app_id == INVOICE).unwrap();

    // The safe order: pointer, scope, scoped assignment, then the Entra
    // grant, then the policy.
    let steps = vec![
        Action::CreateServicePrincipal {
            app_id: INVOICE.into(),
            object_id: sp.object_id.clone(),
            display_name: "mailscope/v1 invoice-mailer".into(),
        },
        Action::CreateManagementScope {
            name: "mailscope-invoice-mailer".into(),
            app_id: INVOICE.into(),
            filter: ScopeFilter { allow_group: Some(INVOICE_GROUP.into()), deny_group: None },
        },
        Action::CreateRoleAssignment {
            name: "mailscope-invoice-mailer-mail-send".into(),
            app_id: INVOICE.into(),
            permission: "Mail.Send".into(),
            scope: "mailscope-invoice-mailer".into(),
        },
        Action::RemoveEntraGrant {
            app_id: INVOICE.into(),
            resource_app_id: grant.resource_app_id.clone(),
            permission: grant.permission.clone(),
            grant_id: grant.id.clone().unwrap(),
            resource_id: grant.resource_id.clone().unwrap(),
        },
    ];
    lab.checkpoint().await;
    assert_eq!(lab.reachable(&probe).await, allowed, "before");
    for step in &steps {
        assert_eq!(tenant.rbac_step(step).await.unwrap(), StepOutcome::Done, "{step:?}");
        assert_eq!(lab.reachable(&probe).await, allowed, "after {step:?}");
        assert!(lab.exposures().await.is_empty(), "after {step:?}: {:?}", lab.exposures().await);
    }
    assert_eq!(exo.remove_policy(&policy.identity).await.unwrap(), Outcome::Done);
    assert_eq!(lab.reachable(&probe).await, allowed, "after removing the policy");
    assert!(lab.exposures().await.is_empty());

    // Now RBAC alone decides, and the Entra side is clean.
    let after = exo
        .read_snapshot(&SnapshotRequest {
            rbac_app_ids: vec![INVOICE.into()],
            grants: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!after.policies.iter().any(|p| p.app_id == INVOICE));
    assert!(!after.grants.iter().any(|g| g.app_id == INVOICE));
    assert!(after.role_assignments.iter().any(|a| a.app_id == INVOICE));
}

#[tokio::test]
async fn removing_the_policy_before_the_assignment_exists_is_caught_by_the_exposure_log() {
    let s = Scratch::new("rbac-wrong-order");
    let lab = Lab::start(&s).await;
    let exo = &lab.exo;
    let policy = exo.get_policies().await.unwrap().into_iter().find(|p| p.app_id == INVOICE).unwrap();
    lab.checkpoint().await;
    // Wrong: the policy goes while the Entra grant still holds and no
    // assignment exists yet: for a moment the app reaches every mailbox.
    assert_eq!(exo.remove_policy(&policy.identity).await.unwrap(), Outcome::Done);
    assert!(lab.reachable(&["ceo@contoso.com".to_owned()]).await.len() == 1, "the app reaches the CEO");
    // Completing the migration afterwards does not undo the window.
    let sp = lab.emu.session().graph().service_principal(INVOICE).await.unwrap().unwrap();
    exo.new_service_principal(INVOICE, &sp.object_id, "x").await.unwrap();
    let group_dn = exo.get_group(INVOICE_GROUP).await.unwrap().unwrap().distinguished_name.unwrap();
    let filter = ScopeFilter { allow_group: Some(INVOICE_GROUP.into()), deny_group: None };
    exo.new_management_scope("s", &filter.to_opath(Some(&group_dn), None).unwrap()).await.unwrap();
    exo.new_role_assignment("a", INVOICE, "Mail.Send", "s").await.unwrap();
    let g = lab.emu.session().graph().list_mailbox_grants().await.unwrap();
    let g = g.iter().find(|g| g.app_id == INVOICE).unwrap();
    lab.emu
        .session()
        .graph()
        .remove_grant(g.resource_id.as_deref().unwrap(), g.id.as_deref().unwrap())
        .await
        .unwrap();

    let exposures = lab.exposures().await;
    assert!(!exposures.is_empty());
    assert!(
        exposures.iter().any(|e| e["appId"] == INVOICE
            && e["mailbox"] == "ceo@contoso.com"
            && e["cmdlet"] == "Remove-ApplicationAccessPolicy"
            && e["afterMutation"] == 1),
        "{exposures:?}"
    );
}

#[test]
fn export_leaves_hand_made_rbac_objects_out() {
    // The seed's RBAC apps use a hand-made scope: the planner does not adopt
    // RBAC objects, so exporting them would plan new ones. Not exported.
    let s = Scratch::new("rbac-export");
    let tenant = format!("sim:{}", s.path("state.json").display());
    let r = run(&["export", "--tenant", &tenant, "--app", NEWSLETTER, "--app", DIGEST]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("apps: []"), "{}", r.stdout);
}

/// Emulator served by the test with the grant-write seed, reached by the
/// binary through the real-tenant code path.
struct Served {
    rt: tokio::runtime::Runtime,
    lab: Option<Lab>,
}

impl Served {
    fn start(s: &Scratch) -> Served {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let lab = rt.block_on(Lab::start(s));
        Served { rt, lab: Some(lab) }
    }

    fn lab(&self) -> &Lab {
        self.lab.as_ref().unwrap()
    }

    fn run(&self, args: &[&str]) -> crate::harness::Run {
        let emu = &self.lab().emu;
        let op = emu.operator();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--tenant", &op.tenant_id]);
        let url = emu.base_url();
        crate::harness::mailscope(&all)
            .env("AZURE_CLIENT_ID", &op.client_id)
            .env("AZURE_CLIENT_SECRET", &op.client_secret)
            .env("MAILSCOPE_LOGIN_URL", &url)
            .env("MAILSCOPE_EXO_URL", &url)
            .env("MAILSCOPE_GRAPH_URL", &url)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run mailscope")
            .into()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            self.rt.block_on(lab.emu.shutdown());
        }
    }
}

/// `policies/contoso.yaml` with invoice-mailer moved to RBAC.
fn contoso_with_invoice_on_rbac(extra_app: &str) -> String {
    let text = std::fs::read_to_string(crate::harness::root().join("policies/contoso.yaml")).unwrap();
    let anchor = "    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n";
    assert!(text.contains(anchor), "invoice-mailer moved in policies/contoso.yaml");
    let text = text.replace(
        anchor,
        &format!("{anchor}    mechanism: rbac\n    permissions: [Mail.Send]\n    entraGrants: remove\n"),
    );
    format!("{text}{extra_app}")
}

#[test]
fn the_binary_migrates_an_app_to_rbac_with_no_exposure_and_drift_reports_the_additive_trap() {
    let s = Scratch::new("rbac-binary");
    let served = Served::start(&s);
    let r = served.run(&["apply", "policies/contoso.yaml", "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let allowed = vec!["billing@contoso.com".to_owned(), "invoices@contoso.com".to_owned()];
    let probe: Vec<String> =
        ["billing@contoso.com", "invoices@contoso.com", "old-billing@contoso.com", "ceo@contoso.com"]
            .map(str::to_owned)
            .to_vec();
    assert_eq!(served.rt.block_on(served.lab().reachable(&probe)), allowed, "before");

    let file = s.write("rbac.yaml", &contoso_with_invoice_on_rbac(""));
    let file = file.to_str().unwrap();
    served.rt.block_on(served.lab().checkpoint());
    let r = served.run(&["plan", file, "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    let r = served.run(&["apply", file, "--auto-approve"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Every intermediate state: nothing the app could not reach before or after.
    let exposures = served.rt.block_on(served.lab().exposures());
    assert!(exposures.is_empty(), "{exposures:?}\n{}", r.stderr);
    assert_eq!(served.rt.block_on(served.lab().reachable(&probe)), allowed, "after");
    let r = served.run(&["plan", file, "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = served.run(&["verify", file]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("invoice-mailer  ok: no tenant-wide Entra grant"), "{}", r.stdout);

    // digest-sender in the file as an RBAC app that keeps its Entra grant:
    // once applied there is nothing left to do, but drift still fails on
    // the trap, with the fix.
    let digest = format!(
        "\n  - name: digest-sender\n    appId: {DIGEST}\n    mechanism: rbac\n    permissions: [Mail.Send]\n    allow: [marketing@contoso.com]\n"
    );
    let file = s.write("trap.yaml", &contoso_with_invoice_on_rbac(&digest));
    let file = file.to_str().unwrap();
    let r = served.run(&["apply", file, "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = served.run(&["plan", file, "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "nothing left to plan: {}{}", r.stdout, r.stderr);
    let r = served.run(&["drift", file]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("additive trap"), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("entraGrants: remove"), "{}{}", r.stdout, r.stderr);

    // Export after the migration: both apps come back as RBAC entries over
    // the groups mailscope manages for them (derived names, no adoption),
    // the hand-made assignment of digest-sender as a note.
    let r = served.run(&["export", "--app", INVOICE, "--app", DIGEST]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let exported =
        mailscope_spec::parse(&r.stdout, "exported.yaml").unwrap_or_else(|e| panic!("{e}\n{}", r.stdout));
    assert_eq!(exported.apps.len(), 2, "{}", r.stdout);
    for app in &exported.apps {
        assert_eq!(app.mechanism, mailscope_spec::Mechanism::Rbac, "{}", r.stdout);
        assert_eq!(app.group, None, "{}", r.stdout);
    }
    assert!(r.stdout.contains("digest-sender-mail-send"), "{}", r.stdout);
}
