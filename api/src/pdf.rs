//! What the API's printed documents (a patient statement, an appeal letter) share: US Letter
//! pages of drawing operations, the standard Helvetica fonts (nothing embedded) with their
//! metrics, so every string is measured and wrapped or shortened to its column, and the
//! writer that turns the pages into a PDF.

use chrono::NaiveDate;
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use rust_decimal::Decimal;

pub const PAGE_W: f32 = 612.0;
pub const PAGE_H: f32 = 792.0;

/// Helvetica and Helvetica-Bold advance widths (1/1000 em) of the printable ASCII characters,
/// from the fonts' AFM files.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];
/// Width assumed for a Latin-1 letter outside ASCII: at least as wide as any of them.
const WIDE: u16 = 1000;

#[derive(Clone, Copy, PartialEq)]
pub enum Font {
    Regular,
    Bold,
}

/// The text as WinAnsi bytes: Latin-1 as is, anything else as `?`.
pub fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

pub fn width(s: &str, font: Font, size: f32) -> f32 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    let units: u32 = win_ansi(s)
        .iter()
        .map(|&b| match b {
            0x20..=0x7e => u32::from(table[usize::from(b - 0x20)]),
            _ => u32::from(WIDE),
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `s` shortened with "..." to fit `max` points.
pub fn fit(s: &str, font: Font, size: f32, max: f32) -> String {
    if width(s, font, size) <= max {
        return s.to_string();
    }
    let mut out: String = s.to_string();
    while !out.is_empty() && width(&format!("{out}..."), font, size) > max {
        out.pop();
    }
    format!("{}...", out.trim_end())
}

/// `s` in lines of at most `max` points, breaking between words (a word longer than a line
/// is shortened).
pub fn wrap(s: &str, font: Font, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, font, size) <= max {
                line = candidate;
            } else {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line = fit(word, font, size, max);
            }
        }
        lines.push(line);
    }
    lines
}

pub fn money(d: Decimal) -> String {
    let neg = d.is_sign_negative() && !d.is_zero();
    let s = format!("{:.2}", d.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}{grouped}.{frac}", if neg { "-" } else { "" })
}

pub fn dollars(d: Decimal) -> String {
    format!("${}", money(d))
}

pub fn date(d: NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        font: Font,
        text: String,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        dashed: bool,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: bool,
    },
}

/// Pages of drawing operations, laid out top to bottom.
pub struct Layout {
    pub pages: Vec<Vec<Op>>,
    pub y: f32,
}

impl Layout {
    pub fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    /// Text at `x`, shortened to end before `max_x`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str, max_x: f32) {
        let text = fit(s, font, size, (max_x - x).max(0.0));
        self.page().push(Op::Text {
            x,
            y,
            size,
            font,
            text,
        });
    }

    /// Text ending at `right`, shortened to `max` points.
    pub fn right(&mut self, right: f32, y: f32, size: f32, font: Font, s: &str, max: f32) {
        let text = fit(s, font, size, max);
        let x = right - width(&text, font, size);
        self.page().push(Op::Text {
            x,
            y,
            size,
            font,
            text,
        });
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, dashed: bool) {
        self.page().push(Op::Line {
            x1,
            y1,
            x2,
            y2,
            dashed,
        });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: bool) {
        self.page().push(Op::Rect { x, y, w, h, fill });
    }
}

/// The pages as a US Letter PDF titled `title` (the title must hold no patient data).
pub fn write(pages: &[Vec<Op>], title: &str) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let mut next = 6;
    let mut ids = Vec::new();
    for _ in pages {
        ids.push((Ref::new(next), Ref::new(next + 1)));
        next += 2;
    }
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|(p, _)| *p))
        .count(ids.len() as i32);
    pdf.document_info(info).title(pdf_writer::TextStr(title));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (ops, (page_id, content_id)) in pages.iter().zip(&ids) {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(*content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        drop(page);
        let mut c = Content::new();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    size,
                    font,
                    text,
                } => {
                    let f = match font {
                        Font::Regular => Name(b"F1"),
                        Font::Bold => Name(b"F2"),
                    };
                    c.begin_text();
                    c.set_font(f, *size);
                    c.next_line(*x, *y);
                    c.show(Str(&win_ansi(text)));
                    c.end_text();
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    dashed,
                } => {
                    c.save_state();
                    c.set_line_width(0.5);
                    if *dashed {
                        c.set_dash_pattern([3.0, 3.0], 0.0);
                    }
                    c.move_to(*x1, *y1);
                    c.line_to(*x2, *y2);
                    c.stroke();
                    c.restore_state();
                }
                Op::Rect { x, y, w, h, fill } => {
                    c.save_state();
                    c.set_line_width(0.5);
                    if *fill {
                        c.set_fill_gray(0.9);
                    }
                    c.rect(*x, *y, *w, *h);
                    if *fill {
                        c.fill_nonzero();
                    } else {
                        c.stroke();
                    }
                    c.restore_state();
                }
            }
        }
        pdf.stream(*content_id, &c.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_shortened_to_its_width() {
        let long = "Comprehensive metabolic panel with an unusually long description that goes on";
        let f = fit(long, Font::Regular, 8.0, 100.0);
        assert!(f.ends_with("..."));
        assert!(width(&f, Font::Regular, 8.0) <= 100.0);
        for line in wrap(long, Font::Bold, 8.0, 120.0) {
            assert!(width(&line, Font::Bold, 8.0) <= 120.0, "{line}");
        }
    }

    #[test]
    fn money_is_grouped() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("1234567.5")), "1,234,567.50");
        assert_eq!(money(d("-2")), "-2.00");
        assert_eq!(money(d("0")), "0.00");
    }
}
