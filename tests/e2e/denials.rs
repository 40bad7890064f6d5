//! Denials as work items end to end: an 835 with a line denied outright, a denial reason on a
//! paid line and a claim denied outright becomes exactly those denials, categorized; the queue
//! filters and pages them; each step (assign, note, follow-up, status) answers as documented,
//! is audited and is in the claim's history; a note is stored encrypted; the same 835 again
//! creates nothing.

use diesel::prelude::*;
use revcycle_e2e::{Engine, Resp, Server};
use serde_json::{Value, json};

use crate::fixtures::{id, org_of, practice, token};
use crate::on_both_engines;
use crate::payer::{SELF_MEMBER, payer_server, pcn_of, post_raw, ready_claim_dated, submit};

/// The payer's answer to two claims of 200.00 (99214-25 150.00, 83036 50.00), shaped as the
/// repository's 835 fixtures (connectors/x12/tests/fixtures/835) and the payer tests' answer:
/// - claim A: 99214 paid 72.00 with CO-45 48.00 (fee schedule) and CO-50 30.00 (not medically
///   necessary: a partial denial); 83036 paid nothing, CO-97 50.00 with M15 (bundled: a line
///   denied outright). Claim status 1, paid 72.00.
/// - claim B: denied outright (CLP02 4), claim-level CO-16 200.00 (missing information).
///
/// BPR02 72.00.
fn denials_835(pcn_a: &str, pcn_b: &str, trace: &str) -> String {
    let body = [
        "ST*835*0001".to_string(),
        "BPR*I*72*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261120"
            .into(),
        format!("TRN*1*{trace}*1512345678"),
        "DTM*405*20261120".into(),
        "N1*PR*ACME HEALTH PLAN".into(),
        "N3*100 PAYER WAY".into(),
        "N4*HARTFORD*CT*06101".into(),
        "REF*2U*60054".into(),
        "PER*BL*EDI SUPPORT*TE*8005550199".into(),
        "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
        "LX*1".into(),
        format!("CLP*{pcn_a}*1*200*72*0*12*ICN-{trace}-A*11*1"),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".into(),
        "SVC*HC:99214:25*150*72**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*48**50*30".into(),
        "SVC*HC:83036*50*0**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*97*50".into(),
        "LQ*HE*M15".into(),
        format!("CLP*{pcn_b}*4*200*0**12*ICN-{trace}-B*11*1"),
        "CAS*CO*16*200".into(),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261103".into(),
    ];
    let mut text = String::from(
        "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *261120*1200*^*00501*000000601*0*P*:~\n\
         GS*HP*ACMEPAYER*REVCYCLE*20261120*1200*601*X*005010X221A1~\n",
    );
    for s in &body {
        text.push_str(s);
        text.push_str("~\n");
    }
    text.push_str(&format!(
        "SE*{}*0001~\nGE*1*601~\nIEA*1*000000601~\n",
        body.len() + 1
    ));
    text
}

fn summary(d: &Value) -> (String, String, String, String, String, String, bool, bool) {
    let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
    (
        s("level"),
        s("procedure_code"),
        s("group"),
        s("carc"),
        s("amount"),
        s("category"),
        d["avoidable"].as_bool().unwrap(),
        d["partial"].as_bool().unwrap(),
    )
}

fn ids(r: &revcycle_e2e::Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| id(d).to_string())
        .collect()
}

#[derive(QueryableByName)]
struct NoteRow {
    #[diesel(sql_type = diesel::sql_types::Binary)]
    text_ct: Vec<u8>,
}

async fn denials_from_an_835_are_worked_step_by_step(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let a = ready_claim_dated(&s, &p, &coverage, "2026-11-02").await;
    let b = ready_claim_dated(&s, &p, &coverage, "2026-11-03").await;
    submit(&s, &a).await;
    submit(&s, &b).await;
    let era = denials_835(&pcn_of(&a), &pcn_of(&b), "EFT-DENIALS-1");
    let (status, imported) = post_raw(
        &s,
        "/v1/remittances/import?post=true",
        era.clone().into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    let posted = &imported["remittances"][0]["posting"];
    let after: Vec<&str> = posted["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status_after"].as_str().unwrap())
        .collect();
    assert_eq!(after, ["partially_paid", "denied"], "{imported}");

    // Exactly the three denials, oldest first, to the cent.
    let queue = s.get("/v1/work-queues/denials").await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    let items = queue.body["items"].as_array().unwrap().clone();
    let got: Vec<_> = items.iter().map(summary).collect();
    let row = |level: &str, code: &str, carc: &str, amount: &str, cat: &str, partial: bool| {
        (
            level.to_string(),
            code.to_string(),
            "CO".to_string(),
            carc.to_string(),
            amount.to_string(),
            cat.to_string(),
            true,
            partial,
        )
    };
    assert_eq!(
        got,
        [
            row("line", "99214", "50", "30.00", "medical_necessity", true),
            row("line", "83036", "97", "50.00", "bundling", false),
            row("claim", "", "16", "200.00", "missing_information", false),
        ],
        "{}",
        queue.text
    );
    let (necessity, bundled, missing) = (id(&items[0]), id(&items[1]), id(&items[2]));
    assert_eq!(items[1]["rarcs"], json!(["M15"]));
    assert_eq!(items[0]["claim_id"], a["id"]);
    assert_eq!(items[2]["claim_id"], b["id"]);
    assert_eq!(items[2]["claim_line_id"], Value::Null);
    for d in &items {
        assert_eq!(d["payer_id"], p.payer["id"]);
        assert_eq!(d["status"], "open");
        assert_eq!(d["patient_id"], p.patient["id"]);
    }

    // Filters and pages.
    let q = |query: &str| format!("/v1/work-queues/denials?{query}");
    assert_eq!(ids(&s.get(&q("category=bundling")).await), [bundled]);
    assert_eq!(ids(&s.get(&q("carc=16")).await), [missing]);
    let payer = q(&format!("payer_id={}", id(&p.payer)));
    assert_eq!(ids(&s.get(&payer).await).len(), 3);
    let other_payer = q(&format!("payer_id={}", uuid::Uuid::now_v7()));
    assert!(ids(&s.get(&other_payer).await).is_empty());
    assert_eq!(
        ids(&s.get(&q("min_amount=50.00")).await),
        [bundled, missing]
    );
    assert_eq!(
        ids(&s.get(&q("min_amount=40&max_amount=60")).await),
        [bundled]
    );
    assert_eq!(ids(&s.get(&q("status=open&max_age_days=1")).await).len(), 3);
    assert!(ids(&s.get(&q("min_age_days=1")).await).is_empty());
    assert_eq!(
        ids(&s.get(&q(&format!("claim_id={}", id(&a)))).await),
        [necessity, bundled]
    );
    let first = s.get(&q("limit=2")).await;
    assert_eq!(ids(&first), [necessity, bundled]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let rest = s.get(&q(&format!("limit=2&cursor={cursor}"))).await;
    assert_eq!(ids(&rest), [missing]);
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let bad = s.get(&q("min_amount=60&max_amount=40")).await;
    assert_eq!(bad.assert_problem(422), ["/max_amount"], "{}", bad.text);
    let bad = s.get(&q("category=weather")).await;
    assert_eq!(bad.assert_problem(422), ["/category"], "{}", bad.text);

    // The steps, each with its answer.
    let org = org_of(&s);
    let biller = token(&s, &org, "bill-7", &["biller"], &[]);
    let coder = token(&s, &org, "coder-2", &["coder"], &[]);
    let path = format!("/v1/work-queues/denials/{missing}");
    let read = s.call("GET", &path, Some(&coder), None, &[]).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    step_as(
        &s,
        &path,
        &coder,
        "assign",
        &json!({"assignee": "coder-2"}),
        &[],
    )
    .await
    .assert_problem(403);

    let assigned = step_as(
        &s,
        &path,
        &biller,
        "assign",
        &json!({"assignee": "bill-7"}),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    assert_eq!(assigned.body["assignee"], "bill-7");
    assert_eq!(assigned.header("etag").as_deref(), Some("\"2\""));
    step_as(
        &s,
        &path,
        &biller,
        "assign",
        &json!({"assignee": "bill-8"}),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412);
    assert_eq!(
        ids(&s.get(&q("assignee=bill-7")).await),
        [missing.to_string()]
    );
    assert_eq!(
        ids(&s.get(&q("unassigned=true")).await),
        [necessity, bundled]
    );
    let blank = step_as(&s, &path, &biller, "assign", &json!({"assignee": " "}), &[]).await;
    assert_eq!(blank.assert_problem(422), ["/assignee"]);

    let skipped = step_as(
        &s,
        &path,
        &biller,
        "status",
        &json!({"to": "appealed"}),
        &[],
    )
    .await;
    skipped.assert_problem(409);
    assert_eq!(
        skipped.body["allowed_next"],
        json!(["in_progress", "resolved", "written_off"])
    );
    let working = step_as(
        &s,
        &path,
        &biller,
        "status",
        &json!({"to": "in_progress"}),
        &[],
    )
    .await;
    assert_eq!(working.status, 200, "{}", working.text);
    assert_eq!(working.body["status"], "in_progress");

    let follow = step_as(
        &s,
        &path,
        &biller,
        "follow-up",
        &json!({"follow_up_on": "2026-12-15"}),
        &[],
    )
    .await;
    assert_eq!(follow.status, 200, "{}", follow.text);
    assert_eq!(follow.body["follow_up_on"], "2026-12-15");
    assert_eq!(
        ids(&s.get(&q("follow_up_by=2026-12-31")).await),
        [missing.to_string()]
    );
    assert!(ids(&s.get(&q("follow_up_by=2026-12-14")).await).is_empty());

    let secret = "Payer rep says QUILLFEATHER chart notes never arrived.\nResent today.";
    let note_body = json!({"text": secret});
    let key = [("idempotency-key", "note-1")];
    let note = step_as(&s, &path, &biller, "notes", &note_body, &key).await;
    assert_eq!(note.status, 201, "{}", note.text);
    assert_eq!(note.body["text"], secret);
    assert_eq!(note.body["author"], "bill-7");
    let again = step_as(&s, &path, &biller, "notes", &note_body, &key).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body["id"], note.body["id"]);
    let empty = step_as(&s, &path, &biller, "notes", &json!({"text": ""}), &[]).await;
    assert_eq!(empty.assert_problem(422), ["/text"]);

    for to in ["appealed", "resolved"] {
        let r = step_as(&s, &path, &biller, "status", &json!({"to": to}), &[]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["status"], to);
    }
    // Closed: no more steps.
    step_as(
        &s,
        &path,
        &biller,
        "assign",
        &json!({"assignee": null}),
        &[],
    )
    .await
    .assert_problem(409);
    let reopen = step_as(&s, &path, &biller, "status", &json!({"to": "open"}), &[]).await;
    reopen.assert_problem(409);
    assert_eq!(reopen.body["allowed_next"], json!([]));
    s.call(
        "GET",
        &format!("/v1/work-queues/denials/{}", uuid::Uuid::now_v7()),
        Some(&biller),
        None,
        &[],
    )
    .await
    .assert_problem(404);

    // The denial's notes and history; the claim's history.
    let detail = s.call("GET", &path, Some(&biller), None, &[]).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["status"], "resolved");
    assert_eq!(detail.body["notes"].as_array().unwrap().len(), 1);
    assert_eq!(detail.body["notes"][0]["text"], secret);
    let actions = |events: &Value| -> Vec<String> {
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = [
        "created",
        "assigned",
        "status_changed",
        "follow_up_set",
        "noted",
        "status_changed",
        "status_changed",
    ];
    assert_eq!(actions(&detail.body["history"]), expected);
    assert!(!detail.body["history"].to_string().contains("QUILLFEATHER"));
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(&b))).await;
    assert_eq!(actions(&ledger.body["denial_history"]), expected);
    assert_eq!(
        ledger.body["denial_history"][6]["detail"],
        json!({"from": "appealed", "to": "resolved"})
    );

    // Every step is audited: who, what, whose record.
    let auditor = token(&s, &org, "co-1", &["compliance_officer"], &[]);
    let events = s
        .call(
            "GET",
            "/v1/audit-events?limit=1000",
            Some(&auditor),
            None,
            &[],
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.text);
    let on_denial: Vec<(String, String, i64)> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_type"] == "Denial" && e["resource_id"] == missing)
        .map(|e| {
            if e["outcome"] == "success" {
                assert_eq!(e["patient_ids"], json!([id(&p.patient)]), "{e}");
            }
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["http_status"].as_i64().unwrap(),
            )
        })
        .collect();
    let ev = |who: &str, action: &str, status: i64| (who.to_string(), action.to_string(), status);
    for wanted in [
        ev("coder-2", "read", 200),
        ev("coder-2", "update", 403),
        ev("bill-7", "update", 200),
        ev("bill-7", "read", 200),
    ] {
        assert!(on_denial.contains(&wanted), "{wanted:?} in {on_denial:?}");
    }
    // assign, in_progress, follow-up, note (and its replay), appealed, resolved.
    let updates = on_denial
        .iter()
        .filter(|(who, action, status)| {
            who == "bill-7" && action == "update" && (*status == 200 || *status == 201)
        })
        .count();
    assert_eq!(updates, 7, "{on_denial:?}");

    // The note is encrypted in the database and absent from the server's log.
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    let rows: Vec<NoteRow> = diesel::sql_query("SELECT text_ct FROM denial_notes")
        .load(&mut conn)
        .expect("notes");
    assert_eq!(rows.len(), 1);
    assert!(
        !rows[0].text_ct.windows(12).any(|w| w == b"QUILLFEATHER"),
        "the note's text is stored encrypted"
    );
    assert!(!s.log().contains("QUILLFEATHER"));

    // The same 835 again: a duplicate, and no second set of denials.
    let (status, dup) = post_raw(&s, "/v1/remittances/import?post=true", era.into_bytes()).await;
    assert_eq!(status, 200, "{dup}");
    assert_eq!(dup["status"], "duplicate", "{dup}");
    assert_eq!(ids(&s.get("/v1/work-queues/denials").await).len(), 3);
}
on_both_engines!(denials_from_an_835_are_worked_step_by_step);

/// A step (`assign`, `status`, `follow-up`, `notes`) on the denial at `path`, as `who`.
async fn step_as(
    s: &Server,
    path: &str,
    who: &str,
    what: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Resp {
    s.call(
        "POST",
        &format!("{path}/{what}"),
        Some(who),
        Some(body),
        headers,
    )
    .await
}
