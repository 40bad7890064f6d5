//! The unpaid claims queue end to end: a submitted claim joins it once its payer's follow-up
//! days have passed (30 by default, then the payer's own setting), shows the claim-status
//! requests sent for it, and leaves it when the payer's 835 pays it; a claim not yet
//! submitted never shows.

use chrono::{Duration, Utc};
use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::id;
use crate::on_both_engines;
use crate::payer::{
    answer_835, clearinghouse, connectors_toml, pcn_of, processed, ready_claim, ready_claim_dated,
    submit,
};

/// The queue as of `days` after today.
async fn queue_in(s: &Server, days: i64, extra: &str) -> Value {
    let as_of = Utc::now().date_naive() + Duration::days(days);
    let r = s
        .get(&format!(
            "/v1/work-queues/unpaid-claims?as_of={as_of}{extra}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn claim_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["claim_id"].as_str().unwrap().to_string())
        .collect()
}

async fn submitted_claims_unanswered_past_the_payers_follow_up_days(engine: Engine) {
    let pcn = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = clearinghouse(pcn.clone(), seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = connectors_toml(dir.path());
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "poll_seconds = 1,",
        &format!("poll_seconds = 1, clearinghouse_url = \"{url}\","),
    );
    std::fs::write(&toml, text).unwrap();
    let s = Server::start_with(
        engine,
        &[
            ("REVCYCLE_CONNECTORS", toml.to_str().unwrap()),
            ("REVCYCLE_RATE_LIMIT_PER_SECOND", "0"),
        ],
    )
    .await;
    let (p, claim) = ready_claim(&s).await;
    *pcn.lock().unwrap() = pcn_of(&claim);
    // A second claim, scrubbed but never submitted: nothing to follow up.
    let coverage = &s.get(&format!("/v1/claims/{}", id(&claim))).await.body["coverage_id"];
    let coverage = s
        .get(&format!("/v1/coverages/{}", coverage.as_str().unwrap()))
        .await;
    let unsent = ready_claim_dated(&s, &p, &coverage.body, "2026-11-03").await;
    submit(&s, &claim).await;

    // The payer's default: 30 days.
    assert_eq!(p.payer["follow_up_days"], 30, "{}", p.payer);
    assert!(claim_ids(&queue_in(&s, 29, "").await).is_empty());
    let page = queue_in(&s, 30, "").await;
    assert_eq!(claim_ids(&page), vec![id(&claim)], "{page}");
    assert!(!claim_ids(&page).contains(&id(&unsent).to_string()));
    let item = &page["items"][0];
    assert_eq!(item["status"], "submitted");
    assert_eq!(item["total_charge"], "200.00");
    assert_eq!(item["days_outstanding"], 30);
    assert_eq!(item["follow_up_days"], 30);
    assert_eq!(item["payer_id"], p.payer["id"]);
    assert_eq!(item["payer_name"], p.payer["name"]);
    assert_eq!(
        item["patient_control_number"],
        claim["patient_control_number"]
    );
    assert_eq!(item["status_requests"], 0);
    assert!(item["last_status_request_at"].is_null());
    assert_eq!(
        item["status_request"],
        format!("/v1/claims/{}/status", id(&claim))
    );

    // The payer's own follow-up days: the claim is due 45 days after submission.
    let mut body = json!({"name": p.payer["name"], "payer_code": p.payer["payer_code"],
        "claim_filing_indicator": p.payer["claim_filing_indicator"], "follow_up_days": 45});
    let etag = format!("\"{}\"", p.payer["version"]);
    let r = s
        .put(&format!("/v1/payers/{}", id(&p.payer)), &etag, &body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["follow_up_days"], 45);
    assert!(claim_ids(&queue_in(&s, 44, "").await).is_empty());
    assert_eq!(claim_ids(&queue_in(&s, 45, "").await), vec![id(&claim)]);
    // Another payer's queue holds nothing of it.
    let other = format!("&payer_id={}", uuid::Uuid::now_v7());
    assert!(claim_ids(&queue_in(&s, 45, &other).await).is_empty());
    let own = format!("&payer_id={}", id(&p.payer));
    assert_eq!(claim_ids(&queue_in(&s, 45, &own).await), vec![id(&claim)]);
    body["follow_up_days"] = json!(0);
    let r = s
        .put(&format!("/v1/payers/{}", id(&p.payer)), "\"2\"", &body)
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["pointer"], "/follow_up_days");

    // Asking the payer (276/277) is counted on the item.
    let r = s
        .post(&format!("/v1/claims/{}/status", id(&claim)), &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = queue_in(&s, 45, "").await;
    assert_eq!(page["items"][0]["status_requests"], 1, "{page}");
    assert!(page["items"][0]["last_status_request_at"].is_string());

    // A malformed day is refused, pointing at it.
    let r = s
        .get("/v1/work-queues/unpaid-claims?as_of=2026-13-01")
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["errors"][0]["pointer"], "/as_of", "{}", r.text);

    // The payer's 835 pays the claim: it leaves the queue.
    let inbox = dir.path().join("inbox");
    let tmp = inbox.join(".paid.tmp");
    std::fs::write(&tmp, answer_835(&pcn_of(&claim), "UNPAID-1")).unwrap();
    std::fs::rename(&tmp, inbox.join("paid.835")).unwrap();
    processed(&s, &inbox, "paid.835").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.get(&format!("/v1/claims/{}", id(&claim))).await.body["status"] != "paid" {
        assert!(
            std::time::Instant::now() < deadline,
            "the 835 was not posted; log:\n{}",
            s.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(claim_ids(&queue_in(&s, 45, "").await).is_empty());
}
on_both_engines!(submitted_claims_unanswered_past_the_payers_follow_up_days);
