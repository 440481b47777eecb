//! `InvokeCommand` throughput over loopback with concurrent keep-alive clients.
//!
//! `cargo bench -p mailscope-sim --bench throughput` (release profile).
//! Knobs: `SIM_BENCH_SECS` (default 5), `SIM_BENCH_CONCURRENCY` (default 32).
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
        let token = token["access_token"].as_str().unwrap().to_owned();
        let url = format!("{base}/adminapi/beta/{TENANT}/InvokeCommand");
        println!(
            "mailscope-sim throughput, {} CPUs",
            std::thread::available_parallelism().map_or(0, usize::from)
        );
        phase("reads (4-cmdlet mix)", &url, &token, secs, concurrency, read_mix, false).await;
        phase("writes (add/remove member)", &url, &token, secs, concurrency, write_mix, false).await;
        phase("reads, 1 sequential client", &url, &token, secs, concurrency, read_mix, true).await;
        server.shutdown().await;
    });
}
