//! What a run did, step by step, and how to tell the user.

use std::fmt;
use std::time::Duration;

use mailscope_planner::{Action, Step};
use serde::Serialize;

use crate::tenant::TenantErrorKind;

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepStatus {
    /// The step changed the tenant.
    Done,
    /// The tenant already was that way; the step's effect holds.
    AlreadyDone,
    /// The step failed; its effect may or may not hold (see `maybe_applied`).
    Failed {
        /// Classification.
        kind: TenantErrorKind,
        /// The scrubbed error text.
        error: String,
        /// Whether the failed call may have taken effect.
        maybe_applied: bool,
    },
    /// Never started: the run stopped (failure, cancellation or journal
    /// error) before its turn.
    NotStarted,
}

impl StepStatus {
    /// Whether the step's effect is known to hold.
    pub fn succeeded(&self) -> bool {
        matches!(self, StepStatus::Done | StepStatus::AlreadyDone)
    }

    /// The journal's `outcome` word for a finished or skipped step.
    pub fn outcome_word(&self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::AlreadyDone => "already_done",
            StepStatus::Failed { .. } => "failed",
            StepStatus::NotStarted => "skipped",
        }
    }
}

/// One step and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// The plan's step index.
    pub index: usize,
    /// App name.
    pub app: String,
    /// App client id.
    pub app_id: String,
    /// The step's wave.
    pub wave: u32,
    /// The change.
    pub action: Action,
    /// How it ended.
    #[serde(flatten)]
    pub status: StepStatus,
    /// Wall time of the call; `None` when it never started.
    #[serde(skip_serializing_if = "Option::is_none", rename = "duration_ms", serialize_with = "ser_ms")]
    pub duration: Option<Duration>,
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option<_>`
fn ser_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u128(d.as_millis()),
        None => s.serialize_none(),
    }
}

/// Steps per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Changed the tenant.
    pub done: usize,
    /// Already held.
    pub already_done: usize,
    /// Failed.
    pub failed: usize,
    /// Never started.
    pub not_started: usize,
}

/// Why a run ended before its last step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// A step failed (the first one, by completion time).
    StepFailed {
        /// Its index.
        step: usize,
    },
    /// The caller cancelled (e.g. SIGTERM).
    Cancelled,
    /// A journal line could not be written; no step starts unrecorded.
    Journal {
        /// The I/O error.
        error: String,
    },
}

/// The result of [`crate::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// The run's id (also on every journal line).
    pub run_id: String,
    /// Every step of the plan, in plan order.
    pub steps: Vec<StepResult>,
    /// Why the run stopped early, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
    /// A journal write that failed (after which the run stopped). The footer
    /// may be missing from the file in that case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_error: Option<String>,
    /// Wall time of the run.
    #[serde(rename = "duration_ms", serialize_with = "ser_ms_plain")]
    pub duration: Duration,
}

fn ser_ms_plain<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

impl ApplyReport {
    pub(crate) fn new(run_id: String, steps: &[Step]) -> Self {
        Self {
            run_id,
            steps: steps
                .iter()
                .map(|s| StepResult {
                    index: s.index,
                    app: s.app.clone(),
                    app_id: s.app_id.clone(),
                    wave: s.wave,
                    action: s.action.clone(),
                    status: StepStatus::NotStarted,
                    duration: None,
                })
                .collect(),
            stopped: None,
            journal_error: None,
            duration: Duration::ZERO,
        }
    }

    /// Steps per status.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.steps {
            match s.status {
                StepStatus::Done => c.done += 1,
                StepStatus::AlreadyDone => c.already_done += 1,
                StepStatus::Failed { .. } => c.failed += 1,
                StepStatus::NotStarted => c.not_started += 1,
            }
        }
        c
    }

    /// Whether every step's effect holds (the tenant matches the plan's
    /// target, as far as this run knows).
    pub fn is_complete(&self) -> bool {
        self.steps.iter().all(|s| s.status.succeeded())
    }

    /// Whether the run was cancelled.
    pub fn was_cancelled(&self) -> bool {
        matches!(self.stopped, Some(StopReason::Cancelled))
    }

    /// The failed steps.
    pub fn failures(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| matches!(s.status, StepStatus::Failed { .. }))
    }

    /// Indices of the steps that never started.
    pub fn not_started(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.status == StepStatus::NotStarted)
    }
}

/// One line describing an action, for reports and progress lines.
pub fn describe(action: &Action) -> String {
    match action {
        Action::CreateGroup { group, alias, .. } => format!("create group \"{group}\" (alias {alias})"),
        Action::MarkGroup { group, .. } => format!("mark group \"{group}\" as managed"),
        Action::AddMember { group, member } => format!("add {member} to \"{group}\""),
        Action::RemoveMember { group, member } => format!("remove {member} from \"{group}\""),
        Action::ReplaceMembers { group, added, removed, .. } => {
            format!("replace the members of \"{group}\" ({} joining, {} leaving)", added.len(), removed.len())
        }
        Action::CreatePolicy { group, access_right, .. } => {
            format!("create {access_right:?} policy on \"{group}\"")
        }
        Action::SetPolicyDescription { group, .. } => {
            format!("set the description (marker and app description) of the policy on \"{group}\"")
        }
        Action::RemovePolicy { scope, access_right, .. } => {
            format!("remove {access_right:?} policy on \"{scope}\"")
        }
        Action::RemoveGroup { group } => format!("remove group \"{group}\""),
        Action::CreateServicePrincipal { app_id, .. } => {
            format!("create the Exchange service principal of {app_id}")
        }
        Action::RemoveServicePrincipal { app_id } => {
            format!("remove the Exchange service principal of {app_id}")
        }
        Action::CreateManagementScope { name, .. } => format!("create management scope \"{name}\""),
        Action::SetManagementScope { name, .. } => {
            format!("update the filter of management scope \"{name}\"")
        }
        Action::RemoveManagementScope { name, .. } => format!("remove management scope \"{name}\""),
        Action::CreateRoleAssignment { permission, scope, .. } => {
            format!("assign \"Application {permission}\" scoped to \"{scope}\"")
        }
        Action::RemoveRoleAssignment { name, permission, .. } => {
            format!("remove the \"Application {permission}\" assignment \"{name}\"")
        }
        Action::RemoveEntraGrant { permission, resource_app_id, .. } => {
            format!("remove the Entra grant of {permission} (resource {resource_app_id})")
        }
    }
}

/// Lists what was done and what was not: a summary line, then the failed
/// steps with their errors, the done ones and the ones never started. For a
/// complete run only the summary line.
impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.counts();
        if self.is_complete() {
            return write!(
                f,
                "Apply complete: {} step{} done, {} already in place.",
                c.done,
                if c.done == 1 { "" } else { "s" },
                c.already_done
            );
        }
        let why = match &self.stopped {
            Some(StopReason::Cancelled) => "cancelled".to_owned(),
            Some(StopReason::Journal { error }) => {
                format!("stopped: the journal cannot be written ({error})")
            }
            Some(StopReason::StepFailed { step }) => format!("stopped at step {step}"),
            None => "incomplete".to_owned(),
        };
        writeln!(
            f,
            "Apply {why}: {} done, {} already in place, {} failed, {} not started.",
            c.done, c.already_done, c.failed, c.not_started
        )?;
        let line = |f: &mut fmt::Formatter<'_>, s: &StepResult| {
            writeln!(f, "  #{:<3} {}: {}", s.index, s.app, describe(&s.action))
        };
        if c.failed > 0 {
            writeln!(f, "Failed:")?;
            for s in self.failures() {
                line(f, s)?;
                if let StepStatus::Failed { error, maybe_applied, .. } = &s.status {
                    let note = if *maybe_applied { " (may have taken effect)" } else { "" };
                    writeln!(f, "        error: {error}{note}")?;
                }
            }
        }
        let done: Vec<_> = self.steps.iter().filter(|s| s.status.succeeded()).collect();
        if !done.is_empty() {
            writeln!(f, "Done:")?;
            for s in done {
                line(f, s)?;
            }
        }
        if c.not_started > 0 {
            writeln!(f, "Not started:")?;
            for s in self.not_started() {
                line(f, s)?;
            }
        }
        write!(f, "Running apply again re-reads the tenant and plans only what is still missing.")
    }
}
