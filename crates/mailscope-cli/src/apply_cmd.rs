//! `mailscope apply FILE|PLAN.json`.
//!
//! Owns: the command's flags; reading the input (desired file or saved
//! plan) and the tenant; the confirmation prompt, the stop signal, the
//! progress lines and the final report on stderr; the exit code (0 applied
//! or nothing to do, 1 refused, cancelled or stopped). Decides nothing: the
//! approval guard ([`mailscope_planner::check_approvals`]) and the saved
//! plan's checks ([`mailscope_planner::SavedPlan`]) are the planner's, the
//! execution is `mailscope-applier`'s; here their refusals are worded with
//! this command's flags.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, bail};
use clap::Args;
use mailscope_applier::{
    ApplyOptions, ApplyReport, CancelToken, ExoTenant, Holder, JournalWriter, Lease, LeaseError,
    LeaseOptions, ProgressEvent, StepStatus, describe,
};
use mailscope_exo::ExoClient;
use mailscope_planner::{ApprovalFlags, GuardRefusal, Plan, SavedPlan, SavedPlanError};

use crate::app_scope::AppScope;
use crate::inputs::load_desired;
use crate::output;
use crate::plan_cmd::{Format, PlanningArgs, render};
use crate::target::{self, TenantArgs};

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A desired-state file (planned now, then confirmed) or a plan saved by
    /// `mailscope plan --out` (applied as saved, if the tenant did not move).
    #[arg(value_name = "FILE|PLAN.json")]
    input: PathBuf,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// Allow steps that give an app access to a mailbox it cannot reach now.
    #[arg(long)]
    allow_widening: bool,
    /// Allow a plan that removes or locks down more than half of the apps
    /// (and at least 3): the guard against applying an emptied file.
    #[arg(long)]
    allow_mass_change: bool,
    /// Most calls in flight at once.
    #[arg(long, value_name = "N", default_value_t = mailscope_applier::DEFAULT_CONCURRENCY)]
    concurrency: usize,
    /// Where to append the JSON-lines journal of the run.
    #[arg(long, value_name = "FILE", default_value = ".mailscope/journal.jsonl")]
    journal: PathBuf,
    #[command(flatten)]
    lock: LockArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    #[command(flatten)]
    scope: AppScope,
    #[command(flatten)]
    target: TenantArgs,
}

/// The tenant's apply lease (docs/reliability.md, "Apply lease"): `apply
/// FILE` and `reconcile --correct` take it before they read what they will
/// change; a saved plan (bound to the tenant's fingerprint) does not.
#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// How long to wait for another apply's lease on the tenant before
    /// failing with its holder: `0s` (fail at once), `30s`, `10m`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_wait)]
    lock_timeout: std::time::Duration,
    /// Apply without taking the tenant's lease (emergencies only: another
    /// apply may interleave with this one).
    #[arg(long)]
    no_lock: bool,
}

/// `0s` or any duration `reconcile --every` takes.
fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    if text.trim_start_matches('0').chars().all(char::is_alphabetic) && text.starts_with('0') {
        return Ok(std::time::Duration::ZERO);
    }
    crate::reconcile_cmd::parse_duration(text)
}

impl LockArgs {
    /// Takes the lease for this run, or says loudly that it is not taken.
    pub(crate) async fn take(&self, client: &ExoClient) -> anyhow::Result<Option<Lease>> {
        if self.no_lock {
            tracing::warn!("--no-lock: the tenant's apply lease is not taken");
            eprintln!(
                "WARNING: --no-lock: applying without the tenant's lease; another apply running now may interleave with this one"
            );
            return Ok(None);
        }
        let me = Holder::new_run();
        let options = LeaseOptions { wait: self.lock_timeout, ..LeaseOptions::default() };
        let lease = mailscope_applier::acquire(
            client,
            &options,
            &me,
            &std::time::SystemTime::now,
            &mailscope_applier::process_alive,
        )
        .await?;
        if let Some(old) = lease.broke() {
            eprintln!("note: took over the expired or abandoned apply lease of {old}");
        }
        tracing::info!(holder = %me, "apply lease taken");
        Ok(Some(lease))
    }
}

/// The planner's approval guard, as a message that names this binary's
/// flags. `reconcile --correct` asks the same guard.
pub(crate) fn guard(plan: &Plan, allow_widening: bool, allow_mass_change: bool) -> anyhow::Result<()> {
    let flags = ApprovalFlags { allow_widening, allow_mass_change };
    match mailscope_planner::check_approvals(plan, flags) {
        Ok(()) => Ok(()),
        Err(GuardRefusal::Widening { apps }) => {
            let apps: Vec<String> = apps
                .iter()
                .map(|a| {
                    if a.becomes_unrestricted {
                        format!("{} (every mailbox not denied)", a.name)
                    } else {
                        format!("{} (+{})", a.name, a.gains.join(", +"))
                    }
                })
                .collect();
            bail!(
                "the plan widens access: {}; review it and pass --allow-widening to apply it",
                apps.join("; ")
            )
        }
        Err(GuardRefusal::MassChange { leaving, total }) => bail!(
            "the plan locks down or removes {leaving} of {total} apps; if the desired file was emptied by \
             mistake nothing is lost yet. Pass --allow-mass-change if this is intended"
        ),
    }
}

/// Reads a saved plan, or `None` when the file is not one.
fn read_saved(path: &Path) -> anyhow::Result<Option<SavedPlan>> {
    let text = output::read_text(path)?;
    if !claims_saved_plan(&text) {
        return Ok(None);
    }
    SavedPlan::from_json(&text, env!("CARGO_PKG_VERSION")).map(Some).map_err(|err| saved_refusal(err, path))
}

/// Whether `text` says it is a saved plan: a JSON object with the saved
/// plan's `saved_plan_version` field. "Parses as JSON" is not enough: YAML
/// is a superset of JSON, so a desired file may be written in JSON style
/// and must be planned, not refused as a broken plan. A file that is not
/// valid JSON but names the field (a truncated plan) is still read as a
/// plan, so that its refusal says what is wrong with it.
fn claims_saved_plan(text: &str) -> bool {
    if !text.trim_start().starts_with('{') {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value.get("saved_plan_version").is_some(),
        Err(_) => text.contains("\"saved_plan_version\""),
    }
}

/// Words a saved plan's refusal for this command: the file concerned and
/// what to do ("plan again").
fn saved_refusal(err: SavedPlanError, path: &Path) -> anyhow::Error {
    let path = path.display();
    match err {
        // The parser's own words, under this command's (the planner's
        // wording of the same refusal would say it twice).
        SavedPlanError::NotASavedPlan(parse) => {
            anyhow::Error::new(parse).context(format!("{path} is not a plan saved by `mailscope plan --out`"))
        }
        SavedPlanError::UnsupportedVersion { found } => {
            anyhow::anyhow!("{path}: saved plan version {found} is not supported")
        }
        SavedPlanError::OtherToolVersion { made_by, this } => {
            anyhow::anyhow!(
                "{path} was made by mailscope {made_by}, this is {this}: plan again with this version"
            )
        }
        SavedPlanError::OtherTenant { planned_for, this } => anyhow::anyhow!(
            "{path} was planned for tenant {planned_for}, but this is tenant {this}: plan again against this tenant"
        ),
        SavedPlanError::DesiredChanged => {
            anyhow::anyhow!("{path} changed since the plan was saved; plan again")
        }
        SavedPlanError::Stale { changes } => anyhow::anyhow!(
            "the saved plan is stale: the tenant changed since it was made:\n  - {}\nplan again",
            changes.join("\n  - ")
        ),
        SavedPlanError::Mismatch => {
            anyhow::anyhow!("the saved plan no longer matches its inputs; plan again")
        }
        SavedPlanError::Plan(err) => anyhow::Error::new(err),
    }
}

pub(crate) async fn run(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let saved = read_saved(&args.input)?;
    if saved.is_some() && !args.scope.apps.is_empty() {
        bail!(
            "--app does not narrow a saved plan, which is applied as saved: pass --app to `mailscope plan` instead"
        );
    }
    let desired_path = saved.as_ref().map_or_else(|| args.input.clone(), |s| PathBuf::from(&s.desired_file));
    let (desired, sha) = load_desired(&desired_path)?;
    if let Some(saved) = &saved {
        saved.check_desired(&sha).map_err(|err| saved_refusal(err, &desired_path))?;
    }
    let conn = target::connect_limited(&args.target, Some(&desired), Some(args.concurrency)).await?;
    let result = apply_with(args, &conn, &desired, saved.as_ref()).await;
    conn.close().await;
    result
}

async fn apply_with(
    args: &ApplyArgs,
    conn: &target::Connection,
    desired: &mailscope_spec::DesiredState,
    saved: Option<&SavedPlan>,
) -> anyhow::Result<ExitCode> {
    if let Some(saved) = saved {
        saved.check_tenant(&conn.tenant_id).map_err(|err| saved_refusal(err, &args.input))?;
    }
    // The lease comes before the read: a run that waited for another must
    // plan from the tenant that run left, not from what it saw before.
    // A saved plan takes it too: its staleness check (the tenant's
    // fingerprint) then runs under the lease, so two saved plans made from
    // the same state cannot both pass it and interleave.
    let client = target::exo_for(conn, desired);
    let lease = args.lock.take(&client).await?;
    let result = plan_and_confirm(args, conn, desired, saved).await;
    let (result, lease_problem) = match (result, lease) {
        (Ok(Run::Apply(plan, options)), Some(mut lease)) => {
            // A long wait at the prompt may have let the lease run out and
            // another run take it: then nothing is applied.
            match lease.renew(&client, std::time::SystemTime::now()).await {
                Err(LeaseError::Lost) => bail!(
                    "the tenant's apply lease ran out while waiting for confirmation and another run took it: \
                     nothing was changed; run again"
                ),
                Err(e) => tracing::warn!(error = %e, "the apply lease could not be renewed before applying"),
                Ok(()) => {}
            }
            let cancel = options.cancel.clone();
            let tenant = ExoTenant::new(client.clone());
            let (report, problem) = mailscope_applier::hold_while(
                lease,
                &client,
                &cancel,
                mailscope_applier::apply(&plan, &tenant, options),
            )
            .await;
            (Ok(finish(&report, &args.journal)), problem)
        }
        (Ok(Run::Apply(plan, options)), None) => {
            let report = mailscope_applier::apply(&plan, &ExoTenant::new(client.clone()), options).await;
            (Ok(finish(&report, &args.journal)), None)
        }
        (Ok(Run::Done(code)), lease) => (Ok(code), release(lease, &client).await),
        (Err(e), lease) => (Err(e), release(lease, &client).await),
    };
    if let Some(problem) = lease_problem {
        eprintln!("warning: {problem}");
        if problem == LeaseError::Lost {
            return Ok(ExitCode::from(1));
        }
    }
    result
}

/// Releases a lease that no apply used (nothing to do, or a refusal).
async fn release(lease: Option<Lease>, client: &ExoClient) -> Option<LeaseError> {
    lease?.release(client).await.err()
}

/// What `plan_and_confirm` decided: the run is over, or a plan to apply.
enum Run {
    Done(ExitCode),
    Apply(Plan, ApplyOptions),
}

/// Reads the tenant, plans (or checks the saved plan), shows the plan, asks
/// the approval guard and the operator, and prepares the journal.
async fn plan_and_confirm(
    args: &ApplyArgs,
    conn: &target::Connection,
    desired: &mailscope_spec::DesiredState,
    saved: Option<&SavedPlan>,
) -> anyhow::Result<Run> {
    let live = target::read_live(conn, desired).await?;
    let plan = match saved {
        Some(saved) => {
            saved.plan_to_apply(desired, &live).map_err(|err| saved_refusal(err, &args.input))?.clone()
        }
        None => args.scope.limit(mailscope_planner::plan(desired, &live, &args.planning.options())?)?,
    };
    output::stdout(&render(&plan, Format::Text))?;
    if plan.is_empty() {
        return Ok(Run::Done(ExitCode::SUCCESS));
    }
    guard(&plan, args.allow_widening, args.allow_mass_change)?;
    if saved.is_none() && !args.auto_approve {
        confirm(&conn.label)?;
    }

    let cancel = CancelToken::new();
    let on_signal = cancel.clone();
    let signals = tokio::spawn(async move {
        wait_for_stop_signal().await;
        eprintln!("\nstopping: steps in flight finish, no new step starts");
        on_signal.cancel();
    });
    let journal = JournalWriter::open(&args.journal)
        .with_context(|| format!("cannot open the journal {}", args.journal.display()))?
        .with_header_field("tenant_id", serde_json::json!(conn.tenant_id));
    let progress = Progress::new(plan.steps.len());
    let options = ApplyOptions {
        concurrency: args.concurrency.max(1),
        journal: Some(journal),
        progress: Some(Box::new(progress)),
        cancel,
    };
    // The signal task ends with the process; a stop after the apply has
    // nothing left to cancel.
    drop(signals);
    Ok(Run::Apply(plan, options))
}

fn confirm(label: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "stdin is not a terminal, so the plan cannot be confirmed: pass --auto-approve to apply without asking"
        );
    }
    eprint!("\nApply these changes to {label}? Only 'yes' is accepted: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("apply cancelled: nothing was changed");
    }
    Ok(())
}

/// Resolves on SIGTERM (containers, schedulers) or Ctrl-C.
pub(crate) async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn finish(report: &ApplyReport, journal: &Path) -> ExitCode {
    let c = report.counts();
    if report.is_complete() {
        eprintln!(
            "\nApply complete: {} done, {} already so, in {:.2} s. Journal: {}",
            c.done,
            c.already_done,
            report.duration.as_secs_f64(),
            journal.display()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "\nApply stopped: {} done, {} already so, {} failed, {} not started.",
        c.done, c.already_done, c.failed, c.not_started
    );
    for s in &report.steps {
        let what = describe(&s.action);
        match &s.status {
            StepStatus::Failed { error, maybe_applied, .. } => eprintln!(
                "  failed       [{}] {}: {what}: {error}{}",
                s.index,
                s.app,
                if *maybe_applied { " (it may have taken effect)" } else { "" }
            ),
            StepStatus::NotStarted => eprintln!("  not started  [{}] {}: {what}", s.index, s.app),
            _ => {}
        }
    }
    eprintln!(
        "Nothing is lost: run the same command again; it re-reads the tenant and plans only what is missing. Journal: {}",
        journal.display()
    );
    ExitCode::from(1)
}

/// A bar on a terminal, a line per finished step otherwise (stderr).
struct Progress {
    total: usize,
    finished: Mutex<usize>,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Self { total, finished: Mutex::new(0), tty: std::io::stderr().is_terminal() }
    }
}

impl mailscope_applier::Progress for Progress {
    fn event(&self, event: &ProgressEvent<'_>) {
        let ProgressEvent::Finished { step, status, duration } = event else { return };
        let mut n = self.finished.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *n += 1;
        if self.tty {
            let width = 30;
            let filled = *n * width / self.total.max(1);
            eprint!("\r[{}{}] {}/{} ", "#".repeat(filled), ".".repeat(width - filled), n, self.total);
            if *n == self.total {
                eprintln!();
            }
        } else {
            eprintln!(
                "[{:>3}/{}] {:<12} {}: {} ({} ms)",
                n,
                self.total,
                status.outcome_word(),
                step.app,
                describe(&step.action),
                duration.as_millis()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use mailscope_planner::{AccessSummary, AppChange, AppPlan, Summary};

    use super::*;

    fn app(name: &str, change: AppChange) -> AppPlan {
        AppPlan {
            unlisted: false,
            name: name.to_owned(),
            app_id: format!("id-{name}"),
            change,
            before: AccessSummary::Only { allowed: 1 },
            after: AccessSummary::Only { allowed: 1 },
            gains: Vec::new(),
            becomes_unrestricted: false,
            line: None,
        }
    }

    fn plan(apps: Vec<AppPlan>) -> Plan {
        Plan { format_version: 1, steps: Vec::new(), apps, findings: Vec::new(), summary: Summary::default() }
    }

    #[test]
    fn the_widening_refusal_names_gains_and_the_flag() {
        let mut mailer = app("mailer", AppChange::Update);
        mailer.gains = vec!["a@contoso.com".into(), "b@contoso.com".into()];
        let mut open = app("open", AppChange::Remove);
        open.becomes_unrestricted = true;
        let err = guard(&plan(vec![mailer, open]), false, false).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "the plan widens access: mailer (+a@contoso.com, +b@contoso.com); open (every mailbox not denied); \
             review it and pass --allow-widening to apply it"
        );
    }

    #[test]
    fn the_mass_change_refusal_gives_the_counts_and_the_flag() {
        let p = plan(vec![
            app("a", AppChange::LockDown),
            app("b", AppChange::LockDown),
            app("c", AppChange::Remove),
            app("d", AppChange::Update),
        ]);
        let err = guard(&p, false, false).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "the plan locks down or removes 3 of 4 apps; if the desired file was emptied by mistake nothing is \
             lost yet. Pass --allow-mass-change if this is intended"
        );
        assert!(guard(&p, false, true).is_ok());
    }

    #[test]
    fn saved_plan_refusals_name_the_file_and_say_plan_again() {
        let path = Path::new("PLAN.json");
        let word = |e| format!("{:#}", saved_refusal(e, path));
        assert_eq!(
            word(SavedPlanError::UnsupportedVersion { found: 7 }),
            "PLAN.json: saved plan version 7 is not supported"
        );
        assert_eq!(
            word(SavedPlanError::OtherToolVersion { made_by: "0.0.1".into(), this: "0.0.2".into() }),
            "PLAN.json was made by mailscope 0.0.1, this is 0.0.2: plan again with this version"
        );
        assert_eq!(
            word(SavedPlanError::DesiredChanged),
            "PLAN.json changed since the plan was saved; plan again"
        );
        assert_eq!(
            word(SavedPlanError::Stale {
                changes: vec!["mailbox x@contoso.com appeared".into(), "b".into()]
            }),
            "the saved plan is stale: the tenant changed since it was made:\n  - mailbox x@contoso.com appeared\n  \
             - b\nplan again"
        );
        assert_eq!(
            word(SavedPlanError::OtherTenant { planned_for: "aaa".into(), this: "bbb".into() }),
            "PLAN.json was planned for tenant aaa, but this is tenant bbb: plan again against this tenant"
        );
        assert_eq!(word(SavedPlanError::Mismatch), "the saved plan no longer matches its inputs; plan again");
    }
}
