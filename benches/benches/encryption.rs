//! Placeholder until the encryption layer lands its criterion bench.
fn main() {}
