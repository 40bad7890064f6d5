//! 837P read back (round trips, and claims files handed to us for inspection).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = revcycle_x12::x837p::read_837p(data);
});
