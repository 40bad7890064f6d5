//! 999/TA1 from partners, and the 999/TA1 we generate for whatever a partner sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_x12::ack::{acknowledge, parse_acks, ta1_for};

fuzz_target!(|data: &[u8]| {
    let _ = parse_acks(data);
    let _ = acknowledge(data);
    let _ = ta1_for(data);
});
