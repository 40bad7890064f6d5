//! HL7 v2 syntax: separators from MSH, segments, fields, escapes, and encoding back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_connector_hl7v2::parse::{Separators, parse_message};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(msg) = parse_message(&text) else {
        // Escapes still get decoded with the default separators elsewhere.
        let seps = Separators::default();
        let _ = seps.encode(&seps.decode(&text));
        return;
    };
    for seg in &msg.segments {
        for n in 0..seg.fields.len() + 1 {
            let _ = seg.presence(n);
            for rep in seg.repetitions(n) {
                for c in 1..4 {
                    for s in 1..3 {
                        if let Some(t) = msg.rep_text(rep, c, s) {
                            let _ = msg.separators.encode(&t);
                        }
                    }
                }
            }
        }
    }
});
