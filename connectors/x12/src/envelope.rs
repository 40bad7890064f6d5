//! The envelopes of an X12 file (ISA, GS, ST headers) as canonical [`Envelopes`], so the host
//! learns sender and receiver ids, control numbers and ISA15 from the plugin instead of reading
//! X12 bytes itself.

use std::io::BufRead;

use revcycle_connector_abi::canonical::v1::{
    Envelopes, FunctionalGroupHeader, InterchangeEnvelope, TransactionSetHeader,
};

use crate::X12Error;
use crate::reader::X12Reader;

/// The headers of every interchange, group and transaction set in `input`, in file order.
/// Reading stops at the first malformed segment: what was read before it is returned (the
/// host still learns what the file is and its control numbers to record a refusal); an input
/// with no readable ISA is the reader's error.
pub fn read_envelopes<R: BufRead>(input: R) -> Result<Envelopes, X12Error> {
    let mut rd = X12Reader::new(input);
    let mut out = Envelopes::default();
    loop {
        let id = match rd.next_segment() {
            Ok(Some(seg)) => seg.id().to_string(),
            Ok(None) => break,
            Err(e) if out.interchanges.is_empty() => return Err(e),
            Err(_) => break,
        };
        match id.as_str() {
            "ISA" => {
                if let Some(i) = rd.interchange() {
                    out.interchanges.push(InterchangeEnvelope {
                        sender_qualifier: i.sender_qualifier.trim().to_string(),
                        sender_id: i.sender_id.trim().to_string(),
                        receiver_qualifier: i.receiver_qualifier.trim().to_string(),
                        receiver_id: i.receiver_id.trim().to_string(),
                        control_number: i.control_number.trim().to_string(),
                        usage_indicator: i.usage.trim().to_string(),
                        ta1: false,
                        groups: Vec::new(),
                    });
                }
            }
            "TA1" => {
                if let Some(i) = out.interchanges.last_mut() {
                    i.ta1 = true;
                }
            }
            "GS" => {
                if let (Some(g), Some(i)) = (rd.group(), out.interchanges.last_mut()) {
                    i.groups.push(FunctionalGroupHeader {
                        functional_id: g.functional_id.clone(),
                        sender_code: g.sender_code.trim().to_string(),
                        receiver_code: g.receiver_code.trim().to_string(),
                        control_number: g.control_number.clone(),
                        version: g.version.clone(),
                        transactions: Vec::new(),
                    });
                }
            }
            "ST" => {
                if let (Some(t), Some(g)) = (
                    rd.transaction(),
                    out.interchanges
                        .last_mut()
                        .and_then(|i| i.groups.last_mut()),
                ) {
                    g.transactions.push(TransactionSetHeader {
                        id: t.id.clone(),
                        control_number: t.control_number.clone(),
                        implementation: t.implementation.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240315*1200*^*00501*000000101*0*P*:~\nGS*HP*ACMEPAYER*REVCYCLE*20240315*1200*101*X*005010X221A1~\nST*835*0001*005010X221A1~\nSE*2*0001~\nGE*1*101~\nIEA*1*000000101~\n";

    #[test]
    fn envelope_facts_are_read_from_the_headers() {
        let e = read_envelopes(FILE.as_bytes()).unwrap();
        assert_eq!(
            e.control_numbers(),
            (Some("000000101".into()), Some("101".into()))
        );
        assert_eq!(e.transaction_kind(), Some("835"));
        let i = &e.interchanges[0];
        assert_eq!(
            (
                i.sender_qualifier.as_str(),
                i.sender_id.as_str(),
                i.receiver_id.as_str(),
                i.usage_indicator.as_str()
            ),
            ("ZZ", "ACMEPAYER", "REVCYCLE", "P")
        );
        assert_eq!(i.groups[0].functional_id, "HP");
        assert_eq!(i.groups[0].version, "005010X221A1");
        assert_eq!(
            i.groups[0].transactions,
            [TransactionSetHeader {
                id: "835".into(),
                control_number: "0001".into(),
                implementation: Some("005010X221A1".into()),
            }]
        );
    }

    #[test]
    fn a_file_cut_short_still_names_what_it_is() {
        // The SE count is wrong and the trailers are missing: the headers read before are kept.
        let cut = FILE.replace("SE*2*0001~", "SE*9*0001~");
        let e = read_envelopes(cut.as_bytes()).unwrap();
        assert_eq!(e.transaction_kind(), Some("835"));
        assert_eq!(e.control_numbers().0.as_deref(), Some("000000101"));
        assert!(read_envelopes(&b"hello"[..]).is_err());
    }
}
