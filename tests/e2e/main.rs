//! End-to-end tests: the real `mailscope` binary, run as a user would.
//!
//! One test binary with modules (as ripgrep does) so the link step runs once.

mod audit;
mod campaign;
mod conventions;
mod corpus;
mod credentials;
mod demo;
mod drift_severity;
mod flow;
mod gitops;
mod harness;
mod hygiene;
mod lease;
mod lockdown;
mod offline;
mod rbac;
mod reliability;
mod roles;
mod shipped;
mod tenant;
