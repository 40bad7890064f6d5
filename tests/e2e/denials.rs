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

/// An 835 from the test payer (Acme, payer code 60054) with trace number `trace`, ISA/GS
/// control number `control`, paying `paid` in all (BPR02; `0` is a notification without
/// payment), with these claim loops (each from its CLP on).
pub(crate) fn era(trace: &str, control: u32, paid: &str, claims: &[Vec<String>]) -> String {
    let bpr = if paid == "0" {
        "BPR*H*0*C*NON************20261120".to_string()
    } else {
        format!(
            "BPR*I*{paid}*C*ACH*CCP*01*011000015*DA*123456*1512345678**01*011000028*DA*98765*20261120"
        )
    };
    let mut body = vec![
        "ST*835*0001".to_string(),
        bpr,
        format!("TRN*1*{trace}*1512345678"),
        "DTM*405*20261120".into(),
        "N1*PR*ACME HEALTH PLAN".into(),
        "N3*100 PAYER WAY".into(),
        "N4*HARTFORD*CT*06101".into(),
        "REF*2U*60054".into(),
        "PER*BL*EDI SUPPORT*TE*8005550199".into(),
        "N1*PE*SPRINGFIELD FAMILY PRACTICE*XX*1234567893".into(),
        "LX*1".into(),
    ];
    for c in claims {
        body.extend(c.iter().cloned());
    }
    let mut text = format!(
        "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *261120*1200*^*00501*{control:09}*0*P*:~\n\
         GS*HP*ACMEPAYER*REVCYCLE*20261120*1200*{control}*X*005010X221A1~\n",
    );
    for s in &body {
        text.push_str(s);
        text.push_str("~\n");
    }
    text.push_str(&format!(
        "SE*{}*0001~\nGE*1*{control}~\nIEA*1*{control:09}~\n",
        body.len() + 1
    ));
    text
}

/// A claim the payer denied outright (CLP02 4, nothing paid) with one claim-level adjustment
/// `group`-`carc` of the whole 200.00, the payer's claim number `icn`, served on `date`
/// (`YYYYMMDD`).
pub(crate) fn denied_claim(
    pcn: &str,
    icn: &str,
    group: &str,
    carc: &str,
    date: &str,
) -> Vec<String> {
    vec![
        format!("CLP*{pcn}*4*200*0**12*{icn}*11*1"),
        format!("CAS*{group}*{carc}*200"),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        format!("DTM*232*{date}"),
    ]
}

/// The practice's patient's own coverage with the test payer.
async fn self_coverage(s: &Server, p: &crate::fixtures::Practice) -> Value {
    s.create(
        "/v1/coverages",
        &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
            "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
    )
    .await
}

/// A claim of 200.00 (99214-25 150.00, 83036 50.00) submitted and denied outright by the
/// payer's 835 with `group`-`carc` (payer claim number `ICN-<trace>`): the claim and its one
/// open denial.
pub(crate) async fn denied_outright(
    s: &Server,
    p: &crate::fixtures::Practice,
    group: &str,
    carc: &str,
    trace: &str,
    control: u32,
) -> (Value, Value) {
    let coverage = self_coverage(s, p).await;
    let claim = ready_claim_dated(s, p, &coverage, "2026-11-02").await;
    submit(s, &claim).await;
    let icn = format!("ICN-{trace}");
    let x = era(
        trace,
        control,
        "0",
        &[denied_claim(&pcn_of(&claim), &icn, group, carc, "20261102")],
    );
    let (status, imported) = post_raw(s, "/v1/remittances/import?post=true", x.into_bytes()).await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(
        imported["remittances"][0]["posting"]["claims"][0]["status_after"], "denied",
        "{imported}"
    );
    let q = s
        .get(&format!("/v1/work-queues/denials?claim_id={}", id(&claim)))
        .await;
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1, "{}", q.text);
    let denial = q.body["items"][0].clone();
    (claim, denial)
}

/// The claim's ledger: its balance (insurance, patient, total) and its entries as (kind,
/// amount, group, carc).
async fn ledger_of(s: &Server, claim: &Value) -> (Value, Vec<(String, String, String, String)>) {
    let l = s.get(&format!("/v1/claims/{}/ledger", id(claim))).await;
    assert_eq!(l.status, 200, "{}", l.text);
    let entries = l.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("amount"), s("group"), s("carc"))
        })
        .collect();
    (l.body.clone(), entries)
}

/// The payer's total in the A/R aging report as of the end of 2026.
async fn ar_total(s: &Server) -> String {
    let r = s
        .get("/v1/reports/ar-aging?as_of=2026-12-31&group_by=payer&basis=service")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["total"].as_str().unwrap().to_string()
}

fn entry(kind: &str, amount: &str, group: &str, carc: &str) -> (String, String, String, String) {
    (kind.into(), amount.into(), group.into(), carc.into())
}

/// A claim denied outright for timely filing (CO-29, 200.00) is written off in two parts by a
/// biller: 120.00 (taken from the first line, 150.00), then what is left, 80.00 (30.00 from
/// the first line, 50.00 from the second). The claim's balance and the A/R drop by exactly
/// each amount; a second write-off above the 80.00 left is 422 at /amount; billing apps and
/// coders may not write off (403); the last write-off closes the denial and the claim.
async fn a_timely_filing_denial_is_written_off(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let (claim, denial) = denied_outright(&s, &p, "CO", "29", "EFT-WO-1", 611).await;
    assert_eq!(
        (
            &denial["level"],
            &denial["carc"],
            &denial["amount"],
            &denial["category"]
        ),
        (
            &json!("claim"),
            &json!("29"),
            &json!("200.00"),
            &json!("timely_filing")
        )
    );
    let path = format!("/v1/work-queues/denials/{}", id(&denial));
    let (before, entries) = ledger_of(&s, &claim).await;
    assert_eq!(before["balance"]["insurance"], "200.00");
    assert_eq!(
        entries,
        [
            entry("charge", "150.00", "", ""),
            entry("charge", "50.00", "", "")
        ]
    );
    assert_eq!(ar_total(&s).await, "200.00");

    let org = org_of(&s);
    let biller = token(&s, &org, "bill-7", &["biller"], &[]);
    let body = json!({"amount": "120.00", "group": "CO", "carc": "29",
        "note": "Filed 40 days late: VELVETEEN clearinghouse outage, no proof of timely filing"});
    for role in ["billing_app", "coder"] {
        let t = token(&s, &org, role, &[role], &[]);
        let r = step_as(&s, &path, &t, "write-off", &body, &[]).await;
        assert_eq!(r.assert_problem(403), Vec::<String>::new(), "{role}");
    }
    // Each field's rule, in one answer.
    let bad = step_as(
        &s,
        &path,
        &biller,
        "write-off",
        &json!({"amount": "0.00", "group": "PR", "carc": "ZZZ9", "note": " "}),
        &[],
    )
    .await;
    assert_eq!(
        bad.assert_problem(422),
        ["/amount", "/group", "/carc", "/note"],
        "{}",
        bad.text
    );

    let key = [("idempotency-key", "wo-1"), ("if-match", "\"1\"")];
    let first = step_as(&s, &path, &biller, "write-off", &body, &key).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let w = &first.body;
    assert_eq!(
        (&w["written_off"], &w["open_amount"]),
        (&json!("120.00"), &json!("80.00"))
    );
    assert_eq!(
        w["denial"]["status"], "open",
        "a partial write-off closes nothing"
    );
    assert_eq!(w["denial"]["version"], 2);
    assert_eq!(w["claim_status"], "denied");
    assert_eq!(
        w["claim_balance"],
        json!({"insurance": "80.00", "patient": "0.00", "total": "80.00"})
    );
    let lines: Vec<&Value> = claim["lines"].as_array().unwrap().iter().collect();
    assert_eq!(w["entries"].as_array().unwrap().len(), 1);
    assert_eq!(w["entries"][0]["claim_line_id"], lines[0]["id"]);
    assert_eq!(w["entries"][0]["amount"], "-120.00");
    assert_eq!(w["note"]["author"], "bill-7");
    assert_eq!(ar_total(&s).await, "80.00");
    // The same request again (a retry) writes off nothing more.
    let again = step_as(&s, &path, &biller, "write-off", &body, &key).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(ar_total(&s).await, "80.00");

    // More than is left: refused, naming the open amount; nothing changes.
    let over = step_as(
        &s,
        &path,
        &biller,
        "write-off",
        &json!({"amount": "100.00", "group": "CO", "carc": "29"}),
        &[],
    )
    .await;
    assert_eq!(over.assert_problem(422), ["/amount"], "{}", over.text);
    assert_eq!(
        over.body["errors"][0]["message"],
        "must be at most 80.00, the denial's open amount"
    );
    assert_eq!(ar_total(&s).await, "80.00");

    let rest = step_as(
        &s,
        &path,
        &biller,
        "write-off",
        &json!({"amount": "80.00", "group": "CO", "carc": "29"}),
        &[("if-match", "\"2\"")],
    )
    .await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    let w = &rest.body;
    assert_eq!(
        (&w["written_off"], &w["open_amount"]),
        (&json!("200.00"), &json!("0.00"))
    );
    assert_eq!(w["denial"]["status"], "written_off");
    assert_eq!(w["claim_status"], "closed");
    assert_eq!(
        w["claim_balance"],
        json!({"insurance": "0.00", "patient": "0.00", "total": "0.00"})
    );
    let parts: Vec<(&Value, &Value)> = w["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (&e["claim_line_id"], &e["amount"]))
        .collect();
    assert_eq!(
        parts,
        [
            (&lines[0]["id"], &json!("-30.00")),
            (&lines[1]["id"], &json!("-50.00"))
        ]
    );
    assert_eq!(ar_total(&s).await, "0.00");

    // The ledger: the charges and the write-offs, adjustments under CO-29, no payment.
    let (after, entries) = ledger_of(&s, &claim).await;
    assert_eq!(
        entries,
        [
            entry("charge", "150.00", "", ""),
            entry("charge", "50.00", "", ""),
            entry("write_off", "-120.00", "CO", "29"),
            entry("write_off", "-30.00", "CO", "29"),
            entry("write_off", "-50.00", "CO", "29"),
        ]
    );
    assert_eq!(after["status"], "closed");
    let steps: Vec<&str> = after["denial_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["created", "written_off", "written_off"]);
    assert_eq!(
        after["denial_history"][2]["detail"]["to"], "written_off",
        "{}",
        after["denial_history"]
    );
    let transitions: Vec<&str> = after["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(transitions.last(), Some(&"closed"));

    // Closed: nothing more to write off.
    step_as(
        &s,
        &path,
        &biller,
        "write-off",
        &json!({"amount": "1.00", "group": "CO", "carc": "29"}),
        &[],
    )
    .await
    .assert_problem(409);
    assert!(!s.log().contains("VELVETEEN"));
    assert!(!after.to_string().contains("VELVETEEN"));
}
on_both_engines!(a_timely_filing_denial_is_written_off);

/// Submits a claim through the payer connector and reads the 837P it wrote to the outbox.
async fn submit_and_read(
    s: &Server,
    dir: &std::path::Path,
    claim: &Value,
) -> (std::path::PathBuf, String) {
    let r = submit(s, claim).await;
    assert_eq!(r.body["claims"][0]["status"], "submitted", "{}", r.text);
    let path = dir
        .join("outbox")
        .join(r.body["file_name"].as_str().unwrap());
    let x12 = std::fs::read_to_string(&path).unwrap();
    (path, x12)
}

/// The elements of the 837P's first segment with this id.
fn segment<'a>(x12: &'a str, id: &str) -> Vec<&'a str> {
    x12.split('~')
        .map(str::trim)
        .map(|s| s.split('*').collect::<Vec<_>>())
        .find(|s| s[0] == id)
        .unwrap_or_else(|| panic!("no {id} in {x12}"))
}

async fn import_835(s: &Server, x: String) -> Value {
    let (status, imported) = post_raw(s, "/v1/remittances/import?post=true", x.into_bytes()).await;
    assert_eq!(status, 200, "{imported}");
    imported
}

fn history_actions(ledger: &Value) -> Vec<String> {
    ledger["denial_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// A one-line claim (99214-25, 150.00) is denied outright for missing information (CO-16 with
/// M51 on the line). A corrected claim from the denial drops the modifier: frequency 7, the
/// payer's claim number of the original (REF*F8*ICN-EFT-CC-1), scrubbed to ready, its 837P
/// clean for pyx12. Its charge (150.00) takes the original's place on the ledger (the A/R stays
/// 150.00); the payer's next 835 pays it (110.00, CO-45 40.00) and the denial is resolved.
async fn a_missing_information_denial_is_fixed_by_a_corrected_claim(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let coverage = self_coverage(&s, &p).await;
    let enc = s
        .create(
            "/v1/encounters",
            &json!({
                "patient_id": p.patient["id"], "coverage_id": coverage["id"],
                "billing_provider_id": p.billing["id"], "rendering_provider_id": p.rendering["id"],
                "service_date_from": "2026-11-02", "place_of_service": "11",
                "diagnoses": ["E11.9", "I10"],
                "lines": [{"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]}]
            }),
        )
        .await;
    let original = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&original)), &json!({}))
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    submit(&s, &original).await;
    let denied = vec![
        format!("CLP*{}*4*150*0**12*ICN-EFT-CC-1*11*1", pcn_of(&original)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".to_string(),
        "SVC*HC:99214:25*150*0**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*16*150".into(),
        "LQ*HE*M51".into(),
    ];
    import_835(&s, era("EFT-CC-1", 621, "0", &[denied])).await;
    let q = s
        .get(&format!(
            "/v1/work-queues/denials?claim_id={}",
            id(&original)
        ))
        .await;
    let denial = q.body["items"][0].clone();
    assert_eq!(
        summary(&denial),
        (
            "line".into(),
            "99214".into(),
            "CO".into(),
            "16".into(),
            "150.00".into(),
            "missing_information".into(),
            true,
            false
        )
    );
    assert_eq!(denial["rarcs"], json!(["M51"]));
    assert_eq!(ar_total(&s).await, "150.00");
    let path = format!("/v1/work-queues/denials/{}", id(&denial));

    // Coders may not; a bad correction names the field.
    let org = org_of(&s);
    let coder = token(&s, &org, "coder-2", &["coder"], &[]);
    step_as(&s, &path, &coder, "corrected-claim", &json!({}), &[])
        .await
        .assert_problem(403);
    let bad = s
        .post(
            &format!("{path}/corrected-claim"),
            &json!({"diagnoses": ["E11"], "prior_authorization": ""}),
        )
        .await;
    let mut pointers = bad.assert_problem(422);
    pointers.sort();
    // The original's line points at a second diagnosis the correction leaves out.
    assert_eq!(
        pointers,
        [
            "/diagnoses/0",
            "/lines/0/diagnosis_pointers/1",
            "/prior_authorization"
        ],
        "{}",
        bad.text
    );

    let fix = json!({
        "lines": [{"procedure_code": "99214", "units": "1", "charge": "150.00", "diagnosis_pointers": [1, 2]}],
        "note": "M51: modifier 25 without a separate procedure; removed (ORCHIDACEOUS)"
    });
    let made = s.post(&format!("{path}/corrected-claim"), &fix).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let corrected = made.body["claim"].clone();
    assert_eq!(corrected["frequency_code"], "7");
    assert_eq!(corrected["original_claim_id"], original["id"]);
    assert_eq!(corrected["original_reference"], "ICN-EFT-CC-1");
    assert_eq!(corrected["status"], "ready", "{}", made.text);
    assert_eq!(corrected["lines"][0]["modifiers"], json!([]));
    assert_eq!(corrected["total_charge"], "150.00");
    assert_eq!(made.body["scrub"]["passed"], true);
    assert_eq!(made.body["denial"]["status"], "in_progress");
    assert_eq!(
        made.body["denial"]["resubmission_claim_id"],
        corrected["id"]
    );
    // One resubmission per denial.
    s.post(&format!("{path}/void-claim"), &json!({}))
        .await
        .assert_problem(409);

    // The corrected claim's charge replaces the original's: the A/R does not double.
    let (orig_ledger, orig_entries) = ledger_of(&s, &original).await;
    assert_eq!(
        orig_entries,
        [
            entry("charge", "150.00", "", ""),
            entry("reversal", "-150.00", "", "")
        ]
    );
    assert_eq!(orig_ledger["balance"]["total"], "0.00");
    let (_, new_entries) = ledger_of(&s, &corrected).await;
    assert_eq!(new_entries, [entry("charge", "150.00", "", "")]);
    assert_eq!(ar_total(&s).await, "150.00");

    // Sent through the payer connector like any claim: a replacement of the payer's claim.
    let (file, x837) = submit_and_read(&s, dir.path(), &corrected).await;
    let clm = segment(&x837, "CLM");
    assert_eq!(clm[1], pcn_of(&corrected));
    assert_eq!(clm[2], "150");
    assert_eq!(clm[5], "11:B:7", "CLM05: place of service, B, frequency 7");
    assert!(x837.contains("REF*F8*ICN-EFT-CC-1~"), "{x837}");
    assert!(!x837.contains("SV1*HC:99214:25"), "{x837}");
    crate::cob::assert_pyx12_clean(&[file]);

    let paid = vec![
        format!("CLP*{}*1*150*110**12*ICN-EFT-CC-2*11*7", pcn_of(&corrected)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".to_string(),
        "SVC*HC:99214*150*110**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*40".into(),
    ];
    let imported = import_835(&s, era("EFT-CC-2", 622, "110", &[paid])).await;
    assert_eq!(
        imported["remittances"][0]["posting"]["claims"][0]["status_after"], "paid",
        "{imported}"
    );
    let (after, entries) = ledger_of(&s, &corrected).await;
    assert_eq!(
        entries,
        [
            entry("charge", "150.00", "", ""),
            entry("insurance_payment", "-110.00", "", ""),
            entry("contractual_adjustment", "-40.00", "CO", "45"),
        ]
    );
    assert_eq!(after["balance"]["total"], "0.00");
    assert_eq!(ar_total(&s).await, "0.00");
    let detail = s.get(&path).await;
    assert_eq!(detail.body["status"], "resolved", "{}", detail.text);
    let (orig_ledger, _) = ledger_of(&s, &original).await;
    assert_eq!(
        history_actions(&orig_ledger),
        ["created", "corrected_claim_created", "resolved_by_payment"]
    );
    assert!(!s.log().contains("ORCHIDACEOUS"));
    // Closed: no second corrected claim.
    s.post(&format!("{path}/corrected-claim"), &json!({}))
        .await
        .assert_problem(409);
}
on_both_engines!(a_missing_information_denial_is_fixed_by_a_corrected_claim);

/// A void claim from a denial (CO-18, a duplicate): frequency 8 with REF*F8, ready to send; it
/// bills nothing, so the original's 200.00 stays on the ledger until the payer reverses it or
/// the biller writes it off.
async fn a_duplicate_denial_is_voided(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let (claim, denial) = denied_outright(&s, &p, "OA", "18", "EFT-VD-1", 641).await;
    assert_eq!(denial["category"], "duplicate");
    let path = format!("/v1/work-queues/denials/{}", id(&denial));
    let org = org_of(&s);
    let app = token(&s, &org, "app-1", &["billing_app"], &[]);
    // Voiding a claim is a permission of its own: billing apps may not.
    step_as(&s, &path, &app, "void-claim", &json!({}), &[])
        .await
        .assert_problem(403);
    let made = s.post(&format!("{path}/void-claim"), &json!({})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let void = &made.body["claim"];
    assert_eq!(void["frequency_code"], "8");
    assert_eq!(void["original_reference"], "ICN-EFT-VD-1");
    assert_eq!(void["status"], "ready", "{}", made.text);
    let (_, entries) = ledger_of(&s, void).await;
    assert!(entries.is_empty(), "a void bills nothing: {entries:?}");
    let (orig, _) = ledger_of(&s, &claim).await;
    assert_eq!(orig["balance"]["total"], "200.00");
    assert_eq!(ar_total(&s).await, "200.00");
    let (file, x837) = submit_and_read(&s, dir.path(), void).await;
    assert_eq!(segment(&x837, "CLM")[5], "11:B:8");
    assert!(x837.contains("REF*F8*ICN-EFT-VD-1~"), "{x837}");
    crate::cob::assert_pyx12_clean(&[file]);
}
on_both_engines!(a_duplicate_denial_is_voided);

/// A claim denied outright for want of a prior authorization (CO-197, 200.00) with a payer
/// whose appeal window is one day: the queue flags it and sorts it by deadline; an appeal sent
/// after the deadline is refused without a reason and taken with one; the payer upholds level
/// 1 (recorded by hand: the claim is denied again), level 2 is sent in time, and the payer's
/// next 835 pays the claim (160.00, CO-45 40.00): the appeal is overturned and the denial
/// resolved.
async fn an_authorization_denial_is_appealed_and_overturned(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    assert_eq!(p.payer["appeal_limit_days"], 180, "the commercial default");
    let payer = s
        .call(
            "PUT",
            &format!("/v1/payers/{}", id(&p.payer)),
            Some(&s.token),
            Some(&json!({"name": "Acme Health Plan", "payer_code": "60054",
                "claim_filing_indicator": "CI", "timely_filing_days": 3650, "appeal_limit_days": 1})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(payer.status, 200, "{}", payer.text);
    assert_eq!(payer.body["appeal_limit_days"], 1);
    let (claim, denial) = denied_outright(&s, &p, "CO", "197", "EFT-AP-1", 631).await;
    assert_eq!(denial["category"], "authorization");
    // The remittance's date (BPR16 2026-11-20) plus one day.
    assert_eq!(denial["appeal_deadline"], "2026-11-21");
    assert_eq!(denial["appeal_due_soon"], true);
    let path = format!("/v1/work-queues/denials/{}", id(&denial));
    let q = |query: &str| format!("/v1/work-queues/denials?{query}");
    assert_eq!(
        ids(&s
            .get(&q("sort=appeal_deadline&appeal_deadline_by=2026-11-21"))
            .await),
        [id(&denial).to_string()]
    );
    assert!(ids(&s.get(&q("appeal_deadline_by=2026-11-20")).await).is_empty());

    // The letter: its facts, and a printable page.
    let letter = s.get(&format!("{path}/appeal-letter")).await;
    assert_eq!(letter.status, 200, "{}", letter.text);
    let l = &letter.body;
    assert_eq!(
        (
            &l["level"],
            &l["payer_claim_number"],
            &l["amount"],
            &l["group"]
        ),
        (
            &json!(1),
            &json!("ICN-EFT-AP-1"),
            &json!("200.00"),
            &json!("CO")
        )
    );
    assert_eq!(l["carc"]["code"], "197");
    assert!(l["carc"]["description"].is_string(), "{l}");
    assert_eq!(l["member_id"], SELF_MEMBER);
    assert_eq!(l["patient_control_number"], claim["patient_control_number"]);
    assert_eq!(l["appeal_deadline"], "2026-11-21");
    let charges: Vec<&Value> = l["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["charge"])
        .collect();
    assert_eq!(charges, [&json!("150.00"), &json!("50.00")]);
    let page = s
        .call(
            "GET",
            &format!("{path}/appeal-letter"),
            Some(&s.token),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    for wanted in [
        "ICN-EFT-AP-1",
        "CO-197",
        "$200.00",
        "$150.00",
        "First appeal due by: 11/21/2026",
    ] {
        assert!(page.text.contains(wanted), "{wanted} in {}", page.text);
    }
    let name = format!("{} {}", crate::fixtures::GIVEN, crate::fixtures::FAMILY);
    assert!(page.text.contains(&name), "{}", page.text);
    let desk = token(&s, &org_of(&s), "desk-1", &["front_desk"], &[]);
    s.call(
        "GET",
        &format!("{path}/appeal-letter"),
        Some(&desk),
        None,
        &[],
    )
    .await
    .assert_problem(403);

    let today = chrono::Utc::now().date_naive().to_string();
    let late = s
        .post(&format!("{path}/appeal"), &json!({"sent_on": today}))
        .await;
    assert_eq!(late.assert_problem(422), ["/sent_on"], "{}", late.text);
    assert_eq!(
        late.body["errors"][0]["message"],
        "the appeal deadline 2026-11-21 has passed: give late_reason to appeal anyway"
    );
    let first = s
        .post(
            &format!("{path}/appeal"),
            &json!({"sent_on": today, "late_reason": "The approval letter (MARSUPIAL) reached us after the window",
                "note": "Authorization PA-5521 attached"}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["appeal"]["level"], 1);
    assert_eq!(first.body["appeal"]["late"], true);
    assert_eq!(first.body["appeal"]["deadline"], "2026-11-21");
    assert_eq!(first.body["denial"]["status"], "appealed");
    assert_eq!(first.body["denial"]["appeal_due_soon"], false);
    assert_eq!(first.body["claim_status"], "appealed");
    s.post(&format!("{path}/appeal"), &json!({"sent_on": today}))
        .await
        .assert_problem(409);

    let upheld = s
        .post(
            &format!("{path}/appeal/outcome"),
            &json!({"outcome": "upheld", "decided_on": today}),
        )
        .await;
    assert_eq!(upheld.status, 200, "{}", upheld.text);
    assert_eq!(upheld.body["appeal"]["outcome"], "upheld");
    assert_eq!(upheld.body["denial"]["status"], "in_progress");
    assert_eq!(upheld.body["claim_status"], "denied");
    // Level 2 is due one day after the decision: in time today.
    let second = s
        .post(
            &format!("{path}/appeal"),
            &json!({"level": 2, "sent_on": today}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body["appeal"]["late"], false);
    assert_eq!(second.body["claim_status"], "appealed");

    let paid = vec![
        format!("CLP*{}*1*200*160**12*ICN-EFT-AP-2*11*1", pcn_of(&claim)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".to_string(),
        "SVC*HC:99214:25*150*120**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*30".into(),
        "SVC*HC:83036*50*40**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*10".into(),
    ];
    let imported = import_835(&s, era("EFT-AP-2", 632, "160", &[paid])).await;
    assert_eq!(
        imported["remittances"][0]["posting"]["claims"][0]["status_after"], "paid",
        "{imported}"
    );
    let detail = s.get(&path).await;
    assert_eq!(detail.body["status"], "resolved", "{}", detail.text);
    let outcomes: Vec<&Value> = detail.body["appeals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["outcome"])
        .collect();
    assert_eq!(outcomes, [&json!("upheld"), &json!("overturned")]);
    assert!(
        detail.body["appeals"][1]["decided_by"]
            .as_str()
            .unwrap()
            .starts_with("remittance:")
    );
    let (ledger, entries) = ledger_of(&s, &claim).await;
    assert_eq!(
        entries,
        [
            entry("charge", "150.00", "", ""),
            entry("charge", "50.00", "", ""),
            entry("insurance_payment", "-120.00", "", ""),
            entry("contractual_adjustment", "-30.00", "CO", "45"),
            entry("insurance_payment", "-40.00", "", ""),
            entry("contractual_adjustment", "-10.00", "CO", "45"),
        ]
    );
    assert_eq!(ledger["balance"]["total"], "0.00");
    assert_eq!(ledger["status"], "paid");
    assert_eq!(ar_total(&s).await, "0.00");
    assert_eq!(
        history_actions(&ledger),
        [
            "created",
            "appealed",
            "appeal_decided",
            "appealed",
            "resolved_by_payment"
        ]
    );
    assert!(!s.log().contains("MARSUPIAL"));
}
on_both_engines!(an_authorization_denial_is_appealed_and_overturned);

/// The practice's appeal-letter template: the default while none is set; set by an admin
/// (practice.manage; billers may not), versioned (ETag, If-Match, 412); an unknown or unclosed
/// placeholder is 422 with its pointer. The letter of a one-line CO-16 + M51 denial of
/// 1,234.50 with a prior authorization, printed from it as HTML (the practice's text escaped)
/// and as a PDF that poppler reads back with every fact and the exact amounts, inside the page.
/// Another org's template is never used, and every printed read is audited as a disclosure.
async fn an_appeal_letter_is_printed_from_the_practice_template(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let coverage = self_coverage(&s, &p).await;
    let enc = s
        .create(
            "/v1/encounters",
            &json!({
                "patient_id": p.patient["id"], "coverage_id": coverage["id"],
                "billing_provider_id": p.billing["id"], "rendering_provider_id": p.rendering["id"],
                "service_date_from": "2026-11-02", "place_of_service": "11",
                "prior_authorization": "PA-778812",
                "diagnoses": ["E11.9", "I10"],
                "lines": [{"procedure_code": "99214", "modifiers": ["25"], "units": "1", "charge": "1234.50", "diagnosis_pointers": [1, 2]}]
            }),
        )
        .await;
    let claim = s
        .create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await;
    let scrub = s
        .post(&format!("/v1/claims/{}/scrub", id(&claim)), &json!({}))
        .await;
    assert_eq!(scrub.body["status"], "ready", "{}", scrub.text);
    submit(&s, &claim).await;
    let denied = vec![
        format!("CLP*{}*4*1234.5*0**12*ICN-EFT-LT-1*11*1", pcn_of(&claim)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".to_string(),
        "SVC*HC:99214:25*1234.5*0**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*16*1234.5".into(),
        "LQ*HE*M51".into(),
    ];
    import_835(&s, era("EFT-LT-1", 661, "0", &[denied])).await;
    let q = s
        .get(&format!("/v1/work-queues/denials?claim_id={}", id(&claim)))
        .await;
    let denial = q.body["items"][0].clone();
    assert_eq!(denial["amount"], "1234.50", "{}", q.text);
    let letter_path = format!("/v1/work-queues/denials/{}/appeal-letter", id(&denial));
    let org = org_of(&s);

    // The default while none is set.
    let t = s.get("/v1/appeal-letter-template").await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(
        (&t.body["is_default"], &t.body["version"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(t.body["heading"], "Request for appeal, level {{level}}");
    assert_eq!(t.header("etag"), None);
    let default_page = s
        .call(
            "GET",
            &letter_path,
            Some(&s.token),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(default_page.status, 200, "{}", default_page.text);
    assert!(
        default_page
            .text
            .contains("<h1>Request for appeal, level 1</h1>"),
        "{}",
        default_page.text
    );
    assert!(
        default_page
            .text
            .contains("Prior authorization: PA-778812<br>"),
        "{}",
        default_page.text
    );

    // Another practice sets a template of its own: never ours.
    let (_, other_admin) = s.new_org("Elsewhere");
    let theirs = s
        .call(
            "PUT",
            "/v1/appeal-letter-template",
            Some(&other_admin),
            Some(&json!({"heading": "ELSEWHERE {{level}}", "body": "Not our wording {{amount}}"})),
            &[],
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);

    // Only admins set it; a bad placeholder names the field and the place.
    let template = json!({
        "heading": "Reconsideration request <level {{ level }}>",
        "body": "{{date}}\r\n\r\n{{payer_name}}\r\nAttn: Appeals & Reconsiderations\r\n\r\n\
                 Re: {{patient_name}}, born {{patient_birth_date}}, member {{member_id}}\r\n\
                 Our claim {{patient_control_number}}, your claim {{payer_claim_number}}\r\n\
                 Service {{service_dates}} (from {{service_date_from}} to {{service_date_to}})\r\n\
                 Authorization on file: {{prior_authorization}}\r\n\r\n\
                 You denied {{amount}} under {{adjustment}} (group {{group}}, reason {{carc}}: {{carc_description}}).\r\n\
                 Remarks: {{rarcs}}\r\n\
                 Appeal deadline {{appeal_deadline}}; this is level {{level}}.\r\n\r\n\
                 Lines:\r\n{{lines}}\r\n\r\n\
                 Kind regards,\r\n{{provider_name}} (NPI {{provider_npi}})"
    });
    let biller = token(&s, &org, "bill-3", &["biller"], &[]);
    s.call(
        "PUT",
        "/v1/appeal-letter-template",
        Some(&biller),
        Some(&template),
        &[],
    )
    .await
    .assert_problem(403);
    let bad = s
        .call(
            "PUT",
            "/v1/appeal-letter-template",
            Some(&s.token),
            Some(&json!({"heading": "Appeal {{level", "body": "Dear {{payer_name}}, {{ ssn }}"})),
            &[],
        )
        .await;
    assert_eq!(
        bad.assert_problem(422),
        ["/heading", "/body"],
        "{}",
        bad.text
    );
    assert!(
        bad.body["errors"][1]["message"]
            .as_str()
            .unwrap()
            .starts_with("the {{ at character 22 is not a known placeholder (placeholders: date,"),
        "{}",
        bad.text
    );
    let set = s
        .call(
            "PUT",
            "/v1/appeal-letter-template",
            Some(&s.token),
            Some(&template),
            &[],
        )
        .await;
    assert_eq!(set.status, 201, "{}", set.text);
    assert_eq!(set.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(set.body["is_default"], false);
    assert!(
        set.body["body"]
            .as_str()
            .unwrap()
            .starts_with("{{date}}\n\n{{payer_name}}\nAttn: Appeals & Reconsiderations\n"),
        "{}",
        set.text
    );
    let read = s.get("/v1/appeal-letter-template").await;
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(read.body["heading"], template["heading"]);
    s.call(
        "PUT",
        "/v1/appeal-letter-template",
        Some(&s.token),
        Some(&template),
        &[("if-match", "\"7\"")],
    )
    .await
    .assert_problem(412);
    let again = s
        .call(
            "PUT",
            "/v1/appeal-letter-template",
            Some(&s.token),
            Some(&template),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.header("etag").as_deref(), Some("\"2\""));

    // The letter as a page: the practice's wording, escaped, with the facts.
    let today = crate::statements::us(chrono::Utc::now().date_naive());
    let name = format!("{} {}", crate::fixtures::GIVEN, crate::fixtures::FAMILY);
    let page = s
        .call(
            "GET",
            &letter_path,
            Some(&s.token),
            None,
            &[("accept", "text/html")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text
            .contains("<h1>Reconsideration request &lt;level 1&gt;</h1>"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(&format!(
            "<p>{today}</p>\n<p>Acme Health Plan<br>\nAttn: Appeals &amp; Reconsiderations</p>"
        )),
        "{}",
        page.text
    );
    assert!(!page.text.contains("ELSEWHERE") && !page.text.contains("Not our wording"));

    // The letter as a PDF, read back by poppler.
    let pdf = crate::statements::pdf_of(&s, &letter_path).await;
    let read = crate::statements::read_pdf(&pdf, dir.path(), "letter");
    assert_eq!(read.pages, 1);
    let text = crate::statements::squeeze(&read.text);
    let pcn = pcn_of(&claim);
    for wanted in [
        "Reconsideration request <level 1>".to_string(),
        today.clone(),
        "Acme Health Plan".into(),
        "Attn: Appeals & Reconsiderations".into(),
        format!("Re: {name}, born 04/02/1980, member {SELF_MEMBER}"),
        format!("Our claim {pcn}, your claim ICN-EFT-LT-1"),
        "Service 11/02/2026 (from 11/02/2026 to 11/02/2026)".into(),
        "Authorization on file: PA-778812".into(),
        "You denied $1,234.50 under CO-16 (group CO, reason 16: Claim or service lacks \
         information or has billing errors)."
            .into(),
        "Remarks: M51 (Procedure code missing, incomplete or invalid)".into(),
        // The remittance's date (BPR16 2026-11-20) plus the commercial default of 180 days.
        "Appeal deadline 05/19/2027; this is level 1.".into(),
        "Lines: 99214-25, 11/02/2026, charge $1,234.50".into(),
        format!(
            "Kind regards, Springfield Family Practice (NPI {})",
            crate::fixtures::BILLING_NPI
        ),
        "Page 1 of 1".into(),
    ] {
        assert!(text.contains(&wanted), "{wanted:?} in {text}");
    }
    assert!(!text.contains("ELSEWHERE") && !text.contains("Not our wording"));
    // The document's metadata names no patient.
    assert!(
        String::from_utf8_lossy(&pdf).contains("/Title (Appeal of a claim denial)"),
        "a title without patient data"
    );

    // Every printed read is audited as a disclosure of the patient's record.
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
    let reads = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["resource_type"] == "Denial"
                && e["resource_id"] == denial["id"]
                && e["action"] == "read"
                && e["http_status"] == 200
                && e["patient_ids"] == json!([id(&p.patient)])
        })
        .count();
    // The default's page, the template's page and the PDF.
    assert_eq!(reads, 3, "{}", events.text);
}
on_both_engines!(an_appeal_letter_is_printed_from_the_practice_template);
