//! Exact decimal quantities: `Money` (US dollars and cents) and `Units` (service units).
//!
//! Both travel in JSON as strings only: a JSON number goes through a binary float in many
//! clients and can lose cents, so it is refused.

use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use rust_decimal::Decimal;

use super::CodeError;
use super::de::{StrVisitor, string_schema};

/// Largest absolute amount NUMERIC(12,2) holds: 9,999,999,999.99.
const MAX_MONEY: Decimal = Decimal::from_parts(3_567_587_327, 232, 0, false, 2);
/// Largest number of service units accepted: 99,999.999.
const MAX_UNITS: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 3);

/// How a decimal string failed to parse.
#[derive(Debug, PartialEq, Eq)]
enum Bad {
    /// Not digits with an optional '-' (where allowed), '.' and fraction digits.
    Shape,
    /// More fraction digits than allowed.
    Scale,
    /// More integer digits than allowed.
    TooLarge,
    /// A '-' where negatives are not allowed.
    Negative,
}

/// Parses `-?[0-9]+(\.[0-9]+)?` (the '-' only when `allow_negative`), with at most
/// `max_int_digits` significant integer digits and `max_scale` fraction digits. No '+', no
/// exponent, no NaN or infinity, no grouping separators, no bare '.5' or '5.'.
fn parse_decimal(
    s: &str,
    max_int_digits: usize,
    max_scale: usize,
    allow_negative: bool,
) -> Result<Decimal, Bad> {
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !frac.is_none_or(all_digits) {
        return Err(Bad::Shape);
    }
    if negative && !allow_negative {
        return Err(Bad::Negative);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > max_scale {
        return Err(Bad::Scale);
    }
    // Exactly as published (`[0-9]{1,10}`): leading zeros count as digits, so a padded value
    // is refused by its shape rather than read as something the document does not allow.
    if int.len() > max_int_digits && int.trim_start_matches('0').len() <= max_int_digits {
        return Err(Bad::Shape);
    }
    let int = int.trim_start_matches('0');
    if int.len() > max_int_digits {
        return Err(Bad::TooLarge);
    }
    // At most 10 + 3 digits here, so the mantissa fits an i64 with room to spare.
    let mantissa = format!("{int}{frac}").parse::<i64>().unwrap_or(0);
    let mut d = Decimal::new(
        if negative { -mantissa } else { mantissa },
        frac.len() as u32,
    );
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Ok(d)
}

/// US dollars and cents, exact. Always carries two decimal places and is written with them
/// ("125.00"). Values built by parsing or [`Money::from_decimal`] are within NUMERIC(12,2)
/// (absolute value at most 9,999,999,999.99). The operators `+`, `-` and `Sum` are exact and
/// never panic at realistic sizes, but may leave that range; use [`Money::checked_add`],
/// [`Money::checked_sub`] or [`Money::checked_sum`] where a total is about to be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    const SHAPE: &'static str = "money must be a decimal string of digits with an optional point and up to two decimal places, such as \"125.00\"";
    const SCALE: &'static str = "money must have at most two decimal places";
    const TOO_LARGE: &'static str = "amount must not exceed 9999999999.99 in absolute value";
    const NEGATIVE: &'static str = "amount must not be negative";

    /// The largest amount that can be stored.
    pub const MAX: Money = Money(MAX_MONEY);

    /// A non-negative amount as sent in requests (charges, payments). A leading '-' is refused,
    /// even on zero.
    pub fn parse(s: &str) -> Result<Money, CodeError> {
        Money::parse_with(s, false)
    }

    /// An amount that may be negative (adjustments, reversals, ledger entries).
    pub fn signed_parse(s: &str) -> Result<Money, CodeError> {
        Money::parse_with(s, true)
    }

    fn parse_with(s: &str, allow_negative: bool) -> Result<Money, CodeError> {
        // No trimming: " 1.00" is not the documented shape, and a value that is not what the
        // client meant to send is refused rather than repaired.
        let d = parse_decimal(s, 10, 2, allow_negative).map_err(|e| {
            CodeError(match e {
                Bad::Shape => Money::SHAPE,
                Bad::Scale => Money::SCALE,
                Bad::TooLarge => Money::TOO_LARGE,
                Bad::Negative => Money::NEGATIVE,
            })
        })?;
        Money::from_decimal(d)
    }

    /// Exact conversion of any decimal (negative allowed): refuses fractions of a cent
    /// (trailing zeros do not count: 12.500 is 12.50) and amounts beyond NUMERIC(12,2).
    /// Never rounds.
    pub fn from_decimal(d: Decimal) -> Result<Money, CodeError> {
        if d.normalize().scale() > 2 {
            return Err(CodeError(Money::SCALE));
        }
        if d.abs() > MAX_MONEY {
            return Err(CodeError(Money::TOO_LARGE));
        }
        Ok(Money::exact(d))
    }

    /// Wraps a decimal known to have at most two significant decimal places.
    fn exact(mut d: Decimal) -> Money {
        d.rescale(2);
        if d.is_zero() {
            d.set_sign_positive(true);
        }
        Money(d)
    }

    /// 0.00
    pub fn zero() -> Money {
        Money(Decimal::new(0, 2))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Strictly below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// The amount as a decimal with scale 2.
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// `self + other`, or `None` if the result is beyond NUMERIC(12,2).
    pub fn checked_add(self, other: Money) -> Option<Money> {
        Money::from_decimal(self.0.checked_add(other.0)?).ok()
    }

    /// `self - other`, or `None` if the result is beyond NUMERIC(12,2).
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Money::from_decimal(self.0.checked_sub(other.0)?).ok()
    }

    /// The total, or `None` if it (or any partial sum) is beyond NUMERIC(12,2).
    pub fn checked_sum<I: IntoIterator<Item = Money>>(items: I) -> Option<Money> {
        items
            .into_iter()
            .try_fold(Money::zero(), Money::checked_add)
    }
}

impl Default for Money {
    fn default() -> Money {
        Money::zero()
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The invariant keeps scale 2; rescale anyway so the output never depends on it.
        let mut v = self.0;
        v.rescale(2);
        write!(f, "{v}")
    }
}

impl std::str::FromStr for Money {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Money, CodeError> {
        Money::parse(s)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = CodeError;
    fn try_from(d: Decimal) -> Result<Money, CodeError> {
        Money::from_decimal(d)
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Decimal {
        m.0
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money::exact(self.0 + o.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money::exact(self.0 - o.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, o: Money) {
        *self = *self + o;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, o: Money) {
        *self = *self - o;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money::exact(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::zero(), Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts only a JSON string, through [`Money::parse`] (non-negative).
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor::new(
            Money::parse,
            "money must be a decimal string such as \"125.00\"; JSON numbers are refused as they lose cents",
        ))
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            "US dollars as a decimal string with at most two decimal places (returned with exactly two); never a JSON number",
            "^[0-9]{1,10}(\\.[0-9]{1,2})?$",
            "125.00",
        )
    }
}
impl utoipa::ToSchema for Money {}

/// Service units (837P SV104): a positive decimal with at most three decimal places, at most
/// 99,999.999. Written in normalized form without trailing zeros ("1", "1.5", "0.25").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Units(Decimal);

impl Units {
    const SHAPE: &'static str = "units must be a decimal string of digits with an optional point and up to three decimal places, such as \"1\"";
    const SCALE: &'static str = "units must have at most three decimal places";
    const TOO_LARGE: &'static str = "units must not exceed 99999.999";
    const NOT_POSITIVE: &'static str = "units must be greater than zero";

    pub fn parse(s: &str) -> Result<Units, CodeError> {
        let d = parse_decimal(s, 5, 3, false).map_err(|e| {
            CodeError(match e {
                Bad::Shape => Units::SHAPE,
                Bad::Scale => Units::SCALE,
                Bad::TooLarge => Units::TOO_LARGE,
                Bad::Negative => Units::NOT_POSITIVE,
            })
        })?;
        Units::from_decimal(d)
    }

    /// Exact conversion: refuses zero, negatives, more than three significant decimal places
    /// and values above 99,999.999. Never rounds.
    pub fn from_decimal(d: Decimal) -> Result<Units, CodeError> {
        let d = d.normalize();
        if d.scale() > 3 {
            return Err(CodeError(Units::SCALE));
        }
        if d <= Decimal::ZERO {
            return Err(CodeError(Units::NOT_POSITIVE));
        }
        if d > MAX_UNITS {
            return Err(CodeError(Units::TOO_LARGE));
        }
        Ok(Units(d))
    }

    /// One unit.
    pub fn one() -> Units {
        Units(Decimal::ONE)
    }

    /// The units as a normalized decimal (no trailing zeros).
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl std::fmt::Display for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

impl std::str::FromStr for Units {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Units, CodeError> {
        Units::parse(s)
    }
}

impl TryFrom<Decimal> for Units {
    type Error = CodeError;
    fn try_from(d: Decimal) -> Result<Units, CodeError> {
        Units::from_decimal(d)
    }
}

impl From<Units> for Decimal {
    fn from(u: Units) -> Decimal {
        u.0
    }
}

impl serde::Serialize for Units {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Accepts only a JSON string, through [`Units::parse`].
impl<'de> serde::Deserialize<'de> for Units {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor::new(
            Units::parse,
            "units must be a decimal string such as \"1\"; JSON numbers are refused",
        ))
    }
}

impl utoipa::PartialSchema for Units {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        string_schema(
            "Service units as a positive decimal string with at most three decimal places; never a JSON number",
            "^[0-9]{1,5}(\\.[0-9]{1,3})?$",
            "1",
        )
    }
}
impl utoipa::ToSchema for Units {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::test_support::*;
    use std::collections::HashSet;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn sm(s: &str) -> Money {
        Money::signed_parse(s).unwrap()
    }

    #[test]
    fn constants() {
        assert_eq!(MAX_MONEY.to_string(), "9999999999.99");
        assert_eq!(MAX_UNITS.to_string(), "99999.999");
        assert_eq!(Money::MAX.to_string(), "9999999999.99");
    }

    #[test]
    fn money_always_two_places() {
        for (input, out) in [
            ("125.00", "125.00"),
            ("125", "125.00"),
            ("125.5", "125.50"),
            ("0.5", "0.50"),
            ("0", "0.00"),
            ("0.00", "0.00"),
            ("007.10", "7.10"),
            ("9999999999.99", "9999999999.99"),
            ("0000000001.00", "1.00"),
        ] {
            assert_eq!(m(input).to_string(), out, "{input}");
            assert_eq!(m(input).as_decimal().scale(), 2, "{input}");
        }
        assert_eq!(m("125").as_decimal(), Decimal::new(12500, 2));
        assert_eq!(Money::zero().to_string(), "0.00");
        assert_eq!(Money::default(), Money::zero());
        assert_eq!(m("1"), m("1.00"));
    }

    #[test]
    fn money_and_units_are_read_exactly_as_published_never_trimmed_or_unpadded() {
        // The document's pattern is `^[0-9]{1,10}(\.[0-9]{1,2})?$`: what it refuses, we refuse.
        for bad in [" 1.00", "1.00 ", " 12.3 ", "00000000001.00", "\t1.00"] {
            assert!(Money::parse(bad).is_err(), "{bad:?}");
            assert!(Money::signed_parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Money::parse("00000000001.00").unwrap_err().to_string(),
            Money::SHAPE
        );
        for bad in [" 10 ", "000001", "1 "] {
            assert!(Units::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_rejects_bad_shapes() {
        for bad in [
            "", " ", "1.", ".5", "+5", "1e3", "1E3", "1.0e2", "NaN", "nan", "inf", "Infinity",
            "1,000.00", "1 000", "- 1", "--1", "-", "abc", "1.2.3", "0x10", "1_000", "１", "$5.00",
            "5.00 USD", "1.-5",
        ] {
            assert_eq!(Money::parse(bad), Err(CodeError(Money::SHAPE)), "{bad:?}");
            assert_eq!(
                Money::signed_parse(bad),
                Err(CodeError(Money::SHAPE)),
                "{bad:?}"
            );
        }
        for bad in ["1.001", "0.005", "1.000"] {
            assert_eq!(Money::parse(bad), Err(CodeError(Money::SCALE)), "{bad}");
        }
        for bad in [
            "10000000000",
            "10000000000.00",
            "99999999999999999999999999999999999",
        ] {
            assert_eq!(Money::parse(bad), Err(CodeError(Money::TOO_LARGE)), "{bad}");
        }
    }

    #[test]
    fn money_negative_only_through_signed_parse() {
        assert_eq!(
            Money::parse("-1.00"),
            Err(CodeError("amount must not be negative"))
        );
        assert_eq!(
            Money::parse("-0.00"),
            Err(CodeError("amount must not be negative"))
        );
        assert_eq!(sm("-24").to_string(), "-24.00");
        assert!(sm("-24").is_negative());
        assert!(!m("24").is_negative());
        let z = sm("-0.00");
        assert_eq!(z.to_string(), "0.00");
        assert!(z.is_zero() && !z.is_negative());
        assert_eq!(sm("-9999999999.99").to_string(), "-9999999999.99");
        assert_eq!(
            Money::signed_parse("-10000000000"),
            Err(CodeError(Money::TOO_LARGE))
        );
        assert_eq!(Money::signed_parse("-1.005"), Err(CodeError(Money::SCALE)));
    }

    #[test]
    fn money_from_decimal_never_rounds() {
        assert_eq!(
            Money::from_decimal(Decimal::new(1001, 3)),
            Err(CodeError(Money::SCALE))
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(12500, 3))
                .unwrap()
                .to_string(),
            "12.50"
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(125, 0))
                .unwrap()
                .to_string(),
            "125.00"
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(-5, 1))
                .unwrap()
                .to_string(),
            "-0.50"
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(1_000_000_000_000, 2)),
            Err(CodeError(Money::TOO_LARGE))
        );
        assert_eq!(Money::try_from(Decimal::new(3, 0)).unwrap(), m("3"));
        assert_eq!(Decimal::from(m("3.10")), Decimal::new(310, 2));
    }

    #[test]
    fn money_arithmetic_is_exact() {
        assert_eq!(m("0.10") + m("0.20"), m("0.30"));
        assert_eq!((m("0.10") + m("0.20")).to_string(), "0.30");
        assert_eq!((m("0.30") - m("0.10") - m("0.20")).to_string(), "0.00");
        assert!((m("0.30") - m("0.10") - m("0.20")).is_zero());
        // A float sum of ten dimes is 0.9999999999999999; here it is exactly 1.00.
        assert_eq!(std::iter::repeat_n(m("0.10"), 10).sum::<Money>(), m("1"));
        assert_eq!(
            [m("150.00"), m("50.10"), m("0.45")]
                .iter()
                .sum::<Money>()
                .to_string(),
            "200.55"
        );
        assert_eq!((m("200.00") - m("96.00") - m("80.00")).to_string(), "24.00");
        assert_eq!((m("80") - m("96")).to_string(), "-16.00");
        assert_eq!((-m("5")).to_string(), "-5.00");
        assert_eq!((-Money::zero()).to_string(), "0.00");
        assert_eq!(-(-m("5")), m("5"));
        let mut acc = Money::zero();
        acc += m("10.01");
        acc -= m("0.02");
        assert_eq!(acc.to_string(), "9.99");
        assert!(m("0.01") > Money::zero() && sm("-0.01") < Money::zero());
        let set: HashSet<Money> = [m("1"), m("1.00"), m("1.0")].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn money_checked_arithmetic() {
        assert_eq!(Money::MAX.checked_add(m("0.01")), None);
        assert_eq!((-Money::MAX).checked_sub(m("0.01")), None);
        assert_eq!(
            Money::MAX.checked_sub(m("0.99")).unwrap().to_string(),
            "9999999999.00"
        );
        assert_eq!(m("1.10").checked_add(m("2.20")), Some(m("3.30")));
        assert_eq!(Money::checked_sum([m("1"), m("2.50")]), Some(m("3.50")));
        assert_eq!(Money::checked_sum([Money::MAX, m("1")]), None);
        assert_eq!(Money::checked_sum([]), Some(Money::zero()));
        // The operators are exact past the storage bound; the checked forms say so.
        assert_eq!((Money::MAX + Money::MAX).to_string(), "19999999999.98");
    }

    #[test]
    fn money_serde_strings_only() {
        round_trip(&m("125"), "\"125.00\"");
        round_trip(&m("0.5"), "\"0.50\"");
        assert_eq!(serde_json::to_string(&sm("-3.5")).unwrap(), "\"-3.50\"");
        assert_eq!(serde_json::from_str::<Money>("\"96\"").unwrap(), m("96.00"));
        for number in ["125.5", "125", "1e2", "-1"] {
            rejects_non_string::<Money>(number, "money must be a decimal string", "125.5");
        }
        rejects_non_string::<Money>("null", "decimal string", "9999");
        rejects_non_string::<Money>("true", "decimal string", "true");
        rejects_non_string::<Money>("[\"1.00\"]", "decimal string", "1.00");
        rejects_without_echo::<Money>("\"12.345\"", "two decimal places", "12.345");
        rejects_without_echo::<Money>("\"-12.34\"", "negative", "12.34");
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Line {
            charge: Money,
        }
        let line: Line = serde_json::from_str(r#"{"charge":"150"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"charge":"150.00"}"#
        );
        assert!(serde_json::from_str::<Line>(r#"{"charge":150.0}"#).is_err());
        let v = string_schema_of::<Money>();
        assert_eq!(v["examples"][0], "125.00");
    }

    #[test]
    fn units_parse_and_normalize() {
        for (input, out) in [
            ("1", "1"),
            ("1.500", "1.5"),
            ("2.0", "2"),
            ("0.25", "0.25"),
            ("0.001", "0.001"),
            ("010", "10"),
            ("99999.999", "99999.999"),
        ] {
            assert_eq!(Units::parse(input).unwrap().to_string(), out, "{input}");
        }
        assert_eq!(Units::parse("2.0").unwrap(), Units::parse("2").unwrap());
        assert_eq!(Units::one().to_string(), "1");
        assert_eq!(
            Units::parse("1.50").unwrap().as_decimal(),
            Decimal::new(15, 1)
        );
    }

    #[test]
    fn units_rejected() {
        for (bad, msg) in [
            ("0", Units::NOT_POSITIVE),
            ("0.000", Units::NOT_POSITIVE),
            ("-1", Units::NOT_POSITIVE),
            ("1.0001", Units::SCALE),
            ("100000", Units::TOO_LARGE),
            ("", Units::SHAPE),
            ("x", Units::SHAPE),
            ("1e2", Units::SHAPE),
            ("+1", Units::SHAPE),
            (".5", Units::SHAPE),
            ("1.", Units::SHAPE),
        ] {
            assert_eq!(Units::parse(bad), Err(CodeError(msg)), "{bad}");
        }
        assert!(Units::from_decimal(Decimal::new(1, 4)).is_err());
        assert_eq!(
            Units::from_decimal(Decimal::new(15000, 4))
                .unwrap()
                .to_string(),
            "1.5"
        );
        assert_eq!(
            Units::from_decimal(Decimal::new(-1, 0)),
            Err(CodeError(Units::NOT_POSITIVE))
        );
    }

    #[test]
    fn units_serde() {
        round_trip(&Units::parse("1").unwrap(), "\"1\"");
        round_trip(&Units::parse("1.50").unwrap(), "\"1.5\"");
        assert_eq!(
            serde_json::from_str::<Units>("\"2.000\"")
                .unwrap()
                .to_string(),
            "2"
        );
        rejects_non_string::<Units>("1.5", "decimal string", "1.5");
        rejects_without_echo::<Units>("\"0\"", "greater than zero", "\"0\"");
        string_schema_of::<Units>();
    }
}
