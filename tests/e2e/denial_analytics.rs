//! Denial analytics end to end, worked by hand: five claims of 200.00 at two payers, their
//! 835s, an appeal upheld then one overturned by the payer's payment, a write-off; every rate,
//! count and amount of `GET /v1/reports/denial-analytics` is checked exactly, whole and
//! filtered by payer.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use revcycle_core::store::schema::denials;
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::denials::{denied_claim, denied_outright, era};
use crate::fixtures::Practice;
use crate::fixtures::{id, org_of, practice, token};
use crate::on_both_engines;
use crate::payer::{
    SELF_MEMBER, answer_835, payer_server, pcn_of, post_raw, ready_claim_dated, submit,
};

async fn import(s: &Server, x12: String) -> Value {
    let (status, imported) =
        post_raw(s, "/v1/remittances/import?post=true", x12.into_bytes()).await;
    assert_eq!(status, 200, "{imported}");
    imported
}

/// A claim of 200.00 served on `date` (another day than [`denied_outright`]'s, or it would be
/// a duplicate) denied outright CO-`carc`: the claim and its denial.
async fn denied_on(
    s: &Server,
    p: &Practice,
    date: &str,
    carc: &str,
    trace: &str,
    control: u32,
) -> (Value, Value) {
    let coverage = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let claim = ready_claim_dated(s, p, &coverage, date).await;
    submit(s, &claim).await;
    let icn = format!("ICN-{trace}");
    let x = era(
        trace,
        control,
        "0",
        &[denied_claim(
            &pcn_of(&claim),
            &icn,
            "CO",
            carc,
            &date.replace('-', ""),
        )],
    );
    let imported = import(s, x).await;
    assert_eq!(status_after(&imported), ["denied"]);
    let q = s
        .get(&format!("/v1/work-queues/denials?claim_id={}", id(&claim)))
        .await;
    assert_eq!(q.status, 200, "{}", q.text);
    let denial = q.body["items"][0].clone();
    (claim, denial)
}

fn status_after(imported: &Value) -> Vec<String> {
    imported["remittances"][0]["posting"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status_after"].as_str().unwrap().to_string())
        .collect()
}

fn rate(value: Option<&str>, numerator: &str, denominator: &str) -> Value {
    json!({"value": value, "numerator": numerator, "denominator": denominator})
}

fn group(key: &str, claims: i64, denials: i64, amount: &str, rate: Value) -> Value {
    json!({"key": key, "denied_claims": claims, "denials": denials, "amount": amount, "rate": rate})
}

/// Moves a denial's creation back `days` days (noon UTC), so that days to resolve are not all
/// zero: the steps taken on it stay today.
fn backdate(s: &Server, denial_id: &str, days: i64) {
    let day = Utc::now().date_naive() - Duration::days(days);
    let at: NaiveDateTime = day.and_hms_opt(12, 0, 0).unwrap();
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    let n = diesel::update(denials::table.filter(denials::id.eq(denial_id)))
        .set(denials::created_at.eq(at))
        .execute(&mut conn)
        .expect("backdate");
    assert_eq!(n, 1);
}

/// Payer A (Acme, 60054): claim 1 denied CO-197 (authorization), appealed, upheld, appealed
/// again and paid 160.00 (overturned: recovered 160.00; created 10 days ago); claim 2 denied
/// CO-29 (timely filing) and written off 200.00 (created 3 days ago); claim 3 paid 96.00.
/// Payer B (Beacon, 70070), one 835 paying 150.00: claim 4 denied CO-16 (missing information,
/// left open), claim 5 partially paid with its 83036 line denied CO-97 50.00 (bundling; its
/// 150.00 paid in the same remittance is not a recovery).
///
/// Adjudicated: 5 claims (A 3, B 2); denied: 4 (A 2, B 2); 650.00 denied; appeals 2 decided,
/// 1 overturned; closed 2 in 10 and 3 days (average 6.50, median 6.5).
async fn denial_analytics_are_exact(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let p = practice(&s).await;
    let today = Utc::now().date_naive();
    let org = org_of(&s);
    let biller = token(&s, &org, "bill-9", &["biller"], &[]);

    // Claim 1: denied, appeal upheld, appeal level 2, paid by the payer (overturned).
    let (c1, d1) = denied_outright(&s, &p, "CO", "197", "EFT-DA-1", 741).await;
    let path1 = format!("/v1/work-queues/denials/{}", id(&d1));
    let sent = s
        .post(&format!("{path1}/appeal"), &json!({"sent_on": today}))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let upheld = s
        .post(
            &format!("{path1}/appeal/outcome"),
            &json!({"outcome": "upheld", "decided_on": today}),
        )
        .await;
    assert_eq!(upheld.status, 200, "{}", upheld.text);
    let second = s
        .post(
            &format!("{path1}/appeal"),
            &json!({"level": 2, "sent_on": today}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let paid = vec![
        format!("CLP*{}*1*200*160**12*ICN-EFT-DA-2*11*1", pcn_of(&c1)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261102".to_string(),
        "SVC*HC:99214:25*150*120**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*30".into(),
        "SVC*HC:83036*50*40**1".into(),
        "DTM*472*20261102".into(),
        "CAS*CO*45*10".into(),
    ];
    let imported = import(&s, era("EFT-DA-2", 742, "160", &[paid])).await;
    assert_eq!(status_after(&imported), ["paid"]);
    assert_eq!(s.get(&path1).await.body["status"], "resolved");

    // Claim 2: denied for timely filing, written off.
    let (_c2, d2) = denied_on(&s, &p, "2026-11-03", "29", "EFT-DA-3", 743).await;
    let w = s
        .call(
            "POST",
            &format!("/v1/work-queues/denials/{}/write-off", id(&d2)),
            Some(&biller),
            Some(&json!({"amount": "200.00", "group": "CO", "carc": "29"})),
            &[],
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.body["denial"]["status"], "written_off");

    // Claim 3: paid, no denial.
    let cov_a = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": p.payer["id"], "priority": "primary",
                "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let c3 = ready_claim_dated(&s, &p, &cov_a, "2026-11-04").await;
    submit(&s, &c3).await;
    let imported = import(&s, answer_835(&pcn_of(&c3), "EFT-DA-4")).await;
    assert_eq!(status_after(&imported), ["paid"]);

    // Payer B: claims 4 and 5 in one 835.
    let payer_b = s
        .create(
            "/v1/payers",
            &json!({"name": "Beacon Mutual", "payer_code": "70070",
                "claim_filing_indicator": "CI", "timely_filing_days": 3650}),
        )
        .await;
    let cov_b = s
        .create(
            "/v1/coverages",
            &json!({"patient_id": p.patient["id"], "payer_id": payer_b["id"], "priority": "primary",
                "member_id": SELF_MEMBER, "relationship": "self", "effective_from": "2026-01-01"}),
        )
        .await;
    let c4 = ready_claim_dated(&s, &p, &cov_b, "2026-11-05").await;
    let c5 = ready_claim_dated(&s, &p, &cov_b, "2026-11-06").await;
    submit(&s, &c4).await;
    submit(&s, &c5).await;
    let partly = vec![
        format!("CLP*{}*1*200*150**12*ICN-EFT-DA-5B*11*1", pcn_of(&c5)),
        format!("NM1*QC*1*DOE*JANE****MI*{SELF_MEMBER}"),
        "DTM*232*20261106".to_string(),
        "SVC*HC:99214:25*150*150**1".into(),
        "DTM*472*20261106".into(),
        "SVC*HC:83036*50*0**1".into(),
        "DTM*472*20261106".into(),
        "CAS*CO*97*50".into(),
    ];
    let x = era(
        "EFT-DA-5",
        745,
        "150",
        &[
            denied_claim(&pcn_of(&c4), "ICN-EFT-DA-5A", "CO", "16", "20261105"),
            partly,
        ],
    );
    assert!(x.contains("REF*2U*60054~"));
    let x = x.replacen("REF*2U*60054~", "REF*2U*70070~", 1);
    let imported = import(&s, x).await;
    assert_eq!(status_after(&imported), ["denied", "partially_paid"]);

    backdate(&s, id(&d1), 10);
    backdate(&s, id(&d2), 3);

    let (a, b) = (id(&p.payer), id(&payer_b));
    let provider = id(&p.rendering);
    let period = format!("from={}&to={today}", today - Duration::days(30));
    let r = s
        .get(&format!("/v1/reports/denial-analytics?{period}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fifth = || rate(Some("0.2000"), "1", "5");
    assert_eq!(
        r.body,
        json!({
            "from": (today - Duration::days(30)).to_string(), "to": today.to_string(),
            "payer_id": null,
            "denial_rate": rate(Some("0.8000"), "4", "5"),
            "denials": 4, "denied_amount": "650.00",
            "by_payer": [
                group(a, 2, 2, "400.00", rate(Some("0.6667"), "2", "3")),
                group(b, 2, 2, "250.00", rate(Some("1.0000"), "2", "2")),
            ],
            "by_category": [
                group("authorization", 1, 1, "200.00", fifth()),
                group("missing_information", 1, 1, "200.00", fifth()),
                group("timely_filing", 1, 1, "200.00", fifth()),
                group("bundling", 1, 1, "50.00", fifth()),
            ],
            "by_carc": [
                group("CO-16", 1, 1, "200.00", fifth()),
                group("CO-197", 1, 1, "200.00", fifth()),
                group("CO-29", 1, 1, "200.00", fifth()),
                group("CO-97", 1, 1, "50.00", fifth()),
            ],
            "by_provider": [group(provider, 4, 4, "650.00", rate(Some("0.8000"), "4", "5"))],
            "appeals": {"sent": 2, "decided": 2, "overturned": 1, "partially_overturned": 0,
                "upheld": 1, "overturn_rate": rate(Some("0.5000"), "1", "2")},
            "days_to_resolve": {"closed": 2, "average_days": "6.50", "median_days": "6.5"},
            "recovered": "160.00", "written_off": "200.00",
        }),
        "{}",
        r.text
    );

    // Payer B only: its two adjudicated claims, both denied; nothing appealed nor closed.
    let r = s
        .get(&format!(
            "/v1/reports/denial-analytics?{period}&payer_id={b}&limit=1"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let half = rate(Some("0.5000"), "1", "2");
    assert_eq!(r.body["payer_id"], payer_b["id"]);
    assert_eq!(r.body["denial_rate"], rate(Some("1.0000"), "2", "2"));
    assert_eq!(
        (&r.body["denials"], &r.body["denied_amount"]),
        (&json!(2), &json!("250.00"))
    );
    assert_eq!(
        r.body["by_payer"],
        json!([group(b, 2, 2, "250.00", rate(Some("1.0000"), "2", "2"))])
    );
    // limit=1: the larger group only.
    assert_eq!(
        r.body["by_category"],
        json!([group("missing_information", 1, 1, "200.00", half.clone())])
    );
    assert_eq!(
        r.body["by_carc"],
        json!([group("CO-16", 1, 1, "200.00", half)])
    );
    assert_eq!(
        r.body["appeals"],
        json!({"sent": 0, "decided": 0, "overturned": 0, "partially_overturned": 0,
            "upheld": 0, "overturn_rate": rate(None, "0", "0")})
    );
    assert_eq!(
        r.body["days_to_resolve"],
        json!({"closed": 0, "average_days": null, "median_days": null})
    );
    assert_eq!(
        (&r.body["recovered"], &r.body["written_off"]),
        (&json!("0.00"), &json!("0.00"))
    );

    // Payer A over the last five days: claim 2's denial only (claim 1's is 10 days old), over
    // payer A's three adjudicated claims.
    let r = s
        .get(&format!(
            "/v1/reports/denial-analytics?from={}&to={today}&payer_id={a}",
            today - Duration::days(5)
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["denial_rate"], rate(Some("0.3333"), "1", "3"));
    assert_eq!(
        r.body["by_carc"],
        json!([group(
            "CO-29",
            1,
            1,
            "200.00",
            rate(Some("0.3333"), "1", "3")
        )])
    );
    assert_eq!(
        r.body["days_to_resolve"],
        json!({"closed": 1, "average_days": "3.00", "median_days": "3"})
    );
    assert_eq!(r.body["appeals"]["sent"], 0);
    assert_eq!(
        (&r.body["recovered"], &r.body["written_off"]),
        (&json!("0.00"), &json!("200.00"))
    );

    // A period with nothing in it: rates without a value.
    let r = s
        .get("/v1/reports/denial-analytics?from=2020-01-01&to=2020-01-31")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["denial_rate"], rate(None, "0", "0"));
    assert_eq!(r.body["by_payer"], json!([]));
    assert_eq!(r.body["denied_amount"], "0.00");

    // The denials report (outright denials of the remittances posted in the period), by the
    // database: three claim-level denials of 200.00 and claim 5's 83036 line (50.00).
    let d = s.get(&format!("/v1/reports/denials?{period}")).await;
    assert_eq!(d.status, 200, "{}", d.text);
    let g =
        |key: &str, count: i64, amount: &str| json!({"key": key, "count": count, "amount": amount});
    assert_eq!(
        d.body,
        json!({
            "from": (today - Duration::days(30)).to_string(), "to": today.to_string(),
            "count": 4, "claims": 4, "amount": "650.00",
            "by_carc": [g("CO-16", 1, "200.00"), g("CO-197", 1, "200.00"),
                g("CO-29", 1, "200.00"), g("CO-97", 1, "50.00")],
            "by_payer": [g(a, 2, "400.00"), g(b, 2, "250.00")],
            "by_procedure_code": [g("claim", 3, "600.00"), g("83036", 1, "50.00")],
        }),
        "{}",
        d.text
    );
    // Open-ended, one group per list: the largest amount, then the first key.
    let d = s.get("/v1/reports/denials?limit=1").await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(
        (
            &d.body["from"],
            &d.body["count"],
            &d.body["claims"],
            &d.body["amount"]
        ),
        (&json!(null), &json!(4), &json!(4), &json!("650.00"))
    );
    assert_eq!(d.body["by_carc"], json!([g("CO-16", 1, "200.00")]));
    assert_eq!(d.body["by_payer"], json!([g(a, 2, "400.00")]));
    assert_eq!(
        d.body["by_procedure_code"],
        json!([g("claim", 3, "600.00")])
    );
    let d = s
        .get("/v1/reports/denials?from=2020-01-01&to=2020-01-31")
        .await;
    assert_eq!(
        (
            &d.body["count"],
            &d.body["claims"],
            &d.body["amount"],
            &d.body["by_carc"]
        ),
        (&json!(0), &json!(0), &json!("0.00"), &json!([]))
    );
    let bad = s
        .get("/v1/reports/denials?from=2026-12-02&to=2026-12-01")
        .await;
    assert_eq!(bad.assert_problem(422), ["/from"], "{}", bad.text);
    for limit in ["0", "501"] {
        let bad = s.get(&format!("/v1/reports/denials?limit={limit}")).await;
        assert_eq!(bad.assert_problem(422), ["/limit"], "{}", bad.text);
    }

    // Refusals.
    let bad = s
        .get("/v1/reports/denial-analytics?from=2026-12-02&to=2026-12-01")
        .await;
    assert_eq!(bad.assert_problem(422), ["/from"], "{}", bad.text);
    for limit in ["0", "501"] {
        let bad = s
            .get(&format!("/v1/reports/denial-analytics?limit={limit}"))
            .await;
        assert_eq!(bad.assert_problem(422), ["/limit"], "{}", bad.text);
    }
    let desk = token(&s, &org, "desk-2", &["front_desk"], &[]);
    s.call(
        "GET",
        "/v1/reports/denial-analytics",
        Some(&desk),
        None,
        &[],
    )
    .await
    .assert_problem(403);
    let ok = s
        .call(
            "GET",
            "/v1/reports/denial-analytics",
            Some(&biller),
            None,
            &[],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}
on_both_engines!(denial_analytics_are_exact);
