//! What the eMSP side passes on to the own EMP backend over OICP, through the durable outbox:
//! a new CDR as `eRoamingChargeDetailRecord` (stored in the OICP CDR table as well, so the
//! backend's `eRoamingGetChargeDetailRecords` sees it).
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
