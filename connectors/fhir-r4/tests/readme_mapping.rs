//! README.md's FHIR field mapping table is the plugin's mapping data, rendered.

use revcycle_connector_fhir_r4::mapping;

const BEGIN: &str =
    "<!-- fhir-mapping:begin (generated from connectors/fhir-r4/src/mapping.rs) -->\n";
const END: &str = "<!-- fhir-mapping:end -->";

#[test]
fn readme_fhir_mapping_table_equals_the_mapping_data() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the FHIR mapping markers")
        + BEGIN.len();
    let end = start + readme[start..].find(END).expect("end marker");
    let table = mapping::markdown_table();
    if std::env::var_os("REVCYCLE_WRITE_README_MAPPING").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        table,
        "README.md's FHIR mapping differs from connectors/fhir-r4/src/mapping.rs; rerun this \
         test with REVCYCLE_WRITE_README_MAPPING=1"
    );
    // Every canonical record type and every mapped resource has rows.
    for needle in [
        "`Patient.",
        "`Coverage.",
        "`Encounter.",
        "`Claim.item`",
        "`ChargeItem`",
    ] {
        assert!(table.contains(needle), "{needle}");
    }
}
