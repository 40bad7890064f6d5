//! Just enough fixed-point arithmetic for money: formatting and `unitPrice x quantity`.
//! Decimal strings in, decimal strings out; never `f64`.

use crate::model::is_plain_decimal;

/// A parsed plain decimal: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fixed {
    mantissa: i128,
    scale: u32,
}

fn parse(text: &str) -> Option<Fixed> {
    if !is_plain_decimal(text) {
        return None;
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{int}{frac}");
    // 30 digits is far beyond any amount; refuse rather than overflow.
    if digits.trim_start_matches('-').len() > 30 {
        return None;
    }
    Some(Fixed {
        mantissa: digits.parse().ok()?,
        scale: u32::try_from(frac.len()).ok()?,
    })
}

fn format(value: Fixed) -> String {
    let negative = value.mantissa < 0;
    let digits = value.mantissa.unsigned_abs().to_string();
    let scale = value.scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Money as a decimal string with at least two decimals (`"125"` -> `"125.00"`); more digits are
/// kept as given (never rounded here).
pub fn money(text: &str) -> Option<String> {
    let mut value = parse(text)?;
    while value.scale < 2 {
        value.mantissa = value.mantissa.checked_mul(10)?;
        value.scale += 1;
    }
    Some(format(value))
}

/// `a x b`, exact, then as [`money`].
pub fn multiply_money(a: &str, b: &str) -> Option<String> {
    let (a, b) = (parse(a)?, parse(b)?);
    let product = Fixed {
        mantissa: a.mantissa.checked_mul(b.mantissa)?,
        scale: a.scale + b.scale,
    };
    // Drop trailing zeros beyond two decimals: 12.50 x 2.0 = 25.000 -> 25.00.
    let mut product = product;
    while product.scale > 2 && product.mantissa % 10 == 0 {
        product.mantissa /= 10;
        product.scale -= 1;
    }
    money(&format(product))
}

/// Whether a plain decimal is strictly positive.
pub fn is_positive(text: &str) -> bool {
    parse(text).is_some_and(|v| v.mantissa > 0)
}

/// Whether a plain decimal is negative.
pub fn is_negative(text: &str) -> bool {
    parse(text).is_some_and(|v| v.mantissa < 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(money("125").as_deref(), Some("125.00"));
        assert_eq!(money("125.5").as_deref(), Some("125.50"));
        assert_eq!(money("0.05").as_deref(), Some("0.05"));
        assert_eq!(money("-3").as_deref(), Some("-3.00"));
        assert_eq!(money("1.005").as_deref(), Some("1.005"));
        assert_eq!(money("1e3"), None);
        assert_eq!(money(""), None);
    }

    #[test]
    fn multiplication_is_exact() {
        assert_eq!(multiply_money("12.50", "2").as_deref(), Some("25.00"));
        assert_eq!(multiply_money("12.50", "2.0").as_deref(), Some("25.00"));
        assert_eq!(multiply_money("0.1", "3").as_deref(), Some("0.30"));
        assert_eq!(multiply_money("33.333", "3").as_deref(), Some("99.999"));
        assert_eq!(multiply_money("0.01", "0.5").as_deref(), Some("0.005"));
        assert!(is_positive("0.01") && !is_positive("0.00") && is_negative("-1"));
    }
}
