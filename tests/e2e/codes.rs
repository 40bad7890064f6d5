//! The shipped code sets over HTTP, and rebuilding the ICD-10-CM file from a CMS order file.

use revcycle_e2e::{Engine, Server, revcycle_bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icd10cm_carc_and_rarc_are_looked_up() {
    let s = Server::start(Engine::Sqlite).await;
    let r = s.get("/v1/codes/icd10cm/E11.9").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["code"], "E119");
    assert_eq!(r.body["billable"], true);
    assert!(
        r.body["description"]
            .as_str()
            .unwrap()
            .contains("Type 2 diabetes")
    );
    let header = s.get("/v1/codes/icd10cm/E11").await;
    assert_eq!(
        header.body["billable"], false,
        "a category is a header, not billable"
    );
    s.get("/v1/codes/icd10cm/E11.999").await.assert_problem(404);
    s.get("/v1/codes/icd10cm/11E").await.assert_problem(422);

    let found = s.get("/v1/codes/icd10cm?prefix=E11.6&limit=5").await;
    assert_eq!(found.status, 200);
    let codes: Vec<&str> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 5);
    assert!(codes.iter().all(|c| c.starts_with("E116")));
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "in code order");
    assert!(
        found.body["release"]
            .as_str()
            .unwrap()
            .starts_with("FY2026")
    );
    s.get("/v1/codes/icd10cm?prefix=E11&limit=500")
        .await
        .assert_problem(422);

    let carc = s.get("/v1/codes/carc/45").await;
    assert_eq!(carc.body["code"], "45");
    assert!(!carc.body["description"].as_str().unwrap().is_empty());
    assert_eq!(s.get("/v1/codes/rarc/N130").await.status, 200);
    s.get("/v1/codes/carc/ZZZ9").await.assert_problem(404);
    let anonymous = s.call("GET", "/v1/codes/carc/45", None, None, &[]).await;
    assert_eq!(anonymous.status, 401);
}

#[test]
fn the_icd10cm_file_is_rebuilt_from_a_cms_order_file() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("icd10cm_order_2027.txt");
    // Fixed width: order 1-5, code 7-13, flag 15, short 17-76, long from 78.
    let line = |n: u32, code: &str, flag: u8, short: &str, long: &str| {
        format!("{n:05} {code:<7} {flag} {short:<60} {long}\n")
    };
    let text = [
        line(1, "A00", 0, "Cholera", "Cholera"),
        line(
            2,
            "A000",
            1,
            "Cholera due to Vibrio cholerae 01, biovar cholerae",
            "Cholera due to Vibrio cholerae 01, biovar cholerae",
        ),
        line(
            3,
            "A001",
            1,
            "Cholera due to Vibrio cholerae 01, biovar eltor",
            "Cholera due to Vibrio cholerae 01, biovar eltor",
        ),
    ]
    .concat();
    std::fs::write(&order, text).unwrap();
    let out = dir.path().join("icd10cm-2027.tsv.gz");
    let run = std::process::Command::new(revcycle_bin())
        .args(["codes", "rebuild-icd10cm", "--from"])
        .arg(&order)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("3 codes: 2 billable, 1 headers"));
    assert!(std::fs::metadata(&out).unwrap().len() > 20);

    // A malformed line: refused with its line number, the old file left alone.
    std::fs::write(&order, "00001 A00     7 Cholera\n").unwrap();
    let before = std::fs::read(&out).unwrap();
    let run = std::process::Command::new(revcycle_bin())
        .args(["codes", "rebuild-icd10cm", "--from"])
        .arg(&order)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("line 1"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
}
