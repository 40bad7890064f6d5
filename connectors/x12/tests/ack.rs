//! 999 and TA1: generate for received files, parse partners' acknowledgments.

mod common;

use revcycle_x12::ack::*;
use revcycle_x12::{GroupHeader, InterchangeHeader};

fn fixture() -> String {
    let path = common::manifest_dir().join("tests/fixtures/835/claims_paid_partial_denied.835");
    std::fs::read_to_string(path).unwrap()
}

fn reply() -> Reply {
    Reply {
        interchange: InterchangeHeader {
            sender_qualifier: "ZZ".into(),
            sender_id: "REVCYCLE".into(),
            receiver_qualifier: "ZZ".into(),
            receiver_id: "ACMEPAYER".into(),
            date: "240316".into(),
            time: "0800".into(),
            control_number: 555,
            ack_requested: false,
            production: true,
        },
        group: GroupHeader {
            functional_id: String::new(),
            sender_code: "REVCYCLE".into(),
            receiver_code: "ACMEPAYER".into(),
            date: "20240316".into(),
            time: "0800".into(),
            control_number: 555,
            version: String::new(),
        },
    }
}

#[test]
fn a_good_file_is_accepted_and_the_999_round_trips() {
    let ack = acknowledge(fixture().as_bytes()).unwrap();
    assert_eq!(ack.status, "A");
    assert_eq!((ack.included, ack.received, ack.accepted), (1, 1, 1));
    assert_eq!(ack.group_control_number, "101");
    assert_eq!(ack.transactions[0].control_number, "0001");
    let bytes = write_999(Vec::new(), &reply(), &ack).unwrap();
    let parsed = parse_acks(bytes.as_slice()).unwrap();
    assert_eq!(parsed.ack999, vec![ack]);
}

#[test]
fn a_bad_transaction_is_rejected_with_ik3_and_ik4() {
    let text = fixture().replace("CLP*CLM-C3*4*80*0**", "CLP*CLM-C3*4*80*X**");
    let ack = acknowledge(text.as_bytes()).unwrap();
    assert_eq!(ack.status, "R");
    assert_eq!((ack.included, ack.accepted), (1, 0));
    let t = &ack.transactions[0];
    assert_eq!(t.status, "R");
    assert_eq!(t.codes, ["5"]);
    assert_eq!(t.errors.len(), 1);
    let e = &t.errors[0];
    assert_eq!(
        (e.segment_id.as_str(), e.position, e.code.as_str()),
        ("CLP", 42, "8")
    );
    assert_eq!(e.elements[0].position, 4);
    assert_eq!(e.elements[0].code, "6");

    let text = fixture().replace("LX*1~", "SVC*HC:99213*1*1~");
    let t = &acknowledge(text.as_bytes()).unwrap().transactions[0];
    assert_eq!(
        (t.errors[0].segment_id.as_str(), t.errors[0].code.as_str()),
        ("SVC", "2")
    );

    let text = fixture().replace("SE*50*0001~", "SE*51*0001~");
    let t = &acknowledge(text.as_bytes()).unwrap().transactions[0];
    assert!(t.errors.is_empty());
    assert_eq!((t.status.as_str(), t.codes[0].as_str()), ("R", "4"));
}

#[test]
fn generated_999s_are_valid_for_pyx12() {
    let dir = common::target_dir().join("x12-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let good = acknowledge(fixture().as_bytes()).unwrap();
    let bad = acknowledge(
        fixture()
            .replace("DTM*472*20240306~", "DTM*472*2024036~")
            .as_bytes(),
    )
    .unwrap();
    let mut files = Vec::new();
    for (name, ack) in [("accepted", good), ("rejected", bad)] {
        let path = dir.join(format!("{name}.999"));
        std::fs::write(&path, write_999(Vec::new(), &reply(), &ack).unwrap()).unwrap();
        files.push(path);
    }
    for (file, errors, detail) in common::pyx12_errors(&files) {
        assert_eq!(errors, 0, "{}: {detail}", file.display());
    }
}

#[test]
fn partner_999_with_errors_is_parsed() {
    let text = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *240320*1100*^*00501*000000777*0*P*:~
GS*FA*CLEARINGHOUSE*REVCYCLE*20240320*1100*777*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HC*1*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK2*837*0002*005010X222A1~
IK3*NM1*8*2010*8~
CTX*CLM01:CLM-1001~
IK4*9*67*7*BADVALUE~
IK3*DMG*12**8~
IK4*2:1*1251*8~
IK5*R*5~
AK9*P*2*2*1~
SE*13*0001~
GE*1*777~
IEA*1*000000777~
";
    let acks = parse_acks(text.as_bytes()).unwrap();
    let a = &acks.ack999[0];
    assert!(a.accepted());
    assert_eq!((a.status.as_str(), a.included, a.accepted), ("P", 2, 1));
    assert!(a.transactions[0].accepted());
    let t = &a.transactions[1];
    assert!(!t.accepted());
    assert_eq!(t.errors.len(), 2);
    assert_eq!(t.errors[0].loop_id.as_deref(), Some("2010"));
    assert_eq!(t.errors[0].elements[0].position, 9);
    assert_eq!(t.errors[1].elements[0].component, Some(1));
    // IK404 (a copy of the bad value) is not kept.
    assert!(!format!("{acks:?}").contains("BADVALUE"));
}

#[test]
fn ta1_accepts_or_rejects_the_interchange() {
    let ok = ta1_for(fixture().as_bytes());
    assert_eq!(
        (
            ok.control_number.as_str(),
            ok.status.as_str(),
            ok.note_code.as_str()
        ),
        ("000000101", "A", "000")
    );
    let bad = ta1_for(
        fixture()
            .replace("IEA*1*000000101~", "IEA*1*000000109~")
            .as_bytes(),
    );
    assert_eq!((bad.status.as_str(), bad.note_code.as_str()), ("R", "001"));
    let bytes = write_ta1(Vec::new(), &reply().interchange, &bad).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("~TA1*000000101*240315*1200*R*001~IEA*0*000000555~"),
        "{text}"
    );
    let parsed = parse_acks(bytes.as_slice()).unwrap();
    assert_eq!(parsed.ta1, vec![bad]);
    assert!(parsed.ack999.is_empty());
}
