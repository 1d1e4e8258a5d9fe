//! Placeholder until the mvds layer lands its criterion bench.
fn main() {}
