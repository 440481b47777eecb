//! mailscope-reconcile: the `GitOps` drift loop as a library.
//!
//! On an interval, a [`Reconciler`] re-reads the desired file and the
//! tenant, plans, reports drift and, when asked, corrects it through the
//! applier. It is written against three seams so it can be driven and tested
//! without a process, a network or a clock of its own:
//!
//! - [`Source`]: reads the desired file (parsed and validated) and opens a
//!   per-run [`Session`] to the tenant, which reads the live state and
//!   carries corrections through the applier's
//!   [`Tenant`](mailscope_applier::Tenant).
//! - [`Observer`]: receives typed [`Event`]s (the `mailscope` CLI turns them
//!   into a JSON-lines event log and Prometheus metrics) and
//!   [`Notification`]s (the CLI posts them to a webhook).
//! - [`CancelToken`](mailscope_applier::CancelToken): the applier's own
//!   awaitable token, so one signal both stops a correction from starting
//!   new steps and ends a wait between runs at once.
//!
//! # Invariants
//!
//! - **A bad file never prunes.** An unreadable or invalid desired file, or
//!   one that lists no app, is reported ([`Event::DesiredRejected`]) and the
//!   last good one stays in force; before any good read the run is an error
//!   and touches nothing.
//! - **Unattended corrections do not widen.** Without
//!   [`Options::allow_widening`], apps whose correction would give access to a
//!   mailbox they cannot reach now are left out
//!   ([`Plan::without_widening`](mailscope_planner::Plan::without_widening))
//!   and reported; the run then ends as drift, not corrected.
//! - **Mass changes need consent.** A plan that locks down or removes most
//!   apps ([`mass_change`]) is refused unless
//!   [`Options::allow_mass_change`].
//! - **Each run starts from scratch.** Nothing is resumed or retried within
//!   a run: a failed read or correction is reported and the next run re-reads
//!   both sides and re-plans, which yields exactly what is still missing.
//! - **Quiet when steady.** A drift or failure is notified once while it
//!   stays the same; a run in sync clears that memory.
//! - **Prompt stop.** Cancellation ends a wait between runs at once; a
//!   correction in flight lets its calls finish and starts no new step.
//!
//! ```no_run
//! # async fn demo(source: impl mailscope_reconcile::Source, observer: impl mailscope_reconcile::Observer) {
//! use mailscope_applier::CancelToken;
//! use mailscope_reconcile::{Options, Reconciler};
//! let cancel = CancelToken::new();
//! let options = Options { correct: true, ..Options::default() };
//! let finished = Reconciler::new(source, observer, options, cancel.clone()).run().await;
//! println!("{} runs", finished.runs);
//! # }
//! ```

mod observer;
mod options;
mod reconciler;
mod source;

pub use observer::{Event, Notification, NotifyError, Observer, Outcome, Stage, drifted_app_count};
pub use options::{MassChange, Options, mass_change};
pub use reconciler::{Finished, Reconciler};
pub use source::{Desired, Session, Source, SourceError};
