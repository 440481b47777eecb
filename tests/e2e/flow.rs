//! The main job end to end: the real binary against the emulator over
//! loopback, as an admin would run it.
//!
//! Two ways to reach the emulator are exercised: `--tenant sim:PATH` (the
//! binary runs it in-process) and an emulator started by the test, reached
//! through the real-tenant code path (`--tenant <id>`, `AZURE_*`
//! credentials, `MAILSCOPE_*_URL` overrides), which lets the test inject
//! faults and read the exposure log while the binary works.

use std::process::Stdio;

use mailscope_testkit::Emulator;
use serde_json::{Value, json};

use crate::harness::{Run, Scratch, mailscope, root, run, serve_contoso_state};

/// An emulator served by the test itself.
struct TestTenant {
    rt: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    tenant_id: String,
    client_id: String,
    secret: String,
    scratch: Scratch,
}

impl TestTenant {
    fn start(name: &str) -> TestTenant {
        let scratch = Scratch::new(name);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = serve_contoso_state(&rt, scratch.path("state.json"));
        let creds = emulator.operator().clone();
        TestTenant {
            rt,
            emulator: Some(emulator),
            tenant_id: creds.tenant_id,
            client_id: creds.client_id,
            secret: creds.client_secret,
            scratch,
        }
    }

    fn url(&self) -> String {
        self.emulator.as_ref().unwrap().base_url()
    }

    /// Runs the binary against this tenant with credentials in the environment.
    fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, Stdio::null())
    }

    fn run_with_stdin(&self, args: &[&str], stdin: Stdio) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--tenant", &self.tenant_id]);
        let journal = self.scratch.path("journal.jsonl");
        if args.first() == Some(&"apply") {
            all.extend(["--journal", journal.to_str().unwrap()]);
        }
        mailscope(&all)
            .env("AZURE_CLIENT_ID", &self.client_id)
            .env("AZURE_CLIENT_SECRET", &self.secret)
            .env("MAILSCOPE_LOGIN_URL", self.url())
            .env("MAILSCOPE_EXO_URL", self.url())
            .env("MAILSCOPE_GRAPH_URL", self.url())
            .stdin(stdin)
            .output()
            .expect("run mailscope")
            .into()
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url());
        self.rt.block_on(async {
            let client = reqwest::Client::new();
            let req = if method == "POST" { client.post(url) } else { client.get(url) };
            let req = match body {
                Some(b) => req.json(&b),
                None => req,
            };
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        })
    }
}

impl Drop for TestTenant {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.rt.block_on(emulator.shutdown());
        }
    }
}

const FILE: &str = "policies/contoso.yaml";

fn plan_exit(t: &TestTenant) -> i32 {
    t.run(&["plan", FILE, "--detailed-exitcode"]).code
}

#[test]
fn plan_apply_plan_verify_on_the_embedded_emulator() {
    let s = Scratch::new("flow");
    let tenant = format!("sim:{}", s.path("demo.json").display());
    let r = run(&["plan", FILE, "--tenant", &tenant, "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Plan: 17 to add, 3 to change, 4 to destroy."), "{}", r.stdout);

    let journal = s.path("journal.jsonl");
    let r = run(&[
        "apply",
        FILE,
        "--tenant",
        &tenant,
        "--auto-approve",
        "--allow-widening",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // 16 steps (one sets a policy's description in place): new groups come with their members, a drifted group is one
    // replace (23 steps when every member was its own).
    assert!(r.stderr.contains("Apply complete: 16 done, 0 already so"), "{}", r.stderr);
    assert!(r.stderr.contains("[ 16/16] done"), "a line per step off a terminal: {}", r.stderr);

    let r = run(&["plan", FILE, "--tenant", &tenant, "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("No changes."), "{}", r.stdout);

    let r = run(&["verify", FILE, "--tenant", &tenant]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("0 mismatches"), "{}", r.stdout);

    // The journal has a header, a started and a finished line per step, a footer.
    let lines: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every journal line is JSON"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "header");
    assert_eq!(lines.first().unwrap()["tenant_id"], "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c");
    assert_eq!(lines.last().unwrap()["event"], "footer");
    assert_eq!(lines.iter().filter(|l| l["outcome"] == "done").count(), 16);
}

#[test]
fn send_mail_is_denied_after_apply_and_allowed_where_the_file_says() {
    let s = Scratch::new("sendmail");
    let tenant = format!("sim:{}", s.path("demo.json").display());
    let send = |mailbox: &str| {
        run(&["sim", "send-mail", "--tenant", &tenant, "--app", "support-desk", "--mailbox", mailbox])
    };
    // Before: support-desk has Mail.Send and no policy: every mailbox.
    let r = send("ceo@contoso.com");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("202 Accepted"), "{}", r.stdout);

    let r = run(&[
        "apply",
        FILE,
        "--tenant",
        &tenant,
        "--auto-approve",
        "--allow-widening",
        "--journal",
        s.path("j").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = send("ceo@contoso.com");
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("403 Forbidden"), "{}", r.stdout);
    assert!(r.stdout.contains("ErrorAccessDenied"), "{}", r.stdout);
    assert!(r.stdout.contains("Access to OData is disabled"), "{}", r.stdout);
    let r = send("support@contoso.com");
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn widening_is_refused_without_the_flag_and_nothing_changes() {
    let t = TestTenant::start("widen");
    let r = t.run(&["apply", FILE, "--auto-approve"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("the plan widens access: invoice-mailer (+invoices@contoso.com)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--allow-widening"), "{}", r.stderr);
    let stats = t.control("GET", "/_sim/stats", None);
    for write in
        ["Add-DistributionGroupMember", "Update-DistributionGroupMember", "New-ApplicationAccessPolicy"]
    {
        assert_eq!(stats["cmdlets"].get(write), None, "{stats}");
    }
    // The only group made and removed is the apply lease's, taken before the
    // read and released after the refusal.
    assert_eq!(stats["cmdlets"]["New-DistributionGroup"], 1, "{stats}");
    assert_eq!(stats["cmdlets"]["Remove-DistributionGroup"], 1, "{stats}");
    assert_eq!(plan_exit(&t), 2, "nothing was applied");
}

/// `--concurrency` bounds every call of the run, the reads included (they
/// go through the session, whose ceiling the flag sets): with the emulator
/// refusing a second call in flight, `apply --concurrency 1` never meets the
/// refusal. (At the session's default ceiling the member reads overlap.)
#[test]
fn concurrency_bounds_the_reads_too() {
    let t = TestTenant::start("concurrency");
    t.control(
        "POST",
        "/_sim/faults",
        Some(json!({"maxConcurrentCalls": 1, "retryAfterSecs": 0, "latencyMs": 10})),
    );
    t.control("POST", "/_sim/stats/reset", None);
    let r = t.run(&["apply", FILE, "--auto-approve", "--allow-widening", "--concurrency", "1"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let stats = t.control("GET", "/_sim/stats", None);
    assert!(stats["cmdlets"]["Get-DistributionGroupMember"].as_u64().unwrap() > 1, "{stats}");
    assert_eq!(stats["faults"].get("throttled"), None, "{stats}");
}

#[test]
fn without_a_terminal_apply_asks_for_auto_approve() {
    let t = TestTenant::start("notty");
    let r = t.run_with_stdin(&["apply", FILE, "--allow-widening"], Stdio::piped());
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("stdin is not a terminal"), "{}", r.stderr);
    assert!(r.stderr.contains("--auto-approve"), "{}", r.stderr);
    assert_eq!(plan_exit(&t), 2, "nothing was applied");
}

#[test]
fn a_stale_saved_plan_is_refused_and_names_the_change() {
    let t = TestTenant::start("stale");
    let saved = t.scratch.path("plan.json");
    let r = t.run(&["plan", FILE, "--out", saved.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Someone changes the tenant behind the tool's back: hr-notifier loses
    // a member through another file.
    let other =
        std::fs::read_to_string(root().join(FILE)).unwrap().replace("      - onboarding@contoso.com\n", "");
    let other = t.scratch.write("other.yaml", &other);
    let r = t.run(&["apply", other.to_str().unwrap(), "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = t.run(&["apply", saved.to_str().unwrap(), "--allow-widening"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("the saved plan is stale"), "{}", r.stderr);
    assert!(
        r.stderr.contains("onboarding@contoso.com left group \"mailscope-hr-notifier-allow\""),
        "{}",
        r.stderr
    );

    // A fresh saved plan applies without a prompt.
    let r = t.run(&["plan", FILE, "--out", saved.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = t.run(&["apply", saved.to_str().unwrap(), "--allow-widening"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(plan_exit(&t), 0);

    // Neither the saved plan, the journal nor any output holds the secret
    // or a token (JWTs start with "eyJ").
    let files = [saved, t.scratch.path("journal.jsonl")].map(|p| std::fs::read_to_string(p).unwrap());
    for text in files.iter().chain([&r.stdout, &r.stderr]) {
        assert!(!text.contains(&t.secret), "the client secret leaked");
        assert!(!text.contains("eyJ"), "a token or assertion leaked");
    }
}

#[test]
fn a_fault_at_each_mutating_call_then_a_rerun_converges_without_exposure() {
    // A first, clean run tells how many mutating calls the plan makes.
    let clean = TestTenant::start("faults-count");
    clean.control("POST", "/_sim/stats/reset", None);
    let r = clean.run(&["apply", FILE, "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let stats = clean.control("GET", "/_sim/stats", None);
    let mutating: u64 = stats["cmdlets"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.starts_with("Get-") && !name.starts_with("Test-"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    // New groups get their members in the call that creates them and a
    // drifted group is one `Update-DistributionGroupMember`: 20 writes (one
    // is the description set in place) where one call per member made at
    // least 24, plus the apply lease's 4 (its group created, its record
    // written and renewed, the group removed).
    assert_eq!(mutating, 24, "{stats}");
    assert_eq!(stats["cmdlets"]["Update-DistributionGroupMember"], 1, "{stats}");
    assert_eq!(stats["cmdlets"].get("Add-DistributionGroupMember"), None, "{stats}");
    drop(clean);

    let kinds = [("reset", "before"), ("500", "before"), ("reset", "after")];
    let mut failed_runs = 0;
    for n in 1..=mutating {
        let (kind, when) = kinds[usize::try_from(n).unwrap() % kinds.len()];
        let t = TestTenant::start(&format!("fault-{n}"));
        t.control("POST", "/_sim/exposure/checkpoint", None);
        t.control(
            "POST",
            "/_sim/faults",
            Some(json!({"failNthMutation": {"n": n, "kind": kind, "when": when}})),
        );
        // Most runs without client retries, so the fault reaches the applier
        // (stop, report, rerun); a few with them, where the client absorbs it.
        let attempts = if n <= 3 { "6" } else { "1" };
        let first = t.run(&["apply", FILE, "--auto-approve", "--allow-widening", "--max-attempts", attempts]);
        assert!(first.code == 0 || first.code == 1, "fault {n}: {}", first.stderr);
        if first.code == 1 {
            failed_runs += 1;
            assert!(first.stderr.contains("Apply stopped"), "fault {n}: {}", first.stderr);
            assert!(first.stderr.contains("run the same command again"), "fault {n}: {}", first.stderr);
        }
        t.control("POST", "/_sim/faults", Some(json!({})));
        let second = t.run(&["apply", FILE, "--auto-approve", "--allow-widening"]);
        assert_eq!(second.code, 0, "fault {n} ({kind}, {when}): rerun: {}{}", second.stdout, second.stderr);
        assert_eq!(plan_exit(&t), 0, "fault {n}: converged");
        let exposure = t.control("GET", "/_sim/exposure", None);
        assert_eq!(exposure["checkpoint"], true);
        assert_eq!(exposure["exposures"], json!([]), "fault {n} ({kind}, {when}): {exposure}");
    }
    assert!(failed_runs > 0, "no injected fault made an apply fail; the test would prove nothing");
}

#[test]
fn export_then_plan_shows_only_adoption() {
    let t = TestTenant::start("export");
    let r = t.run(&["apply", FILE, "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = t.run(&["export"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let exported = t.scratch.write("exported.yaml", &r.stdout);
    let r = t.run(&["plan", exported.to_str().unwrap(), "--format", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, std::fs::read_to_string(&exported).unwrap());
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let kinds: Vec<&str> =
        plan["steps"].as_array().unwrap().iter().map(|s| s["action"]["kind"].as_str().unwrap()).collect();
    assert!(!kinds.is_empty(), "the unmanaged Marketing-Senders policy is adopted");
    assert!(
        kinds.iter().all(|k| *k == "mark_group" || *k == "set_policy_description"),
        "only adoption: {kinds:?}"
    );
    // Once adopted, nothing at all.
    let r = t.run(&["apply", exported.to_str().unwrap(), "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = t.run(&["plan", exported.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn no_target_is_a_clear_error() {
    let s = Scratch::new("notarget");
    let file = s.write(
        "d.yaml",
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: []\n",
    );
    let r = run(&["plan", file.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no tenant chosen"), "{}", r.stderr);
    assert!(r.stderr.contains("--tenant sim:"), "{}", r.stderr);
}

#[test]
fn a_real_tenant_without_credentials_names_the_variable() {
    let r = run(&["plan", FILE, "--tenant", "contoso.onmicrosoft.com"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("AZURE_CLIENT_ID"), "{}", r.stderr);
}

/// Runs the binary under a pseudo-terminal (util-linux `script`), typing
/// `answer` at the confirmation prompt.
fn run_in_pty(args: &[&str], answer: &str) -> Run {
    use std::io::Write;
    let bin = env!("CARGO_BIN_EXE_mailscope");
    let command = std::iter::once(bin).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the binary under a pseudo-terminal");
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    child.wait_with_output().unwrap().into()
}

#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let s = Scratch::new("pty");
    let state = format!("sim:{}", s.path("demo.json").display());
    let journal = s.path("journal.jsonl");
    let args =
        ["apply", FILE, "--tenant", &state, "--allow-widening", "--journal", journal.to_str().unwrap()];

    let r = run_in_pty(&args, "no\n");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("Only 'yes' is accepted"), "{}", r.stdout);
    assert!(r.stdout.contains("apply cancelled: nothing was changed"), "{}", r.stdout);
    assert_eq!(
        run(&["plan", FILE, "--tenant", &state, "--detailed-exitcode"]).code,
        2,
        "nothing was applied"
    );

    let r = run_in_pty(&args, "yes\n");
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("16/16"), "a progress bar on a terminal: {}", r.stdout);
    assert!(r.stdout.contains("Apply complete: 16 done"), "{}", r.stdout);
    assert_eq!(run(&["plan", FILE, "--tenant", &state, "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_plan_of_a_converged_tenant_reads_it_with_the_fewest_calls() {
    let t = TestTenant::start("calls");
    let r = t.run(&["apply", FILE, "--auto-approve", "--allow-widening"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    t.control("POST", "/_sim/stats/reset", None);
    assert_eq!(plan_exit(&t), 0);
    let stats = t.control("GET", "/_sim/stats", None);
    // One call for every policy, one filtered call for every managed group
    // (the adopted one included, now that it carries the marker), one member
    // read per group the file's apps use; every address of the file is a
    // member of some group, so no recipient lookup is needed. The tenant is
    // given by GUID (`--tenant`) and by domain (the file's `tenant:`): one
    // `Get-AcceptedDomain` shows that they name the same tenant. RBAC: one
    // Get-ServicePrincipal, and since the seed has pointers, one
    // Get-ManagementScope and one Get-ManagementRoleAssignment. Graph: the
    // file does not ignore unlisted apps (`unlistedApps: warn` is the
    // default), so the Entra grants are read to name them: the two resource
    // service principals, their two `appRoleAssignedTo` lists and one lookup
    // per grant holder (9), with a second token for Graph.
    assert_eq!(
        stats["cmdlets"],
        json!({
            "Get-AcceptedDomain": 1,
            "Get-ApplicationAccessPolicy": 1,
            "Get-DistributionGroup": 1,
            "Get-DistributionGroupMember": 8,
            "Get-ServicePrincipal": 1,
            "Get-ManagementScope": 1,
            "Get-ManagementRoleAssignment": 1,
        }),
        "{stats}"
    );
    assert_eq!(stats["endpoints"]["graph"], 13, "{stats}");
    assert_eq!(stats["endpoints"]["token"], 2, "{stats}");
}
