//! The timely filing queue end to end: claims not yet filed are listed by the last day their
//! payer takes them (last date of service plus the payer's `timely_filing_days`), earliest
//! first across pages, flagged when 30 days or fewer remain and when the day has passed; a
//! submitted claim is not listed; the payer's limit moves every deadline.

use chrono::{Duration, NaiveDate, Utc};
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::billing::{encounter_on, submitted_claim};
use crate::fixtures::{id, practice};
use crate::on_both_engines;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days(n: i64) -> String {
    (today() + Duration::days(n)).to_string()
}

async fn draft_claim(s: &Server, p: &crate::fixtures::Practice, service: &str) -> Value {
    let enc = encounter_on(s, p, service).await;
    s.create("/v1/claims", &json!({"encounter_id": enc["id"]}))
        .await
}

async fn queue(s: &Server, query: &str) -> Value {
    let r = s
        .get(&format!("/v1/work-queues/filing-deadlines?{query}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["claim_id"].as_str().unwrap().to_string())
        .collect()
}

async fn claims_still_to_file_by_their_deadline(engine: Engine) {
    let s = Server::start_with(engine, &[("REVCYCLE_RATE_LIMIT_PER_SECOND", "0")]).await;
    let p = practice(&s).await;
    // Submitted within the limit: not listed. (The fixture payer allows 3,650 days.)
    let sent = submitted_claim(&s, &p, &days(-30)).await;
    // The payer takes claims for 90 days from the last date of service.
    let body = json!({"name": p.payer["name"], "payer_code": p.payer["payer_code"],
        "claim_filing_indicator": p.payer["claim_filing_indicator"], "timely_filing_days": 90});
    let r = s
        .put(&format!("/v1/payers/{}", id(&p.payer)), "\"1\"", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let soon = draft_claim(&s, &p, &days(-80)).await; // deadline in 10 days
    let late = draft_claim(&s, &p, &days(-100)).await; // passed 10 days ago
    let later = draft_claim(&s, &p, &days(-30)).await; // deadline in 60 days

    let page = queue(&s, "").await;
    assert_eq!(
        ids(&page),
        vec![id(&late), id(&soon), id(&later)],
        "earliest deadline first: {page}"
    );
    assert!(!ids(&page).contains(&id(&sent).to_string()));
    let item = |page: &Value, n: usize| page["items"][n].clone();
    assert_eq!(
        item(&page, 0),
        json!({"claim_id": late["id"], "patient_id": p.patient["id"],
            "patient_control_number": late["patient_control_number"], "payer_id": p.payer["id"],
            "payer_name": "Acme Health Plan", "status": "draft", "total_charge": "200.00",
            "service_date_to": days(-100), "timely_filing_days": 90, "filing_deadline": days(-10),
            "days_left": -10, "filing_due_soon": false, "past_deadline": true})
    );
    let s1 = item(&page, 1);
    assert_eq!(
        (
            &s1["filing_deadline"],
            &s1["days_left"],
            &s1["filing_due_soon"],
            &s1["past_deadline"]
        ),
        (&json!(days(10)), &json!(10), &json!(true), &json!(false))
    );
    let s2 = item(&page, 2);
    assert_eq!(
        (&s2["days_left"], &s2["filing_due_soon"]),
        (&json!(60), &json!(false))
    );

    // One at a time, the cursor keeps the deadline order.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = queue(&s, &format!("limit=1{cursor}")).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, vec![id(&late), id(&soon), id(&later)]);

    // Deadlines up to a day; counted from another day.
    let page = queue(&s, &format!("deadline_by={}", days(10))).await;
    assert_eq!(ids(&page), vec![id(&late), id(&soon)]);
    let page = queue(&s, &format!("as_of={}", days(5))).await;
    assert_eq!(page["items"][1]["days_left"], 5);
    // Another payer's queue is empty.
    let page = queue(&s, &format!("payer_id={}", uuid::Uuid::now_v7())).await;
    assert!(ids(&page).is_empty());

    // The payer's limit moves every deadline: at 120 days the late claim is due in 20.
    let mut body = body;
    body["timely_filing_days"] = json!(120);
    let r = s
        .put(&format!("/v1/payers/{}", id(&p.payer)), "\"2\"", &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = queue(&s, "").await;
    let first = item(&page, 0);
    assert_eq!(first["claim_id"], late["id"]);
    assert_eq!(
        (
            &first["days_left"],
            &first["filing_due_soon"],
            &first["past_deadline"]
        ),
        (&json!(20), &json!(true), &json!(false))
    );

    // Malformed parameters are refused, pointing at them.
    for (q, pointer) in [
        ("deadline_by=2027-02-30", "/deadline_by"),
        ("as_of=tomorrow", "/as_of"),
        ("limit=0", "/limit"),
        ("cursor=nonsense", "/cursor"),
    ] {
        let r = s
            .get(&format!("/v1/work-queues/filing-deadlines?{q}"))
            .await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body["errors"][0]["pointer"], pointer, "{q}: {}", r.text);
    }
}
on_both_engines!(claims_still_to_file_by_their_deadline);
