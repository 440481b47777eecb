//! Why a plan could not be made: the user's to fix, or mailscope's.
//!
//! The two are kept apart because they call for different readers: a
//! problem in the desired file (or its fit with the tenant) is reported with
//! where it is and what to do; an internal inconsistency means the planner
//! caught itself about to hand out a plan it cannot prove safe, which is a
//! bug to report, not something an edit of the file will fix.

use std::fmt;

use mailscope_spec::Position;

/// One reason the desired state cannot be planned against this tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// Where in the desired file (line 0 when not tied to a place).
    pub at: Position,
    /// The app concerned.
    pub app: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// The desired state cannot be planned against this tenant; every problem
/// found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanProblems {
    /// The desired file's name.
    pub origin: String,
    /// At least one problem.
    pub problems: Vec<PlanProblem>,
}

impl fmt::Display for PlanProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.at.line == 0 || self.origin.is_empty() {
                write!(f, "{}", p.message)?;
            } else {
                write!(f, "{}:{}: {}", self.origin, p.at, p.message)?;
            }
        }
        Ok(())
    }
}

/// The plan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A problem with the inputs: fix the desired file or the tenant.
    #[error(transparent)]
    Input(#[from] PlanProblems),
    /// The planner broke one of its own rules (for example its safe-order
    /// check failed on a plan it made): a bug in mailscope. No plan is
    /// handed out.
    #[error("internal planner error: {0}")]
    Internal(String),
}

impl PlanError {
    /// The desired file `origin` has these problems.
    pub(crate) fn input(origin: String, problems: Vec<PlanProblem>) -> PlanError {
        PlanError::Input(PlanProblems { origin, problems })
    }

    /// An internal inconsistency (see [`PlanError::Internal`]).
    pub(crate) fn bug(message: &str) -> PlanError {
        PlanError::Internal(message.to_owned())
    }

    /// Whether this is a bug in mailscope rather than a problem with the
    /// inputs.
    pub fn is_internal(&self) -> bool {
        matches!(self, PlanError::Internal(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: u64, message: &str) -> PlanProblem {
        PlanProblem {
            at: Position { line, ..Position::default() },
            app: "mailer".into(),
            message: message.into(),
        }
    }

    #[test]
    fn input_problems_are_listed_one_a_line_with_their_place() {
        let e = PlanError::input("t.yaml".into(), vec![problem(3, "first"), problem(0, "second")]);
        assert!(!e.is_internal());
        let at = Position { line: 3, ..Position::default() };
        assert_eq!(e.to_string(), format!("t.yaml:{at}: first\nsecond"));
    }

    #[test]
    fn an_internal_error_says_so_and_is_not_an_input_problem() {
        let e = PlanError::bug("step 3 widens");
        assert!(e.is_internal());
        assert_eq!(e.to_string(), "internal planner error: step 3 widens");
    }
}
