//! FHIR R4 EHR connector: Bundles and Bulk Data NDJSON in, canonical patients, coverages and
//! coded encounters out.
//!
//! # Why focused serde models and not a FHIR crate
//!
//! We evaluated the FHIR model crates on crates.io for reading R4 (4.0.1) resources, each built
//! cold on one of our shared 2-core machines:
//! - `fhir-model` 0.13 (feature `r4b`): models R4B (4.3), not R4; about 10 MB of generated source
//!   for that one version; cold debug build 146 s, 3.3 GB peak compiler memory, 350 MB of
//!   target dir. Its code enums are closed, so one unexpected code value (or a field of the wrong
//!   shape) fails the whole resource, and its errors quote the offending value
//!   ("Unknown value: ..."), which can be PHI.
//! - `fhirbolt` 0.4 (feature `r4`): models R4 exactly, but generates every resource of the
//!   specification: cold debug build 151 s, 2.8 GB peak, 355 MB of target dir; pre-1.0.
//!
//! Both would give every build of the workspace minutes of compile time for some 12 resources of
//! which we read a few dozen fields, and neither reads per resource tolerantly. So this crate has
//! its own small serde models ([`model`]) of exactly the elements it reads: unknown elements are
//! ignored, missing ones default, a wrong shape is reported per resource with its field path
//! (never its value), and money is read from the literal JSON number text, never `f64`. The
//! fixtures are checked against the full R4 schema by `fhir.resources` 6.4.0 in a test instead.
//!
//! # Operation `import`
//!
//! Input, told apart by content ([`import::input`]): one resource posted as a JSON document, a
//! FHIR R4 Bundle of any type that carries resources (document, message, transaction,
//! transaction-response, batch, batch-response, history, searchset, collection), or Bulk Data
//! `$export` NDJSON (one resource per line; text that is not one JSON document but has lines
//! holding JSON objects). Input that is not UTF-8/JSON, a Bundle of no known type or with no
//! `entry.resource`, and input with no Patient, Coverage or Encounter are an `invalid_input`
//! error naming only a position or pointer. References the mapping reads must resolve
//! ([`import`]'s `refs`) or the referring record is refused; the field mapping is
//! [`mapping::field_mapping`] (README.md's table).
//!
//! Output: a canonical `ImportResult` (schema 1): `records` in the order patients, coverages,
//! encounters (each in input order), every one with `source_system` from the config and
//! `external_id` = the resource's logical id (else the uuid of its `urn:uuid:` fullUrl);
//! coverages and encounters name their patient by that patient's external id. Encounters carry
//! their ICD-10-CM diagnoses (Encounter.diagnosis by rank, then encounter-diagnosis Conditions)
//! and service lines, taken from the EHR's Claim for the encounter when there is one, else from
//! its ChargeItems plus the Procedures no ChargeItem prices (charge `0.00`: not priced).
//! `issues` has one entry per resource not translated (`position` = Bundle entry index, 0-based,
//! NDJSON line, 1-based, or 0 for a lone resource; the message names the JSON pointer into the
//! input; `code` one of [`import::codes`]; the message names the resource
//! type/id and the field, never a value) plus one summary (no position) counting resource types
//! not imported. Organizations, Practitioners, PractitionerRoles, Locations and RelatedPersons are
//! read to resolve references only.
//!
//! Configuration (JSON at create): `source_system` (required, non-empty string: the identity of
//! this feed, stamped on every record with the resource's logical id as `external_id`),
//! optional `default_place_of_service` (two-digit CMS code).

pub mod decimal;
pub mod import;
pub mod mapping;
pub mod model;

use revcycle_connector_abi::serde_json::Value;
use revcycle_connector_abi::{
    Connector, ConnectorError, ConnectorKind, export_connector, to_output,
};

pub use import::Options;

/// The connector instance: its configuration.
pub struct FhirR4 {
    options: Options,
}

impl FhirR4 {
    /// Reads and checks the configuration.
    pub fn from_config(config: &Value) -> Result<Self, ConnectorError> {
        let source_system = match config.get("source_system") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(_) => {
                return Err(ConnectorError::invalid_config(
                    "source_system must be a non-empty string",
                ));
            }
            None => return Err(ConnectorError::invalid_config("source_system is required")),
        };
        let default_place_of_service = match config.get("default_place_of_service") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) => {
                Some(s.clone())
            }
            Some(_) => {
                return Err(ConnectorError::invalid_config(
                    "default_place_of_service must be a two-digit place-of-service code",
                ));
            }
        };
        Ok(FhirR4 {
            options: Options {
                source_system,
                default_place_of_service,
            },
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }
}

impl Connector for FhirR4 {
    const NAME: &'static str = "fhir-r4";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const KIND: ConnectorKind = ConnectorKind::Ehr;
    const OPERATIONS: &'static [&'static str] = &["import"];

    fn create(config: Value) -> Result<Self, ConnectorError> {
        Self::from_config(&config)
    }

    fn invoke(&self, op: &str, input: &[u8]) -> Result<Vec<u8>, ConnectorError> {
        match op {
            "import" => to_output(&import::import(input, &self.options)?),
            _ => Err(ConnectorError::unknown_operation(op)),
        }
    }
}

export_connector!(FhirR4);
