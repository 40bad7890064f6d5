//! Value types that parse on the way in: once a value has one of these types it is known to be
//! well-formed, so handlers and rules never re-check. Error messages state the rule broken and
//! never echo the input.

mod claim_codes;
mod icd10;
mod modifier;
mod money;
mod npi;
mod place_of_service;
mod procedure;
mod us;

pub use claim_codes::{
    AdministrativeSex, ClaimFilingIndicator, ClaimFrequency, CoveragePriority, ProviderRole, SubscriberRelationship,
};
pub use icd10::Icd10Code;
pub use modifier::Modifier;
pub use money::{Money, Units};
pub use npi::{Npi, Tin};
pub use place_of_service::PlaceOfService;
pub use procedure::{ProcedureCode, ProcedureCodeKind};
pub use us::{Taxonomy, UsState, ZipCode};

/// Why a value was refused. The message names the rule, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodeError(pub &'static str);

/// Implements string serde, `Display`, `FromStr` and an OpenAPI string schema for a type
/// with `parse(&str) -> Result<Self, CodeError>` and `as_str(&self) -> &str`.
macro_rules! string_value_type {
    ($ty:ident, $example:expr, $pattern:expr, $desc:expr) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = $crate::codes::CodeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a string: ", $desc))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $ty::parse(v).map_err(|e| E::custom(e.0))
                    }
                }
                d.deserialize_str(V)
            }
        }
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($desc))
                    .pattern(Some($pattern))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}
pub(crate) use string_value_type;
