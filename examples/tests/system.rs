//! The whole-system model of `fuzz/fuzz_targets/system_model.rs` under
//! proptest: arbitrary operations on 3-8 messengers (sends in any chat,
//! partitions, crashes and restores, clock jumps, garbage), invariants
//! after every step and exactly-once 1:1 delivery at the end. The same
//! model runs as the cargo-fuzz target `system_messengers`.

#[path = "../../fuzz/fuzz_targets/system_model.rs"]
mod system_model;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_operations_keep_the_systems_invariants(
        data in proptest::collection::vec(any::<u8>(), 0..96)
    ) {
        system_model::run(&data);
    }
}
