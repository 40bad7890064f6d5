//! Rebuilds the shipped ICD-10-CM data file from a CMS order file:
//!
//! ```text
//! cargo run -p revcycle-core --example rebuild_icd10cm -- icd10cm_order_2026.txt core/data/icd10cm-2026.tsv.gz
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [from, output] = args.as_slice() else {
        eprintln!("usage: rebuild_icd10cm ORDER_FILE OUTPUT.tsv.gz");
        return ExitCode::from(2);
    };
    let run = || -> Result<_, Box<dyn std::error::Error>> {
        let input = BufReader::new(File::open(from)?);
        // Write beside the target and rename, so a refused file leaves the old one in place.
        let tmp = format!("{output}.tmp");
        let counts = revcycle_core::codes::icd10cm::build_from_cms_order_file(
            input,
            BufWriter::new(File::create(&tmp)?),
        );
        match counts {
            Ok(c) => {
                std::fs::rename(&tmp, output)?;
                Ok(c)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e.into())
            }
        }
    };
    match run() {
        Ok(c) => {
            println!(
                "{} codes: {} billable, {} headers",
                c.codes, c.billable, c.headers
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
