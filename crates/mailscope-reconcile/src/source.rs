//! Where a run's inputs come from: the desired file and the tenant.

use std::future::Future;

use mailscope_applier::Tenant;
use mailscope_planner::LiveSnapshot;
use mailscope_spec::DesiredState;

/// A desired file that parsed and validated.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The parsed state.
    pub state: DesiredState,
    /// SHA-256 of the file's bytes (hex): tells a changed file from a re-read
    /// of the same one, and names the version kept after a bad edit.
    pub sha256: String,
    /// The file's name, for messages.
    pub origin: String,
}

/// A read that failed (an unreadable or invalid file, an unreachable or
/// refusing tenant). The message is shown, logged and may be posted to a
/// webhook, so implementations must keep credentials out of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    message: String,
}

impl SourceError {
    /// An error with this message (usually the whole cause chain).
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// The inputs of every run. Both reads are repeated each run: the file may be
/// edited (a merged pull request) and the tenant may be changed by hand,
/// which is the drift the loop exists to find.
///
/// The futures need not be `Send`: the loop runs on its caller's task, one
/// step at a time, so a source may keep non-thread-safe state (as the tests'
/// scripted source does).
pub trait Source {
    /// One run's connection to the tenant.
    type Session: Session;

    /// Reads and parses the desired file. An error (or a file listing no
    /// app) keeps the last good file in force.
    fn read_desired(&mut self) -> impl Future<Output = Result<Desired, SourceError>>;

    /// Connects to the tenant the desired state names (or the one the
    /// source was configured with).
    fn connect(&mut self, desired: &DesiredState)
    -> impl Future<Output = Result<Self::Session, SourceError>>;
}

/// One run's connection: reads the live state and carries corrections.
/// Closed at the end of the run, so a long-lived loop holds nothing open
/// between runs.
pub trait Session {
    /// What corrections are applied through.
    type Tenant: Tenant;

    /// The tenant's name in events and notifications (never a secret).
    fn label(&self) -> &str;

    /// Reads the live state the planner needs for `desired`.
    fn read_live(
        &mut self,
        desired: &DesiredState,
    ) -> impl Future<Output = Result<LiveSnapshot, SourceError>>;

    /// The tenant corrections go through.
    fn tenant(&self) -> &Self::Tenant;

    /// Ends the connection.
    fn close(self) -> impl Future<Output = ()>;
}
