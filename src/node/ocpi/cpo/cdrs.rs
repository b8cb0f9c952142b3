//! CDRs from the CPO side (ocpi-2.2.1.md §4.3): the backend's OICP CDR for a session of an
//! OCPI eMSP becomes an OCPI CDR (`mapping::cdr`), `POST`ed to that eMSP's cdrs RECEIVER
//! through the outbox and served by the CDRs SENDER (`GET /ocpi/2.2.1/cdrs`).
//!
//! # Decisions
//! * **Location**: the view's Location of the CDR's `EvseID` (`CdrSite::Location`); an EVSE
//!   the view does not hold refuses the CDR (022: an OCPI CDR needs its location; the
//!   mapping's default, `MissingLocation::Reject`).
//! * **Cost** per `CostPolicy::Compute`: the stored Tariff for the CDR's `PartnerProductID`
//!   (as `tariff_id_for_product` names it), else the CPO's `DEFAULT` Tariff, for the eMSP or
//!   for every eMSP; without one `total_cost` is 0 with the mapping's remark and currency
//!   `XXX`.
//! * **Token, authorization reference**: from the recorded real-time authorization, else the
//!   CDR's identification with the peer's first EMSP role as owner.
//! * **Once**: the OICP store's duplicate check on `SessionID` runs first (in
//!   [`crate::node::ops`]): a repeated CDR queues nothing and the OCPI CDR is stored with the
//!   first.

use actix_web::{HttpRequest, HttpResponse, web};

use super::objects;
use super::sessions::{entry, known, object_key};
use crate::config::Peer;
use crate::mapping::MappingCtx;
use crate::mapping::cdr::{CdrContext, CdrSite, charge_detail_record_to_cdr};
use crate::mapping::tariff::{DEFAULT_TARIFF_ID, tariff_id_for_product};
use crate::node::NodeState;
use crate::node::failure::Failure;
use crate::node::ops::Ctx;
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::tariffs::Tariff;
use crate::oicp::v23::cdr::ChargeDetailRecord;
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::status::Code;
use crate::store::OutboxEntry;
use crate::store::ocpi_cpo_objects::{CpoObject, EVERY_EMSP, ObjectKind};

/// The path of the interface below `/ocpi/2.2.1/`.
pub const PATH: &str = "cdrs";

/// Adds the routes to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/cdrs", "/cdrs/"]).route(web::get().to(list)));
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    objects::list(&req, &state, ObjectKind::Cdr, PATH).await
}

/// The OCPI CDR of `req` for the OCPI eMSP `peer`, as the object to store and the outbox
/// entry of its `POST` (module documentation).
pub async fn translate(
    ctx: &Ctx,
    peer: &Peer,
    req: &ChargeDetailRecord,
) -> Result<(CpoObject, Vec<OutboxEntry>), Failure> {
    let operator = req.evse_id.operator_id();
    let known = known(ctx, peer, &req.session_id, &operator, &req.evse_id).await?;
    let location: Location = serde_json::from_str(&known.location)
        .map_err(|e| Failure::new(Code::SystemError, format!("stored Location: {e}")))?;
    let cpo = &known.identity.cpo;
    let (cc, pid) = (
        cpo.country_code.as_str().to_owned(),
        cpo.party_id.as_str().to_owned(),
    );
    let audiences = [known.audience.clone(), EVERY_EMSP.to_owned()];
    let mut tariff: Option<Tariff> = None;
    let product = req
        .partner_product_id
        .as_ref()
        .map(|p| tariff_id_for_product(p.as_str()));
    for id in product
        .iter()
        .map(String::as_str)
        .chain([DEFAULT_TARIFF_ID])
    {
        if let Some(o) = ctx
            .state
            .store
            .ocpi_cpo_object(ObjectKind::Tariff, &object_key(&cc, &pid, id), &audiences)
            .await?
        {
            tariff = serde_json::from_str(&o.json).ok();
            if tariff.is_some() {
                break;
            }
        }
    }
    let mapping = MappingCtx::new(chrono::Utc::now());
    let mut c = CdrContext::new(&mapping);
    c.site = CdrSite::Location(&location);
    c.connector_id = Some(known.identity.connector_id.clone());
    c.tariff = tariff.as_ref();
    c.token = known.identity.token.clone();
    c.authorization_reference
        .clone_from(&known.identity.authorization_reference);
    let mut cdr = charge_detail_record_to_cdr(req, &c)
        .map_err(|e| Failure::new(Code::DataError, format!("the CDR has no OCPI form: {e}")))?
        .value;
    cdr.country_code = cpo.country_code.clone();
    cdr.party_id = cpo.party_id.clone();
    let json =
        serde_json::to_string(&cdr).map_err(|e| Failure::new(Code::SystemError, e.to_string()))?;
    let object = CpoObject {
        kind: ObjectKind::Cdr,
        key: object_key(&cc, &pid, cdr.id.as_str()),
        audience: known.audience.clone(),
        last_updated: cdr.last_updated.value().timestamp_millis(),
        json: json.clone(),
    };
    let e = entry(
        ctx,
        peer,
        Operation::ChargeDetailRecord,
        "POST ".to_owned(),
        json.into_bytes(),
    );
    Ok((object, vec![e]))
}
