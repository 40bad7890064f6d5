//! Patient statements a practice mails: the charge master and statement profile that feed them,
//! a preview's every block to the cent (an insurer's payment and adjustments named, a denied
//! line's patient responsibility explained by its CARC, a claim pending with insurance, a
//! payment plan's next installment), issuing and statement runs (sequential numbers, the cycle),
//! and the PDF read back with poppler: its text has every block and amount, every word lies
//! inside the page, and a long statement goes on to more pages.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::{self, FAMILY, GIVEN, Practice, practice};
use crate::on_both_engines;

const NO_RATE_LIMIT: &[(&str, &str)] = &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")];

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// The fixture patient's practice, billing the patient's own coverage (relationship self: no
/// separate subscriber to complete).
async fn self_insured(s: &Server) -> Practice {
    let mut p = practice(s).await;
    p.coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": "SELF123456", "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    p
}

/// A submitted claim for an encounter of `lines` on `date`.
async fn submitted_claim(s: &Server, p: &Practice, date: &str, lines: Value) -> Value {
    let enc = s
        .create(
            "/v1/encounters",
            &json!({
                "patient_id": p.patient["id"], "coverage_id": p.coverage["id"],
                "billing_provider_id": p.billing["id"], "rendering_provider_id": p.rendering["id"],
                "service_date_from": date, "place_of_service": "11",
                "diagnoses": ["E11.9", "I10"], "lines": lines
            }),
        )
        .await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.body["passed"], true, "{}", scrub.text);
    let sub = s
        .post(
            &format!("/v1/claims/{}/transition", id(&claim)),
            &json!({"to": "submitted", "reason": "batch 1"}),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
    sub.body["claim"].clone()
}

fn two_lines() -> Value {
    json!([
        {"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]},
        {"procedure_code": "83036", "units": "1", "charge": "50.00", "diagnosis_pointers": [1]}
    ])
}

/// The primary pays 72.00 on the office visit (CO-45 60.00, PR-2 18.00) and denies the A1c
/// test as not covered, leaving its 50.00 to the patient (PR-96).
fn partly_paid(p: &Practice, claim: &Value) -> Value {
    json!({
        "payer_id": p.payer["id"], "trace_number": "EFT-STMT-1", "payment_date": "2026-11-20",
        "payment_method": "ACH", "total_paid": "72.00",
        "claims": [{
            "patient_control_number": claim["patient_control_number"], "status_code": "1",
            "total_charge": "200.00", "paid": "72.00", "patient_responsibility": "68.00",
            "payer_claim_number": "ICN-STMT-1",
            "lines": [
                {"procedure_code": "99214", "modifiers": ["25"], "charge": "150.00", "paid": "72.00", "units": "1",
                 "adjustments": [{"group": "CO", "reason": "45", "amount": "60.00"},
                                 {"group": "PR", "reason": "2", "amount": "18.00"}]},
                {"procedure_code": "83036", "charge": "50.00", "paid": "0.00", "units": "1",
                 "adjustments": [{"group": "PR", "reason": "96", "amount": "50.00"}]}
            ]
        }]
    })
}

fn profile() -> Value {
    json!({
        "practice_name": "Springfield Family Medicine",
        "practice_address": {"line1": "100 Main St", "line2": "Suite 200", "city": "Springfield", "state": "IL", "zip": "62701"},
        "practice_phone": "(217) 555-0100",
        "remit_to_name": "Springfield Family Medicine Billing",
        "remit_to_address": {"line1": "PO Box 4000", "city": "Springfield", "state": "IL", "zip": "627044000"},
        "payment_url": "https://pay.example.com/sfm",
        "payment_phone": "217-555-0199",
        "due_days": 21,
        "cycle_days": 30,
        "message": "Questions about your bill? Call us Monday to Friday, 8 to 5."
    })
}

pub(crate) fn us(d: chrono::NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

pub(crate) async fn pdf_of(s: &Server, path: &str) -> Vec<u8> {
    let r = s
        .client
        .get(s.url(path))
        .bearer_auth(&s.token)
        .header("accept", "application/pdf")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let bytes = r.bytes().await.expect("body").to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    bytes
}

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} could not be run ({e}): the statement tests need poppler's tools \
             (apt-get install poppler-utils)"
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What poppler reads in a PDF: its text in reading order, and the number of pages, after
/// checking every word lies inside its page and every page renders to an image.
pub(crate) struct Read {
    pub(crate) text: String,
    pub(crate) pages: usize,
}

pub(crate) fn read_pdf(bytes: &[u8], dir: &Path, name: &str) -> Read {
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, bytes).unwrap();
    let f = file.to_str().unwrap();
    let text = poppler("pdftotext", &["-layout", f, "-"]);
    let bbox = poppler("pdftotext", &["-bbox", f, "-"]);
    // <page width="612.000000" height="792.000000"> then <word xMin=".." yMin=".." xMax=".." yMax="..">
    let attr = |tag: &str, key: &str| -> f64 {
        let at = tag.find(&format!("{key}=\"")).expect(key) + key.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (mut pages, mut words) = (0, 0);
    let (mut w, mut h) = (0.0, 0.0);
    for line in bbox.lines().map(str::trim) {
        if line.starts_with("<page ") {
            pages += 1;
            w = attr(line, "width");
            h = attr(line, "height");
        } else if line.starts_with("<word ") {
            words += 1;
            let (x0, y0, x1, y1) = (
                attr(line, "xMin"),
                attr(line, "yMin"),
                attr(line, "xMax"),
                attr(line, "yMax"),
            );
            // Half an inch of margin at least, on every side.
            assert!(
                x0 >= 18.0 && y0 >= 18.0 && x1 <= w - 18.0 && y1 <= h - 18.0,
                "a word outside the page's printable area on page {pages}: {line}"
            );
        }
    }
    assert!(pages > 0 && words > 0, "no text in the PDF");
    let prefix = dir.join(name);
    poppler(
        "pdftoppm",
        &["-png", "-r", "72", f, prefix.to_str().unwrap()],
    );
    let images = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&format!("{name}-")) && n.ends_with(".png")
        })
        .count();
    assert_eq!(images, pages, "every page renders to an image");
    Read { text, pages }
}

/// Collapses runs of spaces, so a layout's column gaps do not matter to `contains`.
pub(crate) fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn statement_every_block_to_the_cent(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = self_insured(&s).await;
    let patient = id(&p.patient).to_string();
    let today = Utc::now().date_naive();

    // The charge master names the services (the modifier's entry wins for 99214-25).
    for (key, body) in [
        (
            "99214-25",
            json!({"description": "Office visit, established patient, moderate", "price": "150.00"}),
        ),
        (
            "99214",
            json!({"description": "Office visit", "price": "140.00"}),
        ),
        (
            "83036",
            json!({"description": "Hemoglobin A1c test", "price": "50.00"}),
        ),
    ] {
        let r = s
            .call(
                "PUT",
                &format!("/v1/charge-master/{key}"),
                Some(&s.token.clone()),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    }
    let replaced = s
        .put(
            "/v1/charge-master/83036",
            "\"1\"",
            &json!({"description": "Hemoglobin A1c test", "price": "52.00"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["price"], "52.00");
    assert_eq!(replaced.body["version"], 2);
    let stale = s
        .put(
            "/v1/charge-master/83036",
            "\"1\"",
            &json!({"description": "x", "price": "1.00"}),
        )
        .await;
    stale.assert_problem(412);
    let bad = s
        .call(
            "PUT",
            "/v1/charge-master/99214",
            Some(&s.token.clone()),
            Some(&json!({"description": "", "price": "1.00"})),
            &[],
        )
        .await;
    assert_eq!(bad.assert_problem(422), vec!["/description".to_string()]);
    let list = s.get("/v1/charge-master").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let keys: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["83036", "99214", "99214-25"]);

    // Roles: a coder reads the charge master but does not change it; a biller keeps it but
    // does not set the statement profile; the front desk does not issue statements.
    let org = fixtures::org_of(&s);
    let coder = fixtures::token(&s, &org, "coder-1", &["coder"], &[]);
    let biller = fixtures::token(&s, &org, "biller-1", &["biller"], &[]);
    let desk = fixtures::token(&s, &org, "desk-1", &["front_desk"], &[]);
    let r = s
        .call("GET", "/v1/charge-master", Some(&coder), None, &[])
        .await;
    assert_eq!(r.status, 200);
    let body = json!({"description": "Office visit", "price": "1.00"});
    s.call(
        "PUT",
        "/v1/charge-master/99213",
        Some(&coder),
        Some(&body),
        &[],
    )
    .await
    .assert_problem(403);
    let r = s
        .call(
            "PUT",
            "/v1/charge-master/99213",
            Some(&biller),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s
        .call(
            "DELETE",
            "/v1/charge-master/99213",
            Some(&biller),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    s.call(
        "DELETE",
        "/v1/charge-master/99213",
        Some(&biller),
        None,
        &[],
    )
    .await
    .assert_problem(404);
    s.call(
        "PUT",
        "/v1/statement-profile",
        Some(&biller),
        Some(&profile()),
        &[],
    )
    .await
    .assert_problem(403);
    s.call(
        "POST",
        &format!("/v1/patients/{patient}/statements"),
        Some(&desk),
        None,
        &[],
    )
    .await
    .assert_problem(403);

    // No profile yet: a preview works, issuing does not.
    s.get("/v1/statement-profile").await.assert_problem(404);
    let claim = submitted_claim(&s, &p, "2026-11-02", two_lines()).await;
    let rem = s.create("/v1/remittances", &partly_paid(&p, &claim)).await;
    let posted = s
        .post(&format!("/v1/remittances/{}/post", id(&rem)), &json!({}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    s.post(&format!("/v1/patients/{patient}/statements"), &json!({}))
        .await
        .assert_problem(409);
    let mut bad_profile = profile();
    bad_profile["payment_url"] = json!("http://pay.example.com");
    bad_profile["due_days"] = json!(0);
    let r = s
        .call(
            "PUT",
            "/v1/statement-profile",
            Some(&s.token.clone()),
            Some(&bad_profile),
            &[],
        )
        .await;
    assert_eq!(
        r.assert_problem(422),
        vec!["/payment_url".to_string(), "/due_days".to_string()]
    );
    let r = s
        .call(
            "PUT",
            "/v1/statement-profile",
            Some(&s.token.clone()),
            Some(&profile()),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["practice_phone"], "2175550100");
    assert_eq!(r.body["remit_to_address"]["zip"], "627044000");

    // A second visit still with insurance; a payment plan over the 68.00 owed; 10.00 paid.
    let pending = submitted_claim(&s, &p, "2026-11-10", two_lines()).await;
    let first_due = today + Duration::days(10);
    let plan = s
        .create(
            &format!("/v1/patients/{patient}/payment-plans"),
            &json!({"installments": 3, "first_due": first_due.to_string()}),
        )
        .await;
    assert_eq!(plan["total"], "68.00");
    let pay = s
        .post(
            &format!("/v1/patients/{patient}/payments"),
            &json!({"amount": "10.00", "reference": "RCPT-9"}),
        )
        .await;
    assert_eq!(pay.status, 200, "{}", pay.text);

    let path = format!("/v1/patients/{patient}/statement");
    let st = s.get(&path).await;
    assert_eq!(st.status, 200, "{}", st.text);
    let b = &st.body;
    let due_date = today + Duration::days(21);
    assert_eq!(b["status"], "preview");
    assert_eq!(b["statement_number"], Value::Null);
    assert_eq!(b["id"], Value::Null);
    let account = b["account_number"].as_str().unwrap().to_string();
    assert_eq!(account.len(), 14);
    assert_eq!(b["statement_date"], today.to_string());
    assert_eq!(b["due_date"], due_date.to_string());
    assert_eq!(b["patient_name"], format!("{GIVEN} {FAMILY}"));
    assert_eq!(b["address"]["line1"], fixtures::STREET);
    assert_eq!(
        b["practice"],
        json!({"name": "Springfield Family Medicine", "phone": "2175550100",
            "address": {"line1": "100 Main St", "line2": "Suite 200", "city": "Springfield", "state": "IL", "zip": "62701"}})
    );
    let remit = json!({"name": "Springfield Family Medicine Billing",
        "address": {"line1": "PO Box 4000", "line2": null, "city": "Springfield", "state": "IL", "zip": "627044000"}});
    assert_eq!(b["remit_to"], remit);
    assert_eq!(
        b["payment_options"],
        json!({"online_url": "https://pay.example.com/sfm", "phone": "2175550199", "mail": true})
    );
    assert_eq!(
        b["message"],
        "Questions about your bill? Call us Monday to Friday, 8 to 5."
    );
    let items = b["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let paid = &items[0];
    assert_eq!(paid["claim_id"], claim["id"]);
    assert_eq!(paid["payer_name"], "Acme Health Plan");
    for (k, v) in [
        ("charges", "200.00"),
        ("insurance_paid", "72.00"),
        ("adjustments", "60.00"),
        ("patient_responsibility", "68.00"),
        ("patient_paid", "10.00"),
        ("insurance_pending", "0.00"),
        ("patient_due", "58.00"),
    ] {
        assert_eq!(paid[k], v, "{k}");
    }
    let visit = &paid["lines"][0];
    assert_eq!(visit["procedure_code"], "99214");
    assert_eq!(visit["modifiers"], json!(["25"]));
    assert_eq!(visit["service_date"], "2026-11-02");
    assert_eq!(
        visit["description"],
        "Office visit, established patient, moderate"
    );
    assert_eq!(visit["charge"], "150.00");
    assert_eq!(
        visit["insurance"],
        json!([{
            "payer_id": p.payer["id"], "payer_name": "Acme Health Plan", "paid": "72.00", "denied": false,
            "adjustments": [{"group": "CO", "carc": "45", "amount": "60.00",
                "description": "Charge exceeds the fee schedule, maximum allowable or contracted amount"}],
            "patient_responsibility": [{"group": "PR", "carc": "2", "amount": "18.00", "description": "Coinsurance"}]
        }])
    );
    assert_eq!(visit["patient_paid"], "10.00");
    assert_eq!(visit["insurance_pending"], "0.00");
    assert_eq!(visit["patient_due"], "8.00");
    let a1c = &paid["lines"][1];
    assert_eq!(a1c["description"], "Hemoglobin A1c test");
    assert_eq!(a1c["charge"], "50.00");
    assert_eq!(
        a1c["insurance"],
        json!([{
            "payer_id": p.payer["id"], "payer_name": "Acme Health Plan", "paid": "0.00", "denied": true,
            "adjustments": [],
            "patient_responsibility": [{"group": "PR", "carc": "96", "amount": "50.00", "description": "Non-covered charge"}]
        }])
    );
    assert_eq!(a1c["patient_due"], "50.00");
    assert_eq!(paid["lines"].as_array().unwrap().len(), 2);
    let open = &items[1];
    assert_eq!(open["claim_id"], pending["id"]);
    assert_eq!(open["status"], "submitted");
    assert_eq!(open["insurance_pending"], "200.00");
    assert_eq!(open["patient_due"], "0.00");
    assert_eq!(open["lines"][0]["insurance"], json!([]));
    assert_eq!(open["lines"][0]["insurance_pending"], "150.00");
    assert_eq!(open["lines"][1]["insurance_pending"], "50.00");
    for (k, v) in [
        ("charges", "400.00"),
        ("insurance_paid", "72.00"),
        ("adjustments", "60.00"),
        ("patient_paid", "10.00"),
        ("insurance_pending", "200.00"),
        ("account_credit", "0.00"),
        ("patient_due", "58.00"),
        ("amount_due", "12.66"),
    ] {
        assert_eq!(b[k], v, "{k}");
    }
    // 68.00 in three: 22.66, 22.66, 22.68; 10.00 paid leaves 12.66 of the first.
    assert_eq!(
        b["payment_plan"],
        json!({"plan_id": plan["id"], "installments": 3, "total": "68.00", "remaining": "58.00",
            "next_installment": {"number": 1, "due": first_due.to_string(), "amount": "12.66"}})
    );
    assert_eq!(
        b["coupon"],
        json!({"account_number": account, "statement_number": null, "amount_due": "12.66",
            "due_date": due_date.to_string(), "remit_to": remit})
    );

    // A coder sees the statement without the patient's address (masked, as on every read).
    let r = s.call("GET", &path, Some(&coder), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["address"], Value::Null);
    assert_eq!(r.body["amount_due"], "12.66");

    // The HTML page has the same blocks.
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
    for needle in [
        "Springfield Family Medicine",
        "PO Box 4000",
        &account,
        "Amount due: $12.66",
        "Denied by Acme Health Plan",
        "PR-96 Non-covered charge ($50.00)",
        "Amount enclosed",
    ] {
        assert!(html.text.contains(needle), "the page lacks {needle}");
    }

    // A run issues statement 1 (the preview used no number); a second run skips the patient.
    let run = s.post("/v1/statement-runs", &json!({})).await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["candidates"], 1);
    assert_eq!(run.body["issued"], 1);
    assert_eq!(run.body["skipped"], 0);
    let issued = &run.body["statements"][0];
    assert_eq!(issued["statement_number"], 1);
    assert_eq!(issued["patient_id"], p.patient["id"]);
    assert_eq!(issued["amount_due"], "12.66");
    assert_eq!(issued["due_date"], due_date.to_string());
    let again = s.post("/v1/statement-runs", &json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["issued"], 0);
    assert_eq!(again.body["skipped"], 1);
    assert_eq!(
        again.body["skipped_by_reason"],
        json!([{"reason": "issued_within_cycle", "count": 1}])
    );
    // The same cycle from the command line: nothing new to issue.
    let out = s.admin(&["statements", "run", "--org", &org]);
    assert!(
        out.contains(": 1 candidates, 0 statements issued, 1 skipped (1 issued_within_cycle)"),
        "{out}"
    );
    let stored = s.get(&format!("/v1/statements/{}", id(issued))).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.body["status"], "issued");
    assert_eq!(stored.body["statement_number"], 1);
    assert_eq!(stored.body["coupon"]["statement_number"], 1);
    assert_eq!(stored.body["patient_name"], format!("{GIVEN} {FAMILY}"));
    assert_eq!(stored.body["items"], b["items"]);
    assert_eq!(stored.body["amount_due"], "12.66");

    // Issuing by hand takes the next number; the patient's list shows both, newest first.
    let one = s
        .post(&format!("/v1/patients/{patient}/statements"), &json!({}))
        .await;
    assert_eq!(one.status, 201, "{}", one.text);
    assert_eq!(one.body["statement_number"], 2);
    assert_eq!(
        one.header("location"),
        Some(format!("/v1/statements/{}", id(&one.body)))
    );
    let mine = s.get(&format!("/v1/patients/{patient}/statements")).await;
    let numbers: Vec<i64> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["statement_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);

    // The PDF, read back with poppler.
    let dir = tempfile::tempdir().unwrap();
    let pdf = pdf_of(&s, &format!("/v1/statements/{}", id(issued))).await;
    // To look at the page: REVCYCLE_KEEP_STATEMENT_PDF=/tmp/statement.pdf
    if let Ok(keep) = std::env::var("REVCYCLE_KEEP_STATEMENT_PDF") {
        std::fs::write(keep, &pdf).unwrap();
    }
    let read = read_pdf(&pdf, dir.path(), "statement");
    assert_eq!(read.pages, 1);
    let text = squeeze(&read.text);
    for needle in [
        "Springfield Family Medicine",
        "100 Main St",
        "Suite 200",
        "Billing questions: (217) 555-0100",
        "STATEMENT",
        &format!("Statement date {}", us(today)),
        "Statement number 1",
        &format!("Account number {account}"),
        &format!("Payment due by {}", us(due_date)),
        "Amount due $12.66",
        &format!("{GIVEN} {FAMILY}"),
        fixtures::STREET,
        "Office visit, established patient, moderate (99214-25)",
        "Paid by Acme Health Plan",
        "Acme Health Plan adjusted: CO-45 Charge exceeds the fee schedule",
        "Your responsibility per Acme Health Plan: PR-2 Coinsurance ($18.00)",
        "Hemoglobin A1c test (83036)",
        "Denied by Acme Health Plan",
        "Your responsibility per Acme Health Plan: PR-96 Non-covered charge ($50.00)",
        "Your payments: $10.00",
        "Billed to Acme Health Plan, awaiting its payment",
        "Balance (insurance has not paid yet)",
        "Pending with insurance 200.00",
        "Insurance payments 72.00",
        "Adjustments 60.00",
        "Your balance 58.00",
        "Payment plan: $58.00 left of $68.00",
        &format!("Next installment (1 of 3): $12.66 due {}", us(first_due)),
        &format!("$12.66 by {}", us(due_date)),
        "Online: https://pay.example.com/sfm",
        "By phone: (217) 555-0199",
        "Please detach and return this portion with your payment.",
        "Amount enclosed",
        "Springfield Family Medicine Billing",
        "PO Box 4000",
        "Springfield, IL 62704-4000",
        "Questions about your bill?",
        "Page 1 of 1",
    ] {
        assert!(
            text.contains(needle),
            "the PDF lacks {needle:?}:\n{}",
            read.text
        );
    }
    // Amounts in their columns: the visit's charge, the payer's payment and adjustment.
    for amount in ["150.00", "72.00", "60.00", "50.00", "8.00", "58.00"] {
        assert!(text.contains(amount), "the PDF lacks {amount}");
    }
}
on_both_engines!(statement_every_block_to_the_cent);

/// Thirty visits pending with insurance and a description as long as the charge master
/// allows: the statement goes on to more pages, each word inside its page, and the coupon
/// comes once, at the end.
async fn long_statement_paginates(engine: Engine) {
    let s = Server::start_with(engine, NO_RATE_LIMIT).await;
    let p = self_insured(&s).await;
    let long = "Comprehensive office visit with extended counselling, care coordination, reviews";
    assert_eq!(long.len(), 80);
    let r = s
        .call(
            "PUT",
            "/v1/charge-master/99214-25",
            Some(&s.token.clone()),
            Some(&json!({"description": long, "price": "150.00"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = s
        .call(
            "PUT",
            "/v1/statement-profile",
            Some(&s.token.clone()),
            Some(&profile()),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    for day in 1..=30 {
        submitted_claim(&s, &p, &format!("2026-10-{day:02}"), two_lines()).await;
    }
    let path = format!("/v1/patients/{}/statement", id(&p.patient));
    let st = s.get(&path).await;
    assert_eq!(st.body["items"].as_array().unwrap().len(), 30);
    assert_eq!(st.body["insurance_pending"], "6000.00");
    assert_eq!(st.body["amount_due"], "0.00");
    let dir = tempfile::tempdir().unwrap();
    let pdf = pdf_of(&s, &path).await;
    if let Ok(keep) = std::env::var("REVCYCLE_KEEP_LONG_STATEMENT_PDF") {
        std::fs::write(keep, &pdf).unwrap();
    }
    let read = read_pdf(&pdf, dir.path(), "long");
    assert!(read.pages >= 2, "{} page(s)", read.pages);
    let text = squeeze(&read.text);
    assert_eq!(text.matches("Amount enclosed").count(), 1);
    assert_eq!(text.matches("(continued)").count(), read.pages - 1);
    assert!(text.contains(&format!("Page {} of {}", read.pages, read.pages)));
    assert!(text.contains("Pending with insurance 6,000.00"));
    // Every visit is printed.
    for day in 1..=30 {
        let d = format!("10/{day:02}/2026");
        assert!(text.contains(&d), "the PDF lacks {d}");
    }
    assert!(text.contains("Comprehensive office visit with"));
    assert!(text.contains("Billed to Acme Health Plan, awaiting its payment"));
}
on_both_engines!(long_statement_paginates);
