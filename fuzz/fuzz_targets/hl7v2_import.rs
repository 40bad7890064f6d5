//! HL7 v2 import end to end: batch split, mapping to canonical records, ACKs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_connector_hl7v2::{Config, ImportInput, import};

fuzz_target!(|data: &[u8]| {
    let input = ImportInput {
        hl7: String::from_utf8_lossy(data).into_owned(),
        // Fixed, so a run is reproducible (the clock is not input).
        ack_timestamp: Some("20240301120000+0000".into()),
    };
    let _ = import(&Config::default(), &input);
});
