//! 277 claim status responses (277CA acknowledgments come through the same parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = revcycle_x12::status::parse_277(data);
});
