//! X12 writer: envelopes with control numbers and trailers counted for the caller.

use std::io::Write;

use crate::error::X12Error;
use crate::reader::Delimiters;

/// ISA fields chosen by the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterchangeHeader {
    /// ISA05 (`ZZ` mutually defined, `30` federal tax id...).
    pub sender_qualifier: String,
    /// ISA06, at most 15 characters.
    pub sender_id: String,
    pub receiver_qualifier: String,
    pub receiver_id: String,
    /// ISA09 `YYMMDD`.
    pub date: String,
    /// ISA10 `HHMM`.
    pub time: String,
    /// ISA13, at most 9 digits.
    pub control_number: u32,
    /// ISA14.
    pub ack_requested: bool,
    /// ISA15: true for `P` (production), false for `T` (test).
    pub production: bool,
}

/// GS fields chosen by the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupHeader {
    /// GS01 (`HC` claims, `HP` remittance, `FA` acknowledgment, `HS` 270, `HR` 276).
    pub functional_id: String,
    /// GS02.
    pub sender_code: String,
    /// GS03.
    pub receiver_code: String,
    /// GS04 `CCYYMMDD`.
    pub date: String,
    /// GS05 `HHMM`.
    pub time: String,
    /// GS06.
    pub control_number: u32,
    /// GS08 (`005010X222A1`).
    pub version: String,
}

#[derive(Default)]
struct Open {
    isa13: Option<String>,
    gs06: Option<String>,
    st02: Option<String>,
    groups: u32,
    transactions: u32,
    segments: u32,
}

/// Writes segments with the given delimiters, counting for SE/GE/IEA.
pub struct X12Writer<W: Write> {
    out: W,
    delims: Delimiters,
    newline: bool,
    number: usize,
    open: Open,
    line: Vec<u8>,
}

impl<W: Write> X12Writer<W> {
    pub fn new(out: W, delims: Delimiters) -> Self {
        X12Writer {
            out,
            delims,
            newline: false,
            number: 0,
            open: Open::default(),
            line: Vec::with_capacity(256),
        }
    }

    /// Writes a newline after each segment terminator.
    pub fn with_newlines(mut self, yes: bool) -> Self {
        self.newline = yes;
        self
    }

    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// Segments written so far.
    pub fn segment_number(&self) -> usize {
        self.number
    }

    /// Joins components into one composite element value, dropping trailing empty ones.
    pub fn composite(&self, parts: &[&str]) -> String {
        let n = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        let sep = (self.delims.component as char).to_string();
        parts[..n].join(&sep)
    }

    /// Joins repetitions of a repeating element.
    pub fn repeated(&self, parts: &[&str]) -> String {
        let sep = (self.delims.repetition.unwrap_or(b'^') as char).to_string();
        parts.join(&sep)
    }

    fn err(&self, id: &str, reason: impl Into<String>) -> X12Error {
        X12Error::new(self.number + 1, id, reason)
    }

    /// Writes one segment. Trailing empty elements are dropped. Element values may contain the
    /// component and repetition separators (composites built with [`Self::composite`]); any
    /// other delimiter is escaped with the release character, or refused without one.
    pub fn segment(&mut self, id: &str, elements: &[&str]) -> Result<(), X12Error> {
        match id {
            "ISA" | "GS" | "ST" | "SE" | "GE" | "IEA" => {
                return Err(self.err(id, "envelope segments are written by the writer itself"));
            }
            _ => {}
        }
        if self.open.st02.is_none() && id != "TA1" {
            return Err(self.err(id, "segment outside a transaction set"));
        }
        self.raw_segment(id, elements)?;
        self.open.segments += 1;
        Ok(())
    }

    fn raw_segment(&mut self, id: &str, elements: &[&str]) -> Result<(), X12Error> {
        let d = self.delims;
        let n = elements
            .iter()
            .rposition(|e| !e.is_empty())
            .map_or(0, |i| i + 1);
        self.line.clear();
        self.line.extend_from_slice(id.as_bytes());
        for (i, e) in elements[..n].iter().enumerate() {
            self.line.push(d.element);
            for &b in e.as_bytes() {
                let special = b == d.element || b == d.segment || Some(b) == d.release;
                if special || b == b'\r' || b == b'\n' {
                    match d.release {
                        Some(rel) if special => {
                            self.line.push(rel);
                            self.line.push(b);
                        }
                        _ => {
                            return Err(self.err(
                                id,
                                format!("{id}{:02} contains a delimiter character", i + 1),
                            ));
                        }
                    }
                } else {
                    self.line.push(b);
                }
            }
        }
        self.line.push(d.segment);
        if self.newline {
            self.line.push(b'\n');
        }
        self.out
            .write_all(&self.line)
            .map_err(|e| self.err(id, format!("write error: {}", e.kind())))?;
        self.number += 1;
        Ok(())
    }

    /// Writes the ISA.
    pub fn begin_interchange(&mut self, h: &InterchangeHeader) -> Result<(), X12Error> {
        if self.open.isa13.is_some() {
            return Err(self.err("ISA", "an interchange is already open"));
        }
        let pad = |s: &str, w: usize, what: &str| -> Result<String, X12Error> {
            if s.len() > w {
                return Err(self.err("ISA", format!("{what} is longer than {w} characters")));
            }
            Ok(format!("{s:<w$}"))
        };
        if h.control_number > 999_999_999 {
            return Err(self.err("ISA", "ISA13 must fit in 9 digits"));
        }
        if h.date.len() != 6 || h.time.len() != 4 {
            return Err(self.err("ISA", "ISA09/ISA10 must be YYMMDD and HHMM"));
        }
        let control = format!("{:09}", h.control_number);
        let rep = (self.delims.repetition.unwrap_or(b'^') as char).to_string();
        let comp = (self.delims.component as char).to_string();
        let fields = [
            "00".to_string(),
            " ".repeat(10),
            "00".to_string(),
            " ".repeat(10),
            pad(&h.sender_qualifier, 2, "ISA05")?,
            pad(&h.sender_id, 15, "ISA06")?,
            pad(&h.receiver_qualifier, 2, "ISA07")?,
            pad(&h.receiver_id, 15, "ISA08")?,
            h.date.clone(),
            h.time.clone(),
            rep,
            "00501".to_string(),
            control.clone(),
            if h.ack_requested { "1" } else { "0" }.to_string(),
            if h.production { "P" } else { "T" }.to_string(),
            comp,
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        // ISA11 and ISA16 are delimiters themselves: write the line directly.
        let d = self.delims;
        self.line.clear();
        self.line.extend_from_slice(b"ISA");
        for f in &refs {
            self.line.push(d.element);
            self.line.extend_from_slice(f.as_bytes());
        }
        self.line.push(d.segment);
        if self.newline {
            self.line.push(b'\n');
        }
        self.out
            .write_all(&self.line)
            .map_err(|e| self.err("ISA", format!("write error: {}", e.kind())))?;
        self.number += 1;
        self.open = Open {
            isa13: Some(control),
            ..Open::default()
        };
        Ok(())
    }

    /// Writes the GS.
    pub fn begin_group(&mut self, g: &GroupHeader) -> Result<(), X12Error> {
        if self.open.isa13.is_none() || self.open.gs06.is_some() {
            return Err(self.err("GS", "GS needs an open interchange and no open group"));
        }
        let control = g.control_number.to_string();
        self.raw_segment(
            "GS",
            &[
                &g.functional_id,
                &g.sender_code,
                &g.receiver_code,
                &g.date,
                &g.time,
                &control,
                "X",
                &g.version,
            ],
        )?;
        self.open.gs06 = Some(control);
        self.open.transactions = 0;
        Ok(())
    }

    /// Writes the ST.
    pub fn begin_transaction(
        &mut self,
        id: &str,
        control_number: &str,
        implementation: Option<&str>,
    ) -> Result<(), X12Error> {
        if self.open.gs06.is_none() || self.open.st02.is_some() {
            return Err(self.err("ST", "ST needs an open group and no open transaction set"));
        }
        self.raw_segment("ST", &[id, control_number, implementation.unwrap_or("")])?;
        self.open.st02 = Some(control_number.to_string());
        self.open.segments = 1;
        Ok(())
    }

    /// Writes the SE; returns the transaction's segment count.
    pub fn end_transaction(&mut self) -> Result<u32, X12Error> {
        let Some(st02) = self.open.st02.take() else {
            return Err(self.err("SE", "no open transaction set"));
        };
        let count = self.open.segments + 1;
        self.raw_segment("SE", &[&count.to_string(), &st02])?;
        self.open.transactions += 1;
        Ok(count)
    }

    /// Writes the GE.
    pub fn end_group(&mut self) -> Result<(), X12Error> {
        if self.open.st02.is_some() {
            return Err(self.err("GE", "a transaction set is still open"));
        }
        let Some(gs06) = self.open.gs06.take() else {
            return Err(self.err("GE", "no open group"));
        };
        let n = self.open.transactions.to_string();
        self.raw_segment("GE", &[&n, &gs06])?;
        self.open.groups += 1;
        Ok(())
    }

    /// Writes the IEA.
    pub fn end_interchange(&mut self) -> Result<(), X12Error> {
        if self.open.gs06.is_some() {
            return Err(self.err("IEA", "a group is still open"));
        }
        let Some(isa13) = self.open.isa13.take() else {
            return Err(self.err("IEA", "no open interchange"));
        };
        let n = self.open.groups.to_string();
        self.raw_segment("IEA", &[&n, &isa13])?;
        Ok(())
    }

    /// Writes a TA1 (interchange acknowledgment) right after the ISA.
    pub fn ta1(&mut self, elements: &[&str]) -> Result<(), X12Error> {
        if self.open.isa13.is_none() || self.open.gs06.is_some() {
            return Err(self.err("TA1", "TA1 goes inside an interchange, outside groups"));
        }
        self.raw_segment("TA1", elements)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W, X12Error> {
        if self.open.isa13.is_some() {
            return Err(self.err("IEA", "the interchange is still open"));
        }
        self.out
            .flush()
            .map_err(|e| X12Error::new(self.number, "IEA", format!("write error: {}", e.kind())))?;
        Ok(self.out)
    }
}

/// The envelope of a one-transaction file: ISA, GS (GS01/GS08 set by the transaction writer),
/// ST02 and the BHT03 reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub interchange: InterchangeHeader,
    pub group: GroupHeader,
    /// ST02.
    pub transaction_control_number: String,
}

impl<W: Write> X12Writer<W> {
    /// Opens ISA, GS (with `functional_id` and `version`) and ST.
    pub fn begin_all(
        &mut self,
        env: &Envelope,
        functional_id: &str,
        transaction_id: &str,
        version: &str,
    ) -> Result<(), X12Error> {
        self.begin_interchange(&env.interchange)?;
        let mut g = env.group.clone();
        g.functional_id = functional_id.into();
        g.version = version.into();
        self.begin_group(&g)?;
        self.begin_transaction(
            transaction_id,
            &env.transaction_control_number,
            Some(version),
        )
    }

    /// Closes SE, GE and IEA.
    pub fn end_all(&mut self) -> Result<(), X12Error> {
        self.end_transaction()?;
        self.end_group()?;
        self.end_interchange()
    }
}
