//! The envelope reader and writer on their own: delimiters, escapes, repetition, nesting.

use std::io::BufRead;

use revcycle_x12::{Delimiters, GroupHeader, InterchangeHeader, X12Reader, X12Writer, read_all};

fn header(control: u32) -> InterchangeHeader {
    InterchangeHeader {
        sender_qualifier: "ZZ".into(),
        sender_id: "A".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "B".into(),
        date: "240101".into(),
        time: "0000".into(),
        control_number: control,
        ack_requested: false,
        production: false,
    }
}

fn group(control: u32) -> GroupHeader {
    GroupHeader {
        functional_id: "HC".into(),
        sender_code: "A".into(),
        receiver_code: "B".into(),
        date: "20240101".into(),
        time: "0000".into(),
        control_number: control,
        version: "005010X222A1".into(),
    }
}

fn write(delims: Delimiters, body: &[(&str, Vec<&str>)]) -> Vec<u8> {
    let mut w = X12Writer::new(Vec::new(), delims);
    w.begin_interchange(&header(42)).unwrap();
    w.begin_group(&group(7)).unwrap();
    w.begin_transaction("837", "0001", Some("005010X222A1"))
        .unwrap();
    for (id, els) in body {
        w.segment(id, els).unwrap();
    }
    assert_eq!(w.end_transaction().unwrap(), body.len() as u32 + 2);
    w.end_group().unwrap();
    w.end_interchange().unwrap();
    w.finish().unwrap()
}

#[test]
fn delimiters_come_from_the_isa() {
    let d = Delimiters {
        element: b'|',
        repetition: Some(b'!'),
        component: b'>',
        segment: b'\n',
        release: None,
    };
    let bytes = write(
        d,
        &[("HI", vec!["ABK>J069", "ABF>R059"]), ("EQ", vec!["30!98"])],
    );
    // The ISA is 106 bytes with its terminator.
    assert_eq!(bytes.iter().position(|b| *b == b'\n'), Some(105));
    let mut r = X12Reader::new(bytes.as_slice());
    let mut seen = Vec::new();
    while let Some(s) = r.next_segment().unwrap() {
        if s.id() == "HI" {
            assert_eq!(s.element(2).component(1), "ABF");
            assert_eq!(s.element(2).component(2), "R059");
        }
        if s.id() == "EQ" {
            let reps: Vec<String> = s
                .element(1)
                .repetitions()
                .map(|e| e.text().into_owned())
                .collect();
            assert_eq!(reps, ["30", "98"]);
        }
        seen.push(s.id().to_string());
    }
    assert_eq!(r.delimiters().unwrap(), d);
    assert_eq!(seen, ["ISA", "GS", "ST", "HI", "EQ", "SE", "GE", "IEA"]);
}

#[test]
fn a_release_character_escapes_delimiters_both_ways() {
    let d = Delimiters {
        release: Some(b'?'),
        ..Delimiters::default()
    };
    let bytes = write(d, &[("NTE", vec!["ADD", "A*B~C?D"])]);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("NTE*ADD*A?*B?~C??D~"), "{text}");
    let mut r = X12Reader::with_release(bytes.as_slice(), b'?');
    while let Some(s) = r.next_segment().unwrap() {
        if s.id() == "NTE" {
            assert_eq!(s.get(2), "A*B~C?D");
            assert_eq!(s.len(), 2);
        }
    }
    // Without a release character such a value is refused, naming the element, not the value.
    let mut w = X12Writer::new(Vec::new(), Delimiters::default());
    w.begin_interchange(&header(1)).unwrap();
    w.begin_group(&group(1)).unwrap();
    w.begin_transaction("837", "0001", None).unwrap();
    let e = w.segment("NTE", &["ADD", "SECRET*NAME"]).unwrap_err();
    assert_eq!((e.segment_number, e.segment_id.as_str()), (4, "NTE"));
    assert!(
        e.reason.contains("NTE02") && !e.to_string().contains("SECRET"),
        "{e}"
    );
}

#[test]
fn several_interchanges_with_different_delimiters_follow_each_other() {
    let a = write(Delimiters::default(), &[("REF", vec!["EI", "1"])]);
    let b = write(
        Delimiters {
            element: b'^',
            repetition: Some(b'{'),
            component: b'\\',
            segment: b'\'',
            release: None,
        },
        &[("REF", vec!["EI", "2"])],
    );
    let mut both = a.clone();
    both.extend_from_slice(b"\r\n");
    both.extend_from_slice(&b);
    let segs = read_all(both.as_slice()).unwrap();
    let refs: Vec<&str> = segs
        .iter()
        .filter(|s| s.id == "REF")
        .map(|s| s.elements[1][0].as_str())
        .collect();
    assert_eq!(refs, ["1", "2"]);
    assert_eq!(segs.len(), 14);
}

#[test]
fn envelope_nesting_is_checked() {
    let ok = String::from_utf8(write(Delimiters::default(), &[("REF", vec!["EI", "1"])])).unwrap();
    let cases = [
        (
            ok.replacen("ST*837*0001*005010X222A1~", "", 1),
            "REF",
            "outside a transaction set",
        ),
        (
            ok.replacen("GS*", "XX*", 1).replacen(
                "XX*HC*A*B*20240101*0000*7*X*005010X222A1~",
                "",
                1,
            ),
            "ST",
            "outside a functional group",
        ),
        (ok.replacen("SE*3*0001~", "", 1), "GE", "missing SE"),
        (
            ok.replace("IEA*1*000000042~", "IEA*1*000000042~GS*HC~"),
            "?",
            "does not start with an ISA",
        ),
    ];
    for (text, id, reason) in cases {
        let e = read_all(text.as_bytes()).unwrap_err();
        assert_eq!(e.segment_id, id, "{e}");
        assert!(e.reason.contains(reason), "{e}");
    }
    let e = read_all("".as_bytes()).unwrap_err();
    assert!(e.reason.contains("empty"), "{e}");
    let e = read_all("GS*HC~".as_bytes()).unwrap_err();
    assert!(e.reason.contains("ISA"), "{e}");
}

/// A 4 MB stream produced on the fly is read segment by segment (the reader holds one segment,
/// never the input), and its missing trailer is reported at the end.
#[test]
fn an_endless_stream_is_read_segment_by_segment() {
    struct Endless {
        produced: usize,
        limit: usize,
        chunk: Vec<u8>,
        pos: usize,
    }
    impl std::io::Read for Endless {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            unreachable!("BufRead is used")
        }
    }
    impl BufRead for Endless {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            if self.pos == self.chunk.len() {
                if self.produced >= self.limit {
                    return Ok(&[]);
                }
                self.produced += 1;
                self.chunk = if self.produced == 1 {
                    let mut head = write(Delimiters::default(), &[]);
                    // Drop SE/GE/IEA: the body follows.
                    let text = String::from_utf8(head.clone()).unwrap();
                    let cut = text.find("SE*").unwrap();
                    head.truncate(cut);
                    head
                } else {
                    b"NTE*ADD*SOME NOTE TEXT~".to_vec()
                };
                self.pos = 0;
            }
            Ok(&self.chunk[self.pos..])
        }
        fn consume(&mut self, n: usize) {
            self.pos += n;
        }
    }
    let mut r = X12Reader::new(Endless {
        produced: 0,
        limit: 200_000,
        chunk: Vec::new(),
        pos: 0,
    });
    let mut n = 0u64;
    let err = loop {
        match r.next_segment() {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("no IEA"),
            Err(e) => break e,
        }
    };
    assert!(n > 199_000);
    assert!(err.reason.contains("no IEA"), "{err}");
    assert!(r.bytes_read() > 4_000_000);
}
