//! mailscope-applier (work in progress).
