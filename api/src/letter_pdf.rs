//! An appeal letter as a US Letter PDF: the rendered template's heading and paragraphs set in
//! Helvetica with one-inch margins, every line wrapped to the text width, going on to a new
//! page when the page is full, each page numbered at its foot.

use crate::pdf::{Font, Layout, Op, PAGE_H, PAGE_W, width, wrap, write};
use revcycle_core::workflows::denials::RenderedLetter;

const MARGIN: f32 = 72.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN;
const HEADING: f32 = 14.0;
const BODY: f32 = 11.0;
const LEADING: f32 = 14.0;
/// The lowest baseline of the text; the page number sits below it.
const BOTTOM: f32 = MARGIN;
const FOOTER_Y: f32 = 40.0;
const FOOTER: f32 = 8.0;

impl Layout {
    /// Moves down one line of `leading`, starting a new page when the line would go below the
    /// bottom margin.
    fn next_line(&mut self, leading: f32) {
        if self.y - leading < BOTTOM {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN;
        } else {
            self.y -= leading;
        }
    }
}

/// The letter as PDF bytes.
pub fn render(letter: &RenderedLetter) -> Vec<u8> {
    let mut l = Layout {
        pages: vec![Vec::new()],
        // The first baseline: the heading's cap height below the top margin.
        y: PAGE_H - MARGIN - HEADING,
    };
    let right = MARGIN + TEXT_W;
    let mut first = true;
    for line in wrap(&letter.heading, Font::Bold, HEADING, TEXT_W) {
        if !first {
            l.next_line(HEADING + 4.0);
        }
        first = false;
        l.text(MARGIN, l.y, HEADING, Font::Bold, &line, right);
    }
    for paragraph in &letter.paragraphs {
        // A blank line before each paragraph (the heading's gap is the same).
        l.next_line(LEADING);
        for source in paragraph {
            for line in wrap(source, Font::Regular, BODY, TEXT_W) {
                l.next_line(LEADING);
                l.text(MARGIN, l.y, BODY, Font::Regular, &line, right);
            }
        }
    }
    let n = l.pages.len();
    for (i, page) in l.pages.iter_mut().enumerate() {
        let text = format!("Page {} of {n}", i + 1);
        page.push(Op::Text {
            x: (PAGE_W - width(&text, Font::Regular, FOOTER)) / 2.0,
            y: FOOTER_Y,
            size: FOOTER,
            font: Font::Regular,
            text,
        });
    }
    // No patient data in the document's metadata.
    write(&l.pages, "Appeal of a claim denial")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_letter_goes_on_to_numbered_pages() {
        let letter = RenderedLetter {
            heading: "Request for appeal".into(),
            paragraphs: (0..40)
                .map(|i| vec![format!("Paragraph {i} ").repeat(20), "Second line".into()])
                .collect(),
        };
        let pdf = render(&letter);
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("(Page 1 of "), "numbered");
        assert!(!text.contains("(Page 1 of 1)"), "more than one page");
    }
}
