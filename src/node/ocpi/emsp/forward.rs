//! What the eMSP side passes on to the own EMP backend over OICP, through the durable outbox:
//! a new CDR as `eRoamingChargeDetailRecord` (stored in the OICP CDR table as well, so the
//! backend's `eRoamingGetChargeDetailRecords` sees it), and Session changes as
//! `eRoamingChargingNotifications`.
//!
//! # Decisions
//! * A CDR that cannot be expressed in OICP (a credit CDR, an EVSE id that is no OICP
//!   `EvseID`) is still accepted from the CPO and stored: the CPO cannot fix it, and refusing
//!   would make it retry forever. It is logged and not forwarded.
//! * The OICP `OperatorID` of a forwarded CDR is the one in its `EvseID`.

use std::sync::Arc;

use super::Client;
use crate::config::PartnerId;
use crate::mapping::MappingCtx;
use crate::mapping::cdr::{CdrReverseContext, cdr_to_charge_detail_record};
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::ocpi::v221::cdrs::Cdr;
use crate::ocpi::v221::sessions::Session;
use crate::oicp::v23::operations::Operation;
use crate::peer::client::fill_path;
use crate::store::{OutboxEntry, TargetRef};

/// Forwards a new CDR to the backend of the addressed own EMP.
pub async fn cdr_received(state: &NodeState, client: &Client, cdr: &Cdr) -> Result<(), OcpiError> {
    let ctx = MappingCtx::new(chrono::Utc::now());
    let mapped = match cdr_to_charge_detail_record(cdr, &CdrReverseContext::default(), &ctx) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(cdr = cdr.id.as_str(), error = %e.reason, path = %e.path, "OCPI CDR stored but not forwarded over OICP");
            return Ok(());
        }
    };
    let oicp = mapped.value;
    let operator = oicp.evse_id.operator_id();
    let PartnerId::Provider(provider) = &client.own.id else {
        return Err(OcpiError::Internal(
            "the addressed eMSP is no EMP".to_owned(),
        ));
    };
    let body: Arc<[u8]> = serde_json::to_vec(&oicp)
        .map_err(|e| OcpiError::Internal(format!("serialize: {e}")))?
        .into();
    let op = Operation::ChargeDetailRecord;
    let entry = OutboxEntry::new(
        TargetRef::backend(client.own.id.clone()),
        op,
        fill_path(op.path_template(), operator.as_str()),
        body,
        &uuid::Uuid::new_v4().to_string(),
    );
    let entries = [entry];
    state
        .store
        .insert_cdr(
            &oicp,
            &operator,
            Some(provider),
            chrono::Utc::now(),
            &entries,
        )
        .await?;
    state.delivery.queued(&entries);
    Ok(())
}

/// The OICP `SessionID` of an OCPI Session: its id when that is a `SessionID` (a GUID), else
/// the one derived from `country_code`, `party_id` and id, as for its CDR
/// (`mapping::cdr::derived_session_id`), so that notifications and CDR name the same session.
fn oicp_session_id(session: &Session) -> Option<crate::oicp::v23::ids::SessionId> {
    crate::oicp::v23::ids::SessionId::parse(session.id.as_str())
        .ok()
        .or_else(|| {
            crate::mapping::cdr::derived_session_id(
                session.country_code.as_str(),
                session.party_id.as_str(),
                session.id.as_str(),
            )
            .ok()
        })
}

/// Passes a Session change on to the backend of the addressed own EMP as OICP
/// `eRoamingChargingNotifications` (Start when it becomes ACTIVE, Progress, End), through the
/// outbox. The `EvseID` comes from the Location we hold; a Session at an EVSE we do not hold
/// is stored but not notified (logged). Progress throttling state is not kept between
/// changes.
pub async fn session_changed(
    state: &NodeState,
    client: &Client,
    previous: Option<&Session>,
    session: &Session,
) -> Result<(), OcpiError> {
    use crate::mapping::session::{NotificationState, SessionIdentity, session_to_notifications};
    let key = crate::store::ocpi_emsp::EmspKey::new(
        crate::store::ocpi_emsp::EmspKind::Location,
        session.country_code.as_str(),
        session.party_id.as_str(),
        session.location_id.as_str(),
    );
    let evse_id = state
        .store
        .ocpi_emsp_get(key)
        .await?
        .and_then(|r| super::typed::<crate::ocpi::v221::locations::Location>(&r.json).ok())
        .and_then(|l| {
            l.evses
                .into_iter()
                .flatten()
                .find(|e| e.uid.eq_ignore_case(session.evse_uid.as_str()))
        })
        .and_then(|e| e.evse_id)
        .and_then(|e| crate::oicp::v23::ids::EvseId::parse(&e.as_str().to_ascii_uppercase()).ok());
    let (Some(evse_id), Some(session_id)) = (evse_id, oicp_session_id(session)) else {
        tracing::warn!(
            session = session.id.as_str(),
            "OCPI Session at an EVSE we do not hold: not notified over OICP"
        );
        return Ok(());
    };
    let operator = evse_id.operator_id();
    let identity = match SessionIdentity::new(
        session_id,
        operator,
        evse_id,
        session.location_id.clone(),
        session.evse_uid.clone(),
        session.connector_id.clone(),
        session.currency.clone(),
    ) {
        Ok(mut id) => {
            id.auth_method = session.auth_method.clone();
            id.authorization_reference
                .clone_from(&session.authorization_reference);
            id.cdr_token = Some(session.cdr_token.clone());
            id
        }
        Err(e) => {
            tracing::warn!(session = session.id.as_str(), error = %e.reason, "OCPI Session not notified over OICP");
            return Ok(());
        }
    };
    let ctx = MappingCtx::new(chrono::Utc::now());
    let notifications = match session_to_notifications(
        previous,
        session,
        &identity,
        &mut NotificationState::default(),
        &ctx,
    ) {
        Ok(m) => m.value,
        Err(e) => {
            tracing::warn!(session = session.id.as_str(), error = %e.reason, "OCPI Session not notified over OICP");
            return Ok(());
        }
    };
    let op = Operation::ChargingNotificationStart;
    let mut entries = Vec::new();
    for n in &notifications {
        let body: Arc<[u8]> = serde_json::to_vec(n)
            .map_err(|e| OcpiError::Internal(format!("serialize: {e}")))?
            .into();
        entries.push(OutboxEntry::new(
            TargetRef::backend(client.own.id.clone()),
            op,
            fill_path(op.path_template(), ""),
            body,
            &uuid::Uuid::new_v4().to_string(),
        ));
    }
    state.store.enqueue(&entries, chrono::Utc::now()).await?;
    state.delivery.queued(&entries);
    Ok(())
}
