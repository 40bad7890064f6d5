//! The OpenAPI document: collected from the registered routes (so every route is in it),
//! plus the security scheme and the error responses every operation can return.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::problem::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Revcycle API",
        description = "Revenue-cycle API for US medical billing: patients, coverage, coded \
            encounters, claims and remittances. Direct identifiers are encrypted per field at rest \
            and never travel in URLs. Money is a decimal string with two places (\"125.00\"). \
            Errors are RFC 9457 problem documents; validation errors point at each bad field with \
            a JSON pointer. Every POST accepts an `Idempotency-Key`; every update needs `If-Match`.",
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
        (name = "reports", description = "A/R aging, denials and revenue-cycle KPIs"),
        (name = "audit", description = "The audit trail: every request recorded in a per-organization \
            hash chain; query, verify, export, and each patient's accounting of disclosures"),
        (name = "admin", description = "Key management"),
        (name = "codes", description = "Code sets shipped with the product: ICD-10-CM, CARC, RARC"),
        (name = "connectors", description = "Connector plugins: EHR feeds (FHIR R4, HL7 v2) and payers"),
        (name = "system", description = "Health of the service")
    ),
    components(schemas(Problem)),
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
        errors.push(("422", "Invalid fields, each named by a JSON pointer"));
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
    if method == "get"
        && !path.contains('{')
        && op.parameters.as_ref().is_some_and(|p| !p.is_empty())
    {
        errors.push((
            "422",
            "Invalid query parameter, e.g. a limit out of range or a foreign cursor",
        ));
    }
    let mut responses = ResponsesBuilder::new().build();
    std::mem::swap(&mut responses, &mut op.responses);
    for (code, description) in errors {
        responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| problem_response(description));
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

/// Apply the shared conventions to every operation of a collected document.
pub fn finish(mut doc: OpenApiDoc) -> OpenApiDoc {
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

/// The document exactly as the server serves it, pretty-printed with a trailing newline.
pub fn document_json() -> String {
    let (_, doc) = crate::startup::routes_and_doc();
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed document must be what the code produces: regenerate it with
    /// `cargo run -- openapi --output openapi/openapi.json`.
    #[test]
    fn committed_document_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        let generated = document_json();
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
                // secondary payer, ask the payer for a claim's status), and purging the audit
                // trail past retention (`dry_run` is a query parameter).
                let command = path.starts_with("/v1/admin/")
                    || ["/scrub", "/post", "/secondary", "/status", "/purge"]
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
