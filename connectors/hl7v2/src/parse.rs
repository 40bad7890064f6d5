//! A small HL7 v2 parser: segments, fields, repetitions, components, subcomponents, with the
//! delimiters each message declares in MSH-1/MSH-2 (or FHS/BHS for batch headers).
//!
//! Values are kept as written (escape sequences intact) and decoded on access, so the null
//! value `""` stays distinguishable from an empty (not present) value. Nothing here panics on
//! input, and no error quotes a value.

use std::fmt;

/// The delimiters of one message (MSH-1 and MSH-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Separators {
    pub field: char,
    pub component: char,
    pub repetition: char,
    /// Absent when MSH-2 declares no escape character: then nothing is an escape sequence.
    pub escape: Option<char>,
    pub subcomponent: char,
    /// The truncation character of v2.7 (fifth character of MSH-2), tolerated and reserved.
    pub truncation: Option<char>,
}

impl Default for Separators {
    /// The usual `|^~\&`.
    fn default() -> Self {
        Separators {
            field: '|',
            component: '^',
            repetition: '~',
            escape: Some('\\'),
            subcomponent: '&',
            truncation: None,
        }
    }
}

/// Why a message header could not be read. Never quotes input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// The text does not start with `MSH`, `FHS` or `BHS` followed by a field separator.
    NotAHeader,
    /// MSH-2 is missing, too long, or reuses a character (HL7 field MSH-2).
    BadEncodingCharacters,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::NotAHeader => f.write_str("segment is not a message or batch header"),
            HeaderError::BadEncodingCharacters => f.write_str("invalid encoding characters"),
        }
    }
}

impl Separators {
    /// Reads the delimiters from a header segment (`MSH`, `FHS` or `BHS`): the character after
    /// the segment id is the field separator, the next field holds the encoding characters in
    /// the order component, repetition, escape, subcomponent and (v2.7) truncation.
    pub fn from_header(segment: &str) -> Result<Separators, HeaderError> {
        let id = segment.get(..3).ok_or(HeaderError::NotAHeader)?;
        if !matches!(id, "MSH" | "FHS" | "BHS") {
            return Err(HeaderError::NotAHeader);
        }
        let mut rest = segment[3..].chars();
        let field = rest.next().ok_or(HeaderError::NotAHeader)?;
        if field.is_alphanumeric() || field.is_whitespace() {
            return Err(HeaderError::NotAHeader);
        }
        let encoding: Vec<char> = rest.take_while(|&c| c != field).collect();
        if encoding.is_empty() || encoding.len() > 5 {
            return Err(HeaderError::BadEncodingCharacters);
        }
        let mut seen = vec![field];
        for &c in &encoding {
            if seen.contains(&c) || c.is_alphanumeric() || c.is_whitespace() {
                return Err(HeaderError::BadEncodingCharacters);
            }
            seen.push(c);
        }
        // A missing delimiter is one that can never occur; NUL stands in for it.
        let at = |i: usize| encoding.get(i).copied();
        Ok(Separators {
            field,
            component: encoding[0],
            repetition: at(1).unwrap_or('\0'),
            escape: at(2),
            subcomponent: at(3).unwrap_or('\0'),
            truncation: at(4),
        })
    }

    /// MSH-2 as it should be written for these delimiters.
    pub fn encoding_characters(&self) -> String {
        let mut out = String::new();
        out.push(self.component);
        for c in [
            Some(self.repetition),
            self.escape,
            Some(self.subcomponent),
            self.truncation,
        ]
        .into_iter()
        .flatten()
        .filter(|&c| c != '\0')
        {
            out.push(c);
        }
        out
    }

    /// Decodes escape sequences in one subcomponent value.
    ///
    /// `\F\ \S\ \T\ \R\ \E\` (and `\P\` for the truncation character) become the delimiter;
    /// `\Xhh..\` becomes the bytes it spells (UTF-8 when valid, else Latin-1); `\.br\` and
    /// `\.sp\` become a line break; highlighting (`\H\ \N\`), other formatting commands and
    /// character-set switches (`\C..\ \M..\`) are dropped; an unknown or unterminated sequence is
    /// kept as written.
    pub fn decode(&self, raw: &str) -> String {
        let Some(esc) = self.escape else {
            return raw.to_owned();
        };
        if !raw.contains(esc) {
            return raw.to_owned();
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find(esc) {
            out.push_str(&rest[..start]);
            let after = &rest[start + esc.len_utf8()..];
            let Some(end) = after.find(esc) else {
                // Unterminated: literal.
                out.push_str(&rest[start..]);
                return out;
            };
            let seq = &after[..end];
            match seq {
                "F" => out.push(self.field),
                "S" => out.push(self.component),
                "T" => out.push(self.subcomponent),
                "R" => out.push(self.repetition),
                "E" => out.push(esc),
                "P" if self.truncation.is_some() => out.extend(self.truncation),
                "H" | "N" => {}
                ".br" | ".sp" => out.push('\n'),
                _ if seq.starts_with('.') && seq.len() > 1 => {}
                _ if (seq.starts_with('C') || seq.starts_with('M'))
                    && seq.len() > 1
                    && seq[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {}
                _ if seq.starts_with('X') => match hex_bytes(&seq[1..]) {
                    Some(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => out.push_str(&text),
                        Err(err) => out.extend(err.into_bytes().into_iter().map(char::from)),
                    },
                    None => {
                        out.push(esc);
                        out.push_str(seq);
                        out.push(esc);
                    }
                },
                _ => {
                    out.push(esc);
                    out.push_str(seq);
                    out.push(esc);
                }
            }
            rest = &after[end + esc.len_utf8()..];
        }
        out.push_str(rest);
        out
    }

    /// Escapes a plain value so it can be written as one subcomponent with these delimiters.
    pub fn encode(&self, value: &str) -> String {
        let esc = self.escape.unwrap_or('\\');
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            let code = if c == self.field {
                Some("F")
            } else if c == self.component {
                Some("S")
            } else if c == self.subcomponent {
                Some("T")
            } else if c == self.repetition {
                Some("R")
            } else if c == esc {
                Some("E")
            } else if Some(c) == self.truncation {
                Some("P")
            } else if c == '\r' {
                Some("X0D")
            } else if c == '\n' {
                Some("X0A")
            } else {
                None
            };
            match code {
                Some(code) => {
                    out.push(esc);
                    out.push_str(code);
                    out.push(esc);
                }
                None => out.push(c),
            }
        }
        out
    }
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// One repetition of a field: components, each made of subcomponents (raw text).
#[derive(Clone, PartialEq, Eq)]
pub struct Repetition {
    pub components: Vec<Vec<String>>,
}

/// One field: its repetitions.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    /// The field as written (escapes intact).
    pub raw: String,
    pub repetitions: Vec<Repetition>,
}

/// One segment. Fields are numbered as in the standard: `field(1)` is the first after the id;
/// for MSH/FHS/BHS, `field(1)` is the field separator and `field(2)` the encoding characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    /// `fields[0]` is HL7 field 1.
    pub fields: Vec<Field>,
}

/// A parsed message: its delimiters and segments in order.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub separators: Separators,
    pub segments: Vec<Segment>,
}

// Values may be PHI: debug output names the shape only.
impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({} repetitions)", self.repetitions.len())
    }
}
impl fmt::Debug for Repetition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repetition({} components)", self.components.len())
    }
}
impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Segment({}, {} fields)", self.id, self.fields.len())
    }
}
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.segments.iter().map(|s| &s.id))
            .finish()
    }
}

/// What a field holds, telling "not sent" from the explicit null `""` (delete the value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Empty,
    Null,
    Valued,
}

fn parse_field(raw: &str, seps: &Separators) -> Field {
    let repetitions = if raw.is_empty() {
        Vec::new()
    } else {
        raw.split(seps.repetition)
            .map(|rep| Repetition {
                components: rep
                    .split(seps.component)
                    .map(|comp| comp.split(seps.subcomponent).map(str::to_owned).collect())
                    .collect(),
            })
            .collect()
    };
    Field {
        raw: raw.to_owned(),
        repetitions,
    }
}

/// A field never split into parts (MSH-1, MSH-2).
fn literal_field(raw: &str) -> Field {
    Field {
        raw: raw.to_owned(),
        repetitions: vec![Repetition {
            components: vec![vec![raw.to_owned()]],
        }],
    }
}

/// Parses one segment's text with the given delimiters.
pub fn parse_segment(text: &str, seps: &Separators) -> Segment {
    let mut parts = text.split(seps.field);
    let id = parts.next().unwrap_or_default().to_owned();
    let mut fields = Vec::new();
    if matches!(id.as_str(), "MSH" | "FHS" | "BHS") {
        fields.push(literal_field(&seps.field.to_string()));
        fields.push(literal_field(parts.next().unwrap_or_default()));
    }
    fields.extend(parts.map(|raw| parse_field(raw, seps)));
    Segment { id, fields }
}

/// Splits text into segment strings: CR, LF and CRLF all end a segment; blank lines and MLLP
/// framing bytes are dropped.
pub fn split_segments(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\r', '\n'])
        .map(|s| s.trim_matches(|c| c == '\u{0b}' || c == '\u{1c}'))
        .filter(|s| !s.trim().is_empty())
}

/// Parses one message: the first segment must be MSH.
pub fn parse_message(text: &str) -> Result<Message, HeaderError> {
    let mut lines = split_segments(text);
    let first = lines.next().ok_or(HeaderError::NotAHeader)?;
    if !first.starts_with("MSH") {
        return Err(HeaderError::NotAHeader);
    }
    let separators = Separators::from_header(first)?;
    let segments = std::iter::once(first)
        .chain(lines)
        .map(|line| parse_segment(line, &separators))
        .collect();
    Ok(Message {
        separators,
        segments,
    })
}

impl Field {
    pub fn presence(&self) -> Presence {
        match self.raw.as_str() {
            "" => Presence::Empty,
            "\"\"" => Presence::Null,
            _ => Presence::Valued,
        }
    }
}

impl Repetition {
    /// Raw subcomponent `sub` (1-based) of component `comp` (1-based).
    pub fn raw(&self, comp: usize, sub: usize) -> Option<&str> {
        self.components
            .get(comp.checked_sub(1)?)?
            .get(sub.checked_sub(1)?)
            .map(String::as_str)
    }

    /// Whether every component is empty.
    pub fn is_empty(&self) -> bool {
        self.components.iter().flatten().all(String::is_empty)
    }
}

impl Segment {
    /// HL7 field `n` (1-based).
    pub fn field(&self, n: usize) -> Option<&Field> {
        self.fields.get(n.checked_sub(1)?)
    }

    /// The repetitions of field `n` (empty when absent).
    pub fn repetitions(&self, n: usize) -> &[Repetition] {
        self.field(n).map_or(&[], |f| &f.repetitions)
    }

    pub fn presence(&self, n: usize) -> Presence {
        self.field(n).map_or(Presence::Empty, Field::presence)
    }
}

impl Message {
    /// Segments with this id, in order.
    pub fn segments<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Segment> + 'a {
        self.segments.iter().filter(move |s| s.id == id)
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Decoded text of subcomponent `sub` of component `comp` of the first repetition of field
    /// `field` of `segment`; `None` when empty or null (`""`).
    pub fn text(&self, segment: &Segment, field: usize, comp: usize, sub: usize) -> Option<String> {
        let rep = segment.repetitions(field).first()?;
        self.rep_text(rep, comp, sub)
    }

    /// Decoded text of one subcomponent of a repetition; `None` when empty or null.
    pub fn rep_text(&self, rep: &Repetition, comp: usize, sub: usize) -> Option<String> {
        let raw = rep.raw(comp, sub)?;
        if raw.is_empty() || raw == "\"\"" {
            return None;
        }
        let value = self.separators.decode(raw);
        let trimmed = value.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(trimmed.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_standard_and_custom_encoding_characters() {
        let seps = Separators::from_header("MSH|^~\\&|A").unwrap();
        assert_eq!(seps, Separators::default());
        // Repetition and component swapped, as some senders do.
        let seps = Separators::from_header("MSH|~^\\&|A").unwrap();
        assert_eq!(seps.component, '~');
        assert_eq!(seps.repetition, '^');
        // Another field separator, and the v2.7 truncation character.
        let seps = Separators::from_header("MSH#$%!*@#A").unwrap();
        assert_eq!(
            seps,
            Separators {
                field: '#',
                component: '$',
                repetition: '%',
                escape: Some('!'),
                subcomponent: '*',
                truncation: Some('@'),
            }
        );
        assert_eq!(seps.encoding_characters(), "$%!*@");
        assert_eq!(
            Separators::from_header("MSH||A"),
            Err(HeaderError::BadEncodingCharacters)
        );
        assert_eq!(
            Separators::from_header("MSH|^^\\&|"),
            Err(HeaderError::BadEncodingCharacters)
        );
        assert_eq!(
            Separators::from_header("MSH|^~\\&#%|"),
            Err(HeaderError::BadEncodingCharacters)
        );
        assert_eq!(
            Separators::from_header("PID|1"),
            Err(HeaderError::NotAHeader)
        );
        assert_eq!(Separators::from_header("MS"), Err(HeaderError::NotAHeader));
        assert_eq!(
            Separators::from_header("MSHA"),
            Err(HeaderError::NotAHeader)
        );
    }

    #[test]
    fn decodes_escape_sequences() {
        let seps = Separators::default();
        assert_eq!(
            seps.decode(r"A\F\B\S\C\T\D\R\E\E\F"),
            "A|B^C&D~E\\F".to_owned()
        );
        assert_eq!(seps.decode(r"line1\.br\line2"), "line1\nline2");
        assert_eq!(seps.decode(r"\X0D0A\"), "\r\n");
        assert_eq!(seps.decode(r"caf\XC3A9\"), "café");
        // Not UTF-8: read as Latin-1.
        assert_eq!(seps.decode(r"caf\XE9\"), "café");
        assert_eq!(seps.decode(r"\H\bold\N\"), "bold");
        assert_eq!(seps.decode(r"\C2842\x"), "x");
        // Odd or bad hex, unknown and unterminated sequences stay as written.
        assert_eq!(seps.decode(r"\X0\"), r"\X0\");
        assert_eq!(seps.decode(r"\XZZ\"), r"\XZZ\");
        assert_eq!(seps.decode(r"\Q\"), r"\Q\");
        assert_eq!(seps.decode(r"a\b"), r"a\b");
        assert_eq!(seps.decode("plain"), "plain");
        // Multi-byte text around escapes.
        assert_eq!(seps.decode(r"Zoë\T\Åsa"), "Zoë&Åsa");
        // With a custom escape character.
        let custom = Separators::from_header("MSH|^~!&|").unwrap();
        assert_eq!(custom.decode(r"a!F!b\c"), "a|b\\c");
        // The truncation character is only an escape when declared.
        let v27 = Separators::from_header("MSH|^~\\&#|").unwrap();
        assert_eq!(v27.decode(r"a\P\b"), "a#b");
        assert_eq!(seps.decode(r"a\P\b"), r"a\P\b");
        // No escape character declared: nothing is decoded.
        let none = Separators::from_header("MSH|^~|").unwrap();
        assert_eq!(none.escape, None);
        assert_eq!(none.decode(r"a\F\b"), r"a\F\b");
    }

    #[test]
    fn encode_round_trips() {
        let seps = Separators::default();
        let value = "A|B^C&D~E\\F\r\nG";
        let encoded = seps.encode(value);
        assert_eq!(encoded, r"A\F\B\S\C\T\D\R\E\E\F\X0D\\X0A\G");
        assert_eq!(seps.decode(&encoded), value);
    }

    #[test]
    fn splits_fields_repetitions_components_subcomponents() {
        let text = "MSH|^~\\&|APP|FAC\r\nPID|1||123^^^HOSP&1.2.3&ISO^MR~999-99-9999^^^SSA^SS||\"\"|\nPV1|1|O";
        let msg = parse_message(text).unwrap();
        assert_eq!(msg.segments.len(), 3);
        let msh = &msg.segments[0];
        assert_eq!(msh.field(1).unwrap().raw, "|");
        assert_eq!(msh.field(2).unwrap().raw, "^~\\&");
        assert_eq!(msg.text(msh, 3, 1, 1).as_deref(), Some("APP"));
        let pid = msg.segment("PID").unwrap();
        let ids = pid.repetitions(3);
        assert_eq!(ids.len(), 2);
        assert_eq!(msg.rep_text(&ids[0], 4, 2).as_deref(), Some("1.2.3"));
        assert_eq!(msg.rep_text(&ids[0], 5, 1).as_deref(), Some("MR"));
        assert_eq!(msg.rep_text(&ids[1], 5, 1).as_deref(), Some("SS"));
        assert_eq!(pid.presence(2), Presence::Empty);
        assert_eq!(pid.presence(3), Presence::Valued);
        assert_eq!(pid.presence(5), Presence::Null);
        assert_eq!(msg.text(pid, 5, 1, 1), None);
        assert_eq!(pid.presence(6), Presence::Empty);
        assert_eq!(pid.presence(40), Presence::Empty);
        assert_eq!(msg.segments("PV1").count(), 1);
    }

    #[test]
    fn custom_delimiters_split_and_decode() {
        let text = "MSH|~^\\&|APP\rPID|1||A~B^C\\R\\D";
        let msg = parse_message(text).unwrap();
        let pid = msg.segment("PID").unwrap();
        // '^' repeats, '~' separates components here.
        let reps = pid.repetitions(3);
        assert_eq!(reps.len(), 2);
        assert_eq!(msg.rep_text(&reps[0], 1, 1).as_deref(), Some("A"));
        assert_eq!(msg.rep_text(&reps[0], 2, 1).as_deref(), Some("B"));
        assert_eq!(msg.rep_text(&reps[1], 1, 1).as_deref(), Some("C^D"));
    }

    #[test]
    fn refuses_text_without_msh() {
        assert_eq!(parse_message("PID|1").unwrap_err(), HeaderError::NotAHeader);
        assert_eq!(parse_message("\r\n").unwrap_err(), HeaderError::NotAHeader);
    }
}
