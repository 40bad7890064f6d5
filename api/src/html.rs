//! HTML the API prints (a patient statement, an appeal letter): text escaped for element
//! content and attribute values.

/// HTML-escape text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<b>O'Brien & \"Co\"</b>"),
            "&lt;b&gt;O&#39;Brien &amp; &quot;Co&quot;&lt;/b&gt;"
        );
    }
}
