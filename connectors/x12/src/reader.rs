//! Streaming X12 reader: a pull parser over any [`BufRead`] that yields one borrowed segment
//! at a time and checks the ISA/GS/ST envelopes as it goes.
//!
//! Memory is bounded by the longest segment: the reader keeps one segment's bytes and its
//! element offsets, reused from segment to segment, never the file.

use std::borrow::Cow;
use std::io::BufRead;

use crate::error::{X12Error, is_segment_id};

/// Length of an ISA segment including its terminator.
pub const ISA_LEN: usize = 106;

/// Positions of the element separators in a fixed-length ISA segment.
const ISA_SEPARATORS: [usize; 16] = [
    3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103,
];

/// The delimiters of an interchange, read from its ISA segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delimiters {
    /// Byte 4 of the ISA (`*`).
    pub element: u8,
    /// ISA11 in 5010 (`^`); `None` in older versions, where ISA11 is a standards id.
    pub repetition: Option<u8>,
    /// ISA16 (`:`).
    pub component: u8,
    /// The byte after ISA16 (`~`).
    pub segment: u8,
    /// Release (escape) character, when the trading partners agreed on one; X12 5010 defines
    /// none in the ISA, so it is an option of the reader and writer.
    pub release: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            element: b'*',
            repetition: Some(b'^'),
            component: b':',
            segment: b'~',
            release: None,
        }
    }
}

impl Delimiters {
    fn is_delimiter(&self, b: u8) -> bool {
        b == self.element
            || b == self.component
            || b == self.segment
            || Some(b) == self.repetition
            || Some(b) == self.release
    }

    /// True when `b` is one of the delimiters (or the release character).
    pub fn contains(&self, b: u8) -> bool {
        self.is_delimiter(b)
    }
}

/// One segment, borrowed from the reader until the next call to
/// [`X12Reader::next_segment`].
#[derive(Clone, Copy)]
pub struct Segment<'a> {
    number: usize,
    data: &'a [u8],
    /// `(start, end)` of the id (index 0) and of each element.
    spans: &'a [(u32, u32)],
    delims: Delimiters,
    /// (0-based index of the transaction set in the input, 1-based position in it).
    txn: Option<(usize, usize)>,
}

impl<'a> Segment<'a> {
    /// The segment identifier (`CLP`).
    pub fn id(&self) -> &'a str {
        let (s, e) = self.spans[0];
        // Checked to be ASCII when the segment was read.
        std::str::from_utf8(&self.data[s as usize..e as usize]).unwrap_or("?")
    }

    /// 1-based position of this segment in the input.
    pub fn number(&self) -> usize {
        self.number
    }

    /// The 0-based index of this segment's transaction set in the input and the segment's
    /// 1-based position in it (ST = 1, SE = SE01), when it belongs to one.
    pub fn transaction_position(&self) -> Option<(usize, usize)> {
        self.txn
    }

    /// Number of data elements (trailing empty ones included when present in the input).
    pub fn len(&self) -> usize {
        self.spans.len() - 1
    }

    /// True when the segment has no data elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, 1-based as in the implementation guides (`CLP04` is `element(4)`); an
    /// element past the end is empty.
    pub fn element(&self, i: usize) -> Element<'a> {
        let raw = match self.spans.get(i) {
            Some(&(s, e)) if i > 0 => &self.data[s as usize..e as usize],
            _ => &[],
        };
        Element {
            raw,
            delims: self.delims,
        }
    }

    /// Element `i` as text (unescaped).
    pub fn get(&self, i: usize) -> Cow<'a, str> {
        self.element(i).text()
    }

    /// Element `i` as text, `None` when empty.
    pub fn opt(&self, i: usize) -> Option<String> {
        let e = self.element(i);
        (!e.is_empty()).then(|| e.text().into_owned())
    }

    /// The segment's bytes without its terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }

    /// An error located at this segment.
    pub fn error(&self, reason: impl Into<String>) -> X12Error {
        let e = X12Error::new(self.number, self.id(), reason);
        match self.txn {
            Some((t, p)) => e.in_transaction(t, p),
            None => e,
        }
    }

    /// Copies the segment into an owned form.
    pub fn to_owned_segment(&self) -> OwnedSegment {
        OwnedSegment {
            number: self.number,
            id: self.id().to_string(),
            elements: (1..=self.len())
                .map(|i| {
                    self.element(i)
                        .components()
                        .map(Cow::into_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
        }
    }
}

/// A copied segment: elements as lists of components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedSegment {
    pub number: usize,
    pub id: String,
    pub elements: Vec<Vec<String>>,
}

/// One element of a segment: simple, composite or repeated.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    raw: &'a [u8],
    delims: Delimiters,
}

impl<'a> Element<'a> {
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The raw bytes (escapes not removed).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The whole element as text, escapes removed.
    pub fn text(&self) -> Cow<'a, str> {
        unescape(self.raw, self.delims.release)
    }

    /// Component `j` (1-based) of a composite element; empty past the end.
    pub fn component(&self, j: usize) -> Cow<'a, str> {
        self.components()
            .nth(j.saturating_sub(1))
            .unwrap_or(Cow::Borrowed(""))
    }

    /// The components, in order (one for a simple element).
    pub fn components(&self) -> impl Iterator<Item = Cow<'a, str>> + use<'a> {
        let release = self.delims.release;
        split(self.raw, self.delims.component, release).map(move |c| unescape(c, release))
    }

    /// The repetitions of a repeating element (one when it does not repeat).
    pub fn repetitions(&self) -> impl Iterator<Item = Element<'a>> + use<'a> {
        let delims = self.delims;
        let sep = delims.repetition.unwrap_or(delims.segment);
        split(self.raw, sep, delims.release).map(move |raw| Element { raw, delims })
    }
}

/// Splits on `sep`, honouring the release character.
fn split(raw: &[u8], sep: u8, release: Option<u8>) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(raw);
    std::iter::from_fn(move || {
        let r = rest?;
        let mut i = 0;
        while i < r.len() {
            if Some(r[i]) == release {
                i += 2;
                continue;
            }
            if r[i] == sep {
                rest = Some(&r[i + 1..]);
                return Some(&r[..i]);
            }
            i += 1;
        }
        rest = None;
        Some(r)
    })
}

fn unescape(raw: &[u8], release: Option<u8>) -> Cow<'_, str> {
    match release {
        Some(rel) if raw.contains(&rel) => {
            let mut out = Vec::with_capacity(raw.len());
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == rel && i + 1 < raw.len() {
                    out.push(raw[i + 1]);
                    i += 2;
                } else {
                    out.push(raw[i]);
                    i += 1;
                }
            }
            Cow::Owned(String::from_utf8_lossy(&out).into_owned())
        }
        _ => String::from_utf8_lossy(raw),
    }
}

/// The ISA header fields a caller may need (none are PHI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interchange {
    pub sender_qualifier: String,
    pub sender_id: String,
    pub receiver_qualifier: String,
    pub receiver_id: String,
    pub date: String,
    pub time: String,
    pub version: String,
    /// ISA13.
    pub control_number: String,
    pub ack_requested: bool,
    pub usage: String,
}

/// The GS header fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// GS01 (`HC`, `HP`, `FA`...).
    pub functional_id: String,
    pub sender_code: String,
    pub receiver_code: String,
    pub date: String,
    pub time: String,
    /// GS06.
    pub control_number: String,
    /// GS08 (`005010X222A1`).
    pub version: String,
}

/// The ST header fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// ST01 (`835`).
    pub id: String,
    /// ST02.
    pub control_number: String,
    /// ST03, when present.
    pub implementation: Option<String>,
}

#[derive(Default)]
struct Envelope {
    interchange: Option<Interchange>,
    group: Option<Group>,
    transaction: Option<Transaction>,
    groups: u64,
    transactions: u64,
    segments: u64,
}

/// Pull reader over X12 input. See the module docs.
pub struct X12Reader<R> {
    input: R,
    buf: Vec<u8>,
    spans: Vec<(u32, u32)>,
    delims: Option<Delimiters>,
    delims_reset: bool,
    release: Option<u8>,
    number: usize,
    bytes: u64,
    env: Envelope,
    done: bool,
    /// Transaction sets started so far in the input.
    started: usize,
    txn: Option<(usize, usize)>,
}

impl<R: BufRead> X12Reader<R> {
    pub fn new(input: R) -> Self {
        X12Reader {
            input,
            buf: Vec::with_capacity(256),
            spans: Vec::with_capacity(32),
            delims: None,
            delims_reset: false,
            release: None,
            number: 0,
            bytes: 0,
            env: Envelope::default(),
            done: false,
            started: 0,
            txn: None,
        }
    }

    /// A reader that honours a release (escape) character agreed with the trading partner.
    pub fn with_release(input: R, release: u8) -> Self {
        let mut r = Self::new(input);
        r.release = Some(release);
        r
    }

    /// The delimiters of the current interchange.
    pub fn delimiters(&self) -> Option<Delimiters> {
        self.delims
    }

    /// Number of segments read so far.
    pub fn segment_number(&self) -> usize {
        self.number
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The current (or last) interchange header.
    pub fn interchange(&self) -> Option<&Interchange> {
        self.env.interchange.as_ref()
    }

    /// The current (or last) functional group header.
    pub fn group(&self) -> Option<&Group> {
        self.env.group.as_ref()
    }

    /// The current (or last) transaction set header.
    pub fn transaction(&self) -> Option<&Transaction> {
        self.env.transaction.as_ref()
    }

    fn err(&self, id: &str, reason: impl Into<String>) -> X12Error {
        X12Error::new(self.number, id, reason)
    }

    fn io_err(&self, e: std::io::Error) -> X12Error {
        X12Error::new(self.number + 1, "?", format!("read error: {}", e.kind()))
    }

    /// Skips whitespace between segments; false at end of input.
    fn skip_whitespace(&mut self) -> Result<bool, X12Error> {
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            if chunk.is_empty() {
                return Ok(false);
            }
            let n = chunk
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
                .count();
            let all = n == chunk.len();
            self.input.consume(n);
            self.bytes += n as u64;
            if !all {
                return Ok(true);
            }
        }
    }

    /// Reads the fixed-length ISA and sets the delimiters.
    fn read_isa(&mut self) -> Result<(), X12Error> {
        self.buf.clear();
        while self.buf.len() < ISA_LEN {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            if chunk.is_empty() {
                break;
            }
            let n = chunk.len().min(ISA_LEN - self.buf.len());
            self.buf.extend_from_slice(&chunk[..n]);
            self.input.consume(n);
        }
        self.bytes += self.buf.len() as u64;
        self.number += 1;
        if !self.buf.starts_with(b"ISA") {
            return Err(self.err("?", "interchange does not start with an ISA segment"));
        }
        if self.buf.len() < ISA_LEN {
            return Err(self.err(
                "ISA",
                format!(
                    "truncated ISA segment: {} bytes, an ISA is exactly {ISA_LEN}",
                    self.buf.len()
                ),
            ));
        }
        let el = self.buf[3];
        let fixed = ISA_SEPARATORS.iter().all(|&p| self.buf[p] == el)
            && self.buf[4..105].iter().filter(|&&b| b == el).count() == ISA_SEPARATORS.len() - 1;
        if !fixed {
            return Err(self.err(
                "ISA",
                format!(
                    "ISA segment is not {ISA_LEN} characters long with fixed-width elements \
                     (element separators must be at fixed positions)"
                ),
            ));
        }
        let component = self.buf[104];
        let segment = self.buf[105];
        let version = &self.buf[84..89];
        let rep = self.buf[82];
        let repetition =
            (version >= b"00501".as_slice() && !rep.is_ascii_alphanumeric()).then_some(rep);
        if segment.is_ascii_alphanumeric()
            || component.is_ascii_alphanumeric()
            || el.is_ascii_alphanumeric()
            || segment == el
            || component == el
            || component == segment
        {
            return Err(self.err(
                "ISA",
                "invalid or conflicting delimiters in the ISA segment",
            ));
        }
        self.delims = Some(Delimiters {
            element: el,
            repetition,
            component,
            segment,
            release: self.release,
        });
        self.buf.truncate(ISA_LEN - 1);
        Ok(())
    }

    /// Reads the next segment's bytes into `buf`. False at clean end of input.
    fn read_raw(&mut self) -> Result<bool, X12Error> {
        if !self.skip_whitespace()? {
            return Ok(false);
        }
        if self.delims_reset {
            self.delims = None;
            self.delims_reset = false;
        }
        let Some(d) = self.delims else {
            self.read_isa()?;
            return Ok(true);
        };
        self.buf.clear();
        // A release character may escape the terminator: keep reading past escaped ones.
        loop {
            let n = self
                .input
                .read_until(d.segment, &mut self.buf)
                .map_err(|e| self.io_err(e))?;
            self.bytes += n as u64;
            self.number += 1;
            if self.buf.last() != Some(&d.segment) {
                let id = self.leading_id();
                return Err(self.err(&id, "truncated input: segment has no terminator"));
            }
            let escaped = d.release.is_some_and(|rel| {
                let body = &self.buf[..self.buf.len() - 1];
                let run = body.iter().rev().take_while(|&&b| b == rel).count();
                run % 2 == 1
            });
            if !escaped {
                break;
            }
            self.number -= 1;
        }
        self.buf.pop();
        // Tolerate a newline before the next segment that read_until kept at our start.
        while matches!(self.buf.last(), Some(b'\r' | b'\n')) {
            self.buf.pop();
        }
        Ok(true)
    }

    fn leading_id(&self) -> String {
        let n = self
            .buf
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        String::from_utf8_lossy(&self.buf[..n.min(3)]).into_owned()
    }

    fn tokenize(&mut self) -> Result<(), X12Error> {
        let d = self.delims.expect("delimiters set");
        self.spans.clear();
        let mut start = 0usize;
        let mut i = 0usize;
        let b = &self.buf;
        while i < b.len() {
            let c = b[i];
            if Some(c) == d.release {
                i += 2;
                continue;
            }
            if c == d.element {
                self.spans.push((start as u32, i as u32));
                start = i + 1;
            }
            i += 1;
        }
        self.spans.push((start as u32, b.len().min(i) as u32));
        let (s, e) = self.spans[0];
        if !is_segment_id(&self.buf[s as usize..e as usize]) {
            return Err(self.err("?", "invalid segment identifier"));
        }
        Ok(())
    }

    /// The next segment, `None` at the end of input. Envelope errors (counts, control numbers,
    /// nesting) are reported at the offending segment.
    pub fn next_segment(&mut self) -> Result<Option<Segment<'_>>, X12Error> {
        if self.done {
            return Ok(None);
        }
        if !self.read_raw()? {
            self.done = true;
            if self.env.interchange.is_some() {
                return Err(X12Error::new(
                    self.number,
                    "IEA",
                    "truncated input: the interchange has no IEA trailer",
                ));
            }
            if self.number == 0 {
                return Err(X12Error::new(0, "ISA", "empty input: no ISA segment"));
            }
            return Ok(None);
        }
        self.tokenize()?;
        self.txn = None;
        self.check_envelope()?;
        Ok(Some(self.seg()))
    }

    fn seg(&self) -> Segment<'_> {
        Segment {
            number: self.number,
            data: &self.buf,
            spans: &self.spans,
            delims: self.delims.expect("delimiters set"),
            txn: self.txn,
        }
    }

    fn check_envelope(&mut self) -> Result<(), X12Error> {
        let s = self.seg();
        let id = s.id();
        let in_isa = self.env.interchange.is_some();
        let in_gs = self.env.group.is_some() && in_isa;
        let in_st = self.env.transaction.is_some() && in_gs;
        match id {
            "ISA" => {
                if in_isa {
                    return Err(s.error("ISA inside an open interchange (missing IEA)"));
                }
                let t = |i: usize| s.get(i).trim().to_string();
                let isa = Interchange {
                    sender_qualifier: t(5),
                    sender_id: t(6),
                    receiver_qualifier: t(7),
                    receiver_id: t(8),
                    date: t(9),
                    time: t(10),
                    version: t(12),
                    control_number: t(13),
                    ack_requested: s.get(14) == "1",
                    usage: t(15),
                };
                if !is_digits(&isa.control_number) || isa.control_number.len() != 9 {
                    return Err(s.error("ISA13 must be a 9-digit control number"));
                }
                self.env = Envelope {
                    interchange: Some(isa),
                    ..Envelope::default()
                };
            }
            "GS" => {
                if !in_isa {
                    return Err(s.error("GS outside an interchange"));
                }
                if in_gs {
                    return Err(s.error("GS inside an open functional group (missing GE)"));
                }
                let g = Group {
                    functional_id: s.get(1).into_owned(),
                    sender_code: s.get(2).into_owned(),
                    receiver_code: s.get(3).into_owned(),
                    date: s.get(4).into_owned(),
                    time: s.get(5).into_owned(),
                    control_number: s.get(6).into_owned(),
                    version: s.get(8).into_owned(),
                };
                if !is_digits(&g.control_number) {
                    return Err(s.error("GS06 must be a numeric control number"));
                }
                self.env.group = Some(g);
                self.env.transaction = None;
                self.env.transactions = 0;
            }
            "ST" => {
                if !in_gs {
                    return Err(s.error("ST outside a functional group"));
                }
                if in_st {
                    return Err(s.error("ST inside an open transaction set (missing SE)"));
                }
                let t = Transaction {
                    id: s.get(1).into_owned(),
                    control_number: s.get(2).into_owned(),
                    implementation: s.opt(3),
                };
                if t.control_number.is_empty() {
                    return Err(s.error("ST02 control number is missing"));
                }
                self.env.transaction = Some(t);
                self.env.segments = 1;
                self.txn = Some((self.started, 1));
                self.started += 1;
            }
            "SE" => {
                if !in_st {
                    return Err(s.error("SE outside a transaction set"));
                }
                let count = self.env.segments + 1;
                self.txn = Some((self.started - 1, count as usize));
                let s = self.seg();
                let se01 = s.get(1);
                let Ok(declared) = se01.parse::<u64>() else {
                    return Err(s.error("SE01 is not a number"));
                };
                if declared != count {
                    return Err(s.error(format!(
                        "SE01 declares {declared} segments but the transaction set has {count} \
                         (ST through SE)"
                    )));
                }
                let st02 = &self.env.transaction.as_ref().expect("in ST").control_number;
                if s.get(2) != st02.as_str() {
                    return Err(s.error("SE02 does not match ST02"));
                }
                self.env.segments = count;
                self.env.transactions += 1;
                // Keep the header readable until the next ST, but mark it closed.
                self.env.transaction = None;
            }
            "GE" => {
                if in_st {
                    return Err(s.error("GE inside an open transaction set (missing SE)"));
                }
                if !in_gs {
                    return Err(s.error("GE outside a functional group"));
                }
                let Ok(declared) = s.get(1).parse::<u64>() else {
                    return Err(s.error("GE01 is not a number"));
                };
                if declared != self.env.transactions {
                    return Err(s.error(format!(
                        "GE01 declares {declared} transaction sets but the group has {}",
                        self.env.transactions
                    )));
                }
                let gs06 = &self.env.group.as_ref().expect("in GS").control_number;
                if !same_control(&s.get(2), gs06) {
                    return Err(s.error("GE02 does not match GS06"));
                }
                self.env.groups += 1;
                self.env.group = None;
            }
            "IEA" => {
                if in_gs {
                    return Err(s.error("IEA inside an open functional group (missing GE)"));
                }
                if !in_isa {
                    return Err(s.error("IEA outside an interchange"));
                }
                let Ok(declared) = s.get(1).parse::<u64>() else {
                    return Err(s.error("IEA01 is not a number"));
                };
                if declared != self.env.groups {
                    return Err(s.error(format!(
                        "IEA01 declares {declared} functional groups but the interchange has {}",
                        self.env.groups
                    )));
                }
                let isa13 = &self
                    .env
                    .interchange
                    .as_ref()
                    .expect("in ISA")
                    .control_number;
                if s.get(2) != isa13.as_str() {
                    return Err(s.error("IEA02 does not match ISA13"));
                }
                self.env.interchange = None;
                // The next interchange may use other delimiters.
                self.delims_reset = true;
            }
            "TA1" => {
                if !in_isa || in_gs {
                    return Err(s.error("TA1 must follow the ISA, outside functional groups"));
                }
            }
            _ => {
                if !in_st {
                    return Err(s.error("segment outside a transaction set"));
                }
                self.env.segments += 1;
                self.txn = Some((self.started - 1, self.env.segments as usize));
            }
        }
        Ok(())
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn same_control(a: &str, b: &str) -> bool {
    a == b || (is_digits(a) && is_digits(b) && a.parse::<u64>().ok() == b.parse::<u64>().ok())
}

/// Reads all segments of `input` into owned form (tests and small files only).
pub fn read_all<R: BufRead>(input: R) -> Result<Vec<OwnedSegment>, X12Error> {
    let mut r = X12Reader::new(input);
    let mut out = Vec::new();
    while let Some(s) = r.next_segment()? {
        out.push(s.to_owned_segment());
    }
    Ok(out)
}
