//! The practice's appeal-letter template: one versioned row per organization.

use diesel::prelude::*;

use super::schema::appeal_letter_templates as t;
use super::{DbConnection, from_json, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::{now, utc};
use crate::model::letter_template::{LetterTemplate, LetterTemplateInput};

/// The org's own template, if it set one.
pub fn stored(conn: &mut DbConnection, org: OrgId) -> CoreResult<Option<LetterTemplate>> {
    let row: Option<(String, i32, chrono::NaiveDateTime)> = t::table
        .filter(t::org_id.eq(org.as_str()))
        .select((t::template, t::version, t::updated_at))
        .get_result(conn)
        .optional()?;
    row.map(|(json, version, updated)| {
        let mut tpl: LetterTemplate = from_json(&json, "appeal letter template")?;
        tpl.is_default = false;
        tpl.version = version;
        tpl.updated_at = Some(utc(updated));
        Ok(tpl)
    })
    .transpose()
}

/// The template in force for the org: its own, or the default.
pub fn in_force(conn: &mut DbConnection, org: OrgId) -> CoreResult<LetterTemplate> {
    Ok(stored(conn, org)?.unwrap_or_else(LetterTemplate::default_template))
}

/// Sets the org's template; with `if_match`, the stored one must be at that version. Returns
/// the template and whether it was created.
pub fn set(
    conn: &mut DbConnection,
    org: OrgId,
    input: &LetterTemplateInput,
    if_match: Option<i32>,
) -> CoreResult<(LetterTemplate, bool)> {
    let mut e = crate::validation::Errors::new();
    crate::validation::Rules::check(input, &mut e);
    e.finish()?;
    let json = to_json(&LetterTemplate::from_input(input));
    let at = now();
    let created = match (stored(conn, org)?, if_match) {
        (None, Some(_)) => {
            return Err(CoreError::NotFound {
                resource: "appeal letter template",
            });
        }
        (None, None) => {
            diesel::insert_into(t::table)
                .values((
                    t::org_id.eq(org.as_str()),
                    t::template.eq(&json),
                    t::version.eq(1),
                    t::created_at.eq(at),
                    t::updated_at.eq(at),
                ))
                .execute(conn)?;
            true
        }
        (Some(old), expected) => {
            if expected.is_some_and(|v| v != old.version) {
                return Err(CoreError::VersionMismatch {
                    current: old.version,
                });
            }
            let n = diesel::update(
                t::table
                    .filter(t::org_id.eq(org.as_str()))
                    .filter(t::version.eq(old.version)),
            )
            .set((
                t::template.eq(&json),
                t::version.eq(old.version + 1),
                t::updated_at.eq(at),
            ))
            .execute(conn)?;
            super::check_versioned_update(n, Some(old.version), "appeal letter template")?;
            false
        }
    };
    let tpl = stored(conn, org)?
        .ok_or_else(|| CoreError::Internal("the appeal letter template was not stored".into()))?;
    Ok((tpl, created))
}
