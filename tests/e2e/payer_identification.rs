//! Finding an 835's payer by any id the implementation guide lets it give (TRN03, N1*PR
//! N103/N104, 1000A REF) and the payer's identifiers; a remittance from a payer that is not
//! set up is queued, never refused, and posts once a payer is linked; every 835 file is an
//! exchange of the claims it paid, whichever call posted it.

use revcycle_e2e::{Engine, Server};
use serde_json::{Value, json};

use crate::fixtures::{FAMILY, MEMBER_ID, id};
use crate::on_both_engines;
use crate::payer::{
    SELF_MEMBER, accepting_999, answer_835, history, payer_server, pcn_of, post_raw, processed,
    ready_claim, submit,
};

/// The payer's 835 for the claim as the implementation guide has it and as the payers whose
/// files we tried send it: the payer is named by TRN03 (`1` and its EIN 512345678) only, with
/// no N1*PR N104 and no REF*2U; PER*BL is there. Amounts as [`answer_835`]: 96.00 paid, CO-45
/// 80.00, PR-2 24.00.
fn ig_835(pcn: &str, trace: &str) -> String {
    let text = answer_835(pcn, trace);
    assert!(text.contains("REF*2U*60054~"));
    let text = text.replacen(
        "REF*2U*60054~",
        "PER*BL*PROVIDER SERVICES*TE*8005551212~",
        1,
    );
    assert!(text.contains(&format!("TRN*1*{trace}*1512345678~")));
    text
}

async fn set_identifiers(s: &Server, payer: &Value, ids: Value) -> revcycle_e2e::Resp {
    let path = format!("/v1/payers/{}", id(payer));
    let got = s.get(&path).await;
    let etag = got.header("etag").unwrap();
    let mut body = json!({"name": got.body["name"], "payer_code": got.body["payer_code"],
        "claim_filing_indicator": got.body["claim_filing_indicator"]});
    body["identifiers"] = ids;
    s.put(&path, &etag, &body).await
}

async fn claim_status(s: &Server, claim: &Value) -> Value {
    s.get(&format!("/v1/claims/{}", id(claim))).await.body["status"].clone()
}

/// The claim's ledger balances: insurance 0.00 and patient 24.00 once the 835 posted.
async fn assert_paid_exactly(s: &Server, claim: &Value) {
    assert_eq!(claim_status(s, claim).await, "paid");
    let ledger = s.get(&format!("/v1/claims/{}/ledger", id(claim))).await;
    assert_eq!(ledger.status, 200, "{}", ledger.text);
    assert_eq!(
        ledger.body["balance"]["insurance"], "0.00",
        "{}",
        ledger.text
    );
    assert_eq!(
        ledger.body["balance"]["patient"], "24.00",
        "{}",
        ledger.text
    );
    assert_eq!(
        history(s, claim).await,
        ["draft>ready", "ready>submitted", "submitted>paid"]
    );
}

/// (transaction type, file name) of the claim's inbound exchanges and of its 837P's acks.
async fn claim_files(s: &Server, claim: &Value) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let ex = s.get(&format!("/v1/claims/{}/exchanges", id(claim))).await;
    assert_eq!(ex.status, 200, "{}", ex.text);
    let pair = |i: &Value| {
        (
            i["transaction_type"].as_str().unwrap_or("").to_string(),
            i["file_name"].as_str().unwrap_or("").to_string(),
        )
    };
    let items = ex.body["items"].as_array().unwrap();
    let inbound = items
        .iter()
        .filter(|i| i["direction"] == "in")
        .map(pair)
        .collect();
    let acks = items
        .iter()
        .find(|i| i["direction"] == "out" && i["transaction_type"] == "837")
        .map(|sent| sent["acks"].as_array().unwrap().iter().map(pair).collect())
        .unwrap_or_default();
    (inbound, acks)
}

/// claim -> submit -> an 835 naming its payer only by TRN03 -> posted; the 999 that arrives
/// after it leaves the claim paid and shows in its exchanges.
async fn an_835_naming_its_payer_by_trn03_posts(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (p, claim) = ready_claim(&s).await;
    let r = set_identifiers(
        &s,
        &p.payer,
        json!([{"qualifier": "ein", "value": "512345678"},
               {"qualifier": "naic", "value": "60054"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["identifiers"],
        json!([{"qualifier": "ein", "value": "512345678"},
               {"qualifier": "naic", "value": "60054"}])
    );
    let pcn = pcn_of(&claim);
    let sub = submit(&s, &claim).await;
    let gcn = sub.body["interchange_control_number"]
        .as_str()
        .unwrap()
        .trim_start_matches('0')
        .to_string();

    let (status, body) = post_raw(
        &s,
        "/v1/remittances/import?post=true&file_name=era-trn03.835",
        ig_835(&pcn, "EFT-TRN03-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "processed", "{body}");
    assert_eq!(body["unidentified"], json!([]), "{body}");
    assert_eq!(body["remittances"][0]["payer_id"], p.payer["id"], "{body}");
    assert_eq!(
        body["remittances"][0]["posting"]["totals"]["posted_paid"],
        "96.00"
    );
    assert_paid_exactly(&s, &claim).await;

    // The 999 accepting the 837P comes after the 835.
    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("after-835.999"), accepting_999(&gcn, 911)).unwrap();
    processed(&s, &inbox, "after-835.999").await;
    assert_paid_exactly(&s, &claim).await;
    let (inbound, acks) = claim_files(&s, &claim).await;
    assert!(
        inbound.contains(&("835".into(), "era-trn03.835".into())),
        "{inbound:?}"
    );
    assert_eq!(acks, [("999".to_string(), "after-835.999".to_string())]);

    // Another payer cannot take the same EIN.
    let other = s
        .create(
            "/v1/payers",
            &json!({"name": "Other Plan", "payer_code": "OTHER1",
            "claim_filing_indicator": "CI"}),
        )
        .await;
    let r = set_identifiers(
        &s,
        &other,
        json!([{"qualifier": "ein", "value": "512345678"}]),
    )
    .await;
    r.assert_problem(409);
    // An EIN is nine digits.
    let r = set_identifiers(&s, &other, json!([{"qualifier": "ein", "value": "51234"}])).await;
    assert_eq!(r.assert_problem(422), ["/identifiers/0/value"]);
}
on_both_engines!(an_835_naming_its_payer_by_trn03_posts);

/// An 835 from the inbox whose payer no id names is stored and queued (never refused); the
/// queue names the ids found and nothing about the patient; adding the EIN to the payer posts
/// it exactly as it would have posted, and the file is then one of the claim's exchanges.
async fn an_unknown_payer_is_queued_then_posts_once_linked(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (p, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);
    submit(&s, &claim).await;

    let inbox = dir.path().join("inbox");
    std::fs::write(inbox.join("era-unknown.835"), ig_835(&pcn, "EFT-UNK-1")).unwrap();
    processed(&s, &inbox, "era-unknown.835").await;
    assert_eq!(claim_status(&s, &claim).await, "submitted");
    assert_eq!(s.get("/v1/remittances").await.body["items"], json!([]));

    let q = s.get("/v1/work-queues/unidentified-remittances").await;
    assert_eq!(q.status, 200, "{}", q.text);
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", q.text);
    let item = &items[0];
    assert_eq!(item["reason"], "unknown_payer");
    assert_eq!(item["state"], "open");
    assert_eq!(item["file_name"], "era-unknown.835");
    assert_eq!(item["trace_number"], "EFT-UNK-1");
    assert_eq!(item["total_paid"], "96.00");
    assert_eq!(item["claims"], 1);
    assert_eq!(item["post"], true);
    assert_eq!(item["payer_name"], "ACME HEALTH PLAN");
    assert_eq!(
        item["identifiers"],
        json!([{"qualifier": "ein", "value": "512345678", "source": "TRN03"}])
    );
    for phi in [
        FAMILY.to_uppercase().as_str(),
        MEMBER_ID,
        SELF_MEMBER,
        "QUILLONETTE",
    ] {
        assert!(
            !q.text.contains(phi),
            "the work queue shows PHI: {}",
            q.text
        );
    }
    // The file is recorded, waiting.
    let exchange_id = item["exchange_id"].as_str().unwrap().to_string();

    // Linking the payer by its EIN resolves and posts it.
    let r = set_identifiers(
        &s,
        &p.payer,
        json!([{"qualifier": "ein", "value": "512345678"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let q = s.get("/v1/work-queues/unidentified-remittances").await;
    assert_eq!(q.body["items"], json!([]), "{}", q.text);
    assert_paid_exactly(&s, &claim).await;

    let rems = s.get("/v1/remittances").await;
    let rem = &rems.body["items"][0];
    assert_eq!(rem["payer_id"], p.payer["id"], "{}", rems.text);
    assert_eq!(rem["trace_number"], "EFT-UNK-1");
    assert_eq!(rem["total_paid"], "96.00");
    assert_eq!(rem["status"], "posted");
    assert_eq!(rem["file_name"], "era-unknown.835");
    assert_eq!(rem["exchange_id"], exchange_id.as_str());
    let (inbound, _) = claim_files(&s, &claim).await;
    assert_eq!(
        inbound,
        [("835".to_string(), "era-unknown.835".to_string())]
    );

    // The same file again is a duplicate: nothing is queued or posted twice.
    std::fs::write(
        inbox.join("era-unknown-again.835"),
        ig_835(&pcn, "EFT-UNK-1"),
    )
    .unwrap();
    processed(&s, &inbox, "era-unknown-again.835").await;
    let q = s.get("/v1/work-queues/unidentified-remittances").await;
    assert_eq!(q.body["items"], json!([]), "{}", q.text);
    assert_eq!(
        s.get("/v1/remittances").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_paid_exactly(&s, &claim).await;
}
on_both_engines!(an_unknown_payer_is_queued_then_posts_once_linked);

/// An explicit resolve call names the payer (and remembers the ids for the next file); a
/// missing payer is 422 with a pointer, a second resolve 409.
async fn a_queued_remittance_is_resolved_by_naming_its_payer(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (p, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);
    submit(&s, &claim).await;

    let (status, body) = post_raw(
        &s,
        "/v1/remittances/import?post=true&file_name=era-api.835",
        ig_835(&pcn, "EFT-API-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "queued", "{body}");
    assert_eq!(body["remittances"], json!([]), "{body}");
    let item = body["unidentified"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(claim_status(&s, &claim).await, "submitted");
    let path = format!("/v1/work-queues/unidentified-remittances/{item}/resolve");

    let r = s
        .post(
            &path,
            &json!({"payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0aff"}),
        )
        .await;
    assert_eq!(r.assert_problem(422), ["/payer_id"]);
    assert_eq!(claim_status(&s, &claim).await, "submitted");

    let r = s
        .post(
            &path,
            &json!({"payer_id": p.payer["id"], "remember_identifiers": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["item"]["state"], "resolved");
    assert_eq!(r.body["item"]["payer_id"], p.payer["id"]);
    assert_eq!(
        r.body["remittance"]["posting"]["totals"]["posted_paid"],
        "96.00"
    );
    assert_paid_exactly(&s, &claim).await;
    let (inbound, _) = claim_files(&s, &claim).await;
    assert_eq!(inbound, [("835".to_string(), "era-api.835".to_string())]);
    let payer = s.get(&format!("/v1/payers/{}", id(&p.payer))).await;
    assert_eq!(
        payer.body["identifiers"],
        json!([{"qualifier": "ein", "value": "512345678"}])
    );

    s.post(&path, &json!({"payer_id": p.payer["id"]}))
        .await
        .assert_problem(409);
}
on_both_engines!(a_queued_remittance_is_resolved_by_naming_its_payer);

/// An 835 imported in one call and posted in another is one of the claim's exchanges; the
/// remittance shows its file.
async fn an_835_posted_in_a_separate_call_is_in_the_claims_exchanges(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let pcn = pcn_of(&claim);
    submit(&s, &claim).await;

    let (status, body) = post_raw(
        &s,
        "/v1/remittances/import?file_name=era-later.835",
        answer_835(&pcn, "EFT-LATER-1").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let exchange_id = body["exchange_id"].as_str().unwrap().to_string();
    let rem_id = body["remittances"][0]["remittance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let rem = s.get(&format!("/v1/remittances/{rem_id}")).await;
    assert_eq!(rem.body["file_name"], "era-later.835", "{}", rem.text);
    assert_eq!(rem.body["exchange_id"], exchange_id.as_str());
    let listed = s.get("/v1/remittances").await;
    assert_eq!(listed.body["items"][0]["file_name"], "era-later.835");
    assert_eq!(listed.body["items"][0]["exchange_id"], exchange_id.as_str());
    let (inbound, _) = claim_files(&s, &claim).await;
    assert_eq!(inbound, Vec::<(String, String)>::new());

    let posted = s
        .post(&format!("/v1/remittances/{rem_id}/post"), &json!({}))
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert_paid_exactly(&s, &claim).await;
    let (inbound, _) = claim_files(&s, &claim).await;
    assert_eq!(inbound, [("835".to_string(), "era-later.835".to_string())]);
}
on_both_engines!(an_835_posted_in_a_separate_call_is_in_the_claims_exchanges);

/// A 271 or 277 that does not answer the request we sent (another trace number, another
/// subscriber, another claim) is refused with the rule and the place, never shown as the
/// answer, and recorded as failed; the answer that does match is taken.
async fn real_time_answers_must_match_the_request(engine: Engine) {
    use crate::payer::{ANSWER_271, answer_277, connectors_toml, http_stub, trace_of};
    // What the stub does with the request: 0 echoes it, 1 answers another trace number,
    // 2 another subscriber, 3 another claim.
    let mode = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let m = mode.clone();
    let url = http_stub(move |request| {
        let trace = trace_of(&request.body);
        let eligibility = request.request_line.starts_with("POST /eligibility");
        let mut answer = if eligibility {
            ANSWER_271.replacen("TRN*2*ELIG-1*", &format!("TRN*2*{trace}*"), 1)
        } else {
            let pcn = request
                .body
                .split('~')
                .find_map(|s| s.trim().strip_prefix("REF*EJ*"))
                .unwrap_or_default()
                .to_string();
            answer_277(&pcn).replacen("TRN*2*STAT-1~", &format!("TRN*2*{trace}~"), 1)
        };
        match m.load(std::sync::atomic::Ordering::SeqCst) {
            1 => answer = answer.replacen(&format!("TRN*2*{trace}"), "TRN*2*SOMEONE-ELSES", 1),
            2 => answer = answer.replacen("*MI*SELF123456~", "*MI*OTHER99999~", 1),
            3 => answer = answer.replacen("REF*EJ*", "REF*EJ*X", 1),
            _ => {}
        }
        (200, answer)
    })
    .await;
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
    let eligibility = format!(
        "/v1/coverages/{}/eligibility",
        claim["coverage_id"].as_str().unwrap()
    );
    let status = format!("/v1/claims/{}/status", id(&claim));
    let set = |n: usize| mode.store(n, std::sync::atomic::Ordering::SeqCst);

    set(0);
    let r = s
        .post(&eligibility, &json!({"provider_id": p.billing["id"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.post(&status, &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["responses"][0]["member_id"], SELF_MEMBER);

    let refused = |r: &revcycle_e2e::Resp, needle: &str| {
        r.assert_problem(502);
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{detail}");
        for value in ["SOMEONE-ELSES", "OTHER99999", SELF_MEMBER, "ZEBULONOVICH"] {
            assert!(!r.text.contains(value), "{}", r.text);
        }
    };
    set(1);
    let r = s
        .post(&eligibility, &json!({"provider_id": p.billing["id"]}))
        .await;
    refused(
        &r,
        "/responses/0/trace_number: the 271's TRN02 is not the 270's trace number",
    );
    let r = s.post(&status, &json!({})).await;
    refused(
        &r,
        "/responses/0/trace_number: the 277's TRN02 is not the 276's trace number",
    );
    set(2);
    let r = s
        .post(&eligibility, &json!({"provider_id": p.billing["id"]}))
        .await;
    refused(&r, "/responses/0/subscriber/member_id");
    let r = s.post(&status, &json!({})).await;
    refused(&r, "/responses/0/member_id");
    set(3);
    let r = s.post(&status, &json!({})).await;
    refused(
        &r,
        "/responses/0/claim_control_number: the 277's REF*EJ is not the claim the 276 asked about",
    );

    // Each refused answer is recorded, failed, with the rule.
    let mut conn = revcycle_core::store::connect(&s.db.url).expect("connect");
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let failed = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM x12_exchanges WHERE direction = 'in' AND status = 'failed' \
         AND detail LIKE '/responses/0/%'",
    )
    .get_result::<N>(&mut conn)
    .unwrap()
    .n;
    assert_eq!(failed, 5);
}
on_both_engines!(real_time_answers_must_match_the_request);

/// A 999 answers the transaction set (AK2 ST02) of the group (AK1 GS06) it names: an AK2 for
/// a transaction set we did not send in that group moves nothing; the AK2/IK5 of ours decides,
/// whatever the group's AK9 says.
async fn a_999_answers_the_exact_transaction_set(engine: Engine) {
    use crate::payer::st02_of;
    let dir = tempfile::tempdir().unwrap();
    let s = payer_server(engine, dir.path()).await;
    let (_, claim) = ready_claim(&s).await;
    let sub = submit(&s, &claim).await;
    let gcn = sub.body["interchange_control_number"]
        .as_str()
        .unwrap()
        .trim_start_matches('0')
        .to_string();
    let st02 = st02_of(&gcn);
    let ack = |isa13: u32, sets: &[(&str, &str)], ak9: &str| {
        let mut body = vec![format!("AK1*HC*{gcn}*005010X222A1")];
        for (st, ik5) in sets {
            body.push(format!("AK2*837*{st}*005010X222A1"));
            body.push(format!("IK5*{ik5}"));
        }
        body.push(format!(
            "AK9*{ak9}*{n}*{n}*{ok}",
            n = sets.len(),
            ok = sets.iter().filter(|s| s.1 == "A").count()
        ));
        let mut text = format!(
            "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*REVCYCLE       *261120*1100*^*00501*{isa13:09}*0*P*:~\n\
             GS*FA*CLEARINGHOUSE*REVCYCLE*20261120*1100*{isa13}*X*005010X231A1~\n\
             ST*999*0001*005010X231A1~\n"
        );
        for seg in &body {
            text.push_str(seg);
            text.push_str("~\n");
        }
        text.push_str(&format!(
            "SE*{}*0001~\nGE*1*{isa13}~\nIEA*1*{isa13:09}~\n",
            body.len() + 2
        ));
        text
    };
    let inbox = dir.path().join("inbox");
    // Another transaction set of the group, rejected: ours is not answered.
    std::fs::write(inbox.join("other-set.999"), ack(921, &[("9999", "R")], "R")).unwrap();
    processed(&s, &inbox, "other-set.999").await;
    assert_eq!(claim_status(&s, &claim).await, "submitted");
    let (_, acks) = claim_files(&s, &claim).await;
    assert_eq!(acks, Vec::<(String, String)>::new());

    // Partially accepted group: ours rejected (IK5 R), another accepted.
    std::fs::write(
        inbox.join("partial.999"),
        ack(922, &[(st02.as_str(), "R"), ("9999", "A")], "P"),
    )
    .unwrap();
    processed(&s, &inbox, "partial.999").await;
    assert_eq!(claim_status(&s, &claim).await, "rejected");
    let (_, acks) = claim_files(&s, &claim).await;
    assert_eq!(acks, [("999".to_string(), "partial.999".to_string())]);
}
on_both_engines!(a_999_answers_the_exact_transaction_set);
