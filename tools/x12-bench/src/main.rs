//! Benchmark: parse a generated 835 (streaming) and generate 837P claims; optionally time pyx12
//! validating the same 835 file.
//!
//! ```text
//! cargo run --release -p revcycle-x12-bench -- [--claims 10000] [--pyx12 PYTHON]
//! cargo run --release -p revcycle-x12-bench -- --claims 350000 --parse-only
//! ```
//!
//! `--parse-only` stops after the 835 parse and prints the peak RSS: with ~100 MB of 835 it
//! stays a few MiB, since the reader streams.
//!
//! `--pyx12` names a Python interpreter with `pyx12` installed; without it the pyx12 venv of the
//! tests (`target/py/pyx12`) is used when present.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use revcycle_connector_abi::canonical::v1::*;
use revcycle_x12::x835::{Event835, Reader835};
use revcycle_x12::x837p::{Batch837, Receiver, Submitter, write_837p};
use revcycle_x12::{Delimiters, GroupHeader, InterchangeHeader, X12Error, X12Writer};

fn interchange(control: u32) -> InterchangeHeader {
    InterchangeHeader {
        sender_qualifier: "ZZ".into(),
        sender_id: "ACMEPAYER".into(),
        receiver_qualifier: "ZZ".into(),
        receiver_id: "REVCYCLE".into(),
        date: "240315".into(),
        time: "1200".into(),
        control_number: control,
        ack_requested: false,
        production: true,
    }
}

fn group(id: &str, version: &str) -> GroupHeader {
    GroupHeader {
        functional_id: id.into(),
        sender_code: "ACMEPAYER".into(),
        receiver_code: "REVCYCLE".into(),
        date: "20240315".into(),
        time: "1200".into(),
        control_number: 1,
        version: version.into(),
    }
}

/// Writes an 835 with `claims` claims of two lines each; returns the file size.
fn generate_835(path: &Path, claims: usize) -> Result<u64, X12Error> {
    let file = std::fs::File::create(path).expect("create the 835 file");
    let mut w = X12Writer::new(BufWriter::new(file), Delimiters::default()).with_newlines(true);
    w.begin_interchange(&interchange(1))?;
    w.begin_group(&group("HP", "005010X221A1"))?;
    w.begin_transaction("835", "0001", None)?;
    // Each claim pays 140.00; one PLB of 25.00 reduces the payment.
    let total = format!("{}", claims as u64 * 140 - 25);
    w.segment(
        "BPR",
        &[
            "I",
            &total,
            "C",
            "ACH",
            "CCP",
            "01",
            "011000015",
            "DA",
            "123456",
            "1512345678",
            "",
            "01",
            "011000028",
            "DA",
            "98765",
            "20240315",
        ],
    )?;
    w.segment("TRN", &["1", "EFT20240315A", "1512345678"])?;
    w.segment("N1", &["PR", "ACME HEALTH PLAN"])?;
    w.segment("N3", &["100 PAYER WAY"])?;
    w.segment("N4", &["HARTFORD", "CT", "06101"])?;
    w.segment("PER", &["BL", "PROVIDER SERVICES", "TE", "8005551212"])?;
    w.segment("N1", &["PE", "FAMILY CLINIC", "XX", "1234567893"])?;
    w.segment("N3", &["1 MAIN ST"])?;
    w.segment("N4", &["SPRINGFIELD", "IL", "62701"])?;
    w.segment("LX", &["1"])?;
    for i in 0..claims {
        let ccn = format!("CLM{i:08}");
        let member = format!("MEM{i:08}");
        w.segment(
            "CLP",
            &[
                &ccn,
                "1",
                "200",
                "140",
                "20",
                "12",
                &format!("PCN{i:08}"),
                "11",
                "1",
            ],
        )?;
        w.segment(
            "NM1",
            &["QC", "1", "DOE", "JANE", "Q", "", "", "MI", &member],
        )?;
        w.segment("DTM", &["232", "20240301"])?;
        w.segment("SVC", &["HC:99213:25", "150", "100", "", "1"])?;
        w.segment("DTM", &["472", "20240301"])?;
        w.segment("CAS", &["CO", "45", "30"])?;
        w.segment("CAS", &["PR", "2", "20"])?;
        w.segment("REF", &["6R", &format!("{ccn}-1")])?;
        w.segment("AMT", &["B6", "120"])?;
        w.segment("SVC", &["HC:81002", "50", "40"])?;
        w.segment("DTM", &["472", "20240301"])?;
        w.segment("CAS", &["CO", "45", "10"])?;
        w.segment("REF", &["6R", &format!("{ccn}-2")])?;
        w.segment("LQ", &["HE", "N130"])?;
    }
    w.segment("PLB", &["1234567893", "20241231", "WO:RECOUP1", "25"])?;
    w.end_transaction()?;
    w.end_group()?;
    w.end_interchange()?;
    let mut out = w.finish()?;
    out.flush().expect("flush");
    Ok(std::fs::metadata(path).expect("stat").len())
}

fn parse_once(path: &Path) -> Result<(u64, u64), X12Error> {
    let file = std::fs::File::open(path).expect("open the 835 file");
    let mut rd = Reader835::new(BufReader::with_capacity(64 * 1024, file));
    let (mut claims, mut lines) = (0u64, 0u64);
    while let Some(ev) = rd.next()? {
        if let Event835::Claim(c) = ev {
            claims += 1;
            lines += c.service_lines.len() as u64;
        }
    }
    Ok((claims, lines))
}

fn claims_837(n: usize) -> Vec<ClaimSubmission> {
    let address = |l: &str| Address {
        lines: vec![l.into()],
        city: "Springfield".into(),
        state: "IL".into(),
        postal_code: "62701".into(),
        country: None,
    };
    (0..n)
        .map(|i| ClaimSubmission {
            schema_version: SCHEMA_VERSION,
            claim_control_number: format!("CLM{i:08}"),
            frequency_code: "1".into(),
            billing_provider: BillingProvider {
                name: "Family Clinic".into(),
                npi: "1234567893".into(),
                tin: "123456789".into(),
                taxonomy_code: Some("207Q00000X".into()),
                address: address("1 Main St"),
                phone: None,
            },
            payer: PayerRef {
                name: "Acme Health Plan".into(),
                payer_id: Some("ACME1".into()),
            },
            subscriber: Subscriber {
                // A few claims per subscriber, as in a real batch.
                member_id: Some(format!("MEM{:07}", i / 3)),
                name: PersonName {
                    family: "Doe".into(),
                    given: vec!["Jane".into()],
                    ..Default::default()
                },
                birth_date: Some("1980-02-29".into()),
                sex: Sex::Female,
                address: Some(address("12 Elm St")),
            },
            place_of_service: "11".into(),
            total_charge: "200.00".into(),
            diagnoses: vec!["J06.9".into(), "R05.9".into()],
            lines: vec![
                ServiceLine {
                    procedure_code: "99213".into(),
                    modifiers: vec!["25".into()],
                    units: "1".into(),
                    charge: "150.00".into(),
                    diagnosis_pointers: vec![1, 2],
                    service_date: Some("2024-03-01".into()),
                    ..Default::default()
                },
                ServiceLine {
                    procedure_code: "81002".into(),
                    units: "1".into(),
                    charge: "50.00".into(),
                    diagnosis_pointers: vec![1],
                    service_date: Some("2024-03-01".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        })
        .collect()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), X12Error> {
    let mut claims = 10_000usize;
    let mut python: Option<PathBuf> = None;
    let mut parse_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--claims" => {
                claims = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--claims N")
            }
            "--pyx12" => python = args.next().map(PathBuf::from),
            "--parse-only" => parse_only = true,
            _ => panic!("usage: x12-bench [--claims N] [--pyx12 PYTHON] [--parse-only]"),
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target"));
    std::fs::create_dir_all(&target).expect("target dir");
    let path = target.join(format!("bench-{claims}.835"));
    let size = generate_835(&path, claims)?;
    let mb = size as f64 / 1_000_000.0;
    println!("835: {claims} claims, {mb:.1} MB ({})", path.display());

    // Parse: best of three.
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let (n, lines) = parse_once(&path)?;
        assert_eq!(n as usize, claims);
        assert_eq!(lines as usize, claims * 2);
        best = best.min(t.elapsed().as_secs_f64());
    }
    // The segment reader alone (envelopes checked, no 835 mapping).
    let mut best_seg = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let file = std::fs::File::open(&path).expect("open the 835 file");
        let mut r = revcycle_x12::X12Reader::new(BufReader::with_capacity(64 * 1024, file));
        let mut n = 0u64;
        while r.next_segment()?.is_some() {
            n += 1;
        }
        assert!(n > claims as u64);
        best_seg = best_seg.min(t.elapsed().as_secs_f64());
    }
    println!(
        "segment reader only: {:.3} s, {:.1} MB/s",
        best_seg,
        mb / best_seg
    );
    println!(
        "parse 835 (streaming): {:.3} s, {:.1} MB/s, {:.0} claims/s",
        best,
        mb / best,
        claims as f64 / best
    );

    if parse_only {
        if let Some(kib) = peak_rss_kib() {
            println!("peak RSS after parsing: {:.1} MiB", kib as f64 / 1024.0);
        }
        return Ok(());
    }

    // 837P generation.
    let input = claims_837(claims);
    let batch = Batch837::new(
        interchange(2),
        group("HC", ""),
        Submitter {
            name: "Family Clinic Billing".into(),
            id: "SUB12345".into(),
            contact_name: "Billing Office".into(),
            phone: "2175550100".into(),
            email: None,
        },
        Receiver {
            name: "Acme Clearinghouse".into(),
            id: "CH98765".into(),
        },
    );
    let mut best_gen = f64::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let (out, summary) = write_837p(
            Vec::with_capacity(claims * 700),
            &batch,
            &input,
            Delimiters::default(),
            false,
        )?;
        best_gen = best_gen.min(t.elapsed().as_secs_f64());
        bytes = out.len();
        assert_eq!(summary.claim_control_numbers.len(), claims);
    }
    println!(
        "generate 837P: {:.3} s, {:.0} claims/s, {:.1} MB",
        best_gen,
        claims as f64 / best_gen,
        bytes as f64 / 1_000_000.0
    );
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS of this process: {:.1} MiB", kib as f64 / 1024.0);
    }

    // pyx12 on the same 835.
    let python = python.or_else(|| {
        let p = target.join("py/pyx12/bin/python");
        p.exists().then_some(p)
    });
    match python {
        Some(py) => {
            let t = Instant::now();
            let out = std::process::Command::new(&py)
                .arg(manifest.join("tests/pyx12_validate.py"))
                .arg(&path)
                .output()
                .expect("run pyx12");
            let secs = t.elapsed().as_secs_f64();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let clean = stdout.contains("\"errors\": []") && out.status.success();
            println!(
                "pyx12 parse+validate: {secs:.2} s, {:.2} MB/s, {:.0} claims/s ({})",
                mb / secs,
                claims as f64 / secs,
                if clean {
                    "no errors"
                } else {
                    "reported errors"
                }
            );
            println!("ratio: ours is {:.0}x faster than pyx12", secs / best);
        }
        None => println!("pyx12: no interpreter (pass --pyx12 PYTHON or run the tests once)"),
    }
    Ok(())
}
