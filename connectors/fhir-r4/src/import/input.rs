//! Input framing: which shape the feed has (one resource, a Bundle, NDJSON), told apart by
//! content, and the resources it carries with their positions.

use revcycle_connector_abi::ConnectorError;
use revcycle_connector_abi::canonical as c;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::codes;
use crate::model as m;

/// One resource of the input with where it came from.
pub(super) struct Source {
    /// Bundle entry index (0-based), NDJSON line number (1-based), or 0 for a lone resource.
    pub position: u64,
    pub full_url: Option<String>,
    pub raw: Box<RawValue>,
}

/// The shape of the input, which decides how positions and pointers are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One resource posted as a JSON document: pointers are relative to it.
    Resource,
    /// A Bundle: positions are entry indexes, pointers start at `/entry/N/resource`.
    Bundle,
    /// Bulk Data NDJSON: positions are line numbers, pointers are relative to the line's resource.
    Ndjson,
}

/// Every Bundle.type of FHIR R4 (bundle-type value set). All of them can carry resources in
/// `entry.resource`: a request Bundle (transaction, batch) carries what is to be written, a
/// response Bundle (transaction-response, batch-response) what was written, a searchset what
/// was found, a document or message its content, a history the versions (newest first).
pub const BUNDLE_TYPES: &[&str] = &[
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
];

fn invalid(msg: impl Into<String>) -> ConnectorError {
    ConnectorError::invalid_input(msg)
}

/// Reads only `resourceType` (and `type`, for a Bundle) of a document.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Kind {
    #[serde(rename = "resourceType")]
    resource_type: Option<serde_json::Value>,
    #[serde(rename = "type")]
    type_: Option<serde_json::Value>,
}

/// Splits the input into resources. One JSON document is a Bundle or a lone resource; text
/// that is not one JSON document but whose lines hold JSON objects is NDJSON (one resource per
/// line, a bad line is one issue). Anything else is refused, naming a position, never content.
pub(super) fn split(
    input: &[u8],
    issues: &mut Vec<c::ImportIssue>,
) -> Result<(Format, Vec<Source>), ConnectorError> {
    let text = std::str::from_utf8(input)
        .map_err(|e| invalid(format!("input is not UTF-8 (byte {})", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(invalid("input is empty"));
    }
    let document = match serde_json::from_str::<Box<RawValue>>(text) {
        Ok(raw) => raw,
        Err(whole) => {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let some_line_is_a_resource = lines.iter().any(|l| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(l.trim()).is_ok()
            });
            if lines.len() > 1 && some_line_is_a_resource {
                return Ok((Format::Ndjson, ndjson(text, issues)));
            }
            return Err(invalid(format!(
                "input is neither a JSON document nor NDJSON ({:?} error at line {} column {})",
                whole.classify(),
                whole.line(),
                whole.column()
            )));
        }
    };
    let not_resource =
        || invalid("input is JSON but not a FHIR resource: expected an object with a resourceType");
    if !document.get().trim_start().starts_with('{') {
        return Err(not_resource());
    }
    let kind: Kind = serde_json::from_str(document.get()).map_err(|_| not_resource())?;
    match kind.resource_type {
        Some(serde_json::Value::String(t)) if t == "Bundle" => bundle(&document, kind.type_),
        Some(serde_json::Value::String(t)) if super::values::is_type_name(&t) => Ok((
            Format::Resource,
            vec![Source {
                position: 0,
                full_url: None,
                raw: document,
            }],
        )),
        _ => Err(invalid(
            "input is JSON but not a FHIR resource: /resourceType is missing or not a type name",
        )),
    }
}

fn bundle(
    document: &RawValue,
    type_: Option<serde_json::Value>,
) -> Result<(Format, Vec<Source>), ConnectorError> {
    let type_ = match type_ {
        Some(serde_json::Value::String(t)) => t,
        None => return Err(invalid("/type: Bundle.type is missing")),
        Some(_) => return Err(invalid("/type: Bundle.type is not a string")),
    };
    if !BUNDLE_TYPES.contains(&type_.as_str()) {
        return Err(invalid(format!(
            "/type: Bundle.type is not a FHIR bundle type (one of {})",
            BUNDLE_TYPES.join(", ")
        )));
    }
    let bundle: m::Bundle = {
        let de = &mut serde_json::Deserializer::from_str(document.get());
        serde_path_to_error::deserialize(de).map_err(|e| {
            invalid(format!(
                "/{}: the Bundle has the wrong shape",
                e.path().to_string().replace('.', "/")
            ))
        })?
    };
    let entries = bundle.entry.len();
    let sources: Vec<Source> = bundle
        .entry
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            Some(Source {
                position: i as u64,
                full_url: e.full_url,
                raw: e.resource?,
            })
        })
        .collect();
    if sources.is_empty() {
        return Err(invalid(format!(
            "/entry: the {type_} Bundle carries no resources ({entries} entries, none with entry.resource)"
        )));
    }
    Ok((Format::Bundle, sources))
}

fn ndjson(text: &str, issues: &mut Vec<c::ImportIssue>) -> Vec<Source> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let position = i as u64 + 1;
        match serde_json::from_str::<Box<RawValue>>(line) {
            Ok(raw) => out.push(Source {
                position,
                full_url: None,
                raw,
            }),
            Err(e) => issues.push(c::ImportIssue {
                position: Some(position),
                code: codes::MALFORMED.into(),
                message: format!(
                    "line {position} is not valid JSON ({:?} error at column {})",
                    e.classify(),
                    e.column()
                ),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(input: &str) -> Result<(Format, usize, usize), String> {
        let mut issues = Vec::new();
        split(input.as_bytes(), &mut issues)
            .map(|(f, s)| (f, s.len(), issues.len()))
            .map_err(|e| e.message)
    }

    #[test]
    fn a_pretty_printed_lone_resource_is_one_resource_not_ndjson() {
        let input = "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p1\"\n}\n";
        assert_eq!(shape(input), Ok((Format::Resource, 1, 0)));
    }

    #[test]
    fn every_bundle_type_that_carries_resources_is_read() {
        for t in BUNDLE_TYPES {
            let input = format!(
                r#"{{"resourceType":"Bundle","type":"{t}","entry":[{{"response":{{"status":"201"}}}},{{"resource":{{"resourceType":"Patient","id":"a"}}}}]}}"#
            );
            let (format, sources) = split(input.as_bytes(), &mut Vec::new()).unwrap();
            assert_eq!(format, Format::Bundle, "{t}");
            assert_eq!(sources.len(), 1, "{t}");
            assert_eq!(sources[0].position, 1, "{t}: the entry index is kept");
        }
    }

    #[test]
    fn a_bundle_without_resources_or_of_no_known_type_is_refused_with_a_pointer() {
        let none = r#"{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1"}}]}"#;
        let err = shape(none).unwrap_err();
        assert_eq!(
            err,
            "/entry: the batch Bundle carries no resources (1 entries, none with entry.resource)"
        );
        let empty = r#"{"resourceType":"Bundle","type":"searchset","total":0}"#;
        assert!(
            shape(empty)
                .unwrap_err()
                .starts_with("/entry: the searchset Bundle")
        );
        let bad = r#"{"resourceType":"Bundle","type":"bag","entry":[]}"#;
        assert!(
            shape(bad)
                .unwrap_err()
                .starts_with("/type: Bundle.type is not a FHIR bundle type")
        );
        let missing = r#"{"resourceType":"Bundle","entry":[]}"#;
        assert_eq!(shape(missing).unwrap_err(), "/type: Bundle.type is missing");
    }

    #[test]
    fn ndjson_needs_several_lines_and_a_bad_line_is_an_issue() {
        let input = "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{not json\n{\"resourceType\":\"Patient\",\"id\":\"b\"}\n";
        assert_eq!(shape(input), Ok((Format::Ndjson, 2, 1)));
        let one_line = "{\"resourceType\":\"Patient\",\"id\":\"a\"}";
        assert_eq!(shape(one_line), Ok((Format::Resource, 1, 0)));
    }

    #[test]
    fn other_input_is_refused_naming_the_position_only() {
        assert!(
            shape("{\n \"resourceType\": \"Patient\",\n \"id\": \"secret\"\n")
                .unwrap_err()
                .starts_with("input is neither a JSON document nor NDJSON (Eof error at line 4")
        );
        assert_eq!(
            shape("[1, 2]").unwrap_err(),
            "input is JSON but not a FHIR resource: expected an object with a resourceType"
        );
        assert_eq!(
            shape(r#"{"name": "x"}"#).unwrap_err(),
            "input is JSON but not a FHIR resource: /resourceType is missing or not a type name"
        );
        assert_eq!(shape("  \n").unwrap_err(), "input is empty");
    }
}
