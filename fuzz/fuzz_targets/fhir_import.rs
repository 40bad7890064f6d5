//! FHIR R4 import: Bundle/NDJSON detection from raw bytes, then mapping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_connector_fhir_r4::Options;
use revcycle_connector_fhir_r4::import::import;

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        source_system: "fuzz-ehr".into(),
        default_place_of_service: Some("11".into()),
    };
    let _ = import(data, &opts);
});
