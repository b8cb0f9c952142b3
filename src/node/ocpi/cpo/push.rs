//! Pushes of the Location view to OCPI eMSP partners (ocpi-2.2.1.md §4.1 Receiver interface)
//! through the node's durable outbox: a rebuilt Location becomes
//! `PUT {locations}/{cc}/{pid}/{location_id}` with the whole Location, an EVSE status change
//! `PATCH {locations}/{cc}/{pid}/{location_id}/{evse_uid}` with `status` and `last_updated`.
//!
//! # How
//! One outbox entry per call and connected eMSP (target: its peer), so the delivery worker
//! sends them in order, one at a time, with the same retry, back-off and dead-letter rules as
//! OICP pushes. The entry's `path` holds the method and the path below the partner's
//! `locations` Receiver URL (`PUT /DE/GEF/LOC1`); the delivery worker hands entries of an
//! OCPI peer to [`deliver`], which resolves the URL, token and routing headers when it sends.
//!
//! # Decisions
//! * Only connections with an EMSP role and a `locations` Receiver endpoint (listed or
//!   configured as override) get pushes; the first EMSP role is the `OCPI-to-*` party.
//! * Outcomes: HTTP 2xx with OCPI 1xxx is accepted; no answer, HTTP 408, 429 and 5xx are
//!   retried; anything else is final (dead letter).
//! * Deleted Locations are not pushed (OCPI has no delete; the eMSP keeps the last copy).
//! * A `CommandResult` of the Commands Receiver (`super::commands`) is an entry too: its
//!   operation is the OICP remote operation (module `commands`), its path
//!   [`command_result_path`] names the absolute `response_url` the eMSP gave and the two
//!   parties, since the URL is not below any listed endpoint.

use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::Method;
use serde_json::Value;

use crate::node::NodeState;
use crate::node::ocpi::client::{Answer, ClientError, OcpiClient};
use crate::node::ocpi::{OcpiState, OwnParty};
use crate::ocpi::v221::versions::{CredentialsRole, InterfaceRole, Role as OcpiRole};
use crate::oicp::v23::operations::Operation;
use crate::store::ocpi_cpo::ChangedLocation;
use crate::store::{OutboxEntry, OutboxItem, TargetRef};

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted, with the OCPI status code.
    Accepted(String),
    /// Final refusal.
    Refused(String),
    /// Worth retrying.
    Transient(String),
}

/// Which calls a change makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The whole Location (rebuilt from EVSE data).
    Location,
    /// The status of the EVSEs named in the change.
    Status,
}

/// The `(method and path, body)` of the calls for one changed Location.
fn calls(changed: &ChangedLocation, kind: Change) -> Vec<(String, Vec<u8>)> {
    let Ok(location) = serde_json::from_str::<Value>(&changed.json) else {
        return Vec::new();
    };
    let field = |k: &str| location.get(k).and_then(Value::as_str).unwrap_or_default();
    let base = format!(
        "/{}/{}/{}",
        field("country_code"),
        field("party_id"),
        field("id")
    );
    match kind {
        Change::Location => vec![(format!("PUT {base}"), changed.json.clone().into_bytes())],
        Change::Status => location
            .get("evses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|evse| {
                let uid = evse.get("uid")?.as_str()?;
                changed.evse_uids.iter().any(|u| u == uid).then(|| {
                    let body = serde_json::json!({
                        "status": evse.get("status"),
                        "last_updated": evse.get("last_updated"),
                    });
                    (format!("PATCH {base}/{uid}"), body.to_string().into_bytes())
                })
            })
            .collect(),
    }
}

/// Queues the calls of `changed` for every connected eMSP with a `locations` Receiver.
pub async fn queue(state: &NodeState, changed: &[ChangedLocation], kind: Change) {
    if changed.is_empty() {
        return;
    }
    let process_id = uuid::Uuid::new_v4().to_string();
    let mut entries = Vec::new();
    for connection in state.ocpi.connections() {
        let is_emsp = connection.roles.iter().any(|r| r.role == OcpiRole::Emsp);
        let has_receiver = OcpiState::partner_endpoint(
            &state.registry,
            &connection,
            "locations",
            &InterfaceRole::Receiver,
        )
        .is_some();
        let Ok(peer) = connection.peer() else {
            continue;
        };
        if !is_emsp || !has_receiver {
            continue;
        }
        for c in changed {
            for (path, body) in calls(c, kind) {
                entries.push(OutboxEntry::new(
                    TargetRef::peer(peer.clone()),
                    Operation::PushEvseData,
                    path,
                    Arc::from(body),
                    &process_id,
                ));
            }
        }
    }
    if entries.is_empty() {
        return;
    }
    match state.store.enqueue(&entries, chrono::Utc::now()).await {
        Ok(()) => state.delivery.queued(&entries),
        Err(e) => tracing::error!(error = %e, "queuing OCPI Location pushes failed"),
    }
}

/// The OCPI module (RECEIVER interface) an outbox entry of `operation` goes to.
pub fn module_of(operation: Operation) -> &'static str {
    match operation {
        Operation::ChargingNotificationStart
        | Operation::ChargingNotificationProgress
        | Operation::ChargingNotificationEnd
        | Operation::ChargingNotificationError => "sessions",
        Operation::ChargeDetailRecord => "cdrs",
        Operation::PushPricingProductData | Operation::PushEvsePricing => "tariffs",
        Operation::AuthorizeRemoteStart
        | Operation::AuthorizeRemoteStop
        | Operation::AuthorizeRemoteReservationStart
        | Operation::AuthorizeRemoteReservationStop => "commands",
        _ => "locations",
    }
}

/// An id as a URL path segment: OCPI ids are printable ASCII and may hold characters a URL
/// path cannot (a space in a Tariff id made from an OICP `ProductID`); those are
/// percent-encoded, everything a path segment allows is kept as it is (`*` of OICP ids).
pub fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The outbox `path` of a `CommandResult` for `response_url`: `POST {url} {cc}/{pid}
/// {cc}/{pid}`, the own CPO that sends it and the eMSP party it goes to (a URL holds no
/// space, so the three fields split cleanly; the form reads well at `/admin/outbox`).
pub fn command_result_path(response_url: &str, from: &OwnParty, to: &CredentialsRole) -> String {
    format!(
        "POST {response_url} {}/{} {}/{}",
        from.party.country_code.as_str(),
        from.party.party_id.as_str(),
        to.country_code.as_str(),
        to.party_id.as_str()
    )
}

/// The `(url, sender, receiver)` of a [`command_result_path`] (after its method), `None` for
/// a path below a module's Receiver URL.
fn absolute(path: &str) -> Option<(&str, &str, &str)> {
    let mut parts = path.split(' ');
    let url = parts.next().filter(|u| {
        let lower = u.to_ascii_lowercase();
        lower.starts_with("http://") || lower.starts_with("https://")
    })?;
    Some((
        url,
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    ))
}

/// Whether `party` is `cc/pid`.
fn is_party(cc: &str, pid: &str, party: &str) -> bool {
    party
        .split_once('/')
        .is_some_and(|(c, p)| c.eq_ignore_ascii_case(cc) && p.eq_ignore_ascii_case(pid))
}

/// The own party that sends `body` to `path`: the party in the path (`/{cc}/{pid}/…`), else
/// the body's `country_code`/`party_id` (a CDR POST has no path).
fn sender<'a>(node: &'a NodeState, path: &str, body: &Value) -> Option<&'a OwnParty> {
    let mut parts = path.trim_start_matches('/').split('/');
    let (cc, pid) = match (parts.next(), parts.next()) {
        (Some(cc), Some(pid)) if !cc.is_empty() => (cc, pid),
        _ => (
            body.get("country_code").and_then(Value::as_str)?,
            body.get("party_id").and_then(Value::as_str)?,
        ),
    };
    node.ocpi.own_parties().iter().find(|p| {
        p.party.country_code.as_str().eq_ignore_ascii_case(cc)
            && p.party.party_id.as_str().eq_ignore_ascii_case(pid)
    })
}

/// Sends one queued OCPI push to its peer, if the target is a connected OCPI peer (`None`
/// otherwise: the caller sends it as OICP). The entry's operation names the module
/// ([`module_of`]); a Location `PUT` to a peer with `ocpi.omit_energy_mix` loses its
/// `energy_mix` here, so the setting also applies to what was queued before it was set.
pub async fn deliver(node: &NodeState, target: &TargetRef, item: &OutboxItem) -> Option<Outcome> {
    let peer = node.registry.peer(&target.id)?;
    let options = peer.ocpi.as_ref()?;
    let Some(connection) = node.ocpi.connection(&peer.id) else {
        return Some(Outcome::Transient(format!(
            "no OCPI connection with {}",
            peer.id
        )));
    };
    let Some((method, path)) = item.path.split_once(' ') else {
        return Some(Outcome::Refused(format!("not an OCPI push: {}", item.path)));
    };
    let module = module_of(item.operation);
    if let Some((url, from, to)) = absolute(path) {
        let Some(own) = node.ocpi.own_parties().iter().find(|p| {
            is_party(
                p.party.country_code.as_str(),
                p.party.party_id.as_str(),
                from,
            )
        }) else {
            return Some(Outcome::Refused(format!("no own party {from}")));
        };
        let Some(role) = connection.roles.iter().find(|r| {
            r.role == OcpiRole::Emsp && is_party(r.country_code.as_str(), r.party_id.as_str(), to)
        }) else {
            return Some(Outcome::Refused(format!(
                "{} has no EMSP role {to}",
                peer.id
            )));
        };
        let Ok(body) = serde_json::from_slice::<Value>(&item.body) else {
            return Some(Outcome::Refused("the queued body is not JSON".to_owned()));
        };
        let call = OcpiState::partner_call(
            &node.registry,
            &connection,
            own,
            role,
            Some(&item.process_id),
            peer.timeout,
        );
        return Some(outcome(
            OcpiClient::new()
                .send(Method::POST, url, Some(&body), &call)
                .await,
        ));
    }
    let Some(base) = OcpiState::partner_endpoint(
        &node.registry,
        &connection,
        module,
        &InterfaceRole::Receiver,
    ) else {
        return Some(Outcome::Refused(format!(
            "the partner lists no {module} RECEIVER"
        )));
    };
    let url = if path.is_empty() {
        base.clone()
    } else {
        let encoded: Vec<String> = path.split('/').map(segment).collect();
        format!("{}{}", base.trim_end_matches('/'), encoded.join("/"))
    };
    let Ok(mut body) = serde_json::from_slice::<Value>(&item.body) else {
        return Some(Outcome::Refused("the queued body is not JSON".to_owned()));
    };
    let Some(from) = sender(node, path, &body) else {
        return Some(Outcome::Refused(format!(
            "no own party sends {}",
            item.path
        )));
    };
    let Some(to) = connection.roles.iter().find(|r| r.role == OcpiRole::Emsp) else {
        return Some(Outcome::Refused(format!("{} has no EMSP role", peer.id)));
    };
    let call = OcpiState::partner_call(
        &node.registry,
        &connection,
        from,
        to,
        Some(&item.process_id),
        peer.timeout,
    );
    let method = match method {
        "PATCH" => Method::PATCH,
        "POST" => Method::POST,
        _ => Method::PUT,
    };
    if options.omit_energy_mix
        && module == "locations"
        && method == Method::PUT
        && let Some(object) = body.as_object_mut()
    {
        object.remove("energy_mix");
    }
    let client = OcpiClient::new();
    Some(outcome(client.send(method, &url, Some(&body), &call).await))
}

/// The outcome of one call: HTTP 2xx with OCPI 1xxx is accepted; no answer, HTTP 408, 429 and
/// 5xx are retried; anything else is final.
fn outcome(result: Result<Answer, ClientError>) -> Outcome {
    match result {
        Ok(answer) => Outcome::Accepted(answer.envelope.status_code.to_string()),
        Err(e @ ClientError::Unreachable { .. }) => Outcome::Transient(e.to_string()),
        Err(e @ ClientError::Http { http, .. }) if http == 408 || http == 429 || http >= 500 => {
            Outcome::Transient(e.to_string())
        }
        Err(e) => Outcome::Refused(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_becomes_a_put_or_patches_of_its_evses() {
        let changed = ChangedLocation {
            key: "DE/GEF/L1".into(),
            json: r#"{"country_code":"DE","party_id":"GEF","id":"L1","evses":[
                {"uid":"E1","status":"CHARGING","last_updated":"2025-01-01T00:00:00Z"},
                {"uid":"E2","status":"AVAILABLE","last_updated":"2024-01-01T00:00:00Z"}]}"#
                .into(),
            evse_uids: vec!["E1".into()],
        };
        let put = calls(&changed, Change::Location);
        assert_eq!(put.len(), 1);
        assert_eq!(put[0].0, "PUT /DE/GEF/L1");
        let patch = calls(&changed, Change::Status);
        assert_eq!(patch.len(), 1);
        assert_eq!(patch[0].0, "PATCH /DE/GEF/L1/E1");
        let body: Value = serde_json::from_slice(&patch[0].1).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": "CHARGING", "last_updated": "2025-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn a_command_result_path_names_the_url_and_both_parties() {
        assert_eq!(
            absolute("https://emsp.example/results/1 DE/GEF NL/XYZ"),
            Some(("https://emsp.example/results/1", "DE/GEF", "NL/XYZ"))
        );
        // A path below a Receiver URL is no absolute one.
        assert_eq!(absolute("/DE/GEF/L1"), None);
        assert!(is_party("de", "gef", "DE/GEF"));
        assert!(!is_party("DE", "GEF", "DE/GEX"));
        assert!(!is_party("DE", "GEF", ""));
    }

    #[test]
    fn ids_become_path_segments() {
        assert_eq!(segment("DE*GEF*E1"), "DE*GEF*E1");
        assert_eq!(segment("Standard Price"), "Standard%20Price");
        assert_eq!(segment("a/b?c#d%"), "a%2Fb%3Fc%23d%25");
    }
}
