//! Money and units parsing in core, through its public API only; checks it round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revcycle_core::codes::{Money, Units};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = Money::parse(s) {
        assert!(!m.is_negative());
        // What we print must parse back to the same amount.
        assert_eq!(Money::parse(&m.to_string()), Ok(m));
        assert_eq!(Money::signed_parse(s), Ok(m));
    }
    if let Ok(m) = Money::signed_parse(s) {
        assert_eq!(Money::signed_parse(&m.to_string()), Ok(m));
        let _ = m.checked_add(m);
        let _ = m.checked_sub(-m);
    }
    if let Ok(u) = Units::parse(s) {
        assert_eq!(Units::parse(&u.to_string()), Ok(u));
    }
    // The JSON path (a string value) goes through the same parsers.
    let json = serde_json::to_string(s).expect("a str serializes");
    let _ = serde_json::from_str::<Money>(&json);
    let _ = serde_json::from_str::<Units>(&json);
});
