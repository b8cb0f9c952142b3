//! OCPI transport rules (ocpi-2.2.1.md §1): the response envelope, the `Authorization: Token`
//! header, `X-Request-ID`/`X-Correlation-ID`, the routing headers and body parsing. Used by the
//! server handlers and by the client.

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::failure::OcpiError;
use crate::config::OcpiParty;
use crate::ocpi::v221::ids::{CountryCode, PartyId};
use crate::ocpi::v221::types::DateTime;
use crate::ocpi::v221::{Validate, parse_value};

/// `X-Request-ID`.
pub const REQUEST_ID: &str = "x-request-id";
/// `X-Correlation-ID`.
pub const CORRELATION_ID: &str = "x-correlation-id";
/// `OCPI-to-country-code`.
pub const TO_COUNTRY: &str = "ocpi-to-country-code";
/// `OCPI-to-party-id`.
pub const TO_PARTY: &str = "ocpi-to-party-id";
/// `OCPI-from-country-code`.
pub const FROM_COUNTRY: &str = "ocpi-from-country-code";
/// `OCPI-from-party-id`.
pub const FROM_PARTY: &str = "ocpi-from-party-id";

const JSON: &str = "application/json";

/// The response envelope (§1.5). `data` is left out when there is none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope<T> {
    /// The payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// The OCPI status code.
    pub status_code: u16,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the message was generated. Optional when reading (partners were seen to leave it
    /// out); always written.
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// Now, as an OCPI `DateTime` (`…Z`).
pub fn now() -> String {
    DateTime::from_utc(chrono::Utc::now()).as_str().to_owned()
}

/// `Token <base64(token)>`, or `Token <token>` for a partner that wants it unencoded.
pub fn authorization(token: &str, raw: bool) -> String {
    if raw {
        format!("Token {token}")
    } else {
        format!("Token {}", STANDARD.encode(token.as_bytes()))
    }
}

/// The credentials a request presents: the base64-decoded form (when the value decodes to
/// printable ASCII) and the value as sent, in that order of preference (§1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// The decoded token, if the value is base64 of printable ASCII.
    pub decoded: Option<String>,
    /// The value after `Token `, as sent.
    pub raw: String,
}

/// Reads `Authorization: Token <value>` (scheme case-insensitive, surrounding blanks ignored).
pub fn presented(headers: &HeaderMap) -> Option<Presented> {
    let value = headers
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    let raw = token.trim();
    if raw.is_empty() {
        return None;
    }
    let decoded = STANDARD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()));
    Some(Presented {
        decoded,
        raw: raw.to_owned(),
    })
}

/// The message IDs of one request, set by the `/ocpi` middleware: the caller's (when sane) or
/// fresh UUIDs. The response carries both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIds {
    /// `X-Request-ID`.
    pub request_id: String,
    /// `X-Correlation-ID`.
    pub correlation_id: String,
}

impl MessageIds {
    /// Reads both headers, minting a UUID for an absent or insane value.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| {
                    !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic())
                })
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
        };
        Self {
            request_id: read(REQUEST_ID),
            correlation_id: read(CORRELATION_ID),
        }
    }

    /// The IDs the middleware stored on the request.
    pub fn of(req: &HttpRequest) -> Self {
        req.extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self::from_headers(req.headers()))
    }
}

/// The routing headers of a request (§1.4): the party it is for and the party it is from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// `OCPI-to-*`.
    pub to: Option<OcpiParty>,
    /// `OCPI-from-*`.
    pub from: Option<OcpiParty>,
}

impl Routing {
    /// Reads the four headers; a pair that is half present or invalid is an error (2001).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, OcpiError> {
        let pair = |cc: &str, pid: &str| -> Result<Option<OcpiParty>, OcpiError> {
            let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
            match (get(cc), get(pid)) {
                (None, None) => Ok(None),
                (Some(c), Some(p)) => Ok(Some(OcpiParty {
                    country_code: CountryCode::parse(c)
                        .map_err(|e| OcpiError::InvalidParameter(format!("{cc}: {e}")))?,
                    party_id: PartyId::parse(p)
                        .map_err(|e| OcpiError::InvalidParameter(format!("{pid}: {e}")))?,
                })),
                _ => Err(OcpiError::InvalidParameter(format!(
                    "{cc} and {pid} go together"
                ))),
            }
        };
        Ok(Self {
            to: pair(TO_COUNTRY, TO_PARTY)?,
            from: pair(FROM_COUNTRY, FROM_PARTY)?,
        })
    }

    /// The headers to send: `OCPI-from-*` then `OCPI-to-*`, where known.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(4);
        if let Some(p) = &self.from {
            out.push((FROM_COUNTRY, p.country_code.as_str().to_owned()));
            out.push((FROM_PARTY, p.party_id.as_str().to_owned()));
        }
        if let Some(p) = &self.to {
            out.push((TO_COUNTRY, p.country_code.as_str().to_owned()));
            out.push((TO_PARTY, p.party_id.as_str().to_owned()));
        }
        out
    }

    /// The routing of the answer to this request: from and to swapped (§1.4).
    #[must_use]
    pub fn reversed(&self) -> Self {
        Self {
            to: self.from.clone(),
            from: self.to.clone(),
        }
    }
}

/// Parses a request body: HTTP 400 when it is not JSON, 2001 with the JSON paths when it
/// breaks the model (§2).
pub fn parse_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, OcpiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| OcpiError::BadJson(e.to_string()))?;
    parse_value(&value).map_err(OcpiError::Invalid)
}

/// A successful answer: HTTP status (200, or 201 for a created object), data, extra headers.
#[derive(Debug)]
pub struct Reply {
    http: u16,
    body: Result<Vec<u8>, String>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// HTTP 200, status 1000, `data` = `data`.
    pub fn ok<T: Serialize>(data: &T) -> Self {
        Self::with_status(200, Some(data))
    }

    /// HTTP 200, status 1000, no `data`.
    pub fn empty() -> Self {
        Self::with_status::<()>(200, None)
    }

    /// `http` (200 or 201), status 1000.
    pub fn with_status<T: Serialize>(http: u16, data: Option<&T>) -> Self {
        let envelope = Envelope {
            data,
            status_code: 1000,
            status_message: None,
            timestamp: Some(now()),
        };
        Self {
            http,
            body: serde_json::to_vec(&envelope).map_err(|e| e.to_string()),
            headers: Vec::new(),
        }
    }

    /// HTTP 200 with an OCPI status code other than 1000 and `data` nonetheless (the spec's
    /// answer to a command for an unknown Location: 2003 with a `REJECTED` `CommandResponse`).
    pub fn with_code<T: Serialize>(status_code: u16, message: &str, data: &T) -> Self {
        let envelope = Envelope {
            data: Some(data),
            status_code,
            status_message: Some(message.to_owned()),
            timestamp: Some(now()),
        };
        Self {
            http: 200,
            body: serde_json::to_vec(&envelope).map_err(|e| e.to_string()),
            headers: Vec::new(),
        }
    }

    /// Adds a header (pagination, routing).
    #[must_use]
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds the routing headers of `routing`.
    #[must_use]
    pub fn routing(mut self, routing: &Routing) -> Self {
        self.headers.extend(routing.headers());
        self
    }

    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        let bytes = match self.body {
            Ok(b) => b,
            Err(e) => return failure_response(&OcpiError::Internal(format!("serialize: {e}"))),
        };
        let mut builder =
            HttpResponse::build(StatusCode::from_u16(self.http).unwrap_or(StatusCode::OK));
        builder.content_type(JSON);
        for (name, value) in self.headers {
            builder.insert_header((name, value));
        }
        builder.body(bytes)
    }
}

/// The envelope answer of a failure (no `data`), logged by its kind.
pub fn failure_response(error: &OcpiError) -> HttpResponse {
    if let OcpiError::Internal(detail) = error {
        tracing::error!(error = %detail, "OCPI request failed on our side");
    } else {
        tracing::info!(http = error.http_status(), status_code = error.status_code(), message = %error, "OCPI request refused");
    }
    let envelope = Envelope::<()> {
        data: None,
        status_code: error.status_code(),
        status_message: Some(error.status_message()),
        timestamp: Some(now()),
    };
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::OK);
    match serde_json::to_vec(&envelope) {
        Ok(bytes) => HttpResponse::build(status).content_type(JSON).body(bytes),
        Err(_) => HttpResponse::build(status).finish(),
    }
}

/// The answer of a handler.
pub fn respond(result: Result<Reply, OcpiError>) -> HttpResponse {
    match result {
        Ok(reply) => reply.into_response(),
        Err(e) => failure_response(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn tokens_are_read_encoded_and_raw() {
        let encoded = authorization("abc-123", false);
        assert_eq!(encoded, "Token YWJjLTEyMw==");
        let p = presented(&headers(&[("authorization", &encoded)])).unwrap();
        assert_eq!(p.decoded.as_deref(), Some("abc-123"));
        let p = presented(&headers(&[("authorization", "token abc-123")])).unwrap();
        assert_eq!((p.decoded, p.raw.as_str()), (None, "abc-123"));
        assert!(presented(&headers(&[("authorization", "Bearer YWJj")])).is_none());
        assert!(presented(&headers(&[("authorization", "Token ")])).is_none());
        // base64 of a newline-terminated token is not printable: only the raw form is offered.
        let p = presented(&headers(&[("authorization", "Token ZXhhbXBsZS10b2tlbgo=")])).unwrap();
        assert_eq!(p.decoded, None);
    }

    #[test]
    fn routing_headers_are_read_in_pairs_and_swapped() {
        let r = Routing::from_headers(&headers(&[
            ("ocpi-to-country-code", "de"),
            ("ocpi-to-party-id", "gef"),
            ("ocpi-from-country-code", "NL"),
            ("ocpi-from-party-id", "TNM"),
        ]))
        .unwrap();
        assert_eq!(r.to.as_ref().unwrap().party_id.canonical(), "GEF");
        let back = r.reversed().headers();
        assert_eq!(back[0], (FROM_COUNTRY, "de".to_owned()));
        assert_eq!(back[3], (TO_PARTY, "TNM".to_owned()));
        let half = Routing::from_headers(&headers(&[("ocpi-to-country-code", "DE")]));
        assert_eq!(half.unwrap_err().status_code(), 2001);
        let bad = Routing::from_headers(&headers(&[
            ("ocpi-to-country-code", "DEU"),
            ("ocpi-to-party-id", "GEF"),
        ]));
        assert!(bad.is_err());
    }

    #[test]
    fn message_ids_are_kept_or_minted() {
        let ids = MessageIds::from_headers(&headers(&[("x-request-id", "r-1")]));
        assert_eq!(ids.request_id, "r-1");
        assert_eq!(ids.correlation_id.len(), 36);
        let other = MessageIds::from_headers(&HeaderMap::new());
        assert_ne!(other.request_id, other.correlation_id);
    }

    #[test]
    fn bodies_fail_as_400_or_2001() {
        use crate::ocpi::v221::versions::Credentials;
        assert_eq!(
            parse_body::<Credentials>(b"{nope")
                .unwrap_err()
                .http_status(),
            400
        );
        let e = parse_body::<Credentials>(br#"{"url":"http://x","roles":[]}"#).unwrap_err();
        assert_eq!((e.http_status(), e.status_code()), (200, 2001));
        assert!(e.status_message().contains("$.token"), "{e}");
    }
}
