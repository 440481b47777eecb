//! The mailscope planner: desired state + live snapshot → [`Plan`].
//!
//! Pure and deterministic: no network, no files, no clock. The same inputs
//! give the same plan, byte for byte, which is what lets a saved plan be
//! compared with a fresh one and lets the renderers be snapshot-tested.
//!
//! The rules it enforces (see `docs/architecture.md`):
//! - **minimal**: a step only exists if its effect is not already true;
//!   addresses and names compare case-insensitively;
//! - **ownership**: only objects carrying the [`MARKER_PREFIX`] marker are
//!   changed or removed; everything else is reported as a [`Finding`];
//! - **safe order**: no intermediate state lets an app reach a mailbox it
//!   reaches neither before nor after, checked by replaying the plan;
//! - **visible widening**: every step is classified by its [`Effect`], and
//!   each app's gains are listed.
//!
//! It also holds the other safety rules, so that every command asks one
//! place and the binary keeps only arguments, I/O, printing and exit codes:
//! what a plan needs approved ([`check_approvals`]), when a saved plan may be
//! applied ([`SavedPlan`]), what to read from the tenant ([`reads_for`]), and
//! what `verify` expects Exchange to answer ([`expected_access`]).
//!
//! Every public item has one path: the crate root (renderers under
//! [`render`], the combined access decision under [`access`], call counts
//! and the lower bound under [`cost`]).

pub mod access;
mod audit;
mod build;
pub mod cost;
mod error;
mod expected;
pub mod export;
mod exposure;
mod guard;
mod live;
mod plan;
mod reads;
pub mod render;
mod saved;
mod world;

pub use audit::{
    AuditApp, AuditCheck, AuditOptions, AuditPermission, AuditReport, EWS_RETIREMENT, EWS_SWITCH_OFF,
    Exposure, POLICY_LIMIT, PermissionReach, PermissionSource, PolicyRoom, audit,
};
pub use build::{
    PlanOptions, RemovedApps, derived_group_name, marker, parse_marker, plan, prefixed_group_name,
    primary_addresses,
};
pub use error::{PlanError, PlanProblem, PlanProblems};
pub use expected::{CheckReason, ExpectedAccess, expected_access};
pub use exposure::{DriftExposure, drift_exposures};
pub use guard::{ApprovalFlags, GuardRefusal, MASS_CHANGE_MIN_APPS, WideningApp, check_approvals};
pub use live::*;
pub use plan::*;
pub use reads::{Reads, reads_for};
pub use saved::{
    SAVED_PLAN_VERSION, SavedPlan, SavedPlanError, fingerprint, live_changes, normalize, sha256_hex,
};
