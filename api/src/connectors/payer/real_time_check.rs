//! A real-time answer must answer the request it came back to: a 271 echoes the 270's trace
//! number (2000C TRN, TRN01 2) and is about its subscriber (NM1*IL NM109); a 277 echoes the
//! 276's trace number (2200D TRN) and is about its claim (REF*EJ, our CLM01) and subscriber.
//! Anything else (a clearinghouse that mixed up two answers, a stale file) is refused and
//! never shown as the answer. The reasons name the field and the rule, never a value.

use serde_json::Value;

/// What a 270 or 276 asked about, as the answer must echo it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Asked {
    pub(super) trace_number: Option<String>,
    pub(super) member_id: Option<String>,
    /// A 276's claim (our CLM01).
    pub(super) claim_control_number: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The first way `responses` (the parsed `answer`, a `271` or `277`) fails to answer
/// `request` (what the 270 or 276 we sent asked), as "pointer: rule".
pub(super) fn mismatch(answer: &str, request: &Asked, responses: &[Value]) -> Option<String> {
    if responses.is_empty() {
        return Some(format!(
            "/responses: the {answer} holds no answer to the request"
        ));
    }
    let trace = given(&request.trace_number);
    let member = given(&request.member_id);
    let claim = given(&request.claim_control_number);
    let (sent, member_at) = match answer {
        "271" => ("270", "subscriber/member_id"),
        _ => ("276", "member_id"),
    };
    for (i, r) in responses.iter().enumerate() {
        if let Some(t) = trace {
            match text(r, "/trace_number") {
                None => {
                    return Some(format!(
                        "/responses/{i}/trace_number: the {answer} has no TRN echoing the {sent}'s trace number"
                    ));
                }
                Some(got) if !same(got, t) => {
                    return Some(format!(
                        "/responses/{i}/trace_number: the {answer}'s TRN02 is not the {sent}'s trace number"
                    ));
                }
                Some(_) => {}
            }
        }
        if let (Some(m), Some(got)) = (member, text(r, &format!("/{member_at}")))
            && !same(got, m)
        {
            return Some(format!(
                "/responses/{i}/{member_at}: the {answer}'s subscriber (NM1*IL NM109) is not the {sent}'s"
            ));
        }
        if answer == "277"
            && let Some(c) = claim
        {
            match text(r, "/claim_control_number") {
                Some(got) if !same(got, c) => {
                    return Some(format!(
                        "/responses/{i}/claim_control_number: the 277's REF*EJ is not the claim the 276 asked about"
                    ));
                }
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_271_must_echo_the_trace_number_and_the_subscriber() {
        let req = Asked {
            trace_number: Some("ABC123".into()),
            member_id: Some("MEMBERAAA".into()),
            claim_control_number: None,
        };
        let ok = json!({"trace_number": "abc123", "subscriber": {"member_id": "MEMBERAAA"}});
        assert_eq!(mismatch("271", &req, &[ok]), None);
        let other_trace = json!({"trace_number": "XYZ", "subscriber": {"member_id": "MEMBERAAA"}});
        assert_eq!(
            mismatch("271", &req, &[other_trace]).as_deref(),
            Some("/responses/0/trace_number: the 271's TRN02 is not the 270's trace number")
        );
        let no_trace = json!({"subscriber": {"member_id": "MEMBERAAA"}});
        assert!(
            mismatch("271", &req, &[no_trace])
                .unwrap()
                .starts_with("/responses/0/trace_number: the 271 has no TRN")
        );
        let other_member =
            json!({"trace_number": "ABC123", "subscriber": {"member_id": "MEMBERBBB"}});
        let m = mismatch("271", &req, &[other_member]).unwrap();
        assert!(m.starts_with("/responses/0/subscriber/member_id:"), "{m}");
        assert!(!m.contains("MEMBERBBB") && !m.contains("MEMBERAAA"), "{m}");
        assert!(
            mismatch("271", &req, &[])
                .unwrap()
                .starts_with("/responses:")
        );
    }

    #[test]
    fn a_277_must_echo_the_trace_number_the_claim_and_the_subscriber() {
        let req = Asked {
            trace_number: Some("T1".into()),
            member_id: Some("M1".into()),
            claim_control_number: Some("PCN1".into()),
        };
        let ok = json!({"trace_number": "T1", "member_id": "M1", "claim_control_number": "PCN1"});
        assert_eq!(mismatch("277", &req, std::slice::from_ref(&ok)), None);
        let mut other_claim = ok.clone();
        other_claim["claim_control_number"] = json!("PCN2");
        assert_eq!(
            mismatch("277", &req, &[ok.clone(), other_claim]).as_deref(),
            Some(
                "/responses/1/claim_control_number: the 277's REF*EJ is not the claim the 276 asked about"
            )
        );
        let mut other_member = ok.clone();
        other_member["member_id"] = json!("M9");
        assert!(
            mismatch("277", &req, &[other_member])
                .unwrap()
                .starts_with("/responses/0/member_id:")
        );
    }
}
