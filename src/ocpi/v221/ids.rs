//! `CiString(n)` and the OCPI 2.2.1 identifiers (ocpi-2.2.1.md §1.6, §5).
//!
//! # Decisions
//! * **`CiString(n)`** ([`CiString`]) accepts printable ASCII only (U+0020 to U+007E, so no
//!   line breaks or tabs) and at most `n` characters. It keeps the partner's spelling for
//!   re-serialization, and `PartialEq`/`Eq`/`Hash`/`Ord` work on the ASCII-lowercase form, so
//!   `"loc1"` and `"LOC1"` are the same Location id (§1.6). For store keys use
//!   [`CiString::canonical`] (upper case, as §1.6 suggests); it agrees with `Eq`.
//! * **The empty string is accepted**: the spec gives `CiString(n)` a maximum, not a minimum,
//!   and `#NA` exists for values that cannot be given (§1.6).
//! * **Identifiers are newtypes** around a `CiString` of the spec's length, so that a Location id
//!   cannot be passed where an EVSE uid is expected. [`CdrId`] is `CiString(39)` (credit CDRs
//!   append to the original id, §4.3); the rule that a non-credit CDR id has at most 36
//!   characters is a rule of the CDR ([`Cdr`](super::cdrs::Cdr)).
//! * **`country_code` and `party_id`** are stricter than their `CiString(2)`/`CiString(3)`
//!   type, because the spec defines them as an ISO 3166-1 alpha-2 code and an ISO 15118 party
//!   id: exactly two ASCII letters, and exactly three ASCII letters or digits (§5, §6.1).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid OCPI string, `CiString` or identifier (ocpi-2.2.1.md §1.6).
///
/// Shared by every text type of [`ocpi::v221`](super). At the OCPI edge it becomes status
/// `2001`; the `Display` text only repeats what the peer sent and is safe to return in
/// `status_message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// More characters than the type allows. The peer must shorten the value to `max`.
    #[error("{kind} is {len} characters long, at most {max} allowed")]
    TooLong {
        /// What was parsed, e.g. `CiString` or `Location.id`.
        kind: &'static str,
        /// The most characters allowed.
        max: usize,
        /// The characters received.
        len: usize,
    },
    /// A `CiString` with a character outside printable ASCII. The peer must send
    /// U+0020..U+007E only.
    #[error("{kind} allows printable ASCII only, found {found:?} at position {position}")]
    NotPrintableAscii {
        /// What was parsed.
        kind: &'static str,
        /// Character position (0-based) of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A `string` with a control character (line break, tab, …). The peer must remove it.
    #[error("{kind} must not contain control characters, found {found:?} at position {position}")]
    ControlCharacter {
        /// What was parsed.
        kind: &'static str,
        /// Character position (0-based) of the first offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The value does not have the form the spec prescribes; `expected` describes it.
    #[error("'{value}' is not a valid {kind}: {expected}")]
    InvalidFormat {
        /// What was parsed.
        kind: &'static str,
        /// The rejected value as received.
        value: String,
        /// The valid form, in words.
        expected: &'static str,
    },
}

/// Checks a `CiString(max)`: printable ASCII, at most `max` characters.
fn check_ci(s: &str, kind: &'static str, max: usize) -> Result<(), TextError> {
    if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| !matches!(c, ' '..='~')) {
        return Err(TextError::NotPrintableAscii {
            kind,
            position,
            found,
        });
    }
    // Only ASCII is left, so bytes are characters.
    if s.len() > max {
        return Err(TextError::TooLong {
            kind,
            max,
            len: s.len(),
        });
    }
    Ok(())
}

fn lower_bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.to_ascii_lowercase())
}

/// `CiString(N)`: a case-insensitive string of at most `N` printable ASCII characters
/// (ocpi-2.2.1.md §1.6).
///
/// Keeps the spelling it was given; equality, hashing and ordering ignore ASCII case.
#[derive(Clone)]
pub struct CiString<const N: usize>(String);

impl<const N: usize> CiString<N> {
    /// The most characters allowed.
    pub const MAX_LEN: usize = N;

    /// Parses a `CiString(N)`, keeping its spelling.
    ///
    /// # Errors
    /// [`TextError::NotPrintableAscii`] or [`TextError::TooLong`].
    pub fn parse(s: &str) -> Result<Self, TextError> {
        Self::parse_as(s, "CiString")
    }

    /// Like [`parse`](Self::parse), naming the value `kind` in errors.
    pub(crate) fn parse_as(s: &str, kind: &'static str) -> Result<Self, TextError> {
        check_ci(s, kind, N)?;
        Ok(Self(s.to_owned()))
    }

    fn from_string_as(s: String, kind: &'static str) -> Result<Self, TextError> {
        check_ci(&s, kind, N)?;
        Ok(Self(s))
    }

    /// The value exactly as received or created.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The upper-case form, for store and map keys (ocpi-2.2.1.md §1.6). Two values are equal
    /// exactly when their canonical forms are.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_uppercase()
    }

    /// Whether `other` is the same value ignoring ASCII case (e.g. a URL segment).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl<const N: usize> fmt::Debug for CiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CiString<{N}>({:?})", self.0)
    }
}

impl<const N: usize> fmt::Display for CiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> PartialEq for CiString<N> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl<const N: usize> Eq for CiString<N> {}

/// Hashes the lowercase form, consistently with `PartialEq`.
impl<const N: usize> Hash for CiString<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in lower_bytes(&self.0) {
            state.write_u8(b);
        }
        // Terminator, as `str` does, so that hashes of prefixes differ.
        state.write_u8(0xff);
    }
}

impl<const N: usize> PartialOrd for CiString<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Orders by the lowercase form, consistently with `PartialEq`.
impl<const N: usize> Ord for CiString<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        lower_bytes(&self.0).cmp(lower_bytes(&other.0))
    }
}

impl<const N: usize> FromStr for CiString<N> {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<const N: usize> TryFrom<String> for CiString<N> {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::from_string_as(s, "CiString")
    }
}

impl<const N: usize> TryFrom<&str> for CiString<N> {
    type Error = TextError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl<const N: usize> AsRef<str> for CiString<N> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> From<CiString<N>> for String {
    fn from(s: CiString<N>) -> Self {
        s.0
    }
}

impl<const N: usize> Serialize for CiString<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const N: usize> Deserialize<'de> for CiString<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::try_from(s).map_err(de::Error::custom)
    }
}

/// Declares an identifier newtype around `CiString<max>`, with an optional format check.
macro_rules! ci_id {
    (
        $(#[$meta:meta])*
        pub struct $name:ident(CiString<$max:literal>) {
            kind: $kind:literal,
            $(format: $check:expr, expected: $expected:literal,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(CiString<$max>);

        impl $name {
            #[doc = concat!("The name used for this identifier in errors: `", $kind, "`.")]
            pub const KIND: &'static str = $kind;

            #[doc = concat!("The most characters allowed (`CiString(", stringify!($max), ")`).")]
            pub const MAX_LEN: usize = $max;

            #[doc = concat!("Parses a `", $kind, "`, keeping its spelling.\n\n")]
            #[doc = "# Errors\n[`TextError`] when the value is too long, not printable ASCII or \
                     (where the spec prescribes a form) of the wrong form."]
            pub fn parse(s: &str) -> Result<Self, TextError> {
                Self::try_from(s.to_owned())
            }

            /// The value exactly as received or created.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The underlying `CiString`.
            pub fn as_ci(&self) -> &CiString<$max> {
                &self.0
            }

            /// The upper-case form, for store and map keys; agrees with `Eq`.
            pub fn canonical(&self) -> String {
                self.0.canonical()
            }

            /// Whether `other` is the same identifier ignoring ASCII case (e.g. a URL segment).
            pub fn eq_ignore_case(&self, other: &str) -> bool {
                self.0.eq_ignore_case(other)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                let ci = CiString::<$max>::from_string_as(s, $kind)?;
                $(
                    let check: fn(&str) -> bool = $check;
                    if !check(ci.as_str()) {
                        return Err(TextError::InvalidFormat {
                            kind: $kind,
                            value: ci.0,
                            expected: $expected,
                        });
                    }
                )?
                Ok(Self(ci))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = TextError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl FromStr for $name {
            type Err = TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0.0
            }
        }

        impl From<$name> for CiString<$max> {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::try_from(s).map_err(de::Error::custom)
            }
        }
    };
}

ci_id! {
    /// `country_code`: ISO 3166-1 alpha-2 code of the party that owns an object, `CiString(2)`
    /// (ocpi-2.2.1.md §5, §6.1). Exactly two ASCII letters.
    pub struct CountryCode(CiString<2>) {
        kind: "country_code",
        format: |s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()),
        expected: "two letters (ISO 3166-1 alpha-2), e.g. NL",
    }
}

ci_id! {
    /// `party_id`: ISO 15118 id of the party that owns an object, `CiString(3)`
    /// (ocpi-2.2.1.md §5, §6.1). Exactly three ASCII letters or digits.
    pub struct PartyId(CiString<3>) {
        kind: "party_id",
        format: |s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphanumeric()),
        expected: "three letters or digits (ISO 15118 party id), e.g. TNM",
    }
}

ci_id! {
    /// `Location.id` (and every `location_id`), `CiString(36)` (ocpi-2.2.1.md §5 Location).
    pub struct LocationId(CiString<36>) { kind: "Location.id", }
}

ci_id! {
    /// `EVSE.uid` (and every `evse_uid`), the CPO's technical, immutable EVSE id,
    /// `CiString(36)` (ocpi-2.2.1.md §5 EVSE). May be `#NA` in a Session for a reservation.
    pub struct EvseUid(CiString<36>) { kind: "EVSE.uid", }
}

ci_id! {
    /// `EVSE.evse_id`: the eMI3 EVSE id (e.g. `BE*BEC*E041503001`), `CiString(48)`
    /// (ocpi-2.2.1.md §5 EVSE). Not checked against the eMI3 grammar: the spec only gives the
    /// type.
    pub struct EvseId(CiString<48>) { kind: "evse_id", }
}

ci_id! {
    /// `Connector.id` (and every `connector_id`), unique within its EVSE, `CiString(36)`
    /// (ocpi-2.2.1.md §5 Connector).
    pub struct ConnectorId(CiString<36>) { kind: "Connector.id", }
}

ci_id! {
    /// `Token.uid` (and `CdrToken.uid`), `CiString(36)` (ocpi-2.2.1.md §5 Token).
    pub struct TokenUid(CiString<36>) { kind: "Token.uid", }
}

ci_id! {
    /// `contract_id` of a Token or `CdrToken`: the eMA id, `CiString(36)` (ocpi-2.2.1.md §5
    /// Token).
    pub struct ContractId(CiString<36>) { kind: "contract_id", }
}

ci_id! {
    /// `group_id` of a Token or `PublishTokenType`, `CiString(36)` (ocpi-2.2.1.md §5 Token).
    pub struct GroupId(CiString<36>) { kind: "group_id", }
}

ci_id! {
    /// `Session.id` (and `CDR.session_id`, `StopSession.session_id`), `CiString(36)`
    /// (ocpi-2.2.1.md §5 Session).
    pub struct SessionId(CiString<36>) { kind: "Session.id", }
}

ci_id! {
    /// `CDR.id` (and `credit_reference_id`, `invoice_reference_id`), `CiString(39)`: three
    /// more than usual so that a credit CDR can append to the original id (ocpi-2.2.1.md §4.3).
    pub struct CdrId(CiString<39>) { kind: "CDR.id", }
}

ci_id! {
    /// `Tariff.id` (and every `tariff_id`/`tariff_ids` entry), `CiString(36)` (ocpi-2.2.1.md §5
    /// Tariff).
    pub struct TariffId(CiString<36>) { kind: "Tariff.id", }
}

ci_id! {
    /// `authorization_reference`, given by the eMSP and echoed in Sessions and CDRs,
    /// `CiString(36)` (ocpi-2.2.1.md §5 `AuthorizationInfo`, §4.6).
    pub struct AuthorizationReference(CiString<36>) { kind: "authorization_reference", }
}

ci_id! {
    /// `reservation_id` of `ReserveNow`/`CancelReservation`, `CiString(36)` (ocpi-2.2.1.md §5).
    pub struct ReservationId(CiString<36>) { kind: "reservation_id", }
}

crate::ocpi::v221::no_cross_member_rules!(
    CountryCode,
    PartyId,
    LocationId,
    EvseUid,
    EvseId,
    ConnectorId,
    TokenUid,
    ContractId,
    GroupId,
    SessionId,
    CdrId,
    TariffId,
    AuthorizationReference,
    ReservationId,
);

impl<const N: usize> super::Validate for CiString<N> {
    fn validate(&self, _: &mut super::Validator) {}
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use super::*;
    use crate::ocpi::v221::parse;

    #[test]
    fn ci_string_compares_and_hashes_ignoring_case_but_keeps_the_spelling() {
        let a = LocationId::parse("Loc1").unwrap();
        let b = LocationId::parse("LOC1").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Loc1");
        assert_eq!(a.canonical(), "LOC1");
        assert!(a.eq_ignore_case("loc1"));
        let set: HashSet<LocationId> = [a.clone(), b.clone()].into_iter().collect();
        assert_eq!(set.len(), 1);
        let mut ordered = BTreeSet::new();
        for s in ["b", "A", "a", "B"] {
            // The first spelling stays; the later ones are the same value.
            ordered.insert(CiString::<5>::parse(s).unwrap());
        }
        let spelled: Vec<&str> = ordered.iter().map(CiString::as_str).collect();
        assert_eq!(spelled, ["A", "b"]);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"Loc1\"");
        assert_ne!(a, LocationId::parse("LOC2").unwrap());
    }

    #[test]
    fn ci_string_limits_length_and_characters() {
        assert!(CiString::<3>::parse("abc").is_ok());
        assert!(CiString::<3>::parse("").is_ok());
        assert!(CiString::<3>::parse("#NA").is_ok());
        let err = CiString::<3>::parse("abcd").unwrap_err();
        assert_eq!(
            err,
            TextError::TooLong {
                kind: "CiString",
                max: 3,
                len: 4
            }
        );
        let err = CiString::<10>::parse("ab\tc").unwrap_err();
        assert!(matches!(
            err,
            TextError::NotPrintableAscii {
                position: 2,
                found: '\t',
                ..
            }
        ));
        assert!(CiString::<10>::parse("Köln").is_err());
        let long = "x".repeat(37);
        let err = TokenUid::parse(&long).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Token.uid is 37 characters long, at most 36 allowed"
        );
        assert!(CdrId::parse(&"x".repeat(39)).is_ok());
    }

    #[test]
    fn country_code_and_party_id_have_their_iso_form() {
        assert!(CountryCode::parse("nl").is_ok());
        assert!(CountryCode::parse("N1").is_err());
        assert!(CountryCode::parse("N").is_err());
        assert!(matches!(
            CountryCode::parse("NLD"),
            Err(TextError::TooLong { max: 2, .. })
        ));
        assert!(PartyId::parse("TN1").is_ok());
        let err = PartyId::parse("T-N").unwrap_err();
        assert!(err.to_string().contains("three letters or digits"), "{err}");
        assert_eq!(
            PartyId::parse("tnm").unwrap(),
            PartyId::parse("TNM").unwrap()
        );
    }

    #[test]
    fn ids_parse_through_the_wire_machinery_with_a_path() {
        let id: CountryCode = parse(b"\"DE\"").unwrap();
        assert_eq!(id.as_str(), "DE");
        let errors = parse::<PartyId>(b"\"TOOLONG\"").unwrap_err();
        assert_eq!(errors[0].path, "$");
        assert!(errors[0].message.contains("at most 3"), "{errors:?}");
        assert!(parse::<LocationId>(b"12").is_err());
    }
}
