//! Tariffs from the CPO side (ocpi-2.2.1.md §4.4): the backend's OICP pricing products become
//! OCPI Tariffs (`mapping::tariff`), stored for the Tariffs SENDER
//! (`GET /ocpi/2.2.1/tariffs`) and `PUT` to the tariffs RECEIVER of the OCPI eMSPs they are
//! for, through the outbox.
//!
//! # Decisions
//! * **For whom**: products for one `ProviderID` are stored for that eMSP party and pushed only
//!   to the connection with that EMSP role; products for `*` are stored for every eMSP and
//!   pushed to every connected eMSP with a tariffs RECEIVER.
//! * **Owner**: the own CPO's OCPI identity (as for Locations), not the one derived from the
//!   `OperatorID`.
//! * **Policy**: `TariffPolicy::default()` (no VAT stated, 350 kW when a Tariff states no
//!   power); a per-partner VAT setting is not offered yet.
//! * OICP EVSE pricing (`PushEVSEPricing`) is not translated here: it names tariffs per EVSE
//!   and would change the Locations' `tariff_ids`.
//! * A push that has no OCPI form is logged and not translated (the OICP push itself was
//!   stored and acknowledged).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use super::objects;
use super::own_cpo;
use super::sessions::object_key;
use crate::mapping::MappingCtx;
use crate::mapping::tariff::{TariffPolicy, pricing_product_data_to_tariffs};
use crate::node::NodeState;
use crate::node::ocpi::OcpiState;
use crate::ocpi::v221::versions::{InterfaceRole, Role as OcpiRole};
use crate::oicp::v23::ids::ProviderIdOrAll;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::pricing::PricingProductData;
use crate::store::ocpi_cpo_objects::{CpoObject, EVERY_EMSP, ObjectKind};
use crate::store::{OutboxEntry, TargetRef};

/// The path of the interface below `/ocpi/2.2.1/`.
pub const PATH: &str = "tariffs";

/// Adds the routes to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/tariffs", "/tariffs/"]).route(web::get().to(list)));
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    objects::list(&req, &state, ObjectKind::Tariff, PATH).await
}

/// After the backend pushed pricing products: stores their Tariffs and queues the pushes
/// (module documentation).
pub async fn on_pricing(state: &NodeState, data: &PricingProductData) {
    let Some(own) = own_cpo(state, &data.operator_id) else {
        return;
    };
    let mapping = MappingCtx::new(chrono::Utc::now());
    let tariffs = match pricing_product_data_to_tariffs(data, &TariffPolicy::default(), &mapping) {
        Ok(m) => m.value,
        Err(e) => {
            tracing::warn!(operator = %data.operator_id, error = %e, "pricing products have no OCPI Tariff form");
            return;
        }
    };
    let audience = match &tariffs.provider {
        ProviderIdOrAll::All => EVERY_EMSP.to_owned(),
        ProviderIdOrAll::Provider(p) => {
            format!("{}/{}", p.country_code(), p.party_id()).to_ascii_uppercase()
        }
    };
    let (cc, pid) = (
        own.party.country_code.as_str().to_owned(),
        own.party.party_id.as_str().to_owned(),
    );
    let mut objects = Vec::new();
    let mut bodies = Vec::new();
    for mut t in tariffs.tariffs {
        t.country_code = own.party.country_code.clone();
        t.party_id = own.party.party_id.clone();
        let Ok(json) = serde_json::to_string(&t) else {
            continue;
        };
        let id = t.id.as_str().to_owned();
        objects.push(CpoObject {
            kind: ObjectKind::Tariff,
            key: object_key(&cc, &pid, &id),
            audience: audience.clone(),
            last_updated: t.last_updated.value().timestamp_millis(),
            json: json.clone(),
        });
        bodies.push((format!("PUT /{cc}/{pid}/{id}"), json));
    }
    let process_id = uuid::Uuid::new_v4().to_string();
    let mut entries = Vec::new();
    for connection in state.ocpi.connections() {
        let for_it = connection.roles.iter().any(|r| {
            r.role == OcpiRole::Emsp
                && (audience == EVERY_EMSP
                    || format!("{}/{}", r.country_code.as_str(), r.party_id.as_str())
                        .eq_ignore_ascii_case(&audience))
        });
        let has_receiver = OcpiState::partner_endpoint(
            &state.registry,
            &connection,
            "tariffs",
            &InterfaceRole::Receiver,
        )
        .is_some();
        let Ok(peer) = connection.peer() else {
            continue;
        };
        if !for_it || !has_receiver {
            continue;
        }
        for (path, json) in &bodies {
            entries.push(OutboxEntry::new(
                TargetRef::peer(peer.clone()),
                Operation::PushPricingProductData,
                path.clone(),
                Arc::from(json.clone().into_bytes()),
                &process_id,
            ));
        }
    }
    match state
        .store
        .ocpi_cpo_put_objects(objects, &entries, chrono::Utc::now())
        .await
    {
        Ok(()) => state.delivery.queued(&entries),
        Err(e) => tracing::error!(error = %e, "storing OCPI Tariffs failed"),
    }
}
