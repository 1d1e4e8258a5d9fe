//! Placeholder until the discovery layer lands its criterion bench.
fn main() {}
