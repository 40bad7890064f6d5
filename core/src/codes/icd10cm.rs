//! The ICD-10-CM code set shipped with the product: every code of one CMS release, header
//! (category or subcategory, not valid on a claim) or billable, with its descriptions.
//!
//! The set is embedded in the binary (`core/data/icd10cm-YYYY.tsv.gz`, see `core/data/README.md`;
//! the build finds the file and takes the release's fiscal year from its name) and decompressed once, on first use, into a slice sorted by code: exact lookups and prefix
//! searches are binary searches. Nothing is fetched at run time.
//!
//! The data file is made from a CMS order file (`icd10cm_order_YYYY.txt`) by
//! [`build_from_cms_order_file`]. Its format: a gzip-compressed UTF-8 text, one header line
//! ([`DATA_HEADER`]), then one line per code, sorted by code, with four tab-separated fields:
//! the code without its dot, `1` (billable) or `0` (header), the short description and the long
//! description.

use std::io::{self, BufRead, Read, Write};
use std::sync::LazyLock;

use chrono::NaiveDate;

use super::Icd10Code;
use crate::error::{CoreError, CoreResult};

/// The release embedded (a test checks that it names [`FISCAL_YEAR`]).
pub const RELEASE: &str = "FY2026, April 1, 2026 update (effective 2026-04-01)";

/// The file name of the embedded data under `core/data/` (found by the build script).
pub const DATA_FILE: &str = env!("REVCYCLE_ICD10CM_FILE");

/// The federal fiscal year of the embedded release, from its file name (`icd10cm-YYYY`).
pub const FISCAL_YEAR: i32 = year(env!("REVCYCLE_ICD10CM_YEAR"));

/// The month a federal fiscal year starts in (October), the year before the one it is named
/// after: FY2026 runs from 2025-10-01 to 2026-09-30.
const FISCAL_YEAR_START_MONTH: u32 = 10;

/// The first and the last day of [`FISCAL_YEAR`]: the dates of service the release is for.
pub fn fiscal_year_dates() -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(FISCAL_YEAR - 1, FISCAL_YEAR_START_MONTH, 1);
    let last = NaiveDate::from_ymd_opt(FISCAL_YEAR, FISCAL_YEAR_START_MONTH, 1)
        .and_then(|next| next.pred_opt());
    (
        first.expect("a four-digit year has an October"),
        last.expect("a four-digit year has a September"),
    )
}

/// Four ASCII digits as a number, at compile time (the build script checked the shape).
const fn year(digits: &str) -> i32 {
    let b = digits.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as i32;
        i += 1;
    }
    n
}

/// The first line of a data file.
pub const DATA_HEADER: &str = "code\tbillable\tshort_description\tdescription";

static DATA: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/",
    env!("REVCYCLE_ICD10CM_FILE")
));

static SET: LazyLock<CodeSet> =
    LazyLock::new(|| CodeSet::load(DATA).expect("the embedded ICD-10-CM data file is valid"));

/// One ICD-10-CM code of the shipped release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Icd10Entry {
    /// The code, without its dot.
    pub code: Icd10Code,
    /// Whether the code may be reported on a claim (a leaf of the classification). Header codes
    /// (categories and subcategories that have children) may not.
    pub billable: bool,
    /// Short description, at most 60 characters.
    pub short_description: &'static str,
    /// The full (long) description.
    pub description: &'static str,
}

/// The code of the shipped release, if it exists (header or billable).
pub fn lookup(code: &Icd10Code) -> Option<Icd10Entry> {
    SET.find(code.as_str()).map(Record::entry)
}

/// [`lookup`] for a code as text, with or without its dot, any case; `None` for a string that is
/// not a well-formed ICD-10-CM code.
pub fn lookup_str(code: &str) -> Option<Icd10Entry> {
    Icd10Code::parse(code).ok().and_then(|c| lookup(&c))
}

/// Whether the code exists in the shipped release and may be reported on a claim.
pub fn is_billable(code: &Icd10Code) -> bool {
    SET.find(code.as_str()).is_some_and(|r| r.billable)
}

/// Codes that start with `prefix` (with or without the dot after the category, any case), in
/// code order, at most `limit` of them. An empty prefix lists from the first code; a prefix that
/// cannot begin an ICD-10-CM code finds nothing.
pub fn search_prefix(prefix: &str, limit: usize) -> Vec<Icd10Entry> {
    let Some(prefix) = normalize_prefix(prefix) else {
        return Vec::new();
    };
    let records = &SET.records;
    let start = records.partition_point(|r| r.code < prefix.as_str());
    records[start..]
        .iter()
        .take_while(|r| r.code.starts_with(prefix.as_str()))
        .take(limit)
        .map(Record::entry)
        .collect()
}

/// Most codes one search returns.
pub const SEARCH_LIMIT_MAX: usize = 200;
/// How many codes a search returns when the caller does not say.
pub const SEARCH_LIMIT_DEFAULT: usize = 50;
/// Most letters and digits a search prefix has (the longest code's).
const PREFIX_MAX: usize = 7;

/// A search as a caller asks for it: `prefix` of 1 to 7 letters or digits, any case, dots
/// anywhere (people type `E11.6`, `E.11` or `E11.`); `limit` 1 to [`SEARCH_LIMIT_MAX`],
/// [`SEARCH_LIMIT_DEFAULT`] when absent. A value out of range is an error naming its field.
pub fn search(prefix: &str, limit: Option<usize>) -> CoreResult<Vec<Icd10Entry>> {
    let limit = limit.unwrap_or(SEARCH_LIMIT_DEFAULT);
    if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
        return Err(CoreError::invalid(
            "/limit",
            format!("must be between 1 and {SEARCH_LIMIT_MAX}"),
        ));
    }
    let prefix = prefix.trim().replace('.', "").to_ascii_uppercase();
    if prefix.is_empty()
        || prefix.len() > PREFIX_MAX
        || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(CoreError::invalid(
            "/prefix",
            "must be 1 to 7 letters or digits (a dot allowed)",
        ));
    }
    Ok(search_prefix(&prefix, limit))
}

/// How many codes the shipped release has (headers included).
pub fn code_count() -> usize {
    SET.records.len()
}

/// How many of them are billable.
pub fn billable_count() -> usize {
    SET.records.iter().filter(|r| r.billable).count()
}

/// Decompresses and indexes the embedded set now rather than on first use (start-up).
pub fn preload() {
    LazyLock::force(&SET);
}

/// "e11.9" -> "E119"; `None` if it could not begin a code.
fn normalize_prefix(prefix: &str) -> Option<String> {
    let p = prefix.trim();
    let compact: String = match p.find('.') {
        None => p.to_string(),
        Some(3) => [&p[..3], &p[4..]].concat(),
        Some(_) => return None,
    };
    let ok = compact.len() <= 7
        && compact.bytes().enumerate().all(|(i, b)| match i {
            0 => b.is_ascii_alphabetic(),
            _ => b.is_ascii_alphanumeric(),
        });
    ok.then(|| compact.to_ascii_uppercase())
}

struct Record {
    code: &'static str,
    billable: bool,
    short: &'static str,
    long: &'static str,
}

impl Record {
    fn entry(&self) -> Icd10Entry {
        Icd10Entry {
            code: Icd10Code::from_valid(self.code),
            billable: self.billable,
            short_description: self.short,
            description: self.long,
        }
    }
}

struct CodeSet {
    /// Sorted by code, no duplicates.
    records: Vec<Record>,
}

impl CodeSet {
    /// Reads a data file (gzip). The text lives as long as the process, as the set does.
    fn load(gz: &[u8]) -> Result<CodeSet, BuildError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(gz).read_to_string(&mut text)?;
        let text: &'static str = Box::leak(text.into_boxed_str());
        let mut lines = text.lines();
        if lines.next() != Some(DATA_HEADER) {
            return Err(BuildError::Format {
                line: 1,
                problem: "the data file header line is missing",
            });
        }
        let mut records: Vec<Record> = Vec::with_capacity(100_000);
        for (i, line) in lines.enumerate() {
            let at = |problem| BuildError::Format {
                line: i + 2,
                problem,
            };
            let mut f = line.split('\t');
            let (Some(code), Some(flag), Some(short), Some(long), None) =
                (f.next(), f.next(), f.next(), f.next(), f.next())
            else {
                return Err(at("a data line must have four tab-separated fields"));
            };
            if Icd10Code::parse(code).map(|c| c.as_str() == code) != Ok(true) {
                return Err(at("code is not an ICD-10-CM code without its dot"));
            }
            let billable = match flag {
                "0" => false,
                "1" => true,
                _ => return Err(at("billable flag is not 0 or 1")),
            };
            if records.last().is_some_and(|r| r.code >= code) {
                return Err(at("codes are not sorted or appear twice"));
            }
            records.push(Record {
                code,
                billable,
                short,
                long,
            });
        }
        if records.is_empty() {
            return Err(BuildError::Empty);
        }
        Ok(CodeSet { records })
    }

    fn find(&self, code: &str) -> Option<&Record> {
        self.records
            .binary_search_by(|r| r.code.cmp(code))
            .ok()
            .map(|i| &self.records[i])
    }
}

/// What [`build_from_cms_order_file`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BuildCounts {
    /// All codes.
    pub codes: usize,
    /// Codes valid on a claim.
    pub billable: usize,
    /// Category and subcategory headers.
    pub headers: usize,
}

/// Why an order file (or a data file) was refused. Names the line and the rule, not the text.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("reading or writing the code set failed: {0}")]
    Io(#[from] io::Error),
    #[error("line {line}: {problem}")]
    Format { line: usize, problem: &'static str },
    #[error("line {line}: the code appears twice")]
    Duplicate { line: usize },
    #[error("the file has no codes")]
    Empty,
}

/// Columns of the CMS order file (0-based, in characters; the file documents them 1-based).
const ORDER: std::ops::Range<usize> = 0..5;
const CODE: std::ops::Range<usize> = 6..13;
const FLAG: usize = 14;
const SHORT: std::ops::Range<usize> = 16..76;
const LONG_FROM: usize = 77;

/// Turns a CMS ICD-10-CM order file (`icd10cm_order_YYYY.txt`) into a data file in the format
/// the product embeds, gzip-compressed, written to `output`.
///
/// The order file is fixed-width, one code a line: order number in columns 1-5, the code without
/// its dot in 7-13, `0` (header) or `1` (billable) in 15, the short description in 17-76 and the
/// long description from 78. Columns count characters, so the file may be ASCII, Latin-1 or
/// UTF-8; line ends may be CRLF; blank lines are skipped. Every line is checked (order number,
/// code format, flag, a short description), codes must be unique, and the output is sorted by
/// code. Nothing is written if a line is refused.
pub fn build_from_cms_order_file(
    mut input: impl BufRead,
    output: impl Write,
) -> Result<BuildCounts, BuildError> {
    // (line number, code, billable, short, long)
    let mut rows: Vec<(usize, String, bool, String, String)> = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line_no += 1;
        let text = match std::str::from_utf8(&buf) {
            Ok(s) => s.to_string(),
            // Latin-1: every byte is the character of the same number.
            Err(_) => buf.iter().map(|&b| b as char).collect(),
        };
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            continue;
        }
        let (code, billable, short, long) =
            parse_order_line(text).map_err(|problem| BuildError::Format {
                line: line_no,
                problem,
            })?;
        rows.push((line_no, code, billable, short, long));
    }
    if rows.is_empty() {
        return Err(BuildError::Empty);
    }
    // Stable sort: of two equal codes the later line comes second.
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    if let Some(w) = rows.windows(2).find(|w| w[0].1 == w[1].1) {
        return Err(BuildError::Duplicate { line: w[1].0 });
    }

    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(output, flate2::Compression::best());
    let mut counts = BuildCounts::default();
    writeln!(gz, "{DATA_HEADER}")?;
    for (_, code, billable, short, long) in &rows {
        writeln!(gz, "{code}\t{}\t{short}\t{long}", u8::from(*billable))?;
        counts.codes += 1;
        if *billable {
            counts.billable += 1;
        } else {
            counts.headers += 1;
        }
    }
    gz.finish()?.flush()?;
    Ok(counts)
}

fn parse_order_line(line: &str) -> Result<(String, bool, String, String), &'static str> {
    let chars: Vec<char> = line.chars().collect();
    let cols = |r: std::ops::Range<usize>| -> String {
        chars[r.start.min(chars.len())..r.end.min(chars.len())]
            .iter()
            .collect()
    };
    if chars.len() <= SHORT.start {
        return Err("line is too short for the order file layout");
    }
    let order = cols(ORDER);
    if !order.trim().chars().all(|c| c.is_ascii_digit()) || order.trim().is_empty() {
        return Err("order number (columns 1-5) is not a number");
    }
    if chars[5] != ' ' || chars[13] != ' ' || chars[15] != ' ' {
        return Err("columns 6, 14 and 16 must be blank");
    }
    let raw_code = cols(CODE);
    let code = raw_code.trim();
    match Icd10Code::parse(code) {
        Ok(c) if c.as_str() == code.to_ascii_uppercase() && !code.contains('.') => {}
        _ => return Err("code (columns 7-13) is not an ICD-10-CM code without its dot"),
    }
    let billable = match chars[FLAG] {
        '0' => false,
        '1' => true,
        _ => return Err("header/billable flag (column 15) is not 0 or 1"),
    };
    let clean = |s: String| s.replace('\t', " ").trim().to_string();
    let short = clean(cols(SHORT));
    if short.is_empty() {
        return Err("short description (columns 17-76) is empty");
    }
    let long = if chars.len() > LONG_FROM {
        clean(chars[LONG_FROM..].iter().collect())
    } else {
        String::new()
    };
    let long = if long.is_empty() { short.clone() } else { long };
    Ok((code.to_ascii_uppercase(), billable, short, long))
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn the_release_year_comes_from_the_data_file() {
        assert_eq!(year("2031"), 2031);
        assert_eq!(DATA_FILE, format!("icd10cm-{FISCAL_YEAR}.tsv.gz"));
        assert!(
            RELEASE.starts_with(&format!("FY{FISCAL_YEAR},")),
            "RELEASE describes another year than the shipped {DATA_FILE}: {RELEASE}"
        );
        let (first, last) = fiscal_year_dates();
        assert_eq!(
            (first.year(), first.month(), first.day()),
            (FISCAL_YEAR - 1, 10, 1)
        );
        assert_eq!(
            (last.year(), last.month(), last.day()),
            (FISCAL_YEAR, 9, 30)
        );
    }

    fn code(s: &str) -> Icd10Code {
        Icd10Code::parse(s).unwrap()
    }

    #[test]
    fn embedded_set_loads() {
        assert!(code_count() > 90_000, "{}", code_count());
        assert!(billable_count() > 70_000, "{}", billable_count());
        assert!(billable_count() < code_count());
        // Sorted without duplicates (load checks it; this guards the check).
        assert!(SET.records.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn known_billable_codes() {
        for (c, words) in [
            ("E11.9", "Type 2 diabetes mellitus without complications"),
            ("I10", "Essential (primary) hypertension"),
            ("J45.909", "asthma"),
            ("Z00.00", "general adult medical examination"),
            ("I25.10", "Atherosclerotic heart disease"),
            ("S72.001A", "initial encounter for closed fracture"),
            ("T36.0X1A", "Poisoning by penicillins"),
            ("U07.1", "COVID-19"),
            ("Z3A.20", "20 weeks gestation"),
            ("C4A.0", "Merkel cell carcinoma"),
            ("M54.50", "Low back pain"),
            ("R99", "unknown cause of mortality"),
            ("QA0.0101", "SCN2A"),
        ] {
            let e = lookup(&code(c)).unwrap_or_else(|| panic!("{c} missing"));
            assert!(e.billable, "{c}");
            assert!(is_billable(&code(c)), "{c}");
            assert_eq!(e.code, code(c));
            assert!(e.description.contains(words), "{c}: {}", e.description);
            assert!(!e.short_description.is_empty() && e.short_description.chars().count() <= 60);
        }
    }

    #[test]
    fn header_codes_exist_but_are_not_billable() {
        for c in [
            "E11", "I25.1", "J45.90", "Z00.0", "S72.001", "M54.5", "A00", "C50", "QA0",
        ] {
            let e = lookup(&code(c)).unwrap_or_else(|| panic!("{c} missing"));
            assert!(!e.billable, "{c}");
            assert!(!is_billable(&code(c)), "{c}");
        }
        assert_eq!(
            lookup(&code("E11")).unwrap().description,
            "Type 2 diabetes mellitus"
        );
    }

    #[test]
    fn well_formed_codes_that_do_not_exist() {
        for c in ["E11.99", "Z99.999", "U99", "I10.0", "A00.00", "S72.001Z"] {
            assert_eq!(lookup(&code(c)), None, "{c}");
            assert!(!is_billable(&code(c)), "{c}");
        }
    }

    #[test]
    fn lookup_with_or_without_dot() {
        let a = lookup_str("E11.9").unwrap();
        assert_eq!(lookup_str("e119"), Some(a.clone()));
        assert_eq!(lookup_str(" E119 "), Some(a));
        assert_eq!(lookup_str("E1.19"), None);
        assert_eq!(lookup_str("not a code"), None);
    }

    #[test]
    fn prefix_search_is_sorted_and_limited() {
        let all = search_prefix("E11.6", 1000);
        assert!(all.len() > 10, "{}", all.len());
        assert!(all.iter().all(|e| e.code.as_str().starts_with("E116")));
        assert!(all.windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(all[0].code.as_str(), "E116");
        assert!(!all[0].billable);

        let few = search_prefix("e116", 3);
        assert_eq!(few, all[..3].to_vec());

        let i10 = search_prefix("I10", 10);
        assert_eq!(i10.len(), 1);
        assert_eq!(i10[0].code.as_str(), "I10");

        assert_eq!(search_prefix("E", 5).len(), 5);
        assert_eq!(search_prefix("", 2)[0].code.as_str(), "A00");
        assert!(search_prefix("E11.9", 0).is_empty());
        for bad in ["1", "E1.1", "E11.99999", "E11 9", "É"] {
            assert!(search_prefix(bad, 10).is_empty(), "{bad}");
        }
        assert!(search_prefix("Z99.999", 10).is_empty());
    }

    #[test]
    fn a_callers_search_takes_dots_anywhere_and_names_the_field_it_refuses() {
        assert_eq!(search("e.11.6.", None).unwrap(), search_prefix("E116", 50));
        assert_eq!(search("E11", None).unwrap().len(), SEARCH_LIMIT_DEFAULT);
        assert_eq!(search("E", Some(200)).unwrap().len(), SEARCH_LIMIT_MAX);
        let field = |r: CoreResult<Vec<Icd10Entry>>| match r {
            Err(CoreError::Invalid(v)) => v[0].pointer.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(search("E11", Some(0))), "/limit");
        assert_eq!(field(search("E11", Some(201))), "/limit");
        for bad in ["", "...", "E11.99999", "E11 9", "É"] {
            assert_eq!(field(search(bad, None)), "/prefix", "{bad}");
        }
    }

    const SAMPLE: &str = "\
00001 A00     0 Cholera                                                      Cholera
00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae
00003 A009    1 Cholera, unspecified                                         Cholera, unspecified\r
00004 E11     0 Type 2 diabetes mellitus                                     Type 2 diabetes mellitus

00006 E119    1 Type 2 diabetes mellitus without complications               Type 2 diabetes mellitus without complications
00005 C841    0 Sézary disease                                               Sézary disease
00007 I10     1 Essential (primary) hypertension                             Essential (primary) hypertension
";

    fn build(input: &[u8]) -> Result<(BuildCounts, Vec<u8>), BuildError> {
        let mut out = Vec::new();
        let counts = build_from_cms_order_file(input, &mut out)?;
        Ok((counts, out))
    }

    #[test]
    fn builder_round_trips_an_order_file() {
        let (counts, gz) = build(SAMPLE.as_bytes()).unwrap();
        assert_eq!(
            counts,
            BuildCounts {
                codes: 7,
                billable: 4,
                headers: 3
            }
        );
        let set = CodeSet::load(&gz).unwrap();
        let codes: Vec<&str> = set.records.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["A00", "A000", "A009", "C841", "E11", "E119", "I10"]);
        let e119 = set.find("E119").unwrap().entry();
        assert!(e119.billable);
        assert_eq!(e119.code, code("E11.9"));
        assert_eq!(
            e119.short_description,
            "Type 2 diabetes mellitus without complications"
        );
        assert_eq!(e119.description, e119.short_description);
        assert_eq!(set.find("C841").unwrap().short, "Sézary disease");
        assert!(!set.find("E11").unwrap().billable);
        assert!(set.find("E118").is_none());
        // The same input gives the same bytes (no timestamp in the gzip header).
        assert_eq!(build(SAMPLE.as_bytes()).unwrap().1, gz);
    }

    #[test]
    fn builder_reads_latin1_and_keeps_long_descriptions() {
        let mut line = format!("{:05} {:<7} {} {:<60} {}\n", 1, "C841", 0, "S?zary", "x");
        line = line.replace("S?zary", "S\u{e9}zary");
        let latin1: Vec<u8> = line.chars().map(|c| c as u32 as u8).collect();
        assert!(std::str::from_utf8(&latin1).is_err());
        let (_, gz) = build(&latin1).unwrap();
        let set = CodeSet::load(&gz).unwrap();
        assert_eq!(set.records[0].short, "Sézary");
        assert_eq!(set.records[0].long, "x");
    }

    #[test]
    fn builder_refuses_bad_lines() {
        let ok =
            "00001 E119    1 Type 2 diabetes mellitus without complications               Long";
        for (bad, problem) in [
            (ok.replacen("00001", "0000x", 1), "order number"),
            (ok.replacen("E119   ", "E11.9  ", 1), "code"),
            (ok.replacen("E119   ", "1NVALID", 1), "code"),
            (ok.replacen(" 1 ", " 2 ", 1), "flag"),
            (ok[..12].to_string(), "too short"),
            (
                format!("{}{}", &ok[..16], " ".repeat(70)),
                "short description",
            ),
        ] {
            let input = format!("{ok}\n{bad}\n");
            match build(input.as_bytes()) {
                Err(BuildError::Format {
                    line: 2,
                    problem: p,
                }) => {
                    assert!(p.contains(problem), "{bad:?}: {p}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let twice = format!("{ok}\n{ok}\n");
        assert!(matches!(
            build(twice.as_bytes()),
            Err(BuildError::Duplicate { line: 2 })
        ));
        assert!(matches!(build(b"\n\n"), Err(BuildError::Empty)));
    }

    #[test]
    fn loader_refuses_bad_data() {
        let gz = |text: &str| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let h = DATA_HEADER;
        assert!(CodeSet::load(&gz(&format!("{h}\nA00\t0\tx\tx\n"))).is_ok());
        for bad in [
            "A00\t0\tx\tx\n".to_string(),
            format!("{h}\n"),
            format!("{h}\nA00\t0\tx\n"),
            format!("{h}\nA00\t2\tx\tx\n"),
            format!("{h}\nA00.0\t0\tx\tx\n"),
            format!("{h}\nA01\t0\tx\tx\nA00\t0\tx\tx\n"),
            format!("{h}\nA00\t0\tx\tx\nA00\t0\tx\tx\n"),
        ] {
            assert!(CodeSet::load(&gz(&bad)).is_err(), "{bad:?}");
        }
        assert!(CodeSet::load(b"not gzip").is_err());
    }
}
