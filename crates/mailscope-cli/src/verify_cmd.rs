//! `mailscope verify FILE`: ask Exchange, mailbox by mailbox, whether each
//! app is granted or denied as the file says.
//!
//! Owns: the command's flags; running `Test-ApplicationAccessPolicy` (or,
//! for `mechanism: rbac` apps, `Test-ServicePrincipalAuthorization`) for
//! each check, concurrently; the Entra side of RBAC apps; the table on
//! stdout; the exit code (0 all as expected, 2 a mismatch). What each check
//! should answer is the planner's ([`mailscope_planner::expected_access`]),
//! decided by the same access rule the plans are checked with.
//!
//! `Test-ServicePrincipalAuthorization` answers for RBAC only: an Entra
//! grant adds to RBAC, so an RBAC app that also holds a tenant-wide Entra
//! grant of one of its permissions reaches every mailbox whatever its
//! scope (the additive trap, `docs/exchange.md`, "Access decision"). The
//! grants come from the live read and are checked per app.

use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mailscope_exo::{AccessCheck, ExoErrorKind, RbacCheck};
use mailscope_planner::access::AccessModel;
use mailscope_planner::{ExpectedAccess, LiveSnapshot};
use mailscope_spec::{AppSpec, DesiredState, EntraGrants, Mechanism};
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

/// What Exchange answered for one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actual {
    /// `Test-ApplicationAccessPolicy`'s answer.
    Policy(AccessCheck),
    /// Of the app's RBAC permissions, how many are in scope for the mailbox.
    Rbac { in_scope: usize, of: usize },
}

impl Actual {
    /// Whether the answer is the expected one. An RBAC app must hold every
    /// permission of the file on an allowed mailbox and none on another.
    fn matches(self, e: &ExpectedAccess) -> bool {
        match self {
            Actual::Policy(a) => a == expected(e),
            Actual::Rbac { in_scope, of } if e.allowed => of > 0 && in_scope == of,
            Actual::Rbac { in_scope, .. } => in_scope == 0,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Actual::Policy(a) => word(a),
            Actual::Rbac { in_scope: 0, .. } => "Denied",
            Actual::Rbac { in_scope, of } if in_scope == of => "Granted",
            Actual::Rbac { .. } => "Partial",
        }
    }
}

/// Reduces `Test-ServicePrincipalAuthorization`'s rows to the app's
/// permissions that are in scope.
fn rbac_actual(app: &AppSpec, rows: &[RbacCheck]) -> Actual {
    let perms: Vec<&str> = app.permissions.iter().map(|p| p.address.as_str()).collect();
    let in_scope = perms
        .iter()
        .filter(|p| rows.iter().any(|r| r.permission().eq_ignore_ascii_case(p) && r.in_scope == Some(true)))
        .count();
    Actual::Rbac { in_scope, of: perms.len() }
}

/// The Entra line of one RBAC app: `(text, mismatch)`. Which grants count
/// is the planner's decision ([`mailscope_planner::access::AccessModel`]): a
/// tenant-wide grant nothing fences; one the app's legacy access policy
/// still fences (mid-migration) is not a mismatch.
fn entra_line(app: &AppSpec, live: &LiveSnapshot, model: &AccessModel) -> (String, bool) {
    if !live.grants_read {
        return ("unknown: the Entra grants could not be read".to_owned(), false);
    }
    let open = model.unfenced_entra_grants(&app.app_id);
    if open.is_empty() {
        return ("ok: no tenant-wide Entra grant reaches past its RBAC scope".to_owned(), false);
    }
    let fix = match app.entra_grants {
        EntraGrants::Keep => format!("fix: set `entraGrants: remove` for {} and apply", app.name),
        EntraGrants::Remove => "fix: apply (the file already says `entraGrants: remove`)".to_owned(),
    };
    (
        format!(
            "MISMATCH additive trap: a tenant-wide Entra grant of {} reaches every mailbox, whatever the RBAC scope; {fix}",
            open.join(", ")
        ),
        true,
    )
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
    // Entries written with a secondary address are checked as the mailbox
    // they name, as the plan treats them.
    let (desired, _) = mailscope_planner::primary_addresses(desired, &live);
    let desired = desired.as_ref();
    let checks = mailscope_planner::expected_access(desired, &known, sample);
    let app_of = |c: &ExpectedAccess| desired.apps.iter().find(|a| a.app_id.eq_ignore_ascii_case(&c.app_id));
    let mut tasks = JoinSet::new();
    for (i, check) in checks.iter().enumerate() {
        let exo = conn.session.exo();
        let (mailbox, app_id) = (check.mailbox.clone(), check.app_id.clone());
        if app_of(check).is_some_and(|a| a.mechanism == Mechanism::Rbac) {
            tasks.spawn(async move {
                let rows = match exo.test_service_principal_authorization(&app_id, &mailbox).await {
                    // No Exchange pointer: the app holds nothing in RBAC.
                    Err(e) if e.kind == ExoErrorKind::NotFound && !mailbox_missing(&e.message, &mailbox) => {
                        Ok(Vec::new())
                    }
                    other => other,
                };
                (i, rows.map(Err))
            });
        } else {
            tasks.spawn(async move { (i, exo.test_policy(&mailbox, &app_id).await.map(Ok)) });
        }
    }
    let mut actual = vec![None; checks.len()];
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.context("a verification task failed")?;
        let c = &checks[i];
        actual[i] = Some(match result {
            Ok(Ok(a)) => Actual::Policy(a),
            Ok(Err(rows)) => rbac_actual(app_of(c).expect("an rbac check has its app"), &rows),
            Err(e) => {
                return Err(anyhow::Error::new(e))
                    .with_context(|| format!("testing {} on {}", c.app, c.mailbox));
            }
        });
    }
    let width = checks.iter().map(|c| c.app.len()).max().unwrap_or(3).max(3);
    let mwidth = checks.iter().map(|c| c.mailbox.len()).max().unwrap_or(7).max(7);
    let mut out =
        format!("{:width$}  {:mwidth$}  {:6}  {:8}  {:8}\n", "APP", "MAILBOX", "LIST", "EXPECTED", "ACTUAL");
    let mut mismatches = 0;
    for (c, a) in checks.iter().zip(actual) {
        let a = a.expect("every task reported");
        let ok = a.matches(c);
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
            a.word(),
            if ok { "ok" } else { "MISMATCH" }
        );
    }
    let rbac_apps: Vec<&AppSpec> = desired.apps.iter().filter(|a| a.mechanism == Mechanism::Rbac).collect();
    let mut count = checks.len();
    if !rbac_apps.is_empty() {
        out.push_str("\nENTRA GRANTS (RBAC apps)\n");
        let model = AccessModel::from_live(&live);
        for app in rbac_apps {
            let (verdict, mismatch) = entra_line(app, &live, &model);
            count += 1;
            mismatches += usize::from(mismatch);
            let _ = writeln!(out, "{:width$}  {verdict}", app.name);
        }
    }
    let _ = writeln!(
        out,
        "\n{} check{}, {mismatches} mismatch{} on {}.",
        count,
        if count == 1 { "" } else { "s" },
        if mismatches == 1 { "" } else { "es" },
        conn.label
    );
    out.push_str(
        "Test-ApplicationAccessPolicy and Test-ServicePrincipalAuthorization read the directory as it is now; \
         Microsoft Graph and EWS can take an hour or more to follow a change.\n",
    );
    Ok((out, mismatches))
}

/// Whether a not-found error is about the mailbox (a real problem) rather
/// than the app's missing pointer.
fn mailbox_missing(message: &str, mailbox: &str) -> bool {
    message.to_ascii_lowercase().contains(&mailbox.to_ascii_lowercase())
}
