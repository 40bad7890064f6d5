//! The README's tour, run exactly as written against a real HTTPS server.

use std::process::Command;

use revcycle_e2e::{Engine, Server};

fn tour_script() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- tour:begin -->")
        .expect("tour start marker");
    let end = readme.find("<!-- tour:end -->").expect("tour end marker");
    let block = &readme[start..end];
    let code_start = block.find("```sh\n").expect("sh block") + "```sh\n".len();
    let code_end = block[code_start..].find("```").expect("block end") + code_start;
    block[code_start..code_end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_tour_runs_as_written() {
    let s = Server::start_tls(Engine::Sqlite).await;
    assert!(
        s.base.starts_with("https://"),
        "the default server speaks HTTPS: {}",
        s.base
    );
    let script = tour_script();
    // Run twice: the tour's requests carry idempotency keys, so the second run replays the
    // first run's answers (the same records) instead of failing on duplicates.
    let mut outputs = Vec::new();
    for run in 1..=2 {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("BASE", &s.base)
            .env("TOKEN", &s.token)
            .env("CACERT", s.data_dir.join("tls/dev-cert.pem"))
            .output()
            .expect("run bash (curl and jq must be installed)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "tour run {run} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(stdout);
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the second run finds the same records"
    );
    let stdout = &outputs[0];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("[\"") && lines[0].matches(',').count() == 0,
        "one patient found: {}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        r#"{"status":"draft","total_charge":"200.00","lines":["99214","83036"]}"#
    );
    // The README states the same line.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    assert!(readme.contains(lines[1]));
}
