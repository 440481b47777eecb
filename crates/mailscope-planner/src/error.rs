//! Why a plan could not be made.

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

/// The plan was refused; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The desired file's name.
    pub origin: String,
    /// At least one problem.
    pub problems: Vec<PlanProblem>,
}

impl PlanError {
    /// An internal inconsistency: the planner refuses to hand out a plan it
    /// cannot prove safe.
    pub(crate) fn bug(message: &str) -> PlanError {
        PlanError {
            origin: String::new(),
            problems: vec![PlanProblem {
                at: Position::default(),
                app: String::new(),
                message: format!("internal error, please report it: {message}"),
            }],
        }
    }
}

impl fmt::Display for PlanError {
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
