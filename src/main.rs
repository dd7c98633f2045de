//! notaryd daemon entry point (placeholder until the service layer lands).

fn main() {}
