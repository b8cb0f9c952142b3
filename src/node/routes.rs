//! The route every request took, recorded: a tracing field (`route` on the request span), a
//! metric label (`GET /metrics`, Prometheus text format) and the admin API
//! (`GET /admin/routes`).
//!
//! Route values: `local` (answered from the store or by an own party's backend), `direct`
//! (the peer), `clearing-house`, `clearing-house-fallback` (direct-then-clearing-house after
//! the peer failed), `both` (peer and clearing house).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use serde::Serialize;

/// How a request was routed, as recorded.
#[derive(Debug, Clone, Default)]
pub struct RouteNote {
    /// The partner the request went to (or came from, for local answers).
    pub partner: Option<String>,
    /// The route taken.
    pub route: Option<&'static str>,
}

/// One counter of the route log.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteCount {
    /// Operation name.
    pub operation: String,
    /// Partner (`-` when none).
    pub partner: String,
    /// Route taken.
    pub route: String,
    /// OICP status code of the answer.
    pub code: String,
    /// How many requests.
    pub count: u64,
}

type Key = (String, String, String, String);

/// Counters of requests by operation, partner, route and answer code.
#[derive(Debug, Default)]
pub struct RouteLog {
    counts: Mutex<BTreeMap<Key, u64>>,
}

impl RouteLog {
    /// Counts one request.
    pub fn record(&self, operation: &str, note: &RouteNote, code: &str) {
        let key = (
            operation.to_owned(),
            note.partner.clone().unwrap_or_else(|| "-".to_owned()),
            note.route.unwrap_or("local").to_owned(),
            code.to_owned(),
        );
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry(key).or_default() += 1;
    }

    /// All counters, ordered.
    pub fn snapshot(&self) -> Vec<RouteCount> {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts
            .iter()
            .map(|((operation, partner, route, code), count)| RouteCount {
                operation: operation.clone(),
                partner: partner.clone(),
                route: route.clone(),
                code: code.clone(),
                count: *count,
            })
            .collect()
    }

    /// The counters in Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::from(
            "# HELP roambridge_requests_total OICP requests answered, by operation, partner, route and status code.\n\
             # TYPE roambridge_requests_total counter\n",
        );
        for c in self.snapshot() {
            let _ = writeln!(
                out,
                "roambridge_requests_total{{operation=\"{}\",partner=\"{}\",route=\"{}\",code=\"{}\"}} {}",
                escape(&c.operation),
                escape(&c.partner),
                escape(&c.route),
                escape(&c.code),
                c.count
            );
        }
        out
    }
}

/// Escapes a Prometheus label value.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let log = RouteLog::default();
        let note = RouteNote {
            partner: Some("DE-GDF".into()),
            route: Some("direct"),
        };
        log.record("PushEvseStatus", &note, "000");
        log.record("PushEvseStatus", &note, "000");
        log.record("AuthorizeStart", &RouteNote::default(), "210");
        let snap = log.snapshot();
        assert_eq!(snap.len(), 2);
        assert_eq!(snap[1].count, 2);
        assert_eq!(snap[0].route, "local");
        let text = log.prometheus();
        assert!(text.contains(
            "roambridge_requests_total{operation=\"PushEvseStatus\",partner=\"DE-GDF\",route=\"direct\",code=\"000\"} 2"
        ));
    }
}
