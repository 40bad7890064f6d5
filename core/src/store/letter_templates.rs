//! The practice's appeal-letter template: one versioned row per organization.

use super::{DbConnection, from_json, org_documents, to_json};
use crate::access::OrgId;
use crate::error::{CoreError, CoreResult};
use crate::model::common::utc;
use crate::model::letter_template::{LetterTemplate, LetterTemplateInput};

/// The org's own template, if it set one.
pub fn stored(conn: &mut DbConnection, org: OrgId) -> CoreResult<Option<LetterTemplate>> {
    let kind = &org_documents::APPEAL_LETTER_TEMPLATE;
    org_documents::read(conn, kind, org)?
        .map(|doc| {
            let mut tpl: LetterTemplate = from_json(&doc.json, kind.resource)?;
            tpl.is_default = false;
            tpl.version = doc.version;
            tpl.updated_at = Some(utc(doc.updated_at));
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
    let created = org_documents::write(
        conn,
        &org_documents::APPEAL_LETTER_TEMPLATE,
        org,
        &json,
        if_match,
    )?;
    let tpl = stored(conn, org)?
        .ok_or_else(|| CoreError::Internal("the appeal letter template was not stored".into()))?;
    Ok((tpl, created))
}
