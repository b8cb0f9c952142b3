//! Real-time authorization from the CPO side (ocpi-2.2.1.md §4.5, `oicp-ocpi-mapping.md` §4.1):
//! an OICP `eRoamingAuthorizeStart` of the own CPO backend that the routing sends to an OCPI
//! eMSP peer becomes `POST {tokens SENDER}/{uid}/authorize?type=…` with the
//! `LocationReferences` of the request's `EvseID` (from the translated Location view), and the
//! `AuthorizationInfo` becomes the OICP answer (`mapping::authorize`). `AuthorizeStop` is
//! answered locally (OCPI has no stop authorization).
//!
//! # Decisions
//! * **Tokens the eMSP pushed to us** (Tokens Receiver) answer locally by their `whitelist`:
//!   `ALWAYS` (and valid) without asking; `ALLOWED` and `ALLOWED_OFFLINE` (and valid) when the
//!   eMSP cannot be reached or cannot decide (no answer, HTTP 5xx); `NEVER` and unknown tokens
//!   always ask. A token stored as not `valid` is never authorized locally.
//! * **Failures**: the eMSP answers 2004 (unknown token, with HTTP 200 or 404), or HTTP 404
//!   without an OCPI envelope -> `NotAuthorized` 102; `data` that is a list of one
//!   `AuthorizationInfo` is read as that object (a partner's deviation); timeout -> 310; unreachable, HTTP 5xx or an answer that is no `AuthorizationInfo` ->
//!   320; a peer without a connection (no handshake yet) -> 320; an identification without an
//!   OCPI token form -> `NotAuthorized` 210.
//! * **Session**: the `SessionID` is the eMSP's `authorization_reference` when it is a GUID,
//!   else the backend's, else a fresh one (P6). An authorized session is recorded (eMSP peer,
//!   token, OICP identifications, reference, Location and EVSE) so that `AuthorizeStop`,
//!   charging notifications and the CDR go to that eMSP with the same token and reference.

use super::own_cpo;
use crate::config::Peer;
use crate::mapping::authorize::{
    AuthorizationAnswerCtx, AuthorizationFailure, StartedSession, answer_authorize_stop,
    authorization_failure_to_oicp, authorization_info_to_oicp, authorize_start_to_ocpi,
};
use crate::node::failure::Failure;
use crate::node::ocpi::OcpiState;
use crate::node::ocpi::client::{ClientError, OcpiClient};
use crate::node::ops::Ctx;
use crate::ocpi::v221::ids::{EvseUid, LocationId};
use crate::ocpi::v221::tokens::{
    AllowedType, AuthorizationInfo, LocationReferences, Token, WhitelistType,
};
use crate::ocpi::v221::versions::{InterfaceRole, Role as OcpiRole};
use crate::oicp::v23::authorization::{
    AuthorizationStart, AuthorizationStop, AuthorizeStart, AuthorizeStop,
};
use crate::oicp::v23::common::Identification;
use crate::oicp::v23::ids::SessionId;
use crate::oicp::v23::status::Code;
use crate::oicp::v23::wire::Extra;
use crate::store::ocpi_cpo_objects::SessionRef;

/// Why the eMSP gave no verdict.
enum NoVerdict {
    /// It did not answer in time.
    Timeout(String),
    /// It could not be reached or could not decide.
    Down(String),
    /// It answered with something else than a verdict.
    Refused(String),
}

/// The `LocationReferences` of an EVSE the view holds.
pub async fn location_of(
    ctx: &Ctx,
    evse: Option<&crate::oicp::v23::ids::EvseId>,
) -> Result<Option<(LocationReferences, String)>, Failure> {
    let Some(evse) = evse else {
        return Ok(None);
    };
    let Some((location_id, uid, json)) = ctx
        .state
        .store
        .ocpi_cpo_evse_location(&evse.canonical())
        .await?
    else {
        return Ok(None);
    };
    let (Ok(location_id), Ok(uid)) = (LocationId::parse(&location_id), EvseUid::parse(&uid)) else {
        return Ok(None);
    };
    Ok(Some((
        LocationReferences {
            location_id,
            evse_uids: Some(vec![uid]),
            extra: Extra::new(),
        },
        json,
    )))
}

/// `AuthorizeStart` at the OCPI eMSP `peer` (module documentation).
pub async fn authorize_start(
    ctx: &Ctx,
    peer: &Peer,
    req: &AuthorizeStart,
) -> Result<AuthorizationStart, Failure> {
    let state = &ctx.state;
    let connection = state.ocpi.connection(&peer.id).ok_or_else(|| {
        Failure::new(
            Code::ServiceNotAvailable,
            format!(
                "no OCPI connection with {}: the credentials handshake has not been made",
                peer.id
            ),
        )
    })?;
    let to = connection
        .roles
        .iter()
        .find(|r| r.role == OcpiRole::Emsp)
        .ok_or_else(|| Failure::no_route(format!("the OCPI partner {} is no eMSP", peer.id)))?;
    let own = own_cpo(state, &req.operator_id).ok_or_else(|| {
        Failure::no_route(format!(
            "the operator {} has no OCPI identity",
            req.operator_id
        ))
    })?;
    let location = location_of(ctx, req.evse_id.as_ref())
        .await?
        .map(|(l, _)| l);
    let request = match authorize_start_to_ocpi(req, location.clone()) {
        Ok(m) => m.value,
        Err(e) => {
            let mut answer = AuthorizationStart::not_authorized(Code::NoValidContract);
            answer.status_code = crate::oicp::v23::status::StatusCode::with_description(
                Code::NoValidContract,
                &format!("the identification has no OCPI token form: {e}"),
            );
            return Ok(answer);
        }
    };
    let minted = req
        .session_id
        .clone()
        .unwrap_or_else(|| SessionId::new_v4_from_bytes(*uuid::Uuid::new_v4().as_bytes()));
    let answer_ctx = AuthorizationAnswerCtx {
        minted_session_id: minted,
        group_identifications: Vec::new(),
        requested: location.clone(),
    };
    let stored = stored_token(ctx, to, &request).await?;
    let local = |token: &Token, allowed: &[WhitelistType]| {
        (token.valid && allowed.contains(&token.whitelist)).then(|| AuthorizationInfo {
            allowed: AllowedType::Allowed,
            token: token.clone(),
            location: None,
            authorization_reference: None,
            info: None,
            extra: Extra::new(),
        })
    };
    let info = match stored
        .as_ref()
        .and_then(|t| local(t, &[WhitelistType::Always]))
    {
        Some(info) => {
            tracing::debug!(partner = %peer.id, "authorized locally by the token's whitelist ALWAYS");
            info
        }
        None => match ask(ctx, peer, &connection, own, to, &request).await {
            Ok(Some(info)) => info,
            Ok(None) => {
                return Ok(authorization_failure_to_oicp(
                    AuthorizationFailure::UnknownToken,
                ));
            }
            Err(why) => {
                let offline = [WhitelistType::Allowed, WhitelistType::AllowedOffline];
                match (stored.as_ref().and_then(|t| local(t, &offline)), why) {
                    (Some(info), NoVerdict::Timeout(_) | NoVerdict::Down(_)) => info,
                    (_, NoVerdict::Timeout(d)) => {
                        return Err(Failure::new(Code::PartnerDidNotRespond, d));
                    }
                    (_, NoVerdict::Down(d) | NoVerdict::Refused(d)) => {
                        return Err(Failure::new(Code::ServiceNotAvailable, d));
                    }
                }
            }
        },
    };
    let mapped = authorization_info_to_oicp(&info, &answer_ctx).map_err(|e| {
        Failure::new(
            Code::ServiceNotAvailable,
            format!("the eMSP's AuthorizationInfo has no OICP form: {e}"),
        )
    })?;
    let answer = mapped.value;
    if answer.is_authorized() {
        record(ctx, peer, req, &answer, &info, location.as_ref()).await?;
    }
    Ok(answer)
}

/// Records an authorized session (module documentation).
async fn record(
    ctx: &Ctx,
    peer: &Peer,
    req: &AuthorizeStart,
    answer: &AuthorizationStart,
    info: &AuthorizationInfo,
    location: Option<&LocationReferences>,
) -> Result<(), Failure> {
    if let Some(session_id) = &answer.session_id {
        let record = SessionRef {
            session_id: session_id.as_str().to_ascii_lowercase(),
            peer: peer.id.to_string(),
            emsp: format!(
                "{}/{}",
                info.token.country_code.as_str(),
                info.token.party_id.as_str()
            )
            .to_ascii_uppercase(),
            token: serde_json::to_string(&info.token).unwrap_or_default(),
            identification: serde_json::to_string(&req.identification).unwrap_or_default(),
            stop_identifications: serde_json::to_string(
                &answer
                    .authorization_stop_identifications
                    .clone()
                    .unwrap_or_default(),
            )
            .unwrap_or_default(),
            authorization_reference: info
                .authorization_reference
                .as_ref()
                .map(|r| r.as_str().to_owned()),
            location_id: location.as_ref().map(|l| l.location_id.as_str().to_owned()),
            evse_uid: location
                .as_ref()
                .and_then(|l| l.evse_uids.as_ref())
                .and_then(|u| u.first())
                .map(|u| u.as_str().to_owned()),
            charging_started: false,
        };
        ctx.state.store.ocpi_cpo_put_session_ref(record).await?;
    }
    Ok(())
}

/// The token the eMSP pushed to us, if it did.
async fn stored_token(
    ctx: &Ctx,
    to: &crate::ocpi::v221::versions::CredentialsRole,
    request: &crate::mapping::authorize::OcpiAuthorizeRequest,
) -> Result<Option<Token>, Failure> {
    let token_type = serde_json::to_value(&request.token_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let found = ctx
        .state
        .store
        .ocpi_cpo_token(
            &to.country_code.as_str().to_ascii_uppercase(),
            &to.party_id.as_str().to_ascii_uppercase(),
            &request.token_uid.as_str().to_ascii_uppercase(),
            &token_type,
        )
        .await?;
    Ok(found.and_then(|t| serde_json::from_str(&t.json).ok()))
}

/// Asks the eMSP: `Ok(Some)` a verdict, `Ok(None)` unknown token (2004).
async fn ask(
    ctx: &Ctx,
    peer: &Peer,
    connection: &crate::store::ocpi::OcpiConnection,
    own: &crate::node::ocpi::OwnParty,
    to: &crate::ocpi::v221::versions::CredentialsRole,
    request: &crate::mapping::authorize::OcpiAuthorizeRequest,
) -> Result<Option<AuthorizationInfo>, NoVerdict> {
    let base = OcpiState::partner_endpoint(
        &ctx.state.registry,
        connection,
        "tokens",
        &InterfaceRole::Sender,
    )
    .ok_or_else(|| NoVerdict::Refused(format!("the eMSP {} lists no tokens SENDER", peer.id)))?;
    let token_type = serde_json::to_value(&request.token_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    // `token_type` too for other types than RFID: some partners read only that name
    // (extrawest-ocpi, D7 in docs/ocpi-interop-extrawest.md).
    let extra = if token_type == "RFID" {
        String::new()
    } else {
        format!("&token_type={token_type}")
    };
    let url = format!(
        "{}/{}/authorize?type={token_type}{extra}",
        base.trim_end_matches('/'),
        super::push::segment(request.token_uid.as_str())
    );
    let call = OcpiState::partner_call(
        &ctx.state.registry,
        connection,
        own,
        to,
        Some(&ctx.process_id),
        peer.timeout,
    );
    let body = request
        .location
        .as_ref()
        .and_then(|l| serde_json::to_value(l).ok());
    let result = OcpiClient::new()
        .send(awc::http::Method::POST, &url, body.as_ref(), &call)
        .await;
    match result {
        Ok(mut answer) => {
            // A list holding the one `AuthorizationInfo` is read as that object (extrawest-ocpi,
            // D11 in docs/ocpi-interop-extrawest.md).
            if let Some(serde_json::Value::Array(items)) = &mut answer.envelope.data
                && items.len() == 1
            {
                answer.envelope.data = items.pop();
            }
            answer
                .data::<AuthorizationInfo>(&url)
                .map(Some)
                .map_err(|e| NoVerdict::Refused(e.to_string()))
        }
        // 2004, or HTTP 404 without an envelope (extrawest-ocpi, D8).
        Err(
            ClientError::Status { status: 2004, .. }
            | ClientError::Http {
                status: Some(2004), ..
            }
            | ClientError::Http {
                http: 404,
                status: None,
                ..
            },
        ) => Ok(None),
        Err(e @ ClientError::Unreachable { .. }) if e.is_timeout() => {
            Err(NoVerdict::Timeout(e.to_string()))
        }
        Err(e @ ClientError::Unreachable { .. }) => Err(NoVerdict::Down(e.to_string())),
        Err(e @ ClientError::Http { http, .. }) if http >= 500 => {
            Err(NoVerdict::Down(e.to_string()))
        }
        Err(e) => Err(NoVerdict::Refused(e.to_string())),
    }
}

/// `AuthorizeStop` for a session an OCPI eMSP authorized: answered locally from the recorded
/// session (OCPI has no stop authorization): the identification that started it or one of
/// its stop identifications is `Authorized`, another 102, an unknown session 400.
pub async fn authorize_stop(
    ctx: &Ctx,
    peer: &Peer,
    req: &AuthorizeStop,
) -> Result<AuthorizationStop, Failure> {
    let found = ctx
        .state
        .store
        .ocpi_cpo_session_ref(&req.session_id.as_str().to_ascii_lowercase())
        .await?;
    let started = found
        .filter(|r| r.peer == peer.id.to_string())
        .and_then(|r| {
            let identification: Identification = serde_json::from_str(&r.identification).ok()?;
            let stop: Vec<Identification> =
                serde_json::from_str(&r.stop_identifications).unwrap_or_default();
            let provider = match &peer.id {
                crate::config::PartnerId::Provider(p) => Some(p.clone()),
                crate::config::PartnerId::Operator(_) => None,
            };
            Some(StartedSession {
                session_id: req.session_id.clone(),
                identification,
                stop_identifications: stop,
                provider_id: provider,
            })
        });
    Ok(answer_authorize_stop(req, started.as_ref()))
}
