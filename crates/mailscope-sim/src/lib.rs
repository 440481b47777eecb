//! mailscope-sim (work in progress).
