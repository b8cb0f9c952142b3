//! OICP `eRoamingAuthorizeStart` <-> OCPI real-time authorization
//! (`POST {tokens}/{token_uid}/authorize?type=…` with `LocationReferences`, answered with
//! `AuthorizationInfo`), and `eRoamingAuthorizeStop` answered locally
//! (`oicp-ocpi-mapping.md` §0, §4.1, §9 P21, P22).
//!
//! # OICP CPO -> OCPI eMSP
//! * [`authorize_start_to_ocpi`]: the identification gives the token uid and type (RFID
//!   `UID` -> `RFID`; QR code and remote `EvcoID` -> `APP_USER`; Plug&Charge -> `OTHER`, via the
//!   table); the bridge's `EvseID` -> Location lookup (passed in) gives `LocationReferences`.
//!   Which eMSP to ask (P21) is the caller's routing decision.
//! * [`authorization_info_to_oicp`]: `ALLOWED` -> `Authorized`, `000`, `ProviderID` = the
//!   token's eMSP, `SessionID` = `authorization_reference` when it is a GUID, else the GUID the
//!   caller minted (P6). The other verdicts -> `NotAuthorized` with a code per
//!   [`not_allowed_code`]; the OCPI verdict and `info` text are kept in
//!   `StatusCode.AdditionalInfo`. `AuthorizationStopIdentifications`: the token itself plus the
//!   identifications of the tokens sharing its `group_id` (P22), which the caller looks up.
//! * [`authorization_failure_to_oicp`]: OCPI error 2004 (unknown token) -> `NotAuthorized` 102
//!   (P22); no eMSP to ask -> 300; eMSP not answering -> 310.
//!
//! # OCPI CPO -> OICP EMP
//! * [`ocpi_authorize_to_authorize_start`]: token uid/type -> identification (an RFID uid that
//!   is an OICP `UID`; otherwise the uid must be an `EvcoID`), `OperatorID` = the CPO's party,
//!   `EvseID` from the bridge's lookup.
//! * [`authorization_start_to_ocpi`]: `Authorized` -> `ALLOWED` with `authorization_reference`
//!   = `SessionID`; `NotAuthorized` 102/105/120 (invalid `UID` or `EvcoID`) -> the OCPI "unknown
//!   token" answer (2004); 200 (`EvcoID` locked) -> `BLOCKED`; everything else -> `NOT_ALLOWED`.
//!
//! # `AuthorizeStop` (§4.1)
//! OCPI has no stop authorization: [`answer_authorize_stop`] answers locally. Authorized when
//! the identification is the one that started the session or one of its stop identifications;
//! `NotAuthorized` 102 otherwise and 400 (session is invalid) for an unknown session.

use super::notes::{Notes, built, loaded};
use super::token::{TokenCtx, identification_to_token, provider_party, same_identification};
use super::{Mapped, MappingError};
use crate::ocpi::v221::ids::{AuthorizationReference, TokenUid};
use crate::ocpi::v221::tokens::{
    AllowedType, AuthorizationInfo, LocationReferences, Token, TokenType,
};
use crate::oicp::v23::authorization::{
    AuthorizationStart, AuthorizationStatus, AuthorizationStop, AuthorizeStart, AuthorizeStop,
};
use crate::oicp::v23::common::{Identification, IdentificationKind};
use crate::oicp::v23::ids::{EvseId, OperatorId, ProviderId, SessionId};
use crate::oicp::v23::scalars::Text;
use crate::oicp::v23::status::{Code, StatusCode};
use crate::oicp::v23::wire::Extra;

/// The OCPI real-time authorization request made from an OICP `AuthorizeStart`: the token uid
/// and type of the URL, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct OcpiAuthorizeRequest {
    /// `{token_uid}` of the URL.
    pub token_uid: TokenUid,
    /// `?type=` of the URL.
    pub token_type: TokenType,
    /// The body; `None` when the request names no EVSE the bridge knows.
    pub location: Option<LocationReferences>,
}

/// OICP `AuthorizeStart` -> OCPI real-time authorization. `location` is the bridge's
/// Location and EVSE for the request's `EvseID` (`None` when it has none or does not know it).
///
/// # Errors
/// When the identification has no OCPI token form or the tables are broken.
pub fn authorize_start_to_ocpi(
    req: &AuthorizeStart,
    location: Option<LocationReferences>,
) -> Result<Mapped<OcpiAuthorizeRequest>, MappingError> {
    let t = loaded("Identification")?;
    let mut notes = Notes::new("");
    let (member, uid) = match req.identification.kind() {
        Some(IdentificationKind::RfidMifareFamily(m)) => (
            super::tables::IdentificationMember::RfidMifareFamily,
            m.uid.as_str().to_owned(),
        ),
        Some(IdentificationKind::Rfid(m)) => (
            super::tables::IdentificationMember::Rfid,
            m.uid.as_str().to_owned(),
        ),
        Some(IdentificationKind::QrCode(m)) => (
            super::tables::IdentificationMember::QrCode,
            m.evco_id.normalized(),
        ),
        Some(IdentificationKind::PlugAndCharge(m)) => (
            super::tables::IdentificationMember::PlugAndCharge,
            m.evco_id.normalized(),
        ),
        Some(IdentificationKind::Remote(m)) => (
            super::tables::IdentificationMember::Remote,
            m.evco_id.normalized(),
        ),
        None => {
            return Err(MappingError::new(
                "Identification",
                "no identification member",
            ));
        }
    };
    let entry = t.identification.to_ocpi(&member);
    let Some(token_type) = notes.lookup(
        &entry,
        &member,
        &format!("Identification.{}", member.as_str()),
    ) else {
        return Err(MappingError::new(
            "Identification",
            format!("{} has no OCPI token type", member.as_str()),
        ));
    };
    if req.evse_id.is_some() && location.is_none() {
        notes.add(
            "EvseID",
            "the bridge knows no Location for this EVSE: asked without LocationReferences",
        );
    }
    notes.add_if(
        req.session_id.is_some(),
        "SessionID",
        "OCPI authorization has no session id (kept by the bridge)",
    );
    notes.add_if(
        req.cpo_partner_session_id.is_some(),
        "CPOPartnerSessionID",
        "OCPI has no partner session ids (kept by the bridge)",
    );
    notes.add_if(
        req.emp_partner_session_id.is_some(),
        "EMPPartnerSessionID",
        "OCPI has no partner session ids (kept by the bridge)",
    );
    notes.add_if(
        req.partner_product_id.is_some(),
        "PartnerProductID",
        "OCPI authorization names no product",
    );
    Ok(Mapped {
        value: OcpiAuthorizeRequest {
            token_uid: built("Identification", TokenUid::parse(&uid))?,
            token_type,
            location,
        },
        losses: notes.losses,
    })
}

/// The OICP code for an OCPI verdict other than `ALLOWED` (§4.1, P22): `BLOCKED` -> 102 for
/// RFID tokens, 200 (`EvcoID` locked) for contract tokens; `EXPIRED`, `NO_CREDIT` -> 210 (no
/// valid contract); `NOT_ALLOWED` (valid, not here) -> 102 for RFID, 210 otherwise; a verdict
/// outside the spec -> 106 (no positive authentication response).
pub fn not_allowed_code(allowed: &AllowedType, token_type: &TokenType) -> Code {
    let rfid = *token_type == TokenType::Rfid;
    match allowed {
        AllowedType::Allowed => Code::Success,
        AllowedType::Blocked | AllowedType::NotAllowed if rfid => Code::RfidInvalidUid,
        AllowedType::Blocked => Code::EvcoIdLocked,
        AllowedType::Expired | AllowedType::NoCredit | AllowedType::NotAllowed => {
            Code::NoValidContract
        }
        AllowedType::Unknown(_) => Code::NoPositiveAuthenticationResponse,
    }
}

/// What [`authorization_info_to_oicp`] needs besides the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationAnswerCtx {
    /// The `SessionID` to use when `authorization_reference` is absent or not a GUID (minted by
    /// the caller, e.g. [`SessionId::new_v4_from_bytes`]; P6).
    pub minted_session_id: SessionId,
    /// Identifications of the other tokens in the token's group (P22), from the token store.
    pub group_identifications: Vec<Identification>,
    /// The `LocationReferences` the request named, to tell whether the answer narrows them.
    pub requested: Option<LocationReferences>,
}

/// OCPI `AuthorizationInfo` -> OICP `eRoamingAuthorizationStart` (module documentation).
///
/// # Errors
/// When a built OICP value is refused (a bug) or the tables are broken.
pub fn authorization_info_to_oicp(
    info: &AuthorizationInfo,
    ctx: &AuthorizationAnswerCtx,
) -> Result<Mapped<AuthorizationStart>, MappingError> {
    let t = loaded("token")?;
    let mut notes = Notes::new("");
    let token = &info.token;
    let provider = super::token::token_provider(token, "token")?;
    let session_id = super::notes::session_from_reference(
        info.authorization_reference.as_ref(),
        &ctx.minted_session_id,
        &mut notes,
    );
    if info.location.is_some() && info.location != ctx.requested {
        notes.add(
            "location",
            "OICP cannot narrow an authorization to some EVSEs; not carried",
        );
    }
    let additional = match &info.info {
        Some(text) => format!(
            "OCPI allowed: {}; info ({}): {}",
            info.allowed, text.language, text.text
        ),
        None => format!("OCPI allowed: {}", info.allowed),
    };
    let mut tn = Notes::new("token");
    let mut stop = Vec::new();
    if let Some(own) = super::token::token_identification(
        token.uid.as_str(),
        &token.token_type,
        Some(token.contract_id.as_str()),
        t,
        &mut tn,
    ) {
        stop.push(own);
    }
    for id in &ctx.group_identifications {
        if !stop.iter().any(|s| same_identification(s, id)) {
            stop.push(id.clone());
        }
    }
    let code = not_allowed_code(&info.allowed, &token.token_type);
    let authorized = info.allowed == AllowedType::Allowed;
    let mut status_code = StatusCode::new(code);
    status_code.additional_info = Some(Text::truncated(&additional));
    Ok(Mapped {
        value: AuthorizationStart {
            session_id: Some(session_id),
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id: authorized.then_some(provider),
            authorization_status: if authorized {
                AuthorizationStatus::Authorized
            } else {
                AuthorizationStatus::NotAuthorized
            },
            status_code,
            authorization_stop_identifications: (authorized && !stop.is_empty()).then_some(stop),
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// Why an OCPI real-time authorization gave no `AuthorizationInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationFailure {
    /// The eMSP answered OCPI status 2004: unknown token.
    UnknownToken,
    /// No eMSP could be chosen for the token (P21).
    NoEmsp,
    /// The eMSP did not answer in time or could not be reached.
    EmspUnreachable,
}

/// An OICP `NotAuthorized` answer for a failed OCPI authorization: 2004 -> 102, no eMSP ->
/// 300 (partner not found), unreachable -> 310 (partner did not respond).
pub fn authorization_failure_to_oicp(failure: AuthorizationFailure) -> AuthorizationStart {
    AuthorizationStart::not_authorized(match failure {
        AuthorizationFailure::UnknownToken => Code::RfidInvalidUid,
        AuthorizationFailure::NoEmsp => Code::PartnerNotFound,
        AuthorizationFailure::EmspUnreachable => Code::PartnerDidNotRespond,
    })
}

/// OCPI real-time authorization (as received by the bridge's OCPI eMSP side) -> OICP
/// `AuthorizeStart` towards the OICP EMP. `operator_id` is the OCPI CPO as an OICP operator
/// (`{cc}*{party}`), `evse_id` the EVSE the bridge found for the `LocationReferences`.
///
/// # Errors
/// When the token has no OICP identification (an RFID uid that is not a `UID`, or another
/// type whose uid is not an `EvcoID`, or `AD_HOC_USER`).
pub fn ocpi_authorize_to_authorize_start(
    token_uid: &TokenUid,
    token_type: &TokenType,
    location: Option<&LocationReferences>,
    operator_id: OperatorId,
    evse_id: Option<EvseId>,
) -> Result<Mapped<AuthorizeStart>, MappingError> {
    let t = loaded("token_uid")?;
    let mut notes = Notes::new("");
    let Some(identification) =
        super::token::token_identification(token_uid.as_str(), token_type, None, t, &mut notes)
    else {
        let reason = notes
            .losses
            .last()
            .map_or_else(|| "no OICP identification".to_owned(), |l| l.reason.clone());
        return Err(MappingError::new("token_uid", reason));
    };
    if let Some(l) = location {
        notes.add_if(
            l.evse_uids.as_ref().is_some_and(|u| u.len() > 1),
            "evse_uids",
            "OICP AuthorizeStart names one EVSE; only the bridge's chosen EvseID is sent",
        );
        notes.add_if(
            evse_id.is_none(),
            "location_id",
            "the bridge found no EvseID for the Location: sent without EvseID",
        );
    }
    Ok(Mapped {
        value: AuthorizeStart {
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            operator_id,
            evse_id,
            identification,
            partner_product_id: None,
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// The OCPI answer to a real-time authorization made from an OICP answer.
#[derive(Debug, Clone, PartialEq)]
pub enum OcpiAuthorizationAnswer {
    /// Answer with this `AuthorizationInfo`.
    Info(Box<AuthorizationInfo>),
    /// Answer with OCPI status 2004 (unknown token).
    UnknownToken,
}

/// OICP `eRoamingAuthorizationStart` -> the OCPI answer (module documentation). `token` is the
/// OCPI Token of the request (from the token store, or built from the request's
/// identification with [`authorize_identification_token`]).
pub fn authorization_start_to_ocpi(
    answer: &AuthorizationStart,
    token: Token,
    location: Option<LocationReferences>,
) -> Mapped<OcpiAuthorizationAnswer> {
    let mut notes = Notes::new("");
    let code = &answer.status_code.code;
    if answer.authorization_status != AuthorizationStatus::Authorized
        && matches!(
            code,
            Code::RfidInvalidUid | Code::PlcInvalidEvcoId | Code::PlcInvalidUnderlyingEvcoId
        )
    {
        return Mapped {
            value: OcpiAuthorizationAnswer::UnknownToken,
            losses: notes.losses,
        };
    }
    let allowed = match (&answer.authorization_status, code) {
        (AuthorizationStatus::Authorized, _) => AllowedType::Allowed,
        (_, Code::EvcoIdLocked) => AllowedType::Blocked,
        _ => {
            notes.add(
                "StatusCode.Code",
                format!("OCPI has no verdict for OICP code {code}: NOT_ALLOWED"),
            );
            AllowedType::NotAllowed
        }
    };
    let reference = answer
        .session_id
        .as_ref()
        .and_then(|s| AuthorizationReference::parse(s.as_str()).ok());
    notes.add_if(
        answer.authorization_stop_identifications.is_some(),
        "AuthorizationStopIdentifications",
        "OCPI has no stop identifications (the CPO decides who may stop); not carried",
    );
    for (present, field) in [
        (
            answer.cpo_partner_session_id.is_some(),
            "CPOPartnerSessionID",
        ),
        (
            answer.emp_partner_session_id.is_some(),
            "EMPPartnerSessionID",
        ),
    ] {
        notes.add_if(
            present,
            field,
            "OCPI has no partner session ids (kept by the bridge)",
        );
    }
    Mapped {
        value: OcpiAuthorizationAnswer::Info(Box::new(AuthorizationInfo {
            allowed,
            token,
            location,
            authorization_reference: reference,
            info: None,
            extra: Extra::new(),
        })),
        losses: notes.losses,
    }
}

/// The OCPI Token for an OICP request's identification, when the token store has none: the
/// EMP is the identification's provider (its `EvcoID`) or `provider`.
///
/// # Errors
/// When the identification has no OCPI form or the tables are broken.
pub fn authorize_identification_token(
    identification: &Identification,
    provider: &ProviderId,
    ctx: &TokenCtx,
) -> Result<Mapped<Token>, MappingError> {
    let t = loaded("Identification")?;
    let mut notes = Notes::new("Identification");
    let provider = identification.evco_id().map_or_else(
        || provider.clone(),
        crate::oicp::v23::ids::EvcoId::provider_id,
    );
    provider_party(&provider)?;
    let issuer = ctx.issuer.clone().unwrap_or_else(|| provider.normalized());
    let token = identification_to_token(identification, &provider, &issuer, t, ctx, &mut notes)?
        .ok_or_else(|| MappingError::new("Identification", "no OCPI token form"))?;
    Ok(Mapped {
        value: token,
        losses: notes.losses,
    })
}

/// What the bridge remembers of an authorized session, to answer `AuthorizeStop` locally.
#[derive(Debug, Clone, PartialEq)]
pub struct StartedSession {
    /// The session.
    pub session_id: SessionId,
    /// The identification that started it.
    pub identification: Identification,
    /// The identifications that may also stop it (`AuthorizationStopIdentifications`).
    pub stop_identifications: Vec<Identification>,
    /// The EMP that authorized it.
    pub provider_id: Option<ProviderId>,
}

/// Answers an OICP `AuthorizeStop` locally (§4.1): `session` is what the bridge knows of the
/// request's `SessionID` (`None`: unknown).
pub fn answer_authorize_stop(
    req: &AuthorizeStop,
    session: Option<&StartedSession>,
) -> AuthorizationStop {
    let (status, code, provider) = match session {
        Some(s) if s.session_id.eq_ignore_ascii_case(&req.session_id) => {
            let same = same_identification(&s.identification, &req.identification)
                || s.stop_identifications
                    .iter()
                    .any(|i| same_identification(i, &req.identification));
            if same {
                (
                    AuthorizationStatus::Authorized,
                    Code::Success,
                    s.provider_id.clone(),
                )
            } else {
                (
                    AuthorizationStatus::NotAuthorized,
                    Code::RfidInvalidUid,
                    None,
                )
            }
        }
        _ => (
            AuthorizationStatus::NotAuthorized,
            Code::SessionIsInvalid,
            None,
        ),
    };
    AuthorizationStop {
        session_id: Some(req.session_id.clone()),
        cpo_partner_session_id: req.cpo_partner_session_id.clone(),
        emp_partner_session_id: req.emp_partner_session_id.clone(),
        provider_id: provider,
        authorization_status: status,
        status_code: StatusCode::new(code),
        extra: Extra::new(),
    }
}
