use super::*;

fn interchange(gs: &str, body: &[&str]) -> String {
    let mut s = String::from(
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1100*^*00501*000000777*0*P*:~\n",
    );
    s.push_str(gs);
    s.push_str("~\n");
    for seg in body {
        s.push_str(seg);
        s.push_str("~\n");
    }
    s.push_str(&format!(
        "SE*{}*0001~\nGE*1*777~\nIEA*1*000000777~\n",
        body.len() + 1
    ));
    s
}

const GS_999: &str = "GS*FA*CLEARINGHOUSE*REVCYCLE*20261120*1100*777*X*005010X231A1";

fn ack_999(body: &[&str]) -> String {
    interchange(GS_999, body)
}

fn rules(errors: &[X12Error]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.rule().unwrap_or_default().to_string(), e.pointer()))
        .collect()
}

#[test]
fn a_999_with_an_error_per_segment_and_element_conforms() {
    let x = ack_999(&[
        "ST*999*0001*005010X231A1",
        "AK1*HC*17*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK3*NM1*8*2010*8",
        "IK4*9*67*7",
        "IK5*R*5",
        "AK9*R*1*1*0",
    ]);
    assert_eq!(rules(&validate(x.as_bytes())), []);
}

#[test]
fn a_999_without_ak9_or_with_a_bad_ik5_code_is_refused_at_the_place() {
    let x = ack_999(&[
        "ST*999*0001*005010X231A1",
        "AK1*HC*17*005010X222A1",
        "AK2*837*0001*005010X222A1",
        "IK5*Q",
    ]);
    // IK501 tells an IK5 from any other segment: with an unknown code it has no place (as
    // pyx12 says too); then loop 2000 (AK2) lacks its IK5 and the header (AK1) its AK9.
    let errors = validate(x.as_bytes());
    assert_eq!(
        rules(&errors),
        [
            (
                "segment.unexpected".into(),
                "/transactions/0/segments/4".into()
            ),
            (
                "segment.required".into(),
                "/transactions/0/segments/3".into()
            ),
            (
                "segment.required".into(),
                "/transactions/0/segments/2".into()
            ),
        ]
    );
    assert_eq!(errors[1].segment_id, "AK2");
    assert!(errors[1].reason.contains("IK5"), "{}", errors[1]);
    assert_eq!(errors[2].segment_id, "AK1");
    assert!(errors[2].reason.contains("AK9"), "{}", errors[2]);
}

#[test]
fn ta1_codes_are_checked() {
    let good = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1100*^*00501*000000778*0*P*:~\n\
                TA1*000000501*261120*1059*R*006~\nIEA*0*000000778~\n";
    assert_eq!(rules(&validate(good.as_bytes())), []);
    let bad = good.replace("*R*006~", "*Z*999~");
    assert_eq!(
        rules(&validate(bad.as_bytes())),
        [
            ("envelope.element".into(), "/segments/2/TA104".into()),
            ("envelope.element".into(), "/segments/2/TA105".into()),
        ]
    );
}

#[test]
fn a_transaction_set_under_another_guide_version_is_refused() {
    let x = interchange(
        "GS*HP*PAYER*REVCYCLE*20261120*1100*777*X*005010X221",
        &["ST*835*0001", "BPR*I*0*C*NON************20261120"],
    );
    let errors = validate(x.as_bytes());
    assert_eq!(errors[0].rule(), Some("transaction.unsupported"));
    assert_eq!(errors[0].pointer(), "/transactions/0/segments/1");
    assert_eq!(
        errors.len(),
        1,
        "nothing else is checked against an unknown guide"
    );
}

#[test]
fn a_277ca_conforms_and_its_missing_patient_name_is_named_by_loop() {
    let body = [
        "ST*277*0001*005010X214",
        "BHT*0085*08*BATCH42*20261121*0900*TH",
        "HL*1**20*1",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*60054",
        "TRN*1*0091182",
        "DTP*050*D8*20261121",
        "DTP*009*D8*20261121",
        "HL*2*1*21*1",
        "NM1*41*2*SPRINGFIELD BILLING*****46*REVCYCLE",
        "TRN*2*000000001",
        "STC*A1:19:PR*20261121*WQ*200",
        "QTY*90*1",
        "AMT*YU*200",
        "HL*3*2*19*1",
        "NM1*85*2*SPRINGFIELD FAMILY PRACTICE*****XX*1234567893",
        "TRN*1*PROVIDER-1",
        "STC*A1:19:PR**WQ*200",
        "HL*4*3*PT",
        "NM1*QC*1*DOE*JANE****MI*SELF123456",
        "TRN*2*CLAIM-1",
        "STC*A2:20:PR*20261121*WQ*200",
        "REF*1K*PAYER-ICN-1",
        "DTP*472*D8*20261102",
    ];
    let gs = "GS*HN*CLEARINGHOUSE*REVCYCLE*20261121*0900*777*X*005010X214";
    assert_eq!(rules(&validate(interchange(gs, &body).as_bytes())), []);
    let without: Vec<&str> = body
        .iter()
        .copied()
        .filter(|s| !s.starts_with("NM1*QC"))
        .collect();
    let errors = validate(interchange(gs, &without).as_bytes());
    assert_eq!(
        rules(&errors),
        [("loop.required".into(), "/transactions/0/segments/18".into())]
    );
    assert!(errors[0].reason.contains("loop 2000D"), "{}", errors[0]);
    assert!(errors[0].reason.contains("loop 2100D"), "{}", errors[0]);
    // No value of the file in any message.
    for e in &errors {
        let text = e.to_string();
        for value in ["DOE", "SELF123456", "CLAIM-1", "PAYER-ICN-1"] {
            assert!(!text.contains(value), "{text}");
        }
    }
}

#[test]
fn element_errors_name_the_element_never_the_value() {
    let x = ack_999(&[
        "ST*999*0001*005010X231A1",
        "AK1*HC*17*005010X222A1*EXTRA-VALUE",
        "AK9*A*1*1*1",
    ]);
    let errors = validate(x.as_bytes());
    assert_eq!(
        rules(&errors),
        [(
            "element.too_many".into(),
            "/transactions/0/segments/2/AK104".into()
        )]
    );
    assert!(!errors[0].to_string().contains("EXTRA-VALUE"));
    assert_eq!(
        errors[0].to_string(),
        "X12 segment 4 (AK1), segment 2 of transaction set 1: AK104 is past the 3 elements of \
         AK1 [rule element.too_many]"
    );
}

#[test]
fn syntax_notes_dates_and_decimals() {
    assert!(valid_date("20240229") && !valid_date("20230229") && !valid_date("20241301"));
    assert!(valid_time("2359") && valid_time("235959") && !valid_time("2460"));
    let el = El {
        seq: 2,
        name: "Amount",
        usage: b'R',
        ty: "R",
        min: 1,
        max: 18,
        repeat: 1,
        codes: &[],
        parts: &[],
    };
    assert_eq!(check_value("-12.50", &el), None);
    assert_eq!(
        check_value("1.2.3", &el).map(|(_, r)| r),
        Some("element.format")
    );
    assert_eq!(check_value("", &el).map(|(_, r)| r), Some("element.format"));
}

#[test]
fn errors_stop_at_the_limit() {
    let mut body = vec!["ST*999*0001*005010X231A1", "AK1*HC*17*005010X222A1"];
    body.extend(std::iter::repeat_n("ZZZ*1", 80));
    body.push("AK9*A*1*1*1");
    let errors = validate(ack_999(&body).as_bytes());
    assert_eq!(errors.len(), MAX_ERRORS);
    assert!(
        errors
            .iter()
            .all(|e| e.rule() == Some("segment.unexpected"))
    );
}

// Hostile input: every prefix of a real 835, and the same file with each byte replaced by a
// delimiter, is answered (accepted or refused with a located error), never a panic.
#[test]
fn truncated_and_garbled_input_is_refused_not_a_panic() {
    let file = include_bytes!("../../tests/corpus/badx12-0.2.2/X221-era-sample.edi");
    assert!(validate(file).is_empty());
    // (The file ends with a newline after its IEA.)
    for n in 0..file.trim_ascii_end().len() {
        let errors = validate(&file[..n]);
        assert!(!errors.is_empty(), "a prefix of {n} bytes was accepted");
        assert!(errors.len() <= MAX_ERRORS);
    }
    for i in 106..file.len() {
        for b in [b'*', b'~', b':', b'^'] {
            let mut garbled = file.to_vec();
            garbled[i] = b;
            for e in validate(&garbled) {
                assert!(!e.pointer().is_empty(), "{e}");
            }
        }
    }
}
