//! mailscope-exo (work in progress).
