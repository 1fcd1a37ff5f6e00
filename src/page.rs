//! Cursor pagination: `?limit=` (default 50, max 200) and an opaque `?cursor=`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{Error, Result};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A checked page request: items strictly older than `after` (ids are time-ordered UUIDv7).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u32,
    pub before: Option<Uuid>,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation(format!("limit must be 1 to {MAX_LIMIT}")));
        }
        let before = match &self.cursor {
            None => None,
            Some(c) => {
                Some(decode_cursor(c).ok_or_else(|| Error::validation("cursor is not valid"))?)
            }
        };
        Ok(PageRequest { limit, before })
    }
}

fn decode_cursor(c: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(c).ok()?;
    Uuid::from_slice(&bytes).ok()
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// One page of a list, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says another page exists.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, id: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() > req.limit as usize;
        rows.truncate(req.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(id(r)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_bounded_and_cursor_round_trips() {
        assert!(
            PageQuery {
                limit: Some(0),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            PageQuery {
                limit: Some(201),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert_eq!(PageQuery::default().parse().unwrap().limit, 50);
        let id = Uuid::now_v7();
        let q = PageQuery {
            limit: None,
            cursor: Some(encode_cursor(id)),
        };
        assert_eq!(q.parse().unwrap().before, Some(id));
        assert!(
            PageQuery {
                limit: None,
                cursor: Some("!!".into())
            }
            .parse()
            .is_err()
        );
    }

    #[test]
    fn next_cursor_only_when_more_rows_exist() {
        let req = PageRequest {
            limit: 2,
            before: None,
        };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), req, |u| *u);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode_cursor(ids[1])));
        let page = Page::from_rows(ids[..2].to_vec(), req, |u| *u);
        assert_eq!(page.next_cursor, None);
    }
}
