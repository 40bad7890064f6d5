//! The unmatched-remittance queue worked through the API: an 835 claim payment whose CLP01 has
//! a typo lands in the queue and is matched by hand to the right claim and posted exactly as a
//! match would have posted it (ledger, balances, status, events, audit, the claim's history),
//! once; a claim payment covering two claims is split over them by service line; a payment
//! that is not the practice's is decided so, with the refund owed to the payer; a claim of
//! another payer takes a payment only with a stated reason; other tenants see nothing; coders
//! may not decide.

use diesel::prelude::*;
use revcycle_e2e::{Engine, Resp, Server};
use serde_json::{Value, json};

use crate::denials::era;
use crate::fixtures::{FAMILY, GIVEN, MEMBER_ID, id, org_of, token};
use crate::on_both_engines;
use crate::payer::{SELF_MEMBER, payer_server, pcn_of, post_raw, ready_claim_dated, submit};

const QUEUE: &str = "/v1/work-queues/unmatched-remittances";

/// The hand-worked claim payment as the payer sent it, for the claim control number `pcn`:
/// 200.00 billed, 96.00 paid, 24.00 patient responsibility; 99214-25 150.00 paid 72.00 (CO-45
/// 60.00, PR-2 18.00), 83036 50.00 paid 24.00 (CO-45 20.00, PR-2 6.00).
pub(crate) fn hand_worked_clp(pcn: &str, icn: &str) -> Vec<String> {
    vec![
        format!("CLP*{pcn}*1*200*96*24*12*{icn}*11*1"),
        format!(
            "NM1*QC*1*{}*{}****MI*{SELF_MEMBER}",
            FAMILY.to_uppercase(),
            GIVEN.to_uppercase()
        ),
        "DTM*232*20261102".into(),
        "SVC*HC:99214:25*150*72**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*60".into(),
        "CAS*PR*2*18".into(),
        "SVC*HC:83036*50*24**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*20".into(),
        "CAS*PR*2*6".into(),
    ]
}

/// `pcn` with its last character changed: the typo a payer's keying makes.
fn typo(pcn: &str) -> String {
    let mut s = pcn.to_string();
    let last = s.pop().unwrap();
    s.push(if last == 'X' { 'Y' } else { 'X' });
    s
}

/// The patient's own coverage with the practice's payer.
async fn self_coverage(s: &Server, p: &crate::fixtures::Practice) -> Value {
    s.create(
        "/v1/coverages",
        &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
            "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
    )
    .await
}

/// A submitted 200.00 claim (99214-25 150.00, 83036 50.00) served on `date`.
async fn submitted_claim(
    s: &Server,
    p: &crate::fixtures::Practice,
    coverage: &Value,
    date: &str,
) -> Value {
    let claim = ready_claim_dated(s, p, coverage, date).await;
    submit(s, &claim).await;
    let got = s.get(&format!("/v1/claims/{}", id(&claim))).await;
    assert_eq!(got.body["status"], "submitted", "{}", got.text);
    got.body
}

async fn import(s: &Server, x835: String) -> Value {
    let (status, body) = post_raw(s, "/v1/remittances/import?post=true", x835.into_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "processed", "{body}");
    body
}

async fn open_items(s: &Server) -> Vec<Value> {
    let q = s.get(QUEUE).await;
    assert_eq!(q.status, 200, "{}", q.text);
    q.body["items"].as_array().unwrap().clone()
}

async fn decide(s: &Server, who: &str, item: &str, what: &str, body: &Value) -> Resp {
    s.call(
        "POST",
        &format!("{QUEUE}/{item}/{what}"),
        Some(who),
        Some(body),
        &[],
    )
    .await
}

/// (kind, amount, group, carc) of every ledger entry, in order.
fn entries(ledger: &Value) -> Vec<(String, String, String, String)> {
    ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("amount"), s("group"), s("carc"))
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    v.iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    event_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    payload: String,
}

fn outbox(s: &Server) -> Vec<(String, Value)> {
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    diesel::sql_query("SELECT event_type, payload FROM outbox_events ORDER BY seq")
        .load::<EventRow>(&mut conn)
        .expect("outbox")
        .into_iter()
        .map(|r| (r.event_type, serde_json::from_str(&r.payload).unwrap()))
        .collect()
}

/// The hand-worked scenario: the payer keyed CLP01 with a typo, so its 96.00 payment
/// matched nothing and waits in the queue; a biller matches it to the right claim and it posts
/// to the cent as a match would have; the queue is empty after, and a second match is 409.
async fn an_unmatched_835_claim_payment_matched_by_hand_and_posted(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = crate::fixtures::practice(&s).await;
    let coverage = self_coverage(&s, &p).await;
    let claim = submitted_claim(&s, &p, &coverage, "2026-11-02").await;
    let pcn = pcn_of(&claim);
    let wrong = typo(&pcn);
    let imported = import(
        &s,
        era(
            "EFT-TYPO-1",
            711,
            "96",
            &[hand_worked_clp(&wrong, "ICN-TYPO-1")],
        ),
    )
    .await;
    let posting = &imported["remittances"][0]["posting"];
    assert_eq!(posting["claims"], json!([]), "{imported}");
    assert_eq!(posting["totals"]["unmatched_paid"], "96.00");
    let rem_id = imported["remittances"][0]["remittance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let claim_path = format!("/v1/claims/{}/ledger", id(&claim));
    let before = s.get(&claim_path).await.body;
    assert_eq!(before["balance"]["insurance"], "200.00");
    assert_eq!(before["status"], "submitted");

    // The item shows what deciding it needs, and no patient identifier of the 835.
    let q = s.get(QUEUE).await;
    assert_eq!(q.status, 200, "{}", q.text);
    for phi in [
        FAMILY.to_uppercase(),
        GIVEN.to_uppercase(),
        SELF_MEMBER.into(),
    ] {
        assert!(!q.text.contains(&phi), "the queue shows NM1*QC: {}", q.text);
    }
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", q.text);
    let item = &items[0];
    let item_id = id(item).to_string();
    assert_eq!(item["remittance_id"], rem_id.as_str());
    assert_eq!(item["payer_id"], p.payer["id"]);
    assert_eq!(item["trace_number"], "EFT-TYPO-1");
    assert_eq!(item["patient_control_number"], wrong.as_str());
    assert_eq!(item["payer_claim_number"], "ICN-TYPO-1");
    assert_eq!(item["status_code"], "1");
    assert_eq!(item["total_charge"], "200.00");
    assert_eq!(item["paid"], "96.00");
    assert_eq!(item["patient_responsibility"], "24.00");
    assert_eq!(item["reason"], json!({"code": "no_such_claim"}));
    assert_eq!(item["state"], "open");
    assert_eq!(item["decision"], Value::Null);
    let lines: Vec<(&str, &str, &str)> = item["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["procedure_code"].as_str().unwrap(),
                l["charge"].as_str().unwrap(),
                l["paid"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("99214", "150.00", "72.00"), ("83036", "50.00", "24.00")]
    );
    // The right claim is offered: same payer, same charge, waiting for payment.
    let candidates = item["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{}", q.text);
    assert_eq!(candidates[0]["claim_id"], claim["id"]);
    assert_eq!(candidates[0]["patient_control_number"], pcn.as_str());
    assert_eq!(candidates[0]["why"], "same_payer_and_charge");
    assert_eq!(candidates[0]["total_charge"], "200.00");

    // Coders and the front desk may not decide; nothing is posted by their attempts.
    let org = org_of(&s);
    let coder = token(&s, &org, "coder-3", &["coder"], &[]);
    let desk = token(&s, &org, "desk-2", &["front_desk"], &[]);
    let biller = token(&s, &org, "bill-7", &["biller"], &[]);
    for who in [&coder, &desk] {
        let r = decide(
            &s,
            who,
            &item_id,
            "match",
            &json!({"claim_id": claim["id"]}),
        )
        .await;
        r.assert_problem(403);
    }
    assert_eq!(s.get(&claim_path).await.body, before);

    let events_before = outbox(&s).len();
    let r = decide(
        &s,
        &biller,
        &item_id,
        "match",
        &json!({"claim_id": claim["id"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let posted = &r.body["posting"];
    assert_eq!(posted["remittance_id"], rem_id.as_str());
    assert_eq!(posted["entries_posted"], 6);
    assert_eq!(posted["claims"].as_array().unwrap().len(), 1);
    assert_eq!(posted["claims"][0]["claim_id"], claim["id"]);
    assert_eq!(posted["claims"][0]["status_before"], "submitted");
    assert_eq!(posted["claims"][0]["status_after"], "paid");
    assert_eq!(posted["totals"]["posted_paid"], "96.00");
    assert_eq!(posted["denials"], json!([]));
    let decided = &r.body["item"];
    assert_eq!(decided["state"], "resolved");
    let decision = &decided["decision"];
    assert_eq!(decision["kind"], "matched");
    assert_eq!(decision["decided_by"], "bill-7");
    assert_eq!(decision["override_reason"], Value::Null);
    assert_eq!(
        decision["claims"],
        json!([{"claim_id": claim["id"], "patient_id": p.patient["id"], "lines": [0, 1],
            "paid": "96.00", "status_before": "submitted", "status_after": "paid", "entries": 6}])
    );

    // Posted exactly as a match posts the hand-worked 835.
    let after = s.get(&claim_path).await;
    assert_eq!(after.status, 200, "{}", after.text);
    let after = after.body;
    assert_eq!(after["status"], "paid");
    assert_eq!(after["balance"]["insurance"], "0.00");
    assert_eq!(after["balance"]["patient"], "24.00");
    assert_eq!(after["balance"]["total"], "24.00");
    assert_eq!(
        entries(&after),
        owned(&[
            ("charge", "150.00", "", ""),
            ("charge", "50.00", "", ""),
            ("insurance_payment", "-72.00", "", ""),
            ("contractual_adjustment", "-60.00", "CO", "45"),
            ("patient_responsibility_transfer", "18.00", "PR", "2"),
            ("insurance_payment", "-24.00", "", ""),
            ("contractual_adjustment", "-20.00", "CO", "45"),
            ("patient_responsibility_transfer", "6.00", "PR", "2"),
        ])
    );
    for e in after["entries"].as_array().unwrap().iter().skip(2) {
        assert_eq!(e["remittance_id"], rem_id.as_str(), "{e}");
        assert_eq!(e["payer_id"], p.payer["id"], "{e}");
    }
    let last = after["transitions"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["from"], &last["to"]),
        (&json!("submitted"), &json!("paid"))
    );
    assert_eq!(last["actor"], "bill-7");
    assert_eq!(last["remittance_id"], rem_id.as_str());
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("matched by hand"),
        "{last}"
    );
    let history = &after["matched_by_hand"];
    assert_eq!(history.as_array().unwrap().len(), 1, "{after}");
    assert_eq!(history[0]["unmatched_id"], item_id.as_str());
    assert_eq!(history[0]["kind"], "matched");
    assert_eq!(history[0]["paid"], "96.00");
    assert_eq!(history[0]["decided_by"], "bill-7");
    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.body["patient_due"], "24.00", "{}", bal.text);
    assert_eq!(bal.body["insurance_pending"], "0.00");

    // The events a posting emits, committed with it, without patient data.
    let events = outbox(&s);
    let new: Vec<&(String, Value)> = events[events_before..].iter().collect();
    let types: Vec<&str> = new.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["claim.status_changed", "remittance.posted"],
        "{new:?}"
    );
    assert_eq!(new[0].1["data"]["claim_id"], claim["id"]);
    assert_eq!(new[0].1["data"]["to"], "paid");
    assert_eq!(new[0].1["data"]["remittance_id"], rem_id.as_str());
    assert_eq!(new[1].1["data"]["posted_paid"], "96.00");
    assert_eq!(new[1].1["data"]["unmatched_paid"], "0.00");
    for (_, e) in &new {
        let text = e.to_string();
        assert!(
            !text.contains(&FAMILY.to_uppercase()) && !text.contains(SELF_MEMBER),
            "{text}"
        );
    }

    // The queue is empty; the decided item is listed with its decision.
    assert_eq!(open_items(&s).await, Vec::<Value>::new());
    let resolved = s.get(&format!("{QUEUE}?status=resolved")).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(resolved.body["items"][0]["id"], item_id.as_str());
    assert_eq!(
        resolved.body["items"][0]["decision"]["decided_by"],
        "bill-7"
    );
    assert_eq!(resolved.body["items"][0]["candidates"], json!([]));

    // A second match is 409 and posts nothing; so is any other decision.
    let again = decide(
        &s,
        &biller,
        &item_id,
        "match",
        &json!({"claim_id": claim["id"]}),
    )
    .await;
    again.assert_problem(409);
    let not_ours = decide(
        &s,
        &biller,
        &item_id,
        "not-ours",
        &json!({"reason": "duplicate_payment", "refund": true}),
    )
    .await;
    not_ours.assert_problem(409);
    assert_eq!(s.get(&claim_path).await.body, after);
    assert_eq!(outbox(&s).len(), events.len());

    // The decision is audited with the patient it touched, in its transaction.
    let audit = s
        .get("/v1/audit-events?action=post&resource_type=Remittance")
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let rows: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_id"] == rem_id.as_str() && e["actor"] == "bill-7")
        .collect();
    let statuses: Vec<i64> = rows
        .iter()
        .map(|e| e["http_status"].as_i64().unwrap())
        .collect();
    assert!(statuses.contains(&200), "{rows:?}");
    let ok = rows.iter().find(|e| e["http_status"] == 200).unwrap();
    assert_eq!(ok["patient_ids"], json!([p.patient["id"]]));
}
on_both_engines!(an_unmatched_835_claim_payment_matched_by_hand_and_posted);

/// Two claims' services paid in one claim payment under a control number that names neither:
/// the biller splits its four service lines over the two claims; each claim gets exactly its
/// lines' money, one of them with a denied line (a denial opened). Splits that leave a line
/// out or give one twice are refused with a pointer and post nothing.
async fn a_claim_payment_split_over_two_claims(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = crate::fixtures::practice(&s).await;
    let coverage = self_coverage(&s, &p).await;
    let a = submitted_claim(&s, &p, &coverage, "2026-11-02").await;
    let b = submitted_claim(&s, &p, &coverage, "2026-11-03").await;
    // 400.00 billed, 196.00 paid, 24.00 to the patient. Lines: A 99214 (72.00, CO-45 60.00,
    // PR-2 18.00), B 99214 (100.00, CO-45 50.00), A 83036 (24.00, CO-45 20.00, PR-2 6.00),
    // B 83036 (denied: CO-97 50.00, bundled).
    let clp = vec![
        "CLP*BATCH20261103*1*400*196*24*12*ICN-SPLIT-1*11*1".to_string(),
        format!(
            "NM1*QC*1*{}*{}****MI*{SELF_MEMBER}",
            FAMILY.to_uppercase(),
            GIVEN.to_uppercase()
        ),
        "SVC*HC:99214:25*150*72**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*60".into(),
        "CAS*PR*2*18".into(),
        "SVC*HC:99214:25*150*100**1".into(),
        "DTM*472*20261103".into(),
        "CAS*CO*45*50".into(),
        "SVC*HC:83036*50*24**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*20".into(),
        "CAS*PR*2*6".into(),
        "SVC*HC:83036*50*0**1".into(),
        "DTM*472*20261103".into(),
        "CAS*CO*97*50".into(),
        "LQ*HE*M15".into(),
    ];
    import(&s, era("EFT-SPLIT-1", 721, "196", &[clp])).await;
    let items = open_items(&s).await;
    assert_eq!(items.len(), 1);
    let item_id = id(&items[0]).to_string();
    assert_eq!(items[0]["lines"].as_array().unwrap().len(), 4);
    assert_eq!(items[0]["total_charge"], "400.00");
    let (a_path, b_path) = (
        format!("/v1/claims/{}/ledger", id(&a)),
        format!("/v1/claims/{}/ledger", id(&b)),
    );
    let (a_before, b_before) = (s.get(&a_path).await.body, s.get(&b_path).await.body);

    let split = |parts: Value| json!({"parts": parts});
    let bad = [
        // Line 3 goes nowhere.
        (
            split(
                json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": b["id"], "lines": [1]}]),
            ),
            "/parts",
        ),
        // Line 2 twice.
        (
            split(
                json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": b["id"], "lines": [1, 2, 3]}]),
            ),
            "/parts/1/lines/1",
        ),
        // No such line.
        (
            split(
                json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": b["id"], "lines": [1, 4]}]),
            ),
            "/parts/1/lines/1",
        ),
        // One part only.
        (
            split(json!([{"claim_id": a["id"], "lines": [0, 1, 2, 3]}])),
            "/parts",
        ),
        // Both parts to one claim.
        (
            split(
                json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": a["id"], "lines": [1, 3]}]),
            ),
            "/parts/1/claim_id",
        ),
        // A claim that does not exist.
        (
            split(
                json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0c09", "lines": [1, 3]}]),
            ),
            "/parts/1/claim_id",
        ),
    ];
    for (body, pointer) in bad {
        let r = s.post(&format!("{QUEUE}/{item_id}/split"), &body).await;
        assert_eq!(r.assert_problem(422), vec![pointer.to_string()], "{body}");
    }
    assert_eq!(s.get(&a_path).await.body, a_before);
    assert_eq!(s.get(&b_path).await.body, b_before);
    assert_eq!(open_items(&s).await.len(), 1);

    let r = s
        .post(
            &format!("{QUEUE}/{item_id}/split"),
            &split(json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": b["id"], "lines": [1, 3]}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["item"]["decision"]["kind"], "split");
    let claims = &r.body["item"]["decision"]["claims"];
    assert_eq!(claims[0]["claim_id"], a["id"]);
    assert_eq!(claims[0]["lines"], json!([0, 2]));
    assert_eq!(claims[0]["paid"], "96.00");
    assert_eq!(claims[0]["status_after"], "paid");
    assert_eq!(claims[1]["claim_id"], b["id"]);
    assert_eq!(claims[1]["lines"], json!([1, 3]));
    assert_eq!(claims[1]["paid"], "100.00");
    assert_eq!(claims[1]["status_after"], "partially_paid");
    assert_eq!(r.body["posting"]["totals"]["posted_paid"], "196.00");
    let denied = &r.body["posting"]["denials"];
    assert_eq!(denied.as_array().unwrap().len(), 1, "{}", r.text);
    assert_eq!(denied[0]["claim_id"], b["id"]);
    assert_eq!(denied[0]["procedure_code"], "83036");
    assert_eq!(denied[0]["carc"], "97");
    assert_eq!(denied[0]["amount"], "50.00");

    let a_after = s.get(&a_path).await.body;
    assert_eq!(a_after["status"], "paid");
    assert_eq!(a_after["balance"]["insurance"], "0.00");
    assert_eq!(a_after["balance"]["patient"], "24.00");
    assert_eq!(
        entries(&a_after),
        owned(&[
            ("charge", "150.00", "", ""),
            ("charge", "50.00", "", ""),
            ("insurance_payment", "-72.00", "", ""),
            ("contractual_adjustment", "-60.00", "CO", "45"),
            ("patient_responsibility_transfer", "18.00", "PR", "2"),
            ("insurance_payment", "-24.00", "", ""),
            ("contractual_adjustment", "-20.00", "CO", "45"),
            ("patient_responsibility_transfer", "6.00", "PR", "2"),
        ])
    );
    let b_after = s.get(&b_path).await.body;
    assert_eq!(b_after["status"], "partially_paid");
    // The denied line stays with the payer until the biller works the denial.
    assert_eq!(b_after["balance"]["insurance"], "50.00");
    assert_eq!(b_after["balance"]["patient"], "0.00");
    assert_eq!(
        entries(&b_after),
        owned(&[
            ("charge", "150.00", "", ""),
            ("charge", "50.00", "", ""),
            ("insurance_payment", "-100.00", "", ""),
            ("contractual_adjustment", "-50.00", "CO", "45"),
        ])
    );
    assert_eq!(b_after["matched_by_hand"][0]["kind"], "split");
    assert_eq!(b_after["matched_by_hand"][0]["lines"], json!([1, 3]));
    let denials = s
        .get(&format!("/v1/work-queues/denials?claim_id={}", id(&b)))
        .await;
    assert_eq!(denials.status, 200, "{}", denials.text);
    let d = denials.body["items"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{}", denials.text);
    assert_eq!(
        (&d[0]["carc"], &d[0]["amount"]),
        (&json!("97"), &json!("50.00"))
    );
    assert_eq!(open_items(&s).await, Vec::<Value>::new());
    let again = s
        .post(
            &format!("{QUEUE}/{item_id}/split"),
            &split(json!([{"claim_id": a["id"], "lines": [0, 2]}, {"claim_id": b["id"], "lines": [1, 3]}])),
        )
        .await;
    again.assert_problem(409);
}
on_both_engines!(a_claim_payment_split_over_two_claims);

/// A payment for another provider's patient is decided not ours with a refund owed of exactly
/// what the payer paid; a denied claim payment has nothing to refund. A claim billed to
/// another payer takes a payment only with an override reason. Another organization sees 404.
async fn not_ours_refunds_other_payers_and_tenants(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = crate::fixtures::practice(&s).await;
    let coverage = self_coverage(&s, &p).await;
    let claim = submitted_claim(&s, &p, &coverage, "2026-11-02").await;
    let stranger = vec![
        "CLP*ZZ0000000000STRANGE*1*150*112.50**12*ICN-STRANGER-1*11*1".to_string(),
        format!("NM1*QC*1*NOBODY*NEMO****MI*{MEMBER_ID}"),
        "SVC*HC:99213*150*112.5**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*37.5".into(),
    ];
    let denied =
        crate::denials::denied_claim("ZZ0000000000DENIED", "ICN-DENIED-1", "CO", "16", "20261102");
    import(&s, era("EFT-NOTOURS-1", 731, "112.5", &[stranger, denied])).await;
    let items = open_items(&s).await;
    assert_eq!(items.len(), 2);
    let (paid_item, denied_item) = (id(&items[0]).to_string(), id(&items[1]).to_string());
    assert_eq!(items[0]["paid"], "112.50");
    assert_eq!(items[1]["paid"], "0.00");
    assert_eq!(items[0]["candidates"], json!([]));

    // Another organization sees none of it.
    let (_, outsider) = s.new_org("Elsewhere");
    let r = decide(
        &s,
        &outsider,
        &paid_item,
        "not-ours",
        &json!({"reason": "not_our_patient", "refund": true}),
    )
    .await;
    r.assert_problem(404);
    let r = decide(
        &s,
        &outsider,
        &paid_item,
        "match",
        &json!({"claim_id": claim["id"]}),
    )
    .await;
    r.assert_problem(404);
    let r = s
        .call(
            "GET",
            &format!("{QUEUE}/{paid_item}"),
            Some(&outsider),
            None,
            &[],
        )
        .await;
    r.assert_problem(404);
    let r = s.call("GET", QUEUE, Some(&outsider), None, &[]).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.text);
    let r = s.get(&format!("{QUEUE}?status=closed")).await;
    assert_eq!(r.assert_problem(422), vec!["/status".to_string()]);

    // Nothing to refund on a claim payment that paid nothing.
    let r = s
        .post(
            &format!("{QUEUE}/{denied_item}/not-ours"),
            &json!({"reason": "other_provider", "refund": true}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/refund".to_string()]);
    let r = s
        .post(
            &format!("{QUEUE}/{denied_item}/not-ours"),
            &json!({"reason": "other_provider", "refund": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["posting"], Value::Null);
    assert_eq!(r.body["item"]["decision"]["refund"], Value::Null);
    assert_eq!(
        r.body["item"]["decision"]["not_ours_reason"],
        "other_provider"
    );

    let r = s
        .post(
            &format!("{QUEUE}/{paid_item}/not-ours"),
            &json!({"reason": "not_our_patient", "refund": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let decision = &r.body["item"]["decision"];
    assert_eq!(decision["kind"], "not_ours");
    assert_eq!(decision["claims"], json!([]));
    assert_eq!(decision["refund"]["amount"], "112.50");
    assert_eq!(decision["refund"]["payer_id"], p.payer["id"]);
    assert_eq!(decision["refund"]["status"], "owed");
    let refunds = s.get("/v1/work-queues/payer-refunds").await;
    assert_eq!(refunds.status, 200, "{}", refunds.text);
    let owed = refunds.body["items"].as_array().unwrap();
    assert_eq!(owed.len(), 1, "{}", refunds.text);
    assert_eq!(owed[0]["amount"], "112.50");
    assert_eq!(owed[0]["unmatched_id"], paid_item.as_str());
    assert_eq!(owed[0]["patient_control_number"], "ZZ0000000000STRANGE");
    assert_eq!(owed[0]["payer_claim_number"], "ICN-STRANGER-1");
    assert_eq!(owed[0]["reason"], "not_our_patient");
    let by_payer = s
        .get(&format!(
            "/v1/work-queues/payer-refunds?payer_id={}",
            id(&p.payer)
        ))
        .await;
    assert_eq!(by_payer.body["items"].as_array().unwrap().len(), 1);
    // Nothing was posted to the claim.
    let ledger = s
        .get(&format!("/v1/claims/{}/ledger", id(&claim)))
        .await
        .body;
    assert_eq!(ledger["balance"]["insurance"], "200.00");
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 2);
    assert_eq!(open_items(&s).await, Vec::<Value>::new());

    // Another payer's remittance (entered by hand) paying this practice's claim under a
    // mistyped control number: refused at /claim_id without a reason, posted with one.
    let other = s
        .create(
            "/v1/payers",
            &json!({"name": "Beacon Mutual", "payer_code": "77001", "claim_filing_indicator": "CI",
                "timely_filing_days": 3650}),
        )
        .await;
    let rem = s
        .create(
            "/v1/remittances",
            &json!({"payer_id": other["id"], "trace_number": "CHK-88001", "payment_date": "2026-11-25",
                "payment_method": "CHK", "total_paid": "96.00",
                "claims": [{"patient_control_number": typo(&pcn_of(&claim)), "status_code": "1",
                    "total_charge": "200.00", "paid": "96.00", "patient_responsibility": "24.00",
                    "payer_claim_number": "BM-2026-0001",
                    "lines": [
                        {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "72.00", "units": "1",
                         "adjustments": [{"group": "CO", "reason": "45", "amount": "60.00"},
                                         {"group": "PR", "reason": "2", "amount": "18.00"}]},
                        {"procedure_code": "83036", "charge": "50.00", "paid": "24.00", "units": "1",
                         "adjustments": [{"group": "CO", "reason": "45", "amount": "20.00"},
                                         {"group": "PR", "reason": "2", "amount": "6.00"}]}]}]}),
        )
        .await;
    let posted = s
        .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let items = open_items(&s).await;
    assert_eq!(items.len(), 1);
    let item_id = id(&items[0]).to_string();
    // Not offered: billed to another payer.
    assert_eq!(items[0]["candidates"], json!([]));
    let before = s
        .get(&format!("/v1/claims/{}/ledger", id(&claim)))
        .await
        .body;
    let r = s
        .post(
            &format!("{QUEUE}/{item_id}/match"),
            &json!({"claim_id": claim["id"]}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/claim_id".to_string()]);
    let r = s
        .post(
            &format!("{QUEUE}/{item_id}/match"),
            &json!({"claim_id": claim["id"], "override_reason": "not_a_reason"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(
        s.get(&format!("/v1/claims/{}/ledger", id(&claim)))
            .await
            .body,
        before
    );
    let r = s
        .post(
            &format!("{QUEUE}/{item_id}/match"),
            &json!({"claim_id": claim["id"], "override_reason": "payer_identity_changed"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["item"]["decision"]["override_reason"],
        "payer_identity_changed"
    );
    let after = s
        .get(&format!("/v1/claims/{}/ledger", id(&claim)))
        .await
        .body;
    assert_eq!(after["status"], "paid");
    assert_eq!(after["balance"]["insurance"], "0.00");
    assert_eq!(after["balance"]["patient"], "24.00");
    assert_eq!(
        after["matched_by_hand"][0]["override_reason"],
        "payer_identity_changed"
    );
}
on_both_engines!(not_ours_refunds_other_payers_and_tenants);
