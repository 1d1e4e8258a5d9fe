//! Placeholder until the sim layer lands its criterion bench.
fn main() {}
