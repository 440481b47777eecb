//! `InvokeCommand` throughput over loopback with concurrent keep-alive clients.
//!
//! `cargo bench -p mailscope-sim --bench throughput` (release profile).
//! Knobs: `SIM_BENCH_SECS` (default 5), `SIM_BENCH_CONCURRENCY` (default 32),
//! `SIM_BENCH_MAILBOXES` / `SIM_BENCH_APPS` (default 100,000 / 1,000) for
//! the scale phases, which run on a generated tenant with the exposure log
//! on: every app has a Mail.Send grant and a Restrict policy on its own group
//! of 100 mailboxes, and the writes move a member of one of those groups.
//! The client runs in the same process as the server, so the figure is what
//! one machine does end to end (client JSON + HTTP + server), not a server-only peak.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mailscope_testkit::contoso::TENANT_ID as TENANT;
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn read_mix(i: u64) -> Value {
    let (name, params) = match i % 4 {
        0 => ("Get-DistributionGroup", json!({"Identity": "mailscope-invoice-mailer-allow"})),
        1 => (
            "Test-ApplicationAccessPolicy",
            json!({"Identity": "ceo@contoso.com", "AppId": "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60"}),
        ),
        2 => ("Get-Recipient", json!({"Identity": "billing@contoso.com"})),
        _ => ("Get-ApplicationAccessPolicy", json!({})),
    };
    json!({"CmdletInput": {"CmdletName": name, "Parameters": params}})
}

fn scale_read_mix(i: u64) -> Value {
    let (name, params) = match i % 3 {
        0 => ("Get-DistributionGroup", json!({"Identity": format!("bench-app-{}-allow", i % 7)})),
        1 => (
            "Test-ApplicationAccessPolicy",
            json!({"Identity": format!("user{}@contoso.com", i % 1000), "AppId": bench_app_id(i % 7)}),
        ),
        _ => ("Get-Recipient", json!({"Identity": format!("user{}@contoso.com", (i * 7919) % 1000)})),
    };
    json!({"CmdletInput": {"CmdletName": name, "Parameters": params}})
}

fn scale_write_mix(i: u64) -> Value {
    let name =
        if i.is_multiple_of(2) { "Add-DistributionGroupMember" } else { "Remove-DistributionGroupMember" };
    json!({"CmdletInput": {"CmdletName": name, "Parameters": {
        "Identity": "bench-app-3-allow", "Member": "ceo@contoso.com", "BypassSecurityGroupManagerCheck": true
    }}})
}

fn bench_app_id(a: u64) -> String {
    format!("0be1c400-0000-4000-8000-{a:012}")
}

/// Contoso plus `mailboxes` user mailboxes and `apps` apps, each with a
/// Mail.Send grant and a Restrict policy on its own group of 100 mailboxes.
fn scaled_tenant(mailboxes: u64, apps: u64) -> mailscope_sim::Tenant {
    let seed = mailscope_testkit::workspace_root().join("policies/contoso.tenant.yaml");
    let contoso = mailscope_sim::Sim::from_seed_file(seed).unwrap();
    let mut t = contoso.tenant();
    // The tenant holds only secret hashes; give the operator app its clear
    // secret back so that `Sim::from_tenant` can hand out its credentials.
    let op = contoso.operator_credentials().expect("the seed names an operator app");
    for a in &mut t.apps {
        if a.app_id == op.client_id {
            Arc::make_mut(a).client_secrets = vec![op.client_secret.clone()];
        }
    }
    let mailbox =
        (**t.recipients.iter().find(|r| r.primary_smtp_address == "alice@contoso.com").unwrap()).clone();
    let group = (**t.recipients.iter().find(|r| r.name == "Marketing-Senders").unwrap()).clone();
    let policy = (*t.policies[0]).clone();
    let app = (**t.apps.iter().find(|a| a.display_name == "invoice-mailer").unwrap()).clone();
    let id = |kind: u64, n: u64| format!("{kind:08x}-0000-4000-8000-{n:012}");
    for n in 0..mailboxes {
        let mut r = mailbox.clone();
        r.name = format!("user{n}");
        r.alias.clone_from(&r.name);
        r.display_name.clone_from(&r.name);
        r.primary_smtp_address = format!("user{n}@contoso.com");
        r.email_addresses = vec![format!("SMTP:user{n}@contoso.com")];
        r.external_directory_object_id = id(0xa, n);
        r.guid = id(0xb, n);
        r.sid = format!("S-1-5-21-1000-2000-3000-{}", 100_000 + n);
        t.recipients.push(Arc::new(r));
    }
    for a in 0..apps {
        let mut g = group.clone();
        g.name = format!("bench-app-{a}-allow");
        g.alias.clone_from(&g.name);
        g.display_name.clone_from(&g.name);
        g.primary_smtp_address = format!("{}@contoso.onmicrosoft.com", g.name);
        g.email_addresses = vec![format!("SMTP:{}", g.primary_smtp_address)];
        g.external_directory_object_id = id(0xc, a);
        g.guid = id(0xd, a);
        g.sid = format!("S-1-5-21-1000-2000-3000-{}", 900_000 + a);
        g.members = (0..100).map(|k| id(0xa, (a * 7919 + k * 104_729) % mailboxes.max(1))).collect();
        let mut p = policy.clone();
        p.app_id = bench_app_id(a);
        p.scope_object_id.clone_from(&g.external_directory_object_id);
        p.scope_sid.clone_from(&g.sid);
        p.scope_name.clone_from(&g.name);
        t.recipients.push(Arc::new(g));
        t.policies.push(Arc::new(p));
        let mut x = app.clone();
        x.app_id = bench_app_id(a);
        x.display_name = format!("bench-app-{a}");
        x.service_principal_id = id(0xe, a);
        t.apps.push(Arc::new(x));
    }
    t
}

async fn token_for(base: &str, creds: &mailscope_sim::OperatorCredentials) -> String {
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
            ("scope", "https://outlook.office365.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

fn write_mix(i: u64) -> Value {
    let name =
        if i.is_multiple_of(2) { "Add-DistributionGroupMember" } else { "Remove-DistributionGroupMember" };
    json!({"CmdletInput": {"CmdletName": name, "Parameters": {
        "Identity": "Marketing-Senders", "Member": "bob@contoso.com", "BypassSecurityGroupManagerCheck": true
    }}})
}

async fn phase(
    label: &str,
    url: &str,
    token: &str,
    secs: u64,
    concurrency: u64,
    body: fn(u64) -> Value,
    sequential: bool,
) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers = if sequential { 1 } else { concurrency };
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (client, done, errors, stop) = (client.clone(), done.clone(), errors.clone(), stop.clone());
        let (url, token) = (url.to_owned(), token.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("X-AnchorMailbox", "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@x")
                    .json(&body(i))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() || r.status().as_u16() == 400 => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += workers;
            }
        }));
    }
    // Warm-up second, then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let count = done.load(Ordering::Relaxed) - start_count;
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = count as f64 / elapsed;
    println!(
        "{label}: {rate:.0} InvokeCommand calls/s ({count} calls in {elapsed:.2} s, {workers} clients, {} errors)",
        errors.load(Ordering::Relaxed)
    );
}

fn main() {
    let secs = env_num("SIM_BENCH_SECS", 5);
    let concurrency = env_num("SIM_BENCH_CONCURRENCY", 32);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let server = mailscope_testkit::Emulator::contoso().await;
        let creds = server.operator().clone();
        let base = server.base_url();
        let token = token_for(&base, &creds).await;
        let url = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand");
        println!(
            "mailscope-sim throughput, {} CPUs",
            std::thread::available_parallelism().map_or(0, usize::from)
        );
        phase("reads (4-cmdlet mix)", &url, &token, secs, concurrency, read_mix, false).await;
        phase("writes (add/remove member)", &url, &token, secs, concurrency, write_mix, false).await;
        phase("reads, 1 sequential client", &url, &token, secs, concurrency, read_mix, true).await;
        server.shutdown().await;

        // The same writes with a state file: every answer waits for a save
        // (rewrite + fsync), which concurrent writes share (group commit).
        let dir = std::env::temp_dir().join(format!("mailscope-sim-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let seed = mailscope_testkit::workspace_root().join("policies/contoso.tenant.yaml");
        let sim = mailscope_sim::Sim::open(dir.join("state.json"), Some(&seed)).unwrap();
        let server = mailscope_testkit::Emulator::serve(sim).await;
        let base = server.base_url();
        let token = token_for(&base, server.operator()).await;
        let url = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand");
        phase("writes with a state file", &url, &token, secs, concurrency, write_mix, false).await;
        let stats: Value = reqwest::Client::new()
            .get(format!("{base}/_sim/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        println!(
            "state file: {} saves for {} write calls",
            stats["stateSaves"],
            stats["cmdlets"]["Add-DistributionGroupMember"].as_u64().unwrap_or(0)
                + stats["cmdlets"]["Remove-DistributionGroupMember"].as_u64().unwrap_or(0)
        );
        server.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);

        let (mailboxes, apps) = (env_num("SIM_BENCH_MAILBOXES", 100_000), env_num("SIM_BENCH_APPS", 1_000));
        let sim = mailscope_sim::Sim::from_tenant(scaled_tenant(mailboxes, apps));
        let server = mailscope_testkit::Emulator::serve(sim).await;
        let base = server.base_url();
        let token = token_for(&base, server.operator()).await;
        let t0 = Instant::now();
        let r = reqwest::Client::new().post(format!("{base}/_sim/exposure/checkpoint")).send().await.unwrap();
        assert!(r.status().is_success());
        println!(
            "scale: {mailboxes} mailboxes, {apps} apps, exposure log on (checkpoint took {:.1} s)",
            t0.elapsed().as_secs_f64()
        );
        let url = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand");
        phase("scale reads (3-cmdlet mix)", &url, &token, secs, concurrency, scale_read_mix, false).await;
        phase(
            "scale writes (add/remove a member of a scope group)",
            &url,
            &token,
            secs,
            concurrency,
            scale_write_mix,
            false,
        )
        .await;
        let report: Value = reqwest::Client::new()
            .get(format!("{base}/_sim/exposure"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        println!("scale: exposure log after the writes: {} mutations recorded", report["mutations"]);
        server.shutdown().await;
    });
}
