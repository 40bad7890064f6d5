//! Value types that parse on the way in: once a value has one of these types it is known to be
//! well-formed, so handlers and rules never re-check.
//!
//! Every string type here has a private inner value, `parse(&str) -> Result<Self, CodeError>`
//! (surrounding whitespace trimmed, case normalized where the standard allows), `as_str()`,
//! `Display`, `FromStr`, serde as a JSON string (deserializing goes through `parse`) and an
//! OpenAPI string schema with a pattern and an example.
//!
//! Error messages state the rule broken and never echo the input: [`CodeError`] only holds a
//! `&'static str`, so it cannot carry a caller's value. A JSON value of the wrong type (a number
//! for `Money`, say) is refused by serde_json with "invalid type: ..., expected a string (RULE)";
//! see the `de` module for which part of that message is safe to show.

mod carc;
mod claim_codes;
pub mod date;
mod icd10;
pub mod icd10cm;
mod modifier;
mod money;
mod npi;
mod place_of_service;
mod procedure;
mod rarc;
mod tin;
mod us;

pub use carc::{ClaimAdjustmentGroup, carc_codes, carc_description, is_known_carc};
pub use claim_codes::{
    AdministrativeSex, ClaimFilingIndicator, ClaimFrequency, CoveragePriority, ProviderRole,
    SubscriberRelationship,
};
pub use icd10::Icd10Code;
pub use icd10cm::Icd10Entry;
pub use modifier::Modifier;
pub use money::{Money, Units};
pub use npi::Npi;
pub use place_of_service::PlaceOfService;
pub use procedure::{ProcedureCode, ProcedureCodeKind, hcpcs_category};
pub use rarc::{is_known_rarc, is_rarc_format, rarc_codes, rarc_description};
pub use tin::Tin;
pub use us::{Taxonomy, UsState, ZipCode};

/// Why a value was refused. The message names the rule, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{0}")]
pub struct CodeError(pub &'static str);

impl CodeError {
    /// The rule that was broken, fit to show to an API client.
    pub fn message(&self) -> &'static str {
        self.0
    }
}

/// Serde helpers shared by the string and decimal types.
///
/// They deserialize with `deserialize_str`, so any format that has strings works (JSON, query
/// strings, path segments that look numeric). A JSON string goes through the type's parser, whose
/// errors never quote the input. A value of another JSON type is refused by serde_json itself
/// ("invalid type: integer `5`, expected a string (...)"); that structural message does quote a
/// number, so the API layer keeps only its "expected ..." part, which is ours.
pub(crate) mod de {
    use super::CodeError;
    use std::fmt;
    use std::marker::PhantomData;

    pub(crate) struct StrVisitor<T> {
        parse: fn(&str) -> Result<T, CodeError>,
        /// What was expected, e.g. "NPI as a string of ten digits".
        expected: &'static str,
        _t: PhantomData<T>,
    }

    impl<T> StrVisitor<T> {
        pub(crate) fn new(parse: fn(&str) -> Result<T, CodeError>, expected: &'static str) -> Self {
            StrVisitor {
                parse,
                expected,
                _t: PhantomData,
            }
        }
    }

    impl<T> serde::de::Visitor<'_> for StrVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a string ({})", self.expected)
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            (self.parse)(v).map_err(|e| E::custom(e.0))
        }
    }

    /// An OpenAPI string schema with a description, a pattern and one example.
    pub(crate) fn string_schema(
        description: &'static str,
        pattern: &'static str,
        example: &'static str,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(description))
            .pattern(Some(pattern))
            .examples([serde_json::Value::String(example.to_string())])
            .into()
    }
}

/// Implements `Display`, `FromStr`, `TryFrom<&str>`, `TryFrom<String>`, `From<T> for String`,
/// `AsRef<str>`, string serde and an OpenAPI string schema for a type with
/// `parse(&str) -> Result<Self, CodeError>` and `as_str(&self) -> &str`.
macro_rules! string_value_type {
    ($ty:ident, example = $example:expr, pattern = $pattern:expr, description = $desc:expr, expected = $expected:expr $(,)?) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = $crate::codes::CodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }
        impl TryFrom<&str> for $ty {
            type Error = $crate::codes::CodeError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $ty::parse(s)
            }
        }
        impl TryFrom<String> for $ty {
            type Error = $crate::codes::CodeError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $ty::parse(&s)
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.as_str().to_string()
            }
        }
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::codes::de::StrVisitor::new($ty::parse, $expected))
            }
        }
        impl ::utoipa::PartialSchema for $ty {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::codes::de::string_schema($desc, $pattern, $example)
            }
        }
        impl ::utoipa::ToSchema for $ty {}
    };
}
pub(crate) use string_value_type;

/// Assertions shared by the unit tests of every string type.
#[cfg(test)]
pub(crate) mod test_support {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    /// JSON round trip: serializes to the expected string and parses back to an equal value.
    pub(crate) fn round_trip<T>(v: &T, json: &str)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        assert_eq!(serde_json::to_string(v).unwrap(), json);
        assert_eq!(&serde_json::from_str::<T>(json).unwrap(), v);
    }

    /// Deserializing `json` fails, the message contains `needle`, and it does not contain `secret`.
    pub(crate) fn rejects_without_echo<T: DeserializeOwned + Debug>(
        json: &str,
        needle: &str,
        secret: &str,
    ) {
        let e = serde_json::from_str::<T>(json).unwrap_err().to_string();
        assert!(
            e.contains(needle),
            "message {e:?} should contain {needle:?}"
        );
        assert!(!e.contains(secret), "message {e:?} echoes the input");
    }

    /// A value of the wrong JSON type is refused; the part of the message after "expected" (the
    /// part the API shows) names the rule, contains `needle`, and does not contain `secret`.
    pub(crate) fn rejects_non_string<T: DeserializeOwned + Debug>(
        json: &str,
        needle: &str,
        secret: &str,
    ) {
        let e = serde_json::from_str::<T>(json).unwrap_err().to_string();
        assert!(e.starts_with("invalid type"), "{e}");
        let (_, expected) = e.split_once(", expected ").unwrap();
        let expected = expected.split(" at line ").next().unwrap();
        assert!(expected.starts_with("a string ("), "{e}");
        assert!(
            expected.contains(needle),
            "message {e:?} should contain {needle:?}"
        );
        assert!(!expected.contains(secret), "message {e:?} echoes the input");
    }

    /// The OpenAPI schema is a string with a pattern and an example.
    pub(crate) fn string_schema_of<T: utoipa::ToSchema>() -> serde_json::Value {
        let v = serde_json::to_value(T::schema()).unwrap();
        assert_eq!(v["type"], "string", "{v}");
        assert!(v["pattern"].is_string(), "{v}");
        assert!(v["examples"][0].is_string(), "{v}");
        assert!(v["description"].is_string(), "{v}");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_is_the_rule() {
        let e = Npi::parse("1234567890").unwrap_err();
        assert_eq!(e.message(), "NPI check digit is wrong");
        assert_eq!(e.to_string(), "NPI check digit is wrong");
    }

    #[test]
    fn schema_examples_parse_and_match() {
        // Each example given in the OpenAPI schema must be accepted by the parser.
        fn ex<T: utoipa::ToSchema>() -> String {
            let v = test_support::string_schema_of::<T>();
            v["examples"][0].as_str().unwrap().to_string()
        }
        assert!(Npi::parse(&ex::<Npi>()).is_ok());
        assert!(Tin::parse(&ex::<Tin>()).is_ok());
        assert!(Icd10Code::parse(&ex::<Icd10Code>()).is_ok());
        assert!(ProcedureCode::parse(&ex::<ProcedureCode>()).is_ok());
        assert!(Modifier::parse(&ex::<Modifier>()).is_ok());
        assert!(PlaceOfService::parse(&ex::<PlaceOfService>()).is_ok());
        assert!(Money::parse(&ex::<Money>()).is_ok());
        assert!(Units::parse(&ex::<Units>()).is_ok());
        assert!(UsState::parse(&ex::<UsState>()).is_ok());
        assert!(ZipCode::parse(&ex::<ZipCode>()).is_ok());
        assert!(Taxonomy::parse(&ex::<Taxonomy>()).is_ok());
    }
}
