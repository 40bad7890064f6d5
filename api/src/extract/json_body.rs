//! JSON request bodies: parsed, checked by their rules, and every field's error pointed at
//! (several at once, recovered past the first).

use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use revcycle_core::error::CoreError;
use revcycle_core::validation::{FieldError, Rules};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::body::{body_timeout, declared_length, read_limited};
use super::pointers::{plain_name, pointer};
use crate::problem::ApiError;
use crate::state::AppState;

/// A JSON request body, parsed into `T`, with a hash of the raw bytes for idempotency checks.
pub struct JsonBody<T> {
    pub value: T,
    pub hash: String,
}

/// serde messages can quote the offending value ("invalid value: string \"Jane\"..."), so
/// only messages we wrote ourselves (from value types) or serde's structural ones are kept.
fn safe_message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if msg.starts_with("missing field") || msg.starts_with("unknown field") {
        // Field names come from our schema, not from the client's values... except unknown
        // field names, which the client chose; keep the rule, drop the name.
        if msg.starts_with("unknown field") {
            return "unknown field".into();
        }
        return "required field is missing".into();
    }
    // `null` where a value is required: the value is missing, whatever its type would be.
    if msg.starts_with("invalid type: null") {
        return "required field is missing".into();
    }
    if msg.starts_with("invalid type") {
        // "invalid type: integer `5`, expected a string": keep what was expected.
        return match msg.split_once(", expected ") {
            Some((_, expected)) => format!("wrong type: expected {expected}"),
            None => "wrong type".into(),
        };
    }
    if msg.starts_with("invalid value")
        || msg.starts_with("unknown variant")
        || msg.starts_with("premature end")
        || msg.starts_with("input contains invalid characters")
        || msg.starts_with("invalid length")
    {
        return match msg.split_once(", expected ") {
            Some((_, expected)) => format!("invalid value: expected {expected}"),
            None => "invalid value".into(),
        };
    }
    if msg.contains("UUID parsing failed") {
        return "must be a UUID".into();
    }
    // Errors raised by our own value types (`codes`) describe the rule and never the input.
    msg
}

/// Parses a JSON body into `T` and applies the boundary rule for text to every string in it
/// (the same on both engines). A body that fails is answered once, naming every field to fix:
/// each value of the wrong type, each missing member, each malformed code, each text that
/// breaks the boundary rule, and every rule of `T` (see [`Rules`]) on the fields that did parse.
pub fn parse_json<T: DeserializeOwned + Rules>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = match parse_shape::<T>(bytes)? {
        Ok(value) => {
            // The shape is ours now, so the member names the pointers are built from are ours too.
            let document: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|_| ApiError::BadRequest("the body is not valid JSON".into()))?;
            let text = revcycle_core::validation::json_text_errors(&document);
            if text.is_empty() {
                return Ok(value);
            }
            let mut errors = text;
            errors.extend(value.rule_errors(&[]));
            return Err(invalid(errors));
        }
        Err(first) => first,
    };
    let document: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::BadRequest("the body is not valid JSON".into()))?;
    if !document.is_object() {
        // Every body of this API is an object (serde would also read a struct from an array,
        // and name its items: not what the client meant).
        return Err(invalid(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    let budget = (RECOVERY_BYTES / bytes.len().max(1)).clamp(MIN_ATTEMPTS, MAX_ATTEMPTS);
    let recovered = recover::<T>(document, first, budget);
    let mut errors = recovered.errors;
    if let Some((value, document)) = recovered.stand_in {
        // Stand-ins are plain text, and members that are not ours were taken out.
        errors.extend(
            revcycle_core::validation::json_text_errors(&document)
                .into_iter()
                .filter(|e| !recovered.unparsed.iter().any(|u| within(&e.pointer, u))),
        );
        errors.extend(value.rule_errors(&recovered.unparsed));
    }
    Err(invalid(errors))
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::Core(CoreError::Invalid(
        revcycle_core::validation::one_per_field(errors),
    ))
}

/// Whether `pointer` is `at` or inside it.
fn within(pointer: &str, at: &str) -> bool {
    pointer == at || (pointer.starts_with(at) && pointer.as_bytes().get(at.len()) == Some(&b'/'))
}

/// Bytes of parsing a failed body may cost, spread over its attempts: a large body gets
/// fewer attempts, so a hostile one cannot buy much work.
const RECOVERY_BYTES: usize = 8 << 20;
const MIN_ATTEMPTS: usize = 8;
const MAX_ATTEMPTS: usize = 2_000;
/// Most fields one answer names.
const MAX_FIELD_ERRORS: usize = 100;

/// One shape error: where, what to tell the client, and serde's own message (which may quote
/// the value: it only guides the search for a stand-in and is never shown).
struct ShapeError {
    pointer: String,
    message: String,
    raw: String,
    /// A member the client sent that the schema does not have (to take out).
    unknown: Option<String>,
}

fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> ShapeError {
    let at = pointer(err.path());
    let inner = err.into_inner();
    let raw = inner.to_string();
    let quoted = raw.split('`').nth(1).unwrap_or_default().to_string();
    if raw.starts_with("missing field") {
        // The path points at the object; name the missing member.
        return ShapeError {
            pointer: format!("{at}/{quoted}"),
            message: safe_message(&inner),
            raw,
            unknown: None,
        };
    }
    if raw.starts_with("unknown field") {
        // The path ends with the client's member name: echo it only if it could be ours.
        let parent = at
            .rsplit_once('/')
            .map(|(p, _)| p)
            .unwrap_or("")
            .to_string();
        let shown = if plain_name(&quoted) {
            at.clone()
        } else {
            parent
        };
        return ShapeError {
            pointer: shown,
            message: safe_message(&inner),
            raw,
            unknown: Some(at),
        };
    }
    ShapeError {
        pointer: at,
        message: safe_message(&inner),
        raw,
        unknown: None,
    }
}

/// Parses the body; a syntax error is the client's 400, a shape error is returned to recover
/// from.
fn parse_shape<T: DeserializeOwned>(bytes: &[u8]) -> Result<Result<T, ShapeError>, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(v) => Ok(Ok(v)),
        Err(err) => {
            let inner = err.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::BadRequest(format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                )));
            }
            Ok(Err(shape_error(err)))
        }
    }
}

/// What recovering from shape errors found.
struct Recovered<T> {
    /// Every shape error, in the order met.
    errors: Vec<FieldError>,
    /// Fields that hold stand-ins (or were taken out).
    unparsed: Vec<String>,
    /// The body parsed with stand-ins, and the document it was parsed from; `None` when a
    /// field found no stand-in (or the budget ran out), so the rules cannot be checked.
    stand_in: Option<(T, serde_json::Value)>,
}

/// Finds every shape error of a document, not only the first: each field that does not parse
/// is reported, then given a stand-in value of the right shape (or taken out, if it is not a
/// member of ours) and the document parsed again, until it parses or `budget` attempts are
/// spent.
fn recover<T: DeserializeOwned>(
    mut doc: serde_json::Value,
    first: ShapeError,
    budget: usize,
) -> Recovered<T> {
    let parse = |doc: &serde_json::Value| -> Result<T, ShapeError> {
        serde_path_to_error::deserialize(doc).map_err(shape_error)
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let mut unparsed: Vec<String> = Vec::new();
    let mut attempts = 0;
    let mut current = Err(first);
    loop {
        let failure = match current {
            Ok(value) => {
                return Recovered {
                    errors,
                    unparsed,
                    stand_in: Some((value, doc)),
                };
            }
            Err(f) => f,
        };
        let covered = unparsed.iter().any(|u| within(&failure.pointer, u));
        let target = failure.unknown.clone().unwrap_or(failure.pointer.clone());
        if !covered
            && !errors
                .iter()
                .any(|e| e.pointer == failure.pointer && e.message == failure.message)
        {
            errors.push(FieldError::new(
                failure.pointer.clone(),
                failure.message.clone(),
            ));
        }
        if errors.len() >= MAX_FIELD_ERRORS || target.is_empty() {
            break;
        }
        // Try stand-ins until the document gets past this field.
        let mut next = None;
        let candidates: Vec<Option<serde_json::Value>> = if failure.unknown.is_some() {
            vec![None]
        } else {
            stand_ins(&failure.raw).into_iter().map(Some).collect()
        };
        for candidate in candidates {
            if attempts >= budget {
                break;
            }
            attempts += 1;
            if !put(&mut doc, &target, candidate) {
                break;
            }
            let result = parse(&doc);
            let moved_on = match &result {
                Ok(_) => true,
                Err(f) => f.unknown.as_ref().unwrap_or(&f.pointer) != &target,
            };
            if moved_on {
                next = Some(result);
                break;
            }
        }
        match next {
            Some(result) => {
                if !unparsed.contains(&target) {
                    unparsed.push(target);
                }
                current = result;
            }
            None => break,
        }
    }
    Recovered {
        errors,
        unparsed,
        stand_in: None,
    }
}

/// Values of the shapes our request types take, tried in turn where a field did not parse:
/// the first one the field's type accepts stands in for it. Values the error names as
/// expected come first.
fn stand_ins(raw: &str) -> Vec<serde_json::Value> {
    use serde_json::{Value, json};
    let mut out: Vec<Value> = Vec::new();
    // serde names enum variants it expects in backticks after "expected"; our own rules name
    // allowed values in double quotes. Neither part quotes the client's value.
    let expected = raw.split_once(", expected ").map(|(_, e)| e);
    if let Some(e) = expected {
        out.extend(e.split('`').skip(1).step_by(2).map(|v| json!(v)));
    }
    let ours = expected.unwrap_or(if raw.starts_with("invalid") { "" } else { raw });
    out.extend(ours.split('"').skip(1).step_by(2).map(|v| json!(v)));
    out.extend([
        Value::Null,
        json!("1"),
        json!("11"),
        json!("1.00"),
        json!("x"),
        json!("I10"),
        json!("99213"),
        json!("IL"),
        json!("62701"),
        json!("1234567893"),
        json!("123456789"),
        json!("207Q00000X"),
        json!("2000-01-01"),
        json!("00000000-0000-0000-0000-000000000000"),
        json!(1),
        json!(true),
        json!([]),
        json!({}),
    ]);
    out
}

/// Sets (or, with `None`, removes) the member at `pointer`, creating it in its object if
/// missing. False if the pointer does not lead into the document.
fn put(doc: &mut serde_json::Value, pointer: &str, value: Option<serde_json::Value>) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(serde_json::Value::Object(members)) => {
            match value {
                Some(v) => {
                    members.insert(last, v);
                }
                None => {
                    members.remove(&last);
                }
            }
            true
        }
        Some(serde_json::Value::Array(items)) => match (last.parse::<usize>(), value) {
            (Ok(i), Some(v)) if i < items.len() => {
                items[i] = v;
                true
            }
            _ => false,
        },
        _ => false,
    }
}

impl<T: DeserializeOwned + Rules + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.body_limit)
            .unwrap_or(1 << 20);
        let content_type = json_content_type(req);
        let declared_len = declared_length(req);
        let timeout = body_timeout(req);
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            let body = read_limited(&mut payload, declared_len, limit, timeout).await?;
            let value = parse_json::<T>(&body)?;
            let hash = hex::encode(Sha256::digest(&body));
            Ok(JsonBody { value, hash })
        })
    }
}

/// `application/json` (or `+json`) in UTF-8, the only encoding JSON has (RFC 8259): any other
/// declared charset is refused rather than guessed at.
fn json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be application/json".into(),
        ));
    }
    for param in parts {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        if name.trim().eq_ignore_ascii_case("charset")
            && !val.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON encoded in UTF-8 (charset=utf-8 or none)".into(),
            ));
        }
    }
    Ok(())
}
