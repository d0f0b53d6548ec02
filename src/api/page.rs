//! Paging by cursor: `?limit=&cursor=`, answered `{"items": […],
//! "next_cursor": "…" | null}`. A cursor is opaque to clients: the id of
//! the last item given, so that rows added or removed meanwhile neither
//! repeat nor skip what is left.

use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// The most items one page holds, and the default.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 100;

/// `?limit=&cursor=`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of items.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Give it as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A checked `limit` and the id after which the page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: usize,
    pub after: Option<i64>,
}

impl PageQuery {
    /// The limit and cursor checked: 400 naming the field otherwise.
    pub fn window(&self) -> Result<Window, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::field(
                "limit",
                &limit.to_string(),
                "must be 1 to 1000",
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(cursor) => Some(decode(cursor).ok_or_else(|| {
                ApiError::field(
                    "cursor",
                    cursor,
                    "is not a cursor this API gave (use next_cursor as it came)",
                )
            })?),
        };
        Ok(Window { limit, after })
    }
}

fn encode(id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("after:{id}"))
}

fn decode(cursor: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("after:")?
        .parse()
        .ok()
}

impl Window {
    /// The page of `items` (in ascending `id` order) after the cursor,
    /// each made into what is answered by `to`.
    pub fn page<I, T>(
        &self,
        items: impl IntoIterator<Item = I>,
        id: impl Fn(&I) -> i64,
        to: impl Fn(I) -> T,
    ) -> Page<T> {
        let mut rest = items
            .into_iter()
            .filter(|item| self.after.is_none_or(|after| id(item) > after));
        let mut taken = Vec::with_capacity(self.limit.min(256));
        let mut last = None;
        for item in rest.by_ref().take(self.limit) {
            last = Some(id(&item));
            taken.push(to(item));
        }
        let more = rest.next().is_some();
        Page {
            items: taken,
            next_cursor: if more { last.map(encode) } else { None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_one_another_without_gaps() {
        let query = PageQuery {
            limit: Some(2),
            cursor: None,
        };
        let first = query.window().expect("valid").page(1..=5, |i| *i, |i| i);
        assert_eq!(first.items, vec![1, 2]);
        let next = PageQuery {
            limit: Some(2),
            cursor: first.next_cursor,
        };
        let second = next.window().expect("valid").page(1..=5, |i| *i, |i| i);
        assert_eq!(second.items, vec![3, 4]);
        let last = PageQuery {
            limit: Some(2),
            cursor: second.next_cursor,
        }
        .window()
        .expect("valid")
        .page(1..=5, |i| *i, |i| i);
        assert_eq!(last.items, vec![5]);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        for (limit, cursor) in [(Some(0), None), (Some(1001), None), (None, Some("xyz"))] {
            let query = PageQuery {
                limit,
                cursor: cursor.map(str::to_string),
            };
            assert_eq!(
                query.window().err().map(|e| e.status.as_u16()),
                Some(400),
                "{limit:?} {cursor:?}"
            );
        }
    }
}
