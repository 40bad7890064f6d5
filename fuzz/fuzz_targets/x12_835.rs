//! 835 remittances: the collecting parser and the streaming reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_x12::x835::{Reader835, parse_835_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = parse_835_bytes(data);
    let mut r = Reader835::new(data);
    while let Ok(Some(ev)) = r.next() {
        std::hint::black_box(ev);
    }
});
