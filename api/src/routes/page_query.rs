//! Cursor pagination parameters shared by every list.

use serde::Deserialize;
use utoipa::IntoParams;

/// Cursor pagination parameters shared by every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page; empty or absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn params(&self) -> revcycle_core::store::ListParams {
        revcycle_core::store::ListParams {
            limit: self.limit,
            // `cursor=` (empty) asks for the first page, like no cursor at all.
            cursor: self.cursor.clone().filter(|c| !c.is_empty()),
        }
    }
}
