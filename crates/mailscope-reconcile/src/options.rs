//! The loop's knobs and the mass-change guard.

use std::path::PathBuf;
use std::time::Duration;

use mailscope_planner::{ApprovalFlags, GuardRefusal, Plan, PlanOptions, check_approvals};

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between the starts of two runs (a run longer than this is
    /// followed by the next one at once).
    pub interval: Duration,
    /// Stop after this many runs; `None` runs until cancelled.
    pub max_runs: Option<u64>,
    /// Correct drift; without it the loop only reports.
    pub correct: bool,
    /// Also correct apps whose correction widens access. Without it they
    /// are reported ([`crate::Event::CorrectionSkipped`]) and left alone:
    /// an unattended loop only ever narrows or keeps access.
    pub allow_widening: bool,
    /// Correct even a plan that trips [`mass_change`].
    pub allow_mass_change: bool,
    /// Planner options (fate of apps that left the file).
    pub planning: PlanOptions,
    /// Most calls in flight during a correction; 0 is treated as 1.
    pub concurrency: usize,
    /// Where corrections append their journal (opened at each correction).
    pub journal: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15 * 60),
            max_runs: None,
            correct: false,
            allow_widening: false,
            allow_mass_change: false,
            planning: PlanOptions::default(),
            concurrency: mailscope_applier::DEFAULT_CONCURRENCY,
            journal: None,
        }
    }
}

/// A plan that locks down or removes most apps: what an emptied or
/// truncated desired file produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the plan locks down or removes {leaving} of {total} apps; if the desired file was emptied by mistake \
     nothing is lost yet. Pass --allow-mass-change if this is intended"
)]
pub struct MassChange {
    /// Apps locked down or removed.
    pub leaving: usize,
    /// Apps in the plan.
    pub total: usize,
}

/// The mass-change rule, asked of the planner's guard (the rule exists
/// once: [`mailscope_planner::check_approvals`]); widening is judged apart,
/// app by app, by [`mailscope_planner::Plan::without_widening`].
pub fn mass_change(plan: &Plan) -> Option<MassChange> {
    let flags = ApprovalFlags { allow_widening: true, allow_mass_change: false };
    match check_approvals(plan, flags) {
        Err(GuardRefusal::MassChange { leaving, total }) => Some(MassChange { leaving, total }),
        Ok(()) | Err(GuardRefusal::Widening { .. }) => None,
    }
}
