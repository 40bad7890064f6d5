//! 271 eligibility responses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = revcycle_x12::eligibility::parse_271(data);
});
