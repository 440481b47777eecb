//! The mailscope planner (work in progress: only the live model so far).
pub mod live;
pub use live::*;
