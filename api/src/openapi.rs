//! The OpenAPI document: collected from the registered routes (so every route is in it),
//! plus the security scheme and the error responses every operation can return.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use revcycle_core::validation::MULTI_LINE_FIELDS;

use crate::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Revcycle API",
        description = "Revenue-cycle API for US medical billing: patients, coverage, coded \
            encounters, claims and remittances. Direct identifiers are encrypted per field at rest \
            and never travel in URLs. Money is a decimal string with two places (\"125.00\"). \
            Errors are RFC 9457 problem documents; validation errors point at each bad field with \
            a JSON pointer. POSTs that create a record or post money accept an `Idempotency-Key` \
            (each declares it); every update needs `If-Match` with the ETag it read.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "payers", description = "Health plans that claims are sent to"),
        (name = "providers", description = "Billing and rendering providers"),
        (name = "patients", description = "Patients; identifiers are encrypted per field"),
        (name = "coverages", description = "A patient's insurance with a payer"),
        (name = "encounters", description = "Coded visits: diagnoses and service lines"),
        (name = "claims", description = "Professional claims built from encounters"),
        (name = "remittances", description = "Payers' remittance advice (835), as received"),
        (name = "billing", description = "The claim lifecycle (scrub, transitions), claim ledgers, \
            remittance posting and the unmatched-remittance work queue"),
        (name = "accounts", description = "Patient balances, payments and statements, folded from \
            the append-only ledger"),
        (name = "statements", description = "Patient statements a practice mails: previews, issued \
            statements (JSON, HTML, PDF), statement runs, the charge master and the statement profile"),
        (name = "reports", description = "A/R aging, denials and revenue-cycle KPIs"),
        (name = "audit", description = "The audit trail: every request recorded in a per-organization \
            hash chain; query, verify, export, and each patient's accounting of disclosures"),
        (name = "admin", description = "Key management"),
        (name = "codes", description = "Code sets shipped with the product: ICD-10-CM, CARC, RARC"),
        (name = "connectors", description = "Connector plugins: EHR feeds (FHIR R4, HL7 v2) and payers"),
        (name = "events", description = "Webhook subscriptions: the organization's events (the `*Event` \
            schemas), signed per Standard Webhooks, from a transactional outbox"),
        (name = "system", description = "Health of the service")
    ),
    components(schemas(Problem,
        revcycle_core::model::event::ClaimStatusChangedEvent,
        revcycle_core::model::event::ClaimSubmittedEvent,
        revcycle_core::model::event::ClaimAcknowledgedEvent,
        revcycle_core::model::event::RemittanceReceivedEvent,
        revcycle_core::model::event::RemittancePostedEvent,
        revcycle_core::model::event::DenialOpenedEvent,
        revcycle_core::model::event::DenialResolvedEvent,
        revcycle_core::model::event::EligibilityCompletedEvent,
        revcycle_core::model::event::ClaimStatusCompletedEvent,
        revcycle_core::model::event::ImportCompletedEvent,
        revcycle_core::model::event::PaymentPlanInstallmentDueEvent,
        revcycle_core::model::event::SecurityBreakGlassEvent,
        revcycle_core::model::event::AuditCheckpointEvent)),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Adds what every operation shares: bearer security and the problem responses it can give.
struct Conventions;

fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Several mistakes of one body, as one answer names them (an example per resource).
fn invalid_body_example(path: &str) -> serde_json::Value {
    let errors: &[(&str, &str)] = match path {
        p if p.starts_with("/v1/patients/search") => &[
            ("/ssn_last4", "must be exactly four digits"),
            ("/limit", "wrong type: expected i64"),
        ],
        p if p.starts_with("/v1/patients") && !p.contains("/pay") => &[
            ("/mrn", "wrong type: expected a string"),
            ("/given_name", "required field is missing"),
            ("/birth_date", "must be a date written YYYY-MM-DD"),
            ("/sex", "sex must be \"F\", \"M\" or \"U\""),
            ("/ssn", "must be a valid nine-digit social security number"),
        ],
        p if p.starts_with("/v1/encounters") || p == "/v1/claims/{id}" => &[
            (
                "/diagnoses/0",
                "is an ICD-10-CM category or subcategory header, not a reportable code: report a more specific code",
            ),
            (
                "/diagnoses/1",
                "is not an ICD-10-CM code of the shipped code set",
            ),
            (
                "/lines/0/procedure_code",
                "procedure code must be CPT (five digits, or four digits then F, T or U) or HCPCS Level II (a letter A-V other than F, I, N or O, then four digits)",
            ),
            (
                "/lines/0/modifiers/0",
                "modifier must be exactly two letters or digits",
            ),
            ("/place_of_service", "required field is missing"),
        ],
        p if p.starts_with("/v1/coverages") => &[
            ("/member_id", "must not be blank"),
            ("/effective_to", "must not be before effective_from"),
            (
                "/subscriber",
                "is required when the patient is not the subscriber",
            ),
            ("/payer_id", "no such payer"),
        ],
        p if p.starts_with("/v1/providers") => &[
            ("/npi", "NPI check digit is wrong"),
            ("/first_name", "an organization has no first name"),
            ("/address/zip", "required field is missing"),
        ],
        p if p.starts_with("/v1/payers") => &[
            ("/name", "must not be blank"),
            ("/payer_code", "must contain only letters and digits"),
            ("/timely_filing_days", "must be between 1 and 3650"),
        ],
        p if p.starts_with("/v1/remittances") => &[
            ("/payment_date", "must be a date written YYYY-MM-DD"),
            (
                "/claims/0/status_code",
                "is not an X12 835 CLP02 claim status code",
            ),
            (
                "/claims/0/adjustments/0/reason",
                "must be a claim adjustment reason code (CARC)",
            ),
        ],
        _ => &[
            ("/amount", "wrong type: expected a string"),
            ("/reference", "must be at most 50 characters"),
        ],
    };
    serde_json::json!({
        "type": "urn:revcycle:problem:validation", "title": "Invalid request", "status": 422,
        "detail": format!("the request has {} invalid field(s)", errors.len()),
        "errors": errors.iter().map(|(p, m)| serde_json::json!({"pointer": p, "message": m}))
            .collect::<Vec<_>>(),
    })
}

fn invalid_body_response(
    description: &str,
    example: serde_json::Value,
) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
        .build()
        .into()
}

fn add_errors(path: &str, method: &str, op: &mut Operation) {
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().any(|r| r == &SecurityRequirement::default()));
    let mut errors: Vec<(&str, &str)> = vec![(
        "500",
        "Unexpected server failure (no details are disclosed)",
    )];
    if !public {
        op.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        errors.push((
            "401",
            "Missing, expired or invalid bearer token (see WWW-Authenticate)",
        ));
        errors.push(("403", "The token does not grant this operation"));
        errors.push((
            "400",
            "Malformed request (bad JSON, header or query string)",
        ));
        errors.push((
            "503",
            "The database is unreachable, a read exceeded the read timeout, or the audit trail could not record the request (nothing is served unaudited)",
        ));
        errors.push((
            "429",
            "This client exceeded its request rate; retry after Retry-After seconds",
        ));
    }
    if path.contains('{') {
        errors.push(("404", "No such resource in your organization"));
    }
    // Commands without a body (e.g. starting a key rotation) cannot send a bad one.
    if (method == "post" || method == "put") && op.request_body.is_some() {
        errors.push(("413", "The body is larger than the configured limit"));
        errors.push(("415", "The body is not application/json"));
        errors.push((
            "422",
            "Invalid fields: one answer names every field to fix (wrong type, missing, malformed, or breaking a rule), one entry each with its JSON pointer and the rule",
        ));
    }
    if method == "post" && !path.ends_with("/search") && op.request_body.is_some() {
        errors.push(("409", "A resource with the same unique identifier exists"));
    }
    if method == "put" {
        errors.push(("409", "The resource's state does not allow this change"));
        errors.push((
            "412",
            "If-Match names an older version (current_version says which)",
        ));
        errors.push(("428", "If-Match is required"));
    }
    // Query parameters and path parameters other than ids are checked: 422 names the bad one.
    let checked_params = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter().any(|p| match p {
            RefOr::T(p) => {
                p.parameter_in == ParameterIn::Query
                    || (p.parameter_in == ParameterIn::Path && p.name != "id")
            }
            RefOr::Ref(_) => true,
        })
    });
    if checked_params {
        errors.push((
            "422",
            "Invalid query or path parameter, e.g. a limit out of range or a foreign cursor",
        ));
    }
    let mut responses = ResponsesBuilder::new().build();
    std::mem::swap(&mut responses, &mut op.responses);
    let body_422 = op.request_body.is_some();
    for (code, description) in errors {
        responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| {
                if code == "422" && body_422 {
                    invalid_body_response(description, invalid_body_example(path))
                } else {
                    problem_response(description)
                }
            });
    }
    op.responses = responses;
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT naming your organization (`org`) and roles (`roles`); optional \
                         SMART scopes (`scope`, e.g. `system/Claim.cruds`) narrow what the roles \
                         allow, `purpose_of_use` (HL7 PurposeOfUse) and `client_id` are recorded.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The POST operations that honour `Idempotency-Key` (they pass it to `db::create` or
/// `db::write_once`): a retry with the same key and body answers with the first response.
/// Other POSTs ignore the header, so it is declared exactly on these.
pub const IDEMPOTENT_POSTS: &[&str] = &[
    "create_payer",
    "create_provider",
    "create_patient",
    "create_coverage",
    "create_encounter",
    "create_claim",
    "create_remittance",
    "create_secondary_claim",
    "create_payment_plan",
    "patient_payment",
    "add_denial_note",
];

/// What `extract::IdempotencyKey` accepts: 1 to 255 characters a header value may hold,
/// not all blank.
fn idempotency_key_parameter() -> serde_json::Value {
    serde_json::json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes a retry safe: the same key and body answer with the first response \
            (a different body with the same key is 409)",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255,
            "pattern": "^[\\t -~]*[!-~][\\t -~]*$"}
    })
}

/// Parts of the document utoipa cannot express from the types, applied to its JSON:
/// - `ClaimLine` flattens `ServiceLine` (which forbids unknown fields on input) and adds
///   `id` and `line_number`; utoipa renders that as an `allOf` no line can satisfy, so the
///   response schema is spelled out as one object.
/// - `If-Match` is required and only our own ETags (`"<version>"`, maybe weak) are accepted.
/// - `Idempotency-Key` is declared, with its limits, on [`IDEMPOTENT_POSTS`].
/// - Free-text fields of request bodies are refused when blank (`must not be blank`):
///   `pattern: \S` says so.
fn patch_json(doc: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let schemas = &mut doc["components"]["schemas"];
    if let Some(line) = schemas.get("ServiceLine").cloned() {
        let mut claim_line = line.clone();
        claim_line["description"] =
            json!("A service line of a claim, as stored: numbered, with its own id.");
        claim_line["properties"]["id"] = json!({"type": "string", "format": "uuid"});
        claim_line["properties"]["line_number"] =
            json!({"type": "integer", "format": "int32", "minimum": 1});
        if let Some(req) = claim_line["required"].as_array_mut() {
            req.push(json!("id"));
            req.push(json!("line_number"));
        }
        if let Some(o) = claim_line.as_object_mut() {
            o.remove("additionalProperties");
            o.remove("example");
        }
        schemas["ClaimLine"] = claim_line;
    }

    // Request-body schemas, and the schemas they reach.
    let mut request: Vec<String> = Vec::new();
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref")
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    out.push(name.to_string());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    if let Some(paths) = doc["paths"].as_object() {
        for item in paths.values() {
            for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                refs(&op["requestBody"], &mut request);
            }
        }
    }
    let mut i = 0;
    while i < request.len() {
        let mut more = Vec::new();
        refs(&doc["components"]["schemas"][&request[i]], &mut more);
        for m in more {
            if !request.contains(&m) {
                request.push(m);
            }
        }
        i += 1;
    }
    // Every free-text field of a request says what the server's one boundary rule for text
    // refuses (`text_problem` in core: control and bidirectional formatting characters), and
    // the fields that must not be blank say that too, so a client or a generator that follows
    // the document sends only text the server takes.
    fn text_patterns(v: &mut Value) {
        let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) else {
            return;
        };
        for (name, p) in props.iter_mut() {
            let free_text = p.get("format").is_none()
                && p.get("enum").is_none()
                && p.get("pattern").is_none()
                && p.get("$ref").is_none()
                && match &p["type"] {
                    Value::String(t) => t == "string",
                    Value::Array(ts) => ts.iter().any(|t| t == "string"),
                    _ => false,
                };
            if free_text {
                let refused = if MULTI_LINE_FIELDS.contains(&name.as_str()) {
                    REFUSED_IN_MULTI_LINE_TEXT
                } else {
                    REFUSED_IN_TEXT
                };
                p["pattern"] = json!(if NON_BLANK.contains(&name.as_str()) {
                    format!("^[^{refused}]*[^\\s{refused}][^{refused}]*$")
                } else {
                    format!("^[^{refused}]*$")
                });
            }
            text_patterns(p);
        }
        if let Some(items) = v.get_mut("items") {
            text_patterns(items);
        }
    }
    for name in &request {
        if let Some(schema) = doc["components"]["schemas"].get_mut(name) {
            text_patterns(schema);
        }
    }

    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            let params = op
                .as_object_mut()
                .expect("an operation")
                .entry("parameters")
                .or_insert_with(|| json!([]));
            let list = params.as_array_mut().expect("parameters");
            let mut if_match = false;
            for p in list.iter_mut() {
                if p["in"] == "header" && p["name"] == "If-Match" {
                    // Updates need it (428 without); a claim transition, and a PUT that
                    // creates or replaces (declared `Option`), take it optionally.
                    if_match = true;
                    let required = method == "put" && p["required"] == json!(true);
                    p["required"] = json!(required);
                    // Required: exactly one of our ETags (400 otherwise). Optional (a claim
                    // transition, a PUT that creates): any value may be sent, and one that is
                    // not the current ETag fails the precondition (412), as RFC 9110 answers
                    // an If-Match that does not match.
                    p["schema"] = if required {
                        json!({"type": "string", "pattern": "^(W/)?\"[0-9]+\"$"})
                    } else {
                        json!({"type": "string"})
                    };
                }
                if p["in"] == "header" && p["name"] == "X-Break-Glass-Reason" {
                    p["schema"] = json!({"type": "string", "minLength": 1, "maxLength": 500,
                        "pattern": "^[\\t -~]*[!-~][\\t -~]*$"});
                }
            }
            list.retain(|p| !(p["in"] == "header" && p["name"] == "Idempotency-Key"));
            if method == "post" && IDEMPOTENT_POSTS.contains(&id.as_str()) {
                list.push(idempotency_key_parameter());
            }
            if list.is_empty() {
                op.as_object_mut()
                    .expect("an operation")
                    .remove("parameters");
            }
            if if_match {
                let problem = |d: &str| {
                    json!({"description": d, "content": {"application/problem+json":
                        {"schema": {"$ref": "#/components/schemas/Problem"}}}})
                };
                let responses = op["responses"].as_object_mut().expect("responses");
                responses.entry("412").or_insert_with(|| {
                    problem("If-Match names an older version (current_version says which)")
                });
                if method == "put" {
                    responses
                        .entry("428")
                        .or_insert_with(|| problem("If-Match is required"));
                }
            }
        }
    }
}

/// The characters `text_problem` (core) refuses in one line of text, as a regular-expression
/// class body (ECMA-262 and Python both read `\uXXXX`): C0 and C1 controls, the bidirectional
/// formatting characters.
const REFUSED_IN_TEXT: &str =
    "\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069";
/// The same for free text over several lines, where tab, line feed and carriage return are
/// allowed.
const REFUSED_IN_MULTI_LINE_TEXT: &str = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069";

/// Request fields the server refuses when blank (`common::text` and its kin).
const NON_BLANK: &[&str] = &[
    "name",
    "payer_code",
    "mrn",
    "mrn_system",
    "family_name",
    "given_name",
    "middle_name",
    "member_id",
    "group_number",
    "plan_name",
    "organization_name",
    "last_name",
    "first_name",
    "trace_number",
    "patient_control_number",
    "original_reference",
    "prior_authorization",
    "line1",
    "line2",
    "city",
    "system",
    "value",
    "assignee",
    "text",
];

/// Apply the shared conventions to every operation of a collected document.
pub fn finish(doc: OpenApiDoc) -> OpenApiDoc {
    let mut doc = finish_operations(doc);
    let mut json = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    patch_json(&mut json);
    doc = serde_json::from_value(json).expect("the patched OpenAPI document deserialises");
    doc
}

fn finish_operations(mut doc: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("delete", item.delete.as_mut()),
            ("patch", item.patch.as_mut()),
        ] {
            if let Some(op) = op {
                add_errors(path, method, op);
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {

    /// Every event type a subscription may ask for has its envelope documented, named after it
    /// (`payment_plan.installment_due`: `PaymentPlanInstallmentDueEvent`).
    #[test]
    fn every_event_type_has_its_schema() {
        use utoipa::OpenApi;
        let doc = super::ApiDoc::openapi();
        let schemas = doc.components.expect("components").schemas;
        for t in revcycle_core::model::event::EventType::ALL {
            let name: String = t
                .name()
                .split(['.', '_'])
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect::<String>()
                + "Event";
            assert!(schemas.contains_key(&name), "{} has no {name}", t.name());
        }
    }

    /// The committed document must be what the code produces: regenerate it with
    /// `cargo run -- openapi --output openapi/openapi.json`.
    #[test]
    fn committed_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let generated = crate::startup::document_json();
        assert!(
            committed == generated,
            "openapi/openapi.json is stale: run `cargo run -- openapi --output openapi/openapi.json`"
        );
    }

    #[test]
    fn every_operation_is_documented_and_secured() {
        let (_, doc) = crate::startup::routes_and_doc();
        let json: serde_json::Value = serde_json::from_str(&doc.to_json().unwrap()).unwrap();
        let paths = json["paths"].as_object().unwrap();
        assert!(
            paths.len() >= 12,
            "all resource routes are collected: {:?}",
            paths.keys()
        );
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses
                        .values()
                        .all(|r| r["description"].as_str().is_some_and(|d| !d.is_empty()))
                );
                assert!(
                    op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "{method} {path} has a summary"
                );
                if path.starts_with("/v1/") {
                    assert_eq!(
                        op["security"],
                        serde_json::json!([{"bearer": []}]),
                        "{method} {path}"
                    );
                    assert!(responses.contains_key("401") && responses.contains_key("403"));
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
                // Every write carries a body, except commands that take none: admin commands,
                // billing commands on one record (scrub a claim, post a remittance, bill the
                // secondary payer, ask the payer for a claim's status), purging the audit
                // trail past retention (`dry_run` is a query parameter), signing a
                // checkpoint of it now, a webhook subscription's commands (ping, rotate
                // its secret, redeliver an event), and issuing statements (one patient's, or a
                // statement run).
                let command = path.starts_with("/v1/admin/")
                    || [
                        "/scrub",
                        "/post",
                        "/secondary",
                        "/status",
                        "/purge",
                        "/checkpoint",
                        "/ping",
                        "/rotate-secret",
                        "/redeliver",
                        "/statements",
                        "/statement-runs",
                    ]
                    .iter()
                    .any(|verb| path.ends_with(verb));
                if (method == "post" || method == "put") && !command {
                    assert!(
                        op["requestBody"].is_object(),
                        "{method} {path} documents its body"
                    );
                }
                if op["requestBody"].is_object() {
                    assert!(responses.contains_key("422") && responses.contains_key("413"));
                } else {
                    assert!(
                        !responses.contains_key("415"),
                        "{method} {path} takes no body"
                    );
                }
            }
        }
    }
}
