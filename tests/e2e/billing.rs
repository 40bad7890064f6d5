//! The billing engine through HTTP: scrub, lifecycle transitions, charges, 835 posting (exact
//! amounts, idempotency, balancing), the work queue, patient payments and statements, reports.

use diesel::connection::SimpleConnection;
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::{Practice, practice};
use crate::on_both_engines;

const NO_RATE_LIMIT: &[(&str, &str)] = &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")];

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// The patient's own coverage (relationship self: no separate subscriber to complete).
async fn self_coverage(s: &Server, p: &Practice) -> Value {
    s.create(
        "/v1/coverages",
        &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
            "member_id": "SELF123456", "relationship": "self", "effective_from": "2026-01-01"}),
    )
    .await
}

/// An encounter of two lines, 99214 150.00 and 83036 50.00 (200.00), on `date`.
pub(crate) async fn encounter_on(s: &Server, p: &Practice, date: &str) -> Value {
    let coverage = self_coverage(s, p).await;
    s.create(
        "/v1/encounters",
        &json!({
            "patient_id": p.patient["id"], "coverage_id": coverage["id"],
            "billing_provider_id": p.billing["id"], "rendering_provider_id": p.rendering["id"],
            "service_date_from": date, "place_of_service": "11",
            "diagnoses": ["E11.9", "I10"],
            "lines": [
                {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
                {"procedure_code": "83036", "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}
            ]
        }),
    )
    .await
}

/// A claim for a 200.00 encounter on `date`, scrubbed (draft -> ready) and submitted.
pub(crate) async fn submitted_claim(s: &Server, p: &Practice, date: &str) -> Value {
    let enc = encounter_on(s, p, date).await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.status, 200, "{}", scrub.text);
    assert_eq!(scrub.body["passed"], true, "{}", scrub.text);
    assert_eq!(scrub.body["status"], "ready");
    assert_eq!(scrub.body["transition"]["from"], "draft");
    let sub = s
        .post(
            &format!("/v1/claims/{}/transition", id(&claim)),
            &json!({"to": "submitted", "reason": "batch 1"}),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
    assert_eq!(sub.body["claim"]["status"], "submitted");
    sub.body["claim"].clone()
}

/// The hand-worked 835: 200.00 billed, 96.00 paid, CO-45 80.00, PR-2 24.00, by line.
pub(crate) fn remittance(payer: &Value, claim: &Value, trace: &str, total: &str) -> Value {
    json!({
        "payer_id": payer["id"], "trace_number": trace, "payment_date": "2026-11-20",
        "payment_method": "ACH", "total_paid": total,
        "claims": [{
            "patient_control_number": claim["patient_control_number"], "status_code": "1",
            "total_charge": "200.00", "paid": "96.00", "patient_responsibility": "24.00",
            "payer_claim_number": format!("ICN-{trace}"),
            "lines": [
                {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "72.00", "units": "1",
                 "adjustments": [{"group": "CO", "reason": "45", "amount": "60.00"},
                                 {"group": "PR", "reason": "2", "amount": "18.00"}]},
                {"procedure_code": "83036", "charge": "50.00", "paid": "24.00", "units": "1",
                 "adjustments": [{"group": "CO", "reason": "45", "amount": "20.00"},
                                 {"group": "PR", "reason": "2", "amount": "6.00"}]}
            ]
        }]
    })
}

fn sum_kind(ledger: &Value, kind: &str) -> f64 {
    ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["amount"].as_str().unwrap().parse::<f64>().unwrap())
        .sum()
}

async fn hand_worked_835_posts_exactly_once(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let ledger_path = format!("/v1/claims/{}/ledger", id(&claim));

    // Charges were posted when the claim became ready: one per line.
    let before = s.get(&ledger_path).await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert_eq!(before.body["entries"].as_array().unwrap().len(), 2);
    assert_eq!(before.body["balance"]["insurance"], "200.00");
    assert_eq!(before.body["balance"]["patient"], "0.00");

    // An unbalanced remittance (BPR02 100.00, payments 96.00) posts nothing.
    let bad = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-BAD", "100.00"),
        )
        .await;
    let r = s
        .post(&format!("/v1/remittances/{}/post", id(&bad)), &json!({}))
        .await;
    assert_eq!(r.assert_problem(422), vec!["/total_paid".to_string()]);
    let msg = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("100.00") && msg.contains("96.00"), "{msg}");
    assert_eq!(s.get(&ledger_path).await.body, before.body);
    assert_eq!(
        s.get(&format!("/v1/remittances/{}", id(&bad))).await.body["status"],
        "received"
    );

    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-0001", "96.00"),
        )
        .await;
    let post_path = format!("/v1/remittances/{}/post", id(&rem));
    let first = s.post(&post_path, &json!({})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["replayed"], false);
    assert_eq!(first.body["claims"][0]["status_before"], "submitted");
    assert_eq!(first.body["claims"][0]["status_after"], "paid");
    assert_eq!(first.body["totals"]["posted_paid"], "96.00");
    assert_eq!(first.body["totals"]["remittance_total"], "96.00");
    assert_eq!(first.body["unmatched"], json!([]));
    // 2 payments, 2 CO, 2 PR transfers.
    assert_eq!(first.body["entries_posted"], 6);

    let after = s.get(&ledger_path).await.body;
    assert_eq!(after["status"], "paid");
    assert_eq!(after["balance"]["insurance"], "0.00");
    assert_eq!(after["balance"]["patient"], "24.00");
    assert_eq!(after["balance"]["total"], "24.00");
    assert_eq!(sum_kind(&after, "charge"), 200.0);
    assert_eq!(sum_kind(&after, "insurance_payment"), -96.0);
    assert_eq!(sum_kind(&after, "contractual_adjustment"), -80.0);
    assert_eq!(sum_kind(&after, "patient_responsibility_transfer"), 24.0);
    let co: Vec<&Value> = after["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "contractual_adjustment")
        .collect();
    assert!(co.iter().all(|e| e["group"] == "CO" && e["carc"] == "45"));
    assert_eq!(co[0]["amount"], "-60.00");
    let statuses: Vec<(&str, &str)> = after["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].as_str().unwrap(), t["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("draft", "ready"),
            ("ready", "submitted"),
            ("submitted", "paid")
        ]
    );
    assert_eq!(
        after["transitions"][2]["actor"],
        format!("remittance:{}", id(&rem))
    );

    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.status, 200, "{}", bal.text);
    assert_eq!(bal.body["patient_due"], "24.00");
    assert_eq!(bal.body["insurance_pending"], "0.00");

    // Posting again changes nothing and answers as the first time.
    let again = s.post(&post_path, &json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["posting_id"], first.body["posting_id"]);
    assert_eq!(again.body["claims"], first.body["claims"]);
    assert_eq!(s.get(&ledger_path).await.body, after);

    // Both postings were audited with the patient they touched, in their transactions.
    let events = s
        .get("/v1/audit-events?action=post&resource_type=Remittance")
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    let items = events.body["items"].as_array().unwrap();
    let ok: Vec<&Value> = items
        .iter()
        .filter(|e| e["resource_id"] == rem["id"] && e["http_status"] == 200)
        .collect();
    assert_eq!(ok.len(), 2, "{items:?}");
    for e in ok {
        assert_eq!(e["patient_ids"], json!([p.patient["id"]]));
        let fields: Vec<&str> = e["fields_disclosed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(fields.contains(&"ledger"), "{fields:?}");
    }

    // Nothing was denied.
    let denials = s.get("/v1/reports/denials").await;
    assert_eq!(denials.status, 200, "{}", denials.text);
    assert_eq!(denials.body["count"], 0);
}
on_both_engines!(hand_worked_835_posts_exactly_once);

async fn unmatched_claims_go_to_the_work_queue(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let mut body = remittance(&p.payer, &claim, "EFT-UNM", "196.00");
    let mut stranger = body["claims"][0].clone();
    stranger["patient_control_number"] = json!("NOSUCHCLAIM000000001");
    stranger["payer_claim_number"] = json!("ICN-STRANGER");
    body["claims"].as_array_mut().unwrap().push(stranger);
    body["claims"][1]["paid"] = json!("100.00");
    body["claims"][1]["total_charge"] = json!("204.00");
    body["claims"][1]["lines"][0]["charge"] = json!("154.00");
    body["claims"][1]["lines"][0]["paid"] = json!("76.00");
    let rem = s.create("/v1/remittances", &body).await;
    let r = s
        .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["claims"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["unmatched"][0]["index"], 1);
    assert_eq!(r.body["unmatched"][0]["paid"], "100.00");
    assert_eq!(r.body["unmatched"][0]["reason"]["code"], "no_such_claim");
    assert_eq!(r.body["totals"]["unmatched_paid"], "100.00");
    let q = s.get("/v1/work-queues/unmatched-remittances").await;
    assert_eq!(q.status, 200, "{}", q.text);
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["patient_control_number"], "NOSUCHCLAIM000000001");
    assert_eq!(items[0]["remittance_id"], rem["id"]);
    assert_eq!(items[0]["state"], "open");
}
on_both_engines!(unmatched_claims_go_to_the_work_queue);

async fn patient_payment_spans_two_claims(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let older = submitted_claim(&s, &p, "2026-10-05").await;
    let newer = submitted_claim(&s, &p, "2026-11-02").await;
    for (c, trace) in [(&older, "EFT-A"), (&newer, "EFT-B")] {
        let rem = s
            .create("/v1/remittances", &remittance(&p.payer, c, trace, "96.00"))
            .await;
        let r = s
            .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let patient = id(&p.patient);
    let bal = s.get(&format!("/v1/patients/{patient}/balance")).await;
    assert_eq!(bal.body["patient_due"], "48.00");

    // 30.00, oldest first: 24.00 settles the older claim, 6.00 goes to the newer one.
    let pay = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "30.00", "reference": "RCPT-1"}),
        )
        .await;
    assert_eq!(pay.status, 200, "{}", pay.text);
    assert_eq!(pay.body["unapplied"], "0.00");
    assert_eq!(pay.body["balance"]["patient_due"], "18.00");
    let by_claim = |c: &Value| -> f64 {
        pay.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["claim_id"] == c["id"])
            .map(|e| e["amount"].as_str().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    assert_eq!(by_claim(&older), -24.0);
    assert_eq!(by_claim(&newer), -6.0);
    let claims = pay.body["balance"]["claims"].as_array().unwrap();
    assert_eq!(claims[0]["claim_id"], older["id"]);
    assert_eq!(claims[0]["balance"]["patient"], "0.00");
    assert_eq!(claims[1]["balance"]["patient"], "18.00");

    // A payment to a claim with nothing owed by the patient is refused.
    let r = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "5.00", "claim_id": older["id"]}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/claim_id".to_string()]);
    // Overpaying the newer claim leaves account credit, not a negative claim.
    let over = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "20.00", "claim_id": newer["id"]}),
        )
        .await;
    assert_eq!(over.status, 200, "{}", over.text);
    assert_eq!(over.body["unapplied"], "2.00");
    assert_eq!(over.body["balance"]["account_credit"], "-2.00");
    assert_eq!(over.body["balance"]["patient_due"], "-2.00");

    // Statement: nothing open now; pay-down shown before.
    let st = s.get(&format!("/v1/patients/{patient}/statement")).await;
    assert_eq!(st.status, 200, "{}", st.text);
    assert_eq!(st.body["items"], json!([]));
    assert_eq!(st.body["account_credit"], "-2.00");
    assert_eq!(st.body["patient_due"], "0.00");
}
on_both_engines!(patient_payment_spans_two_claims);

async fn statement_json_and_html(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-ST", "96.00"),
        )
        .await;
    s.post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    let path = format!("/v1/patients/{}/statement", id(&p.patient));
    let st = s.get(&path).await;
    assert_eq!(st.status, 200, "{}", st.text);
    let item = &st.body["items"][0];
    assert_eq!(item["charges"], "200.00");
    assert_eq!(item["insurance_paid"], "96.00");
    assert_eq!(item["adjustments"], "80.00");
    assert_eq!(item["patient_responsibility"], "24.00");
    assert_eq!(item["patient_due"], "24.00");
    assert_eq!(st.body["patient_due"], "24.00");
    assert_eq!(item["procedures"], json!(["99214", "83036"]));

    let html = s
        .call(
            "GET",
            &path,
            Some(&s.token.clone()),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(html.status, 200);
    assert!(
        html.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(html.text.starts_with("<!DOCTYPE html>"));
    assert!(html.text.contains("Amount due: $24.00"));
    assert!(html.text.contains(crate::fixtures::FAMILY));
}
on_both_engines!(statement_json_and_html);

async fn refused_transition_and_scrub_findings(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": p.encounter["id"]}))
        .await;
    let path = format!("/v1/claims/{}/transition", id(&claim));
    let r = s.post(&path, &json!({"to": "paid"})).await;
    r.assert_problem(409);
    assert_eq!(r.body["type"], "urn:revcycle:problem:transition-refused");
    assert_eq!(r.body["allowed_next"], json!(["ready", "voided"]));
    assert!(r.body["detail"].as_str().unwrap().contains("draft to paid"));
    // Nothing changed.
    let got = s.get(&format!("/v1/claims/{}", id(&claim))).await;
    assert_eq!(got.body["status"], "draft");
    assert_eq!(got.body["version"], claim["version"]);

    // A non-billable category code is refused at the door when the draft is recoded...
    let mut lines = claim["lines"].clone();
    for l in lines.as_array_mut().unwrap() {
        let o = l.as_object_mut().unwrap();
        o.remove("id");
        o.remove("line_number");
    }
    let recode = s
        .put(
            &format!("/v1/claims/{}", id(&claim)),
            "\"1\"",
            &json!({"place_of_service": "11", "diagnoses": ["E11", "I10"], "lines": lines}),
        )
        .await;
    assert_eq!(recode.assert_problem(422), ["/diagnoses/0"]);
    // ...while what only the scrubber can know (the coverage no longer in force) is found at
    // scrub: named by pointer, and the claim stays a draft.
    let mut cov = p.coverage.clone();
    for k in ["id", "version", "created_at", "updated_at"] {
        cov.as_object_mut().unwrap().remove(k);
    }
    cov["active"] = json!(false);
    let put = s
        .put(
            &format!("/v1/coverages/{}", id(&p.coverage)),
            &format!("\"{}\"", p.coverage["version"]),
            &cov,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.status, 200, "{}", scrub.text);
    assert_eq!(scrub.body["passed"], false);
    assert_eq!(scrub.body["status"], "draft");
    assert_eq!(scrub.body["transition"], Value::Null);
    let findings = scrub.body["findings"].as_array().unwrap();
    let errors: Vec<&str> = findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["pointer"].as_str().unwrap())
        .collect();
    assert!(errors.contains(&"/coverage/active"), "{findings:?}");
    // The transition route runs the same edits before ready.
    let r = s.post(&path, &json!({"to": "ready"})).await;
    let ptrs = r.assert_problem(422);
    assert!(ptrs.contains(&"/coverage/active".to_string()), "{ptrs:?}");
    // No charges for a claim that never became ready.
    let l = s.get(&format!("/v1/claims/{}/ledger", id(&claim))).await;
    assert_eq!(l.body["entries"], json!([]));
    // Voiding a draft is allowed, and terminal.
    let v = s.post(&path, &json!({"to": "voided"})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    let r = s.post(&path, &json!({"to": "draft"})).await;
    r.assert_problem(409);
    assert_eq!(r.body["allowed_next"], json!([]));
}
on_both_engines!(refused_transition_and_scrub_findings);

/// Two claims from one encounter: a draft is not yet a claim to the payer, so it does not make
/// the other a duplicate; the second to leave draft is the duplicate of the first.
async fn a_draft_does_not_make_a_ready_claim_a_duplicate(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let enc = encounter_on(&s, &p, "2026-11-02").await;
    let first = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let second = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = |c: &Value| format!("/v1/claims/{}/scrub", id(c));
    let r = s.post(&scrub(&first), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["passed"], true, "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    let r = s.post(&scrub(&second), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["passed"], false, "{}", r.text);
    assert_eq!(r.body["status"], "draft");
    let rules: Vec<&str> = r.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["edit"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["claim.duplicate"], "{}", r.text);
    // The first goes on to the payer; the draft beside it is no reason to hold it.
    let sub = s
        .post(
            &format!("/v1/claims/{}/transition", id(&first)),
            &json!({"to": "submitted"}),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
}
on_both_engines!(a_draft_does_not_make_a_ready_claim_a_duplicate);

async fn ar_aging_buckets_relative_to_today(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    // Dates relative to today, so the ledger's posting dates (today) fall inside the window:
    // a service 59 days before as-of is 31-60 days old, one 138 days before is 120+.
    let today = chrono::Utc::now().date_naive();
    let day = |back: i64| (today - chrono::Duration::days(back)).to_string();
    let as_of = today.to_string();
    let recent = submitted_claim(&s, &p, &day(59)).await;
    let old = submitted_claim(&s, &p, &day(138)).await;
    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &recent, "EFT-AG", "96.00"),
        )
        .await;
    s.post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    let _ = old;
    let r = s
        .get(&format!(
            "/v1/reports/ar-aging?as_of={as_of}&group_by=payer&basis=service"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["buckets"],
        json!(["0-30", "31-60", "61-90", "91-120", "120+"])
    );
    // The paid claim owes the payer nothing; the old one owes all of it.
    let rows = r.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["key"], p.payer["id"]);
    assert_eq!(
        rows[0]["amounts"],
        json!(["0.00", "0.00", "0.00", "0.00", "200.00"])
    );
    assert_eq!(r.body["total"], "200.00");
    // Aged from its submission (today) instead, the same claim is current.
    let r = s
        .get(&format!(
            "/v1/reports/ar-aging?as_of={as_of}&group_by=payer&basis=submission"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["rows"][0]["amounts"],
        json!(["200.00", "0.00", "0.00", "0.00", "0.00"])
    );

    let r = s
        .get(&format!(
            "/v1/reports/ar-aging?as_of={as_of}&group_by=patient"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["rows"][0]["amounts"],
        json!(["0.00", "24.00", "0.00", "0.00", "0.00"])
    );
    let r = s.get("/v1/reports/ar-aging?group_by=nobody").await;
    r.assert_problem(422);

    let k = s
        .get(&format!(
            "/v1/reports/kpis?from={}&to={}",
            day(364),
            day(-1)
        ))
        .await;
    assert_eq!(k.status, 200, "{}", k.text);
    assert_eq!(k.body["clean_claim_rate"]["value"], "1.0000");
    assert_eq!(k.body["denial_rate"]["value"], "0.0000");
    // Collected 96.00 of 400.00 charged less 80.00 contractual.
    assert_eq!(k.body["net_collection_rate"]["value"], "0.3000");
    // A/R 224.00 (200.00 with the payer, 24.00 with the patient) over 400.00 / 90 a day.
    assert_eq!(k.body["days_in_ar"]["numerator"], "224.00");
    assert_eq!(k.body["days_in_ar"]["denominator"], "4.44");
    assert_eq!(k.body["days_in_ar"]["value"], "50.4505");
}
on_both_engines!(ar_aging_buckets_relative_to_today);

async fn ledger_and_history_are_append_only(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    submitted_claim(&s, &p, "2026-11-02").await;
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    for stmt in [
        "UPDATE ledger_entries SET amount = '0.00'",
        "DELETE FROM ledger_entries",
        "UPDATE claim_transitions SET actor = 'someone-else'",
        "DELETE FROM claim_transitions",
    ] {
        assert!(conn.batch_execute(stmt).is_err(), "{stmt} was allowed");
    }
}
on_both_engines!(ledger_and_history_are_append_only);

async fn denial_is_reported_not_posted(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let rem = s
        .create(
            "/v1/remittances",
            &json!({
                "payer_id": p.payer["id"], "trace_number": "EFT-DENY", "payment_date": "2026-11-20",
                "payment_method": "CHK", "total_paid": "0.00",
                "claims": [{
                    "patient_control_number": claim["patient_control_number"], "status_code": "4",
                    "total_charge": "200.00", "paid": "0.00", "payer_claim_number": "ICN-D",
                    "lines": [
                        {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "0.00",
                         "adjustments": [{"group": "CO", "reason": "29", "amount": "150.00"}]},
                        {"procedure_code": "83036", "charge": "50.00", "paid": "0.00",
                         "adjustments": [{"group": "CO", "reason": "29", "amount": "50.00"}]}
                    ]
                }]
            }),
        )
        .await;
    let r = s
        .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["claims"][0]["status_after"], "denied");
    assert_eq!(r.body["entries_posted"], 0);
    assert_eq!(r.body["denials"].as_array().unwrap().len(), 2);
    let l = s
        .get(&format!("/v1/claims/{}/ledger", id(&claim)))
        .await
        .body;
    assert_eq!(l["status"], "denied");
    assert_eq!(l["balance"]["insurance"], "200.00", "stays with the payer");

    let d = s
        .get("/v1/reports/denials?from=2026-01-01&to=2099-12-31")
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["count"], 2);
    assert_eq!(d.body["claims"], 1);
    assert_eq!(d.body["amount"], "200.00");
    assert_eq!(
        d.body["by_carc"],
        json!([{"key": "CO-29", "count": 2, "amount": "200.00"}])
    );
    assert_eq!(d.body["by_payer"][0]["key"], p.payer["id"]);
    assert_eq!(
        d.body["by_procedure_code"],
        json!([{"key": "99214", "count": 1, "amount": "150.00"},
               {"key": "83036", "count": 1, "amount": "50.00"}])
    );
    let k = s
        .get("/v1/reports/kpis?from=2026-01-01&to=2099-12-31")
        .await;
    assert_eq!(k.body["denial_rate"]["value"], "1.0000");
    assert_eq!(k.body["clean_claim_rate"]["value"], "0.0000");
    // A denied claim can be appealed, then paid.
    let t = s
        .post(
            &format!("/v1/claims/{}/transition", id(&claim)),
            &json!({"to": "appealed", "reason": "medical necessity letter sent"}),
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
}
on_both_engines!(denial_is_reported_not_posted);

async fn reversal_and_readjudication(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-R1", "96.00"),
        )
        .await;
    s.post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    // CLP02 22 takes back the 96.00; the re-adjudication pays 100.00 (CO 76.00, PR 24.00).
    let mut body = remittance(&p.payer, &claim, "EFT-R2", "4.00");
    let readj = json!({
        "patient_control_number": claim["patient_control_number"], "status_code": "1",
        "total_charge": "200.00", "paid": "100.00", "payer_claim_number": "ICN-R2",
        "lines": [
            {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "75.00",
             "adjustments": [{"group": "CO", "reason": "45", "amount": "57.00"},
                             {"group": "PR", "reason": "2", "amount": "18.00"}]},
            {"procedure_code": "83036", "charge": "50.00", "paid": "25.00",
             "adjustments": [{"group": "CO", "reason": "45", "amount": "19.00"},
                             {"group": "PR", "reason": "2", "amount": "6.00"}]}
        ]
    });
    body["claims"] = json!([{
        "patient_control_number": claim["patient_control_number"], "status_code": "22",
        "total_charge": "-200.00", "paid": "-96.00", "payer_claim_number": "ICN-R2",
        "adjustments": [{"group": "CO", "reason": "45", "amount": "-80.00"},
                        {"group": "PR", "reason": "2", "amount": "-24.00"}]
    }, readj]);
    let rem2 = s.create("/v1/remittances", &body).await;
    let r = s
        .post(&format!("/v1/remittances/{}/post", id(&rem2)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["unmatched"], json!([]), "{}", r.text);
    let l = s
        .get(&format!("/v1/claims/{}/ledger", id(&claim)))
        .await
        .body;
    assert_eq!(l["status"], "paid");
    assert_eq!(l["balance"]["insurance"], "0.00");
    assert_eq!(l["balance"]["patient"], "24.00");
    let reversals = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "reversal")
        .count();
    assert_eq!(reversals, 6, "each entry of the first posting negated");
    let to: Vec<&str> = l["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(to, vec!["ready", "submitted", "paid", "submitted", "paid"]);
    // The KPIs count each reversal as the kind it reverses: payments 96.00 - 96.00 + 100.00,
    // contractual adjustments 80.00 - 80.00 + 76.00 against the 200.00 charged.
    let k = s
        .get("/v1/reports/kpis?from=2026-01-01&to=2099-12-31")
        .await;
    assert_eq!(k.status, 200, "{}", k.text);
    assert_eq!(k.body["net_collection_rate"]["numerator"], "100.00");
    assert_eq!(k.body["net_collection_rate"]["denominator"], "124.00");
}
on_both_engines!(reversal_and_readjudication);

async fn payment_plan_and_idempotent_payments(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-PP", "96.00"),
        )
        .await;
    s.post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    let patient = id(&p.patient);
    let plans = format!("/v1/patients/{patient}/payment-plans");
    let r = s
        .post(
            &plans,
            &json!({"installments": 1, "first_due": "2027-01-15"}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/installments".to_string()]);
    let r = s
        .post(
            &plans,
            &json!({"installments": 3, "first_due": "2027-01-31", "amount": "25.00"}),
        )
        .await;
    assert_eq!(r.assert_problem(422), vec!["/amount".to_string()]);
    let plan = s
        .create(
            &plans,
            &json!({"installments": 5, "first_due": "2027-01-31"}),
        )
        .await;
    assert_eq!(plan["total"], "24.00");
    assert_eq!(plan["installment_amount"], "4.80");
    let due: Vec<&str> = plan["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["due"].as_str().unwrap())
        .collect();
    assert_eq!(
        due,
        vec![
            "2027-01-31",
            "2027-02-28",
            "2027-03-31",
            "2027-04-30",
            "2027-05-31"
        ]
    );
    s.post(
        &plans,
        &json!({"installments": 2, "first_due": "2027-01-31"}),
    )
    .await
    .assert_problem(409);

    // A retried payment with the same Idempotency-Key posts once.
    let pay = format!("/v1/patients/{patient}/payments");
    let body = json!({"amount": "10.00"});
    let token = s.token.clone();
    let first = s
        .call(
            "POST",
            &pay,
            Some(&token),
            Some(&body),
            &[("idempotency-key", "pay-1")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = s
        .call(
            "POST",
            &pay,
            Some(&token),
            Some(&body),
            &[("idempotency-key", "pay-1")],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    let other = s
        .call(
            "POST",
            &pay,
            Some(&token),
            Some(&json!({"amount": "11.00"})),
            &[("idempotency-key", "pay-1")],
        )
        .await;
    other.assert_problem(422);
    let bal = s.get(&format!("/v1/patients/{patient}/balance")).await;
    assert_eq!(bal.body["patient_due"], "14.00");

    let listed = s.get(&plans).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(listed.body["next_cursor"].is_null(), "{}", listed.text);
    let p0 = &listed.body["items"][0];
    assert_eq!(p0["paid_to_date"], "10.00");
    assert_eq!(p0["remaining"], "14.00");
    assert_eq!(p0["schedule"][1]["paid"], true);
    assert_eq!(p0["schedule"][2]["paid"], false);
    assert_eq!(p0["status"], "active");
}
on_both_engines!(payment_plan_and_idempotent_payments);

async fn secondary_claim_carries_the_primary_adjudication(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = practice(&s).await;
    let claim = submitted_claim(&s, &p, "2026-11-02").await;
    let secondary_path = format!("/v1/claims/{}/secondary", id(&claim));
    // Not adjudicated yet.
    s.post(&secondary_path, &json!({}))
        .await
        .assert_problem(409);
    let rem = s
        .create(
            "/v1/remittances",
            &remittance(&p.payer, &claim, "EFT-COB", "96.00"),
        )
        .await;
    s.post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    // No secondary coverage yet.
    let r = s.post(&secondary_path, &json!({})).await;
    assert_eq!(r.assert_problem(422), vec!["/coverage".to_string()]);

    let payer2 = s
        .create(
            "/v1/payers",
            &json!({"name": "Second Mutual", "payer_code": "77777", "claim_filing_indicator": "CI"}),
        )
        .await;
    s.create(
        "/v1/coverages",
        &json!({"patient_id": p.patient["id"], "payer_id": payer2["id"], "priority": "secondary",
            "member_id": "SEC998877", "relationship": "self", "effective_from": "2026-01-01"}),
    )
    .await;
    let sec = s.post(&secondary_path, &json!({})).await;
    assert_eq!(sec.status, 201, "{}", sec.text);
    let c2 = &sec.body["claim"];
    assert_eq!(c2["status"], "draft");
    assert_eq!(c2["payer_id"], payer2["id"]);
    assert_ne!(c2["id"], claim["id"]);
    let prior = &sec.body["primary"];
    assert_eq!(prior["primary_claim_id"], claim["id"]);
    assert_eq!(prior["payer_id"], p.payer["id"]);
    assert_eq!(prior["paid"], "96.00");
    assert_eq!(prior["patient_responsibility"], "24.00");
    assert_eq!(prior["lines"][0]["paid"], "72.00");
    assert_eq!(
        prior["lines"][0]["adjustments"],
        json!([{"group": "CO", "carc": "45", "amount": "60.00"},
               {"group": "PR", "carc": "2", "amount": "18.00"}])
    );
    assert_eq!(prior["lines"][1]["paid"], "24.00");
    s.post(&secondary_path, &json!({}))
        .await
        .assert_problem(409);
    let got = s.get(&format!("/v1/claims/{}/cob", id(c2))).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body["primary"], *prior);

    // The secondary claim bills services already charged: no second charge.
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(c2)), &json!({}))
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    let l = s.get(&format!("/v1/claims/{}/ledger", id(c2))).await;
    assert_eq!(l.body["entries"], json!([]));
    let bal = s
        .get(&format!("/v1/patients/{}/balance", id(&p.patient)))
        .await;
    assert_eq!(bal.body["patient_due"], "24.00");
}
on_both_engines!(secondary_claim_carries_the_primary_adjudication);
