//! Errors of the desired-state parser.

use std::fmt;

use crate::model::Position;

/// One thing wrong with a desired-state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where; `line` 0 when the parser could not tell.
    pub at: Position,
    /// What is wrong, lower-case, no trailing period.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

/// A desired-state file that cannot be used, with every problem found.
///
/// Syntax errors stop the parser at the first one; semantic checks run over
/// the whole file so that one run shows everything to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The file's name as given to [`crate::parse`].
    pub origin: String,
    /// At least one problem, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.at.line == 0 {
                write!(f, "{}: {}", self.origin, p.message)?;
            } else {
                write!(f, "{}:{}: {}", self.origin, p.at, p.message)?;
            }
            if let Some(help) = &p.help {
                write!(f, "\n  help: {help}")?;
            }
        }
        Ok(())
    }
}
