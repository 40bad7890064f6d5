//! Money and other exact decimals in the database.
//!
//! Diesel's `Numeric` goes through `f64` on SQLite, which is unacceptable for money, so we
//! define our own SQL type: PostgreSQL `NUMERIC` (through rust_decimal's exact impls) and a
//! SQLite `TEXT` column holding the decimal string.

use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Numeric, Text};
use diesel::sqlite::Sqlite;
use rust_decimal::Decimal;

use super::connection::MultiBackend;

/// An exact decimal: NUMERIC on PostgreSQL, TEXT on SQLite.
#[derive(
    Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
)]
#[diesel(postgres_type(oid = 1700, array_oid = 1231))]
#[diesel(sqlite_type(name = "Text"))]
pub struct Dec;

/// Wrapper so that the orphan rule lets us implement diesel traits for `Decimal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = Dec)]
pub struct DbDecimal(pub Decimal);

impl ToSql<Dec, Pg> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Dec, Pg> for DbDecimal {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(DbDecimal)
    }
}

impl ToSql<Dec, Sqlite> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Dec, Sqlite> for DbDecimal {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(bytes)?;
        Decimal::from_str(&text)
            .map(DbDecimal)
            .map_err(|_| "stored decimal is not a decimal string".into())
    }
}

impl HasSqlType<Dec> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<Dec>(lookup)
    }
}

impl FromSql<Dec, MultiBackend> for DbDecimal {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<DbDecimal, Dec>()
    }
}

impl ToSql<Dec, MultiBackend> for DbDecimal {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Dec, self));
        Ok(IsNull::No)
    }
}
