//! Placeholder until the waku layer lands its criterion bench.
fn main() {}
