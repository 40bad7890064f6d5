//! What an appeal letter for a denial says, gathered from the claim, the denial, the remittance
//! that denied it, the payer, the billing provider and the patient. It holds PHI (the
//! patient's name, date of birth and member id): read like a patient record, never logged.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::access::OrgId;
use crate::codes::{carc_description, rarc_description};
use crate::error::CoreResult;
use crate::model::letter_template::{LetterTemplate, Piece, parse};
use crate::store::{DbConnection, KeyRing, claims, coverages, patients, payers, posting};
use crate::store::{denial_appeals, denials, letter_templates, providers};

/// A code with what it means (our words; `null` for a code our tables do not know).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CodeText {
    pub code: String,
    pub description: Option<String>,
}

/// A service line as the letter lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LetterLine {
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    pub service_date: Option<NaiveDate>,
    #[schema(value_type = String, example = "150.00")]
    pub charge: Decimal,
}

/// The facts of an appeal letter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppealLetter {
    pub denial_id: Uuid,
    pub claim_id: Uuid,
    #[serde(skip)]
    pub patient_id: Uuid,
    /// The day the letter is dated.
    pub date: NaiveDate,
    /// The level this letter asks for: the next one.
    pub level: i32,
    /// When the payer's appeal window closes (for a first appeal; later levels count from the
    /// previous decision).
    pub appeal_deadline: NaiveDate,
    pub payer_name: String,
    pub provider_name: String,
    pub provider_npi: String,
    pub patient_name: String,
    pub patient_birth_date: NaiveDate,
    pub member_id: Option<String>,
    /// Our claim number (CLM01).
    pub patient_control_number: String,
    /// The payer's claim control number (CLP07), when it gave one.
    pub payer_claim_number: Option<String>,
    pub service_date_from: NaiveDate,
    pub service_date_to: NaiveDate,
    /// The denied line, or every line for a claim-level denial.
    pub lines: Vec<LetterLine>,
    /// The adjustment group and reason (`CO`, `197`) with the reason's meaning.
    pub group: String,
    pub carc: CodeText,
    pub rarcs: Vec<CodeText>,
    #[schema(value_type = String, example = "200.00")]
    pub amount: Decimal,
    pub prior_authorization: Option<String>,
}

fn code(c: &str, description: Option<&'static str>) -> CodeText {
    CodeText {
        code: c.to_string(),
        description: description.map(str::to_string),
    }
}

/// The letter for the denial's next appeal, dated `today`.
pub fn appeal_letter(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    today: NaiveDate,
) -> CoreResult<AppealLetter> {
    let d = denials::get(c, org, id)?;
    let claim = claims::get(c, org, d.claim_id)?;
    let patient = patients::get(c, keyring, org, d.patient_id)?;
    let member_id = match claim.coverage_id {
        Some(cov) => Some(coverages::get(c, keyring, org, cov)?.member_id),
        None => None,
    };
    let payer = payers::get(c, org, d.payer_id)?;
    let provider = providers::get(c, org, claim.billing_provider_id)?;
    let provider_name = provider.organization_name.clone().unwrap_or_else(|| {
        [
            provider.first_name.as_deref(),
            provider.last_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    });
    let level = i32::try_from(denial_appeals::of_denial(c, org, id)?.len()).unwrap_or(i32::MAX) + 1;
    Ok(AppealLetter {
        denial_id: d.id,
        claim_id: claim.id,
        patient_id: d.patient_id,
        date: today,
        level,
        appeal_deadline: d.appeal_deadline,
        payer_name: payer.name,
        provider_name,
        provider_npi: provider.npi.as_str().to_string(),
        patient_name: format!("{} {}", patient.given_name, patient.family_name),
        patient_birth_date: patient.birth_date,
        member_id,
        patient_control_number: claim.patient_control_number.clone(),
        payer_claim_number: posting::payer_claim_number(c, org, d.remittance_id, d.claim_id)?,
        service_date_from: claim.service_date_from,
        service_date_to: claim.service_date_to,
        lines: claim
            .lines
            .iter()
            .filter(|l| d.claim_line_id.is_none_or(|x| x == l.id))
            .map(|l| LetterLine {
                procedure_code: l.line.procedure_code.as_str().to_string(),
                modifiers: l
                    .line
                    .modifiers
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
                service_date: l.line.service_date,
                charge: l.line.charge.as_decimal(),
            })
            .collect(),
        group: d.group.as_str().to_string(),
        carc: code(&d.carc, carc_description(&d.carc)),
        rarcs: d
            .rarcs
            .iter()
            .map(|r| code(r, rarc_description(r)))
            .collect(),
        amount: d.amount,
        prior_authorization: claim.prior_authorization,
    })
}

/// A letter rendered from a template: its heading and its paragraphs, each a list of lines
/// (plain text: the HTML and PDF printers escape and lay it out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedLetter {
    pub heading: String,
    pub paragraphs: Vec<Vec<String>>,
}

/// The letter's facts with the template in force for the org (its own, or the default).
pub fn appeal_letter_with_template(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    id: Uuid,
    today: NaiveDate,
) -> CoreResult<(AppealLetter, LetterTemplate)> {
    let letter = appeal_letter(c, keyring, org, id, today)?;
    Ok((letter, letter_templates::in_force(c, org)?))
}

fn us_date(d: NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

/// `$1,234.50`.
fn dollars(d: Decimal) -> String {
    let neg = d.is_sign_negative() && !d.is_zero();
    let s = format!("{:.2}", d.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac}", if neg { "-" } else { "" })
}

fn with_meaning(c: &CodeText) -> String {
    match &c.description {
        Some(d) => format!("{} ({d})", c.code),
        None => c.code.clone(),
    }
}

/// What a placeholder prints for this letter (empty when the letter has no such fact).
fn fact(l: &AppealLetter, name: &str) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match name {
        "date" => us_date(l.date),
        "level" => l.level.to_string(),
        // Later levels count from the previous decision, which the letter does not hold.
        "appeal_deadline" if l.level > 1 => String::new(),
        "appeal_deadline" => us_date(l.appeal_deadline),
        "payer_name" => l.payer_name.clone(),
        "provider_name" => l.provider_name.clone(),
        "provider_npi" => l.provider_npi.clone(),
        "patient_name" => l.patient_name.clone(),
        "patient_birth_date" => us_date(l.patient_birth_date),
        "member_id" => opt(&l.member_id),
        "patient_control_number" => l.patient_control_number.clone(),
        "payer_claim_number" => opt(&l.payer_claim_number),
        "service_date_from" => us_date(l.service_date_from),
        "service_date_to" => us_date(l.service_date_to),
        "service_dates" if l.service_date_from == l.service_date_to => us_date(l.service_date_from),
        "service_dates" => format!(
            "{} to {}",
            us_date(l.service_date_from),
            us_date(l.service_date_to)
        ),
        "lines" => l
            .lines
            .iter()
            .map(|line| {
                let mut code = line.procedure_code.clone();
                for m in &line.modifiers {
                    code.push('-');
                    code.push_str(m);
                }
                match line.service_date {
                    Some(d) => format!("{code}, {}, charge {}", us_date(d), dollars(line.charge)),
                    None => format!("{code}, charge {}", dollars(line.charge)),
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        "group" => l.group.clone(),
        "carc" => l.carc.code.clone(),
        "carc_description" => l.carc.description.clone().unwrap_or_default(),
        "adjustment" => format!("{}-{}", l.group, l.carc.code),
        "rarcs" => l
            .rarcs
            .iter()
            .map(with_meaning)
            .collect::<Vec<_>>()
            .join("; "),
        "amount" => dollars(l.amount),
        "prior_authorization" => opt(&l.prior_authorization),
        // The parser admits only the names above.
        _ => String::new(),
    }
}

/// One template line with its placeholders filled in: `None` when it has placeholders and
/// every one is empty (the line is left out); otherwise its text, which may hold line breaks
/// (`{{lines}}`).
fn fill(line: &str, l: &AppealLetter) -> Option<String> {
    // A stored template was checked when it was set; a line that no longer parses prints as
    // written rather than failing the letter.
    let Ok(pieces) = parse(line) else {
        return Some(line.to_string());
    };
    let mut out = String::new();
    let (mut fields, mut empty) = (0, 0);
    for p in pieces {
        match p {
            Piece::Text(s) => out.push_str(s),
            Piece::Field(name) => {
                let v = fact(l, name);
                fields += 1;
                if v.trim().is_empty() {
                    empty += 1;
                }
                out.push_str(&v);
            }
        }
    }
    (fields == 0 || empty < fields).then_some(out)
}

/// The letter `tpl` makes of these facts.
pub fn render(tpl: &LetterTemplate, l: &AppealLetter) -> RenderedLetter {
    let heading = fill(&tpl.heading, l)
        .unwrap_or_default()
        .replace('\n', "; ");
    let mut paragraphs: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in tpl.body.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(text) = fill(line, l) {
            current.extend(text.split('\n').map(|s| s.trim_end().to_string()));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    RenderedLetter {
        heading,
        paragraphs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> AppealLetter {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        AppealLetter {
            denial_id: Uuid::nil(),
            claim_id: Uuid::nil(),
            patient_id: Uuid::nil(),
            date: d("2026-12-07"),
            level: 1,
            appeal_deadline: d("2026-11-21"),
            payer_name: "Acme Health Plan".into(),
            provider_name: "Springfield Family Medicine".into(),
            provider_npi: "1234567893".into(),
            patient_name: "Jane Doe".into(),
            patient_birth_date: d("1980-04-02"),
            member_id: Some("W123".into()),
            patient_control_number: "PCN1".into(),
            payer_claim_number: None,
            service_date_from: d("2026-11-02"),
            service_date_to: d("2026-11-02"),
            lines: vec![
                LetterLine {
                    procedure_code: "99214".into(),
                    modifiers: vec!["25".into()],
                    service_date: Some(d("2026-11-02")),
                    charge: "1150".parse().unwrap(),
                },
                LetterLine {
                    procedure_code: "83036".into(),
                    modifiers: vec![],
                    service_date: None,
                    charge: "50.5".parse().unwrap(),
                },
            ],
            group: "CO".into(),
            carc: code("197", Some("Precertification absent.")),
            rarcs: vec![code("M51", Some("Missing code.")), code("X9", None)],
            amount: "1200.5".parse().unwrap(),
            prior_authorization: None,
        }
    }

    #[test]
    fn facts_fill_the_template_and_empty_lines_are_left_out() {
        let tpl = LetterTemplate {
            heading: "Appeal {{ level }} for {{patient_name}}".into(),
            body: "Dated {{date}}\nYour number: {{payer_claim_number}}\nAuth {{prior_authorization}}\n\n\n\
                   {{amount}} under {{adjustment}} ({{carc_description}}); {{rarcs}}\n{{lines}}\n\nThanks"
                .into(),
            ..LetterTemplate::default_template()
        };
        let r = render(&tpl, &letter());
        assert_eq!(r.heading, "Appeal 1 for Jane Doe");
        assert_eq!(
            r.paragraphs,
            [
                vec!["Dated 12/07/2026".to_string()],
                vec![
                    "$1,200.50 under CO-197 (Precertification absent.); M51 (Missing code.); X9"
                        .to_string(),
                    "99214-25, 11/02/2026, charge $1,150.00".to_string(),
                    "83036, charge $50.50".to_string(),
                ],
                vec!["Thanks".to_string()],
            ]
        );
    }

    #[test]
    fn the_default_names_every_fact_it_has() {
        let r = render(&LetterTemplate::default_template(), &letter());
        assert_eq!(r.heading, "Request for appeal, level 1");
        let text = r.paragraphs.concat().join("\n");
        for wanted in [
            "12/07/2026",
            "Acme Health Plan",
            "Patient: Jane Doe",
            "Date of birth: 04/02/1980",
            "Member id: W123",
            "Claim number: PCN1",
            "Dates of service: 11/02/2026",
            "First appeal due by: 11/21/2026",
            "$1,200.50 under adjustment CO-197: Precertification absent.",
            "Remarks: M51 (Missing code.); X9",
            "99214-25, 11/02/2026, charge $1,150.00",
            "NPI 1234567893",
        ] {
            assert!(text.contains(wanted), "{wanted} in {text}");
        }
        assert!(!text.contains("Payer claim number"), "{text}");
        assert!(!text.contains("Prior authorization"), "{text}");
    }
}
