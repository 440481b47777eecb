//! `mailscope validate FILE…`.
//!
//! Owns: the command's arguments; reading each file; printing one line per
//! valid file (stdout) and every problem of the others (stderr); the exit
//! code (0 all valid, 1 otherwise). The checks are `mailscope-spec`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::output;

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Desired-state files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub(crate) fn run(args: &ValidateArgs) -> ExitCode {
    let mut ok = true;
    for path in &args.files {
        match output::read_text(path).map(|text| mailscope_spec::parse(&text, &path.display().to_string())) {
            Ok(Ok(desired)) => {
                output::print_spec_warnings(&desired);
                println!(
                    "{}: valid ({} app{})",
                    path.display(),
                    desired.apps.len(),
                    if desired.apps.len() == 1 { "" } else { "s" }
                );
            }
            Ok(Err(err)) => {
                ok = false;
                eprintln!("{err}");
            }
            Err(err) => {
                ok = false;
                eprintln!("error: {err:#}");
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
