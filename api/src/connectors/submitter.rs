//! Who the files we send to payers say they come from. A payer connector's `config` must name
//! the submitter and its contact (837P loop 1000A `NM1*41`, `PER*IC`) and say whether the files
//! are production or test files (ISA15): the server does not start without them, naming the
//! missing key, so no file ever goes out with a placeholder contact or a silent test flag.

use serde_json::Value;

/// The keys a payer connector's `config` must give, with what each one is in the files.
pub const REQUIRED: &[(&str, &str)] = &[
    ("submitter_name", "the submitter's name, 837P 1000A NM103"),
    (
        "contact_name",
        "the submitter's contact person, 837P 1000A PER02",
    ),
    (
        "contact_phone",
        "the submitter's telephone, 837P 1000A PER04",
    ),
    (
        "production",
        "ISA15: true sends production files (P), false test files (T)",
    ),
];

/// Checks a payer connector's `config` (as given in `connectors.toml`); the error names the
/// first missing or mistyped key and never quotes a value.
pub fn check(config: &Value) -> Result<(), String> {
    for (key, what) in REQUIRED {
        let given = config.get(key);
        let ok = if *key == "production" {
            matches!(given, Some(Value::Bool(_)))
        } else {
            matches!(given, Some(Value::String(s)) if !s.trim().is_empty())
        };
        if !ok {
            let kind = if *key == "production" {
                "true or false"
            } else {
                "a non-empty string"
            };
            return Err(format!(
                "config.{key} is required for a payer connector ({kind}; {what})"
            ));
        }
    }
    let digits = config["contact_phone"]
        .as_str()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if !(10..=20).contains(&digits) {
        return Err(
            "config.contact_phone must be a telephone number of 10 to 20 digits (837P 1000A \
             PER04)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn complete() -> Value {
        json!({"submitter_name": "Springfield Billing", "contact_name": "Dana Reyes",
               "contact_phone": "217-555-0142", "production": false, "outbox": "x12/outbox"})
    }

    #[test]
    fn each_missing_key_is_named() {
        assert_eq!(check(&complete()), Ok(()));
        for (key, _) in REQUIRED {
            let mut c = complete();
            c.as_object_mut().unwrap().remove(*key);
            let e = check(&c).unwrap_err();
            assert!(e.starts_with(&format!("config.{key} is required")), "{e}");
        }
        assert!(
            check(&Value::Null)
                .unwrap_err()
                .starts_with("config.submitter_name is required")
        );
    }

    #[test]
    fn mistyped_values_are_refused_without_quoting_them() {
        let mut c = complete();
        c["production"] = json!("P");
        let e = check(&c).unwrap_err();
        assert!(e.starts_with("config.production is required"), "{e}");
        assert!(!e.contains("\"P\""), "{e}");
        let mut c = complete();
        c["contact_phone"] = json!("call-me");
        let e = check(&c).unwrap_err();
        assert!(e.starts_with("config.contact_phone must be"), "{e}");
        assert!(!e.contains("call-me"), "{e}");
        let mut c = complete();
        c["submitter_name"] = json!(" ");
        assert!(
            check(&c)
                .unwrap_err()
                .starts_with("config.submitter_name is required")
        );
    }
}
