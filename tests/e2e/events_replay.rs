//! Replaying a subscription's events from a point in time: the receiver gets them again as
//! new deliveries, with the same `webhook-id` and a valid signature; only the subscription's
//! own types, only the span asked for; a bad or future `since` is a 422 naming it.

use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::events::{events_server, received, receiver, subscribe, verify};
use crate::fixtures::{id, practice};
use crate::on_both_engines;

async fn replay(s: &Server, sub: &Value, body: &Value) -> revcycle_e2e::Resp {
    s.post(&format!("/v1/subscriptions/{}/replay", id(sub)), body)
        .await
}

async fn a_subscription_replays_its_events_from_a_point_in_time(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = events_server(engine, dir.path(), &[]).await;
    let (url, log) = receiver(|_| 204).await;
    let sub = subscribe(&s, &url, &["remittance.received"]).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    // Another subscription, to types nothing here causes: it has nothing to replay.
    let (other_url, other_log) = receiver(|_| 204).await;
    let other = subscribe(&s, &other_url, &["denial.opened"]).await;

    let p = practice(&s).await;
    for trace in ["EFT-REPLAY-1", "EFT-REPLAY-2"] {
        s.create(
            "/v1/remittances",
            &json!({"payer_id": p.payer["id"], "trace_number": trace,
                "payment_date": "2026-11-20", "payment_method": "ACH", "total_paid": "0.00",
                "claims": []}),
        )
        .await;
    }
    // Two records' events may be delivered in either order: e1 is the earlier.
    let mut first = received(&s, &log, 2).await;
    first.sort_by_key(|r| {
        r.json()["timestamp"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    });
    let (e1, e2) = (first[0].json(), first[1].json());
    assert_eq!(
        (e1["type"].as_str(), e2["type"].as_str()),
        (Some("remittance.received"), Some("remittance.received"))
    );

    // From the first event on: both again (two records: in either order), same ids and
    // documents, signed.
    let r = replay(&s, &sub, &json!({"since": e1["timestamp"]})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["queued"], 2, "{}", r.text);
    assert_eq!(r.body["since"], e1["timestamp"]);
    let got = received(&s, &log, 4).await;
    let mut again: Vec<(&str, &str)> = got[2..]
        .iter()
        .map(|g| (g.id.as_str(), g.body.as_str()))
        .collect();
    let mut before: Vec<(&str, &str)> = first
        .iter()
        .map(|g| (g.id.as_str(), g.body.as_str()))
        .collect();
    again.sort();
    before.sort();
    assert_eq!(again, before, "the same ids and documents");
    assert!(
        verify(&s, &got[2..], &[&secret])
            .iter()
            .all(|v| v == &[true]),
        "replayed deliveries are signed"
    );

    // From the second event's time: that one alone. Up to it: the first alone.
    let r = replay(&s, &sub, &json!({"since": e2["timestamp"]})).await;
    assert_eq!(r.body["queued"], 1, "{}", r.text);
    let got = received(&s, &log, 5).await;
    assert_eq!(got[4].id, first[1].id);
    let r = replay(
        &s,
        &sub,
        &json!({"since": e1["timestamp"], "until": e2["timestamp"]}),
    )
    .await;
    assert_eq!(r.body["queued"], 1, "{}", r.text);
    let got = received(&s, &log, 6).await;
    assert_eq!(got[5].id, first[0].id);

    // The other subscription asked for other types: nothing to send it.
    let r = replay(&s, &other, &json!({"since": e1["timestamp"]})).await;
    assert_eq!(
        (r.status, &r.body["queued"]),
        (202, &json!(0)),
        "{}",
        r.text
    );

    // The delivery log shows the replays as deliveries of the same events.
    let deliveries = s
        .get(&format!("/v1/subscriptions/{}/deliveries", id(&sub)))
        .await;
    let items = deliveries.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{}", deliveries.text);
    let of_first = items.iter().filter(|d| d["event_id"] == e1["id"]).count();
    assert_eq!(of_first, 3, "{}", deliveries.text);

    // Refused with a pointer: not a time, in the future, `until` not after `since`, unknown
    // member; another subscription's id is 404.
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for (body, pointer) in [
        (json!({"since": "yesterday"}), "/since"),
        (json!({"since": future}), "/since"),
        (json!({}), "/since"),
        (
            json!({"since": e2["timestamp"], "until": e1["timestamp"]}),
            "/until",
        ),
    ] {
        let r = replay(&s, &sub, &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(
            r.body["errors"][0]["pointer"], pointer,
            "{body}: {}",
            r.text
        );
    }
    let r = s
        .post(
            &format!("/v1/subscriptions/{}/replay", uuid::Uuid::now_v7()),
            &json!({"since": e1["timestamp"]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);

    // Audited as updates of the subscription; a billing app's front desk may not replay.
    let audit = s
        .get("/v1/audit-events?action=update&resource_type=Subscription&limit=100")
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let replays = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_id"] == sub["id"] && e["http_status"] == 202)
        .count();
    assert_eq!(replays, 3, "{}", audit.text);
    let org = crate::fixtures::org_of(&s);
    let front_desk = s.admin(&[
        "token",
        "--org",
        &org,
        "--role",
        "front_desk",
        "--ttl",
        "1h",
    ]);
    let r = s
        .call(
            "POST",
            &format!("/v1/subscriptions/{}/replay", id(&sub)),
            Some(&front_desk),
            Some(&json!({"since": e1["timestamp"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    // Nothing more than asked for arrived anywhere.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(log.lock().unwrap().len(), 6);
    assert!(other_log.lock().unwrap().is_empty());
}
on_both_engines!(a_subscription_replays_its_events_from_a_point_in_time);
