//! HTML the API prints (a patient statement, an appeal letter): text escaped for element
//! content and attribute values.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use revcycle_core::access::{Mask, Principal, View};
use revcycle_core::audit::{Disclosed, Discloses};

/// 200 with `body` as JSON, or as the printable page `page` renders when the client asks for
/// `text/html`: masked for the caller either way, and what it discloses goes to the request's
/// audit event either way.
pub fn json_or_page<T: serde::Serialize + Mask + Discloses>(
    req: &HttpRequest,
    who: &Principal,
    body: T,
    page: impl FnOnce(&T) -> String,
) -> HttpResponse {
    json_page_or_pdf(req, who, body, page, None::<fn(&T) -> Vec<u8>>)
}

/// [`json_or_page`] for a document that also prints as PDF (`Accept: application/pdf`).
pub fn json_page_or_pdf<T: serde::Serialize + Mask + Discloses>(
    req: &HttpRequest,
    who: &Principal,
    mut body: T,
    page: impl FnOnce(&T) -> String,
    pdf: Option<impl FnOnce(&T) -> Vec<u8>>,
) -> HttpResponse {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wants_pdf = pdf.is_some() && accept.contains("application/pdf");
    let wants_html = accept.contains("text/html");
    if !wants_pdf && !wants_html {
        return crate::db::json(who, body);
    }
    body.mask(&View::for_principal(who));
    let mut resp = match pdf {
        Some(render) if wants_pdf => HttpResponse::Ok()
            .content_type("application/pdf")
            .body(render(&body)),
        _ => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page(&body)),
    };
    resp.extensions_mut().insert(Disclosed::of(&body));
    resp
}

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
