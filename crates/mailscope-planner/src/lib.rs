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

mod build;
mod error;
pub mod export;
pub mod live;
mod plan;
pub mod render;
mod saved;
mod world;

pub use build::{PlanOptions, RemovedApps, derived_group_name, marker, parse_marker, plan};
pub use error::{PlanError, PlanProblem};
pub use live::*;
pub use plan::*;
pub use saved::{SAVED_PLAN_VERSION, SavedPlan, fingerprint, live_changes, normalize, sha256_hex};
