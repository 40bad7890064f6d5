//! The shape of an implementation guide's transaction set, as the validator walks it.

/// One data element (or composite, when `parts` is not empty) of a segment.
#[derive(Debug)]
pub struct El {
    /// Position in the segment (`CLP04` is 4) or in the composite.
    pub seq: u8,
    pub name: &'static str,
    /// `R` required, `S` situational, `N` not used.
    pub usage: u8,
    /// X12 data type: `ID`, `AN`, `R`, `N0`, `N2`, `DT`, `TM` (empty for a composite).
    pub ty: &'static str,
    pub min: u16,
    pub max: u16,
    /// How many repetitions the element may have (0: any number).
    pub repeat: u32,
    /// The codes the guide allows here (empty: any value, or an external code list).
    pub codes: &'static [&'static str],
    /// The components of a composite element.
    pub parts: &'static [El],
}

/// One segment as the guide uses it at one place.
#[derive(Debug)]
pub struct Seg {
    pub id: &'static str,
    pub name: &'static str,
    pub usage: u8,
    /// Maximum use (0: any number).
    pub max: u32,
    /// The element (and component, 0 for none) whose code tells this use of the segment from
    /// another one of the same id at the same place (`PER01` = `BL` or `CX`, `HL03`).
    pub key: Option<(u8, u8)>,
    /// X12 syntax notes: `P0304` paired, `R0203` at least one, `C0403` conditional,
    /// `L010203` list conditional, `E0102` exclusion.
    pub syntax: &'static [&'static str],
    pub els: &'static [El],
}

/// A loop: its first item is its trigger (a segment, or a loop that starts with one).
#[derive(Debug)]
pub struct Loop {
    pub id: &'static str,
    pub name: &'static str,
    pub usage: u8,
    /// Maximum repeat (0: any number).
    pub max: u32,
    pub items: &'static [Item],
}

#[derive(Debug)]
pub enum Item {
    Seg(Seg),
    Loop(Loop),
}

impl Item {
    pub fn usage(&self) -> u8 {
        match self {
            Item::Seg(s) => s.usage,
            Item::Loop(l) => l.usage,
        }
    }

    pub fn max(&self) -> u32 {
        match self {
            Item::Seg(s) => s.max,
            Item::Loop(l) => l.max,
        }
    }

    /// The segment that starts this item (none for a loop the guide leaves empty).
    pub fn trigger(&self) -> Option<&Seg> {
        match self {
            Item::Seg(s) => Some(s),
            Item::Loop(l) => l.items.first()?.trigger(),
        }
    }

    /// How a reader names the item: `PER (Payer Technical Contact Information)` or
    /// `loop 2100 (Claim Payment Information)`.
    pub fn describe(&self) -> String {
        match self {
            Item::Seg(s) => match s.key {
                Some((e, 0)) if s.els[usize::from(e) - 1].codes.len() == 1 => format!(
                    "{}*{} ({})",
                    s.id,
                    s.els[usize::from(e) - 1].codes[0],
                    s.name
                ),
                _ => format!("{} ({})", s.id, s.name),
            },
            Item::Loop(l) if l.id.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                format!("loop {} ({})", l.id, l.name)
            }
            Item::Loop(l) => match l.items.first() {
                Some(first) => format!("{} ({})", first.describe(), l.name),
                None => l.name.to_string(),
            },
        }
    }
}

impl Loop {
    /// How a message names the loop.
    pub fn describe(&self) -> String {
        if self.id.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            format!("loop {} ({})", self.id, self.name)
        } else {
            format!("the {}", self.name.to_lowercase())
        }
    }
}
