//! Pagination of list GETs on Sender interfaces (ocpi-2.2.1.md §1.8), for the modules to use:
//! [`PageRequest::parse`] reads `offset`, `limit`, `date_from`, `date_to`; [`page_reply`]
//! answers a page with `X-Total-Count`, `X-Limit` and, unless it is the last page, a `Link`
//! with `rel="next"` that repeats the filters.
//!
//! Decisions: a `limit` above the server cap (`[ocpi] page_limit`, default 100) is cut to it,
//! and a missing `limit` means the cap; `limit=0` and negative or non-numeric values answer
//! 2001; `date_from`/`date_to` are parsed leniently (§1.6) and a `date_to` not after
//! `date_from` is no error (the page is empty). Unknown query parameters are ignored.

use std::fmt::Write as _;

use chrono::{DateTime as ChronoDateTime, Utc};
use serde::Serialize;

use super::failure::OcpiError;
use super::transport::Reply;
use crate::node::ops::percent_decode;
use crate::ocpi::v221::types::DateTime;

/// `X-Total-Count`.
pub const TOTAL_COUNT: &str = "x-total-count";
/// `X-Limit`.
pub const LIMIT: &str = "x-limit";
/// `Link`.
pub const LINK: &str = "link";

/// What a list GET asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Index of the first object.
    pub offset: u64,
    /// Objects wanted, already capped.
    pub limit: u32,
    /// `last_updated >= date_from`.
    pub date_from: Option<ChronoDateTime<Utc>>,
    /// `last_updated < date_to`.
    pub date_to: Option<ChronoDateTime<Utc>>,
    /// The server cap (sent as `X-Limit`).
    pub cap: u32,
}

impl PageRequest {
    /// Reads the query string with the server cap `cap`.
    pub fn parse(query: &str, cap: u32) -> Result<Self, OcpiError> {
        let mut page = Self {
            offset: 0,
            limit: cap,
            date_from: None,
            date_to: None,
            cap,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(&value.replace('+', " "));
            let bad = |what: &str| OcpiError::InvalidParameter(format!("{key}: {what}"));
            match key {
                "offset" => {
                    page.offset = value
                        .parse()
                        .map_err(|_| bad("must be a whole number, 0 or more"))?;
                }
                "limit" => {
                    let limit: u32 = value
                        .parse()
                        .map_err(|_| bad("must be a whole number, 1 or more"))?;
                    if limit == 0 {
                        return Err(bad("must be 1 or more"));
                    }
                    page.limit = limit.min(cap);
                }
                "date_from" | "date_to" => {
                    let at = DateTime::parse(value.trim())
                        .map_err(|e| bad(&e.to_string()))?
                        .value();
                    if key == "date_from" {
                        page.date_from = Some(at);
                    } else {
                        page.date_to = Some(at);
                    }
                }
                _ => {}
            }
        }
        Ok(page)
    }

    /// Whether an object last updated at `at` passes the date filters.
    pub fn admits(&self, at: ChronoDateTime<Utc>) -> bool {
        self.date_from.is_none_or(|from| at >= from) && self.date_to.is_none_or(|to| at < to)
    }

    /// The query of the next page, when one follows a page of `returned` objects out of
    /// `total`.
    pub fn next_query(&self, returned: usize, total: u64) -> Option<String> {
        let next = self.offset + returned as u64;
        if returned == 0 || next >= total {
            return None;
        }
        let mut query = format!("offset={next}&limit={}", self.limit);
        for (key, at) in [("date_from", self.date_from), ("date_to", self.date_to)] {
            if let Some(at) = at {
                let _ = write!(query, "&{key}={}", DateTime::from_utc(at).as_str());
            }
        }
        Some(query)
    }
}

/// The answer of one page: `items` (already cut to the page) out of `total` matching objects;
/// `url` is the public URL of the list without query.
pub fn page_reply<T: Serialize>(url: &str, page: &PageRequest, items: &[T], total: u64) -> Reply {
    let mut reply = Reply::ok(&items)
        .header(TOTAL_COUNT, total.to_string())
        .header(LIMIT, page.cap.to_string());
    if let Some(query) = page.next_query(items.len(), total) {
        reply = reply.header(LINK, format!("<{url}?{query}>; rel=\"next\""));
    }
    reply
}

/// The URL of the `rel="next"` link in a `Link` header value, if any (§1.8).
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_capped_and_checked() {
        let p = PageRequest::parse(
            "offset=10&limit=500&date_from=2024-01-01T00%3A00%3A00Z&x=1",
            100,
        )
        .unwrap();
        assert_eq!((p.offset, p.limit, p.cap), (10, 100, 100));
        assert!(p.date_from.is_some() && p.date_to.is_none());
        assert_eq!(PageRequest::parse("", 50).unwrap().limit, 50);
        for bad in [
            "limit=0",
            "limit=-1",
            "offset=x",
            "date_to=yesterday",
            "date_from=2024-01-01T00:00:00+00:00",
        ] {
            let e = PageRequest::parse(bad, 100).unwrap_err();
            assert_eq!(e.status_code(), 2001, "{bad}");
        }
    }

    #[test]
    fn the_date_window_is_inclusive_then_exclusive() {
        let p = PageRequest::parse(
            "date_from=2024-01-01T00:00:00Z&date_to=2024-01-02T00:00:00Z",
            10,
        )
        .unwrap();
        let at = |s: &str| DateTime::parse(s).unwrap().value();
        assert!(p.admits(at("2024-01-01T00:00:00Z")));
        assert!(p.admits(at("2024-01-01T23:59:59.999Z")));
        assert!(!p.admits(at("2024-01-02T00:00:00Z")));
        assert!(!p.admits(at("2023-12-31T23:59:59Z")));
    }

    #[test]
    fn the_next_link_repeats_the_filters_until_the_last_page() {
        let p = PageRequest::parse("offset=0&limit=2&date_from=2024-01-01T00:00:00Z", 100).unwrap();
        let reply = page_reply("http://h/ocpi/2.2.1/locations", &p, &[1, 2], 5);
        let response = reply.into_response();
        let link = response.headers().get(LINK).unwrap().to_str().unwrap();
        assert_eq!(
            next_link(link).as_deref(),
            Some("http://h/ocpi/2.2.1/locations?offset=2&limit=2&date_from=2024-01-01T00:00:00Z")
        );
        assert_eq!(response.headers().get(TOTAL_COUNT).unwrap(), "5");
        assert_eq!(response.headers().get(LIMIT).unwrap(), "100");
        let last = PageRequest::parse("offset=4&limit=2", 100).unwrap();
        assert!(last.next_query(1, 5).is_none());
        assert!(last.next_query(0, 9).is_none());
    }

    #[test]
    fn link_headers_of_partners_are_read() {
        assert_eq!(
            next_link("<https://x/cdrs/?offset=150&limit=50>; rel=\"next\"").as_deref(),
            Some("https://x/cdrs/?offset=150&limit=50")
        );
        assert_eq!(
            next_link("<https://x/a>; rel=prev, <https://x/b>; rel=next").as_deref(),
            Some("https://x/b")
        );
        assert_eq!(next_link("<https://x/a>; rel=\"prev\""), None);
    }
}
