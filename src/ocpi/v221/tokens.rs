//! Tokens module (`tokens`, data owner eMSP): Token, its PATCH body, real-time authorization
//! (`LocationReferences` in, `AuthorizationInfo` out), ocpi-2.2.1.md §4.5, §5.

use super::ids::{
    AuthorizationReference, ContractId, CountryCode, EvseUid, GroupId, LocationId, PartyId,
    TokenUid,
};
use super::sessions::ProfileType;
use super::types::{DateTime, DisplayText, OcpiString};
use super::{Validate, Validator, each_opt, no_cross_member_rules};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `TokenType` (ocpi-2.2.1.md §5). A token is identified by `uid` *and* type within an
    /// eMSP (§4.5).
    pub enum TokenType {
        AdHocUser = "AD_HOC_USER",
        AppUser = "APP_USER",
        Other = "OTHER",
        Rfid = "RFID",
    }
}

wire_enum! {
    /// `WhitelistType` (ocpi-2.2.1.md §5, §4.5): whether the CPO must authorize in real time.
    pub enum WhitelistType {
        Always = "ALWAYS",
        Allowed = "ALLOWED",
        AllowedOffline = "ALLOWED_OFFLINE",
        Never = "NEVER",
    }
}

wire_enum! {
    /// `AllowedType`: the eMSP's verdict in real-time authorization (ocpi-2.2.1.md §5).
    /// `NOT_ALLOWED` means valid, but not at this Location.
    pub enum AllowedType {
        Allowed = "ALLOWED",
        Blocked = "BLOCKED",
        Expired = "EXPIRED",
        NoCredit = "NO_CREDIT",
        NotAllowed = "NOT_ALLOWED",
    }
}

wire_struct! {
    /// `EnergyContract` (ocpi-2.2.1.md §5): the driver's energy supplier, for home charging.
    pub struct EnergyContract {
        /// Supplier name, `string(64)`.
        req "supplier_name" => supplier_name: OcpiString<64>,
        /// Contract id at the supplier, `string(64)`.
        opt "contract_id" => contract_id: OcpiString<64>,
    }
}

wire_struct! {
    /// `Token` (ocpi-2.2.1.md §5, §4.5): a means of authorization issued by an eMSP.
    pub struct Token {
        /// ISO 3166-1 alpha-2 code of the owning eMSP.
        req "country_code" => country_code: CountryCode,
        /// Party id of the owning eMSP.
        req "party_id" => party_id: PartyId,
        /// Token uid (the RFID UID as read, or eMSP-generated).
        req "uid" => uid: TokenUid,
        /// Token type (wire key `type`).
        req "type" => token_type: TokenType,
        /// Contract id (eMA id).
        req "contract_id" => contract_id: ContractId,
        /// Number printed on the token, `string(64)`.
        opt "visual_number" => visual_number: OcpiString<64>,
        /// Issuing company, `string(64)`.
        req "issuer" => issuer: OcpiString<64>,
        /// Token group.
        opt "group_id" => group_id: GroupId,
        /// Whether the token is valid.
        req "valid" => valid: bool,
        /// Real-time authorization policy.
        req "whitelist" => whitelist: WhitelistType,
        /// ISO 639-1 language of the driver, `string(2)`.
        opt "language" => language: OcpiString<2>,
        /// Default charging preference profile.
        opt "default_profile_type" => default_profile_type: ProfileType,
        /// Energy contract for home charging.
        opt "energy_contract" => energy_contract: EnergyContract,
        /// Last change.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// A Token PATCH body (ocpi-2.2.1.md §1.10, §4.5), e.g. `{valid: false, last_updated}`.
    pub struct TokenPatch {
        /// See [`Token::country_code`].
        opt "country_code" => country_code: CountryCode,
        /// See [`Token::party_id`].
        opt "party_id" => party_id: PartyId,
        /// See [`Token::uid`].
        opt "uid" => uid: TokenUid,
        /// See [`Token::token_type`].
        opt "type" => token_type: TokenType,
        /// See [`Token::contract_id`].
        opt "contract_id" => contract_id: ContractId,
        /// See [`Token::visual_number`].
        opt "visual_number" => visual_number: OcpiString<64>,
        /// See [`Token::issuer`].
        opt "issuer" => issuer: OcpiString<64>,
        /// See [`Token::group_id`].
        opt "group_id" => group_id: GroupId,
        /// See [`Token::valid`].
        opt "valid" => valid: bool,
        /// See [`Token::whitelist`].
        opt "whitelist" => whitelist: WhitelistType,
        /// See [`Token::language`].
        opt "language" => language: OcpiString<2>,
        /// See [`Token::default_profile_type`].
        opt "default_profile_type" => default_profile_type: ProfileType,
        /// See [`Token::energy_contract`].
        opt "energy_contract" => energy_contract: EnergyContract,
        /// Mandatory in every PATCH.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// `LocationReferences` (ocpi-2.2.1.md §5, §4.5): the body of a real-time authorization
    /// request, naming where the token is presented.
    pub struct LocationReferences {
        /// The Location.
        req "location_id" => location_id: LocationId,
        /// EVSEs of that Location.
        optlist "evse_uids" => evse_uids: EvseUid,
    }
}

wire_struct! {
    /// `AuthorizationInfo` (ocpi-2.2.1.md §5, §4.5): the eMSP's answer to a real-time
    /// authorization.
    pub struct AuthorizationInfo {
        /// The verdict.
        req "allowed" => allowed: AllowedType,
        /// The complete Token.
        req "token" => token: Token,
        /// Where the verdict applies (may narrow the request).
        opt "location" => location: LocationReferences,
        /// Reference the CPO echoes in the Session and CDR.
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
        /// Message for the driver.
        opt "info" => info: DisplayText,
    }
}

impl Validate for Token {
    fn validate(&self, v: &mut Validator) {
        v.nested_opt("energy_contract", self.energy_contract.as_ref());
    }
}

impl Validate for AuthorizationInfo {
    fn validate(&self, v: &mut Validator) {
        v.nested("token", &self.token);
        v.nested_opt("location", self.location.as_ref());
    }
}

impl Validate for LocationReferences {
    fn validate(&self, v: &mut Validator) {
        each_opt(v, "evse_uids", self.evse_uids.as_ref());
    }
}

no_cross_member_rules!(
    EnergyContract,
    TokenPatch,
    TokenType,
    WhitelistType,
    AllowedType,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::{ValidationError, parse, parse_forwarding};

    fn sorted_paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn token() -> serde_json::Value {
        serde_json::json!({
            "country_code": "DE", "party_id": "EMP", "uid": "04A1B2C3D4E5F6", "type": "RFID",
            "contract_id": "DE-EMP-C12345678-X", "issuer": "Example Mobility",
            "valid": true, "whitelist": "ALLOWED_OFFLINE", "language": "de",
            "last_updated": "2024-04-30T08:00:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn a_valid_token_round_trips() {
        let v = token();
        let t: Token = parse(&bytes(&v)).unwrap();
        assert_eq!(t.whitelist, WhitelistType::AllowedOffline);
        assert_eq!(serde_json::to_value(&t).unwrap(), v);
    }

    #[test]
    fn token_uid_equality_ignores_case() {
        let a: Token = parse(&bytes(&token())).unwrap();
        let mut v = token();
        v["uid"] = "04a1b2c3d4e5f6".into();
        let b: Token = parse(&bytes(&v)).unwrap();
        assert_eq!(a.uid, b.uid);
        assert_eq!(b.uid.as_str(), "04a1b2c3d4e5f6");
    }

    #[test]
    fn token_defects() {
        let mut v = token();
        v.as_object_mut().unwrap().remove("issuer");
        v["whitelist"] = "SOMETIMES".into();
        v["valid"] = "yes".into();
        v["contract_id"] = "C".repeat(40).into();
        let errors = parse::<Token>(&bytes(&v)).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            ["$.contract_id", "$.issuer", "$.valid", "$.whitelist"]
        );
    }

    #[test]
    fn authorization_info() {
        let info = serde_json::json!({
            "allowed": "ALLOWED", "token": token(),
            "location": {"location_id": "site-7", "evse_uids": ["evse-7-1"]},
            "authorization_reference": "auth-42",
            "info": {"language": "en", "text": "Enjoy"}
        });
        let parsed: AuthorizationInfo = parse(&bytes(&info)).unwrap();
        assert_eq!(parsed.allowed, AllowedType::Allowed);
        assert_eq!(serde_json::to_value(&parsed).unwrap(), info);
        let mut bad = info.clone();
        bad["allowed"] = "MAYBE".into();
        bad["token"].as_object_mut().unwrap().remove("last_updated");
        let errors = parse::<AuthorizationInfo>(&bytes(&bad)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.allowed", "$.token.last_updated"]);
        let mut newer = info;
        newer["allowed"] = "PENDING".into();
        let kept: AuthorizationInfo = parse_forwarding(&bytes(&newer)).unwrap();
        assert_eq!(kept.allowed, AllowedType::Unknown("PENDING".to_owned()));
    }

    #[test]
    fn token_patch() {
        let p: TokenPatch =
            parse(br#"{"valid":false,"last_updated":"2024-04-30T09:00:00Z"}"#).unwrap();
        assert_eq!(p.valid, Some(false));
        let errors = parse::<TokenPatch>(br#"{"valid":false}"#).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.last_updated"]);
    }
}
