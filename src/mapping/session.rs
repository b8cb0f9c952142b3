//! OICP `ChargingNotifications` <-> OCPI Sessions (`oicp-ocpi-mapping.md` §6, §9 P6, P7, P27,
//! P28), plus the pieces Sessions and CDRs share: parties, tokens and date-times.
//!
//! # Identity
//! A notification does not say which OCPI Session, Location, EVSE or connector it belongs to,
//! nor which eMSP owns the token: the node keeps that per session and passes it in as a
//! [`SessionIdentity`]. Nothing here looks anything up.
//!
//! # OICP -> OCPI (§6, P28)
//! * **Start** -> a new Session (`PUT`): `status` `ACTIVE`, `start_date_time` = `SessionStart`,
//!   else `ChargingStart`; `kwh` 0; one charging period from `ChargingStart` with `ENERGY` 0
//!   and `tariff_id` = `PartnerProductID` (when it is a valid OCPI id); `last_updated` =
//!   `ChargingStart`. A `SessionStart` before `ChargingStart` adds a `PARKING_TIME` period
//!   first, so the reverse finds `ChargingStart` again.
//! * **Progress** -> a PATCH with `kwh` = `ConsumedEnergyProgress` and `last_updated` =
//!   `EventOccurred`. `ChargingDuration` has no Session field (noted).
//! * **End** -> a PATCH with `kwh` = `ConsumedEnergy`. With a `SessionEnd` the session is over:
//!   `status` `COMPLETED`, `end_date_time`, and a `PARKING_TIME` period from `ChargingEnd` when
//!   the car stayed plugged in. Without one the status stays `ACTIVE` (OCPI has no "charging
//!   ended, still parked" state) and a `PARKING_TIME` period from `ChargingEnd` marks the end of
//!   energy flow. `PenaltyTimeStart` has no field (noted).
//! * **Error** -> a PATCH: before charging started (the identity says so) `status` `INVALID`;
//!   after it `COMPLETED`; a `CriticalError` also asks for the EVSE status `OUTOFORDER`
//!   ([`SessionUpdate::Error`]). `ErrorAdditionalInfo` has no field (noted).
//! * Meter readings, partner session ids (the node keeps them, P7) and members outside the
//!   OICP model are noted.
//!
//! # OCPI -> OICP (§6)
//! [`session_to_notifications`] compares the Session with the last one the node saw (`None` for
//! a new one) and yields the notifications that describe the change:
//! * `PENDING` and `RESERVATION` yield nothing (`RESERVATION` is noted: OICP has no such state);
//! * the first time the Session is `ACTIVE` or `COMPLETED`: **Start** (`ChargingStart` = start
//!   of the first period with `ENERGY`, else `start_date_time`, P27);
//! * `ACTIVE` with a changed `kwh`: **Progress**, at most every 5 minutes
//!   ([`PROGRESS_INTERVAL_SECONDS`], Hubject's rule) after the last one the node sent;
//! * a first `PARKING_TIME` period after the energy periods, or `COMPLETED`, whichever comes
//!   first: **End**, once (`ChargingEnd` = start of that parking period, else `end_date_time`;
//!   `SessionEnd` only when the Session is already `COMPLETED`);
//! * `INVALID`: **Error** `ConnectorError` (noted: OCPI says nothing about the cause).
//!
//! [`apply_patch`] merges a PATCH into the stored Session first (periods are appended).
//!
//! # Tokens (§3, P27)
//! [`identification_to_cdr_token`]: RFID UIDs become `RFID` tokens (contract id from the
//! `EvcoID` of an `RFIDIdentification`, else from the token store via the identity, else the
//! UID, noted); `RemoteIdentification` and `QRCodeIdentification` become `APP_USER`,
//! `PlugAndChargeIdentification` `OTHER`, each with the `EvcoID` as uid and contract id. The
//! eMSP is the identity's, else the `EvcoID`'s provider; with neither the mapping fails.
//! [`cdr_token_to_identification`] is the reverse: an `RFID` uid that is (after upper-casing)
//! an OICP UID becomes `RFIDMifareFamilyIdentification` when the contract id is the uid, else
//! `RFIDIdentification` with the contract id as `EvcoID` (card type `mifareFamily`, noted);
//! other tokens become `RemoteIdentification` (`APP_USER`, `AD_HOC_USER`) or
//! `PlugAndChargeIdentification` (`OTHER`) of the contract id; an `RFID` uid that is no OICP
//! UID falls back to `RemoteIdentification` of the contract id (§0).
//!
//! # Date-times
//! OCPI date-times are UTC; OICP ones are written with the context's UTC offset (the station's,
//! when the node knows it), else `+00:00`.

use chrono::{FixedOffset, Offset, Utc};
use rust_decimal::Decimal;

use super::{LossNote, Mapped, MappingCtx, MappingError};
use crate::ocpi::v221::ids::{
    AuthorizationReference, ConnectorId, ContractId, CountryCode, EvseUid, LocationId, PartyId,
    SessionId as OcpiSessionId, TariffId, TokenUid,
};
use crate::ocpi::v221::locations::Status;
use crate::ocpi::v221::sessions::{
    AuthMethod, CdrDimension, CdrDimensionType, CdrToken, ChargingPeriod, Session, SessionPatch,
    SessionStatus,
};
use crate::ocpi::v221::tokens::TokenType;
use crate::ocpi::v221::types::{DateTime, Number, OcpiString};
use crate::oicp::v23::common::{
    Identification, IdentificationKind, PlugAndChargeIdentification, RemoteIdentification,
    RfidIdentification, RfidMifareFamilyIdentification, RfidType,
};
use crate::oicp::v23::ids::{
    CpoPartnerSessionId, EmpPartnerSessionId, EvcoId, EvseId, OperatorId, ProductId, ProviderId,
    SessionId, Uid,
};
use crate::oicp::v23::notifications::{
    ChargingNotification, ChargingNotificationEnd, ChargingNotificationError,
    ChargingNotificationProgress, ChargingNotificationStart, ChargingNotificationType, ErrorType,
};
use crate::oicp::v23::scalars::{DateTime as OicpDateTime, Decimal as OicpDecimal, Int};
use crate::oicp::v23::wire::Extra;

/// Hubject's minimum distance between two Progress notifications (§6).
pub const PROGRESS_INTERVAL_SECONDS: i64 = 300;

// ---------------------------------------------------------------------------------------------
// Shared pieces: parties, date-times, ids

/// An OCPI party: `country_code` + `party_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: CountryCode,
    /// Party id.
    pub party_id: PartyId,
}

impl Party {
    /// The party of an ISO `OperatorID` (`DE*ABC` -> `DE`, `ABC`); `None` for a DIN one (§0,
    /// P5).
    pub fn from_operator(operator: &OperatorId) -> Option<Self> {
        Self::parse(operator.country_code()?, operator.party_id()?)
    }

    /// The party of a `ProviderID` (`DE-XYZ` -> `DE`, `XYZ`).
    pub fn from_provider(provider: &ProviderId) -> Option<Self> {
        Self::parse(provider.country_code(), provider.party_id())
    }

    /// A party from its two parts, upper-cased; `None` when they are no valid OCPI ids.
    pub fn parse(country_code: &str, party_id: &str) -> Option<Self> {
        Some(Self {
            country_code: CountryCode::parse(&country_code.to_ascii_uppercase()).ok()?,
            party_id: PartyId::parse(&party_id.to_ascii_uppercase()).ok()?,
        })
    }

    /// The `OperatorID` of this party as a CPO (`{cc}*{party}`, §0).
    pub fn operator_id(&self) -> Option<OperatorId> {
        OperatorId::parse(&format!(
            "{}*{}",
            self.country_code.canonical(),
            self.party_id.canonical()
        ))
        .ok()
    }
}

/// An OICP date-time as an OCPI one (UTC).
pub fn to_ocpi_time(t: &OicpDateTime) -> DateTime {
    DateTime::from_utc(t.value().with_timezone(&Utc))
}

/// An OCPI date-time as an OICP one, in the context's offset (else UTC).
pub fn to_oicp_time(t: &DateTime, ctx: &MappingCtx) -> OicpDateTime {
    let offset: FixedOffset = ctx.utc_offset.unwrap_or_else(|| Utc.fix());
    OicpDateTime::from_chrono(t.value().with_timezone(&offset))
}

/// Hours between two instants, rounded to 6 decimals (0.0036 s), never negative.
pub(crate) fn hours_between(from: &DateTime, to: &DateTime) -> Number {
    let seconds = (to.value() - from.value()).num_milliseconds().max(0);
    Number(
        (Decimal::from(seconds) / Decimal::from(3_600_000))
            .round_dp(6)
            .normalize(),
    )
}

/// `kWh` as an OCPI number.
pub(crate) fn kwh(value: OicpDecimal) -> Number {
    Number(value.value().normalize())
}

/// A value our own code built that the OCPI or OICP type refused: a bug, as an error.
pub(crate) fn built<T, E: std::fmt::Display>(
    path: &str,
    r: Result<T, E>,
) -> Result<T, MappingError> {
    r.map_err(|e| MappingError::new(path, format!("built an invalid value: {e}")))
}

/// `PartnerProductID` as an OCPI `tariff_id`, when it is one.
pub(crate) fn product_tariff_id(product: Option<&ProductId>) -> Option<TariffId> {
    product.and_then(|p| TariffId::parse(p.as_str()).ok())
}

/// Loss notes for members outside the wire model (kept in `extra` by the parser).
pub(crate) fn extra_notes(prefix: &str, extra: &Extra, losses: &mut Vec<LossNote>) {
    for key in extra.keys() {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        losses.push(LossNote::new(
            path,
            "not a member of the protocol's model; not carried",
        ));
    }
}

/// One loss note with `reason` for every field of `fields` that is present.
pub(crate) fn note_each(losses: &mut Vec<LossNote>, reason: &str, fields: &[(bool, &str)]) {
    for (present, field) in fields {
        note_if(losses, *present, field, reason);
    }
}

/// Reason for notification members a Session PATCH does not repeat.
const GIVEN_BY_START: &str = "already given by the Start; a PATCH does not repeat it";

/// Reason for meter readings.
const NO_METER: &str = "OCPI Sessions have no meter readings";

/// A loss note at `path` when `present`.
pub(crate) fn note_if(losses: &mut Vec<LossNote>, present: bool, path: &str, reason: &str) {
    if present {
        losses.push(LossNote::new(path, reason));
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// What the node knows about the token beyond the Identification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenContext {
    /// The eMSP owning the token (from the authorization or the route); else derived from the
    /// `EvcoID`.
    pub emsp: Option<Party>,
    /// The contract id of an RFID card (from the token store or the authorization answer).
    pub contract_id: Option<ContractId>,
}

/// OICP `Identification` -> OCPI `CdrToken` (see the module documentation). `path` is the
/// Identification's path, for notes and errors.
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
pub fn identification_to_cdr_token(
    ident: &Identification,
    tokens: &TokenContext,
    path: &str,
) -> Result<Mapped<CdrToken>, MappingError> {
    let mut losses = Vec::new();
    let kind = ident
        .kind()
        .ok_or_else(|| MappingError::new(path, "an Identification needs exactly one member"))?;
    let (uid, token_type, contract, evco) = match kind {
        IdentificationKind::RfidMifareFamily(m) => {
            extra_notes(
                &format!("{path}.RFIDMifareFamilyIdentification"),
                &m.extra,
                &mut losses,
            );
            (m.uid.as_str().to_owned(), TokenType::Rfid, None, None)
        }
        IdentificationKind::Rfid(r) => {
            let p = format!("{path}.RFIDIdentification");
            if r.rfid != RfidType::MifareFamily {
                losses.push(LossNote::new(
                    format!("{p}.RFID"),
                    "OCPI tokens have no card technology",
                ));
            }
            note_if(
                &mut losses,
                r.printed_number.is_some(),
                &format!("{p}.PrintedNumber"),
                "a CdrToken has no printed number (Token.visual_number is not part of it)",
            );
            note_if(
                &mut losses,
                r.expiry_date.is_some(),
                &format!("{p}.ExpiryDate"),
                "a CdrToken has no expiry date",
            );
            extra_notes(&p, &r.extra, &mut losses);
            let evco = r.evco_id.as_ref();
            (
                r.uid.as_str().to_owned(),
                TokenType::Rfid,
                evco.map(EvcoId::normalized),
                evco,
            )
        }
        IdentificationKind::QrCode(q) => {
            let p = format!("{path}.QRCodeIdentification");
            losses.push(LossNote::new(
                &p,
                "OCPI has no QR code token: an APP_USER token, which comes back as RemoteIdentification",
            ));
            note_if(
                &mut losses,
                q.pin.is_some() || q.hashed_pin.is_some(),
                &format!("{p}.PIN"),
                "OCPI tokens carry no PIN",
            );
            evco_token(&p, &q.evco_id, &q.extra, TokenType::AppUser, &mut losses)
        }
        IdentificationKind::PlugAndCharge(p) => evco_token(
            &format!("{path}.PlugAndChargeIdentification"),
            &p.evco_id,
            &p.extra,
            TokenType::Other,
            &mut losses,
        ),
        IdentificationKind::Remote(r) => evco_token(
            &format!("{path}.RemoteIdentification"),
            &r.evco_id,
            &r.extra,
            TokenType::AppUser,
            &mut losses,
        ),
    };
    extra_notes(path, &ident.extra, &mut losses);
    let contract = match (contract, &tokens.contract_id) {
        (Some(c), _) => c,
        (None, Some(c)) => c.as_str().to_owned(),
        (None, None) => {
            losses.push(LossNote::new(
                path,
                "no contract id known for this RFID card: CdrToken.contract_id repeats the UID (§9 P27)",
            ));
            uid.clone()
        }
    };
    let emsp = tokens
        .emsp
        .clone()
        .or_else(|| evco.and_then(|e| Party::from_provider(&e.provider_id())))
        .ok_or_else(|| {
            MappingError::new(
                path,
                "the eMSP owning the token is unknown: an RFID card needs the eMSP from the authorization (CdrToken.country_code/party_id are mandatory)",
            )
        })?;
    let token = CdrToken {
        country_code: emsp.country_code,
        party_id: emsp.party_id,
        uid: built(path, TokenUid::parse(&uid))?,
        token_type,
        contract_id: built(path, ContractId::parse(&contract))?,
        extra: Extra::new(),
    };
    Ok(Mapped {
        value: token,
        losses,
    })
}

/// Uid, type, contract and `EvcoID` of a token identified by its contract (notes for the
/// member's unknown members at `path`).
fn evco_token<'a>(
    path: &str,
    evco_id: &'a EvcoId,
    extra: &Extra,
    token_type: TokenType,
    losses: &mut Vec<LossNote>,
) -> (String, TokenType, Option<String>, Option<&'a EvcoId>) {
    extra_notes(path, extra, losses);
    let e = evco_id.normalized();
    (e.clone(), token_type, Some(e), Some(evco_id))
}

/// An Identification without members, to fill in one.
fn empty_identification() -> Identification {
    Identification {
        rfid_mifare_family: None,
        rfid: None,
        qr_code: None,
        plug_and_charge: None,
        remote: None,
        extra: Extra::new(),
    }
}

/// OCPI `CdrToken` -> OICP `Identification` (see the module documentation). `path` is the
/// token's path.
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
pub fn cdr_token_to_identification(
    token: &CdrToken,
    path: &str,
) -> Result<Mapped<Identification>, MappingError> {
    let mut losses = Vec::new();
    losses.push(LossNote::new(
        format!("{path}.country_code"),
        "the token's eMSP is not part of an OICP Identification (the node keeps it per session)",
    ));
    losses.push(LossNote::new(
        format!("{path}.party_id"),
        "see country_code",
    ));
    extra_notes(path, &token.extra, &mut losses);
    let contract = token.contract_id.as_str();
    let evco = || {
        EvcoId::parse(contract).map_err(|e| {
            MappingError::new(
                format!("{path}.contract_id"),
                format!("'{contract}' is no OICP EvcoID, so the token has no OICP form: {e}"),
            )
        })
    };
    let remote = |evco_id: EvcoId| Identification {
        remote: Some(RemoteIdentification {
            evco_id,
            extra: Extra::new(),
        }),
        ..empty_identification()
    };
    let ident = match token.token_type {
        TokenType::Rfid => {
            let upper: String = token
                .uid
                .as_str()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_uppercase();
            if let Ok(uid) = Uid::parse(&upper) {
                if upper != token.uid.as_str() {
                    losses.push(LossNote::new(
                        format!("{path}.uid"),
                        "upper-cased (and separators removed) for OICP",
                    ));
                }
                if token.contract_id.eq_ignore_case(&upper)
                    || token.contract_id.eq_ignore_case(token.uid.as_str())
                {
                    Identification {
                        rfid_mifare_family: Some(RfidMifareFamilyIdentification {
                            uid,
                            extra: Extra::new(),
                        }),
                        ..empty_identification()
                    }
                } else if let Ok(evco_id) = EvcoId::parse(contract) {
                    losses.push(LossNote::new(
                        format!("{path}.type"),
                        "the card technology is unknown: RFIDIdentification.RFID is mifareFamily",
                    ));
                    Identification {
                        rfid: Some(RfidIdentification {
                            uid,
                            evco_id: Some(evco_id),
                            rfid: RfidType::MifareFamily,
                            printed_number: None,
                            expiry_date: None,
                            extra: Extra::new(),
                        }),
                        ..empty_identification()
                    }
                } else {
                    losses.push(LossNote::new(
                        format!("{path}.contract_id"),
                        "not an OICP EvcoID; an RFIDMifareFamilyIdentification carries the UID only",
                    ));
                    Identification {
                        rfid_mifare_family: Some(RfidMifareFamilyIdentification {
                            uid,
                            extra: Extra::new(),
                        }),
                        ..empty_identification()
                    }
                }
            } else {
                losses.push(LossNote::new(
                    format!("{path}.uid"),
                    "not an OICP RFID UID (8, 14 or 20 hex digits): the token is sent as RemoteIdentification of its contract id (§0)",
                ));
                remote(evco()?)
            }
        }
        TokenType::AppUser => remote(evco()?),
        TokenType::AdHocUser => {
            losses.push(LossNote::new(
                format!("{path}.type"),
                "OICP has no ad-hoc user: sent as RemoteIdentification",
            ));
            remote(evco()?)
        }
        TokenType::Other => Identification {
            plug_and_charge: Some(PlugAndChargeIdentification {
                evco_id: evco()?,
                extra: Extra::new(),
            }),
            ..empty_identification()
        },
        TokenType::Unknown(_) => {
            return Err(MappingError::new(
                format!("{path}.type"),
                format!("token type {} has no OICP form", token.token_type),
            ));
        }
    };
    if !matches!(token.token_type, TokenType::Rfid) && !token.uid.eq_ignore_case(contract) {
        losses.push(LossNote::new(
            format!("{path}.uid"),
            "OICP identifies this token by its contract id; the uid is not carried",
        ));
    }
    Ok(Mapped {
        value: ident,
        losses,
    })
}

// ---------------------------------------------------------------------------------------------
// OICP -> OCPI

/// What the node stores about one session, passed into every mapping of it (§6, P7).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionIdentity {
    /// The OICP `SessionID`.
    pub session_id: SessionId,
    /// The CPO's own session id, when known.
    pub cpo_partner_session_id: Option<CpoPartnerSessionId>,
    /// The EMP's own session id, when known.
    pub emp_partner_session_id: Option<EmpPartnerSessionId>,
    /// The OICP CPO.
    pub operator_id: OperatorId,
    /// The OICP EVSE.
    pub evse_id: EvseId,
    /// The CPO owning the OCPI Session.
    pub cpo: Party,
    /// The OCPI Session id (the `SessionID` fits: a GUID is 36 characters, P6).
    pub ocpi_session_id: OcpiSessionId,
    /// The OCPI Location.
    pub location_id: LocationId,
    /// The OCPI EVSE.
    pub evse_uid: EvseUid,
    /// The OCPI connector (the only or first one when OICP does not say, P25).
    pub connector_id: ConnectorId,
    /// Currency of the session's tariff.
    pub currency: OcpiString<3>,
    /// How the session was authorized.
    pub auth_method: AuthMethod,
    /// The eMSP's authorization reference (defaults to the `EMPPartnerSessionID` when that
    /// fits 36 characters, P7).
    pub authorization_reference: Option<AuthorizationReference>,
    /// Token owner and contract id.
    pub token: TokenContext,
    /// The token, when the node already knows it (a Start without Identification needs it).
    pub cdr_token: Option<CdrToken>,
    /// Whether energy has flowed in this session (decides `INVALID` vs `COMPLETED` on Error).
    pub charging_started: bool,
}

impl SessionIdentity {
    #[allow(clippy::similar_names)] // evse_id and evse_uid are the protocols' names
    /// An identity with the documented defaults: the OCPI id is the `SessionID`, the CPO the
    /// `OperatorID`'s party, `auth_method` `AUTH_REQUEST`, no partner ids, charging not
    /// started. Fails for a DIN `OperatorID` (P5) or a `SessionID` that is no OCPI id.
    pub fn new(
        session_id: SessionId,
        operator_id: OperatorId,
        evse_id: EvseId,
        location_id: LocationId,
        evse_uid: EvseUid,
        connector_id: ConnectorId,
        currency: OcpiString<3>,
    ) -> Result<Self, MappingError> {
        let cpo = Party::from_operator(&operator_id).ok_or_else(|| {
            MappingError::new(
                "OperatorID",
                format!("DIN OperatorID '{operator_id}' has no OCPI country_code/party_id (§9 P5)"),
            )
        })?;
        let ocpi_session_id = OcpiSessionId::parse(session_id.as_str())
            .map_err(|e| MappingError::new("SessionID", e.to_string()))?;
        Ok(Self {
            session_id,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            operator_id,
            evse_id,
            cpo,
            ocpi_session_id,
            location_id,
            evse_uid,
            connector_id,
            currency,
            auth_method: AuthMethod::AuthRequest,
            authorization_reference: None,
            token: TokenContext::default(),
            cdr_token: None,
            charging_started: false,
        })
    }

    fn authorization_reference(&self) -> Option<AuthorizationReference> {
        self.authorization_reference.clone().or_else(|| {
            self.emp_partner_session_id
                .as_ref()
                .and_then(|e| AuthorizationReference::parse(e.as_str()).ok())
        })
    }
}

/// What an OICP notification becomes on the OCPI side.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionUpdate {
    /// A new Session (`PUT`).
    Put(Box<Session>),
    /// A change (`PATCH`).
    Patch(SessionPatch),
    /// An error: the Session change and, for a critical error, the EVSE status to publish.
    Error {
        /// The Session change.
        patch: SessionPatch,
        /// The EVSE status to PATCH on the Location, if any.
        evse_status: Option<Status>,
    },
}

/// [`common_notes`] for a PATCH-shaped notification `n`.
macro_rules! notification_notes {
    ($n:expr, $losses:expr) => {
        common_notes(
            $n.identification.as_ref(),
            $n.cpo_partner_session_id.as_ref(),
            $n.emp_partner_session_id.as_ref(),
            &$n.extra,
            false,
            $losses,
        )
    };
}

/// Notes for the members every notification may carry.
fn common_notes(
    identification: Option<&Identification>,
    cpo: Option<&CpoPartnerSessionId>,
    emp: Option<&EmpPartnerSessionId>,
    extra: &Extra,
    with_token: bool,
    losses: &mut Vec<LossNote>,
) {
    note_if(
        losses,
        cpo.is_some(),
        "CPOPartnerSessionID",
        "OCPI Sessions have no partner session id; the node keeps it (§9 P7)",
    );
    if let Some(emp) = emp
        && AuthorizationReference::parse(emp.as_str()).is_err()
    {
        losses.push(LossNote::new(
            "EMPPartnerSessionID",
            "longer than the 36 characters of authorization_reference; the node keeps it (§9 P7)",
        ));
    }
    note_if(
        losses,
        identification.is_some() && !with_token,
        "Identification",
        "a Session PATCH does not repeat the token",
    );
    extra_notes("", extra, losses);
}

fn period(
    start: &DateTime,
    dims: Vec<(CdrDimensionType, Number)>,
    tariff: Option<TariffId>,
) -> ChargingPeriod {
    ChargingPeriod {
        start_date_time: start.clone(),
        dimensions: dims
            .into_iter()
            .map(|(dimension_type, volume)| CdrDimension {
                dimension_type,
                volume,
                extra: Extra::new(),
            })
            .collect(),
        tariff_id: tariff,
        extra: Extra::new(),
    }
}

/// An empty PATCH at `last_updated`.
fn empty_patch(last_updated: DateTime) -> SessionPatch {
    SessionPatch {
        country_code: None,
        party_id: None,
        id: None,
        start_date_time: None,
        end_date_time: None,
        kwh: None,
        cdr_token: None,
        auth_method: None,
        authorization_reference: None,
        location_id: None,
        evse_uid: None,
        connector_id: None,
        meter_id: None,
        currency: None,
        charging_periods: None,
        total_cost: None,
        status: None,
        last_updated,
        extra: Extra::new(),
    }
}

/// OICP Start -> a new OCPI Session (module documentation).
pub fn start_to_session(
    n: &ChargingNotificationStart,
    id: &SessionIdentity,
) -> Result<Mapped<Session>, MappingError> {
    let mut losses = Vec::new();
    let cdr_token = match (&n.identification, &id.cdr_token) {
        (Some(ident), _) => {
            let m = identification_to_cdr_token(ident, &id.token, "Identification")?;
            losses.extend(m.losses);
            m.value
        }
        (None, Some(token)) => token.clone(),
        (None, None) => {
            return Err(MappingError::new(
                "Identification",
                "the Start notification has no Identification and the node knows no token for the session; an OCPI Session needs cdr_token",
            ));
        }
    };
    let charging_start = to_ocpi_time(&n.charging_start);
    let start = n
        .session_start
        .as_ref()
        .map_or_else(|| charging_start.clone(), to_ocpi_time);
    let tariff = product_tariff_id(n.partner_product_id.as_ref());
    note_if(
        &mut losses,
        n.partner_product_id.is_some() && tariff.is_none(),
        "PartnerProductID",
        "not a valid OCPI tariff id; not carried",
    );
    note_if(
        &mut losses,
        n.meter_value_start.is_some(),
        "MeterValueStart",
        NO_METER,
    );
    common_notes(
        None,
        n.cpo_partner_session_id.as_ref(),
        n.emp_partner_session_id.as_ref(),
        &n.extra,
        true,
        &mut losses,
    );
    let mut periods = Vec::new();
    if start < charging_start {
        periods.push(period(
            &start,
            vec![(
                CdrDimensionType::ParkingTime,
                hours_between(&start, &charging_start),
            )],
            None,
        ));
    }
    periods.push(period(
        &charging_start,
        vec![(CdrDimensionType::Energy, Number::from(0))],
        tariff,
    ));
    let session = Session {
        country_code: id.cpo.country_code.clone(),
        party_id: id.cpo.party_id.clone(),
        id: id.ocpi_session_id.clone(),
        start_date_time: start,
        end_date_time: None,
        kwh: Number::from(0),
        cdr_token,
        auth_method: id.auth_method.clone(),
        authorization_reference: id.authorization_reference(),
        location_id: id.location_id.clone(),
        evse_uid: id.evse_uid.clone(),
        connector_id: id.connector_id.clone(),
        meter_id: None,
        currency: id.currency.clone(),
        charging_periods: Some(periods),
        total_cost: None,
        status: SessionStatus::Active,
        last_updated: charging_start,
        extra: Extra::new(),
    };
    Ok(Mapped {
        value: session,
        losses,
    })
}

/// OICP Progress -> an OCPI Session PATCH (module documentation).
pub fn progress_to_patch(n: &ChargingNotificationProgress) -> Mapped<SessionPatch> {
    let mut losses = Vec::new();
    let mut patch = empty_patch(to_ocpi_time(&n.event_occurred));
    patch.kwh = n.consumed_energy_progress.map(kwh);
    note_if(
        &mut losses,
        n.charging_duration.is_some(),
        "ChargingDuration",
        "OCPI Sessions have no charging duration (it follows from the periods)",
    );
    note_each(
        &mut losses,
        NO_METER,
        &[
            (n.meter_value_start.is_some(), "MeterValueStart"),
            (n.meter_value_in_between.is_some(), "MeterValueInBetween"),
        ],
    );
    note_each(
        &mut losses,
        GIVEN_BY_START,
        &[(n.partner_product_id.is_some(), "PartnerProductID")],
    );
    notification_notes!(n, &mut losses);
    Mapped {
        value: patch,
        losses,
    }
}

/// OICP End -> an OCPI Session PATCH (module documentation).
pub fn end_to_patch(n: &ChargingNotificationEnd) -> Mapped<SessionPatch> {
    let mut losses = Vec::new();
    let charging_end = to_ocpi_time(&n.charging_end);
    let session_end = n.session_end.as_ref().map(to_ocpi_time);
    let mut patch = empty_patch(session_end.clone().unwrap_or_else(|| charging_end.clone()));
    patch.kwh = n.consumed_energy.map(kwh);
    let parking = session_end
        .as_ref()
        .map_or_else(|| Number::from(0), |end| hours_between(&charging_end, end));
    patch.charging_periods = Some(vec![period(
        &charging_end,
        vec![(CdrDimensionType::ParkingTime, parking)],
        None,
    )]);
    if let Some(end) = session_end {
        patch.status = Some(SessionStatus::Completed);
        patch.end_date_time = Some(end);
    }
    note_if(
        &mut losses,
        n.penalty_time_start.is_some(),
        "PenaltyTimeStart",
        "OCPI 2.2.1 has no blocking-fee start",
    );
    note_each(
        &mut losses,
        NO_METER,
        &[
            (n.meter_value_start.is_some(), "MeterValueStart"),
            (n.meter_value_end.is_some(), "MeterValueEnd"),
            (n.meter_value_in_between.is_some(), "MeterValueInBetween"),
        ],
    );
    note_each(
        &mut losses,
        GIVEN_BY_START,
        &[
            (n.partner_product_id.is_some(), "PartnerProductID"),
            (n.charging_start.is_some(), "ChargingStart"),
            (n.session_start.is_some(), "SessionStart"),
        ],
    );
    notification_notes!(n, &mut losses);
    Mapped {
        value: patch,
        losses,
    }
}

/// OICP Error -> an OCPI Session PATCH and maybe an EVSE status (module documentation).
pub fn error_to_update(
    n: &ChargingNotificationError,
    id: &SessionIdentity,
    ctx: &MappingCtx,
) -> Mapped<SessionUpdate> {
    let mut losses = Vec::new();
    let now = DateTime::from_utc(ctx.now);
    let mut patch = empty_patch(now.clone());
    if id.charging_started {
        patch.status = Some(SessionStatus::Completed);
        patch.end_date_time = Some(now);
        losses.push(LossNote::new(
            "ErrorType",
            "OCPI Sessions have no error: the session is COMPLETED",
        ));
    } else {
        patch.status = Some(SessionStatus::Invalid);
        losses.push(LossNote::new(
            "ErrorType",
            "OCPI Sessions have no error: the session is INVALID",
        ));
    }
    let evse_status = (n.error_type == ErrorType::CriticalError).then_some(Status::OutOfOrder);
    note_if(
        &mut losses,
        n.error_additional_info.is_some(),
        "ErrorAdditionalInfo",
        "OCPI Sessions have no error text",
    );
    notification_notes!(n, &mut losses);
    Mapped {
        value: SessionUpdate::Error { patch, evse_status },
        losses,
    }
}

/// Any OICP notification -> its OCPI Session update.
pub fn notification_to_session_update(
    n: &ChargingNotification,
    id: &SessionIdentity,
    ctx: &MappingCtx,
) -> Result<Mapped<SessionUpdate>, MappingError> {
    Ok(match n {
        ChargingNotification::Start(s) => {
            let m = start_to_session(s, id)?;
            Mapped {
                value: SessionUpdate::Put(Box::new(m.value)),
                losses: m.losses,
            }
        }
        ChargingNotification::Progress(p) => {
            let m = progress_to_patch(p);
            Mapped {
                value: SessionUpdate::Patch(m.value),
                losses: m.losses,
            }
        }
        ChargingNotification::End(e) => {
            let m = end_to_patch(e);
            Mapped {
                value: SessionUpdate::Patch(m.value),
                losses: m.losses,
            }
        }
        ChargingNotification::Error(e) => error_to_update(e, id, ctx),
    })
}

// ---------------------------------------------------------------------------------------------
// OCPI -> OICP

/// What the node remembers between two Session versions for the OCPI -> OICP direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationState {
    /// When the node last sent a Progress for this session.
    pub last_progress: Option<chrono::DateTime<Utc>>,
}

/// A PATCH merged into the stored Session: members given replace, periods are appended
/// (ocpi-2.2.1.md §4.2).
#[must_use]
pub fn apply_patch(session: &Session, patch: &SessionPatch) -> Session {
    let mut s = session.clone();
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = &patch.$f { s.$f = v.clone(); } )* };
    }
    set!(
        country_code,
        party_id,
        id,
        start_date_time,
        kwh,
        cdr_token,
        auth_method,
        location_id,
        evse_uid,
        connector_id,
        currency,
        status
    );
    macro_rules! set_opt {
        ($($f:ident),*) => { $( if patch.$f.is_some() { s.$f.clone_from(&patch.$f); } )* };
    }
    set_opt!(end_date_time, authorization_reference, meter_id, total_cost);
    if let Some(new) = &patch.charging_periods {
        s.charging_periods
            .get_or_insert_with(Vec::new)
            .extend(new.iter().cloned());
    }
    s.last_updated = patch.last_updated.clone();
    s
}

fn has(p: &ChargingPeriod, t: &CdrDimensionType) -> bool {
    p.dimensions.iter().any(|d| &d.dimension_type == t)
}

/// Start of energy flow: the first period with `ENERGY`, else the session start (P27).
fn charging_start(s: &Session) -> DateTime {
    s.charging_periods
        .iter()
        .flatten()
        .find(|p| has(p, &CdrDimensionType::Energy))
        .map_or_else(|| s.start_date_time.clone(), |p| p.start_date_time.clone())
}

/// End of energy flow: the first period after the energy periods that only parks.
fn charging_end(s: &Session) -> Option<DateTime> {
    let periods = s.charging_periods.as_deref().unwrap_or_default();
    let first_energy = periods
        .iter()
        .position(|p| has(p, &CdrDimensionType::Energy))?;
    periods[first_energy..]
        .iter()
        .find(|p| {
            p.dimensions
                .iter()
                .all(|d| d.dimension_type == CdrDimensionType::ParkingTime)
        })
        .map(|p| p.start_date_time.clone())
}

fn oicp_kwh(n: Number) -> OicpDecimal {
    OicpDecimal(n.value())
}

/// The `PartnerProductID` of a Session: the `tariff_id` of its first energy period.
fn session_product(s: &Session) -> Option<ProductId> {
    s.charging_periods
        .iter()
        .flatten()
        .find_map(|p| p.tariff_id.as_ref())
        .and_then(|t| ProductId::parse(t.as_str()).ok())
}

/// Notes for what no notification carries.
fn session_notes(s: &Session, losses: &mut Vec<LossNote>) {
    losses.push(LossNote::new(
        "currency",
        "OICP notifications carry no currency",
    ));
    note_if(
        losses,
        s.total_cost.is_some(),
        "total_cost",
        "OICP notifications carry no cost",
    );
    note_if(
        losses,
        s.meter_id.is_some(),
        "meter_id",
        "OICP notifications carry no meter id",
    );
    losses.push(LossNote::new(
        "auth_method",
        "OICP notifications carry no authorization method",
    ));
    for p in s.charging_periods.iter().flatten() {
        for d in &p.dimensions {
            if !matches!(
                d.dimension_type,
                CdrDimensionType::Energy | CdrDimensionType::ParkingTime
            ) {
                losses.push(LossNote::new(
                    "charging_periods",
                    format!("dimension {} has no OICP form", d.dimension_type),
                ));
            }
        }
    }
    extra_notes("", &s.extra, losses);
}

/// The OICP notifications that describe the change from `previous` to `session` (module
/// documentation). `state` is updated when a Progress is sent.
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
pub fn session_to_notifications(
    previous: Option<&Session>,
    session: &Session,
    id: &SessionIdentity,
    state: &mut NotificationState,
    ctx: &MappingCtx,
) -> Result<Mapped<Vec<ChargingNotification>>, MappingError> {
    let mut losses = Vec::new();
    let mut out = Vec::new();
    let t = |d: &DateTime| to_oicp_time(d, ctx);
    let identification = {
        let m = cdr_token_to_identification(&session.cdr_token, "cdr_token")?;
        losses.extend(m.losses);
        m.value
    };
    let emp_partner = id.emp_partner_session_id.clone().or_else(|| {
        session
            .authorization_reference
            .as_ref()
            .and_then(|a| EmpPartnerSessionId::parse(a.as_str()).ok())
    });
    let was_started = previous
        .is_some_and(|p| matches!(p.status, SessionStatus::Active | SessionStatus::Completed));
    let start = charging_start(session);
    match session.status {
        SessionStatus::Pending => return Ok(Mapped { value: out, losses }),
        SessionStatus::Reservation => {
            losses.push(LossNote::new(
                "status",
                "OICP has no reservation session state; nothing is sent",
            ));
            return Ok(Mapped { value: out, losses });
        }
        SessionStatus::Invalid => {
            losses.push(LossNote::new(
                "status",
                "INVALID says nothing about the cause: sent as ConnectorError",
            ));
            out.push(ChargingNotification::Error(ChargingNotificationError {
                notification_type: ChargingNotificationType::Error,
                session_id: id.session_id.clone(),
                cpo_partner_session_id: id.cpo_partner_session_id.clone(),
                emp_partner_session_id: emp_partner,
                identification: Some(identification),
                evse_id: id.evse_id.clone(),
                error_type: ErrorType::ConnectorError,
                error_additional_info: None,
                operator_id: id.operator_id.clone(),
                extra: Extra::new(),
            }));
            return Ok(Mapped { value: out, losses });
        }
        SessionStatus::Active | SessionStatus::Completed => {}
        SessionStatus::Unknown(_) => {
            return Err(MappingError::new(
                "status",
                format!("unknown session status {}", session.status),
            ));
        }
    }
    session_notes(session, &mut losses);
    let session_start = (session.start_date_time != start).then(|| t(&session.start_date_time));
    if !was_started {
        out.push(ChargingNotification::Start(ChargingNotificationStart {
            notification_type: ChargingNotificationType::Start,
            session_id: id.session_id.clone(),
            cpo_partner_session_id: id.cpo_partner_session_id.clone(),
            emp_partner_session_id: emp_partner.clone(),
            identification: Some(identification.clone()),
            evse_id: id.evse_id.clone(),
            charging_start: t(&start),
            session_start: Some(session_start.clone().unwrap_or_else(|| t(&start))),
            meter_value_start: None,
            operator_id: id.operator_id.clone(),
            partner_product_id: session_product(session),
            extra: Extra::new(),
        }));
    }
    // End is sent once: when energy stops (a parking-only period appears) or the session
    // completes, whichever the node sees first.
    let end = charging_end(session);
    let ended = session.status == SessionStatus::Completed || end.is_some();
    let previous_ended =
        previous.is_some_and(|p| p.status == SessionStatus::Completed || charging_end(p).is_some());
    if ended && !previous_ended {
        let charging_end = end
            .or_else(|| session.end_date_time.clone())
            .unwrap_or_else(|| session.last_updated.clone());
        out.push(ChargingNotification::End(ChargingNotificationEnd {
            notification_type: ChargingNotificationType::End,
            session_id: id.session_id.clone(),
            cpo_partner_session_id: id.cpo_partner_session_id.clone(),
            emp_partner_session_id: emp_partner,
            identification: Some(identification),
            evse_id: id.evse_id.clone(),
            charging_start: Some(t(&start)),
            charging_end: t(&charging_end),
            session_start: Some(t(&session.start_date_time)),
            session_end: session.end_date_time.as_ref().map(t),
            consumed_energy: Some(oicp_kwh(session.kwh)),
            meter_value_start: None,
            meter_value_end: None,
            meter_value_in_between: None,
            operator_id: id.operator_id.clone(),
            partner_product_id: session_product(session),
            penalty_time_start: None,
            extra: Extra::new(),
        }));
    } else if ended && previous.is_some_and(|p| p.kwh != session.kwh) {
        losses.push(LossNote::new(
            "kwh",
            "the End was already sent; OICP sends no later energy (the CDR carries the final value)",
        ));
    } else if was_started && previous.is_some_and(|p| p.kwh != session.kwh) {
        let now = session.last_updated.value();
        let due = state
            .last_progress
            .is_none_or(|last| (now - last).num_seconds() >= PROGRESS_INTERVAL_SECONDS);
        if due {
            state.last_progress = Some(now);
            let duration = (now - start.value()).num_milliseconds().max(0);
            out.push(ChargingNotification::Progress(
                ChargingNotificationProgress {
                    notification_type: ChargingNotificationType::Progress,
                    session_id: id.session_id.clone(),
                    cpo_partner_session_id: id.cpo_partner_session_id.clone(),
                    emp_partner_session_id: emp_partner,
                    identification: Some(identification),
                    evse_id: id.evse_id.clone(),
                    charging_start: t(&start),
                    event_occurred: t(&session.last_updated),
                    charging_duration: Int::new(duration).ok(),
                    consumed_energy_progress: Some(oicp_kwh(session.kwh)),
                    session_start: Some(t(&session.start_date_time)),
                    meter_value_start: None,
                    meter_value_in_between: None,
                    operator_id: id.operator_id.clone(),
                    partner_product_id: session_product(session),
                    extra: Extra::new(),
                },
            ));
        } else {
            losses.push(LossNote::new("kwh", format!(
                "a Progress was sent less than {PROGRESS_INTERVAL_SECONDS} s ago (Hubject's limit); this update waits for the next one")));
        }
    }
    Ok(Mapped { value: out, losses })
}

/// An OCPI Session PATCH -> the merged Session ([`apply_patch`]) and the OICP notifications
/// that describe the change ([`session_to_notifications`] against the stored Session).
pub fn session_patch_to_notifications(
    stored: &Session,
    patch: &SessionPatch,
    id: &SessionIdentity,
    state: &mut NotificationState,
    ctx: &MappingCtx,
) -> Result<Mapped<(Session, Vec<ChargingNotification>)>, MappingError> {
    let merged = apply_patch(stored, patch);
    let m = session_to_notifications(Some(stored), &merged, id, state, ctx)?;
    let mut losses = m.losses;
    extra_notes("", &patch.extra, &mut losses);
    Ok(Mapped {
        value: (merged, m.value),
        losses,
    })
}
