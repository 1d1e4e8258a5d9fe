//! Placeholder until the keys layer lands its criterion bench.
fn main() {}
