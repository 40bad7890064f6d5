use super::*;

#[test]
fn value_helpers() {
    assert_eq!(iso_date("19800229").as_deref(), Some("1980-02-29"));
    assert_eq!(iso_date("202403011230-0500").as_deref(), Some("2024-03-01"));
    assert_eq!(iso_date("20230229"), None);
    assert_eq!(iso_date("1980"), None);
    assert_eq!(iso_date("2024ab01"), None);
    assert_eq!(decimal("0125.5").as_deref(), Some("125.5"));
    assert_eq!(decimal("+2").as_deref(), Some("2"));
    assert_eq!(decimal("-.5").as_deref(), Some("-0.5"));
    assert_eq!(decimal("1e3"), None);
    assert_eq!(decimal("."), None);
    assert_eq!(money("125".into()), "125.00");
    assert_eq!(money("125.5".into()), "125.50");
    assert_eq!(procedure_code("99213").as_deref(), Some("99213"));
    assert_eq!(procedure_code("j3301").as_deref(), Some("J3301"));
    assert_eq!(procedure_code("0001F").as_deref(), Some("0001F"));
    assert_eq!(procedure_code("9921"), None);
    assert_eq!(procedure_code("JJ301"), None);
    assert_eq!(icd10cm("J069").as_deref(), Some("J06.9"));
    assert_eq!(icd10cm("e11.65").as_deref(), Some("E11.65"));
    assert_eq!(icd10cm("I10").as_deref(), Some("I10"));
    assert_eq!(icd10cm("250.00"), None);
    assert_eq!(normalize_ssn("123456789").as_deref(), Some("123-45-6789"));
    assert_eq!(normalize_ssn("12345678"), None);
    assert_eq!(relationship(Some("spo")), SubscriberRelationship::Spouse);
    assert_eq!(relationship(Some("GRD")), SubscriberRelationship::Other);
    assert_eq!(sex(Some("f")), Some(Sex::Female));
    assert_eq!(sex(Some("N")), Some(Sex::Unknown));
    assert_eq!(sex(None), Some(Sex::Unknown));
    assert_eq!(sex(Some("boy")), None);
    assert_eq!(sex(Some("X")), None);
    assert_eq!(country("CAN").as_deref(), Some("CA"));
    assert_eq!(country("USA"), None);
}
