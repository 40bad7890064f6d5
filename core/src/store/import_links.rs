//! Links from a feeding system's records to ours: (source system, resource type, external id)
//! -> our record id, plus a keyed hash of the content last imported. Importing the same feed
//! twice finds every record linked and unchanged, and creates nothing.

use diesel::prelude::*;
use uuid::Uuid;

use super::schema::import_links;
use super::{DbConnection, parse_id};
use crate::access::OrgId;
use crate::error::CoreResult;
use crate::model::common::now;
use crate::phi::{IndexPurpose, OrgKeys};

/// A record's identity in its source, keyed so the table never holds the external id.
pub fn source_key(
    keys: &OrgKeys,
    source_system: &str,
    resource_type: &str,
    external_id: &str,
) -> String {
    // Length-prefixed, so no two (source, type, id) triples share an input.
    let input = format!(
        "{}:{source_system}{}:{resource_type}{}:{external_id}",
        source_system.len(),
        resource_type.len(),
        external_id.len()
    );
    keys.index(IndexPurpose::ExternalRecord, &input)
}

/// A keyed hash of a record's canonical content.
pub fn content_key(keys: &OrgKeys, canonical_json: &str) -> String {
    keys.index(IndexPurpose::ImportedContent, canonical_json)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub record_id: Uuid,
    pub content_key: String,
}

pub fn find(conn: &mut DbConnection, org: OrgId, source_key: &str) -> CoreResult<Option<Link>> {
    let row: Option<(String, String)> = import_links::table
        .find((org.as_str(), source_key))
        .select((import_links::record_id, import_links::content_key))
        .get_result(conn)
        .optional()?;
    row.map(|(id, content_key)| {
        Ok(Link {
            record_id: parse_id(&id)?,
            content_key,
        })
    })
    .transpose()
}

/// Records (or moves) the link and the content now imported.
pub fn record(
    conn: &mut DbConnection,
    org: OrgId,
    source_key: &str,
    resource_type: &str,
    link: &Link,
) -> CoreResult<()> {
    let updated = diesel::update(import_links::table.find((org.as_str(), source_key)))
        .set((
            import_links::record_id.eq(link.record_id.to_string()),
            import_links::content_key.eq(&link.content_key),
            import_links::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(import_links::table)
            .values((
                import_links::org_id.eq(org.as_str()),
                import_links::source_key.eq(source_key),
                import_links::resource_type.eq(resource_type),
                import_links::record_id.eq(link.record_id.to_string()),
                import_links::content_key.eq(&link.content_key),
                import_links::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
