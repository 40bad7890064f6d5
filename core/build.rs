//! Finds the shipped ICD-10-CM data file (`data/icd10cm-YYYY.tsv.gz`) and hands its name and
//! fiscal year to the crate, so that replacing the file is the whole of a code-set update: the
//! embedded bytes, the release's year and the scrubber's window all follow from it.

use std::path::Path;

fn main() {
    let data = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("data");
    println!("cargo:rerun-if-changed={}", data.display());
    let mut found: Vec<(String, String)> = std::fs::read_dir(&data)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", data.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let year = name.strip_prefix("icd10cm-")?.strip_suffix(".tsv.gz")?;
            (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (name.clone(), year.to_string()))
        })
        .collect();
    found.sort();
    let [(file, year)] = found.as_slice() else {
        panic!(
            "core/data must hold exactly one ICD-10-CM data file icd10cm-YYYY.tsv.gz, found {:?}",
            found.iter().map(|(f, _)| f).collect::<Vec<_>>()
        );
    };
    println!("cargo:rustc-env=REVCYCLE_ICD10CM_FILE={file}");
    println!("cargo:rustc-env=REVCYCLE_ICD10CM_YEAR={year}");
}
