//! Envelope facts of a received file.

/// ISA13 and GS06 of a file, when it has them (no other element is read).
pub(super) fn control_numbers(raw: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    if !text.starts_with("ISA") || text.len() < 106 {
        return (None, None);
    }
    let element = text.as_bytes()[3] as char;
    let terminator = text.as_bytes()[105] as char;
    let isa: Vec<&str> = text[..105].split(element).collect();
    let icn = isa.get(13).map(|s| s.trim().to_string());
    let gcn = text[106..]
        .split(terminator)
        .map(str::trim)
        .find(|s| s.starts_with("GS"))
        .and_then(|gs| gs.split(element).nth(6).map(str::to_string));
    (icn, gcn)
}

/// The transaction set id (ST01) of a file: `835`, `999`, `277`...; `TA1` for a bare TA1.
pub(super) fn transaction_kind(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim_start();
    if !text.starts_with("ISA") || text.len() < 106 {
        return None;
    }
    let element = text.as_bytes()[3] as char;
    let terminator = text.as_bytes()[105] as char;
    let mut ta1 = false;
    for seg in text[106..].split(terminator).map(str::trim) {
        let mut parts = seg.split(element);
        match parts.next() {
            Some("ST") => return parts.next().map(str::to_string),
            Some("TA1") => ta1 = true,
            _ => {}
        }
    }
    ta1.then(|| "TA1".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*REVCYCLE       *240315*1200*^*00501*000000101*0*P*:~\nGS*HP*ACMEPAYER*REVCYCLE*20240315*1200*101*X*005010X221A1~\nST*835*0001~";

    #[test]
    fn control_numbers_and_kind_are_read_from_the_envelope() {
        let (icn, gcn) = control_numbers(ISA.as_bytes());
        assert_eq!(icn.as_deref(), Some("000000101"));
        assert_eq!(gcn.as_deref(), Some("101"));
        assert_eq!(transaction_kind(ISA.as_bytes()).as_deref(), Some("835"));
        assert_eq!(transaction_kind(b"hello"), None);
    }
}
