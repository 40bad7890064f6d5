//! Coordination of benefits end to end: the primary's 835 posted, the secondary claim's 837P
//! carries that payer's decision in loops 2320/2330A/2330B/2430 exactly as the 835 gave it, the
//! secondary's 835 settles what the primary left, and a tertiary claim carries both earlier
//! payers. Every 837P the server writes here passes pyx12 with zero errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use revcycle_e2e::{Engine, Server, python_tool};
use serde_json::{Value, json};

use crate::fixtures::{FAMILY, GIVEN, STREET, id};
use crate::on_both_engines;
use crate::payer::{SELF_MEMBER, answer_835, connectors_toml, post_raw, ready_claim};

/// One segment's elements (element 0 is the segment id).
fn segments(x12: &str) -> Vec<Vec<String>> {
    x12.split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.split('*').map(str::to_string).collect())
        .collect()
}

fn text(seg: &[String]) -> String {
    seg.join("*")
}

/// An X12 amount in cents ("72", "14.4", "132.00").
fn cents(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<2}");
    int.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

/// Runs pyx12 on `files`; every file must have no error.
pub(crate) fn assert_pyx12_clean(files: &[PathBuf]) {
    let bin = python_tool("pyx12", &["pyx12==4.0.0"]);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../connectors/x12/tests/pyx12_validate.py");
    let out = Command::new(bin.join("python"))
        .arg(script)
        .args(files)
        .output()
        .expect("run pyx12");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "{stdout}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["valid"], true, "{line}");
        assert_eq!(v["errors"], json!([]), "{line}");
    }
}

/// CAS adjustments as (group, reason, cents).
type Cas = Vec<(String, String, i64)>;
/// A line's decision: procedure, paid cents, units, adjustments.
type LineDecision = (String, i64, String, Cas);

/// The payer's decision as an 835 states it: per SVC, (SVC01, SVC03, SVC05, its CAS as
/// (group, reason, cents)); and CLP04, CLP05, CLP07, BPR16.
struct Decision {
    paid: i64,
    patient_responsibility: i64,
    payer_claim_number: String,
    date: String,
    lines: Vec<LineDecision>,
}

fn decision_of(x835: &str) -> Decision {
    let segs = segments(x835);
    let bpr = segs.iter().find(|s| s[0] == "BPR").unwrap();
    let clp = segs.iter().find(|s| s[0] == "CLP").unwrap();
    let mut lines: Vec<LineDecision> = Vec::new();
    for s in &segs {
        match s[0].as_str() {
            "SVC" => lines.push((s[1].clone(), cents(&s[3]), s[5].clone(), Vec::new())),
            "CAS" => {
                let l = lines
                    .last_mut()
                    .expect("line-level CAS only in these files");
                for t in s[2..].chunks(3) {
                    l.3.push((s[1].clone(), t[0].clone(), cents(&t[1])));
                }
            }
            _ => {}
        }
    }
    Decision {
        paid: cents(&clp[4]),
        patient_responsibility: cents(&clp[5]),
        payer_claim_number: clp[7].clone(),
        date: bpr[16].clone(),
        lines,
    }
}

/// The 837P's other-payer loops for one payer, read back: (AMT*D, AMT*EAF, REF*F8 of its
/// 2330B) and, per line, (SVD03, SVD02, SVD05, the CAS after the SVD, DTP*573).
struct Carried {
    paid: i64,
    patient_responsibility: i64,
    payer_claim_number: String,
    /// Each with its DTP*573 date.
    lines: Vec<(LineDecision, String)>,
}

fn carried(x837: &str, payer_code: &str) -> Carried {
    let segs = segments(x837);
    let clm = segs.iter().position(|s| s[0] == "CLM").unwrap();
    let first_lx = segs.iter().position(|s| s[0] == "LX").unwrap();
    // The 2320 loop of this payer: from its SBR up to the next SBR or the first LX; its 2330B
    // names the payer.
    let starts: Vec<usize> = (clm..first_lx).filter(|&i| segs[i][0] == "SBR").collect();
    let mut found = None;
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(first_lx);
        let block = &segs[start..end];
        if block
            .iter()
            .any(|s| s[0] == "NM1" && s[1] == "PR" && s[9] == payer_code)
        {
            found = Some(block);
        }
    }
    let block = found.expect("a 2320 loop for the payer");
    let amt = |q: &str| {
        block
            .iter()
            .find(|s| s[0] == "AMT" && s[1] == q)
            .map(|s| cents(&s[2]))
            .unwrap_or(0)
    };
    let f8 = block
        .iter()
        .find(|s| s[0] == "REF" && s[1] == "F8")
        .map(|s| s[2].clone())
        .unwrap_or_default();
    let mut lines = Vec::new();
    let mut i = first_lx;
    while i < segs.len() {
        if segs[i][0] == "SVD" && segs[i][1] == payer_code {
            let svd = &segs[i];
            let mut cas = Vec::new();
            let mut j = i + 1;
            while segs[j][0] == "CAS" {
                for t in segs[j][2..].chunks(3) {
                    cas.push((segs[j][1].clone(), t[0].clone(), cents(&t[1])));
                }
                j += 1;
            }
            assert_eq!(segs[j][0..3], ["DTP", "573", "D8"], "2430 DTP*573");
            lines.push((
                (svd[3].clone(), cents(&svd[2]), svd[5].clone(), cas),
                segs[j][3].clone(),
            ));
            i = j;
        }
        i += 1;
    }
    Carried {
        paid: amt("D"),
        patient_responsibility: amt("EAF"),
        payer_claim_number: f8,
        lines,
    }
}

/// The carried decision equals the 835's, amount for amount.
fn assert_carries(x837: &str, payer_code: &str, x835: &str) {
    let d = decision_of(x835);
    let c = carried(x837, payer_code);
    assert_eq!(c.paid, d.paid, "AMT*D = CLP04");
    assert_eq!(
        c.patient_responsibility, d.patient_responsibility,
        "AMT*EAF = CLP05"
    );
    assert_eq!(c.payer_claim_number, d.payer_claim_number, "REF*F8 = CLP07");
    assert_eq!(c.lines.len(), d.lines.len(), "one 2430 per SVC");
    for ((got, date), want) in c.lines.iter().zip(&d.lines) {
        assert_eq!(got.0, want.0, "SVD03 = SVC01");
        assert_eq!(got.1, want.1, "SVD02 = SVC03");
        assert_eq!(got.2, want.2, "SVD05 = SVC05");
        assert_eq!(got.3, want.3, "2430 CAS = SVC CAS");
        assert_eq!(*date, d.date, "DTP*573 = BPR16");
    }
}

/// The secondary payer's answer: it pays what the primary left except 3.60 of coinsurance;
/// the primary's impact is OA-23.
fn secondary_835(pcn: &str, trace: &str) -> String {
    let body = vec![
        "ST*835*0001".to_string(),
        "BPR*I*20.4*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261204"
            .into(),
        format!("TRN*1*{trace}*1770000077"),
        "DTM*405*20261204".into(),
        "N1*PR*SECOND MUTUAL".into(),
        "N3*7 MUTUAL PLAZA".into(),
        "N4*OMAHA*NE*68102".into(),
        "REF*2U*77777".into(),
        "PER*BL*PROVIDER SERVICES*TE*8005550199".into(),
        "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
        "LX*1".into(),
        format!("CLP*{pcn}*2*200*20.4*3.6*12*SM-{trace}*11*1"),
        format!(
            "NM1*QC*1*{}*{}****MI*SEC998877",
            FAMILY.to_uppercase(),
            GIVEN.to_uppercase()
        ),
        "SVC*HC:99214:25*150*14.4**1".into(),
        "DTM*472*20261102".into(),
        "CAS*OA*23*132".into(),
        "CAS*PR*2*3.6".into(),
        "SVC*HC:83036*50*6**1".into(),
        "DTM*472*20261102".into(),
        "CAS*OA*23*44".into(),
    ];
    envelope_835("SECONDMUTUAL", 777, &body)
}

/// The tertiary payer's answer: it pays the 3.60 the secondary left on line 1; the earlier
/// payers' impact is OA-23.
fn tertiary_835(pcn: &str, trace: &str) -> String {
    let body = vec![
        "ST*835*0001".to_string(),
        "BPR*I*3.6*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261211"
            .into(),
        format!("TRN*1*{trace}*1880000088"),
        "DTM*405*20261211".into(),
        "N1*PR*THIRD FUND".into(),
        "N3*9 FUND ROAD".into(),
        "N4*DES MOINES*IA*50309".into(),
        "REF*2U*88888".into(),
        "PER*BL*PROVIDER SERVICES*TE*8005550188".into(),
        "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
        "LX*1".into(),
        format!("CLP*{pcn}*3*200*3.6*0*MC*TF-{trace}*11*1"),
        format!(
            "NM1*QC*1*{}*{}****MI*TER112233",
            FAMILY.to_uppercase(),
            GIVEN.to_uppercase()
        ),
        "SVC*HC:99214:25*150*3.6**1".into(),
        "DTM*472*20261102".into(),
        "CAS*OA*23*146.4".into(),
        "SVC*HC:83036*50*0**1".into(),
        "DTM*472*20261102".into(),
        "CAS*OA*23*50".into(),
    ];
    envelope_835("THIRDFUND", 888, &body)
}

fn envelope_835(sender: &str, control: u32, body: &[String]) -> String {
    let mut x = format!(
        "ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*REVCYCLE       *261204*0900*^*00501*{control:09}*0*P*:~\n\
         GS*HP*{sender}*REVCYCLE*20261204*0900*{control}*X*005010X221A1~\n",
    );
    for s in body {
        x.push_str(s);
        x.push_str("~\n");
    }
    x.push_str(&format!(
        "SE*{}*0001~\nGE*1*{control}~\nIEA*1*{control:09}~\n",
        body.len() + 1
    ));
    x
}

async fn submit_and_read(s: &Server, dir: &Path, claim: &Value) -> (PathBuf, String) {
    let r = s
        .post("/v1/claims/submit", &json!({"claim_ids": [claim["id"]]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
    let path = dir
        .join("outbox")
        .join(r.body["file_name"].as_str().unwrap());
    let x12 = std::fs::read_to_string(&path).unwrap();
    (path, x12)
}

async fn import(s: &Server, x835: &str) -> Value {
    let (status, body) = post_raw(
        s,
        "/v1/remittances/import?post=true",
        x835.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn pcn(claim: &Value) -> String {
    claim["patient_control_number"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The segments of the 837P from the first 2320 SBR to the first LX.
fn other_payer_block(x837: &str) -> Vec<String> {
    let segs = segments(x837);
    let clm = segs.iter().position(|s| s[0] == "CLM").unwrap();
    let sbr = (clm..segs.len()).find(|&i| segs[i][0] == "SBR").unwrap();
    let lx = segs.iter().position(|s| s[0] == "LX").unwrap();
    segs[sbr..lx].iter().map(|s| text(s)).collect()
}

async fn secondary_and_tertiary_claims_carry_the_earlier_payers_decisions(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let (p, primary) = ready_claim(&s).await;
    let (primary_file, primary_837) = submit_and_read(&s, dir.path(), &primary).await;
    // The submitter and ISA15 come from the configuration.
    assert!(
        primary_837.contains("\nPER*IC*Dana Reyes*TE*2175550142~\n"),
        "{primary_837}"
    );
    assert_eq!(
        segments(&primary_837)[0][15],
        "T",
        "ISA15 from production = false"
    );
    assert!(
        !primary_837.contains("\nSVD*"),
        "a primary claim has no 2430"
    );

    // The primary payer's 835 posts: 96.00 paid, 24.00 to the patient.
    let primary_835 = answer_835(&pcn(&primary), "EFT-COB-1");
    import(&s, &primary_835).await;
    assert_eq!(
        s.get(&format!("/v1/claims/{}", id(&primary))).await.body["status"],
        "paid"
    );

    let payer2 = s
        .create(
            "/v1/payers",
            &json!({"name": "Second Mutual", "payer_code": "77777", "claim_filing_indicator": "CI"}),
        )
        .await;
    let payer3 = s
        .create(
            "/v1/payers",
            &json!({"name": "Third Fund", "payer_code": "88888", "claim_filing_indicator": "MC"}),
        )
        .await;
    for (payer, priority, member) in [
        (&payer2, "secondary", "SEC998877"),
        (&payer3, "tertiary", "TER112233"),
    ] {
        s.create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": payer["id"], "priority": priority,
                "member_id": member, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    }

    // The secondary claim: its 837P carries the primary's decision.
    let sec = s
        .post(
            &format!("/v1/claims/{}/secondary", id(&primary)),
            &json!({}),
        )
        .await;
    assert_eq!(sec.status, 201, "{}", sec.text);
    assert_eq!(sec.body["priority"], "secondary");
    let secondary = sec.body["claim"].clone();
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&secondary)), &json!({}))
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    let (secondary_file, secondary_837) = submit_and_read(&s, dir.path(), &secondary).await;
    let segs = segments(&secondary_837);
    assert!(
        segs.iter().any(|x| text(x) == "SBR*S*18*******CI"),
        "{secondary_837}"
    );
    let family = FAMILY;
    let given = GIVEN;
    assert_eq!(
        other_payer_block(&secondary_837),
        [
            "SBR*P*18*******CI".to_string(),
            "AMT*D*96".into(),
            "AMT*EAF*24".into(),
            "OI***Y***Y".into(),
            format!("NM1*IL*1*{family}*{given}****MI*{SELF_MEMBER}"),
            format!("N3*{STREET}"),
            "N4*Springfield*IL*62704".into(),
            "NM1*PR*2*Acme Health Plan*****PI*60054".into(),
            "REF*F8*ICN-EFT-COB-1".into(),
        ],
        "{secondary_837}"
    );
    // Each line's 2430, right after its DTP*472 and REF*6R.
    for (svc, svd) in [
        (
            "SV1*HC:99214:25*150*UN*1***1:2",
            [
                "SVD*60054*72*HC:99214:25**1",
                "CAS*CO*45*60",
                "CAS*PR*2*18",
                "DTP*573*D8*20261120",
            ],
        ),
        (
            "SV1*HC:83036*50*UN*1***1",
            [
                "SVD*60054*24*HC:83036**1",
                "CAS*CO*45*20",
                "CAS*PR*2*6",
                "DTP*573*D8*20261120",
            ],
        ),
    ] {
        let at = segs.iter().position(|x| text(x) == svc).unwrap();
        let got: Vec<String> = segs[at + 3..at + 7].iter().map(|x| text(x)).collect();
        assert_eq!(got, svd, "{secondary_837}");
    }
    // Read back, the 2320/2430 amounts are the primary's posted 835, exactly.
    assert_carries(&secondary_837, "60054", &primary_835);

    // The secondary payer's 835 settles what the primary left: 20.40 paid, 3.60 stays with
    // the patient, the OA-23 (the primary's impact) is not posted again.
    let secondary_835 = secondary_835(&pcn(&secondary), "EFT-SEC-1");
    let posted = import(&s, &secondary_835).await;
    let posting = &posted["remittances"][0]["posting"];
    assert_eq!(posting["unmatched"], json!([]), "{posted}");
    assert_eq!(
        posting["claims"][0]["claim_id"], secondary["id"],
        "{posted}"
    );
    assert_eq!(posting["claims"][0]["status_after"], "paid", "{posted}");
    let sec_ledger = s
        .get(&format!("/v1/claims/{}/ledger", id(&secondary)))
        .await;
    assert_eq!(sec_ledger.body["status"], "paid");
    assert_eq!(
        sec_ledger.body["entries"],
        json!([]),
        "no entries of its own"
    );
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&primary))).await;
    let entries: Vec<(String, String, String, Option<String>)> = ledger.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payer_id"] == payer2["id"])
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["amount"].as_str().unwrap().to_string(),
                e["claim_line_id"].as_str().unwrap().to_string(),
                e["carc"].as_str().map(str::to_string),
            )
        })
        .collect();
    let line = |n: usize| primary["lines"][n]["id"].as_str().unwrap().to_string();
    assert_eq!(
        entries,
        [
            (
                "patient_responsibility_transfer".to_string(),
                "-18.00".to_string(),
                line(0),
                None
            ),
            (
                "patient_responsibility_transfer".into(),
                "-6.00".into(),
                line(1),
                None
            ),
            ("insurance_payment".into(), "-14.40".into(), line(0), None),
            (
                "patient_responsibility_transfer".into(),
                "3.60".into(),
                line(0),
                Some("2".into())
            ),
            ("insurance_payment".into(), "-6.00".into(), line(1), None),
        ],
        "{}",
        ledger.text
    );
    assert_eq!(
        ledger.body["balance"]["insurance"], "0.00",
        "{}",
        ledger.text
    );
    assert_eq!(ledger.body["balance"]["patient"], "3.60", "{}", ledger.text);
    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.body["patient_due"], "3.60", "{}", bal.text);
    assert_eq!(bal.body["insurance_pending"], "0.00", "{}", bal.text);

    // The tertiary claim carries both earlier payers, the primary's first.
    let ter = s
        .post(
            &format!("/v1/claims/{}/secondary", id(&secondary)),
            &json!({}),
        )
        .await;
    assert_eq!(ter.status, 201, "{}", ter.text);
    assert_eq!(ter.body["priority"], "tertiary");
    assert_eq!(ter.body["earlier_payers"][0]["paid"], "96.00");
    assert_eq!(ter.body["earlier_payers"][1]["paid"], "20.40");
    assert_eq!(
        ter.body["earlier_payers"][1]["patient_responsibility"],
        "3.60"
    );
    let tertiary = ter.body["claim"].clone();
    assert_eq!(tertiary["payer_id"], payer3["id"]);
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&tertiary)), &json!({}))
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    let (tertiary_file, tertiary_837) = submit_and_read(&s, dir.path(), &tertiary).await;
    let block = other_payer_block(&tertiary_837);
    let sbrs: Vec<&String> = block.iter().filter(|x| x.starts_with("SBR*")).collect();
    assert_eq!(
        sbrs,
        ["SBR*P*18*******CI", "SBR*S*18*******CI"],
        "{tertiary_837}"
    );
    // Its own SBR09 is its payer's claim filing indicator (Third Fund: MC).
    assert!(
        segments(&tertiary_837)
            .iter()
            .any(|x| text(x) == "SBR*T*18*******MC"),
        "{tertiary_837}"
    );
    assert!(
        block.contains(&"REF*F8*SM-EFT-SEC-1".to_string()),
        "{tertiary_837}"
    );
    assert_carries(&tertiary_837, "60054", &primary_835);
    assert_carries(&tertiary_837, "77777", &secondary_835);
    let segs = segments(&tertiary_837);
    let at = segs
        .iter()
        .position(|x| text(x) == "SVD*77777*14.4*HC:99214:25**1")
        .expect("the secondary's 2430 on line 1");
    assert_eq!(
        segs[at + 1..at + 4]
            .iter()
            .map(|x| text(x))
            .collect::<Vec<_>>(),
        ["CAS*OA*23*132", "CAS*PR*2*3.6", "DTP*573*D8*20261204"]
    );

    // The tertiary payer's 835 settles the rest: the patient owes nothing.
    let posted = import(&s, &tertiary_835(&pcn(&tertiary), "EFT-TER-1")).await;
    let posting = &posted["remittances"][0]["posting"];
    assert_eq!(posting["unmatched"], json!([]), "{posted}");
    assert_eq!(posting["claims"][0]["claim_id"], tertiary["id"], "{posted}");
    assert_eq!(posting["claims"][0]["status_after"], "paid", "{posted}");
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&primary))).await;
    let entries: Vec<(String, String, String)> = ledger.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payer_id"] == payer3["id"])
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["amount"].as_str().unwrap().to_string(),
                e["claim_line_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                "patient_responsibility_transfer".to_string(),
                "-3.60".to_string(),
                line(0)
            ),
            ("insurance_payment".into(), "-3.60".into(), line(0)),
        ],
        "{}",
        ledger.text
    );
    assert_eq!(
        ledger.body["balance"]["insurance"], "0.00",
        "{}",
        ledger.text
    );
    assert_eq!(ledger.body["balance"]["patient"], "0.00", "{}", ledger.text);
    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.body["patient_due"], "0.00", "{}", bal.text);
    // No payer follows the tertiary one.
    s.post(
        &format!("/v1/claims/{}/secondary", id(&tertiary)),
        &json!({}),
    )
    .await
    .assert_problem(409);

    // Every 837P the server wrote passes the implementation guide's validator.
    assert_pyx12_clean(&[primary_file, secondary_file, tertiary_file]);
}
on_both_engines!(secondary_and_tertiary_claims_carry_the_earlier_payers_decisions);
