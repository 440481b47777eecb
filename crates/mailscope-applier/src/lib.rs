//! mailscope-applier: executes a [`Plan`](mailscope_planner::Plan) against a
//! tenant, in the planner's safe order, with a journal.
//!
//! - [`Tenant`] is the seam: one async method per
//!   [`Action`](mailscope_planner::Action) kind, answering
//!   [`StepOutcome::Done`] or [`StepOutcome::AlreadyDone`] (a harmless
//!   repeat) or a [`TenantError`]. [`ExoTenant`] implements it on
//!   [`mailscope_exo::ExoClient`]; its module documents which repeats count
//!   as already done.
//! - [`apply`] schedules the steps and returns an [`ApplyReport`]; it never
//!   fails as a function, everything is in the report.
//! - [`JournalWriter`] appends one JSON object per event (format in the
//!   [`journal`] module docs).
//!
//! # Invariants
//!
//! - **Safe order.** Steps of one app run wave by wave: no step of wave *w*
//!   starts before every step of that app's lower waves has finished. Steps
//!   of one wave of one app, and steps of different apps, may run
//!   concurrently; the planner guarantees that any interleaving of them keeps
//!   every intermediate state within "before ∪ after" for every app.
//! - **Bounded concurrency.** At most `concurrency` steps are in flight, and
//!   no more than the tenant's adaptive limit
//!   ([`Tenant::concurrency_limit`]) allows at the moment a step starts.
//!   They run as futures polled by the one applying task (no spawning), so
//!   the tenant can be borrowed and nothing outlives [`apply`].
//! - **Determinism.** Among the steps allowed to start, the lowest plan index
//!   starts first; with concurrency 1 execution order is plan order.
//! - **Stop on failure.** After the first failed step, no new step starts;
//!   steps already in flight finish and are recorded (done, already done or
//!   failed); every other step is reported and journaled as not started
//!   (`skipped`). Cancellation ([`CancelToken`], e.g. on SIGTERM) and a
//!   journal write error stop the run the same way. The token is also
//!   awaitable ([`CancelToken::cancelled`]): it is the one cancellation type
//!   of mailscope, so the signal that stops a correction also ends the
//!   reconcile loop's wait between runs (`mailscope-reconcile`).
//! - **Harmless repeats count as done.** "Already a member", "not a member",
//!   "already gone", and a create whose object already exists with
//!   mailscope's exact marker are [`StepStatus::AlreadyDone`]. Anything that
//!   exists with another owner is a failure, never adopted.
//! - **Convergence.** The applier never retries a failed step and never
//!   resumes a plan: running again re-reads the live state and re-plans,
//!   which yields exactly the missing steps (none once converged).
//! - **Journal.** Every step that starts is journaled as `started` before its
//!   call is sent, and again with its outcome when it ends; a header and a
//!   footer frame the run. Each line is one append-mode `write` with no
//!   user-space buffering, so a crash leaves every completed line readable.
//!   Lines hold names, addresses, ids and scrubbed error texts, never a
//!   credential.
//!
//! ```no_run
//! # async fn demo(plan: mailscope_planner::Plan, client: mailscope_exo::ExoClient) -> std::io::Result<()> {
//! use mailscope_applier::{ApplyOptions, CancelToken, ExoTenant, JournalWriter, apply};
//! let cancel = CancelToken::new();
//! let options = ApplyOptions {
//!     concurrency: 4,
//!     journal: Some(JournalWriter::open(".mailscope/journal.jsonl")?),
//!     progress: None,
//!     cancel: cancel.clone(),
//! };
//! let report = apply(&plan, &ExoTenant::new(client), options).await;
//! if !report.is_complete() {
//!     eprintln!("{report}");
//! }
//! # Ok(()) }
//! ```

mod apply;
mod exo_tenant;
pub mod journal;
mod lease;
mod report;
mod tenant;

pub use apply::{ApplyOptions, CancelToken, DEFAULT_CONCURRENCY, Progress, ProgressEvent, apply};
pub use exo_tenant::ExoTenant;
pub use journal::JournalWriter;
pub use lease::{
    DEFAULT_LEASE_TTL, Holder, LEASE_GROUP, Lease, LeaseError, LeaseKeeper, LeaseObject, LeaseOptions,
    LeaseRecord, LeaseStore, StoreError, acquire, hold_while, process_alive,
};
pub use report::{ApplyReport, Counts, StepResult, StepStatus, StopReason, describe};
pub use tenant::{StepOutcome, Tenant, TenantError, TenantErrorKind};
