//! The `notaryd` command.

fn main() {}
