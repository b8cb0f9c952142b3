//! The eMSP platform side (own OICP EMP behind the node, OCPI CPO partners in front):
//! the RECEIVER interfaces of [`locations`], [`sessions`] and [`cdrs`] (ocpi-2.2.1.md §4.1–4.3),
//! stored through `store::ocpi_emsp`; the SENDER interfaces of [`tokens`] (with real-time
//! authorization, [`authorize`]) and [`commands`] (the backend's OICP remote start/stop and
//! reservations for an OCPI CPO, answered once its `CommandResult` came).
//!
//! # Decisions
//! * **Who may write what.** Only a registered connection (token C/B) reaches these
//!   interfaces. The `{country_code}/{party_id}` of a URL must be one of the client's CPO
//!   roles (HTTP 404 with 2001 otherwise, §1.9), and the ids in a body must equal the URL's
//!   (2001). The addressed own party is the EMSP the `OCPI-to-*` headers name, or the only one.
//! * **Stale writes.** A PUT or PATCH whose `last_updated` is older than the stored object's,
//!   or that changes nothing, is acknowledged (1000) and not applied: a delayed retry must not undo a newer state (the spec
//!   is silent; §1.11 makes `last_updated` the object's version).
//! * **Unknown objects.** A PATCH of a Location, EVSE or Connector we do not hold, and a PUT
//!   of an EVSE or Connector under a Location (or EVSE) we do not hold, answer 2003 (unknown
//!   Location); a PATCH of an unknown Session answers HTTP 404. A GET of something we do not
//!   hold answers HTTP 404.
//! * **Answers.** HTTP 201 when a PUT or POST created the object, 200 otherwise; no `data`
//!   except on GET.

pub mod authorize;
pub mod cdrs;
pub mod commands;
pub mod forward;
pub mod locations;
pub mod offer;
pub mod pull;
pub mod sessions;
pub mod tokens;

use std::sync::Arc;

use actix_web::HttpRequest;

use super::failure::OcpiError;
use super::transport::Routing;
use super::{Access, Authed, OwnParty};
use crate::node::NodeState;
use crate::ocpi::v221::ids::{CountryCode, PartyId};
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::ocpi::v221::{Validate, parse_value};
use crate::store::ocpi::OcpiConnection;

/// A request of a registered CPO partner to our eMSP side.
#[derive(Debug)]
pub struct Client {
    /// Its connection.
    pub connection: Arc<OcpiConnection>,
    /// The routing headers it sent.
    pub routing: Routing,
    /// The own EMSP party it addresses.
    pub own: OwnParty,
}

/// Authenticates a functional request and resolves the addressed own EMSP.
pub fn client(req: &HttpRequest, state: &NodeState) -> Result<Client, OcpiError> {
    let authed = state
        .ocpi
        .authenticate(req, &state.registry, Access::Functional)?;
    let Authed::Connection(connection) = authed else {
        return Err(OcpiError::Unauthorized(
            "a registered connection's token is needed".to_owned(),
        ));
    };
    let routing = Routing::from_headers(req.headers())?;
    let own = state.ocpi.addressed(&routing, &OcpiRole::Emsp)?.clone();
    Ok(Client {
        connection,
        routing,
        own,
    })
}

impl Client {
    /// The owner party of a URL, which must be one of the client's CPO roles (HTTP 404 with
    /// 2001 otherwise).
    pub fn owner(&self, cc: &str, pid: &str) -> Result<(CountryCode, PartyId), OcpiError> {
        let country = CountryCode::parse(cc)
            .map_err(|e| OcpiError::InvalidParameter(format!("country_code: {e}")))?;
        let party = PartyId::parse(pid)
            .map_err(|e| OcpiError::InvalidParameter(format!("party_id: {e}")))?;
        let theirs = self.connection.roles.iter().any(|r| {
            r.role == OcpiRole::Cpo
                && r.country_code.eq_ignore_case(country.as_str())
                && r.party_id.eq_ignore_case(party.as_str())
        });
        if theirs {
            Ok((country, party))
        } else {
            Err(OcpiError::UnknownParty(format!(
                "{cc}/{pid} is not a CPO party of this connection"
            )))
        }
    }
}

/// `what` in the body must equal the URL's `expected` (case-insensitively), else 2001.
pub fn same_id(what: &str, body: &str, expected: &str) -> Result<(), OcpiError> {
    if body.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(OcpiError::InvalidParameter(format!(
            "{what} '{body}' in the body differs from '{expected}' in the URL"
        )))
    }
}

/// Parses a stored or merged JSON value as `T` (2001 with the JSON paths when it breaks the
/// model).
pub fn typed<T: serde::de::DeserializeOwned + Validate>(
    value: &serde_json::Value,
) -> Result<T, OcpiError> {
    parse_value(value).map_err(OcpiError::Invalid)
}

/// `value` as JSON (an internal error if it cannot be written, which our types never do).
pub fn json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, OcpiError> {
    serde_json::to_value(value).map_err(|e| OcpiError::Internal(format!("serialize: {e}")))
}

/// Members of a PATCH body replace the stored ones (§1.10); `last_updated` included.
pub fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    if let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in patch {
            if !v.is_null() {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The body as a JSON value (HTTP 400 when it is not JSON).
pub fn body_value(body: &[u8]) -> Result<serde_json::Value, OcpiError> {
    serde_json::from_slice(body).map_err(|e| OcpiError::BadJson(e.to_string()))
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A new object.
    Created,
    /// An existing object changed.
    Updated,
    /// Older than what is stored, or no change to it: not applied.
    Stale,
}

impl Written {
    /// HTTP 201 for a created object, else 200.
    pub fn http(&self) -> u16 {
        if *self == Self::Created { 201 } else { 200 }
    }
}

/// The store's answer with our own failure inside: runs `decide` on the stored record.
pub async fn modify<T, F>(
    state: &NodeState,
    key: crate::store::ocpi_emsp::EmspKey,
    decide: F,
) -> Result<T, OcpiError>
where
    F: FnOnce(
            Option<crate::store::ocpi_emsp::EmspRecord>,
        ) -> Result<(Option<crate::store::ocpi_emsp::EmspRecord>, T), OcpiError>
        + Send
        + 'static,
    T: Send + 'static,
{
    state
        .store
        .ocpi_emsp_modify(key, move |stored| match decide(stored) {
            Ok((write, answer)) => (write, Ok(answer)),
            Err(e) => (None, Err(e)),
        })
        .await?
}
