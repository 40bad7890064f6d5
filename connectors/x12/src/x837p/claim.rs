//! One claim of an 837P: loop 2300 with its providers, other payers (2320/2330) and service
//! lines (2400/2430).

use super::*;

fn yes(v: Option<bool>) -> bool {
    v.unwrap_or(true)
}

pub(super) fn write_claim<W: Write>(
    t: &mut Tx<'_, W>,
    batch: &Batch837,
    c: &ClaimSubmission,
) -> Result<(), X12Error> {
    let pcn = text(&c.claim_control_number);
    if pcn.is_empty() || pcn.len() > 38 {
        return Err(t.err(
            "CLM",
            "CLM01 (claim control number) must have 1 to 38 characters",
        ));
    }
    let total = t.amount("CLM", "CLM02 (total charge)", &c.total_charge)?;
    let mut sum = Decimal::ZERO;
    for l in &c.lines {
        sum += parse_decimal(l.charge.trim())
            .ok_or_else(|| t.err("SV1", "SV102 (line charge) is not a valid amount"))?;
    }
    if parse_decimal(&total) != Some(sum) {
        return Err(t.err(
            "CLM",
            "CLM02 does not equal the sum of the line charges (SV102)",
        ));
    }
    if c.lines.is_empty() || c.lines.len() > 50 {
        return Err(t.err("LX", "a claim needs 1 to 50 service lines"));
    }
    let freq = if c.frequency_code.is_empty() {
        "1"
    } else {
        c.frequency_code.as_str()
    };
    let pos = text(&c.place_of_service);
    if pos.len() != 2 {
        return Err(t.err(
            "CLM",
            "CLM05-1 (place of service) must be a 2-character code",
        ));
    }
    let clm05 = t.comp(&[&pos, "B", freq]);
    t.seg(
        "CLM",
        &[
            &pcn,
            &total,
            "",
            "",
            &clm05,
            "Y",
            if yes(c.accepts_assignment) { "A" } else { "C" },
            if yes(c.benefits_assigned) { "Y" } else { "N" },
            if yes(c.release_of_information) {
                "Y"
            } else {
                "I"
            },
        ],
    )?;
    if matches!(freq, "7" | "8") {
        let Some(orig) = c.original_claim_number.as_deref().filter(|o| !o.is_empty()) else {
            return Err(t.err(
                "REF",
                "frequency 7/8 needs the original claim number (REF*F8)",
            ));
        };
        t.seg("REF", &["F8", &text(orig)])?;
    }
    if let Some(pa) = c.prior_authorization.as_deref().filter(|p| !p.is_empty()) {
        t.seg("REF", &["G1", &text(pa)])?;
    }
    if c.diagnoses.is_empty() || c.diagnoses.len() > 12 {
        return Err(t.err("HI", "a claim needs 1 to 12 diagnosis codes"));
    }
    let codes: Vec<String> = c
        .diagnoses
        .iter()
        .map(|d| text(d).replace('.', "").to_ascii_uppercase())
        .collect();
    let his: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, d)| t.comp(&[if i == 0 { "ABK" } else { "ABF" }, d]))
        .collect();
    let refs: Vec<&str> = his.iter().map(String::as_str).collect();
    t.seg("HI", &refs)?;
    // 2310A referring provider.
    if let Some(r) = &c.referring_provider {
        provider_nm1(t, "DN", r)?;
    }
    // 2310B rendering provider, when not the billing provider.
    if let Some(r) = &c.rendering_provider
        && digits(&r.npi) != digits(&c.billing_provider.npi)
    {
        provider_nm1(t, "82", r)?;
        if let Some(tax) = &r.taxonomy_code {
            t.seg("PRV", &["PE", "PXC", &text(tax)])?;
        }
    }
    // 2320/2330A/2330B other payers.
    for p in &c.prior_payers {
        write_other_payer(t, batch, c, p)?;
    }
    // 2400 lines.
    for (i, l) in c.lines.iter().enumerate() {
        let n = (i + 1).to_string();
        t.seg("LX", &[&n])?;
        let proc = t.procedure(&l.procedure_code, &l.modifiers)?;
        let charge = t.amount("SV1", "SV102 (line charge)", &l.charge)?;
        let units = t.amount("SV1", "SV104 (units)", &l.units)?;
        let line_pos = l
            .place_of_service
            .as_deref()
            .map(text)
            .filter(|p| *p != pos)
            .unwrap_or_default();
        if l.diagnosis_pointers.is_empty() || l.diagnosis_pointers.len() > 4 {
            return Err(t.err("SV1", "a line needs 1 to 4 diagnosis pointers"));
        }
        if l.diagnosis_pointers
            .iter()
            .any(|&p| p == 0 || p as usize > c.diagnoses.len())
        {
            return Err(t.err("SV1", "a diagnosis pointer does not point into the HI list"));
        }
        let ptrs: Vec<String> = l.diagnosis_pointers.iter().map(|p| p.to_string()).collect();
        let ptr_refs: Vec<&str> = ptrs.iter().map(String::as_str).collect();
        let ptr = t.comp(&ptr_refs);
        t.seg("SV1", &[&proc, &charge, "UN", &units, &line_pos, "", &ptr])?;
        let Some(date) = l.service_date.as_deref() else {
            return Err(t.err("DTP", "service line has no service date (DTP*472)"));
        };
        let d = t.date("DTP", "DTP03 (service date)", date)?;
        t.seg("DTP", &["472", "D8", &d])?;
        if let Some(lcn) = l.line_control_number.as_deref().filter(|v| !v.is_empty()) {
            t.seg("REF", &["6R", &text(lcn)])?;
        }
        if let Some(ndc) = l.ndc.as_deref().filter(|v| !v.is_empty()) {
            t.seg("LIN", &["", "N4", &digits(ndc)])?;
            t.seg("CTP", &["", "", "", &units, "UN"])?;
        }
        // 2430 line adjudication by each earlier payer.
        let line_no = l.line_number.unwrap_or(i as u32 + 1);
        for p in &c.prior_payers {
            for la in p
                .line_adjudications
                .iter()
                .filter(|a| a.line_number == line_no)
            {
                write_line_adjudication(t, p, la)?;
            }
        }
    }
    Ok(())
}

fn provider_nm1<W: Write>(
    t: &mut Tx<'_, W>,
    entity: &str,
    p: &ProviderRef,
) -> Result<(), X12Error> {
    let npi = digits(&p.npi);
    if npi.len() != 10 {
        return Err(t.err("NM1", format!("NM1*{entity} NPI must have 10 digits")));
    }
    let name = text(p.name.as_deref().unwrap_or(""));
    if name.is_empty() {
        return Err(t.err("NM1", format!("NM1*{entity} needs a name (NM103)")));
    }
    let first = p.first_name.as_deref().map(text).unwrap_or_default();
    let kind = if first.is_empty() && entity != "DN" {
        "2"
    } else {
        "1"
    };
    t.seg(
        "NM1",
        &[entity, kind, &name, &first, "", "", "", "XX", &npi],
    )
}

/// SBR09: the payer's own claim filing indicator when given, else the file's.
pub(super) fn claim_filing_indicator(batch: &Batch837, own: Option<&str>) -> String {
    own.map(text)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| batch.claim_filing_indicator.clone())
}

fn write_other_payer<W: Write>(
    t: &mut Tx<'_, W>,
    batch: &Batch837,
    c: &ClaimSubmission,
    p: &PriorPayerAdjudication,
) -> Result<(), X12Error> {
    let filing = claim_filing_indicator(batch, p.claim_filing_indicator.as_deref());
    t.seg(
        "SBR",
        &[
            priority_code(p.priority),
            relationship_code(p.relationship),
            &text(p.group_number.as_deref().unwrap_or("")),
            "",
            "",
            "",
            "",
            "",
            &filing,
        ],
    )?;
    t.cas(&p.claim_adjustments)?;
    let paid = t.amount("AMT", "AMT02 (payer paid amount)", &p.paid_amount)?;
    t.seg("AMT", &["D", &paid])?;
    if let Some(pr) = p
        .patient_responsibility
        .as_deref()
        .filter(|v| !v.is_empty())
    {
        let pr = t.amount("AMT", "AMT02 (remaining patient liability)", pr)?;
        t.seg("AMT", &["EAF", &pr])?;
    }
    t.seg(
        "OI",
        &[
            "",
            "",
            if yes(c.benefits_assigned) { "Y" } else { "N" },
            "",
            "",
            if yes(c.release_of_information) {
                "Y"
            } else {
                "I"
            },
        ],
    )?;
    // 2330A other subscriber.
    let member = p.subscriber.member_id.as_deref();
    if member.is_none() {
        return Err(t.err(
            "NM1",
            "other subscriber member id is required (2330A NM109)",
        ));
    }
    t.person("IL", &p.subscriber.name, "MI", member)?;
    if let Some(a) = &p.subscriber.address {
        t.address(a)?;
    }
    // 2330B other payer.
    t.payer(&p.payer, "PR")?;
    if let Some(d) = p.paid_date.as_deref()
        && p.line_adjudications.is_empty()
    {
        let d = t.date("DTP", "DTP03 (adjudication date)", d)?;
        t.seg("DTP", &["573", "D8", &d])?;
    }
    if let Some(n) = p.payer_claim_number.as_deref().filter(|v| !v.is_empty()) {
        t.seg("REF", &["F8", &text(n)])?;
    }
    Ok(())
}

fn write_line_adjudication<W: Write>(
    t: &mut Tx<'_, W>,
    p: &PriorPayerAdjudication,
    la: &LineAdjudication,
) -> Result<(), X12Error> {
    let payer_id = p.payer.payer_id.as_deref().map(text).unwrap_or_default();
    let paid = t.amount("SVD", "SVD02 (paid amount)", &la.paid_amount)?;
    let proc = t.procedure(&la.procedure_code, &la.modifiers)?;
    let units = t.amount("SVD", "SVD05 (paid units)", &la.paid_units)?;
    t.seg("SVD", &[&payer_id, &paid, &proc, "", &units])?;
    t.cas(&la.adjustments)?;
    let Some(date) = la.adjudication_date.as_deref().or(p.paid_date.as_deref()) else {
        return Err(t.err("DTP", "line adjudication has no date (2430 DTP*573)"));
    };
    let d = t.date("DTP", "DTP03 (adjudication date)", date)?;
    t.seg("DTP", &["573", "D8", &d])
}
