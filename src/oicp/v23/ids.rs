//! OICP 2.3 identifiers as validated newtypes (oicp-2.3.md §5.1, §8).
//!
//! Every identifier can only exist if it is valid: the inner `String` is
//! private and the only ways in are [`FromStr`], `TryFrom<String>`,
//! `TryFrom<&str>`, the `parse` functions and serde (which goes through
//! `TryFrom<String>`). All types share one error type, [`IdError`].
//!
//! # Decisions
//!
//! * **Accept what the published regex accepts** (oicp-2.3.md §5.1,
//!   "Recommendation"), and keep the partner's spelling: `as_str()`,
//!   `Display` and serde always return the exact input.
//! * **`EvseID` case (erratum E17):** S1 uses `[A-Z]`, S2/S3 use `[A-Za-z]`.
//!   [`EvseId`] accepts the looser S2 form inbound; `normalized()` gives the
//!   upper-case form to emit.
//! * **`\d` means ASCII digits.** The published patterns were written for
//!   Java/JavaScript engines, where `\d` is `[0-9]`. In the Rust `regex`
//!   crate `\d` is any Unicode digit, so our `PATTERN`s spell it `0-9`.
//! * **Regex defects are kept:** `[\*|-]`, `[\d|X]` and `[\d|A-Za-z]` also
//!   admit a literal `|` (§5.1). It is accepted; where it stands in a
//!   separator position it counts as a separator for the format-insensitive
//!   comparison (see below). As the last character of an [`EvcoId`] it is
//!   the check character and is kept.
//! * **Format-insensitive identity.** [`EvseId`], [`OperatorId`],
//!   [`ProviderId`], [`EvcoId`] and [`ChargingPoolId`] implement
//!   `PartialEq`/`Eq`/`Hash`/`PartialOrd`/`Ord` on their `canonical()` form
//!   (upper case, separators and a leading `+` removed), because partners
//!   spell the same ID as `DE*GEF`, `DEGEF` or `de*gef`. This deliberately
//!   departs from style.md §3.2 item 9 ("don't hide canonicalisation inside
//!   `PartialEq`"), as the issue requires format-insensitive comparison. For
//!   the same reason these types do not implement `Borrow<str>`: a `&str`
//!   lookup would hash differently from the ID.
//! * **Lengths** are checked before the regex and reported as
//!   [`IdError::TooLong`]; they are counted in characters, and for regex
//!   types `MAX_LEN` is the longest string the pattern admits.
//!
//! The source names S1 to S7 refer to the table in oicp-2.3.md §0.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Why a string is not a valid OICP 2.3 identifier (oicp-2.3.md §5.1).
///
/// Shared by every identifier type of this module (style.md §3.2 item 10).
/// At the OICP edge it becomes status code `022` ("Data error", oicp-2.3.md
/// §6.1); the `Display` text is safe to return to the peer as
/// `AdditionalInfo`, since it only repeats the peer's own value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The value is the empty string. The peer sees "`<kind>` must not be
    /// empty" and must send the identifier or omit the optional field.
    #[error("{kind} must not be empty")]
    Empty {
        /// The OICP name of the identifier, e.g. `EvseID`.
        kind: &'static str,
    },
    /// The value has more characters than the OICP 2.3 type allows. The
    /// peer must shorten it to at most `max` characters.
    #[error("{kind} is {len} characters long, at most {max} allowed")]
    TooLong {
        /// The OICP name of the identifier, e.g. `CPOPartnerSessionID`.
        kind: &'static str,
        /// The maximum number of characters allowed.
        max: usize,
        /// The number of characters received.
        len: usize,
    },
    /// The value does not match the regex of oicp-2.3.md §5.1. The peer
    /// must send the form described by `expected`.
    #[error("'{value}' is not a valid {kind}: {expected}")]
    InvalidFormat {
        /// The OICP name of the identifier, e.g. `UID`.
        kind: &'static str,
        /// The rejected value, as received (at most the type's maximum
        /// length, because longer values fail with [`IdError::TooLong`]).
        value: String,
        /// A short human hint of the valid form.
        expected: &'static str,
    },
}

impl IdError {
    /// The OICP 2.3 name of the identifier that failed to parse (e.g.
    /// `EvseID`), for the field reference in an OICP `022` answer
    /// (oicp-2.3.md §6.1).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Empty { kind }
            | Self::TooLong { kind, .. }
            | Self::InvalidFormat { kind, .. } => kind,
        }
    }
}

/// Compiles one of the literal `PATTERN`s of this module.
#[expect(
    clippy::expect_used,
    reason = "the patterns are string literals, each compiled by the unit tests"
)]
fn compile_pattern(pattern: &'static str) -> Regex {
    Regex::new(pattern).expect("the OICP identifier patterns are valid regexes")
}

/// Counts the leading bytes of `b` from `start` that satisfy `f`, at most `max`.
fn run_len(b: &[u8], start: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    b.get(start..).map_or(0, |rest| {
        rest.iter().take(max).take_while(|c| f(**c)).count()
    })
}

/// `[A-Za-z]{2}\*?[A-Za-z0-9]{3}` at the start of `b`: the end of the match.
fn iso_party_prefix(b: &[u8]) -> Option<usize> {
    if run_len(b, 0, 2, |c| c.is_ascii_alphabetic()) != 2 {
        return None;
    }
    let i = if b.get(2) == Some(&b'*') { 3 } else { 2 };
    (run_len(b, i, 3, |c| c.is_ascii_alphanumeric()) == 3).then_some(i + 3)
}

/// `\+?[0-9]{1,3}\*[0-9]{3}` at the start of `b`: the end of the match.
fn din_party_prefix(b: &[u8]) -> Option<usize> {
    let i = usize::from(b.first() == Some(&b'+'));
    let digits = run_len(b, i, 4, |c| c.is_ascii_digit());
    if !(1..=3).contains(&digits) || b.get(i + digits) != Some(&b'*') {
        return None;
    }
    let j = i + digits + 1;
    (run_len(b, j, 3, |c| c.is_ascii_digit()) == 3).then_some(j + 3)
}

/// The `EvseID` pattern without a regex (it runs once per record of every push).
fn matches_evse_id(s: &str) -> bool {
    let b = s.as_bytes();
    if let Some(mut i) = iso_party_prefix(b) {
        if b.get(i) == Some(&b'*') {
            i += 1;
        }
        if b.get(i) != Some(&b'E') {
            return false;
        }
        let rest = &b[i + 1..];
        return (1..=30).contains(&rest.len())
            && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'*');
    }
    if let Some(i) = din_party_prefix(b) {
        if b.get(i) != Some(&b'*') {
            return false;
        }
        let rest = &b[i + 1..];
        return (1..=32).contains(&rest.len())
            && rest.iter().all(|c| c.is_ascii_digit() || *c == b'*');
    }
    false
}

/// The `OperatorID` pattern without a regex.
fn matches_operator_id(s: &str) -> bool {
    let b = s.as_bytes();
    iso_party_prefix(b) == Some(b.len()) || din_party_prefix(b) == Some(b.len())
}

/// The `ChargingPoolID` pattern without a regex (it runs once per record of every pull):
/// `[A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?P[A-Za-z0-9\*]{1,30}`, the ISO form of the `EvseID` with
/// `P` for `E`. Each step is decided by the next byte (`*` is not alphanumeric), so the regex
/// has no other way to match.
fn matches_charging_pool_id(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(mut i) = iso_party_prefix(b) else {
        return false;
    };
    if b.get(i) == Some(&b'*') {
        i += 1;
    }
    if b.get(i) != Some(&b'P') {
        return false;
    }
    let rest = &b[i + 1..];
    (1..=30).contains(&rest.len()) && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'*')
}

/// The `LanguageCode` pattern without a regex (every `InfoText` of a record has one):
/// `[a-z]{2,3}(-[A-Z]{2,3}(-[a-zA-Z]{4})?)?(-x-[a-zA-Z0-9]{1,8})?`. Every part must be followed
/// by `-` or the end, and the byte after a `-` tells the parts apart (upper case: region,
/// a letter after a region: script, `x-`: private use), so runs are taken whole.
fn matches_language_code(s: &str) -> bool {
    let b = s.as_bytes();
    let lang = run_len(b, 0, 4, |c| c.is_ascii_lowercase());
    if !(2..=3).contains(&lang) {
        return false;
    }
    let mut i = lang;
    let region = b
        .get(i..)
        .and_then(|r| r.strip_prefix(b"-"))
        .map_or(0, |r| run_len(r, 0, 4, |c| c.is_ascii_uppercase()));
    if (2..=3).contains(&region) {
        i += 1 + region;
        let script = b
            .get(i..)
            .and_then(|r| r.strip_prefix(b"-"))
            .map_or(0, |r| run_len(r, 0, 5, |c| c.is_ascii_alphabetic()));
        if script == 4 {
            i += 5;
        }
    }
    match b.get(i..) {
        Some([]) => true,
        Some([b'-', b'x', b'-', rest @ ..]) => {
            (1..=8).contains(&rest.len()) && rest.iter().all(u8::is_ascii_alphanumeric)
        }
        _ => false,
    }
}

/// The `PhoneNumber` pattern `\+[0-9]{5,15}` without a regex.
fn matches_phone_number(s: &str) -> bool {
    s.as_bytes().split_first().is_some_and(|(plus, digits)| {
        *plus == b'+' && (5..=15).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
    })
}

/// The `CountryCode` pattern `[A-Z]{3}` without a regex.
fn matches_country_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|c| c.is_ascii_uppercase())
}

/// Rejects empty values and values with more than `max` characters.
fn check_length(s: &str, kind: &'static str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    // A string never has more characters than bytes: only count when needed.
    if s.len() > max {
        let len = s.chars().count();
        if len > max {
            return Err(IdError::TooLong { kind, max, len });
        }
    }
    Ok(())
}

/// Declares a validated string newtype with the shared boilerplate.
///
/// `check: regex` validates against `pattern`; `check: any` accepts every
/// string of 1..=`max_len` characters (free strings).
macro_rules! id_newtype {
    (@check regex, $s:ident, $kind:literal, $pattern:literal, $expected:literal) => {{
        static RE: LazyLock<Regex> = LazyLock::new(|| compile_pattern($pattern));
        if RE.is_match($s) {
            Ok(())
        } else {
            Err(IdError::InvalidFormat {
                kind: $kind,
                value: $s.to_owned(),
                expected: $expected,
            })
        }
    }};
    (@check any, $s:ident, $kind:literal, $pattern:literal, $expected:literal) => {
        Ok(())
    };
    // A hand-written matcher for the IDs on hot paths (every record of a push); the tests
    // prove it accepts exactly what `pattern` accepts.
    (@check $matcher:ident, $s:ident, $kind:literal, $pattern:literal, $expected:literal) => {{
        if $matcher($s) {
            Ok(())
        } else {
            Err(IdError::InvalidFormat {
                kind: $kind,
                value: $s.to_owned(),
                expected: $expected,
            })
        }
    }};
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            kind: $kind:literal,
            pattern: $pattern:literal,
            max_len: $max_len:literal,
            check: $check:ident,
            expected: $expected:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!(
                "The OICP 2.3 name of this identifier, `", $kind,
                "`, as used in [`IdError`] (oicp-2.3.md §5.1)."
            )]
            pub const KIND: &str = $kind;

            #[doc = concat!(
                "The anchored pattern of `", $kind, "` (oicp-2.3.md §5.1): `", $pattern, "`."
            )]
            pub const PATTERN: &str = $pattern;

            #[doc = concat!(
                "The most characters a `", $kind, "` can have (oicp-2.3.md §5.1)."
            )]
            pub const MAX_LEN: usize = $max_len;

            #[doc = concat!(
                "Parses an OICP 2.3 `", $kind, "` (oicp-2.3.md §5.1), keeping its spelling.\n\n",
                "# Errors\n\n",
                "[`IdError::Empty`] for an empty string, [`IdError::TooLong`] for more than\n",
                "`MAX_LEN` characters, [`IdError::InvalidFormat`] if the pattern does not match."
            )]
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Self::validate(s)?;
                Ok(Self(s.to_owned()))
            }

            fn validate(s: &str) -> Result<(), IdError> {
                check_length(s, $kind, $max_len)?;
                id_newtype!(@check $check, s, $kind, $pattern, $expected)
            }

            #[doc = concat!("The `", $kind, "` exactly as it was received or created.")]
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::validate(&s)?;
                Ok(Self(s))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

/// Implements `canonical()` and canonical `PartialEq`/`Eq`/`Hash`/`Ord` for a
/// format-insensitive identifier.
macro_rules! format_insensitive {
    ($name:ident) => {
        impl $name {
            /// The format-insensitive identity of this ID: upper case, with
            /// the separators `*` and `-` (and a `|` in separator position,
            /// a defect of the published regex) and a leading `+` removed,
            /// e.g. `DE*GEF`, `DEGEF` and `de*gef` all give `DEGEF`
            /// (oicp-2.3.md §5.1). Equality, hashing and ordering use it;
            /// use it as well for store keys.
            #[must_use]
            pub fn canonical(&self) -> String {
                let mut out = String::with_capacity(self.0.len());
                self.push_canonical(&mut out);
                out
            }

            /// Appends [`Self::canonical`] to `out`.
            pub fn push_canonical(&self, out: &mut String) {
                out.extend(canonical_bytes(&self.0).map(char::from));
            }
        }

        /// Compares the canonical forms without allocating.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0 == other.0 || canonical_bytes(&self.0).eq(canonical_bytes(&other.0))
            }
        }

        impl Eq for $name {}

        /// Hashes the canonical form, consistently with `PartialEq`.
        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                hash_canonical(&self.0, state);
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        /// Orders by the canonical form, consistently with `PartialEq`.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                canonical_bytes(&self.0).cmp(canonical_bytes(&other.0))
            }
        }
    };
}

/// Whether `b` may stand between the parts of an ISO/DIN style ID.
const fn is_separator(b: u8) -> bool {
    matches!(b, b'*' | b'-' | b'|')
}

/// The canonical bytes of a format-insensitive ID: upper-cased, separators
/// and a leading `+` removed. A `|` in the last position is a check
/// character (`[\d|X]`), not a separator, and is kept.
///
/// Only used on validated IDs, which are ASCII.
fn canonical_bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
    let body = s.strip_prefix('+').unwrap_or(s).as_bytes();
    let last = body.len().saturating_sub(1);
    body.iter()
        .enumerate()
        .filter(move |&(i, &b)| !is_separator(b) || (b == b'|' && i == last))
        .map(|(_, b)| b.to_ascii_uppercase())
}

/// Feeds the canonical bytes to `state` in chunks, without allocating.
fn hash_canonical<H: Hasher>(s: &str, state: &mut H) {
    let mut buf = [0_u8; 64];
    let mut n = 0;
    for b in canonical_bytes(s) {
        if n == buf.len() {
            state.write(&buf);
            n = 0;
        }
        buf[n] = b;
        n += 1;
    }
    state.write(&buf[..n]);
    // Terminator, as `str` does, so that hashes of prefixes differ.
    state.write_u8(0xff);
}

/// Splits a validated ISO-style ID `CC[sep]PPP[sep]rest` into country code,
/// party and rest, all as spelled.
///
/// Only used on validated ISO-form IDs, which are ASCII and start with two
/// letters and three alphanumerics.
fn split_iso(s: &str) -> (&str, &str, &str) {
    let bytes = s.as_bytes();
    let mut i = 2;
    if bytes.get(i).copied().is_some_and(is_separator) {
        i += 1;
    }
    let party_start = i;
    i += 3;
    let party_end = i;
    if bytes.get(i).copied().is_some_and(is_separator) {
        i += 1;
    }
    (&s[..2], &s[party_start..party_end], &s[i..])
}

/// Length of the `CC[sep]PPP` prefix of a validated ISO-style ID.
fn iso_prefix_len(s: &str) -> usize {
    if s.as_bytes().get(2).copied().is_some_and(is_separator) {
        6
    } else {
        5
    }
}

/// `CC<sep>PPP<sep>REST` in upper case, from a validated ISO-style ID.
fn normalized_iso(s: &str, sep: char) -> String {
    let (country, party, rest) = split_iso(s);
    let mut out = String::with_capacity(s.len() + 2);
    out.push_str(&country.to_ascii_uppercase());
    out.push(sep);
    out.push_str(&party.to_ascii_uppercase());
    if !rest.is_empty() {
        out.push(sep);
        out.push_str(&rest.to_ascii_uppercase());
    }
    out
}

// ---------------------------------------------------------------------------
// EvseID, OperatorID, ChargingPoolID
// ---------------------------------------------------------------------------

id_newtype! {
    /// OICP 2.3 `EvseIDType`, oicp-2.3.md §5.1: the ID of one EVSE, in ISO
    /// form (`DE*AB7*E840*6487`, `DEAB7E8406487`) or DIN form
    /// (`+49*810*000*438`).
    ///
    /// Erratum E17 (oicp-2.3.md §8): S1 allows upper-case letters only, S2
    /// and S3 `[A-Za-z]`. This type accepts the looser S2 form
    /// (`de*ab7*E840*6487`; the `E` marker itself must be upper case in
    /// every source) and keeps the spelling; [`EvseId::normalized`] gives the
    /// upper-case form we emit.
    ///
    /// Equality, hashing and ordering are format-insensitive, on
    /// [`EvseId::canonical`]: `DE*AB7*E840*6487 == deab7E8406487`, and
    /// `+49*810*000*438 == 49*810*000*438`. Dropping the `*` after the 1 to 3
    /// digit country calling code of a DIN ID is unambiguous because E.164
    /// country codes are prefix-free; `*` inside the outlet part is ignored
    /// too (`E840*6487 == E8406487`).
    pub struct EvseId {
        kind: "EvseID",
        pattern: r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?E[A-Za-z0-9\*]{1,30})|(\+?[0-9]{1,3}\*[0-9]{3}\*[0-9\*]{1,32}))$",
        // ISO: 2 + 1 + 3 + 1 + 1 + 30 = 38; DIN: 1 + 3 + 1 + 3 + 1 + 32 = 41.
        max_len: 41,
        check: matches_evse_id,
        expected: "ISO form like DE*AB7*E840*6487 or DIN form like +49*810*000*438",
    }
}
format_insensitive!(EvseId);

impl EvseId {
    /// Whether this is a DIN-form `EvseID` (`+49*810*000*438`, country
    /// calling code instead of an alpha-2 country code), oicp-2.3.md §5.1.
    #[must_use]
    pub fn is_din(&self) -> bool {
        !self.0.as_bytes()[0].is_ascii_alphabetic()
    }

    /// The `OperatorID` this `EvseID` belongs to, as spelled
    /// (oicp-2.3.md §5.1): `DE*AB7*E840*6487` gives `DE*AB7`,
    /// `DEAB7E8406487` gives `DEAB7`, and the DIN form `+49*810*000*438`
    /// gives `+49*810`.
    #[must_use]
    pub fn operator_id(&self) -> OperatorId {
        let end = if self.is_din() {
            // `\+?[0-9]{1,3}\*[0-9]{3}`: the first `*` plus three digits.
            self.0.find('*').map_or(self.0.len(), |star| star + 4)
        } else {
            iso_prefix_len(&self.0)
        };
        OperatorId(self.0[..end].to_owned())
    }

    /// The spelling we emit when we originate this `EvseID` (oicp-2.3.md
    /// §5.1 recommendation, erratum E17): upper case, ISO form with `*`
    /// after the country code and the operator part
    /// (`deab7E8406487` gives `DE*AB7*E8406487`; `*` inside the outlet part
    /// is kept as spelled). DIN IDs are returned unchanged.
    #[must_use]
    pub fn normalized(&self) -> String {
        if self.is_din() {
            self.0.clone()
        } else {
            normalized_iso(&self.0, '*')
        }
    }
}

id_newtype! {
    /// OICP 2.3 `OperatorIDType`, oicp-2.3.md §5.1: the ID of a CPO, in ISO
    /// form (`DE*A36`, `DEA36`) or DIN form (`+49*536`).
    ///
    /// Equality, hashing and ordering are format-insensitive, on
    /// [`OperatorId::canonical`]: `DE*GEF == DEGEF == de*gef`, and
    /// `+49*810 == 49*810`.
    pub struct OperatorId {
        kind: "OperatorID",
        pattern: r"^(([A-Za-z]{2}\*?[A-Za-z0-9]{3})|(\+?[0-9]{1,3}\*[0-9]{3}))$",
        // ISO: 2 + 1 + 3 = 6; DIN: 1 + 3 + 1 + 3 = 8.
        max_len: 8,
        check: matches_operator_id,
        expected: "ISO form like DE*A36 or DIN form like +49*536",
    }
}
format_insensitive!(OperatorId);

impl OperatorId {
    /// Whether this is a DIN-form `OperatorID` (`+49*536`), oicp-2.3.md §5.1.
    #[must_use]
    pub fn is_din(&self) -> bool {
        !self.0.as_bytes()[0].is_ascii_alphabetic()
    }

    /// The ISO 3166-1 alpha-2 country code as spelled (`DE` for `DE*A36`),
    /// or `None` for the DIN form (oicp-2.3.md §5.1).
    #[must_use]
    pub fn country_code(&self) -> Option<&str> {
        (!self.is_din()).then(|| split_iso(&self.0).0)
    }

    /// The three characters after the country code and the optional `*`, as
    /// spelled (`A36` for `DE*A36`), or `None` for the DIN form
    /// (oicp-2.3.md §5.1).
    #[must_use]
    pub fn party_id(&self) -> Option<&str> {
        (!self.is_din()).then(|| split_iso(&self.0).1)
    }

    /// The spelling we emit when we originate this `OperatorID` (oicp-2.3.md
    /// §5.1 recommendation): upper case ISO form with `*` (`dea36` gives
    /// `DE*A36`); DIN IDs are returned unchanged.
    #[must_use]
    pub fn normalized(&self) -> String {
        if self.is_din() {
            self.0.clone()
        } else {
            normalized_iso(&self.0, '*')
        }
    }
}

id_newtype! {
    /// OICP 2.3 `ChargingPoolID`, oicp-2.3.md §5.1 (`IT*123*P456*AB789`).
    ///
    /// S2 publishes the pattern unanchored; like S3 we anchor it.
    /// Equality, hashing and ordering are format-insensitive, on
    /// [`ChargingPoolId::canonical`].
    pub struct ChargingPoolId {
        kind: "ChargingPoolID",
        pattern: r"^[A-Za-z]{2}\*?[A-Za-z0-9]{3}\*?P[A-Za-z0-9\*]{1,30}$",
        // 2 + 1 + 3 + 1 + 1 + 30.
        max_len: 38,
        check: matches_charging_pool_id,
        expected: "form like IT*123*P456*AB789",
    }
}
format_insensitive!(ChargingPoolId);

impl ChargingPoolId {
    /// The `OperatorID` prefix of this pool ID, as spelled
    /// (`IT*123*P456*AB789` gives `IT*123`), oicp-2.3.md §5.1.
    #[must_use]
    pub fn operator_id(&self) -> OperatorId {
        OperatorId(self.0[..iso_prefix_len(&self.0)].to_owned())
    }

    /// The spelling we emit when we originate this `ChargingPoolID`
    /// (oicp-2.3.md §5.1 recommendation): upper case with `*` after the
    /// country code and the operator part (`it123P456` gives `IT*123*P456`).
    #[must_use]
    pub fn normalized(&self) -> String {
        normalized_iso(&self.0, '*')
    }
}

// ---------------------------------------------------------------------------
// ProviderID, ProviderIDAsterisk, EvcoID
// ---------------------------------------------------------------------------

id_newtype! {
    /// OICP 2.3 `ProviderIDType`, oicp-2.3.md §5.1: the ID of an EMP
    /// (`DE8EO`, `DE-8EO`, `DE*8EO`).
    ///
    /// The published class `[\*|-]` also admits `|` (§5.1 regex defects);
    /// it is accepted and compares as a separator. Equality, hashing and
    /// ordering are format-insensitive, on [`ProviderId::canonical`]:
    /// `DE-GDF == DE*GDF == DEGDF`.
    pub struct ProviderId {
        kind: "ProviderID",
        pattern: r"^([A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$",
        max_len: 6,
        check: regex,
        expected: "two letters, an optional '-' or '*' and three letters or digits, like DE-8EO",
    }
}
format_insensitive!(ProviderId);

impl ProviderId {
    /// The ISO 3166-1 alpha-2 country code as spelled (`DE` for `DE-8EO`),
    /// oicp-2.3.md §5.1.
    #[must_use]
    pub fn country_code(&self) -> &str {
        split_iso(&self.0).0
    }

    /// The three characters after the country code and the optional
    /// separator, as spelled (`8EO` for `DE-8EO`), oicp-2.3.md §5.1.
    #[must_use]
    pub fn party_id(&self) -> &str {
        split_iso(&self.0).1
    }

    /// The spelling we emit when we originate this `ProviderID` (oicp-2.3.md
    /// §5.1): upper case ISO form with `-` (`DE*8EO` gives `DE-8EO`).
    #[must_use]
    pub fn normalized(&self) -> String {
        normalized_iso(&self.0, '-')
    }
}

/// Hint for [`ProviderIdOrAll`] format errors.
const PROVIDER_OR_ALL_EXPECTED: &str =
    "'*' or two letters, an optional '-' or '*' and three letters or digits, like DE-8EO";

/// OICP 2.3 `ProviderIDAsterisk` (the `ProviderID` of an `EVSEPricing`
/// entry), oicp-2.3.md §3.6 and §5.1: a `ProviderID`, or `*` for a price
/// offered to all providers.
///
/// Serialises to `"*"` or to the provider's ID as spelled. S2 publishes the
/// pattern as `^(…)|\*$`, whose alternatives are only half anchored; we
/// anchor the whole alternation ([`ProviderIdOrAll::PATTERN`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProviderIdOrAll {
    /// `*`: the offer applies to every provider.
    All,
    /// The offer applies to this provider only.
    Provider(ProviderId),
}

impl ProviderIdOrAll {
    /// The OICP 2.3 name used in [`IdError`]: `ProviderID` (oicp-2.3.md §5.1).
    pub const KIND: &str = ProviderId::KIND;

    /// The anchored pattern of `ProviderIDAsterisk` (oicp-2.3.md §5.1).
    pub const PATTERN: &str =
        r"^(\*|[A-Za-z]{2}\-?[A-Za-z0-9]{3}|[A-Za-z]{2}[\*|-]?[A-Za-z0-9]{3})$";

    /// The most characters a `ProviderIDAsterisk` can have (oicp-2.3.md §5.1).
    pub const MAX_LEN: usize = ProviderId::MAX_LEN;

    /// Parses `*` or an OICP 2.3 `ProviderID` (oicp-2.3.md §5.1).
    ///
    /// # Errors
    ///
    /// As [`ProviderId::parse`], with a hint that mentions `*`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s == "*" {
            Ok(Self::All)
        } else {
            ProviderId::parse(s).map(Self::Provider).map_err(Self::hint)
        }
    }

    /// Replaces the `ProviderID` hint by one that mentions `*`.
    fn hint(err: IdError) -> IdError {
        match err {
            IdError::InvalidFormat { kind, value, .. } => IdError::InvalidFormat {
                kind,
                value,
                expected: PROVIDER_OR_ALL_EXPECTED,
            },
            other => other,
        }
    }

    /// `*` or the provider's ID as spelled (oicp-2.3.md §5.1).
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::All => "*",
            Self::Provider(id) => id.as_str(),
        }
    }

    /// Whether this is `*` (oicp-2.3.md §3.6).
    #[must_use]
    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }

    /// Whether an offer for this value applies to `provider` (oicp-2.3.md
    /// §3.6): always for `*`, otherwise on format-insensitive equality.
    #[must_use]
    pub fn matches(&self, provider: &ProviderId) -> bool {
        match self {
            Self::All => true,
            Self::Provider(id) => id == provider,
        }
    }
}

impl From<ProviderId> for ProviderIdOrAll {
    fn from(id: ProviderId) -> Self {
        Self::Provider(id)
    }
}

impl FromStr for ProviderIdOrAll {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ProviderIdOrAll {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s == "*" {
            Ok(Self::All)
        } else {
            ProviderId::try_from(s)
                .map(Self::Provider)
                .map_err(Self::hint)
        }
    }
}

impl TryFrom<&str> for ProviderIdOrAll {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for ProviderIdOrAll {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ProviderIdOrAll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ProviderIdOrAll> for String {
    fn from(id: ProviderIdOrAll) -> Self {
        match id {
            ProviderIdOrAll::All => "*".to_owned(),
            ProviderIdOrAll::Provider(id) => id.into(),
        }
    }
}

id_newtype! {
    /// OICP 2.3 `EvcoIDType` (eMAID), oicp-2.3.md §5.1: a contract ID in ISO
    /// form (`DE-8EO-CAet5e4XY-3`, `DE8EOCAet5e4XY3`) or DIN form
    /// (`DE*8EO*Aet5e4*3`, `DE-8EO-Aet5e4-3`, `DE8EOAet5e43`).
    ///
    /// The published `\d` is spelled `0-9` (ASCII digits, as in the Java
    /// and JavaScript engines the pattern was written for), and the
    /// published classes `[\*|\-]`, `[\d|X]` and `[\d|A-Za-z]` also admit
    /// `|` (§5.1 regex defects); it is accepted. Equality, hashing and
    /// ordering are format-insensitive, on [`EvcoId::canonical`].
    pub struct EvcoId {
        kind: "EvcoID",
        pattern: r"^(([A-Za-z]{2}\-?[A-Za-z0-9]{3}\-?C[A-Za-z0-9]{8}\-?[0-9|A-Za-z])|([A-Za-z]{2}[\*|\-]?[A-Za-z0-9]{3}[\*|\-]?[A-Za-z0-9]{6}[\*|\-]?[0-9|X]))$",
        // ISO: 2 + 1 + 3 + 1 + 9 + 1 + 1 = 18; DIN: 2 + 1 + 3 + 1 + 6 + 1 + 1 = 15.
        max_len: 18,
        check: regex,
        expected: "ISO form like DE-8EO-CAet5e4XY-3 or DIN form like DE*8EO*Aet5e4*3",
    }
}
format_insensitive!(EvcoId);

/// Canonical length of a DIN-form `EvcoID`: 2 + 3 + 6 + 1 (ISO has 15).
const EVCO_DIN_CANONICAL_LEN: usize = 12;

impl EvcoId {
    /// Whether this is a DIN SPEC 91286 form `EvcoID` (`DE*8EO*Aet5e4*3`,
    /// 12 characters without separators) rather than the ISO 15118 form
    /// (15 characters), oicp-2.3.md §5.1.
    #[must_use]
    pub fn is_din(&self) -> bool {
        canonical_bytes(&self.0).count() == EVCO_DIN_CANONICAL_LEN
    }

    /// The `ProviderID` this contract belongs to, as spelled (oicp-2.3.md
    /// §5.1): `DE-8EO-CAet5e4XY-3` gives `DE-8EO`, `DE*8EO*Aet5e4*3` gives
    /// `DE*8EO`, `DE8EOAet5e43` gives `DE8EO`.
    #[must_use]
    pub fn provider_id(&self) -> ProviderId {
        ProviderId(self.0[..iso_prefix_len(&self.0)].to_owned())
    }

    /// The spelling we emit when we originate this `EvcoID` (oicp-2.3.md
    /// §5.1): upper case with `-` separators, in the same form (ISO or DIN)
    /// as received. `DE8EOCAet5e4XY3` gives `DE-8EO-CAET5E4XY-3`;
    /// `DE*8EO*Aet5e4*3` gives `DE-8EO-AET5E4-3`.
    #[must_use]
    pub fn normalized(&self) -> String {
        let canonical = self.canonical();
        let check = canonical.len() - 1;
        let mut out = String::with_capacity(canonical.len() + 3);
        out.push_str(&canonical[..2]);
        out.push('-');
        out.push_str(&canonical[2..5]);
        out.push('-');
        out.push_str(&canonical[5..check]);
        out.push('-');
        out.push_str(&canonical[check..]);
        out
    }
}

// ---------------------------------------------------------------------------
// UID, SessionID, partner session IDs
// ---------------------------------------------------------------------------

id_newtype! {
    /// OICP 2.3 `UID` of `RFIDMifareFamilyIdentification` /
    /// `RFIDIdentification`, oicp-2.3.md §5.1: a 4-, 7- or 10-byte RFID UID
    /// as 8, 14 or 20 upper-case hex digits (`7568290FFF765F`).
    ///
    /// The spec's own examples `AFFH1768` and `12345ABCD` are invalid.
    /// Equality is plain string equality.
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Uid {
        kind: "UID",
        pattern: r"^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$",
        max_len: 20,
        check: regex,
        expected: "8, 14 or 20 upper-case hex digits",
    }
}

id_newtype! {
    /// OICP 2.3 `SessionIDType`, oicp-2.3.md §5.1: a GUID-shaped session ID
    /// (`b2688855-7f00-0002-6d8e-48d883f6abb6`).
    ///
    /// The pattern admits any letters, not only hex digits, so this is
    /// deliberately not parsed as a UUID (style.md §3.2 item 9). Equality is
    /// plain string equality; see [`SessionId::eq_ignore_ascii_case`].
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct SessionId {
        kind: "SessionID",
        pattern: r"^[A-Za-z0-9]{8}(-[A-Za-z0-9]{4}){3}-[A-Za-z0-9]{12}$",
        max_len: 36,
        check: regex,
        expected: "GUID form like b2688855-7f00-0002-6d8e-48d883f6abb6",
    }
}

impl SessionId {
    /// A lower-case UUID version 4 `SessionID` made from 16 random bytes
    /// (oicp-2.3.md §5.1: "Generate lower-case `UUIDv4`"). The version and
    /// variant bits are set here; the caller supplies the randomness.
    #[must_use]
    pub fn new_v4_from_bytes(mut bytes: [u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        Self(s)
    }

    /// Whether both `SessionID`s are equal ignoring ASCII case, for peers
    /// that change the case of GUIDs (oicp-2.3.md §5.1).
    #[must_use]
    pub fn eq_ignore_ascii_case(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

id_newtype! {
    /// OICP 2.3 `CPOPartnerSessionID`, oicp-2.3.md §3.1 and §5.1: a free
    /// string of 1 to 250 characters chosen by the CPO.
    ///
    /// Any characters are accepted; [`CpoPartnerSessionId::PATTERN`]
    /// describes exactly that (it is not used for validation).
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct CpoPartnerSessionId {
        kind: "CPOPartnerSessionID",
        pattern: r"^(?s:.){1,250}$",
        max_len: 250,
        check: any,
        expected: "1 to 250 characters",
    }
}

id_newtype! {
    /// OICP 2.3 `EMPPartnerSessionID`, oicp-2.3.md §3.1 and §5.1 (spelled
    /// `EMPPartnerSessionId` in S2, erratum E5): a free string of 1 to 250
    /// characters chosen by the EMP.
    ///
    /// Any characters are accepted; [`EmpPartnerSessionId::PATTERN`]
    /// describes exactly that (it is not used for validation).
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct EmpPartnerSessionId {
        kind: "EMPPartnerSessionID",
        pattern: r"^(?s:.){1,250}$",
        max_len: 250,
        check: any,
        expected: "1 to 250 characters",
    }
}

// ---------------------------------------------------------------------------
// Other formatted strings
// ---------------------------------------------------------------------------

id_newtype! {
    /// OICP 2.3 `PhoneNumber` (e.g. `HotlinePhoneNumber`), oicp-2.3.md
    /// §4.1 and §5.1: `+` and 5 to 15 digits (`+0305132787`).
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct PhoneNumber {
        kind: "PhoneNumber",
        pattern: r"^\+[0-9]{5,15}$",
        max_len: 16,
        check: matches_phone_number,
        expected: "'+' followed by 5 to 15 digits, like +0305132787",
    }
}

id_newtype! {
    /// OICP 2.3 `HashValue` (`HashedPIN.Value`), oicp-2.3.md §4.2 and §5.1:
    /// 10 to 100 characters of `0-9A-Za-z.+/=$`.
    ///
    /// This is the CPO/S2/S3 pattern. The S1 EMP document's stricter
    /// `^[0-9A-Za-z]{10,100}$` would reject bcrypt hashes, so the looser one
    /// is accepted. S2's YAML doubles the backslashes (which would also
    /// admit `\`); S3's JSON shows the intended class, used here.
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct HashValue {
        kind: "HashValue",
        pattern: r"^[0-9A-Za-z\.+/=\$]{10,100}$",
        max_len: 100,
        check: regex,
        expected: "10 to 100 characters of A-Z, a-z, 0-9, '.', '+', '/', '=' and '$'",
    }
}

id_newtype! {
    /// OICP 2.3 `LanguageCode` (`InfoText.lang`), oicp-2.3.md §4.2 and
    /// §5.1: ISO 639-1 or 639-2/T, optionally with region, script and
    /// private-use suffix (`en`, `eng`, `de-DE`).
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct LanguageCode {
        kind: "LanguageCode",
        pattern: r"^[a-z]{2,3}(?:-[A-Z]{2,3}(?:-[a-zA-Z]{4})?)?(?:-x-[a-zA-Z0-9]{1,8})?$",
        // 3 + 4 + 5 + 11.
        max_len: 23,
        check: matches_language_code,
        expected: "lower-case ISO 639 code with optional region, like en, eng or de-DE",
    }
}

id_newtype! {
    /// OICP 2.3 `CountryCode` (e.g. `Address.Country`, the `CountryCodes`
    /// filter), oicp-2.3.md §3.4 and §5.1: ISO 3166-1 alpha-3 in upper case
    /// (`DEU`). Not to be confused with the alpha-2 prefix of an
    /// `OperatorID`.
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct CountryCode {
        kind: "CountryCode",
        pattern: r"^[A-Z]{3}$",
        max_len: 3,
        check: matches_country_code,
        expected: "three upper-case letters (ISO 3166-1 alpha-3), like DEU",
    }
}

id_newtype! {
    /// OICP 2.3 `ProductID` (e.g. `PartnerProductID`), oicp-2.3.md §4.3 and
    /// §3.6: a free string such as `Standard Price`, `AC1`, `AC3`, `DC` or
    /// `AC 1`.
    ///
    /// The spec says at most 50 characters, but the HBS pattern (S3) is
    /// `.{0,100}`; we accept 1 to 100 characters of any kind so that nothing
    /// the HBS forwards is rejected. [`ProductId::PATTERN`] describes that
    /// (it is not used for validation).
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct ProductId {
        kind: "ProductID",
        pattern: r"^(?s:.){1,100}$",
        max_len: 100,
        check: any,
        expected: "1 to 100 characters",
    }
}

id_newtype! {
    /// OICP 2.3 `TimeZone` (`Address.TimeZone`), oicp-2.3.md §4.2 and §5.1:
    /// a UTC offset like `UTC+01:00`.
    ///
    /// The published class `[+,-]` also admits a comma (`UTC,01:00`); it is
    /// accepted as published, and [`TimeZone::offset_minutes`] gives `None`
    /// for it.
    #[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct TimeZone {
        kind: "TimeZone",
        pattern: r"^UTC[+,-][0-9]{2}:[0-9]{2}$",
        max_len: 9,
        check: regex,
        expected: "UTC offset like UTC+01:00",
    }
}

impl TimeZone {
    /// The offset from UTC in minutes (`UTC+01:00` gives 60, `UTC-05:30`
    /// gives -330), oicp-2.3.md §4.2.
    ///
    /// `None` for the comma form that the published pattern admits, and for
    /// offsets the pattern admits but no clock uses: more than 23 hours or
    /// more than 59 minutes.
    #[must_use]
    pub fn offset_minutes(&self) -> Option<i32> {
        let b = self.0.as_bytes();
        let sign = match b[3] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digit = |i: usize| i32::from(b[i] - b'0');
        let hours = digit(4) * 10 + digit(5);
        let minutes = digit(7) * 10 + digit(8);
        (hours <= 23 && minutes <= 59).then_some(sign * (hours * 60 + minutes))
    }
}

#[cfg(test)]
mod matcher_tests {
    use super::*;
    use proptest::prelude::*;

    fn regex_of(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap()
    }

    /// Strings matching an anchored pattern (proptest cannot generate from anchors).
    fn unanchored(pattern: &str) -> impl Strategy<Value = String> + use<> {
        let inner = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap();
        proptest::string::string_regex(inner).unwrap()
    }

    /// Strings over the characters the patterns care about, of the lengths around theirs.
    fn near_ids() -> impl Strategy<Value = String> {
        proptest::string::string_regex(r"[A-Ea-c0-9E*+\-|]{0,44}").unwrap()
    }

    proptest! {
        #[test]
        fn evse_matcher_agrees_with_the_spec_regex(s in near_ids()) {
            prop_assert_eq!(matches_evse_id(&s), regex_of(EvseId::PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn evse_matcher_accepts_generated_ids(s in unanchored(EvseId::PATTERN)) {
            prop_assert!(matches_evse_id(&s), "{}", s);
        }

        #[test]
        fn operator_matcher_agrees_with_the_spec_regex(s in near_ids()) {
            prop_assert_eq!(matches_operator_id(&s), regex_of(OperatorId::PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn operator_matcher_accepts_generated_ids(s in unanchored(OperatorId::PATTERN)) {
            prop_assert!(matches_operator_id(&s), "{}", s);
        }
    }

    #[test]
    fn matchers_on_edge_cases() {
        for s in [
            "DE*AB7*E840*6487",
            "DEAB7E8406487",
            "+49*810*000*438",
            "49*810*0",
            "de*ab7*E1",
            "DE*AB7E1",
        ] {
            assert!(matches_evse_id(s), "{s}");
        }
        for s in [
            "",
            "DE*AB7*e1",
            "DE*AB7*E",
            "DE**AB7*E1",
            "+49*81*000*438",
            "+1234*810*0",
            "DE*AB7*E1-",
        ] {
            assert!(!matches_evse_id(s), "{s}");
            assert_eq!(
                matches_evse_id(s),
                regex_of(EvseId::PATTERN).is_match(s),
                "{s}"
            );
        }
        for s in ["DE*GEF", "DEGEF", "+49*536", "1*536"] {
            assert!(matches_operator_id(s), "{s}");
        }
        for s in ["DE*GE", "DE-GEF", "+49*5366", "DE*GEF*", "*49*536"] {
            assert!(!matches_operator_id(s), "{s}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};
    use std::hash::{BuildHasher, RandomState};

    use proptest::prelude::*;
    use proptest::string::string_regex;

    use super::*;

    /// A proptest strategy for strings matching an anchored `PATTERN`
    /// (proptest cannot generate from anchors).
    fn generator(pattern: &str) -> impl Strategy<Value = String> + use<> {
        let inner = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap();
        string_regex(inner).unwrap()
    }

    fn hash_of<T: Hash>(state: &RandomState, value: &T) -> u64 {
        state.hash_one(value)
    }

    fn assert_same_id<T: Hash + Ord + fmt::Debug>(a: &T, b: &T) {
        let state = RandomState::new();
        assert_eq!(a, b);
        assert_eq!(a.cmp(b), Ordering::Equal);
        assert_eq!(hash_of(&state, a), hash_of(&state, b), "{a:?} vs {b:?}");
    }

    // --- IdError -----------------------------------------------------------

    #[test]
    fn error_messages_name_the_kind() {
        assert_eq!(
            EvseId::parse("").unwrap_err().to_string(),
            "EvseID must not be empty"
        );
        assert_eq!(
            Uid::parse("12345ABCD").unwrap_err().to_string(),
            "'12345ABCD' is not a valid UID: 8, 14 or 20 upper-case hex digits"
        );
        assert_eq!(
            CpoPartnerSessionId::parse(&"x".repeat(251))
                .unwrap_err()
                .to_string(),
            "CPOPartnerSessionID is 251 characters long, at most 250 allowed"
        );
        assert_eq!(
            EvseId::parse("DE*ICE*I01000*6").unwrap_err(),
            IdError::InvalidFormat {
                kind: "EvseID",
                value: "DE*ICE*I01000*6".to_owned(),
                expected: "ISO form like DE*AB7*E840*6487 or DIN form like +49*810*000*438",
            }
        );
        assert_eq!(SessionId::parse("string").unwrap_err().kind(), "SessionID");
        assert_eq!(
            EmpPartnerSessionId::parse("").unwrap_err().kind(),
            "EMPPartnerSessionID"
        );
    }

    #[test]
    fn too_long_is_reported_before_the_format() {
        assert_eq!(
            Uid::parse("not a uid at all, far too long").unwrap_err(),
            IdError::TooLong {
                kind: "UID",
                max: 20,
                len: 30
            }
        );
        // Characters, not bytes, are counted.
        assert!(ProductId::parse(&"ä".repeat(100)).is_ok());
        assert_eq!(
            ProductId::parse(&"ä".repeat(101)).unwrap_err(),
            IdError::TooLong {
                kind: "ProductID",
                max: 100,
                len: 101
            }
        );
    }

    #[test]
    fn patterns_compile_and_max_len_examples_parse() {
        // (pattern, longest example, its length): the longest example of
        // each type has MAX_LEN characters, and one more does not match.
        let longest: &[(&str, &str, usize)] = &[
            (
                EvseId::PATTERN,
                &format!("DE*AB7*E{}", "1".repeat(30)),
                38, // the longest ISO form; DIN is longer
            ),
            (
                EvseId::PATTERN,
                &format!("+491*810*{}", "1".repeat(32)),
                EvseId::MAX_LEN,
            ),
            (OperatorId::PATTERN, "+491*810", OperatorId::MAX_LEN),
            (
                ChargingPoolId::PATTERN,
                &format!("IT*123*P{}", "*".repeat(30)),
                ChargingPoolId::MAX_LEN,
            ),
            (ProviderId::PATTERN, "DE|8EO", ProviderId::MAX_LEN),
            (ProviderIdOrAll::PATTERN, "DE-8EO", ProviderIdOrAll::MAX_LEN),
            (EvcoId::PATTERN, "DE-8EO-CAet5e4XY-3", EvcoId::MAX_LEN),
            (Uid::PATTERN, "0123456789ABCDEF0123", Uid::MAX_LEN),
            (
                SessionId::PATTERN,
                "b2688855-7f00-0002-6d8e-48d883f6abb6",
                SessionId::MAX_LEN,
            ),
            (
                PhoneNumber::PATTERN,
                "+012345678901234",
                PhoneNumber::MAX_LEN,
            ),
            (HashValue::PATTERN, &"$".repeat(100), HashValue::MAX_LEN),
            (
                LanguageCode::PATTERN,
                "zho-CHN-Hans-x-abcdefgh",
                LanguageCode::MAX_LEN,
            ),
            (CountryCode::PATTERN, "DEU", CountryCode::MAX_LEN),
            (TimeZone::PATTERN, "UTC+01:00", TimeZone::MAX_LEN),
            (
                CpoPartnerSessionId::PATTERN,
                &"x".repeat(250),
                CpoPartnerSessionId::MAX_LEN,
            ),
            (
                EmpPartnerSessionId::PATTERN,
                &"x".repeat(250),
                EmpPartnerSessionId::MAX_LEN,
            ),
            (ProductId::PATTERN, &"x".repeat(100), ProductId::MAX_LEN),
        ];
        for &(pattern, example, len) in longest {
            let re = Regex::new(pattern).unwrap();
            assert!(re.is_match(example), "{pattern} vs {example}");
            assert_eq!(example.chars().count(), len, "{example}");
            let longer = format!("{example}0");
            assert!(!re.is_match(&longer), "{pattern} vs {longer}");
        }
    }

    // --- EvseID ------------------------------------------------------------

    #[test]
    fn evse_id_examples() {
        for ok in [
            "DE*AB7*E840*6487",
            "DEAB7E8406487",
            "+49*810*000*438",
            "49*810*000*438",
            "DE*XYZ*ETEST1",
            "de*ab7*E840*6487", // S2 lower case, erratum E17
            "DE*AB7E1",
        ] {
            assert_eq!(EvseId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "DE*ICE*I01000*6", // S5 remote stop: an EvcoID-shaped EvseID
            "DE*AB7*e840",     // the E marker is upper case in every source
            "DE**AB7*E1",
            "DE*AB7*E",
            "+49*810",
            "+49*81*000",
            "+4912*810*000",
            "D*AB7*E1",
            " DE*AB7*E1",
            "DE*AB7*E1 ",
            "DE*AB7*E1\n",
            "string",
        ] {
            assert!(
                matches!(
                    EvseId::parse(bad),
                    Err(IdError::InvalidFormat { kind: "EvseID", .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            EvseId::parse(&format!("DE*AB7*E{}", "1".repeat(40))),
            Err(IdError::TooLong {
                kind: "EvseID",
                max: 41,
                len: 48
            })
        ));
    }

    #[test]
    fn evse_id_operator_id_and_din() {
        let cases = [
            ("DE*AB7*E840*6487", "DE*AB7", false),
            ("DEAB7E8406487", "DEAB7", false),
            ("DE*AB7E8406487", "DE*AB7", false),
            ("deAB7*E8406487", "deAB7", false),
            ("+49*810*000*438", "+49*810", true),
            ("49*810*000*438", "49*810", true),
            ("+1*234*5", "+1*234", true),
        ];
        for (evse, operator, din) in cases {
            let evse = EvseId::parse(evse).unwrap();
            assert_eq!(evse.operator_id().as_str(), operator);
            assert_eq!(evse.is_din(), din);
            assert_eq!(evse.operator_id().is_din(), din);
            OperatorId::parse(evse.operator_id().as_str()).unwrap();
        }
    }

    #[test]
    fn evse_id_canonical_and_normalized() {
        let a = EvseId::parse("DE*AB7*E840*6487").unwrap();
        let b = EvseId::parse("deab7E8406487").unwrap();
        assert_eq!(a.canonical(), "DEAB7E8406487");
        assert_same_id(&a, &b);
        assert_eq!(b.normalized(), "DE*AB7*E8406487");
        assert_eq!(a.normalized(), "DE*AB7*E840*6487");
        let din = EvseId::parse("+49*810*000*438").unwrap();
        assert_eq!(din.canonical(), "49810000438");
        assert_eq!(din.normalized(), "+49*810*000*438");
        assert_same_id(&din, &EvseId::parse("49*810*000*438").unwrap());
        assert_ne!(a, EvseId::parse("DE*AB7*E840*6488").unwrap());
    }

    // --- OperatorID --------------------------------------------------------

    #[test]
    fn operator_id_examples() {
        for ok in ["DE*A36", "DEA36", "+49*536", "49*536", "de*a36", "DE*ABC"] {
            assert_eq!(OperatorId::parse(ok).unwrap().to_string(), ok);
        }
        for bad in [
            "DE*A3",
            "DEU*A36",
            "DE-A36",
            "+1234*536",
            "49536",
            "+49*53",
            "DE*A36*",
        ] {
            assert!(OperatorId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn operator_id_parts() {
        let iso = OperatorId::parse("de*A36").unwrap();
        assert_eq!(iso.country_code(), Some("de"));
        assert_eq!(iso.party_id(), Some("A36"));
        assert_eq!(iso.normalized(), "DE*A36");
        let compact = OperatorId::parse("DEA36").unwrap();
        assert_eq!(compact.country_code(), Some("DE"));
        assert_eq!(compact.party_id(), Some("A36"));
        assert_eq!(compact.normalized(), "DE*A36");
        let din = OperatorId::parse("+49*536").unwrap();
        assert_eq!(din.country_code(), None);
        assert_eq!(din.party_id(), None);
        assert_eq!(din.normalized(), "+49*536");
    }

    #[test]
    fn operator_id_canonical_equality_from_the_issue() {
        let spellings = ["DE*GEF", "DEGEF", "de*gef", "De*gEf"];
        let ids: Vec<OperatorId> = spellings.iter().map(|s| s.parse().unwrap()).collect();
        for id in &ids {
            assert_eq!(id.canonical(), "DEGEF");
            assert_same_id(id, &ids[0]);
        }
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1);
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 1);
        // Spelling survives.
        assert_eq!(ids[2].as_str(), "de*gef");
        let din = OperatorId::parse("+49*810").unwrap();
        assert_eq!(din.canonical(), "49810");
        assert_same_id(&din, &OperatorId::parse("49*810").unwrap());
        assert_ne!(ids[0], OperatorId::parse("DE*GEG").unwrap());
        assert!(ids[0] < OperatorId::parse("DE*GEG").unwrap());
    }

    // --- ChargingPoolID ----------------------------------------------------

    #[test]
    fn charging_pool_id_examples() {
        for ok in [
            "IT*123*P456*AB789",
            "IT123P456",
            "DE*ABC*P1234TEST*1",
            "it*abc*P1",
        ] {
            ChargingPoolId::parse(ok).unwrap();
        }
        for bad in [
            "IT*123*E456",
            "IT*123*p456",
            "IT*123*P",
            "xIT*123*P1",
            "IT*123*P1x-",
        ] {
            assert!(ChargingPoolId::parse(bad).is_err(), "{bad}");
        }
        let pool = ChargingPoolId::parse("it123P456").unwrap();
        assert_eq!(pool.normalized(), "IT*123*P456");
        assert_eq!(pool.canonical(), "IT123P456");
        assert_eq!(pool.operator_id().as_str(), "it123");
        assert_same_id(&pool, &ChargingPoolId::parse("IT*123*P456").unwrap());
    }

    // --- ProviderID / ProviderIDAsterisk ------------------------------------

    #[test]
    fn provider_id_examples() {
        for ok in ["DE8EO", "DE-8EO", "DE*8EO", "de-8eo", "DE-DCB", "DE|8EO"] {
            assert_eq!(ProviderId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "DE--8EO", "DE_8EO", "D-8EO", "DE-8EO1", "DE-8E", "*", "DEU-8EO",
        ] {
            assert!(ProviderId::parse(bad).is_err(), "{bad}");
        }
        let p = ProviderId::parse("de*8Eo").unwrap();
        assert_eq!(p.country_code(), "de");
        assert_eq!(p.party_id(), "8Eo");
        assert_eq!(p.normalized(), "DE-8EO");
        let compact = ProviderId::parse("DE8EO").unwrap();
        assert_eq!(compact.country_code(), "DE");
        assert_eq!(compact.party_id(), "8EO");
        assert_eq!(compact.normalized(), "DE-8EO");
    }

    #[test]
    fn provider_id_canonical_equality_from_the_issue() {
        let ids: Vec<ProviderId> = ["DE-GDF", "DE*GDF", "DEGDF", "de-gdf", "DE|GDF"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for id in &ids {
            assert_eq!(id.canonical(), "DEGDF");
            assert_same_id(id, &ids[0]);
        }
        assert_ne!(ids[0], ProviderId::parse("DE-GDE").unwrap());
    }

    #[test]
    fn provider_id_or_all() {
        let all = ProviderIdOrAll::parse("*").unwrap();
        assert_eq!(all, ProviderIdOrAll::All);
        assert!(all.is_all());
        let one: ProviderIdOrAll = "DE-DCB".parse().unwrap();
        assert_eq!(
            one,
            ProviderIdOrAll::Provider(ProviderId::parse("DE-DCB").unwrap())
        );
        assert_eq!(one.as_str(), "DE-DCB");
        assert!(!one.is_all());

        let dcb = ProviderId::parse("DE*DCB").unwrap();
        let dcn = ProviderId::parse("DE-DCN").unwrap();
        assert!(all.matches(&dcb));
        assert!(one.matches(&dcb));
        assert!(!one.matches(&dcn));

        assert_eq!(serde_json::to_string(&all).unwrap(), r#""*""#);
        assert_eq!(serde_json::to_string(&one).unwrap(), r#""DE-DCB""#);
        assert_eq!(
            serde_json::from_str::<ProviderIdOrAll>(r#""*""#).unwrap(),
            ProviderIdOrAll::All
        );
        assert_eq!(
            serde_json::from_str::<ProviderIdOrAll>(r#""de8eo""#)
                .unwrap()
                .as_str(),
            "de8eo"
        );
        assert_eq!(String::from(all.clone()), "*");
        assert_eq!(ProviderIdOrAll::try_from("*".to_owned()).unwrap(), all);
        assert_eq!(ProviderIdOrAll::from(dcb.clone()), one);

        let err = ProviderIdOrAll::parse("**").unwrap_err();
        assert_eq!(err.kind(), "ProviderID");
        assert!(err.to_string().contains("'*' or"), "{err}");
        assert!(matches!(
            ProviderIdOrAll::parse(""),
            Err(IdError::Empty { kind: "ProviderID" })
        ));
        assert!(ProviderIdOrAll::try_from("DE-8EO-".to_owned()).is_err());
    }

    // --- EvcoID ------------------------------------------------------------

    #[test]
    fn evco_id_examples() {
        let cases = [
            ("DE-8EO-CAet5e4XY-3", false, "DE-8EO", "DE-8EO-CAET5E4XY-3"),
            ("DE8EOCAet5e4XY3", false, "DE8EO", "DE-8EO-CAET5E4XY-3"),
            ("DE-DCB-C12345678-X", false, "DE-DCB", "DE-DCB-C12345678-X"),
            ("DE*8EO*Aet5e4*3", true, "DE*8EO", "DE-8EO-AET5E4-3"),
            ("DE-8EO-Aet5e4-3", true, "DE-8EO", "DE-8EO-AET5E4-3"),
            ("DE8EOAet5e43", true, "DE8EO", "DE-8EO-AET5E4-3"),
            ("DE|8EO|Aet5e4|X", true, "DE|8EO", "DE-8EO-AET5E4-X"),
            ("DE8EOAet5e4|", true, "DE8EO", "DE-8EO-AET5E4-|"),
        ];
        for (s, din, provider, normalized) in cases {
            let id = EvcoId::parse(s).unwrap();
            assert_eq!(id.as_str(), s);
            assert_eq!(id.is_din(), din, "{s}");
            assert_eq!(id.provider_id().as_str(), provider);
            ProviderId::parse(id.provider_id().as_str()).unwrap();
            assert_eq!(id.normalized(), normalized);
            assert_same_id(&id, &EvcoId::parse(&id.normalized()).unwrap());
        }
        for bad in [
            "string",
            "DE-8EO-Aet5e4-Y", // the DIN check character is a digit or X
            "DE8EOCAet5e4XY",  // 14 characters
            "DE*8EO*CAet5e4XY*3",
            "DE-8EO-cAet5e4XY-3",
            "DE-8EO-CAet5e4XY-٣", // Arabic-Indic digit: \d is ASCII here
            "DE8EOAet5e4٣",
        ] {
            assert!(EvcoId::parse(bad).is_err(), "{bad}");
        }
        assert_same_id(
            &EvcoId::parse("DE*8EO*Aet5e4*3").unwrap(),
            &EvcoId::parse("de-8eo-AET5E43").unwrap(),
        );
        assert_ne!(
            EvcoId::parse("DE8EOAet5e4|").unwrap(),
            EvcoId::parse("DE8EOAet5e43").unwrap()
        );
    }

    // --- UID, SessionID, partner session IDs -----------------------------

    #[test]
    fn uid_examples() {
        for ok in [
            "1234ABCD",
            "AFFE1768",
            "7568290FFF765F",
            "0123456789ABCDEF0123",
        ] {
            Uid::parse(ok).unwrap();
        }
        for bad in [
            "12345ABCD",
            "AFFH1768",
            "1234abcd",
            "1234ABC",
            "0123456789ABCDEF",
            "",
        ] {
            assert!(Uid::parse(bad).is_err(), "{bad}");
        }
        assert_ne!(
            Uid::parse("1234ABCD").unwrap(),
            Uid::parse("1234ABCE").unwrap()
        );
    }

    #[test]
    fn session_id_examples() {
        for ok in [
            "b2688855-7f00-0002-6d8e-48d883f6abb6",
            "f98efba4-02d8-4fa0-b810-9a9d50d2c527",
            "ZZZZZZZZ-zzzz-yyyy-xxxx-wwwwwwwwwwww", // not hex-restricted
        ] {
            SessionId::parse(ok).unwrap();
        }
        for bad in [
            "string",
            "b2688855-7f00-0002-6d8e",
            "{b2688855-7f00-0002-6d8e-48d883f6abb6}",
            "b2688855_7f00_0002_6d8e_48d883f6abb6",
            "b2688855-7f00-0002-6d8e-48d883f6abb6 ",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
        let lower = SessionId::parse("b2688855-7f00-0002-6d8e-48d883f6abb6").unwrap();
        let upper = SessionId::parse("B2688855-7F00-0002-6D8E-48D883F6ABB6").unwrap();
        assert_ne!(lower, upper);
        assert!(lower.eq_ignore_ascii_case(&upper));
    }

    #[test]
    fn session_id_v4_from_bytes() {
        let zero = SessionId::new_v4_from_bytes([0; 16]);
        assert_eq!(zero.as_str(), "00000000-0000-4000-8000-000000000000");
        let ones = SessionId::new_v4_from_bytes([0xff; 16]);
        assert_eq!(ones.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let seq =
            SessionId::new_v4_from_bytes(core::array::from_fn(|i| u8::try_from(i * 17).unwrap()));
        assert_eq!(seq.as_str(), "00112233-4455-4677-8899-aabbccddeeff");
        SessionId::parse(seq.as_str()).unwrap();
    }

    #[test]
    fn partner_session_ids_are_free_strings() {
        for ok in ["x", "AB 12/34 ä", "  ", &"z".repeat(250)] {
            CpoPartnerSessionId::parse(ok).unwrap();
            EmpPartnerSessionId::parse(ok).unwrap();
        }
        assert!(matches!(
            CpoPartnerSessionId::parse(""),
            Err(IdError::Empty {
                kind: "CPOPartnerSessionID"
            })
        ));
        assert!(matches!(
            EmpPartnerSessionId::try_from("€".repeat(251)),
            Err(IdError::TooLong {
                kind: "EMPPartnerSessionID",
                max: 250,
                len: 251
            })
        ));
    }

    // --- Other formatted strings ------------------------------------------

    #[test]
    fn phone_number_examples() {
        for ok in ["+0305132787", "+49123123123123", "+12345"] {
            PhoneNumber::parse(ok).unwrap();
        }
        for bad in [
            "0305132787",
            "+1234",
            "+49 30 5132787",
            "+0123456789012345",
            "++49123",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_value_examples() {
        for ok in ["$2a$10$abcdefghijk/+.=", "0123456789", "YWJjZGVmZ2hpams="] {
            HashValue::parse(ok).unwrap();
        }
        for bad in [
            "012345678",
            "abc\\defghijkl",
            "abc defghijkl",
            "abc-defghijkl",
        ] {
            assert!(HashValue::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn language_code_examples() {
        for ok in [
            "en",
            "eng",
            "de-DE",
            "zh-CHN-Hans",
            "en-x-custom1",
            "de-AT-x-a",
        ] {
            LanguageCode::parse(ok).unwrap();
        }
        for bad in ["EN", "e", "engl", "de_DE", "de-de", "de-DE-Latn1", "en-x-"] {
            assert!(LanguageCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn country_code_examples() {
        CountryCode::parse("DEU").unwrap();
        for bad in ["deu", "DE", "DEUT", "Deu", "D3U"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn product_id_examples() {
        for ok in [
            "Standard Price",
            "AC1",
            "AC3",
            "DC",
            "AC 1",
            "Free",
            &"p".repeat(100),
        ] {
            ProductId::parse(ok).unwrap();
        }
        assert!(matches!(
            ProductId::parse(""),
            Err(IdError::Empty { kind: "ProductID" })
        ));
        assert!(matches!(
            ProductId::parse(&"p".repeat(101)),
            Err(IdError::TooLong {
                kind: "ProductID",
                max: 100,
                len: 101
            })
        ));
    }

    #[test]
    fn time_zone_examples() {
        let cases = [
            ("UTC+01:00", Some(60)),
            ("UTC-05:30", Some(-330)),
            ("UTC+00:00", Some(0)),
            ("UTC-00:00", Some(0)),
            ("UTC+14:00", Some(840)),
            ("UTC,01:00", None), // admitted by the published `[+,-]`
            ("UTC+24:00", None),
            ("UTC+01:60", None),
        ];
        for (s, minutes) in cases {
            assert_eq!(TimeZone::parse(s).unwrap().offset_minutes(), minutes, "{s}");
        }
        for bad in [
            "UTC+1:00",
            "GMT+01:00",
            "UTC+0100",
            "utc+01:00",
            "UTC 01:00",
            "UTC+01:00Z",
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
    }

    // --- Conversions and serde ---------------------------------------------

    #[test]
    fn conversions_keep_the_spelling() {
        let s = "de*ab7*E840*6487";
        let from_str: EvseId = s.parse().unwrap();
        let from_string = EvseId::try_from(s.to_owned()).unwrap();
        let from_ref = EvseId::try_from(s).unwrap();
        for id in [&from_str, &from_string, &from_ref] {
            assert_eq!(id.as_str(), s);
            assert_eq!(id.as_ref(), s);
            assert_eq!(id.to_string(), s);
        }
        assert_eq!(String::from(from_str), s);
    }

    #[test]
    fn serde_round_trip_keeps_the_spelling() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Record {
            #[serde(rename = "EvseID")]
            evse_id: EvseId,
            #[serde(rename = "OperatorID")]
            operator_id: OperatorId,
            #[serde(rename = "ProviderID")]
            provider_id: ProviderIdOrAll,
            #[serde(rename = "EvcoID")]
            evco_id: EvcoId,
            #[serde(rename = "SessionID")]
            session_id: SessionId,
            #[serde(rename = "TimeZone")]
            time_zone: TimeZone,
        }
        let json = r#"{"EvseID":"de*ab7*E840*6487","OperatorID":"DEAB7","ProviderID":"DE*8EO","EvcoID":"DE8EOCAet5e4XY3","SessionID":"b2688855-7f00-0002-6d8e-48d883f6abb6","TimeZone":"UTC,01:00"}"#;
        let record: Record = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), json);
        assert_eq!(record.evse_id.operator_id(), record.operator_id);
    }

    #[test]
    fn serde_errors_name_the_kind() {
        let err = serde_json::from_str::<EvseId>(r#""DE*ICE*I01000*6""#).unwrap_err();
        assert!(err.to_string().contains("not a valid EvseID"), "{err}");
        let err = serde_json::from_str::<Uid>(r#""12345ABCD""#).unwrap_err();
        assert!(err.to_string().contains("not a valid UID"), "{err}");
        let err = serde_json::from_str::<SessionId>(r#""""#).unwrap_err();
        assert!(
            err.to_string().contains("SessionID must not be empty"),
            "{err}"
        );
        assert!(serde_json::from_str::<SessionId>("42").is_err());
    }

    // --- Property tests ------------------------------------------------------

    /// For each type: generated strings parse, keep their spelling through
    /// `Display` and `FromStr`, and round-trip through JSON.
    macro_rules! round_trip_props {
        ($($test:ident: $ty:ty;)*) => {
            proptest! {
                $(
                    #[test]
                    fn $test(s in generator(<$ty>::PATTERN)) {
                        prop_assert!(s.chars().count() <= <$ty>::MAX_LEN);
                        let id = <$ty>::parse(&s).unwrap();
                        prop_assert_eq!(id.as_str(), s.as_str());
                        let shown = id.to_string();
                        prop_assert_eq!(&shown, &s);
                        let reparsed: $ty = shown.parse().unwrap();
                        prop_assert_eq!(reparsed.as_str(), s.as_str());
                        prop_assert_eq!(&reparsed, &id);
                        let json = serde_json::to_string(&id).unwrap();
                        let back: $ty = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(back.as_str(), s.as_str());
                        prop_assert_eq!(String::from(back), s);
                    }
                )*
            }
        };
    }

    round_trip_props! {
        prop_evse_id: EvseId;
        prop_operator_id: OperatorId;
        prop_charging_pool_id: ChargingPoolId;
        prop_provider_id: ProviderId;
        prop_provider_id_or_all: ProviderIdOrAll;
        prop_evco_id: EvcoId;
        prop_uid: Uid;
        prop_session_id: SessionId;
        prop_cpo_partner_session_id: CpoPartnerSessionId;
        prop_emp_partner_session_id: EmpPartnerSessionId;
        prop_phone_number: PhoneNumber;
        prop_hash_value: HashValue;
        prop_language_code: LanguageCode;
        prop_country_code: CountryCode;
        prop_product_id: ProductId;
        prop_time_zone: TimeZone;
    }

    /// Re-spells an ISO-style ID as `country sep1 party sep2 rest`.
    fn respell(s: &str, lower: bool, sep1: &str, sep2: &str) -> String {
        let (country, party, rest) = split_iso(s);
        let case = |p: &str| {
            if lower {
                p.to_ascii_lowercase()
            } else {
                p.to_ascii_uppercase()
            }
        };
        let sep2 = if rest.is_empty() { "" } else { sep2 };
        format!("{}{sep1}{}{sep2}{rest}", case(country), case(party))
    }

    proptest! {
        #[test]
        fn prop_evse_id_separators_and_case(
            s in generator(EvseId::PATTERN),
            lower: bool,
            sep1 in prop::sample::select(vec!["", "*"]),
            sep2 in prop::sample::select(vec!["", "*"]),
        ) {
            let id = EvseId::parse(&s).unwrap();
            let variant = if id.is_din() {
                s.strip_prefix('+').map_or_else(|| format!("+{s}"), str::to_owned)
            } else {
                respell(&s, lower, sep1, sep2)
            };
            let other = EvseId::parse(&variant).unwrap();
            assert_same_id(&id, &other);
            assert_same_id(&id, &EvseId::parse(&id.normalized()).unwrap());
            prop_assert_eq!(id.canonical(), other.canonical());
        }

        #[test]
        fn prop_evse_id_operator_id(s in generator(EvseId::PATTERN)) {
            let id = EvseId::parse(&s).unwrap();
            let operator = id.operator_id();
            let reparsed = OperatorId::parse(operator.as_str()).unwrap();
            prop_assert_eq!(&reparsed, &operator);
            prop_assert!(s.starts_with(operator.as_str()));
            if !id.is_din() {
                let first_five: String = id.canonical().chars().take(5).collect();
                prop_assert_eq!(operator.canonical(), first_five.clone());
                prop_assert_eq!(operator, OperatorId::parse(&first_five).unwrap());
            }
        }

        #[test]
        fn prop_operator_id_separators_and_case(
            s in generator(OperatorId::PATTERN),
            lower: bool,
            sep in prop::sample::select(vec!["", "*"]),
        ) {
            let id = OperatorId::parse(&s).unwrap();
            let variant = if id.is_din() {
                s.strip_prefix('+').map_or_else(|| format!("+{s}"), str::to_owned)
            } else {
                respell(&s, lower, sep, "")
            };
            assert_same_id(&id, &OperatorId::parse(&variant).unwrap());
            assert_same_id(&id, &OperatorId::parse(&id.normalized()).unwrap());
        }

        #[test]
        fn prop_charging_pool_id_separators_and_case(
            s in generator(ChargingPoolId::PATTERN),
            lower: bool,
            sep1 in prop::sample::select(vec!["", "*"]),
            sep2 in prop::sample::select(vec!["", "*"]),
        ) {
            let id = ChargingPoolId::parse(&s).unwrap();
            let other = ChargingPoolId::parse(&respell(&s, lower, sep1, sep2)).unwrap();
            assert_same_id(&id, &other);
            assert_same_id(&id, &ChargingPoolId::parse(&id.normalized()).unwrap());
            let operator = id.operator_id();
            prop_assert_eq!(operator, other.operator_id());
        }

        #[test]
        fn prop_provider_id_separators_and_case(
            s in generator(ProviderId::PATTERN),
            lower: bool,
            sep in prop::sample::select(vec!["", "*", "-", "|"]),
        ) {
            let id = ProviderId::parse(&s).unwrap();
            assert_same_id(&id, &ProviderId::parse(&respell(&s, lower, sep, "")).unwrap());
            let normalized = id.normalized();
            prop_assert_eq!(normalized.len(), 6);
            assert_same_id(&id, &ProviderId::parse(&normalized).unwrap());
        }

        #[test]
        fn prop_evco_id_separators_and_case(
            s in generator(EvcoId::PATTERN),
            lower: bool,
            seps in prop::array::uniform3(prop::sample::select(vec!["", "*", "-", "|"])),
        ) {
            let id = EvcoId::parse(&s).unwrap();
            let c = id.canonical();
            let check = c.len() - 1;
            let case = |p: &str| if lower { p.to_ascii_lowercase() } else { p.to_owned() };
            // ISO allows only `-`, DIN `*`, `-` and `|`.
            let seps = seps.map(|sep| if id.is_din() || sep.is_empty() { sep } else { "-" });
            let instance = if id.is_din() {
                case(&c[5..check])
            } else {
                format!("C{}", case(&c[6..check]))
            };
            let variant = format!(
                "{}{}{}{}{instance}{}{}",
                case(&c[..2]), seps[0], case(&c[2..5]), seps[1], seps[2], &c[check..]
            );
            let other = EvcoId::parse(&variant).unwrap();
            assert_same_id(&id, &other);
            prop_assert_eq!(id.is_din(), other.is_din());
            assert_same_id(&id, &EvcoId::parse(&id.normalized()).unwrap());
            prop_assert_eq!(id.provider_id(), other.provider_id());
            ProviderId::parse(id.provider_id().as_str()).unwrap();
        }

        #[test]
        fn prop_canonical_order_agrees_with_eq(
            a in generator(EvseId::PATTERN),
            b in generator(EvseId::PATTERN),
        ) {
            let (a, b) = (EvseId::parse(&a).unwrap(), EvseId::parse(&b).unwrap());
            prop_assert_eq!(a == b, a.cmp(&b) == Ordering::Equal);
            prop_assert_eq!(a == b, a.canonical() == b.canonical());
            prop_assert_eq!(a.cmp(&b), a.canonical().cmp(&b.canonical()));
        }

        #[test]
        fn prop_pattern_agrees_with_parse(s in "[A-Za-z0-9*|+\\-]{0,20}") {
            fn agree<T>(pattern: &str, parsed: &Result<T, IdError>, s: &str) -> bool {
                Regex::new(pattern).unwrap().is_match(s) == parsed.is_ok()
            }
            prop_assert!(agree(EvseId::PATTERN, &EvseId::parse(&s), &s));
            prop_assert!(agree(OperatorId::PATTERN, &OperatorId::parse(&s), &s));
            prop_assert!(agree(ChargingPoolId::PATTERN, &ChargingPoolId::parse(&s), &s));
            prop_assert!(agree(ProviderId::PATTERN, &ProviderId::parse(&s), &s));
            prop_assert!(agree(ProviderIdOrAll::PATTERN, &ProviderIdOrAll::parse(&s), &s));
            prop_assert!(agree(EvcoId::PATTERN, &EvcoId::parse(&s), &s));
            prop_assert!(agree(Uid::PATTERN, &Uid::parse(&s), &s));
            prop_assert!(agree(CpoPartnerSessionId::PATTERN, &CpoPartnerSessionId::parse(&s), &s));
        }

        #[test]
        fn prop_hand_matchers_agree_with_patterns(
            s in "[a-zA-Z0-9+x\\-]{0,24}",
            lang in generator(LanguageCode::PATTERN),
            phone in generator(PhoneNumber::PATTERN),
            pool in generator(ChargingPoolId::PATTERN),
        ) {
            fn agree<T>(pattern: &str, parsed: &Result<T, IdError>, s: &str) -> bool {
                Regex::new(pattern).unwrap().is_match(s) == parsed.is_ok()
            }
            for s in [&s, &lang, &phone, &pool] {
                prop_assert!(agree(LanguageCode::PATTERN, &LanguageCode::parse(s), s), "{s}");
                prop_assert!(agree(PhoneNumber::PATTERN, &PhoneNumber::parse(s), s), "{s}");
                prop_assert!(agree(CountryCode::PATTERN, &CountryCode::parse(s), s), "{s}");
                prop_assert!(agree(ChargingPoolId::PATTERN, &ChargingPoolId::parse(s), s), "{s}");
            }
            prop_assert!(LanguageCode::parse(&lang).is_ok());
            prop_assert!(PhoneNumber::parse(&phone).is_ok());
            prop_assert!(ChargingPoolId::parse(&pool).is_ok());
        }

        #[test]
        fn prop_session_id_v4(bytes: [u8; 16]) {
            let id = SessionId::new_v4_from_bytes(bytes);
            let reparsed = SessionId::parse(id.as_str()).unwrap();
            prop_assert_eq!(&reparsed, &id);
            let s = id.as_str();
            prop_assert_eq!(&s[14..15], "4");
            prop_assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
            prop_assert_eq!(s.to_ascii_lowercase(), s);
        }
    }
}
