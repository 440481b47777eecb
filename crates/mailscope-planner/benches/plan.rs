//! Planner benchmark: 1,000 apps over a tenant of 100,000 mailboxes.
//!
//! Each app allows 100 mailboxes; the live tenant has every managed group
//! and policy, with 10 members drifted per app (10 to remove, 10 to add),
//! so a plan holds 20,000 membership steps and the safe-order replay runs
//! over all of them. Run with `cargo bench -p mailscope-planner`; the peak
//! resident memory of the whole bench process is printed at the end.

use std::fmt::Write;
use std::hint::black_box;

use criterion::Criterion;
use mailscope_planner::{
    AccessRight, LiveGroup, LivePolicy, LiveSnapshot, PlanOptions, Recipient, marker, plan,
};
use mailscope_spec::ListKind;

const APPS: usize = 1_000;
const MAILBOXES: usize = 100_000;
const PER_APP: usize = 100;
const DRIFT: usize = 10;

fn app_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// A cheap deterministic spread of mailbox numbers.
fn mailbox(app: usize, k: usize) -> String {
    format!("user{}@contoso.com", (app * 7_919 + k * 104_729) % MAILBOXES)
}

fn inputs() -> (mailscope_spec::DesiredState, LiveSnapshot) {
    let mut yaml = String::from("apiVersion: mailscope/v1\napps:\n");
    let mut live = LiveSnapshot {
        format_version: 1,
        recipients: (0..MAILBOXES)
            .map(|i| Recipient {
                address: format!("user{i}@contoso.com"),
                kind: "UserMailbox".into(),
                id: None,
                proxy_addresses: Vec::new(),
            })
            .collect(),
        ..LiveSnapshot::default()
    };
    for a in 0..APPS {
        let members: Vec<String> = (0..PER_APP).map(|k| mailbox(a, k)).collect();
        let _ =
            writeln!(yaml, "  - name: app{a}\n    appId: {}\n    allow: [{}]", app_id(a), members.join(", "));
        let name = format!("mailscope-app{a}-allow");
        let gid = format!("10000000-0000-4000-8000-{a:012}");
        let mut live_members: Vec<String> = members[DRIFT..].to_vec();
        live_members.extend((0..DRIFT).map(|k| mailbox(a, PER_APP + k)));
        let mark = marker(&app_id(a), ListKind::Allow);
        live.groups.push(LiveGroup {
            kind: None,
            id: gid.clone(),
            name: name.clone(),
            primary_smtp_address: format!("{name}@contoso.onmicrosoft.com"),
            marker: Some(mark.clone()),
            distinguished_name: None,
            members: live_members,
        });
        live.policies.push(LivePolicy {
            identity: format!("t\\{}:S-1-5-21-{a};{gid}", app_id(a)),
            app_id: app_id(a),
            scope_id: gid,
            scope_name: name,
            access_right: AccessRight::RestrictAccess,
            description: mark,
        });
    }
    (mailscope_spec::parse(&yaml, "bench.yaml").expect("valid"), live)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let (desired, live) = inputs();
    let p = plan(&desired, &live, &PlanOptions::default()).expect("plans");
    assert_eq!(p.steps.len(), APPS * DRIFT * 2);
    drop(p);

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c.bench_function("plan 1,000 apps x 100 mailboxes over 100,000 (20,000 steps)", |b| {
        b.iter(|| plan(black_box(&desired), black_box(&live), &PlanOptions::default()).expect("plans"));
    });
    c.bench_function("parse desired file of 1,000 apps", |b| {
        let mut yaml = String::from("apiVersion: mailscope/v1\napps:\n");
        for a in 0..APPS {
            let members: Vec<String> = (0..PER_APP).map(|k| mailbox(a, k)).collect();
            let _ = writeln!(
                yaml,
                "  - name: app{a}\n    appId: {}\n    allow: [{}]",
                app_id(a),
                members.join(", ")
            );
        }
        b.iter(|| mailscope_spec::parse(black_box(&yaml), "bench.yaml").expect("valid"));
    });
    c.final_summary();
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory of the bench process: {} MiB", kib / 1024);
    }
}
