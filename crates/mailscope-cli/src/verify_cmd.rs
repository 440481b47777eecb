//! `mailscope verify FILE`: ask Exchange, mailbox by mailbox, whether each
//! app is granted or denied as the file says.
//!
//! Owns: the command's flags; running `Test-ApplicationAccessPolicy` for
//! each check, concurrently; the table on stdout; the exit code (0 all as
//! expected, 2 a mismatch). What each check should answer is the planner's
//! ([`mailscope_planner::expected_access`]), decided by the same access rule
//! the plans are checked with.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mailscope_exo::AccessCheck;
use mailscope_planner::ExpectedAccess;
use mailscope_spec::DesiredState;
use tokio::task::JoinSet;

use crate::inputs::load_desired;
use crate::output;
use crate::target::{self, TenantArgs};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The desired-state file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// How many mailboxes named by neither list to test per app.
    #[arg(long, value_name = "N", default_value_t = 3)]
    sample: usize,
    #[command(flatten)]
    target: TenantArgs,
}

/// How Exchange's answer is spelled, for comparing with the expectation.
fn expected(e: &ExpectedAccess) -> AccessCheck {
    if e.allowed { AccessCheck::Granted } else { AccessCheck::Denied }
}

fn word(a: AccessCheck) -> &'static str {
    match a {
        AccessCheck::Granted => "Granted",
        AccessCheck::Denied => "Denied",
    }
}

pub(crate) async fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let (desired, _) = load_desired(&args.file)?;
    let conn = target::connect(&args.target, Some(&desired)).await?;
    let result = verify(&conn, &desired, args.sample).await;
    conn.close().await;
    let (table, mismatches) = result?;
    output::stdout(&table)?;
    Ok(if mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

async fn verify(
    conn: &target::Connection,
    desired: &DesiredState,
    sample: usize,
) -> anyhow::Result<(String, usize)> {
    let live = target::read_live(conn, desired).await?;
    let mut known: Vec<String> = live.recipients.iter().map(|r| r.address.to_lowercase()).collect();
    known.sort();
    known.dedup();
    let checks = mailscope_planner::expected_access(desired, &known, sample);
    let mut tasks = JoinSet::new();
    for (i, check) in checks.iter().enumerate() {
        let exo = conn.session.exo();
        let (mailbox, app_id) = (check.mailbox.clone(), check.app_id.clone());
        tasks.spawn(async move { (i, exo.test_policy(&mailbox, &app_id).await) });
    }
    let mut actual = vec![None; checks.len()];
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.context("a verification task failed")?;
        let c = &checks[i];
        actual[i] = Some(
            result.with_context(|| format!("Test-ApplicationAccessPolicy for {} on {}", c.app, c.mailbox))?,
        );
    }
    let width = checks.iter().map(|c| c.app.len()).max().unwrap_or(3).max(3);
    let mwidth = checks.iter().map(|c| c.mailbox.len()).max().unwrap_or(7).max(7);
    let mut out =
        format!("{:width$}  {:mwidth$}  {:6}  {:8}  {:8}\n", "APP", "MAILBOX", "LIST", "EXPECTED", "ACTUAL");
    let mut mismatches = 0;
    for (c, a) in checks.iter().zip(actual) {
        let a = a.expect("every task reported");
        let ok = a == expected(c);
        if !ok {
            mismatches += 1;
        }
        let _ = writeln!(
            out,
            "{:width$}  {:mwidth$}  {:6}  {:8}  {:8}  {}",
            c.app,
            c.mailbox,
            c.reason.as_str(),
            word(expected(c)),
            word(a),
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    let _ = writeln!(
        out,
        "\n{} check{}, {mismatches} mismatch{} on {}.",
        checks.len(),
        if checks.len() == 1 { "" } else { "s" },
        if mismatches == 1 { "" } else { "es" },
        conn.label
    );
    out.push_str(
        "Test-ApplicationAccessPolicy reads the directory as it is now; Microsoft Graph and EWS can take an hour \
         or more to follow a change.\n",
    );
    Ok((out, mismatches))
}
