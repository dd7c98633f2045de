//! Benchmarks for the verification core (placeholder).

fn main() {}
