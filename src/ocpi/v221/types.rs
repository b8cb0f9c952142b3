//! Shared OCPI 2.2.1 types (ocpi-2.2.1.md §1.6 and the supporting classes of §5): scalars with
//! the spec's rules built in, and the classes used by several modules.
//!
//! # Decisions
//! * **`DateTime`** ([`DateTime`]) accepts exactly the shapes §1.6 lists: `YYYY-MM-DDTHH:MM:SS`,
//!   optionally with a fraction of 1 to 9 digits, optionally followed by `Z`; no designator means
//!   UTC. Any offset is refused, `+00:00` included (the spec says it is not the same as UTC).
//!   The `string(25)` length is not enforced on input, so a fraction in micro- or nanoseconds
//!   is accepted. The received text is kept and written back unchanged (hubs must not touch
//!   `last_updated`, §1.11); equality and order are by instant. Values we create
//!   ([`DateTime::from_utc`]) are written `YYYY-MM-DDTHH:MM:SSZ`, with `.fff` (milliseconds,
//!   truncated) only when there is a fraction: at most 24 characters.
//! * **`number`** ([`Number`]) is a `rust_decimal` (never `f64` for money or energy), read from
//!   a JSON number only (a numeric string is a type error in OCPI, unlike OICP) and written as a
//!   JSON integer when whole, else as a decimal: `2.00` comes back as `2`. "4 decimals" (§1.6)
//!   is formatting advice and not checked.
//! * **`string(n)`** ([`OcpiString`]) counts characters, not bytes, and refuses control
//!   characters (line breaks, tabs), which the spec calls non-printable (§1.6).
//! * **`int`** is `i64` (a JSON integer; `2.0` is refused). Where the spec bounds it, a
//!   [`OcpiInt`]: `weekday` 1..=7, `int(5)` image sizes 0..=99999.
//! * **`GeoLocation`** coordinates must match the spec regexes and lie within ±90/±180. The
//!   regexes admit one character more than `string(10)`/`string(11)` (`-12.1234567`); the
//!   regex wins, so the length is not checked separately.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::{CiString, GroupId, TextError, TokenUid};
use super::locations::{EnergySourceCategory, EnvironmentalImpactCategory, ImageCategory, Status};
use super::tokens::TokenType;
use super::{Validate, Validator, each_opt, no_cross_member_rules};
use crate::wire_struct;

/// Compiles one of the literal patterns of this module.
#[expect(
    clippy::expect_used,
    reason = "the patterns are string literals, each compiled by the unit tests"
)]
fn compile(pattern: &'static str) -> Regex {
    Regex::new(pattern).expect("the OCPI patterns are valid regexes")
}

const DATE_TIME_PATTERN: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z?$";
/// The patterns of [`Coordinate`] and [`TimeOfDay`]: checked by [`matches_coordinate`] and
/// [`matches_time_of_day`] without a regex (issue 6: each record's coordinates and opening
/// times went through them); the tests prove they accept the same strings.
#[cfg(test)]
const LATITUDE_PATTERN: &str = r"^-?[0-9]{1,2}\.[0-9]{5,7}$";
#[cfg(test)]
const LONGITUDE_PATTERN: &str = r"^-?[0-9]{1,3}\.[0-9]{5,7}$";
#[cfg(test)]
const TIME_PATTERN: &str = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$";
const DATE_PATTERN: &str = r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

static DATE_TIME_RE: LazyLock<Regex> = LazyLock::new(|| compile(DATE_TIME_PATTERN));

/// `-?[0-9]{1,int_digits}\.[0-9]{5,7}`: the latitude (`int_digits` 2) and longitude (3)
/// patterns.
fn matches_coordinate(s: &str, int_digits: usize) -> bool {
    let b = s.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let Some(dot) = b.iter().position(|c| *c == b'.') else {
        return false;
    };
    let (int, frac) = (&b[..dot], &b[dot + 1..]);
    (1..=int_digits).contains(&int.len())
        && (5..=7).contains(&frac.len())
        && int.iter().chain(frac).all(u8::is_ascii_digit)
}

/// `([0-1][0-9]|2[0-3]):[0-5][0-9]`.
fn matches_time_of_day(s: &str) -> bool {
    match s.as_bytes() {
        [h1, h2, b':', m1, m2] => {
            let hour_ok = match h1 {
                b'0' | b'1' => h2.is_ascii_digit(),
                b'2' => (b'0'..=b'3').contains(h2),
                _ => false,
            };
            hour_ok && (b'0'..=b'5').contains(m1) && m2.is_ascii_digit()
        }
        _ => false,
    }
}
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| compile(DATE_PATTERN));

/// Appends the last `width` decimal digits of `n`, with leading zeros (`n` below
/// `10^width`: `{n:0width$}` without the formatter).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for k in (0..width).rev() {
        let digit = n / 10u32.pow(k) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
    }
}

/// Deserializes a string and hands it to `parse`.
fn deserialize_with<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(String) -> Result<T, TextError>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let s = String::deserialize(deserializer)?;
    parse(s).map_err(de::Error::custom)
}

// ---------------------------------------------------------------------------------------------
// string(n)

/// `string(N)`: case-sensitive UTF-8 text of at most `N` characters without control characters
/// (ocpi-2.2.1.md §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OcpiString<const N: usize>(String);

/// `URL`: a `string(255)` (ocpi-2.2.1.md §1.6). Its syntax is not checked.
pub type Url = OcpiString<255>;

impl<const N: usize> OcpiString<N> {
    /// The most characters allowed.
    pub const MAX_LEN: usize = N;

    /// Parses a `string(N)`.
    ///
    /// # Errors
    /// [`TextError::TooLong`] or [`TextError::ControlCharacter`].
    pub fn parse(s: &str) -> Result<Self, TextError> {
        Self::try_from(s.to_owned())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> TryFrom<String> for OcpiString<N> {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let kind = "string";
        if let Some((position, found)) = s.chars().enumerate().find(|(_, c)| c.is_control()) {
            return Err(TextError::ControlCharacter {
                kind,
                position,
                found,
            });
        }
        // A string never has more characters than bytes: only count when it matters.
        if s.len() > N {
            let len = s.chars().count();
            if len > N {
                return Err(TextError::TooLong { kind, max: N, len });
            }
        }
        Ok(Self(s))
    }
}

impl<const N: usize> TryFrom<&str> for OcpiString<N> {
    type Error = TextError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl<const N: usize> FromStr for OcpiString<N> {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<const N: usize> AsRef<str> for OcpiString<N> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> fmt::Display for OcpiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> From<OcpiString<N>> for String {
    fn from(s: OcpiString<N>) -> Self {
        s.0
    }
}

impl<const N: usize> Serialize for OcpiString<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const N: usize> Deserialize<'de> for OcpiString<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, Self::try_from)
    }
}

// ---------------------------------------------------------------------------------------------
// DateTime

/// `DateTime`: an instant in UTC in the shapes of ocpi-2.2.1.md §1.6; see the module docs for
/// what is accepted and written.
#[derive(Debug, Clone)]
pub struct DateTime {
    raw: String,
    value: chrono::DateTime<chrono::Utc>,
}

impl DateTime {
    const EXPECTED: &'static str = "RFC 3339 in UTC, e.g. 2015-06-29T20:39:09Z or \
                                    2015-06-29T20:39:09.123 (no offset, not even +00:00)";

    /// Parses an OCPI `DateTime`, keeping its spelling.
    ///
    /// # Errors
    /// [`TextError::InvalidFormat`] for any other shape (offsets included) or a date or time
    /// that does not exist.
    pub fn parse(s: &str) -> Result<Self, TextError> {
        let invalid = || TextError::InvalidFormat {
            kind: "DateTime",
            value: s.to_owned(),
            expected: Self::EXPECTED,
        };
        if !DATE_TIME_RE.is_match(s) {
            return Err(invalid());
        }
        let body = s.strip_suffix('Z').unwrap_or(s);
        let naive = chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(|_| invalid())?;
        Ok(Self {
            raw: s.to_owned(),
            value: naive.and_utc(),
        })
    }

    /// A date-time we create, written `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
    ///
    /// Years 0 to 9999 outside a leap second (every real case) are written digit by digit, the
    /// rest with `chrono`'s `format`, which gives the same text for them but costs more than
    /// the rest of mapping a record's date (issue 6; tested against `format`).
    pub fn from_utc(value: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::{Datelike, Timelike};
        let millis = value.nanosecond() / 1_000_000 % 1000;
        if (0..=9999).contains(&value.year()) && value.nanosecond() < 1_000_000_000 {
            let mut raw = String::with_capacity(24);
            let year = value.year().unsigned_abs();
            push_digits(&mut raw, year / 100, 2);
            push_digits(&mut raw, year % 100, 2);
            for (sep, n) in [
                ('-', value.month()),
                ('-', value.day()),
                ('T', value.hour()),
                (':', value.minute()),
                (':', value.second()),
            ] {
                raw.push(sep);
                push_digits(&mut raw, n, 2);
            }
            if value.nanosecond() != 0 {
                raw.push('.');
                push_digits(&mut raw, millis, 3);
            }
            raw.push('Z');
            return Self { raw, value };
        }
        let seconds = value.format("%Y-%m-%dT%H:%M:%S");
        let raw = if value.nanosecond() == 0 {
            format!("{seconds}Z")
        } else {
            format!("{seconds}.{millis:03}Z")
        };
        Self { raw, value }
    }

    /// The instant.
    pub fn value(&self) -> chrono::DateTime<chrono::Utc> {
        self.value
    }

    /// The text as received (or as created by [`from_utc`](Self::from_utc)).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// This instant in the form we write, e.g. to normalize a partner's spelling.
    #[must_use]
    pub fn normalized(&self) -> Self {
        Self::from_utc(self.value)
    }
}

crate::raw_instant_impls!(DateTime);

impl FromStr for DateTime {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, |s| Self::parse(&s))
    }
}

// ---------------------------------------------------------------------------------------------
// number and int

/// `number` (ocpi-2.2.1.md §1.6): a decimal read from a JSON number, for money, energy, time
/// and power. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Number(pub rust_decimal::Decimal);

impl Number {
    /// The value.
    pub fn value(self) -> rust_decimal::Decimal {
        self.0
    }

    /// Whether the value is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl From<rust_decimal::Decimal> for Number {
    fn from(d: rust_decimal::Decimal) -> Self {
        Self(d)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Self(v.into())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        let d = self.0.normalize();
        if d.scale() == 0
            && let Some(i) = d.to_i64()
        {
            return serializer.serialize_i64(i);
        }
        // A decimal with few digits converts to the nearest double, which serde_json prints in
        // its shortest form: 0.0006 stays 0.0006.
        match d.to_f64() {
            Some(f) => serializer.serialize_f64(f),
            None => Err(serde::ser::Error::custom("number out of range")),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                if !v.is_finite() {
                    return Err(E::custom("a number must be finite"));
                }
                // Through the shortest decimal text of the double, which is the text the
                // sender wrote (serde_json parsed the double from it).
                let text = v.to_string();
                rust_decimal::Decimal::from_str(&text)
                    .or_else(|_| rust_decimal::Decimal::from_scientific(&text))
                    .map(Number)
                    .map_err(|_| E::custom(format!("{text} is out of the supported range")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// An `int` the spec bounds to `MIN..=MAX`, read from a JSON integer only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OcpiInt<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> OcpiInt<MIN, MAX> {
    /// Checks the range.
    ///
    /// # Errors
    /// A message naming the range.
    pub fn new(v: i64) -> Result<Self, String> {
        if (MIN..=MAX).contains(&v) {
            Ok(Self(v))
        } else {
            Err(format!("{v} is out of range {MIN}..={MAX}"))
        }
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const MIN: i64, const MAX: i64> fmt::Display for OcpiInt<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<const MIN: i64, const MAX: i64> Serialize for OcpiInt<MIN, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for OcpiInt<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(deserializer)?;
        Self::new(v).map_err(de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Local time of day and date (Hours, TariffRestrictions)

/// A local time of day `HH:MM` in 24h format with leading zeros, regex
/// `([0-1][0-9]|2[0-3]):[0-5][0-9]` (ocpi-2.2.1.md §5 `RegularHours`, `TariffRestrictions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOfDay {
    minutes: u16,
    raw: String,
}

impl TimeOfDay {
    /// Parses `HH:MM`.
    ///
    /// # Errors
    /// [`TextError::InvalidFormat`] for anything else (`24:00` included).
    pub fn parse(s: &str) -> Result<Self, TextError> {
        let invalid = || TextError::InvalidFormat {
            kind: "time of day",
            value: s.to_owned(),
            expected: "HH:MM in 24h format with leading zeros, 00:00 to 23:59",
        };
        if !matches_time_of_day(s) {
            return Err(invalid());
        }
        let hours: u16 = s[..2].parse().map_err(|_| invalid())?;
        let minutes: u16 = s[3..].parse().map_err(|_| invalid())?;
        Ok(Self {
            minutes: hours * 60 + minutes,
            raw: s.to_owned(),
        })
    }

    /// Minutes since midnight.
    pub fn minutes(&self) -> u16 {
        self.minutes
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, |s| Self::parse(&s))
    }
}

/// A local date `YYYY-MM-DD`, regex `([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])`
/// (ocpi-2.2.1.md §5 `TariffRestrictions`). Only the regex is checked, as in the spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(String);

impl Date {
    /// Parses `YYYY-MM-DD`.
    ///
    /// # Errors
    /// [`TextError::InvalidFormat`] when the regex does not match.
    pub fn parse(s: &str) -> Result<Self, TextError> {
        if DATE_RE.is_match(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(TextError::InvalidFormat {
                kind: "date",
                value: s.to_owned(),
                expected: "YYYY-MM-DD, e.g. 2015-12-24",
            })
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, |s| Self::parse(&s))
    }
}

// ---------------------------------------------------------------------------------------------
// Coordinates

/// One WGS 84 coordinate in decimal degrees as a string, within ±`LIMIT` degrees
/// (ocpi-2.2.1.md §5 `GeoLocation`): a latitude (`LIMIT` 90, regex `-?[0-9]{1,2}\.[0-9]{5,7}`)
/// or a longitude (`LIMIT` 180, regex `-?[0-9]{1,3}\.[0-9]{5,7}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Coordinate<const LIMIT: u16> {
    raw: String,
    value: f64,
}

/// A `GeoLocation.latitude`.
pub type Latitude = Coordinate<90>;
/// A `GeoLocation.longitude`.
pub type Longitude = Coordinate<180>;

impl<const LIMIT: u16> Coordinate<LIMIT> {
    /// Parses and range-checks a coordinate, keeping its spelling.
    ///
    /// # Errors
    /// [`TextError::InvalidFormat`] when the regex does not match or the value is out of range.
    pub fn parse(s: &str) -> Result<Self, TextError> {
        let (kind, int_digits, expected, range) = if LIMIT == 90 {
            (
                "latitude",
                2,
                "decimal degrees with 5 to 7 decimals, e.g. 51.047599",
                "a latitude within -90..=90",
            )
        } else {
            (
                "longitude",
                3,
                "decimal degrees with 5 to 7 decimals, e.g. -126.104965",
                "a longitude within -180..=180",
            )
        };
        let invalid = |expected| TextError::InvalidFormat {
            kind,
            value: s.to_owned(),
            expected,
        };
        if !matches_coordinate(s, int_digits) {
            return Err(invalid(expected));
        }
        let value: f64 = s.parse().map_err(|_| invalid(expected))?;
        if value.abs() > f64::from(LIMIT) {
            return Err(invalid(range));
        }
        Ok(Self {
            raw: s.to_owned(),
            value,
        })
    }

    /// The value in degrees.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The text as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl<const LIMIT: u16> fmt::Display for Coordinate<LIMIT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl<const LIMIT: u16> Serialize for Coordinate<LIMIT> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de, const LIMIT: u16> Deserialize<'de> for Coordinate<LIMIT> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, |s| Self::parse(&s))
    }
}

// ---------------------------------------------------------------------------------------------
// Classes

wire_struct! {
    /// `Price` (ocpi-2.2.1.md §1.6, §5). Amounts may be negative (credit CDRs, §4.3).
    pub struct Price {
        /// Price or cost excluding VAT.
        req "excl_vat" => excl_vat: Number,
        /// Price or cost including VAT.
        opt "incl_vat" => incl_vat: Number,
    }
}

wire_struct! {
    /// `DisplayText` (ocpi-2.2.1.md §1.6, §5): a text in one language.
    pub struct DisplayText {
        /// ISO 639-1 language code, `string(2)`.
        req "language" => language: OcpiString<2>,
        /// The text, `string(512)`, no markup.
        req "text" => text: OcpiString<512>,
    }
}

wire_struct! {
    /// `GeoLocation` (ocpi-2.2.1.md §5): WGS 84 coordinates as strings.
    pub struct GeoLocation {
        /// Latitude in decimal degrees.
        req "latitude" => latitude: Latitude,
        /// Longitude in decimal degrees.
        req "longitude" => longitude: Longitude,
    }
}

wire_struct! {
    /// `AdditionalGeoLocation` (ocpi-2.2.1.md §5): another relevant point, e.g. an entrance.
    pub struct AdditionalGeoLocation {
        /// Latitude in decimal degrees.
        req "latitude" => latitude: Latitude,
        /// Longitude in decimal degrees.
        req "longitude" => longitude: Longitude,
        /// Name of the point.
        opt "name" => name: DisplayText,
    }
}

wire_struct! {
    /// `BusinessDetails` (ocpi-2.2.1.md §5): operator, sub-operator or owner of a Location.
    pub struct BusinessDetails {
        /// Name, `string(100)`.
        req "name" => name: OcpiString<100>,
        /// Website.
        opt "website" => website: Url,
        /// Logo.
        opt "logo" => logo: Image,
    }
}

wire_struct! {
    /// `Image` (ocpi-2.2.1.md §5): a link to an image.
    pub struct Image {
        /// Where the full image can be fetched.
        req "url" => url: Url,
        /// Where a thumbnail can be fetched.
        opt "thumbnail" => thumbnail: Url,
        /// What the image is used for.
        req "category" => category: ImageCategory,
        /// Image type such as `gif`, `jpeg`, `png`, `svg` (wire key `type`), `CiString(4)`.
        req "type" => image_type: CiString<4>,
        /// Width of the full image, `int(5)`.
        opt "width" => width: OcpiInt<0, 99_999>,
        /// Height of the full image, `int(5)`.
        opt "height" => height: OcpiInt<0, 99_999>,
    }
}

wire_struct! {
    /// `EnergyMix` (ocpi-2.2.1.md §5): energy mix and environmental impact of a Location or
    /// Tariff.
    pub struct EnergyMix {
        /// True when the energy is 100 % from regenerative sources.
        req "is_green_energy" => is_green_energy: bool,
        /// Share of each energy source.
        optlist "energy_sources" => energy_sources: EnergySource,
        /// Nuclear waste and CO2 per kWh.
        optlist "environ_impact" => environ_impact: EnvironmentalImpact,
        /// Energy supplier, `string(64)`.
        opt "supplier_name" => supplier_name: OcpiString<64>,
        /// The supplier's product or tariff, `string(64)`.
        opt "energy_product_name" => energy_product_name: OcpiString<64>,
    }
}

wire_struct! {
    /// `EnergySource` (ocpi-2.2.1.md §5): one source and its share.
    pub struct EnergySource {
        /// The kind of source.
        req "source" => source: EnergySourceCategory,
        /// Share in percent, 0 to 100.
        req "percentage" => percentage: Number,
    }
}

wire_struct! {
    /// `EnvironmentalImpact` (ocpi-2.2.1.md §5): one impact in g/kWh.
    pub struct EnvironmentalImpact {
        /// The kind of impact.
        req "category" => category: EnvironmentalImpactCategory,
        /// Amount in g/kWh.
        req "amount" => amount: Number,
    }
}

wire_struct! {
    /// `Hours` (ocpi-2.2.1.md §5): opening or access hours of a Location.
    pub struct Hours {
        /// Open 24/7 apart from the exceptions.
        req "twentyfourseven" => twentyfourseven: bool,
        /// Weekly hours; required (at least one) exactly when `twentyfourseven` is false.
        optlist "regular_hours" => regular_hours: RegularHours,
        /// Extra opening periods.
        optlist "exceptional_openings" => exceptional_openings: ExceptionalPeriod,
        /// Closing periods, overriding the others.
        optlist "exceptional_closings" => exceptional_closings: ExceptionalPeriod,
    }
}

wire_struct! {
    /// `RegularHours` (ocpi-2.2.1.md §5): one weekly period in local time.
    pub struct RegularHours {
        /// Day of the week, Monday 1 to Sunday 7.
        req "weekday" => weekday: OcpiInt<1, 7>,
        /// Begin, `HH:MM`.
        req "period_begin" => period_begin: TimeOfDay,
        /// End, `HH:MM`, later than the begin.
        req "period_end" => period_end: TimeOfDay,
    }
}

wire_struct! {
    /// `ExceptionalPeriod` (ocpi-2.2.1.md §5): a period in UTC.
    pub struct ExceptionalPeriod {
        /// Begin.
        req "period_begin" => period_begin: DateTime,
        /// End.
        req "period_end" => period_end: DateTime,
    }
}

wire_struct! {
    /// `StatusSchedule` (ocpi-2.2.1.md §5): a planned EVSE status, for information only.
    pub struct StatusSchedule {
        /// Begin of the period.
        req "period_begin" => period_begin: DateTime,
        /// End of the period, if known.
        opt "period_end" => period_end: DateTime,
        /// Status during the period.
        req "status" => status: Status,
    }
}

wire_struct! {
    /// `PublishTokenType` (ocpi-2.2.1.md §5): a token (or group) to which an unpublished
    /// Location is shown. At least one of `uid`, `visual_number`, `group_id`; `uid` needs
    /// `type`, `visual_number` needs `issuer`.
    pub struct PublishTokenType {
        /// Token uid.
        opt "uid" => uid: TokenUid,
        /// Token type (wire key `type`).
        opt "type" => token_type: TokenType,
        /// Number printed on the token, `string(64)`.
        opt "visual_number" => visual_number: OcpiString<64>,
        /// Issuing company, `string(64)`.
        opt "issuer" => issuer: OcpiString<64>,
        /// Token group.
        opt "group_id" => group_id: GroupId,
    }
}

impl Validate for EnergyMix {
    fn validate(&self, v: &mut Validator) {
        each_opt(v, "energy_sources", self.energy_sources.as_ref());
    }
}

impl Validate for EnergySource {
    /// ocpi-2.2.1.md §5 `EnergySource`: a percentage from 0 to 100.
    fn validate(&self, v: &mut Validator) {
        if self.percentage.is_negative()
            || self.percentage.value() > rust_decimal::Decimal::ONE_HUNDRED
        {
            v.error_at(
                "percentage",
                format!("percentage {} is out of range 0..=100", self.percentage),
            );
        }
    }
}

impl Validate for Hours {
    /// ocpi-2.2.1.md §5 `Hours`: `regular_hours` only when not 24/7, and then at least one.
    fn validate(&self, v: &mut Validator) {
        let regular = self.regular_hours.as_deref().unwrap_or_default();
        if self.twentyfourseven && !regular.is_empty() {
            v.error_at(
                "regular_hours",
                "regular_hours must not be given when twentyfourseven is true",
            );
        }
        if !self.twentyfourseven && regular.is_empty() {
            v.error_at(
                "regular_hours",
                "at least one RegularHours is required when twentyfourseven is false",
            );
        }
        each_opt(v, "regular_hours", self.regular_hours.as_ref());
    }
}

impl Validate for RegularHours {
    /// ocpi-2.2.1.md §5 `RegularHours`: the end is later than the begin.
    fn validate(&self, v: &mut Validator) {
        if self.period_end.minutes() <= self.period_begin.minutes() {
            v.error_at(
                "period_end",
                format!(
                    "period_end {} must be later than period_begin {}",
                    self.period_end, self.period_begin
                ),
            );
        }
    }
}

impl Validate for PublishTokenType {
    /// ocpi-2.2.1.md §5 `PublishTokenType`.
    fn validate(&self, v: &mut Validator) {
        if self.uid.is_none() && self.visual_number.is_none() && self.group_id.is_none() {
            v.error("at least one of uid, visual_number or group_id must be set");
        }
        if self.uid.is_some() && self.token_type.is_none() {
            v.error_at("type", "type is required when uid is set");
        }
        if self.visual_number.is_some() && self.issuer.is_none() {
            v.error_at("issuer", "issuer is required when visual_number is set");
        }
    }
}

impl Validate for BusinessDetails {
    fn validate(&self, v: &mut Validator) {
        v.nested_opt("logo", self.logo.as_ref());
    }
}

impl Validate for AdditionalGeoLocation {
    fn validate(&self, v: &mut Validator) {
        v.nested_opt("name", self.name.as_ref());
    }
}

no_cross_member_rules!(
    Price,
    DisplayText,
    GeoLocation,
    Image,
    EnvironmentalImpact,
    ExceptionalPeriod,
    StatusSchedule,
    DateTime,
    Number,
    TimeOfDay,
    Date,
);

impl<const N: usize> Validate for OcpiString<N> {
    fn validate(&self, _: &mut Validator) {}
}

impl<const MIN: i64, const MAX: i64> Validate for OcpiInt<MIN, MAX> {
    fn validate(&self, _: &mut Validator) {}
}

impl<const LIMIT: u16> Validate for Coordinate<LIMIT> {
    fn validate(&self, _: &mut Validator) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::parse;

    #[test]
    fn created_date_times_read_as_chrono_formats_them() {
        use chrono::TimeZone;
        let chrono_form = |v: chrono::DateTime<chrono::Utc>| {
            use chrono::Timelike;
            let seconds = v.format("%Y-%m-%dT%H:%M:%S");
            if v.nanosecond() == 0 {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{:03}Z", v.nanosecond() / 1_000_000 % 1000)
            }
        };
        let base = chrono::Utc.with_ymd_and_hms(2025, 3, 4, 5, 6, 7).unwrap();
        let cases = [
            base,
            base + chrono::Duration::milliseconds(9),
            base + chrono::Duration::nanoseconds(1),
            chrono::Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
                .unwrap()
                .and_utc(),
        ];
        for v in cases {
            assert_eq!(DateTime::from_utc(v).as_str(), chrono_form(v), "{v:?}");
        }
        assert_eq!(DateTime::from_utc(base).as_str(), "2025-03-04T05:06:07Z");
    }

    fn paths(errors: &[crate::ocpi::v221::ValidationError]) -> Vec<&str> {
        errors.iter().map(|e| e.path.as_str()).collect()
    }

    proptest::proptest! {
        #[test]
        fn hand_matchers_agree_with_the_patterns(
            s in "[-0-9.:a ]{0,12}",
            lat in "-?[0-9]{1,3}\\.[0-9]{4,8}",
            time in "[0-9]{2}:[0-9]{2}",
        ) {
            let lat_re = Regex::new(LATITUDE_PATTERN).unwrap();
            let lon_re = Regex::new(LONGITUDE_PATTERN).unwrap();
            let time_re = Regex::new(TIME_PATTERN).unwrap();
            for s in [&s, &lat, &time] {
                proptest::prop_assert_eq!(matches_coordinate(s, 2), lat_re.is_match(s), "{}", s);
                proptest::prop_assert_eq!(matches_coordinate(s, 3), lon_re.is_match(s), "{}", s);
                proptest::prop_assert_eq!(matches_time_of_day(s), time_re.is_match(s), "{}", s);
            }
        }
    }

    #[test]
    fn patterns_compile() {
        for p in [
            DATE_TIME_PATTERN,
            LATITUDE_PATTERN,
            LONGITUDE_PATTERN,
            TIME_PATTERN,
            DATE_PATTERN,
        ] {
            assert!(Regex::new(p).is_ok(), "{p}");
        }
    }

    #[test]
    fn date_time_accepts_the_spec_shapes_and_keeps_the_spelling() {
        for s in [
            "2015-06-29T20:39:09Z",
            "2015-06-29T20:39:09",
            "2016-12-29T17:45:09.2Z",
            "2016-12-29T17:45:09.2",
            "2018-01-01T01:08:01.123Z",
            "2018-01-01T01:08:01.123456",
        ] {
            let d = DateTime::parse(s).unwrap();
            assert_eq!(d.as_str(), s);
            assert_eq!(serde_json::to_value(&d).unwrap(), s);
        }
        assert_eq!(
            DateTime::parse("2015-06-29T20:39:09").unwrap(),
            DateTime::parse("2015-06-29T20:39:09.000Z").unwrap()
        );
        for s in [
            "2015-06-29T20:39:09+00:00",
            "2015-06-29T22:39:09+02:00",
            "2015-06-29 20:39:09Z",
            "2015-06-29t20:39:09z",
            "2015-06-29",
            "2015-02-30T20:39:09Z",
            "2015-06-29T24:39:09Z",
        ] {
            let err = DateTime::parse(s).unwrap_err();
            assert!(err.to_string().contains("UTC"), "{s}: {err}");
        }
    }

    #[test]
    fn date_time_we_create_is_utc_with_z_and_at_most_millis() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2024, 3, 1, 8, 5, 9).unwrap();
        assert_eq!(DateTime::from_utc(t).as_str(), "2024-03-01T08:05:09Z");
        let t = t + chrono::Duration::microseconds(123_456);
        let d = DateTime::from_utc(t);
        assert_eq!(d.as_str(), "2024-03-01T08:05:09.123Z");
        assert!(d.as_str().len() <= 25);
        assert_eq!(
            DateTime::parse("2015-06-29T20:39:09")
                .unwrap()
                .normalized()
                .as_str(),
            "2015-06-29T20:39:09Z"
        );
    }

    #[test]
    fn number_is_a_json_number_only() {
        let n: Number = serde_json::from_str("2.00").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "2");
        let n: Number = serde_json::from_str("0.0006").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "0.0006");
        let n: Number = serde_json::from_str("-4.40").unwrap();
        assert!(n.is_negative());
        assert_eq!(serde_json::to_string(&n).unwrap(), "-4.4");
        assert!(!Number::from(0).is_negative());
        let err = serde_json::from_str::<Number>("\"2.5\"").unwrap_err();
        assert!(err.to_string().contains("a JSON number"), "{err}");
    }

    #[test]
    fn int_is_strict_and_bounded() {
        assert_eq!(serde_json::from_str::<OcpiInt<1, 7>>("7").unwrap().get(), 7);
        assert!(serde_json::from_str::<OcpiInt<1, 7>>("8").is_err());
        assert!(serde_json::from_str::<OcpiInt<1, 7>>("0").is_err());
        assert!(serde_json::from_str::<OcpiInt<1, 7>>("1.0").is_err());
        assert!(serde_json::from_str::<OcpiInt<1, 7>>("\"1\"").is_err());
    }

    #[test]
    fn string_counts_characters_and_refuses_control_characters() {
        assert!(OcpiString::<4>::parse("Köln").is_ok());
        assert!(matches!(
            OcpiString::<4>::parse("Kölns"),
            Err(TextError::TooLong { max: 4, len: 5, .. })
        ));
        assert!(matches!(
            OcpiString::<40>::parse("line\nbreak"),
            Err(TextError::ControlCharacter {
                position: 4,
                found: '\n',
                ..
            })
        ));
    }

    #[test]
    fn time_of_day_and_date_follow_the_spec_regex() {
        assert_eq!(TimeOfDay::parse("23:59").unwrap().minutes(), 1439);
        assert_eq!(TimeOfDay::parse("00:00").unwrap().minutes(), 0);
        for bad in ["24:00", "7:00", "07:60", "07.00", "07:00:00"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2015-12-24").is_ok());
        for bad in ["2015-13-01", "15-12-24", "2015-12-32", "3015-01-01"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn geo_location_checks_regex_and_range_with_paths() {
        let g: GeoLocation =
            parse(br#"{"latitude":"-51.0475991","longitude":"-126.104965"}"#).unwrap();
        assert!((g.latitude.value() + 51.047_599_1).abs() < 1e-9);
        let errors =
            parse::<GeoLocation>(br#"{"latitude":"51.04","longitude":"3.72994"}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.latitude"]);
        assert!(errors[0].message.contains("5 to 7 decimals"), "{errors:?}");
        let errors = parse::<GeoLocation>(br#"{"latitude":"91.00000","longitude":"181.00000"}"#)
            .unwrap_err();
        assert_eq!(paths(&errors), ["$.latitude", "$.longitude"]);
        assert!(errors[1].message.contains("-180..=180"), "{errors:?}");
        let errors = parse::<GeoLocation>(br#"{"latitude":"51.047599"}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.longitude"]);
        assert!(errors[0].message.contains("mandatory"), "{errors:?}");
    }

    #[test]
    fn hours_rules() {
        let ok: Hours = parse(br#"{"twentyfourseven":true}"#).unwrap();
        assert!(ok.regular_hours.is_none());
        let errors = parse::<Hours>(br#"{"twentyfourseven":false}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.regular_hours"]);
        let errors = parse::<Hours>(
            br#"{"twentyfourseven":true,"regular_hours":[{"weekday":1,"period_begin":"08:00","period_end":"20:00"}]}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.regular_hours"]);
        let errors = parse::<Hours>(
            br#"{"twentyfourseven":false,"regular_hours":[
                {"weekday":1,"period_begin":"08:00","period_end":"20:00"},
                {"weekday":8,"period_begin":"08:00","period_end":"20:00"},
                {"weekday":2,"period_begin":"20:00","period_end":"08:00"}]}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.regular_hours[1].weekday"]);
        let errors = parse::<Hours>(
            br#"{"twentyfourseven":false,"regular_hours":[
                {"weekday":2,"period_begin":"20:00","period_end":"08:00"}]}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.regular_hours[0].period_end"]);
    }

    #[test]
    fn publish_token_type_rules() {
        assert!(parse::<PublishTokenType>(br#"{"group_id":"G1"}"#).is_ok());
        let errors = parse::<PublishTokenType>(br#"{"issuer":"X"}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$"]);
        let errors = parse::<PublishTokenType>(br#"{"uid":"1","visual_number":"2"}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.type", "$.issuer"]);
    }

    #[test]
    fn energy_source_percentage_is_0_to_100() {
        let errors = parse::<EnergyMix>(
            br#"{"is_green_energy":false,"energy_sources":[{"source":"SOLAR","percentage":100},{"source":"WIND","percentage":100.5}]}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.energy_sources[1].percentage"]);
        let errors = parse::<EnergyMix>(
            br#"{"is_green_energy":false,"energy_sources":[{"source":"OIL","percentage":1}]}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.energy_sources[0].source"]);
        assert!(errors[0].message.contains("GENERAL_FOSSIL"), "{errors:?}");
    }

    #[test]
    fn image_keeps_unknown_members_and_checks_its_type() {
        let image: Image = parse(
            br#"{"url":"https://x/l.png","category":"OPERATOR","type":"png","width":512,"vendor":1}"#,
        )
        .unwrap();
        assert_eq!(image.extra["vendor"], 1);
        assert_eq!(
            serde_json::to_value(&image).unwrap(),
            serde_json::json!({"url":"https://x/l.png","category":"OPERATOR","type":"png","width":512,"vendor":1})
        );
        let errors = parse::<Image>(
            br#"{"url":"https://x/l.png","category":"OPERATOR","type":"jpeg2","width":100000}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errors), ["$.type", "$.width"]);
    }
}
