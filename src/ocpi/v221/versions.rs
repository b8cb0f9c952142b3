//! The configuration modules `versions` and `credentials` (ocpi-2.2.1.md §3): `Version`,
//! `VersionDetails`, `Endpoint`, `Credentials`, `CredentialsRole`, and the enums `Role`,
//! `InterfaceRole` and `ModuleID`.
//!
//! # Decisions
//! * **Version numbers and module identifiers are free strings** (`string(10)` and
//!   `string(64)` here): a partner may list versions this model does not know (2.3.0) and custom
//!   modules (`nltnm-tokens`, §3.1); rejecting its whole list for them would gain nothing.
//! * **`null` for a list** is read as an empty list in [`Versions`] and
//!   [`VersionDetails::endpoints`] (partners were seen to send it); `roles` of
//!   [`Credentials`] stays a mandatory non-empty list (a registration without parties is
//!   meaningless).

use super::ids::{CountryCode, PartyId};
use super::types::{BusinessDetails, OcpiString, Url};
use super::{Validate, Validator};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `Role` (ocpi-2.2.1.md §1.6): the role of a party.
    pub enum Role {
        Cpo = "CPO",
        Emsp = "EMSP",
        Hub = "HUB",
        Nap = "NAP",
        Nsp = "NSP",
        Other = "OTHER",
        Scsp = "SCSP",
    }
}

wire_enum! {
    /// `InterfaceRole` (ocpi-2.2.1.md §3.1): which side of a module an endpoint implements.
    pub enum InterfaceRole {
        /// Implemented by the data owner; the peer pulls from it.
        Sender = "SENDER",
        /// Implemented by the data receiver; the owner pushes to it.
        Receiver = "RECEIVER",
    }
}

/// A version number as listed (`2.2.1`, `2.1.1`, …), kept as sent.
pub type VersionNumber = OcpiString<10>;

/// A module identifier (`credentials`, `locations`, … or a custom one), kept as sent.
pub type ModuleId = OcpiString<64>;

/// The version this node speaks.
pub const V221: &str = "2.2.1";

wire_struct! {
    /// `Version` (ocpi-2.2.1.md §3.1): one entry of the versions list.
    pub struct Version {
        /// The version number.
        req "version" => version: VersionNumber,
        /// Its version details URL.
        req "url" => url: Url,
    }
}

wire_struct! {
    /// `Endpoint` (ocpi-2.2.1.md §3.1): one module interface of a version.
    pub struct Endpoint {
        /// The module.
        req "identifier" => identifier: ModuleId,
        /// `SENDER` or `RECEIVER` (meaningless for `credentials`).
        req "role" => role: InterfaceRole,
        /// Where it is served.
        req "url" => url: Url,
    }
}

wire_struct! {
    /// `VersionDetails` (ocpi-2.2.1.md §3.1): the endpoints of one version.
    pub struct VersionDetails {
        /// The version number.
        req "version" => version: VersionNumber,
        /// The endpoints (`null` read as none).
        optlist "endpoints" => endpoints: Endpoint,
    }
}

impl VersionDetails {
    /// The URL of a module interface, ignoring the role for `credentials` (§3.1) and comparing
    /// identifiers case-insensitively.
    pub fn endpoint(&self, module: &str, role: &InterfaceRole) -> Option<&str> {
        self.endpoints.iter().flatten().find_map(|e| {
            let same_module = e.identifier.as_str().eq_ignore_ascii_case(module);
            (same_module && (module == "credentials" || e.role == *role)).then(|| e.url.as_str())
        })
    }
}

wire_struct! {
    /// `CredentialsRole` (ocpi-2.2.1.md §3.2): one party of a platform.
    pub struct CredentialsRole {
        /// The party's role.
        req "role" => role: Role,
        /// The party's business details.
        req "business_details" => business_details: BusinessDetails,
        /// `party_id`.
        req "party_id" => party_id: PartyId,
        /// `country_code`.
        req "country_code" => country_code: CountryCode,
    }
}

wire_struct! {
    /// `Credentials` (ocpi-2.2.1.md §3.2): what a platform gives its peer to call it.
    pub struct Credentials {
        /// The token the receiver of this object uses on the sender, `string(64)`.
        req "token" => token: OcpiString<64>,
        /// The sender's versions URL.
        req "url" => url: Url,
        /// The sender's parties.
        nelist "roles" => roles: CredentialsRole,
    }
}

impl Validate for Credentials {
    /// The token is printable non-whitespace ASCII (§1.2), and each (role, party) appears once
    /// (§3.2).
    fn validate(&self, v: &mut Validator) {
        let token = self.token.as_str();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            v.error_at(
                "token",
                "must be printable ASCII without spaces, at least one character",
            );
        }
        for (i, a) in self.roles.iter().enumerate() {
            let twice = self.roles[..i].iter().any(|b| {
                a.role == b.role && a.party_id == b.party_id && a.country_code == b.country_code
            });
            if twice {
                v.at("roles", |v| {
                    v.at_index(i, |v| {
                        v.error("the same role, country_code and party_id are listed twice");
                    });
                });
            }
        }
    }
}

super::no_cross_member_rules!(Version, Endpoint, VersionDetails, CredentialsRole);

/// The versions list: `null` is read as empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versions(pub Vec<Version>);

impl<'de> serde::Deserialize<'de> for Versions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(
            Option::<Vec<Version>>::deserialize(d)?.unwrap_or_default(),
        ))
    }
}

impl serde::Serialize for Versions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Validate for Versions {
    fn validate(&self, v: &mut Validator) {
        for (i, version) in self.0.iter().enumerate() {
            v.at_index(i, |v| version.validate(v));
        }
    }
}

impl Versions {
    /// The details URL of `version`.
    pub fn url_of(&self, version: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.version.as_str() == version)
            .map(|e| e.url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    #[test]
    fn lower_case_ids_null_lists_and_unknown_modules_are_read() {
        let c: Credentials = parse(
            br#"{"token":"abc","url":"http://x/ocpi/versions","roles":[{"role":"CPO",
            "business_details":{"name":"X"},"party_id":"tnm","country_code":"nl"}]}"#,
        )
        .unwrap();
        assert_eq!(c.roles[0].party_id.canonical(), "TNM");
        let d: VersionDetails = parse(br#"{"version":"2.2.1","endpoints":null}"#).unwrap();
        assert_eq!(d.endpoint("credentials", &InterfaceRole::Sender), None);
        let d: VersionDetails = parse(
            br#"{"version":"2.2.1","endpoints":[{"identifier":"nltnm-tokens","role":"SENDER","url":"http://a"},
            {"identifier":"credentials","role":"RECEIVER","url":"http://c"}]}"#,
        )
        .unwrap();
        assert_eq!(
            d.endpoint("credentials", &InterfaceRole::Sender),
            Some("http://c")
        );
        let v: Versions = parse(b"null").unwrap();
        assert!(v.0.is_empty());
    }

    #[test]
    fn broken_credentials_are_refused_with_paths() {
        let twice = br#"{"token":"a b","url":"http://x","roles":[
            {"role":"CPO","business_details":{"name":"X"},"party_id":"TNM","country_code":"NL"},
            {"role":"CPO","business_details":{"name":"Y"},"party_id":"tnm","country_code":"NL"}]}"#;
        let errors = parse::<Credentials>(twice).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"$.token"), "{errors:?}");
        assert!(paths.contains(&"$.roles[1]"), "{errors:?}");
        let empty = br#"{"token":"t","url":"http://x","roles":[]}"#;
        assert!(parse::<Credentials>(empty).is_err());
    }
}
