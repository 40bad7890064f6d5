//! The streaming X12 reader: envelopes, delimiters, release character, element accessors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_x12::X12Reader;

fn walk(mut r: X12Reader<&[u8]>) {
    // Stop at the first error, as every caller does; touch every accessor of every segment.
    while let Ok(Some(seg)) = r.next_segment() {
        let _ = seg.id();
        for i in 0..=seg.len() + 1 {
            let e = seg.element(i);
            let _ = e.text();
            let _ = e.component(0);
            let _ = e.component(3);
            for rep in e.repetitions() {
                for c in rep.components() {
                    std::hint::black_box(c);
                }
            }
        }
        let _ = seg.to_owned_segment();
    }
}

fuzz_target!(|data: &[u8]| {
    walk(X12Reader::new(data));
    // The release character the tests and some partners use.
    walk(X12Reader::with_release(data, b'?'));
    let _ = revcycle_x12::read_all(data);
});
