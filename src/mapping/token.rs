//! OICP `eRoamingPushAuthenticationData` <-> OCPI Tokens (`oicp-ocpi-mapping.md` §0, §4.2,
//! §9 P30), and the identification <-> token conversions the authorization and command
//! mappings share.
//!
//! # OICP -> OCPI
//! Each `AuthenticationDataRecord` becomes one Token of the pushing provider
//! (`country_code`/`party_id` from `ProviderID`; an `EvcoID` of a sub-provider stays in
//! `contract_id`). The identification member decides `uid`, `type` and `contract_id` through
//! the table `identification` (`mappings/identification_types.toml`):
//! * `RFIDMifareFamilyIdentification`: `uid = UID`, `RFID`, `contract_id = UID` (OICP has no
//!   contract for a bare card; §4.2: the `EvcoID` if given, else the UID; noted);
//! * `RFIDIdentification`: `uid = UID`, `RFID`, `contract_id = EvcoID` (else the UID),
//!   `visual_number = PrintedNumber`; the RFID type and `ExpiryDate` have no Token field
//!   (noted by the table row), but a past `ExpiryDate` makes the Token `valid: false`;
//! * `QRCodeIdentification`, `RemoteIdentification`: `uid = contract_id = EvcoID`, `APP_USER`
//!   (the PIN is noted as lost);
//! * `PlugAndChargeIdentification`: `uid = contract_id = EvcoID`, `OTHER`.
//!
//! Required Token fields without an OICP source are filled by policy
//! ([`TokenCtx`]) and noted once per push at `ProviderAuthenticationData`: `issuer` (the
//! configured provider name, else the `ProviderID`), `whitelist` (`ALWAYS` by default: pushed
//! authentication data exists for EMPs that cannot authorize online), `valid` and
//! `last_updated` ("now").
//!
//! # Action types
//! OCPI has no bulk replace, so the push comes out as a [`TokenBatch`] that tells the caller
//! what to do with the Tokens ([`TokenBatchAction`]):
//! * `fullLoad` -> [`TokenBatchAction::ReplaceAll`]: PUT every Token and set `valid: false`
//!   (PATCH) on every stored Token of the provider that is not in the batch (the diff needs the
//!   store, so the caller makes it);
//! * `insert`, `update` -> [`TokenBatchAction::Upsert`]: PUT every Token (OCPI PUT creates or
//!   replaces; OICP's "insert fails if present" has no OCPI form);
//! * `delete` -> [`TokenBatchAction::Invalidate`]: the Tokens come with `valid: false`; PATCH
//!   `valid: false` (OCPI never deletes Tokens).
//!
//! # OCPI -> OICP
//! Tokens are grouped by eMSP (`ProviderID := {CC}-{PARTY}`), one push per eMSP with the given
//! action. Left out with a note (P30): `AD_HOC_USER` tokens and tokens with `whitelist: NEVER`
//! (authorized online only), and `valid: false` tokens unless the action is `delete`. An RFID
//! `uid` (upper-cased, `:`/`-`/space removed) that is an OICP `UID` becomes
//! `RFIDMifareFamilyIdentification`; otherwise, and for `APP_USER`/`OTHER`, the `contract_id`
//! (which must be an OICP `EvcoID`) becomes `RemoteIdentification`. Lost and noted:
//! `contract_id` of RFID tokens, `visual_number`, `issuer`, `group_id`, `language`,
//! `default_profile_type`, `energy_contract`, the `whitelist` nuance, `last_updated`.

use std::collections::BTreeMap;

use chrono::Utc;

use super::notes::{Notes, built, loaded};
use super::tables::{IdentificationMember, Tables};
use super::{LossNote, Mapped, MappingError};
use crate::ocpi::v221::ids::{ContractId, CountryCode, PartyId, TokenUid};
use crate::ocpi::v221::tokens::{Token, TokenType, WhitelistType};
use crate::ocpi::v221::types::{DateTime, OcpiString};
use crate::oicp::v23::auth_data::{
    AuthenticationDataRecord, ProviderAuthenticationData, PushAuthenticationData,
};
use crate::oicp::v23::common::{ActionType, Identification, IdentificationKind};
use crate::oicp::v23::ids::{EvcoId, ProviderId, Uid};
use crate::oicp::v23::wire::Extra;

/// Policy for the Token fields OICP does not carry (§4.2, P30).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCtx {
    /// "Now": `last_updated` of new Tokens, and the moment an `ExpiryDate` is compared with.
    pub now: chrono::DateTime<Utc>,
    /// `issuer` (mandatory in OCPI): the provider's name from the configuration; `None` uses
    /// the `ProviderID`.
    pub issuer: Option<String>,
    /// `whitelist` of Tokens made from pushed authentication data (default `ALWAYS`).
    pub whitelist: WhitelistType,
}

impl TokenCtx {
    /// A context at `now`, issuer from the `ProviderID`, whitelist `ALWAYS`.
    pub fn new(now: chrono::DateTime<Utc>) -> Self {
        Self {
            now,
            issuer: None,
            whitelist: WhitelistType::Always,
        }
    }

    /// Sets the issuer name.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the whitelist policy.
    #[must_use]
    pub fn with_whitelist(mut self, whitelist: WhitelistType) -> Self {
        self.whitelist = whitelist;
        self
    }
}

/// What the caller does with a batch of Tokens made from one OICP push (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBatchAction {
    /// `fullLoad`: PUT every Token; set `valid: false` on the provider's other stored Tokens.
    ReplaceAll,
    /// `insert` / `update`: PUT every Token.
    Upsert,
    /// `delete`: PATCH `valid: false` on every Token (they come with `valid: false`).
    Invalidate,
}

/// The Tokens of one OICP push and what to do with them.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// What the caller does with the Tokens.
    pub action: TokenBatchAction,
    /// The eMSP the Tokens belong to.
    pub country_code: CountryCode,
    /// The eMSP the Tokens belong to.
    pub party_id: PartyId,
    /// The Tokens, in record order.
    pub tokens: Vec<Token>,
}

/// `eRoamingPushAuthenticationData` -> OCPI Tokens (see the module documentation).
///
/// # Errors
/// When the value tables are broken or a built OCPI value is refused (a bug).
pub fn auth_data_to_tokens(
    push: &PushAuthenticationData,
    ctx: &TokenCtx,
) -> Result<Mapped<TokenBatch>, MappingError> {
    let action = match push.action_type {
        ActionType::FullLoad => TokenBatchAction::ReplaceAll,
        ActionType::Delete => TokenBatchAction::Invalidate,
        ActionType::Insert | ActionType::Update => TokenBatchAction::Upsert,
        ActionType::Unknown(ref other) => {
            return Err(MappingError::new(
                "ActionType",
                format!("'{other}' is not an OICP action type"),
            ));
        }
    };
    let valid = action != TokenBatchAction::Invalidate;
    let mut mapped = provider_auth_data_to_tokens(&push.provider_authentication_data, valid, ctx)?
        .prefixed("ProviderAuthenticationData");
    for k in push.extra.keys() {
        mapped.losses.push(LossNote::new(
            k.clone(),
            "not an OICP PushAuthenticationData member; not carried",
        ));
    }
    let (country_code, party_id) = provider_party(&push.provider_authentication_data.provider_id)?;
    Ok(Mapped {
        value: TokenBatch {
            action,
            country_code,
            party_id,
            tokens: mapped.value,
        },
        losses: mapped.losses,
    })
}

/// The records of one provider -> Tokens with `valid` as given (paths relative to
/// `ProviderAuthenticationData`).
///
/// # Errors
/// See [`auth_data_to_tokens`].
pub fn provider_auth_data_to_tokens(
    data: &ProviderAuthenticationData,
    valid: bool,
    ctx: &TokenCtx,
) -> Result<Mapped<Vec<Token>>, MappingError> {
    let t = loaded("AuthenticationDataRecord")?;
    let mut notes = Notes::new("");
    let issuer = ctx
        .issuer
        .clone()
        .unwrap_or_else(|| data.provider_id.normalized());
    if !data.authentication_data_record.is_empty() {
        notes.add(
            "",
            format!(
                "OCPI Token fields without an OICP source are filled by policy: issuer '{issuer}', whitelist {}, valid {valid}, last_updated now",
                ctx.whitelist
            ),
        );
    }
    let mut tokens = Vec::new();
    for (i, record) in data.authentication_data_record.iter().enumerate() {
        let mut rn = Notes::new(format!("AuthenticationDataRecord[{i}]"));
        let token = record_to_token(record, &data.provider_id, &issuer, valid, t, ctx, &mut rn)?;
        notes.losses.append(&mut rn.losses);
        tokens.extend(token);
    }
    for k in data.extra.keys() {
        notes.add(
            k,
            "not an OICP ProviderAuthenticationData member; not carried",
        );
    }
    Ok(Mapped {
        value: tokens,
        losses: notes.losses,
    })
}

fn record_to_token(
    record: &AuthenticationDataRecord,
    provider: &ProviderId,
    issuer: &str,
    valid: bool,
    t: &Tables,
    ctx: &TokenCtx,
    notes: &mut Notes,
) -> Result<Option<Token>, MappingError> {
    for k in record.extra.keys() {
        notes.add(
            k,
            "not an OICP AuthenticationDataRecord member; not carried",
        );
    }
    let mut idn = Notes::new(notes.path("Identification"));
    let token =
        identification_to_token(&record.identification, provider, issuer, t, ctx, &mut idn)?;
    notes.losses.append(&mut idn.losses);
    Ok(token.map(|mut token| {
        token.valid &= valid;
        token.whitelist = ctx.whitelist.clone();
        token
    }))
}

/// The OICP `ProviderID` of a Token's eMSP (`{CC}-{PARTY}`); errors name `path`.
pub(super) fn token_provider(token: &Token, path: &str) -> Result<ProviderId, MappingError> {
    let provider = format!(
        "{}-{}",
        token.country_code.as_str().to_ascii_uppercase(),
        token.party_id.as_str().to_ascii_uppercase()
    );
    built(path, ProviderId::parse(&provider))
}

/// The eMSP party of a `ProviderID`.
pub(super) fn provider_party(
    provider: &ProviderId,
) -> Result<(CountryCode, PartyId), MappingError> {
    Ok((
        built(
            "ProviderID",
            CountryCode::parse(&provider.country_code().to_ascii_uppercase()),
        )?,
        built(
            "ProviderID",
            PartyId::parse(&provider.party_id().to_ascii_uppercase()),
        )?,
    ))
}

/// An OICP identification -> an OCPI Token of `provider` (`valid: true`, whitelist `ALLOWED`;
/// [`auth_data_to_tokens`] sets the policy values). `None` (noted) for an identification
/// without a member. Paths are relative to the `Identification`.
pub(super) fn identification_to_token(
    id: &Identification,
    provider: &ProviderId,
    issuer: &str,
    t: &Tables,
    ctx: &TokenCtx,
    notes: &mut Notes,
) -> Result<Option<Token>, MappingError> {
    let path = notes.prefix.clone();
    let Some(kind) = id.kind() else {
        notes.add("", "no identification member; not carried");
        return Ok(None);
    };
    let (member, uid, contract, visual, expired) = match kind {
        IdentificationKind::RfidMifareFamily(m) => {
            notes.add(
                "RFIDMifareFamilyIdentification.UID",
                "no EvcoID: OCPI contract_id (mandatory) repeats the UID",
            );
            (
                IdentificationMember::RfidMifareFamily,
                m.uid.as_str().to_owned(),
                m.uid.as_str().to_owned(),
                None,
                false,
            )
        }
        IdentificationKind::Rfid(m) => {
            let contract = m.evco_id.as_ref().map_or_else(
                || {
                    notes.add(
                        "RFIDIdentification.UID",
                        "no EvcoID: OCPI contract_id (mandatory) repeats the UID",
                    );
                    m.uid.as_str().to_owned()
                },
                EvcoId::normalized,
            );
            // The table row notes RFID type and expiry date as lost; an expired card is
            // at least marked invalid.
            let expired = m.expiry_date.as_ref().is_some_and(|d| d.value() < ctx.now);
            let visual = m.printed_number.as_ref().map(|p| {
                if p.as_str().chars().count() > 64 {
                    notes.add(
                        "RFIDIdentification.PrintedNumber",
                        "cut to the 64 characters of visual_number",
                    );
                }
                p.as_str().chars().take(64).collect::<String>()
            });
            (
                IdentificationMember::Rfid,
                m.uid.as_str().to_owned(),
                contract,
                visual,
                expired,
            )
        }
        IdentificationKind::QrCode(m) => {
            let e = m.evco_id.normalized();
            (IdentificationMember::QrCode, e.clone(), e, None, false)
        }
        IdentificationKind::PlugAndCharge(m) => {
            let e = m.evco_id.normalized();
            (
                IdentificationMember::PlugAndCharge,
                e.clone(),
                e,
                None,
                false,
            )
        }
        IdentificationKind::Remote(m) => {
            let e = m.evco_id.normalized();
            (IdentificationMember::Remote, e.clone(), e, None, false)
        }
    };
    let entry = t.identification.to_ocpi(&member);
    let Some(token_type) = notes.lookup(&entry, &member, member.as_str()) else {
        return Ok(None);
    };
    for k in id.extra.keys() {
        notes.add(k, "not an OICP Identification member; not carried");
    }
    let (country_code, party_id) = provider_party(provider)?;
    Ok(Some(Token {
        country_code,
        party_id,
        uid: built(&path, TokenUid::parse(&uid))?,
        token_type,
        contract_id: built(&path, ContractId::parse(&contract))?,
        visual_number: visual.and_then(|v| OcpiString::parse(&v).ok()),
        issuer: OcpiString::parse(&issuer.chars().take(64).collect::<String>())
            .or_else(|_| OcpiString::parse(&provider.normalized()))
            .map_err(|e| MappingError::new(&path, format!("issuer: {e}")))?,
        group_id: None,
        valid: !expired,
        whitelist: WhitelistType::Allowed,
        language: None,
        default_profile_type: None,
        energy_contract: None,
        last_updated: DateTime::from_utc(ctx.now),
        extra: Extra::new(),
    }))
}

/// The OICP `UID` of an RFID token uid: upper case, separators removed; `None` when it is not
/// 8, 14 or 20 hex digits.
pub(super) fn rfid_uid(uid: &str) -> Option<Uid> {
    let cleaned: String = uid
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase();
    Uid::parse(&cleaned).ok()
}

/// An OCPI token (`uid`, `type`, `contract_id`) -> an OICP identification (module
/// documentation); `None` with a note when it has none. Paths are relative to the token.
pub(super) fn token_identification(
    uid: &str,
    token_type: &TokenType,
    contract_id: Option<&str>,
    t: &Tables,
    notes: &mut Notes,
) -> Option<Identification> {
    let member = notes.lookup(&t.identification.to_oicp(token_type), token_type, "type")?;
    if member == IdentificationMember::RfidMifareFamily {
        if let Some(u) = rfid_uid(uid) {
            notes.add_if(
                contract_id.is_some_and(|c| !c.eq_ignore_ascii_case(u.as_str())),
                "contract_id",
                "OICP RFIDMifareFamilyIdentification has no contract id; not carried",
            );
            return Some(Identification::rfid_mifare_family(u));
        }
        notes.add(
            "uid",
            "not an OICP UID (8, 14 or 20 hex digits): sent as RemoteIdentification with the contract id",
        );
    }
    let Some(evco) = contract_id
        .and_then(|c| EvcoId::parse(c).ok())
        .or_else(|| EvcoId::parse(uid).ok())
    else {
        notes.add(
            "contract_id",
            "neither contract_id nor uid is an OICP EvcoID: the token has no OICP identification and is left out",
        );
        return None;
    };
    notes.add_if(
        member != IdentificationMember::RfidMifareFamily
            && !evco
                .canonical()
                .eq_ignore_ascii_case(&uid.replace(['-', '*'], "")),
        "uid",
        "OICP RemoteIdentification carries only the EvcoID; the uid is not carried",
    );
    Some(Identification::remote(evco))
}

/// OCPI Tokens -> `eRoamingPushAuthenticationData`, one push per eMSP with `action`
/// (see the module documentation).
///
/// # Errors
/// When the value tables are broken or a built OICP value is refused (a bug).
pub fn tokens_to_auth_data(
    tokens: &[Token],
    action: &ActionType,
) -> Result<Mapped<Vec<PushAuthenticationData>>, MappingError> {
    let t = loaded("Token")?;
    let mut notes = Notes::new("");
    let mut groups: BTreeMap<String, (ProviderId, Vec<AuthenticationDataRecord>)> = BTreeMap::new();
    for (i, token) in tokens.iter().enumerate() {
        let mut tn = Notes::new(format!("Token[{i}]"));
        if let Some((provider, record)) = token_record(token, action, t, &mut tn)? {
            let group = groups
                .entry(provider.canonical())
                .or_insert_with(|| (provider, Vec::new()));
            if group
                .1
                .iter()
                .any(|r| same_identification(&r.identification, &record.identification))
            {
                tn.add("", "same OICP identification as an earlier token; left out");
            } else {
                group.1.push(record);
            }
        }
        notes.losses.append(&mut tn.losses);
    }
    let pushes = groups
        .into_values()
        .map(|(provider_id, records)| PushAuthenticationData {
            action_type: action.clone(),
            provider_authentication_data: ProviderAuthenticationData {
                provider_id,
                authentication_data_record: records,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        })
        .collect();
    Ok(Mapped {
        value: pushes,
        losses: notes.losses,
    })
}

/// Whether two identifications name the same medium (same member, same `UID` or `EvcoID`).
pub(super) fn same_identification(a: &Identification, b: &Identification) -> bool {
    a.member_name() == b.member_name() && a.uid() == b.uid() && a.evco_id() == b.evco_id()
}

fn token_record(
    token: &Token,
    action: &ActionType,
    t: &Tables,
    notes: &mut Notes,
) -> Result<Option<(ProviderId, AuthenticationDataRecord)>, MappingError> {
    if token.whitelist == WhitelistType::Never {
        notes.add(
            "whitelist",
            "NEVER: the token must be authorized online and is not pushed as OICP authentication data (§9 P30)",
        );
        return Ok(None);
    }
    if !token.valid && *action != ActionType::Delete {
        notes.add(
            "valid",
            "false: an invalid token is not pushed as OICP authentication data (send a delete)",
        );
        return Ok(None);
    }
    let Some(identification) = token_identification(
        token.uid.as_str(),
        &token.token_type,
        Some(token.contract_id.as_str()),
        t,
        notes,
    ) else {
        return Ok(None);
    };
    let provider = token_provider(token, &notes.prefix)?;
    notes.add_if(
        token.visual_number.is_some(),
        "visual_number",
        "OICP authentication data has no printed number for this identification; not carried",
    );
    notes.add("issuer", "OICP has no token issuer; not carried");
    notes.add_if(
        token.group_id.is_some(),
        "group_id",
        "OICP has no token groups; not carried",
    );
    notes.add_if(
        token.language.is_some(),
        "language",
        "OICP has no driver language; not carried",
    );
    notes.add_if(
        token.default_profile_type.is_some(),
        "default_profile_type",
        "OICP has no charging profiles; not carried",
    );
    notes.add_if(
        token.energy_contract.is_some(),
        "energy_contract",
        "OICP has no energy contract; not carried",
    );
    notes.add_if(
        token.whitelist != WhitelistType::Always,
        "whitelist",
        "OICP authentication data is always used offline; the whitelist nuance is not carried",
    );
    for k in token.extra.keys() {
        notes.add(k, "not an OCPI Token member; not carried");
    }
    Ok(Some((
        provider,
        AuthenticationDataRecord {
            identification,
            extra: Extra::new(),
        },
    )))
}
