//! Query parameters, checked like a JSON body.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use revcycle_core::error::CoreError;
use serde::de::DeserializeOwned;

use super::pointers::{plain_name, pointer};
use crate::problem::ApiError;

/// Query parameters parsed into `T`, with the same rules as a JSON body: a 422 whose pointer
/// is the parameter's name from our schema (never the value), and the boundary rule for text
/// on every value.
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded_pairs(query);
    let mut errors = Vec::new();
    for (name, value) in &pairs {
        if let Some(why) = revcycle_core::validation::text_problem(
            value,
            revcycle_core::validation::TextKind::Line,
        ) {
            let at = if plain_name(name) {
                format!("/{name}")
            } else {
                String::new()
            };
            errors.push(revcycle_core::validation::FieldError::new(at, why));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Core(CoreError::Invalid(errors)));
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let at = pointer(err.path());
        let at = if at.split('/').skip(1).all(plain_name) {
            at
        } else {
            String::new()
        };
        let msg = err.into_inner().to_string();
        // serde_urlencoded's messages quote the value ("unknown variant `X`") or say nothing
        // of the rule ("invalid digit found in string"): keep what was expected, if anything.
        let message = if let Some((_, expected)) = msg.split_once(", expected ") {
            format!("invalid value: expected {expected}")
        } else if msg.starts_with("missing field") {
            "required parameter is missing".to_string()
        } else if msg.contains("UUID") {
            "must be a UUID".to_string()
        } else if msg.contains("digit") || msg.contains("number") {
            "must be a whole number in range".to_string()
        } else {
            "invalid value".to_string()
        };
        let at = if message == "required parameter is missing" {
            let name = msg.split('`').nth(1).unwrap_or_default();
            if plain_name(name) {
                format!("{at}/{name}")
            } else {
                at
            }
        } else {
            at
        };
        ApiError::Core(CoreError::invalid(at, message))
    })
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}
