//! The outbound OICP client: one POST of a typed body to a peer or an own party's backend,
//! with the target's timeout and credential, and transport failures turned into values
//! ([`CallError`]) that map to OICP 310 (timeout) and 320 (unreachable).
//!
//! awc clients are tied to the thread that created them: every actix worker and the delivery
//! arbiter build their own [`OicpClient`]. Calls to the clearing house go through the same
//! code with the hub's mutual-TLS connection ([`OicpClient::with_hub`]).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::PartnerId;
use crate::oicp::v23::status::{Code, StatusCode};
use crate::oicp::v23::validate::Validate;
use crate::oicp::v23::wire::parse_forwarding;

/// Largest response body accepted from a peer (a full EVSE data page is a few MiB).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// Who a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// A registered remote peer.
    Peer,
    /// An own party's backend.
    Backend,
    /// The clearing house (called over mutual TLS with the hub client; `id` is the own party
    /// the call is made for, whose ID goes into the path).
    Hub,
}

impl TargetKind {
    /// `peer`, `backend` or `hub` (the `route` field of spans).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Peer => "peer",
            Self::Backend => "backend",
            Self::Hub => "hub",
        }
    }
}

/// Where and how to call.
#[derive(Debug, Clone)]
pub struct Target {
    /// Peer or backend.
    pub kind: TargetKind,
    /// The partner's `OperatorID` or `ProviderID`.
    pub id: PartnerId,
    /// Base URL up to and including `/api/oicp`.
    pub base_url: String,
    /// Bearer token to present.
    pub token: Option<String>,
    /// Timeout of the whole call.
    pub timeout: Duration,
}

/// Why a call did not produce a usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// No answer within the timeout (OICP 310).
    #[error("{0} did not respond within {1:?}")]
    Timeout(String, Duration),
    /// Connection refused, reset, DNS or TLS failure (OICP 320).
    #[error("{0} is not reachable: {1}")]
    Unreachable(String, String),
    /// An HTTP status other than 200; the OICP status of the body when it had one.
    #[error("{partner} answered HTTP {http}")]
    Http {
        /// The partner.
        partner: String,
        /// The HTTP status.
        http: u16,
        /// The body's `StatusCode`, if the body was an OICP fault.
        status: Option<StatusCode>,
    },
    /// HTTP 200 with a body that is not the operation's response.
    #[error("{0} sent an invalid response: {1}")]
    InvalidResponse(String, String),
}

impl CallError {
    /// The OICP status the caller gets for this failure (never 000).
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::Timeout(..) => {
                StatusCode::with_description(Code::PartnerDidNotRespond, &self.to_string())
            }
            Self::Http {
                status: Some(s), ..
            } if !s.code.is_success() => s.clone(),
            Self::Unreachable(..) | Self::Http { .. } => {
                StatusCode::with_description(Code::ServiceNotAvailable, &self.to_string())
            }
            Self::InvalidResponse(..) => {
                StatusCode::with_description(Code::SystemError, &self.to_string())
            }
        }
    }

    /// Whether the partner could not be reached at all or did not answer in time (the cases
    /// where another route may be tried).
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Timeout(..) | Self::Unreachable(..))
    }
}

/// The body of an HTTP error from an OICP server (Hubject's `OicpERoamingFault`).
#[derive(Debug, serde::Deserialize)]
struct Fault {
    #[serde(rename = "StatusCode")]
    status_code: Option<StatusCode>,
}

/// An HTTP client for OICP calls (one per thread).
#[derive(Clone)]
pub struct OicpClient {
    http: awc::Client,
    hub: Option<awc::Client>,
}

impl std::fmt::Debug for OicpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OicpClient")
            .field("hub", &self.hub.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for OicpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl OicpClient {
    /// A client with keep-alive connection pooling and no clearing house.
    pub fn new() -> Self {
        let http = awc::Client::builder()
            .timeout(Duration::from_mins(10))
            .add_default_header((
                "User-Agent",
                concat!("roambridge/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        Self { http, hub: None }
    }

    /// A client that also reaches the clearing house (targets of kind [`TargetKind::Hub`]).
    pub fn with_hub(hub: Option<&crate::clearing_house::ClearingHouseClient>) -> Self {
        let mut client = Self::new();
        client.hub = hub.map(|h| h.build().into_http());
        client
    }

    /// POSTs `body` to `path` (below the target's base URL) and parses the answer as `Resp`.
    pub async fn call<Req, Resp>(
        &self,
        target: &Target,
        path: &str,
        process_id: &str,
        body: &Req,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned + Validate,
    {
        let partner = target_label(target);
        let bytes = serde_json::to_vec(body)
            .map_err(|e| CallError::InvalidResponse(partner.clone(), e.to_string()))?;
        let (http, response) = self.post(target, path, process_id, bytes).await?;
        answer(http, &response, &partner)
    }

    /// POSTs raw JSON; returns the HTTP status and the body.
    pub async fn post(
        &self,
        target: &Target,
        path: &str,
        process_id: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), CallError> {
        let partner = target_label(target);
        let http = match target.kind {
            TargetKind::Hub => self.hub.as_ref().ok_or_else(|| {
                CallError::Unreachable(partner.clone(), "no clearing house is configured".into())
            })?,
            TargetKind::Peer | TargetKind::Backend => &self.http,
        };
        let url = format!("{}{}", target.base_url, path);
        let request = Request {
            url: &url,
            token: target.token.as_deref(),
            process_id,
            timeout: target.timeout,
        };
        exchange(http, &request, body, &partner).await
    }
}

/// How a target is named in errors: the partner, or `clearing house`.
fn target_label(target: &Target) -> String {
    match target.kind {
        TargetKind::Hub => crate::clearing_house::HUB.to_owned(),
        TargetKind::Peer | TargetKind::Backend => target.id.to_string(),
    }
}

/// One outbound POST.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// Full URL.
    pub(crate) url: &'a str,
    /// Bearer token, if any.
    pub(crate) token: Option<&'a str>,
    /// Correlation ID sent as `Process-ID`.
    pub(crate) process_id: &'a str,
    /// Timeout of the whole exchange.
    pub(crate) timeout: Duration,
}

/// POSTs JSON with `http` and reads the answer; transport failures become [`CallError`]s
/// (a TLS failure carries a hint at its likely cause).
pub(crate) async fn exchange(
    http: &awc::Client,
    request: &Request<'_>,
    body: Vec<u8>,
    partner: &str,
) -> Result<(u16, Vec<u8>), CallError> {
    let mut builder = http
        .post(request.url)
        .insert_header(("Content-Type", "application/json; charset=utf-8"))
        .insert_header(("Accept", "application/json; charset=utf-8"))
        .insert_header(("Process-ID", request.process_id))
        .timeout(request.timeout);
    if let Some(token) = request.token {
        builder = builder.bearer_auth(token);
    }
    let timeout = request.timeout;
    let exchange = async {
        let mut response = builder.send_body(body).await.map_err(|e| match e {
            awc::error::SendRequestError::Timeout => {
                CallError::Timeout(partner.to_owned(), timeout)
            }
            other => {
                let text = other.to_string();
                let hint = crate::tls::handshake_hint(&text);
                CallError::Unreachable(partner.to_owned(), format!("{text}{hint}"))
            }
        })?;
        let status = response.status().as_u16();
        if let Some(their_pid) = response
            .headers()
            .get("Process-ID")
            .and_then(|v| v.to_str().ok())
        {
            tracing::debug!(
                partner_process_id = their_pid,
                http = status,
                "partner answered"
            );
        }
        let body = response.body().limit(MAX_RESPONSE).await.map_err(|e| {
            CallError::Unreachable(
                partner.to_owned(),
                format!("reading the response failed: {e}"),
            )
        })?;
        Ok((status, body.to_vec()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(CallError::Timeout(partner.to_owned(), timeout)),
    }
}

/// Turns an HTTP answer into the operation's response: HTTP 200 and a valid body, else the
/// matching [`CallError`].
pub(crate) fn answer<Resp>(http: u16, body: &[u8], partner: &str) -> Result<Resp, CallError>
where
    Resp: DeserializeOwned + Validate,
{
    if http != 200 {
        let status = serde_json::from_slice::<Fault>(body)
            .ok()
            .and_then(|f| f.status_code);
        return Err(CallError::Http {
            partner: partner.to_owned(),
            http,
            status,
        });
    }
    parse_forwarding::<Resp>(body).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        CallError::InvalidResponse(partner.to_owned(), first)
    })
}

/// Fills the ID into a path template (`{operatorID}` or `{providerID}`). `*` and `+` are
/// sub-delimiters and stay literal in a path; everything else an ID may hold is unreserved.
pub fn fill_path(template: &str, id: &str) -> String {
    let mut out = String::with_capacity(template.len() + id.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start..=start + len];
        out.push_str(&rest[..start]);
        if name == "{operatorID}" || name == "{providerID}" {
            out.push_str(id);
        } else {
            out.push_str(name);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill_path;
    use crate::oicp::v23::operations::Operation;

    #[test]
    fn fill_path_puts_the_id_where_the_template_names_it() {
        assert_eq!(
            fill_path(Operation::PushEvseStatus.path_template(), "DE*GEF"),
            "/evsepush/v21/operators/DE*GEF/status-records"
        );
        assert_eq!(
            fill_path(Operation::AuthorizeRemoteStart.path_template(), "DE-GDF"),
            "/charging/v21/providers/DE-GDF/authorize-remote/start"
        );
        assert_eq!(fill_path("/a/{other}/b", "X"), "/a/{other}/b");
        assert_eq!(fill_path("/a/{operatorID}/{providerID}", "X"), "/a/X/X");
        assert_eq!(fill_path("/a/{open", "X"), "/a/{open");
    }
}
