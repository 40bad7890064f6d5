use std::iter::Sum;
use std::ops::{Add, Neg, Sub};
use std::str::FromStr;

use rust_decimal::Decimal;

use super::CodeError;

/// Largest amount NUMERIC(12,2) holds.
const MAX_MONEY: Decimal = Decimal::from_parts(3_567_587_327, 232, 0, false, 2); // 9,999,999,999.99
/// Largest number of service units accepted (SV104 allows 15 characters; this is ample).
const MAX_UNITS: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 3); // 99,999.999

/// US dollars and cents, exact. Always written with two decimal places ("125.00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// The shape of a decimal string we accept: optional '-', digits, optional '.' and digits.
fn parse_decimal(s: &str, max_scale: u32, rule: &'static str) -> Result<Decimal, CodeError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (!body.contains('.') || !frac.is_empty());
    if !well_formed {
        return Err(CodeError(rule));
    }
    if frac.len() > max_scale as usize {
        return Err(CodeError(rule));
    }
    Decimal::from_str(s).map_err(|_| CodeError(rule))
}

impl Money {
    const RULE: &'static str = "money must be a decimal string with at most two decimal places, such as \"125.00\"";

    /// A non-negative amount as sent in requests (charges, payments).
    pub fn parse(s: &str) -> Result<Money, CodeError> {
        let m = Money::signed_parse(s)?;
        if m.is_negative() {
            return Err(CodeError("amount must not be negative"));
        }
        Ok(m)
    }

    /// An amount that may be negative (adjustments, reversals).
    pub fn signed_parse(s: &str) -> Result<Money, CodeError> {
        Money::from_decimal(parse_decimal(s.trim(), 2, Money::RULE)?)
    }

    /// Exact conversion; refuses fractions of a cent and amounts beyond NUMERIC(12,2).
    pub fn from_decimal(d: Decimal) -> Result<Money, CodeError> {
        let normalized = d.normalize();
        if normalized.scale() > 2 {
            return Err(CodeError(Money::RULE));
        }
        if d.abs() > MAX_MONEY {
            return Err(CodeError("amount is too large"));
        }
        let mut v = normalized;
        v.rescale(2);
        Ok(Money(v))
    }

    pub fn zero() -> Money {
        Money(Decimal::new(0, 2))
    }
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = self.0;
        v.rescale(2);
        if v.is_zero() {
            v.set_sign_positive(true);
        }
        write!(f, "{v}")
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        let mut v = self.0 + o.0;
        v.rescale(2);
        Money(v)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        let mut v = self.0 - o.0;
        v.rescale(2);
        Money(v)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::zero(), Add::add)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("money as a decimal string such as \"125.00\" (JSON numbers lose cents)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_str(V)
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("US dollars as a decimal string with two places; never a JSON number"))
            .pattern(Some("^[0-9]{1,10}(\\.[0-9]{1,2})?$"))
            .examples([serde_json::json!("125.00")])
            .into()
    }
}
impl utoipa::ToSchema for Money {}

/// Service units (837P SV104): a positive decimal with at most three places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Units(Decimal);

impl Units {
    pub fn parse(s: &str) -> Result<Units, CodeError> {
        const RULE: &str = "units must be a positive decimal string with at most three decimal places, such as \"1\"";
        let d = parse_decimal(s.trim(), 3, RULE)?;
        if d <= Decimal::ZERO {
            return Err(CodeError("units must be greater than zero"));
        }
        if d > MAX_UNITS {
            return Err(CodeError("units are too large"));
        }
        Ok(Units(d.normalize()))
    }
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl std::fmt::Display for Units {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

impl serde::Serialize for Units {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Units {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Units;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("units as a decimal string such as \"1\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Units, E> {
                Units::parse(v).map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_str(V)
    }
}

impl utoipa::PartialSchema for Units {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("Service units as a positive decimal string"))
            .pattern(Some("^[0-9]{1,5}(\\.[0-9]{1,3})?$"))
            .examples([serde_json::json!("1")])
            .into()
    }
}
impl utoipa::ToSchema for Units {}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints_two_places() {
        assert_eq!(m("125").to_string(), "125.00");
        assert_eq!(m("0.5").to_string(), "0.50");
        assert_eq!(m("125.00").to_string(), "125.00");
        assert_eq!(Money::signed_parse("-24.00").unwrap().to_string(), "-24.00");
        assert_eq!(Money::signed_parse("-0.00").unwrap().to_string(), "0.00");
        for bad in ["", "1.001", "1e3", "+5", "NaN", "1.", ".5", "1,000.00", " - 1", "abc"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Money::parse("-1.00"), Err(CodeError("amount must not be negative")));
        assert!(Money::parse("10000000000.00").is_err());
        assert_eq!(m("9999999999.99").to_string(), "9999999999.99");
        assert_eq!(MAX_MONEY.to_string(), "9999999999.99");
        assert_eq!(MAX_UNITS.to_string(), "99999.999");
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(m("0.10") + m("0.20"), m("0.30"));
        assert_eq!((m("0.10") + m("0.20")).to_string(), "0.30");
        assert_eq!(vec![m("150.00"), m("50.10"), m("0.45")].into_iter().sum::<Money>().to_string(), "200.55");
        assert_eq!((m("200.00") - m("96.00") - m("80.00")).to_string(), "24.00");
        assert_eq!((-m("5")).to_string(), "-5.00");
        assert!(Money::zero().is_zero());
    }

    #[test]
    fn serde_strings_only() {
        assert_eq!(serde_json::to_string(&m("125")).unwrap(), "\"125.00\"");
        assert_eq!(serde_json::from_str::<Money>("\"96.00\"").unwrap(), m("96"));
        let e = serde_json::from_str::<Money>("125.5").unwrap_err().to_string();
        assert!(e.contains("decimal string"), "{e}");
        assert!(Money::from_decimal(Decimal::new(1001, 3)).is_err());
        assert_eq!(Money::from_decimal(Decimal::new(12500, 3)).unwrap().to_string(), "12.50");
    }

    #[test]
    fn units() {
        assert_eq!(Units::parse("1").unwrap().to_string(), "1");
        assert_eq!(Units::parse("1.500").unwrap().to_string(), "1.5");
        assert_eq!(serde_json::to_string(&Units::parse("2.0").unwrap()).unwrap(), "\"2\"");
        for bad in ["0", "-1", "1.0001", "", "x", "100000"] {
            assert!(Units::parse(bad).is_err(), "{bad}");
        }
    }
}
