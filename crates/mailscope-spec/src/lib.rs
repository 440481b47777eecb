//! mailscope-spec (work in progress).
