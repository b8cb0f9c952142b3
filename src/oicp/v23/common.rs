//! Types shared by several operations: Identification, `GeoCoordinates`, Address, `InfoText`,
//! `OpeningTimes`, `SearchCenter` (oicp-2.3.md §4.2).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::{CountryCode, EvcoId, HashValue, LanguageCode, TimeZone, Uid};
use super::scalars::{Bounded, DateTime, Decimal, Text};
use super::validate::{Validate, Validator};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `ActionType` of every push operation (oicp-2.3.md §2.3): `fullLoad` replaces the whole
    /// set, `insert` fails if a record exists, `update` fails if one is missing, `delete`
    /// removes.
    pub enum ActionType {
        FullLoad = "fullLoad",
        Update = "update",
        Insert = "insert",
        Delete = "delete",
    }
}

// ---------------------------------------------------------------------------------------------
// Identification

wire_enum! {
    /// `RFIDType` (oicp-2.3.md §4.3).
    pub enum RfidType {
        MifareCls = "mifareCls",
        MifareDes = "mifareDes",
        Calypso = "calypso",
        Nfc = "nfc",
        MifareFamily = "mifareFamily",
    }
}

wire_enum! {
    /// `HashedPIN.Function` (oicp-2.3.md §4.3): only `Bcrypt`.
    pub enum HashFunction {
        Bcrypt = "Bcrypt",
    }
}

wire_enum! {
    /// `LegacyHashData.Function` (oicp-2.3.md §4.3).
    pub enum LegacyHashFunction {
        Md5 = "MD5",
        Sha1 = "SHA-1",
    }
}

wire_struct! {
    /// `RFIDMifareFamilyIdentification`: the member to use for RFID cards in authorization.
    pub struct RfidMifareFamilyIdentification {
        /// Card UID, upper-case hex of 8, 14 or 20 digits.
        req "UID" => uid: Uid,
    }
}

wire_struct! {
    /// `RFIDIdentification`: full card data; must not be used in authorization requests.
    pub struct RfidIdentification {
        /// Card UID.
        req "UID" => uid: Uid,
        /// Contract ID printed on or bound to the card.
        opt "EvcoID" => evco_id: EvcoId,
        /// Card technology.
        req "RFID" => rfid: RfidType,
        /// Number printed on the card (at most 150 characters).
        opt "PrintedNumber" => printed_number: Text<150>,
        /// Expiry of the card.
        opt "ExpiryDate" => expiry_date: DateTime,
    }
}

wire_struct! {
    /// `LegacyHashData`: a PIN hash in an older algorithm.
    pub struct LegacyHashData {
        /// `MD5` or `SHA-1`.
        req "Function" => function: LegacyHashFunction,
        /// Salt (at most 100 characters).
        opt "Salt" => salt: Text<100>,
        /// Hash (at most 20 characters).
        opt "Value" => value: Text<20>,
    }
}

wire_struct! {
    /// `HashedPIN`: only allowed in `PushAuthenticationData`.
    pub struct HashedPin {
        /// The hash.
        req "Value" => value: HashValue,
        /// `Bcrypt`.
        req "Function" => function: HashFunction,
        /// An additional legacy hash.
        opt "LegacyHashData" => legacy_hash_data: LegacyHashData,
    }
}

wire_struct! {
    /// `QRCodeIdentification`: contract ID plus PIN (clear in authorization, hashed in
    /// authentication data).
    pub struct QrCodeIdentification {
        /// Contract ID.
        req "EvcoID" => evco_id: EvcoId,
        /// Clear PIN (at most 20 characters).
        opt "PIN" => pin: Text<20>,
        /// Hashed PIN.
        opt "HashedPIN" => hashed_pin: HashedPin,
    }
}

wire_struct! {
    /// `PlugAndChargeIdentification` (ISO 15118).
    pub struct PlugAndChargeIdentification {
        /// Contract ID.
        req "EvcoID" => evco_id: EvcoId,
    }
}

wire_struct! {
    /// `RemoteIdentification`: the only member allowed in remote start and reservation.
    pub struct RemoteIdentification {
        /// Contract ID.
        req "EvcoID" => evco_id: EvcoId,
    }
}

wire_struct! {
    exactly_one;
    /// `Identification`: exactly one of five members (oicp-2.3.md §4.2). Parsing refuses zero
    /// or several members; [`Identification::kind`] gives the one that is there.
    pub struct Identification {
        /// RFID card (Mifare family).
        opt "RFIDMifareFamilyIdentification" | "RFIDmifarefamilyIdentification" => rfid_mifare_family: RfidMifareFamilyIdentification,
        /// RFID card with full data.
        opt "RFIDIdentification" => rfid: RfidIdentification,
        /// QR code.
        opt "QRCodeIdentification" => qr_code: QrCodeIdentification,
        /// Plug&Charge.
        opt "PlugAndChargeIdentification" => plug_and_charge: PlugAndChargeIdentification,
        /// Remote (app) authorization.
        opt "RemoteIdentification" => remote: RemoteIdentification,
    }
}

/// The member an [`Identification`] carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IdentificationKind<'a> {
    /// `RFIDMifareFamilyIdentification`
    RfidMifareFamily(&'a RfidMifareFamilyIdentification),
    /// `RFIDIdentification`
    Rfid(&'a RfidIdentification),
    /// `QRCodeIdentification`
    QrCode(&'a QrCodeIdentification),
    /// `PlugAndChargeIdentification`
    PlugAndCharge(&'a PlugAndChargeIdentification),
    /// `RemoteIdentification`
    Remote(&'a RemoteIdentification),
}

impl Identification {
    fn empty() -> Self {
        Self {
            rfid_mifare_family: None,
            rfid: None,
            qr_code: None,
            plug_and_charge: None,
            remote: None,
            extra: super::wire::Extra::new(),
        }
    }

    /// An RFID (Mifare family) identification.
    pub fn rfid_mifare_family(uid: Uid) -> Self {
        Self {
            rfid_mifare_family: Some(RfidMifareFamilyIdentification {
                uid,
                extra: super::wire::Extra::new(),
            }),
            ..Self::empty()
        }
    }

    /// A remote identification.
    pub fn remote(evco_id: EvcoId) -> Self {
        Self {
            remote: Some(RemoteIdentification {
                evco_id,
                extra: super::wire::Extra::new(),
            }),
            ..Self::empty()
        }
    }

    /// A Plug&Charge identification.
    pub fn plug_and_charge(evco_id: EvcoId) -> Self {
        Self {
            plug_and_charge: Some(PlugAndChargeIdentification {
                evco_id,
                extra: super::wire::Extra::new(),
            }),
            ..Self::empty()
        }
    }

    /// The member that is present. Parsing guarantees exactly one; a value built by hand with
    /// none gives `None`.
    pub fn kind(&self) -> Option<IdentificationKind<'_>> {
        if let Some(m) = &self.rfid_mifare_family {
            Some(IdentificationKind::RfidMifareFamily(m))
        } else if let Some(m) = &self.rfid {
            Some(IdentificationKind::Rfid(m))
        } else if let Some(m) = &self.qr_code {
            Some(IdentificationKind::QrCode(m))
        } else if let Some(m) = &self.plug_and_charge {
            Some(IdentificationKind::PlugAndCharge(m))
        } else {
            self.remote.as_ref().map(IdentificationKind::Remote)
        }
    }

    /// The contract ID, for the members that carry one (routing to the EMP that issued it).
    pub fn evco_id(&self) -> Option<&EvcoId> {
        match self.kind()? {
            IdentificationKind::RfidMifareFamily(_) => None,
            IdentificationKind::Rfid(m) => m.evco_id.as_ref(),
            IdentificationKind::QrCode(m) => Some(&m.evco_id),
            IdentificationKind::PlugAndCharge(m) => Some(&m.evco_id),
            IdentificationKind::Remote(m) => Some(&m.evco_id),
        }
    }

    /// The card UID, for RFID members.
    pub fn uid(&self) -> Option<&Uid> {
        match self.kind()? {
            IdentificationKind::RfidMifareFamily(m) => Some(&m.uid),
            IdentificationKind::Rfid(m) => Some(&m.uid),
            _ => None,
        }
    }

    /// The wire name of the member that is present.
    pub fn member_name(&self) -> Option<&'static str> {
        Some(match self.kind()? {
            IdentificationKind::RfidMifareFamily(_) => "RFIDMifareFamilyIdentification",
            IdentificationKind::Rfid(_) => "RFIDIdentification",
            IdentificationKind::QrCode(_) => "QRCodeIdentification",
            IdentificationKind::PlugAndCharge(_) => "PlugAndChargeIdentification",
            IdentificationKind::Remote(_) => "RemoteIdentification",
        })
    }

    /// Rules for identifications in authorization requests (AuthorizeStart/Stop): no
    /// `RFIDIdentification` and no `HashedPIN`; a QR code carries the clear PIN.
    pub fn validate_for_authorization(&self, v: &mut Validator) {
        if self.rfid.is_some() {
            v.error_at(
                "RFIDIdentification",
                "RFIDIdentification must not be used in authorization; use RFIDMifareFamilyIdentification",
            );
        }
        if let Some(qr) = &self.qr_code {
            v.at("QRCodeIdentification", |v| {
                if qr.hashed_pin.is_some() {
                    v.error_at(
                        "HashedPIN",
                        "HashedPIN is only allowed in PushAuthenticationData; send the clear PIN",
                    );
                }
                if qr.pin.is_none() {
                    v.error_at(
                        "PIN",
                        "a QR code identification in authorization must carry the PIN",
                    );
                }
            });
        }
    }

    /// Rule for remote start and reservation: only `RemoteIdentification`.
    pub fn validate_remote_only(&self, v: &mut Validator) {
        if let Some(name) = self.member_name()
            && name != "RemoteIdentification"
        {
            v.error_at(
                name,
                "only RemoteIdentification may be used in remote authorization",
            );
        }
    }
}

impl Validate for Identification {
    fn validate(&self, v: &mut Validator) {
        if let Some(qr) = &self.qr_code
            && qr.pin.is_some()
            && qr.hashed_pin.is_some()
        {
            v.error_at(
                "QRCodeIdentification",
                "PIN and HashedPIN must not both be present",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Geo coordinates

static DECIMAL_DEGREE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^-?1?\d{1,2}\.\d{1,6}$").ok());
static DMS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?)(1?\d{1,2})°[ ]?(\d{1,2})'[ ]?(\d{1,2}\.\d+)''$").ok());
static GOOGLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?1?\d{1,2}\.\d{1,6})\s*,?\s*(-?1?\d{1,2}\.\d{1,6})$").ok());

/// The common spelling of a Google pair, `<lat> <lon>` with one ASCII space, split without the
/// regex (issue 6: the capture search cost more than the rest of the record's coordinates).
/// `Some` only where [`GOOGLE`] matches with these very captures: each half on its own is
/// `-?1?\d{1,2}\.\d{1,6}` in ASCII digits, so the first group cannot end elsewhere (it cannot
/// hold the space, and a shorter first group would leave a digit before the space for the
/// second); `None` leaves everything else to the regex. Tested against the regex.
fn google_plain(s: &str) -> Option<(&str, &str)> {
    fn degree(d: &str) -> bool {
        let d = d.strip_prefix('-').unwrap_or(d);
        let Some((int, frac)) = d.split_once('.') else {
            return false;
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        let int_ok = match int.len() {
            1 | 2 => true,
            3 => int.starts_with('1'),
            _ => false,
        };
        int_ok && digits(int) && (1..=6).contains(&frac.len()) && digits(frac)
    }
    let (lat, lon) = s.split_once(' ')?;
    (degree(lat) && degree(lon)).then_some((lat, lon))
}

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

fn check_range(value: f64, limit: f64, what: &str, raw: &str) -> Result<(), String> {
    if (-limit..=limit).contains(&value) {
        Ok(())
    } else {
        Err(format!("{what} '{raw}' is out of range -{limit}..={limit}"))
    }
}

/// One `DecimalDegree` coordinate: a string with a dot and at most 6 decimals, within
/// ±`LIMIT` degrees (90 for latitude, 180 for longitude).
#[derive(Debug, Clone, PartialEq)]
pub struct DegreeDecimal<const LIMIT: u16> {
    raw: String,
    value: f64,
}

/// A `DecimalDegree` latitude.
pub type DecimalLatitude = DegreeDecimal<90>;
/// A `DecimalDegree` longitude.
pub type DecimalLongitude = DegreeDecimal<180>;

impl<const LIMIT: u16> DegreeDecimal<LIMIT> {
    /// Parses and range-checks a coordinate.
    pub fn parse(s: &str) -> Result<Self, String> {
        if !matches(&DECIMAL_DEGREE, s) {
            return Err(format!(
                "'{s}' is not a decimal degree (a dot and 1 to 6 decimals, e.g. 9.360922)"
            ));
        }
        let value: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
        let what = if LIMIT == 90 { "latitude" } else { "longitude" };
        check_range(value, f64::from(LIMIT), what, s)?;
        Ok(Self {
            raw: s.to_owned(),
            value,
        })
    }

    /// The value in degrees.
    pub fn value(&self) -> f64 {
        self.value
    }
}

impl<const LIMIT: u16> Serialize for DegreeDecimal<LIMIT> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de, const LIMIT: u16> Deserialize<'de> for DegreeDecimal<LIMIT> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// One `DegreeMinuteSeconds` coordinate (`9°21'39.32''`) within ±`LIMIT` degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct DegreeMinuteSecond<const LIMIT: u16> {
    raw: String,
    value: f64,
}

/// A `DegreeMinuteSeconds` latitude.
pub type DmsLatitude = DegreeMinuteSecond<90>;
/// A `DegreeMinuteSeconds` longitude.
pub type DmsLongitude = DegreeMinuteSecond<180>;

impl<const LIMIT: u16> DegreeMinuteSecond<LIMIT> {
    /// Parses and range-checks a coordinate.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a degree-minute-second coordinate (e.g. 9°21'39.32'')");
        let caps = DMS.as_ref().and_then(|re| re.captures(s)).ok_or_else(bad)?;
        let num = |i: usize| {
            caps.get(i)
                .and_then(|m| m.as_str().parse::<f64>().ok())
                .ok_or_else(bad)
        };
        let (deg, min, sec) = (num(2)?, num(3)?, num(4)?);
        if min >= 60.0 || sec >= 60.0 {
            return Err(format!("'{s}': minutes and seconds must be below 60"));
        }
        let sign = if caps.get(1).is_some_and(|m| m.as_str() == "-") {
            -1.0
        } else {
            1.0
        };
        let value = sign * (deg + min / 60.0 + sec / 3600.0);
        let what = if LIMIT == 90 { "latitude" } else { "longitude" };
        check_range(value, f64::from(LIMIT), what, s)?;
        Ok(Self {
            raw: s.to_owned(),
            value,
        })
    }

    /// The value in decimal degrees.
    pub fn value(&self) -> f64 {
        self.value
    }
}

impl<const LIMIT: u16> Serialize for DegreeMinuteSecond<LIMIT> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de, const LIMIT: u16> Deserialize<'de> for DegreeMinuteSecond<LIMIT> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

/// The `Google` coordinate string: `"<lat> <lon>"`, latitude first, each with a dot and at
/// most 6 decimals.
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleCoordinates {
    raw: String,
    lat: f64,
    lon: f64,
}

impl GoogleCoordinates {
    /// Parses and range-checks the pair.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "'{s}' is not a Google coordinate pair (\"<lat> <lon>\", a dot and at most 6 decimals each)"
            )
        };
        let (lat_raw, lon_raw) = if let Some(pair) = google_plain(s) {
            pair
        } else {
            let caps = GOOGLE
                .as_ref()
                .and_then(|re| re.captures(s))
                .ok_or_else(bad)?;
            (
                caps.get(1).map_or("", |m| m.as_str()),
                caps.get(2).map_or("", |m| m.as_str()),
            )
        };
        let lat: f64 = lat_raw.parse().map_err(|_| bad())?;
        let lon: f64 = lon_raw.parse().map_err(|_| bad())?;
        check_range(lat, 90.0, "latitude", lat_raw)?;
        check_range(lon, 180.0, "longitude", lon_raw)?;
        Ok(Self {
            raw: s.to_owned(),
            lat,
            lon,
        })
    }

    /// Builds the string from degrees (6 decimals).
    pub fn from_degrees(lat: f64, lon: f64) -> Result<Self, String> {
        Self::parse(&format!("{lat:.6} {lon:.6}"))
    }

    /// Latitude and longitude in degrees.
    pub fn lat_lon(&self) -> (f64, f64) {
        (self.lat, self.lon)
    }

    /// Latitude and longitude as received, when each is already what `format!("{:.6}")` writes
    /// of its value: `-?(0|[1-9][0-9]{0,2})\.[0-9]{6}`, not negative zero, in the common
    /// spelling (`<lat> <lon>`). Such a text has at most 9 significant digits, so the nearest
    /// `f64` is within 1e-13 of it and rounds back to the same 6 decimals: the mapping takes
    /// the text instead of formatting the number (issue 6).
    pub fn six_decimals(&self) -> Option<(&str, &str)> {
        fn canonical(d: &str) -> bool {
            let (negative, d) = d.strip_prefix('-').map_or((false, d), |d| (true, d));
            let Some((int, frac)) = d.split_once('.') else {
                return false;
            };
            let int_ok = int == "0" || !int.starts_with('0');
            let zero = int == "0" && frac.bytes().all(|b| b == b'0');
            int_ok && frac.len() == 6 && !(negative && zero)
        }
        google_plain(&self.raw).filter(|(lat, lon)| canonical(lat) && canonical(lon))
    }
}

impl fmt::Display for GoogleCoordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for GoogleCoordinates {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for GoogleCoordinates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GoogleCoordinates;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a coordinate string \"<lat> <lon>\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoogleCoordinates, E> {
                GoogleCoordinates::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

wire_struct! {
    /// `GeoCoordinatesGoogle`.
    pub struct Google {
        /// `"<lat> <lon>"`.
        req "Coordinates" => coordinates: GoogleCoordinates,
    }
}

wire_struct! {
    /// `GeoCoordinatesDecimalDegree`: strings, not JSON numbers.
    pub struct DecimalDegree {
        /// Longitude.
        req "Longitude" => longitude: DecimalLongitude,
        /// Latitude.
        req "Latitude" => latitude: DecimalLatitude,
    }
}

wire_struct! {
    /// `GeoCoordinatesDegreeMinuteSeconds`.
    pub struct DegreeMinuteSeconds {
        /// Longitude.
        req "Longitude" => longitude: DmsLongitude,
        /// Latitude.
        req "Latitude" => latitude: DmsLatitude,
    }
}

wire_struct! {
    exactly_one;
    /// `GeoCoordinates`: exactly one of three formats (oicp-2.3.md §4.2).
    pub struct GeoCoordinates {
        /// `{"Coordinates":"<lat> <lon>"}`
        opt "Google" => google: Google,
        /// `{"Longitude":"…","Latitude":"…"}`
        opt "DecimalDegree" => decimal_degree: DecimalDegree,
        /// `{"Longitude":"9°21'39.32''","Latitude":…}`
        opt "DegreeMinuteSeconds" => degree_minute_seconds: DegreeMinuteSeconds,
    }
}

impl GeoCoordinates {
    /// Coordinates in the `Google` format, 6 decimals.
    pub fn google(lat: f64, lon: f64) -> Result<Self, String> {
        Ok(Self {
            google: Some(Google {
                coordinates: GoogleCoordinates::from_degrees(lat, lon)?,
                extra: super::wire::Extra::new(),
            }),
            decimal_degree: None,
            degree_minute_seconds: None,
            extra: super::wire::Extra::new(),
        })
    }

    /// Latitude and longitude in decimal degrees, whatever the format.
    pub fn lat_lon(&self) -> Option<(f64, f64)> {
        if let Some(g) = &self.google {
            Some(g.coordinates.lat_lon())
        } else if let Some(d) = &self.decimal_degree {
            Some((d.latitude.value(), d.longitude.value()))
        } else {
            self.degree_minute_seconds
                .as_ref()
                .map(|d| (d.latitude.value(), d.longitude.value()))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Address, texts, opening times

wire_struct! {
    /// `AddressIso19773` (oicp-2.3.md §4.2).
    pub struct Address {
        /// ISO 3166-1 alpha-3 country code.
        req "Country" => country: CountryCode,
        /// City, 1 to 50 characters.
        req "City" => city: Bounded<1, 50>,
        /// Street, 2 to 100 characters (pad short names with `_`).
        req "Street" => street: Bounded<2, 100>,
        /// Postal code, at most 10 characters. Mandatory since 2.3, but the HBS returns `null`
        /// for records pushed with 2.2 (oicp-2.3.md §9.1): optional here, required in a push.
        opt "PostalCode" => postal_code: Text<10>,
        /// House number, at most 10 characters; mandatory since 2.3, like `PostalCode`.
        opt "HouseNum" => house_num: Text<10>,
        /// Floor, at most 5 characters.
        opt "Floor" => floor: Text<5>,
        /// Region, at most 50 characters.
        opt "Region" => region: Text<50>,
        /// Whether the EVSE is in a parking facility.
        opt "ParkingFacility" => parking_facility: bool,
        /// Parking spot, at most 5 characters.
        opt "ParkingSpot" => parking_spot: Text<5>,
        /// `UTC+hh:mm`.
        opt "TimeZone" => time_zone: TimeZone,
    }
}

wire_struct! {
    /// `InfoText`: a text in a language.
    ///
    /// `lang` is mandatory in S1, but the HBS returns `null` for data migrated from 2.2
    /// (oicp-2.3.md §9.1), so an absent `lang` is accepted.
    pub struct InfoText {
        /// ISO 639 language code.
        opt "lang" => lang: LanguageCode,
        /// The text, at most 150 characters.
        req "value" => value: Text<150>,
    }
}

/// A time of day `hh:mm` (`00:00` to `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourMinute {
    /// Hours, 0 to 24.
    pub hour: u8,
    /// Minutes, 0 to 59 (0 when `hour` is 24).
    pub minute: u8,
}

impl HourMinute {
    /// Parses `hh:mm`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a time of day hh:mm (00:00 to 24:00)");
        let b = s.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let hour = (b[0] - b'0') * 10 + (b[1] - b'0');
        let minute = (b[3] - b'0') * 10 + (b[4] - b'0');
        if minute > 59 || hour > 24 || (hour == 24 && minute != 0) {
            return Err(bad());
        }
        Ok(Self { hour, minute })
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }
}

impl fmt::Display for HourMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for HourMinute {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HourMinute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(de::Error::custom)
    }
}

wire_struct! {
    /// A `Period` of opening or availability: `begin` and `end`, `hh:mm`.
    pub struct Period {
        /// Start.
        req "begin" => begin: HourMinute,
        /// End.
        req "end" => end: HourMinute,
    }
}

wire_enum! {
    /// `DayValue` (the `on` of opening times; oicp-2.3.md §4.3).
    pub enum Day {
        Everyday = "Everyday",
        Workdays = "Workdays",
        Weekend = "Weekend",
        Monday = "Monday",
        Tuesday = "Tuesday",
        Wednesday = "Wednesday",
        Thursday = "Thursday",
        Friday = "Friday",
        Saturday = "Saturday",
        Sunday = "Sunday",
    }
}

wire_struct! {
    /// `OpeningTimes`: periods on a day or group of days. The JSON spells the key `on`
    /// (S1's EMP table `On`, accepted).
    pub struct OpeningTimes {
        /// The periods, at least one.
        nelist "Period" => period: Period,
        /// The day(s).
        req "on" | "On" => on: Day,
    }
}

wire_struct! {
    /// `SearchCenter` of a pull: a point and a radius in km (decimal(4,1)).
    pub struct SearchCenter {
        /// Centre.
        req "GeoCoordinates" => geo_coordinates: GeoCoordinates,
        /// Radius in km.
        req "Radius" => radius: Decimal,
    }
}

impl Validate for SearchCenter {
    fn validate(&self, v: &mut Validator) {
        let r = self.radius.value();
        if r.is_sign_negative()
            || r > rust_decimal::Decimal::from(999)
            || self.radius.decimals() > 1
        {
            v.error_at(
                "Radius",
                format!(
                    "radius {} must be 0 to 999.9 km with at most one decimal",
                    self.radius
                ),
            );
        }
    }
}

/// Types whose every rule is checked while parsing; their `Validate` has nothing to add (it
/// exists so that they can be parsed on their own with [`parse`](super::wire::parse)).
macro_rules! no_cross_member_rules {
    ($($t:ty),*) => { $(impl Validate for $t { fn validate(&self, _: &mut Validator) {} })* };
}

no_cross_member_rules!(
    RfidMifareFamilyIdentification,
    RfidIdentification,
    PlugAndChargeIdentification,
    RemoteIdentification,
    GeoCoordinates,
    Address,
    InfoText,
    OpeningTimes,
    Period
);

#[cfg(test)]
mod tests {
    use super::super::wire::parse;
    use super::*;

    /// What the regex alone makes of a Google pair: the two captures, or `None`.
    fn by_regex(s: &str) -> Option<(String, String)> {
        let re = Regex::new(r"^(-?1?\d{1,2}\.\d{1,6})\s*,?\s*(-?1?\d{1,2}\.\d{1,6})$").unwrap();
        let caps = re.captures(s)?;
        Some((caps[1].to_owned(), caps[2].to_owned()))
    }

    #[test]
    fn google_fast_split_agrees_with_the_regex() {
        let cases = [
            "47.000000 6.000000",
            "-0.5 -179.123456",
            "123.1 12.5",
            "199.999999 -99.0",
            "200.1 1.0",
            "47.1234567 6.0",
            "1.12345612.5",
            "47.0  6.0",
            "47.0, 6.0",
            "47. 6.0",
            ".5 6.0",
            "07.5 6.0",
            "-47.0 -6.0 ",
            "47.0 6.0 1.0",
            "4\u{663}.0 6.0",
            "--1.0 2.0",
            "",
            " ",
        ];
        for s in cases {
            if let Some((lat, lon)) = google_plain(s) {
                assert_eq!(Some((lat.to_owned(), lon.to_owned())), by_regex(s), "{s:?}");
            }
        }
        assert!(
            google_plain("47.000000 6.000000").is_some(),
            "the fast path is taken"
        );
        assert!(google_plain("1.12345612.5").is_none(), "left to the regex");
    }

    proptest::proptest! {
        #[test]
        fn prop_google_fast_split_agrees_with_the_regex(s in "[-0-9. ,1]{0,22}") {
            if let Some((lat, lon)) = google_plain(&s) {
                proptest::prop_assert_eq!(Some((lat.to_owned(), lon.to_owned())), by_regex(&s));
            }
            let fast = GoogleCoordinates::parse(&s);
            let slow = by_regex(&s).and_then(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)));
            proptest::prop_assert_eq!(fast.is_ok(), slow.is_some_and(|(a, b)| a.abs() <= 90.0 && b.abs() <= 180.0));
        }
    }

    #[test]
    fn identification_needs_exactly_one_member() {
        let none = parse::<Identification>(b"{}").unwrap_err();
        assert_eq!(none.len(), 1);
        assert!(none[0].message.contains("found 0"), "{none:?}");
        let two = br#"{"RemoteIdentification":{"EvcoID":"DE-8EO-CAet5e4XY-3"},"PlugAndChargeIdentification":{"EvcoID":"DE-8EO-CAet5e4XY-3"}}"#;
        let errs = parse::<Identification>(two).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("found 2"), "{errs:?}");
        let nulls = br#"{"RemoteIdentification":{"EvcoID":"DE-8EO-CAet5e4XY-3"},"QRCodeIdentification":null,"RFIDIdentification":null}"#;
        let one = parse::<Identification>(nulls).unwrap();
        assert_eq!(one.member_name(), Some("RemoteIdentification"));
        assert_eq!(
            one.evco_id().map(EvcoId::as_str),
            Some("DE-8EO-CAet5e4XY-3")
        );
    }

    #[test]
    fn all_member_errors_are_reported_with_paths() {
        let json = br#"{"RFIDMifareFamilyIdentification":{"UID":"12345ABCD"},
            "QRCodeIdentification":{"EvcoID":"DE-DCB-C12345678-X","HashedPIN":{"Function":"Bcrypt","Value":"string"}}}"#;
        let errs = parse::<Identification>(json).unwrap_err();
        let mut paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "$",
                "$.QRCodeIdentification.HashedPIN.Value",
                "$.RFIDMifareFamilyIdentification.UID"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn geo_coordinates_rules() {
        let ok =
            parse::<GeoCoordinates>(br#"{"Google":{"Coordinates":"47.662249 9.360922"}}"#).unwrap();
        assert_eq!(ok.lat_lon(), Some((47.662_249, 9.360_922)));
        let seven = parse::<GeoCoordinates>(br#"{"Google":{"Coordinates":"47.6622491 9.360922"}}"#)
            .unwrap_err();
        assert_eq!(seven[0].path, "$.Google.Coordinates");
        let range =
            parse::<GeoCoordinates>(br#"{"DecimalDegree":{"Longitude":"9.1","Latitude":"99.5"}}"#)
                .unwrap_err();
        assert_eq!(range[0].path, "$.DecimalDegree.Latitude");
        assert!(range[0].message.contains("out of range"));
        let no_dot =
            parse::<GeoCoordinates>(br#"{"DecimalDegree":{"Longitude":"9","Latitude":"50.5"}}"#)
                .unwrap_err();
        assert_eq!(no_dot[0].path, "$.DecimalDegree.Longitude");
        let dms = parse::<GeoCoordinates>(
            r#"{"DegreeMinuteSeconds":{"Longitude":"9°21'39.32''","Latitude":"47°39'44.09''"}}"#
                .as_bytes(),
        )
        .unwrap();
        let (lat, lon) = dms.lat_lon().unwrap();
        assert!((lat - 47.662_247).abs() < 1e-4 && (lon - 9.360_922).abs() < 1e-4);
        let both = parse::<GeoCoordinates>(br#"{"Google":{"Coordinates":"47.662249 9.360922"},"DecimalDegree":{"Longitude":"9.1","Latitude":"50.5"}}"#).unwrap_err();
        assert!(both[0].message.contains("exactly one"));
    }

    #[test]
    fn hour_minute() {
        assert_eq!(HourMinute::parse("09:30").unwrap().minutes(), 570);
        assert!(HourMinute::parse("24:00").is_ok());
        assert!(HourMinute::parse("24:01").is_err());
        assert!(HourMinute::parse("9:30").is_err());
        assert!(HourMinute::parse("09:60").is_err());
    }
}
