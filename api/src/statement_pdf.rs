//! A patient statement as a US Letter PDF a practice mails: the practice and account blocks,
//! the patient's address where a window envelope shows it, every service with what each
//! insurer did, the account summary and how to pay, and a remittance coupon at the foot of the
//! last page. Set in the standard Helvetica fonts (nothing embedded); every string is measured
//! with the fonts' metrics, and wrapped or shortened to its column, and lines that do not fit
//! go on to a new page.

use crate::pdf::{Font, Layout, Op, PAGE_H, PAGE_W, date, dollars, money, width, wrap, write};
use revcycle_core::model::common::Address;
use revcycle_core::workflows::statements::{RemitTo, Statement, StatementLine};
use rust_decimal::Decimal;

const MARGIN: f32 = 36.0;
const RIGHT: f32 = PAGE_W - MARGIN;
/// The coupon's height at the foot of the last page, its cut line included.
const COUPON_H: f32 = 150.0;
const FOOTER_H: f32 = 24.0;
const BODY: f32 = 8.0;
const LEADING: f32 = 10.5;

/// Table columns: date, service, then five amounts right-aligned at these edges.
const COL_DATE: f32 = MARGIN;
const COL_SERVICE: f32 = 92.0;
const AMOUNT_EDGES: [f32; 5] = [350.0, 406.0, 462.0, 520.0, RIGHT];
/// Widest amount a column prints ("9,999,999,999.99" at the body size is narrower).
const AMOUNT_W: f32 = 54.0;
const AMOUNT_HEADS: [&str; 5] = [
    "Charges",
    "Ins. paid",
    "Adjusted",
    "Ins. pending",
    "You owe",
];

fn phone(p: &str) -> String {
    if p.len() == 10 {
        format!("({}) {}-{}", &p[..3], &p[3..6], &p[6..])
    } else {
        p.to_string()
    }
}

fn address_lines(a: &Address) -> Vec<String> {
    let mut v = vec![a.line1.clone()];
    if let Some(l2) = &a.line2 {
        v.push(l2.clone());
    }
    let zip = match a.zip.plus4() {
        Some(p4) => format!("{}-{p4}", a.zip.zip5()),
        None => a.zip.zip5().to_string(),
    };
    v.push(format!("{}, {} {}", a.city, a.state.as_str(), zip));
    v
}

/// One row of the services table: text in the service column (already wrapped) and amounts in
/// the amount columns.
struct Row {
    date: Option<String>,
    text: String,
    font: Font,
    amounts: [Option<Decimal>; 5],
}

impl Row {
    /// The row's text in lines that end before its first amount (or at the right margin).
    fn lines(&self) -> Vec<String> {
        let indent = if self.date.is_some() { 0.0 } else { 8.0 };
        let end = self
            .amounts
            .iter()
            .position(Option::is_some)
            .map_or(RIGHT, |k| AMOUNT_EDGES[k] - AMOUNT_W - 4.0);
        wrap(&self.text, self.font, BODY, end - COL_SERVICE - indent)
    }
}

fn rows_of(line: &StatementLine, billed_to: Option<&str>, out: &mut Vec<Row>) {
    let code = match (&line.procedure_code, line.modifiers.is_empty()) {
        // Without a charge master entry the description is the code itself.
        (Some(c), true) if *c == line.description => String::new(),
        (Some(c), true) => format!(" ({c})"),
        (Some(c), false) => format!(" ({c}-{})", line.modifiers.join("-")),
        (None, _) => String::new(),
    };
    let total_adjusted: Decimal = line.practice_adjustments;
    out.push(Row {
        date: Some(date(line.service_date)),
        text: format!("{}{code}", line.description),
        font: Font::Bold,
        amounts: [Some(line.charge), None, None, None, None],
    });
    for ins in &line.insurance {
        let verb = if ins.denied { "denied by" } else { "paid by" };
        out.push(Row {
            date: None,
            text: format!("{} {}", capitalise(verb), ins.payer_name),
            font: Font::Regular,
            amounts: [None, Some(ins.paid), None, None, None],
        });
        for r in &ins.adjustments {
            out.push(Row {
                date: None,
                text: format!("{} adjusted: {}", ins.payer_name, reason_text(r)),
                font: Font::Regular,
                amounts: [None, None, Some(r.amount), None, None],
            });
        }
        for r in &ins.patient_responsibility {
            out.push(Row {
                date: None,
                text: format!(
                    "Your responsibility per {}: {}",
                    ins.payer_name,
                    reason_text(r)
                ),
                font: Font::Regular,
                amounts: [None, None, None, None, None],
            });
        }
    }
    if line.insurance.is_empty()
        && !line.insurance_pending.is_zero()
        && let Some(payer) = billed_to
    {
        out.push(Row {
            date: None,
            text: format!("Billed to {payer}, awaiting its payment"),
            font: Font::Regular,
            amounts: [None, None, None, None, None],
        });
    }
    if !total_adjusted.is_zero() {
        out.push(Row {
            date: None,
            text: "Adjusted by the practice".into(),
            font: Font::Regular,
            amounts: [None, None, Some(total_adjusted), None, None],
        });
    }
    if !line.patient_paid.is_zero() {
        out.push(Row {
            date: None,
            text: format!("Your payments: {}", dollars(line.patient_paid)),
            font: Font::Regular,
            amounts: [None, None, None, None, None],
        });
    }
    out.push(Row {
        date: None,
        text: if line.insurance_pending.is_zero() {
            "Balance".to_string()
        } else {
            "Balance (insurance has not paid yet)".to_string()
        },
        font: Font::Regular,
        amounts: [
            None,
            None,
            None,
            Some(line.insurance_pending),
            Some(line.patient_due),
        ],
    });
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn reason_text(r: &revcycle_core::workflows::statements::AdjustmentReason) -> String {
    let code = match (&r.group, &r.carc) {
        (Some(g), Some(c)) => format!("{g}-{c} "),
        (None, Some(c)) => format!("{c} "),
        _ => String::new(),
    };
    format!("{code}{} ({})", r.description, dollars(r.amount))
}

fn table_head(l: &mut Layout) {
    let y = l.y;
    l.rect(MARGIN, y - 4.0, RIGHT - MARGIN, 14.0, true);
    l.text(COL_DATE + 2.0, y, BODY, Font::Bold, "Date", COL_SERVICE);
    l.text(COL_SERVICE, y, BODY, Font::Bold, "Service", 300.0);
    for (edge, head) in AMOUNT_EDGES.iter().zip(AMOUNT_HEADS) {
        l.right(*edge - 2.0, y, BODY, Font::Bold, head, AMOUNT_W);
    }
    l.y -= 16.0;
}

/// The header of a continuation page.
fn continuation(l: &mut Layout, s: &Statement) {
    l.pages.push(Vec::new());
    l.y = PAGE_H - MARGIN - 10.0;
    let name = s
        .practice
        .as_ref()
        .map_or("Patient statement".to_string(), |p| p.name.clone());
    l.text(MARGIN, l.y, 10.0, Font::Bold, &name, 330.0);
    let id = format!(
        "Account {}{}  (continued)",
        s.account_number,
        s.statement_number
            .map_or(String::new(), |n| format!("  Statement {n}"))
    );
    l.right(RIGHT, l.y, BODY, Font::Regular, &id, 240.0);
    l.y -= 22.0;
}

fn block(l: &mut Layout, x: f32, mut y: f32, max_x: f32, title: &str, lines: &[String]) -> f32 {
    l.text(x, y, BODY, Font::Bold, title, max_x);
    y -= LEADING;
    for line in lines {
        l.text(x, y, 9.0, Font::Regular, line, max_x);
        y -= LEADING + 1.0;
    }
    y
}

fn remit_lines(r: &Option<RemitTo>) -> Vec<String> {
    match r {
        Some(r) => {
            let mut v = vec![r.name.clone()];
            v.extend(address_lines(&r.address));
            v
        }
        None => vec!["(no remit-to address set)".into()],
    }
}

/// The statement as PDF bytes.
pub fn render(s: &Statement) -> Vec<u8> {
    let mut l = Layout {
        pages: vec![Vec::new()],
        y: PAGE_H - MARGIN - 12.0,
    };
    // Practice block (top left) and the statement's identity (top right).
    let top = l.y;
    match &s.practice {
        Some(p) => {
            l.text(MARGIN, top, 14.0, Font::Bold, &p.name, 330.0);
            let mut y = top - 15.0;
            let mut lines = address_lines(&p.address);
            if let Some(ph) = &p.phone {
                lines.push(format!("Billing questions: {}", phone(ph)));
            }
            for line in lines {
                l.text(MARGIN, y, 9.0, Font::Regular, &line, 330.0);
                y -= 11.0;
            }
        }
        None => l.text(MARGIN, top, 14.0, Font::Bold, "Patient statement", 330.0),
    }
    let (bx, bw) = (360.0, RIGHT - 360.0);
    l.text(bx, top, 16.0, Font::Bold, "STATEMENT", RIGHT);
    let facts = [
        ("Statement date", date(s.statement_date)),
        (
            "Statement number",
            s.statement_number
                .map_or("Preview (not issued)".into(), |n| n.to_string()),
        ),
        ("Account number", s.account_number.clone()),
        ("Payment due by", date(s.due_date)),
        ("Amount due", dollars(s.amount_due)),
    ];
    let mut y = top - 22.0;
    l.rect(bx, y - 5.0 * 13.0 + 9.0, bw, 5.0 * 13.0 + 4.0, false);
    for (k, v) in facts {
        l.text(bx + 6.0, y, 9.0, Font::Regular, k, bx + 100.0);
        let font = if k == "Amount due" {
            Font::Bold
        } else {
            Font::Regular
        };
        l.right(RIGHT - 6.0, y, 9.0, font, &v, bw - 110.0);
        y -= 13.0;
    }
    // The patient's mailing block, where a #10 window envelope shows it.
    let mut y = PAGE_H - 150.0;
    l.text(MARGIN + 18.0, y, 10.0, Font::Bold, &s.patient_name, 330.0);
    y -= 12.0;
    if let Some(a) = &s.address {
        for line in address_lines(a) {
            l.text(MARGIN + 18.0, y, 10.0, Font::Regular, &line, 330.0);
            y -= 12.0;
        }
    }
    l.y = PAGE_H - 225.0;
    if let Some(m) = &s.message {
        for line in wrap(m, Font::Regular, 9.0, RIGHT - MARGIN) {
            l.text(MARGIN, l.y, 9.0, Font::Regular, &line, RIGHT);
            l.y -= 11.0;
        }
        l.y -= 6.0;
    }
    // Services.
    let bottom = MARGIN + FOOTER_H;
    table_head(&mut l);
    for item in &s.items {
        for line in &item.lines {
            let mut rows = Vec::new();
            rows_of(line, item.payer_name.as_deref(), &mut rows);
            let rows: Vec<(Row, Vec<String>)> = rows
                .into_iter()
                .map(|r| {
                    let lines = r.lines();
                    (r, lines)
                })
                .collect();
            // A service's rows stay together when they fit on a page.
            let group: f32 = rows
                .iter()
                .map(|(_, t)| t.len().max(1) as f32 * LEADING)
                .sum();
            let page_room = PAGE_H - MARGIN - 32.0 - 16.0 - bottom;
            if l.y - group < bottom && group <= page_room {
                continuation(&mut l, s);
                table_head(&mut l);
            }
            for (row, lines) in rows {
                let h = lines.len().max(1) as f32 * LEADING;
                if l.y - h < bottom {
                    continuation(&mut l, s);
                    table_head(&mut l);
                }
                if let Some(d) = &row.date {
                    l.text(
                        COL_DATE + 2.0,
                        l.y,
                        BODY,
                        Font::Regular,
                        d,
                        COL_SERVICE - 4.0,
                    );
                }
                let indent = if row.date.is_some() { 0.0 } else { 8.0 };
                for (k, t) in lines.iter().enumerate() {
                    l.text(
                        COL_SERVICE + indent,
                        l.y - k as f32 * LEADING,
                        BODY,
                        row.font,
                        t,
                        RIGHT,
                    );
                }
                for (edge, amount) in AMOUNT_EDGES.iter().zip(row.amounts) {
                    if let Some(a) = amount {
                        l.right(*edge - 2.0, l.y, BODY, Font::Regular, &money(a), AMOUNT_W);
                    }
                }
                l.y -= h;
            }
        }
        l.line(COL_SERVICE, l.y + 6.0, RIGHT, l.y + 6.0, false);
        l.y -= 4.0;
    }
    if s.items.is_empty() {
        l.text(
            COL_SERVICE,
            l.y,
            BODY,
            Font::Regular,
            "No open items.",
            RIGHT,
        );
        l.y -= LEADING;
    }
    // Account summary (left) and how to pay (right).
    let mut summary = vec![
        ("Charges", money(s.charges)),
        ("Insurance payments", money(s.insurance_paid)),
        ("Adjustments", money(s.adjustments)),
        ("Your payments", money(s.patient_paid)),
        ("Pending with insurance", money(s.insurance_pending)),
    ];
    if !s.account_credit.is_zero() {
        summary.push(("Account credit", money(s.account_credit)));
    }
    summary.push(("Your balance", money(s.patient_due)));
    let mut plan_lines = Vec::new();
    if let Some(p) = &s.payment_plan {
        plan_lines.push(format!(
            "Payment plan: {} left of {}",
            dollars(p.remaining),
            dollars(p.total)
        ));
        if let Some(n) = &p.next_installment {
            plan_lines.push(format!(
                "Next installment ({} of {}): {} due {}",
                n.number,
                p.installments,
                dollars(n.amount),
                date(n.due)
            ));
        }
    }
    let mut pay = Vec::new();
    if let Some(o) = &s.payment_options {
        if let Some(u) = &o.online_url {
            pay.push(format!("Online: {u}"));
        }
        if let Some(p) = &o.phone {
            pay.push(format!("By phone: {}", phone(p)));
        }
        if o.mail {
            pay.push("By mail: send the coupon below with your check to the".into());
            pay.push("remit-to address on it.".into());
        }
    }
    // The summary's height (gap, title, its rows, the plan, the amount due) or the payment
    // options', whichever is taller, must end above the coupon's cut line and its caption.
    let left = 8.0 + LEADING + 12.0 * (summary.len() + plan_lines.len() + 1) as f32;
    let right = 8.0 + LEADING + (LEADING + 1.0) * pay.len() as f32;
    if l.y - left.max(right) < MARGIN + COUPON_H + 4.0 {
        continuation(&mut l, s);
    }
    l.y -= 8.0;
    let top = l.y;
    let mut y = block(&mut l, MARGIN, top, 300.0, "Account summary", &[]);
    for (k, v) in &summary {
        let font = if *k == "Your balance" {
            Font::Bold
        } else {
            Font::Regular
        };
        l.text(MARGIN, y, 9.0, font, k, 200.0);
        l.right(280.0, y, 9.0, font, v, 80.0);
        y -= 12.0;
    }
    for p in &plan_lines {
        l.text(MARGIN, y, 9.0, Font::Regular, p, 300.0);
        y -= 12.0;
    }
    l.text(MARGIN, y, 10.0, Font::Bold, "Amount due", 200.0);
    l.right(
        280.0,
        y,
        10.0,
        Font::Bold,
        &format!("{} by {}", dollars(s.amount_due), date(s.due_date)),
        150.0,
    );
    let y2 = block(&mut l, 320.0, top, RIGHT, "How to pay", &pay);
    l.y = y.min(y2) - 10.0;

    // The coupon, at the foot of the last page.
    let cut = MARGIN + COUPON_H - 14.0;
    l.line(MARGIN, cut, RIGHT, cut, true);
    l.text(
        MARGIN,
        cut + 4.0,
        7.0,
        Font::Regular,
        "Please detach and return this portion with your payment.",
        RIGHT,
    );
    let top = cut - 18.0;
    let name = s
        .practice
        .as_ref()
        .map_or("Patient statement".to_string(), |p| p.name.clone());
    l.text(MARGIN, top, 11.0, Font::Bold, &name, 330.0);
    let c = &s.coupon;
    let facts = [
        ("Patient", s.patient_name.clone()),
        ("Account number", c.account_number.clone()),
        (
            "Statement number",
            c.statement_number
                .map_or("Preview (not issued)".into(), |n| n.to_string()),
        ),
        ("Due date", date(c.due_date)),
        ("Amount due", dollars(c.amount_due)),
    ];
    let mut y = top - 16.0;
    for (k, v) in facts {
        l.text(MARGIN, y, 9.0, Font::Regular, k, 130.0);
        l.text(130.0, y, 9.0, Font::Bold, &v, 320.0);
        y -= 12.0;
    }
    l.text(MARGIN, y - 8.0, 9.0, Font::Bold, "Amount enclosed", 130.0);
    l.rect(130.0, y - 14.0, 110.0, 20.0, false);
    l.text(134.0, y - 8.0, 9.0, Font::Regular, "$", 150.0);
    // Remit-to where the return envelope's window shows it.
    let mut y = top - 28.0;
    l.text(
        350.0,
        y,
        8.0,
        Font::Bold,
        "Make checks payable and mail to:",
        RIGHT,
    );
    y -= 13.0;
    for line in remit_lines(&c.remit_to) {
        l.text(362.0, y, 10.0, Font::Regular, &line, RIGHT);
        y -= 12.0;
    }
    let n = l.pages.len();
    for (i, page) in l.pages.iter_mut().enumerate() {
        let text = format!("Page {} of {n}", i + 1);
        let size = 7.0;
        page.push(Op::Text {
            x: RIGHT - width(&text, Font::Regular, size),
            y: MARGIN - 14.0,
            size,
            font: Font::Regular,
            text,
        });
    }
    // No patient data in the document's metadata.
    write(&l.pages, "Patient statement")
}
