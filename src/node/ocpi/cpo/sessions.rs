//! Sessions from the CPO side (ocpi-2.2.1.md §4.2): the backend's OICP charging notifications
//! for a session of an OCPI eMSP become OCPI Session changes (`mapping::session`), stored and
//! pushed to that eMSP's sessions RECEIVER through the outbox; the Sessions SENDER
//! (`GET /ocpi/2.2.1/sessions`) serves them ([`super::objects`]).
//!
//! # Decisions
//! * **Identity** (`SessionIdentity`): the OCPI Session id is the OICP `SessionID`; the CPO is
//!   the own CPO's OCPI identity; Location and EVSE from the translated view for the
//!   notification's `EvseID`, the connector the EVSE's first one (P25); token, eMSP and
//!   `authorization_reference` from the real-time authorization the node recorded
//!   ([`super::authorize`]), else the notification's identification with the peer's first
//!   EMSP role as owner and the `SessionID` as `authorization_reference` (a session started by
//!   `START_SESSION` took its `SessionID` from the eMSP's GUID reference); currency `EUR`
//!   (OICP notifications carry none; a CDR carries the tariff's).
//! * **Start** stores the Session and queues `PUT /{cc}/{pid}/{id}`; **Progress**, **End** and
//!   **Error** are merged into the stored Session (`apply_patch`) and queue
//!   `PATCH /{cc}/{pid}/{id}` with the change only. A change for a Session the node never
//!   started (no Start seen) is pushed but not stored. The EVSE status of a `CriticalError`
//!   travels as the backend's own status push, not from here.
//! * **Refusals** (the backend gets `Result` false with 022): an EVSE the view does not hold, a
//!   notification with no OCPI form (mapping error).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use super::authorize::location_of;
use super::objects;
use super::own_cpo;
use crate::config::Peer;
use crate::mapping::MappingCtx;
use crate::mapping::session::{
    Party, SessionIdentity, SessionUpdate, TokenContext, apply_patch,
    notification_to_session_update,
};
use crate::node::NodeState;
use crate::node::failure::Failure;
use crate::node::ops::Ctx;
use crate::ocpi::v221::ids::{ConnectorId, ContractId};
use crate::ocpi::v221::sessions::{CdrToken, Session};
use crate::ocpi::v221::tokens::Token;
use crate::ocpi::v221::types::OcpiString;
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::oicp::v23::ids::{EvseId, OperatorId, SessionId};
use crate::oicp::v23::notifications::ChargingNotification;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::status::Code;
use crate::oicp::v23::wire::Extra;
use crate::store::ocpi_cpo_objects::{CpoObject, ObjectKind, SessionRef};
use crate::store::{OutboxEntry, TargetRef};

/// The path of the interface below `/ocpi/2.2.1/`.
pub const PATH: &str = "sessions";

/// Adds the routes to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/sessions", "/sessions/"]).route(web::get().to(list)));
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    objects::list(&req, &state, ObjectKind::Session, PATH).await
}

/// What the node knows of a session of an OCPI eMSP, for the mappings.
#[derive(Debug)]
pub struct Known {
    /// The mapping identity.
    pub identity: SessionIdentity,
    /// `CC/PID` of the eMSP, upper case.
    pub audience: String,
    /// The recorded reference, if the session was authorized in real time.
    pub reference: Option<SessionRef>,
    /// The Location's JSON in the view.
    pub location: String,
}

fn data_error(what: impl AsRef<str>) -> Failure {
    Failure::new(Code::DataError, what)
}

/// The identity of `session_id` at `evse` for the OCPI eMSP `peer` (module documentation).
pub async fn known(
    ctx: &Ctx,
    peer: &Peer,
    session_id: &SessionId,
    operator: &OperatorId,
    evse: &EvseId,
) -> Result<Known, Failure> {
    let own = own_cpo(&ctx.state, operator).ok_or_else(|| {
        Failure::no_route(format!("the operator {operator} has no OCPI identity"))
    })?;
    let (refs, location) = location_of(ctx, Some(evse))
        .await?
        .ok_or_else(|| data_error(format!("the OCPI Location view holds no EVSE {evse}")))?;
    let location_value: serde_json::Value = serde_json::from_str(&location)
        .map_err(|e| Failure::new(Code::SystemError, format!("stored Location: {e}")))?;
    let uid = refs
        .evse_uids
        .as_ref()
        .and_then(|u| u.first())
        .cloned()
        .ok_or_else(|| data_error(format!("no EVSE uid for {evse}")))?;
    let connector = first_connector(&location_value, uid.as_str())
        .ok_or_else(|| data_error(format!("the EVSE {evse} has no connector")))?;
    let reference = ctx
        .state
        .store
        .ocpi_cpo_session_ref(&session_id.as_str().to_ascii_lowercase())
        .await?
        .filter(|r| r.peer == peer.id.to_string());
    let mut identity = SessionIdentity::new(
        session_id.clone(),
        operator.clone(),
        evse.clone(),
        refs.location_id.clone(),
        uid,
        connector,
        OcpiString::parse("EUR").map_err(|e| Failure::new(Code::SystemError, e.to_string()))?,
    )
    .map_err(|e| data_error(e.to_string()))?;
    if let Some(p) = Party::parse(own.party.country_code.as_str(), own.party.party_id.as_str()) {
        identity.cpo = p;
    }
    let audience = if let Some(r) = &reference {
        let token: Option<Token> = serde_json::from_str(&r.token).ok();
        if let Some(t) = &token {
            identity.token = TokenContext {
                emsp: Party::parse(t.country_code.as_str(), t.party_id.as_str()),
                contract_id: Some(t.contract_id.clone()),
            };
            identity.cdr_token = Some(CdrToken {
                country_code: t.country_code.clone(),
                party_id: t.party_id.clone(),
                uid: t.uid.clone(),
                token_type: t.token_type.clone(),
                contract_id: t.contract_id.clone(),
                extra: Extra::new(),
            });
        }
        identity.authorization_reference = r
            .authorization_reference
            .as_deref()
            .and_then(|a| crate::ocpi::v221::ids::AuthorizationReference::parse(a).ok());
        identity.charging_started = r.charging_started;
        r.emsp.clone()
    } else {
        let connection = ctx.state.ocpi.connection(&peer.id).ok_or_else(|| {
            Failure::new(
                Code::ServiceNotAvailable,
                format!("no OCPI connection with {}", peer.id),
            )
        })?;
        let role = connection
            .roles
            .iter()
            .find(|r| r.role == OcpiRole::Emsp)
            .ok_or_else(|| Failure::no_route(format!("{} has no EMSP role", peer.id)))?;
        identity.token = TokenContext {
            emsp: Party::parse(role.country_code.as_str(), role.party_id.as_str()),
            contract_id: None::<ContractId>,
        };
        // A session the eMSP started with START_SESSION has the eMSP's GUID
        // `authorization_reference` as its SessionID (`mapping::command`).
        identity.authorization_reference =
            crate::ocpi::v221::ids::AuthorizationReference::parse(session_id.as_str()).ok();
        format!("{}/{}", role.country_code.as_str(), role.party_id.as_str()).to_ascii_uppercase()
    };
    Ok(Known {
        identity,
        audience,
        reference,
        location,
    })
}

/// The id of the first connector of the EVSE `uid` in a Location.
fn first_connector(location: &serde_json::Value, uid: &str) -> Option<ConnectorId> {
    let evse = location
        .get("evses")?
        .as_array()?
        .iter()
        .find(|e| e.get("uid").and_then(|u| u.as_str()) == Some(uid))?;
    let id = evse
        .get("connectors")?
        .as_array()?
        .first()?
        .get("id")?
        .as_str()?;
    ConnectorId::parse(id).ok()
}

/// The object key of an object of the CPO party `cc`/`pid`.
pub fn object_key(cc: &str, pid: &str, id: &str) -> String {
    format!("{cc}/{pid}/{id}").to_ascii_uppercase()
}

/// An outbox entry for the OCPI peer `peer`.
pub fn entry(ctx: &Ctx, peer: &Peer, op: Operation, path: String, body: Vec<u8>) -> OutboxEntry {
    OutboxEntry::new(
        TargetRef::peer(peer.id.clone()),
        op,
        path,
        Arc::from(body),
        &ctx.process_id,
    )
}

/// Translates a charging notification for the OCPI eMSP `peer`, stores the Session and
/// queues its push (module documentation).
pub async fn notification(
    ctx: &Ctx,
    peer: &Peer,
    req: &ChargingNotification,
) -> Result<(), Failure> {
    let mut known = known(
        ctx,
        peer,
        req.session_id(),
        req.operator_id(),
        req.evse_id(),
    )
    .await?;
    let mapping = MappingCtx::new(chrono::Utc::now());
    let update = notification_to_session_update(req, &known.identity, &mapping)
        .map_err(|e| data_error(format!("the notification has no OCPI Session form: {e}")))?
        .value;
    let cpo = &known.identity.cpo;
    let (cc, pid, id) = (
        cpo.country_code.as_str().to_owned(),
        cpo.party_id.as_str().to_owned(),
        known.identity.ocpi_session_id.as_str().to_owned(),
    );
    let key = object_key(&cc, &pid, &id);
    let target_path = format!("/{cc}/{pid}/{id}");
    let audiences = [known.audience.clone()];
    let (object, entry) = match update {
        SessionUpdate::Put(session) => {
            let json = serde_json::to_string(&session)
                .map_err(|e| Failure::new(Code::SystemError, e.to_string()))?;
            let object = stored(&key, &known.audience, &session, json.clone());
            let e = entry(
                ctx,
                peer,
                Operation::ChargingNotificationStart,
                format!("PUT {target_path}"),
                json.into_bytes(),
            );
            (Some(object), e)
        }
        SessionUpdate::Patch(patch) | SessionUpdate::Error { patch, .. } => {
            let before = ctx
                .state
                .store
                .ocpi_cpo_object(ObjectKind::Session, &key, &audiences)
                .await?
                .and_then(|o| serde_json::from_str::<Session>(&o.json).ok());
            let object = before.map(|s| {
                let after = apply_patch(&s, &patch);
                let json = serde_json::to_string(&after).unwrap_or_default();
                stored(&key, &known.audience, &after, json)
            });
            let body = serde_json::to_vec(&patch)
                .map_err(|e| Failure::new(Code::SystemError, e.to_string()))?;
            let e = entry(
                ctx,
                peer,
                Operation::ChargingNotificationStart,
                format!("PATCH {target_path}"),
                body,
            );
            (object, e)
        }
    };
    let entries = [entry];
    ctx.state
        .store
        .ocpi_cpo_put_objects(object.into_iter().collect(), &entries, chrono::Utc::now())
        .await?;
    ctx.state.delivery.queued(&entries);
    if matches!(
        req,
        ChargingNotification::Start(_) | ChargingNotification::Progress(_)
    ) && let Some(mut r) = known.reference.take()
        && !r.charging_started
    {
        r.charging_started = true;
        ctx.state.store.ocpi_cpo_put_session_ref(r).await?;
    }
    Ok(())
}

fn stored(key: &str, audience: &str, session: &Session, json: String) -> CpoObject {
    CpoObject {
        kind: ObjectKind::Session,
        key: key.to_owned(),
        audience: audience.to_owned(),
        last_updated: session.last_updated.value().timestamp_millis(),
        json,
    }
}
