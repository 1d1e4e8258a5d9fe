//! The whole-system model (`system_model.rs`) under libFuzzer: arbitrary
//! operations on 3-8 messengers, invariants checked after every step.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "system_model.rs"]
mod system_model;

fuzz_target!(|data: &[u8]| system_model::run(data));
