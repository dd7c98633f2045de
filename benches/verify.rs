//! Verification benchmarks.

fn main() {}
