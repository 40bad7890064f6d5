//! Request bodies with dates (and money) in core: JSON deserialization then validation, as the
//! API does. The first byte picks the body type; the rest is the JSON document.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use revcycle_core::model::claim::{ClaimInput, ClaimUpdate};
use revcycle_core::model::coverage::CoverageInput;
use revcycle_core::model::encounter::EncounterInput;
use revcycle_core::model::patient::PatientInput;
use revcycle_core::model::remittance::RemittanceInput;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, json)) = data.split_first() else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2024, 3, 20).expect("valid date");
    match kind % 6 {
        0 => {
            if let Ok(mut p) = serde_json::from_slice::<PatientInput>(json) {
                let _ = p.validate(today);
            }
        }
        1 => {
            if let Ok(mut c) = serde_json::from_slice::<CoverageInput>(json) {
                let _ = c.validate();
            }
        }
        2 => {
            if let Ok(e) = serde_json::from_slice::<EncounterInput>(json) {
                let _ = e.validate();
            }
        }
        3 => {
            if let Ok(c) = serde_json::from_slice::<ClaimUpdate>(json) {
                let _ = c.validate(today, today);
                let _ = c.validate(NaiveDate::MIN, NaiveDate::MAX);
            }
        }
        4 => {
            if let Ok(r) = serde_json::from_slice::<RemittanceInput>(json) {
                let _ = r.validate();
            }
        }
        _ => {
            if let Ok(c) = serde_json::from_slice::<ClaimInput>(json) {
                let _ = c.validate();
            }
        }
    }
});
