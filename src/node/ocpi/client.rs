//! The outbound OCPI client over awc: `Authorization: Token`, fresh `X-Request-ID`, a kept or
//! fresh `X-Correlation-ID`, routing headers on functional modules, envelope parsing and
//! pagination that follows `Link` (ocpi-2.2.1.md §1).
//!
//! Tolerated from partners: HTTP 403 instead of 401 (both are [`ClientError::Unauthorized`]),
//! redirects (a missing trailing slash answered with 307/308 is followed), a missing
//! `timestamp`, `data` absent or `null`.

use std::time::Duration;

use awc::http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::pagination::{LINK, TOTAL_COUNT, next_link};
use super::transport::{CORRELATION_ID, Envelope, REQUEST_ID, Routing, authorization};
use crate::ocpi::v221::{Validate, parse_forwarding};

/// Largest response body read.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Most pages [`OcpiClient::get_all`] follows (a safety net against a partner's endless
/// `Link` loop).
pub const MAX_PAGES: usize = 10_000;

/// Why a call to a partner failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error("{url}: no answer: {reason}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
    /// HTTP 401 or 403: the partner does not accept our token.
    #[error("{url}: the partner refused our token (HTTP {http})")]
    Unauthorized {
        /// The URL called.
        url: String,
        /// 401 or 403.
        http: u16,
    },
    /// Another HTTP status than 2xx.
    #[error("{url}: HTTP {http}{}", status.map(|s| format!(", OCPI status {s}")).unwrap_or_default())]
    Http {
        /// The URL called.
        url: String,
        /// The HTTP status.
        http: u16,
        /// The OCPI status code, if the body had one.
        status: Option<u16>,
    },
    /// HTTP 2xx but an OCPI status code outside 1xxx.
    #[error("{url}: OCPI status {status}: {message}")]
    Status {
        /// The URL called.
        url: String,
        /// The status code.
        status: u16,
        /// The status message.
        message: String,
    },
    /// The body is no envelope, or its `data` is not what the endpoint returns.
    #[error("{url}: invalid answer: {reason}")]
    Invalid {
        /// The URL called.
        url: String,
        /// Why.
        reason: String,
    },
}

impl ClientError {
    /// Whether the partner did not answer in time (a kind of [`ClientError::Unreachable`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Unreachable { reason, .. } if reason.to_ascii_lowercase().contains("timeout"))
    }
}

/// How to call one partner.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The credentials token we present.
    pub token: &'a str,
    /// Send it unencoded.
    pub raw_token: bool,
    /// The correlation ID to keep (a fresh one if `None`).
    pub correlation_id: Option<&'a str>,
    /// Routing headers (functional modules only; `Routing::default()` sends none).
    pub routing: Routing,
    /// Timeout of the exchange.
    pub timeout: Duration,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status (2xx).
    pub http: u16,
    /// The envelope, `data` untyped.
    pub envelope: Envelope<serde_json::Value>,
    /// The `X-Request-ID` of the request we sent.
    pub request_id: String,
    /// The `X-Correlation-ID` the partner answered with (ours if it sent none).
    pub correlation_id: String,
    /// The `rel="next"` URL of a page.
    pub next: Option<String>,
    /// `X-Total-Count` of a page.
    pub total: Option<u64>,
}

impl Answer {
    /// `data` as `T`, checked with the model's rules (unknown enum values kept).
    pub fn data<T: DeserializeOwned + Validate>(&self, url: &str) -> Result<T, ClientError> {
        let value = self
            .envelope
            .data
            .clone()
            .unwrap_or(serde_json::Value::Null);
        let bytes = serde_json::to_vec(&value).map_err(|e| ClientError::Invalid {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        parse_forwarding::<T>(&bytes).map_err(|errors| ClientError::Invalid {
            url: url.to_owned(),
            reason: errors
                .iter()
                .take(3)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// The client. Cheap to clone; create it on the thread that uses it (awc is single-threaded).
#[derive(Clone)]
pub struct OcpiClient {
    http: awc::Client,
}

impl std::fmt::Debug for OcpiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcpiClient").finish_non_exhaustive()
    }
}

impl Default for OcpiClient {
    fn default() -> Self {
        Self::new()
    }
}

impl OcpiClient {
    /// A client with connection pooling that follows up to 3 redirects.
    pub fn new() -> Self {
        let http = awc::Client::builder()
            .timeout(Duration::from_mins(10))
            .max_redirects(3)
            .add_default_header((
                "User-Agent",
                concat!("roambridge/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        Self { http }
    }

    /// `GET url`.
    pub async fn get(&self, url: &str, call: &Call<'_>) -> Result<Answer, ClientError> {
        self.send::<()>(Method::GET, url, None, call).await
    }

    /// A request with an optional JSON body; a 2xx answer with OCPI status 1xxx is success.
    pub async fn send<B: Serialize>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        call: &Call<'_>,
    ) -> Result<Answer, ClientError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = call
            .correlation_id
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let mut builder = self
            .http
            .request(method, url)
            .insert_header(("Authorization", authorization(call.token, call.raw_token)))
            .insert_header((REQUEST_ID, request_id.clone()))
            .insert_header((CORRELATION_ID, correlation_id.clone()))
            .insert_header(("Accept", "application/json"))
            .timeout(call.timeout);
        for (name, value) in call.routing.headers() {
            builder = builder.insert_header((name, value));
        }
        let unreachable = |reason: String| ClientError::Unreachable {
            url: url.to_owned(),
            reason,
        };
        let exchange = async {
            let sent = match body {
                Some(b) => {
                    let bytes = serde_json::to_vec(b).map_err(|e| unreachable(e.to_string()))?;
                    builder
                        .insert_header(("Content-Type", "application/json"))
                        .send_body(bytes)
                        .await
                }
                None => builder.send().await,
            };
            let mut response = sent.map_err(|e| unreachable(e.to_string()))?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let next = header(LINK).and_then(|l| next_link(&l));
            let total = header(TOTAL_COUNT).and_then(|t| t.trim().parse().ok());
            let their_correlation = header(CORRELATION_ID);
            let http = response.status().as_u16();
            let bytes = response
                .body()
                .limit(MAX_RESPONSE)
                .await
                .map_err(|e| unreachable(format!("reading the answer failed: {e}")))?;
            Ok::<_, ClientError>((http, bytes, next, total, their_correlation))
        };
        let (http, bytes, next, total, their_correlation) =
            match tokio::time::timeout(call.timeout, exchange).await {
                Ok(r) => r?,
                Err(_) => return Err(unreachable(format!("timeout after {:?}", call.timeout))),
            };
        let envelope = serde_json::from_slice::<Envelope<serde_json::Value>>(&bytes);
        if http == 401 || http == 403 {
            return Err(ClientError::Unauthorized {
                url: url.to_owned(),
                http,
            });
        }
        if !(200..300).contains(&http) {
            return Err(ClientError::Http {
                url: url.to_owned(),
                http,
                status: envelope.ok().map(|e| e.status_code),
            });
        }
        let envelope = envelope.map_err(|e| ClientError::Invalid {
            url: url.to_owned(),
            reason: format!("no OCPI envelope: {e}"),
        })?;
        if !(1000..2000).contains(&envelope.status_code) {
            return Err(ClientError::Status {
                url: url.to_owned(),
                status: envelope.status_code,
                message: envelope.status_message.unwrap_or_default(),
            });
        }
        Ok(Answer {
            http,
            envelope,
            request_id,
            correlation_id: their_correlation.unwrap_or(correlation_id),
            next,
            total,
        })
    }

    /// Every object of a paginated list GET: follows `Link` `rel="next"` (at most
    /// [`MAX_PAGES`] pages), `data` of each page read as a list (`null` as empty). One
    /// correlation ID covers all pages.
    pub async fn get_all(
        &self,
        url: &str,
        call: &Call<'_>,
    ) -> Result<Vec<serde_json::Value>, ClientError> {
        let correlation = call
            .correlation_id
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let call = Call {
            correlation_id: Some(&correlation),
            ..call.clone()
        };
        let mut out = Vec::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ClientError::Invalid {
                    url: url.to_owned(),
                    reason: format!("more than {MAX_PAGES} pages"),
                });
            }
            let answer = self.get(&page_url, &call).await?;
            match answer.envelope.data {
                Some(serde_json::Value::Array(items)) => {
                    let empty = items.is_empty();
                    out.extend(items);
                    // A partner that links on from an empty page would loop forever.
                    if !empty {
                        next = answer.next;
                    }
                }
                None | Some(serde_json::Value::Null) => {}
                Some(_) => {
                    return Err(ClientError::Invalid {
                        url: page_url,
                        reason: "data of a list page is not a list".to_owned(),
                    });
                }
            }
        }
        Ok(out)
    }
}
