//! Real-time authorization RECEIVER of the eMSP side (ocpi-2.2.1.md §4.5): `POST
//! tokens/{uid}/authorize[?type=]` from an OCPI CPO becomes an OICP `eRoamingAuthorizeStart`
//! to the addressed own EMP's backend (`mapping::authorize`), whose answer becomes the
//! `AuthorizationInfo`.
//!
//! # Decisions
//! * The OICP `OperatorID` is the calling CPO's party (`OCPI-from-*`, else the connection's
//!   first CPO role) as `{cc}*{party_id}`; the `EvseID` is the `evse_id` of the first
//!   `evse_uids` entry in the Location we hold for it (none when we hold none).
//! * A token with no OICP identification, and an OICP answer saying the token is unknown,
//!   answer HTTP 404 with 2004 (§11 item 1).
//! * A backend that cannot be reached or answers no `AuthorizationStart` answers HTTP 500
//!   with 3000: the eMSP could not decide, and the CPO applies its whitelist policy
//!   (`ALLOWED_OFFLINE`).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{client, typed};
use crate::config::PartnerId;
use crate::mapping::authorize::{
    OcpiAuthorizationAnswer, authorization_start_to_ocpi, authorize_identification_token,
    ocpi_authorize_to_authorize_start,
};
use crate::mapping::token::TokenCtx;
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::ocpi::v221::ids::TokenUid;
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::tokens::{LocationReferences, TokenType};
use crate::oicp::v23::authorization::AuthorizationStart;
use crate::oicp::v23::ids::{EvseId, OperatorId};
use crate::oicp::v23::operations::Operation;
use crate::peer::client::{OicpClient, fill_path};
use crate::store::ocpi_emsp::{EmspKey, EmspKind};

/// Adds the authorize route (below the Tokens SENDER).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/tokens/{uid}/authorize", "/tokens/{uid}/authorize/"])
            .route(web::post().to(authorize)),
    );
}

fn token_type(query: &str) -> TokenType {
    query
        .split('&')
        .find_map(|p| p.strip_prefix("type="))
        .map_or(TokenType::Rfid, |t| {
            TokenType::from_wire(&t.to_ascii_uppercase())
        })
}

async fn evse_of(
    state: &NodeState,
    cpo: (&str, &str),
    refs: Option<&LocationReferences>,
) -> Result<Option<EvseId>, OcpiError> {
    let Some(refs) = refs else { return Ok(None) };
    let key = EmspKey::new(EmspKind::Location, cpo.0, cpo.1, refs.location_id.as_str());
    let Some(stored) = state.store.ocpi_emsp_get(key).await? else {
        return Ok(None);
    };
    let location: Location = typed(&stored.json)?;
    let uid = refs.evse_uids.as_ref().and_then(|u| u.first());
    Ok(location
        .evses
        .iter()
        .flatten()
        .find(|e| uid.is_some_and(|u| e.uid.eq_ignore_case(u.as_str())))
        .and_then(|e| e.evse_id.as_ref())
        .and_then(|id| EvseId::parse(&id.as_str().to_ascii_uppercase()).ok()))
}

async fn authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    oicp: web::Data<OicpClient>,
) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let uid = TokenUid::parse(req.match_info().get("uid").unwrap_or_default())
            .map_err(|e| OcpiError::InvalidParameter(format!("token uid: {e}")))?;
        let kind = token_type(req.query_string());
        let refs: Option<LocationReferences> = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(parse_body(&body)?)
        };
        let cpo = client
            .routing
            .from
            .as_ref()
            .map(|p| {
                (
                    p.country_code.as_str().to_owned(),
                    p.party_id.as_str().to_owned(),
                )
            })
            .or_else(|| {
                client.connection.roles.iter().find_map(|r| {
                    (r.role == crate::ocpi::v221::versions::Role::Cpo).then(|| {
                        (
                            r.country_code.as_str().to_owned(),
                            r.party_id.as_str().to_owned(),
                        )
                    })
                })
            })
            .ok_or_else(|| {
                OcpiError::NotEnoughInformation("no CPO party to authorize for".into())
            })?;
        let operator = OperatorId::parse(&format!("{}*{}", cpo.0, cpo.1).to_ascii_uppercase())
            .map_err(|e| OcpiError::InvalidParameter(format!("CPO party: {e}")))?;
        let evse = evse_of(&state, (&cpo.0, &cpo.1), refs.as_ref()).await?;
        let unknown = || OcpiError::UnknownToken(format!("token {} is not known", uid.as_str()));
        let start =
            ocpi_authorize_to_authorize_start(&uid, &kind, refs.as_ref(), operator.clone(), evse)
                .map_err(|_| unknown())?
                .value;
        let PartnerId::Provider(provider) = &client.own.id else {
            return Err(OcpiError::Internal(
                "the addressed eMSP is no EMP".to_owned(),
            ));
        };
        let target = state
            .registry
            .party(&client.own.id)
            .and_then(|p| state.registry.backend_target(p))
            .ok_or_else(|| OcpiError::Internal(format!("{} has no backend", client.own.id)))?;
        let op = Operation::AuthorizeStart;
        let answer: AuthorizationStart = oicp
            .call(
                &target,
                &fill_path(op.path_template(), operator.as_str()),
                &uuid::Uuid::new_v4().to_string(),
                &start,
            )
            .await
            .map_err(|e| OcpiError::Internal(format!("AuthorizeStart at the backend: {e}")))?;
        let token = authorize_identification_token(
            &start.identification,
            provider,
            &TokenCtx::new(chrono::Utc::now()).with_issuer(client.own.name.clone()),
        )
        .map_err(|_| unknown())?
        .value;
        match authorization_start_to_ocpi(&answer, token, refs).value {
            OcpiAuthorizationAnswer::Info(info) => {
                Ok(Reply::ok(&info).routing(&client.routing.reversed()))
            }
            OcpiAuthorizationAnswer::UnknownToken => Err(unknown()),
        }
    }
    .await;
    respond(result)
}
