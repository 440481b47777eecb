//! Planner benchmark: 1,000 apps over a tenant of 100,000 mailboxes.
//!
//! Each app allows 100 mailboxes; the live tenant has every managed group
//! and policy, with 10 members drifted per app (10 to remove, 10 to add):
//! 20,000 membership changes, which the plan writes as one
//! `Update-DistributionGroupMember` replace per app (1,000 steps) once the
//! safe-order replay has proven each of them. Run with `cargo bench -p mailscope-planner`; the peak
//! resident memory of the whole bench process is printed at the end.
//!
//! A second case is the shape that once planned in 33 s: a 2.6 MB file of
//! 20,000 apps with one address each (one in ten with a deny list) over a
//! tenant where none of them exists yet, parsed, validated and planned end
//! to end. Its first
//! pass is timed once before criterion starts, so a regression to
//! super-linear shows up even without waiting for the samples.

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

/// Apps of the wide case.
const WIDE_APPS: usize = 20_000;

/// The wide desired file: 20,000 new apps, one allowed mailbox each and one
/// in ten with a deny list too (about 2.6 MB; about 170,000 YAML nodes, within
/// the parser's budget of 200,000).
fn wide_yaml() -> String {
    let mut yaml = String::from("apiVersion: mailscope/v1\napps:\n");
    for a in 0..WIDE_APPS {
        let _ = writeln!(
            yaml,
            "  - name: generated-application-number-{a}\n    appId: {}\n    allow: [{}]",
            app_id(a),
            mailbox(a, 0)
        );
        if a % 10 == 0 {
            let _ = writeln!(yaml, "    deny: [{}]", mailbox(a + 1, 7));
        }
    }
    yaml
}

/// The live side of the wide case: only the recipients, no managed object.
fn wide_live() -> LiveSnapshot {
    LiveSnapshot {
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
    }
}

/// The live side of the wide case once applied: every app's managed
/// groups and policies exist, with one member in ten drifted.
fn wide_live_applied() -> LiveSnapshot {
    let mut live = wide_live();
    for a in 0..WIDE_APPS {
        let lists: &[(ListKind, AccessRight, String)] = &[
            (ListKind::Allow, AccessRight::RestrictAccess, mailbox(a, if a % 10 == 5 { 3 } else { 0 })),
            (ListKind::Deny, AccessRight::DenyAccess, mailbox(a + 1, 7)),
        ];
        for (list, right, member) in lists.iter().take(if a % 10 == 0 { 2 } else { 1 }) {
            let name = format!("mailscope-generated-application-number-{a}-{list}");
            let gid =
                format!("{}0000000-0000-4000-8000-{a:012}", if *list == ListKind::Allow { 1 } else { 2 });
            let mark = marker(&app_id(a), *list);
            live.groups.push(LiveGroup {
                id: gid.clone(),
                name: name.clone(),
                primary_smtp_address: format!("{name}@contoso.onmicrosoft.com"),
                marker: Some(mark.clone()),
                distinguished_name: None,
                kind: None,
                members: vec![member.clone()],
            });
            live.policies.push(LivePolicy {
                identity: format!("t\\{}:S-1-5-21-{a};{gid}", app_id(a)),
                app_id: app_id(a),
                scope_id: gid,
                scope_name: name,
                access_right: *right,
                description: mark,
            });
        }
    }
    live
}

fn parse_and_plan(yaml: &str, live: &LiveSnapshot) -> mailscope_planner::Plan {
    let desired = mailscope_spec::parse(yaml, "wide.yaml").expect("valid");
    plan(&desired, live, &PlanOptions::default()).expect("plans")
}

/// CPU time of this thread so far, in milliseconds (Linux; 10 ms steps):
/// on a machine shared with other builds, wall time overstates the cost.
fn thread_cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name: utime and stime are the
    // 12th and 13th (clock ticks, 100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let (desired, live) = inputs();
    let p = plan(&desired, &live, &PlanOptions::default()).expect("plans");
    // One replace per app carries its 2 × DRIFT member changes.
    assert_eq!(p.steps.len(), APPS);
    assert!(p.steps.iter().all(|s| matches!(&s.action, mailscope_planner::Action::ReplaceMembers { added, removed, .. } if added.len() == DRIFT && removed.len() == DRIFT)));
    drop(p);

    let wide = wide_yaml();
    let wide_live = wide_live();
    let cpu0 = thread_cpu_ms();
    let t0 = std::time::Instant::now();
    let wide_desired = mailscope_spec::parse(&wide, "wide.yaml").expect("valid");
    let parsed = t0.elapsed();
    let p = plan(&wide_desired, &wide_live, &PlanOptions::default()).expect("plans");
    let cpu = thread_cpu_ms().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "parse+validate+plan of {WIDE_APPS} apps ({} bytes, {} steps), first pass: {} ms wall, {} ms CPU ({} ms wall to parse and validate)",
        wide.len(),
        p.steps.len(),
        t0.elapsed().as_millis(),
        cpu.map_or_else(|| "?".to_owned(), |c| c.to_string()),
        parsed.as_millis()
    );
    let t0 = std::time::Instant::now();
    let cpu0 = thread_cpu_ms();
    let shown = mailscope_planner::render::text(&p, false);
    let cpu = thread_cpu_ms().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "text rendering of that plan ({} bytes): {} ms wall, {} ms CPU",
        shown.len(),
        t0.elapsed().as_millis(),
        cpu.map_or_else(|| "?".to_owned(), |c| c.to_string()),
    );
    drop(shown);
    let applied = wide_live_applied();
    let cpu0 = thread_cpu_ms();
    let t0 = std::time::Instant::now();
    let p = plan(&wide_desired, &applied, &PlanOptions::default()).expect("plans");
    let cpu = thread_cpu_ms().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "plan of the same file over a tenant that has its groups and policies ({} steps): {} ms wall, {} ms CPU",
        p.steps.len(),
        t0.elapsed().as_millis(),
        cpu.map_or_else(|| "?".to_owned(), |c| c.to_string()),
    );
    drop(wide_desired);
    drop(p);

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c.bench_function("plan 1,000 apps x 100 mailboxes over 100,000 (20,000 member changes)", |b| {
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
    c.bench_function("parse, validate and plan a 2.6 MB file of 20,000 new apps", |b| {
        b.iter(|| parse_and_plan(black_box(&wide), black_box(&wide_live)));
    });
    c.final_summary();
    if let Some(kib) = peak_rss_kib() {
        println!("peak resident memory of the bench process: {} MiB", kib / 1024);
    }
}
