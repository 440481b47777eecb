//! `unlistedApps: lock-down` end to end: a tenant with unlisted apps that
//! reach every mailbox, fenced by a plan of narrowing steps only, applied
//! without `--allow-widening`, with Graph calls as each app and the
//! emulator's exposure log as witnesses, and the audit before and after.

use std::fmt::Write as _;

use mailscope_exo::{ClientCredentials, Session};
use mailscope_testkit::{Emulator, Seed};
use serde_json::{Value, json};

use crate::harness::{Run, Scratch, mailscope};

const TENANT: &str = "7a6b5c4d-3e2f-4a1b-9c8d-0e1f2a3b4c5d";
const OPERATOR: &str = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f";
const LISTED: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";
/// Unrestricted `Mail.Send`.
const MAILER: &str = "aaaaaaaa-0000-4000-8000-00000000c001";
/// Unrestricted `Mail.ReadWrite` (and `Mail.Send`, so sendMail witnesses it too).
const SYNC: &str = "aaaaaaaa-0000-4000-8000-00000000c002";
/// Unrestricted `Mail.Send`, excluded with a reason.
const BREAK_GLASS: &str = "aaaaaaaa-0000-4000-8000-00000000c003";

const MAILBOXES: [&str; 3] = ["billing@contoso.com", "ceo@contoso.com", "cfo@contoso.com"];

fn secret(app: &str) -> String {
    format!("sim-{app}-secret-test-only")
}

fn seed() -> String {
    let app = |id: &str, name: &str, perms: &str| {
        format!(
            "  - {{ appId: {id}, displayName: {name}, graphPermissions: [{perms}], clientSecrets: [{}] }}\n",
            secret(id)
        )
    };
    format!(
        "tenant:\n  id: {TENANT}\n  displayName: Lockdown\n  initialDomain: lockdown.onmicrosoft.com\n  domains: [contoso.com]\n\
         recipients:\n{}apps:\n{}{}{}{}  - appId: {OPERATOR}\n    displayName: mailscope\n    \
         exchangePermissions: [Exchange.ManageAsApp]\n    graphPermissions: [Application.Read.All]\n    \
         directoryRoles: [Exchange Administrator]\n    clientSecrets: [{}]\noperatorApp: mailscope\n",
        MAILBOXES.iter().fold(String::new(), |mut out, m| {
            let _ = writeln!(out, "  - {{ address: {m}, kind: UserMailbox }}");
            out
        }),
        app(LISTED, "invoice-mailer", "Mail.Send"),
        app(MAILER, "legacy-mailer", "Mail.Send"),
        app(SYNC, "mailbox-sync", "Mail.ReadWrite, Mail.Send"),
        app(BREAK_GLASS, "break-glass", "Mail.Send"),
        secret(OPERATOR),
    )
}

fn desired(mode: &str) -> String {
    format!(
        "apiVersion: mailscope/v1\nunlistedApps:\n  mode: {mode}\n  exclude:\n    - appId: {BREAK_GLASS}\n      \
         reason: break-glass mailer, reviewed by security\napps:\n  - name: invoice-mailer\n    appId: {LISTED}\n    \
         allow: [billing@contoso.com]\n"
    )
}

struct Lab {
    rt: tokio::runtime::Runtime,
    emu: Emulator,
    scratch: Scratch,
}

impl Lab {
    fn start() -> Lab {
        let scratch = Scratch::new("lockdown");
        let seed = scratch.write("seed.yaml", &seed());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emu = rt.block_on(Emulator::start(&Seed::State { state: scratch.path("state.json"), seed }));
        Lab { rt, emu, scratch }
    }

    /// The binary against this emulator through the real-tenant code path.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--tenant", TENANT]);
        let url = self.emu.base_url();
        mailscope(&all)
            .env("AZURE_CLIENT_ID", OPERATOR)
            .env("AZURE_CLIENT_SECRET", secret(OPERATOR))
            .env("MAILSCOPE_LOGIN_URL", &url)
            .env("MAILSCOPE_EXO_URL", &url)
            .env("MAILSCOPE_GRAPH_URL", &url)
            .output()
            .expect("run mailscope")
            .into()
    }

    fn control(&self, method: &str, path: &str) -> Value {
        let url = format!("{}{path}", self.emu.base_url());
        self.rt.block_on(async {
            let client = reqwest::Client::new();
            let resp =
                if method == "POST" { client.post(url) } else { client.get(url) }.send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        })
    }

    /// Graph as `app` (a fresh session, so a fresh token): whether sendMail
    /// as `mailbox` is accepted, and whether its messages can be listed.
    fn graph_as(&self, app: &str, mailbox: &str) -> (bool, bool) {
        let creds = ClientCredentials::with_secret(TENANT, app, secret(app).as_str()).unwrap();
        let session: Session = self.emu.session_with(creds, mailscope_testkit::fast_config());
        let graph = session.graph();
        self.rt.block_on(async {
            let sent = graph.send_mail(mailbox, "someone@contoso.com", "t", "b").await.is_ok();
            let read = graph.get_one("GET messages", &format!("/v1.0/users/{mailbox}/messages")).await;
            (sent, matches!(read, Ok(Some(_))))
        })
    }
}

#[test]
fn lock_down_fences_every_unlisted_app_without_widening_and_the_audit_passes() {
    let lab = Lab::start();
    let warn = lab.scratch.write("warn.yaml", &desired("warn"));
    let lock = lab.scratch.write("lock.yaml", &desired("lock-down"));
    let (warn, lock) = (warn.to_str().unwrap(), lock.to_str().unwrap());

    // Before: both unlisted apps reach every mailbox; the audit fails.
    for m in MAILBOXES {
        assert!(lab.graph_as(MAILER, m).0, "{m}");
        assert_eq!(lab.graph_as(SYNC, m), (true, true), "{m}");
    }
    let r = lab.run(&["audit", warn]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);

    // warn: named in the plan, nothing planned for them.
    let r = lab.run(&["plan", warn]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!("app \"legacy-mailer\" ({MAILER}) is not in the file")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Mail.ReadWrite: every mailbox (no access policy)"), "{}", r.stdout);
    assert!(!r.stdout.contains(BREAK_GLASS), "an excluded app is never listed: {}", r.stdout);
    let r = lab.run(&["drift", warn, "--format", "sarif"]);
    let log: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", r.stdout, r.stderr));
    let unlisted: Vec<&Value> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["ruleId"] == "unlisted-app")
        .collect();
    assert_eq!(unlisted.len(), 2, "{unlisted:#?}");
    assert!(unlisted.iter().all(|x| x["level"] == "warning"), "{unlisted:#?}");

    // lock-down: only narrowing (or neutral) steps, for the two open apps.
    let r = lab.run(&["plan", lock, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["effect"] != "widening"), "{steps:#?}");
    let touched: std::collections::BTreeSet<&str> =
        steps.iter().map(|s| s["app_id"].as_str().unwrap()).collect();
    assert!(touched.contains(MAILER) && touched.contains(SYNC), "{touched:?}");
    assert!(!touched.contains(BREAK_GLASS), "{touched:?}");
    let locked: Vec<&str> = plan["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["change"] == "lock_down")
        .map(|a| a["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(locked, vec![MAILER, SYNC], "{:#}", plan["apps"]);

    // Apply without --allow-widening, with the exposure log running.
    lab.control("POST", "/_sim/exposure/checkpoint");
    let r = lab.run(&["apply", lock, "--auto-approve"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let exposure = lab.control("GET", "/_sim/exposure");
    assert_eq!(exposure["exposures"], json!([]), "{exposure}");

    // After: every unlisted, non-excluded app is fenced from every mailbox;
    // the excluded one and the listed one are untouched.
    for m in MAILBOXES {
        assert_eq!(lab.graph_as(MAILER, m), (false, false), "{m}");
        assert_eq!(lab.graph_as(SYNC, m), (false, false), "{m}");
        assert!(lab.graph_as(BREAK_GLASS, m).0, "{m}");
    }
    assert!(lab.graph_as(LISTED, "billing@contoso.com").0);
    assert!(!lab.graph_as(LISTED, "ceo@contoso.com").0);

    let r = lab.run(&["audit", lock]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = lab.run(&["plan", lock, "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "converged: {}{}", r.stdout, r.stderr);
}
