//! Cursor pagination over UUIDv7 primary keys (which sort by creation time).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::model::{Page, Versioned};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListParams {
    pub fn limit(&self) -> CoreResult<i64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
            Some(_) => Err(CoreError::invalid(
                "/limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }

    /// The id after which this page starts ("" sorts before every id).
    pub fn after(&self) -> CoreResult<String> {
        match &self.cursor {
            None => Ok(String::new()),
            Some(c) => decode_cursor(c)
                .map(|id| id.to_string())
                .ok_or_else(|| CoreError::invalid("/cursor", "is not a cursor this API returned")),
        }
    }
}

/// The limit of a search (one page, no cursor), checked as a list's.
pub fn search_limit(limit: Option<i64>) -> CoreResult<i64> {
    ListParams {
        limit,
        cursor: None,
    }
    .limit()
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(c: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// Given `limit + 1` records read in id order, the page of `limit` of them, with the cursor
/// of the next page when there was one more.
pub fn finish_page<T>(mut items: Vec<T>, limit: i64, id_of: impl Fn(&T) -> Uuid) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|r| encode_cursor(id_of(r)))
    } else {
        None
    };
    Page { items, next_cursor }
}

/// [`finish_page`] over rows that become records one by one.
pub fn page_of<R, T: Versioned>(
    rows: Vec<R>,
    limit: i64,
    into_model: impl FnMut(R) -> CoreResult<T>,
) -> CoreResult<Page<T>> {
    let items = rows
        .into_iter()
        .map(into_model)
        .collect::<CoreResult<Vec<_>>>()?;
    Ok(finish_page(items, limit, T::id))
}
