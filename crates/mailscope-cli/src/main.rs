//! `mailscope`: keep Exchange Online mailbox access of Entra ID apps in git.
//!
//! This binary is the only place that knows about terminals, files, exit
//! codes and the process environment; the rules (what a plan is, what needs
//! approval, when a saved plan may be applied, what to read, what `verify`
//! expects) live in the libraries, chiefly `mailscope-planner`. Each
//! `*_cmd` module owns one command's arguments, I/O, printing and exit code.
//!
//! Owns: the command line, the runtime, and turning an error into one
//! message (its context chain, printed once) and an exit code; an internal
//! error of a library is reported as a bug. Libraries return typed errors;
//! here they become messages and exit codes:
//! - 0: success (for `plan --detailed-exitcode`: no changes),
//! - 1: error, invalid input, refused operation, and usage errors (an
//!   unknown flag, a missing argument: clap's own 2 is taken by the next
//!   line, so [`parse_args`] maps it to 1),
//! - 2: `plan --detailed-exitcode` with changes; `verify`/`drift` mismatch.

mod app_scope;
mod apply_cmd;
mod audit_cmd;
mod ci_env;
mod completions_cmd;
mod demo_seed;
mod drift_cmd;
mod explain_cmd;
mod export_cmd;
mod inputs;
mod metrics;
mod notify;
mod output;
mod plan_cmd;
mod reconcile_cmd;
mod show_cmd;
mod sim_cmd;
mod target;
mod tenant_names;
mod validate_cmd;
mod verify_cmd;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Logs go to stderr, filtered by `MAILSCOPE_LOG` (e.g. `mailscope_exo=debug`);
/// warnings only by default (a failed call is reported by the command itself,
/// so the client's per-call failure line is hidden). No secret is ever a log
/// field (see docs/auth.md). Colour codes only when stderr is a terminal and
/// colour is allowed, so log files and CI logs stay plain text.
fn init_tracing() {
    let filter = EnvFilter::try_from_env("MAILSCOPE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,mailscope_exo::session=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(output::log_color())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Keep Exchange Online mailbox access of Entra ID applications in git.
#[derive(Debug, Parser)]
#[command(name = "mailscope", version, max_term_width = 100)]
struct Cli {
    /// No colour in the output or the logs (as `NO_COLOR=1`).
    #[arg(long, global = true)]
    no_color: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check desired-state files; exit 0 when all are valid, 1 otherwise.
    Validate(validate_cmd::ValidateArgs),
    /// Print the JSON Schema of the desired-state file.
    Schema,
    /// Show what it takes to bring the tenant to the desired state.
    Plan(plan_cmd::PlanArgs),
    /// Apply a desired-state file (after confirmation) or a saved plan.
    Apply(apply_cmd::ApplyArgs),
    /// Check, mailbox by mailbox, that Exchange decides as the file says
    /// (exit 0 all as desired, 2 mismatch).
    Verify(verify_cmd::VerifyArgs),
    /// Read-only drift check of the tenant against a file (exit 0 in sync,
    /// 2 drift, 1 error); text, JSON, markdown or SARIF.
    Drift(drift_cmd::DriftArgs),
    /// A long-running loop that detects drift every interval and, with
    /// `--correct`, corrects it (metrics, event log, webhook).
    Reconcile(reconcile_cmd::ReconcileArgs),
    /// Every app that can reach mailboxes and how far (exit 0 none
    /// unrestricted, 2 one is, 1 error); text, JSON or markdown.
    Audit(audit_cmd::AuditArgs),
    /// Whether an app reaches a mailbox and why: grant, policy or role
    /// assignment, group membership (exit 0 no, 2 yes, 1 error).
    Explain(explain_cmd::ExplainArgs),
    /// Write a desired-state file from the tenant's existing policies.
    Export(export_cmd::ExportArgs),
    /// The embedded tenant emulator.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Render a plan saved by `plan --out` (text, markdown or JSON).
    Show(show_cmd::ShowArgs),
    /// Print the completion script for a shell.
    Completions(completions_cmd::CompletionsArgs),
    /// Print the man page (or write one per command with `--out-dir`).
    Man(completions_cmd::ManArgs),
}

/// Parses the command line. `--help` and `--version` print and exit 0; a
/// usage error prints clap's message and exits 1, because 2 means "changes"
/// or "drift" to scripts (`plan --detailed-exitcode`, `drift`).
fn parse_args() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|err| {
        let _ = err.print();
        if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS }
    })
}

fn main() -> ExitCode {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if cli.no_color {
        output::disable_color();
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Validate(args) => Ok(validate_cmd::run(&args)),
            Command::Schema => output::stdout(&mailscope_spec::json_schema()).map(|()| ExitCode::SUCCESS),
            Command::Plan(args) => plan_cmd::run(&args).await,
            Command::Apply(args) => apply_cmd::run(&args).await,
            Command::Verify(args) => verify_cmd::run(&args).await,
            Command::Audit(args) => audit_cmd::run(&args).await,
            Command::Explain(args) => explain_cmd::run(&args).await,
            Command::Export(args) => export_cmd::run(&args).await,
            Command::Drift(args) => drift_cmd::run(&args).await,
            Command::Reconcile(args) => reconcile_cmd::run(&args).await,
            Command::Sim(cmd) => sim_cmd::run(cmd).await,
            Command::Show(args) => show_cmd::run(&args),
            Command::Completions(args) => completions_cmd::completions(&args, Cli::command()),
            Command::Man(args) => completions_cmd::man(&args, Cli::command()),
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // The chain is printed once, outermost context first; the
            // libraries' errors carry no copy of their sources' text.
            eprintln!("error: {err:#}");
            if is_internal(&err) {
                eprintln!(
                    "This is a bug in mailscope, not a problem with your files or tenant; nothing was changed. \
                     Please report it with the command you ran and the output of `mailscope --version`."
                );
            }
            ExitCode::from(1)
        }
    }
}

/// Whether the error is a library catching itself in an inconsistency (a
/// bug to report) rather than a problem with the user's inputs or tenant.
fn is_internal(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<mailscope_planner::PlanError>()
            .is_some_and(mailscope_planner::PlanError::is_internal)
    })
}

#[cfg(test)]
mod tests {
    use anyhow::Context;
    use mailscope_planner::{PlanError, PlanProblems};

    use super::is_internal;

    #[test]
    fn an_internal_planner_error_is_a_bug_even_under_context() {
        let bug: anyhow::Result<()> = Err(PlanError::Internal("step 3 widens".into()).into());
        assert!(is_internal(&bug.context("--base").unwrap_err()));
        let input = PlanError::Input(PlanProblems { origin: "t.yaml".into(), problems: Vec::new() });
        assert!(!is_internal(&anyhow::Error::new(input)));
        assert!(!is_internal(&anyhow::anyhow!("internal planner error: not typed")));
    }
}
