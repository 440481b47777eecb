//! Exchange hygiene after an apply through the real-tenant code path: groups
//! mailscope creates are hidden from address lists (adopted ones keep their
//! visibility), and an app's description reaches its policies beside the
//! marker and is later updated in place, never by recreating the policy.

use std::collections::BTreeMap;

use crate::harness::{Run, Scratch, mailscope, root, serve_contoso_state};

const INVOICE_MAILER: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";

struct Served {
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

    fn run(&self, args: &[&str]) -> Run {
        let url = self.emulator.base_url();
        let op = self.emulator.operator();
        mailscope(args)
            .env("AZURE_CLIENT_ID", &op.client_id)
            .env("AZURE_CLIENT_SECRET", &op.client_secret)
            .env("MAILSCOPE_LOGIN_URL", &url)
            .env("MAILSCOPE_EXO_URL", &url)
            .env("MAILSCOPE_GRAPH_URL", &url)
            .output()
            .expect("run mailscope")
            .into()
    }

    /// Identity -> description of every policy of the app.
    fn policies_of(&self, app_id: &str) -> BTreeMap<String, String> {
        let tenant = self.emulator.sim().tenant();
        tenant
            .policies
            .iter()
            .filter(|p| p.app_id.eq_ignore_ascii_case(app_id))
            .map(|p| (p.identity(&tenant.id), p.description.clone()))
            .collect()
    }
}

#[test]
fn created_groups_are_hidden_and_descriptions_are_updated_in_place() {
    let s = Served::start("hygiene");
    let before = s.policies_of(INVOICE_MAILER);
    assert_eq!(before.len(), 1, "the seed gives invoice-mailer one managed policy: {before:?}");

    let apply = s.run(&["apply", "policies/contoso.yaml", "--auto-approve", "--allow-widening"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let tenant = s.emulator.sim().tenant();
    let crm_deny =
        tenant.recipients.iter().find(|r| r.name == "mailscope-crm-sync-deny").expect("created by the apply");
    assert!(crm_deny.hidden_from_address_lists_enabled, "a group mailscope creates is hidden");
    let adopted =
        tenant.recipients.iter().find(|r| r.name == "Legacy-Scanner-Mailboxes").expect("the adopted group");
    assert!(adopted.custom_attribute(15).starts_with("mailscope/v1"), "adopted and marked");
    assert!(!adopted.hidden_from_address_lists_enabled, "an adopted group keeps its visibility");

    // The existing policy got the file's description in place: same identity.
    let after = s.policies_of(INVOICE_MAILER);
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "not recreated");
    let marker = format!("mailscope/v1 app={INVOICE_MAILER} list=allow");
    assert_eq!(
        after.values().next().unwrap(),
        &format!("{marker} | Sends invoices from the billing system.")
    );

    // A new description in the file: one in-place step, no policy removed.
    let text = std::fs::read_to_string(root().join("policies/contoso.yaml")).unwrap();
    let changed = text.replace("Sends invoices from the billing system.", "Sends invoices and reminders.");
    let file = s.scratch.write("contoso.yaml", &changed);
    let file = file.to_str().unwrap();
    let plan = s.run(&["plan", file, "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json plan");
    let kinds: Vec<&str> =
        plan["steps"].as_array().unwrap().iter().map(|s| s["action"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["set_policy_description"], "{plan:#}");

    let apply = s.run(&["apply", file, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let last = s.policies_of(INVOICE_MAILER);
    assert_eq!(last.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "still the same policy");
    assert_eq!(last.values().next().unwrap(), &format!("{marker} | Sends invoices and reminders."));
    let again = s.run(&["plan", file, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "converged: {}{}", again.stdout, again.stderr);
}

/// A file's own `groupPrefix` and `markerAttribute`: the created group is
/// named with the prefix, its marker is in the chosen attribute (and not in
/// `CustomAttribute15`), it is hidden, and the next plan finds it again
/// through the same attribute: nothing left to do.
#[test]
fn a_custom_prefix_and_marker_attribute_round_trip() {
    const CRM_SYNC: &str = "7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d";
    let s = Served::start("hygiene-custom");
    let file = s.scratch.write(
        "custom.yaml",
        &format!(
            "apiVersion: mailscope/v1\ntenant: contoso.onmicrosoft.com\ngroupPrefix: acc\nmarkerAttribute: CustomAttribute3\napps:\n  \
             - name: crm-sync\n    appId: {CRM_SYNC}\n    deny: [ceo@contoso.com]\n"
        ),
    );
    let file = file.to_str().unwrap();
    let apply = s.run(&["apply", file, "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);

    let tenant = s.emulator.sim().tenant();
    let group = tenant.recipients.iter().find(|r| r.name == "acc-crm-sync-deny").expect("the prefixed group");
    assert_eq!(group.custom_attribute(3), format!("mailscope/v1 app={CRM_SYNC} list=deny"));
    assert_eq!(group.custom_attribute(15), "", "the default attribute stays untouched");
    assert!(group.hidden_from_address_lists_enabled);
    assert!(!tenant.recipients.iter().any(|r| r.name == "mailscope-crm-sync-deny"));

    let again = s.run(&["plan", file, "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "the group is found again by its marker: {}{}", again.stdout, again.stderr);
}
