//! `mailscope`: keep Exchange Online mailbox access of Entra ID apps in git.
//!
//! This binary is the only place that knows about terminals, files, exit
//! codes and the process environment. Libraries return typed errors; here
//! they become messages and exit codes:
//! - 0: success (for `plan --detailed-exitcode`: no changes),
//! - 1: error, invalid input, refused operation,
//! - 2: `plan --detailed-exitcode` with changes; `verify`/`drift` mismatch.

mod output;
mod plan_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keep Exchange Online mailbox access of Entra ID applications in git.
#[derive(Debug, Parser)]
#[command(name = "mailscope", version, about, max_term_width = 100)]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate_cmd::run(&args),
        Command::Schema => output::stdout(&mailscope_spec::json_schema()).map(|()| ExitCode::SUCCESS),
        Command::Plan(args) => plan_cmd::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
