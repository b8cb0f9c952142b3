//! The value tables of the OICP <-> OCPI mapping (`mappings/*.toml`, described in
//! `mappings/README.md`).
//!
//! The files are embedded with `include_str!` and parsed into typed tables over the real wire
//! enums. Loading checks, and refuses with file, row, line and reason:
//! * TOML syntax and unknown keys (`deny_unknown_fields`);
//! * a string that is not a value of the enum of its column;
//! * a row without a section citation (`source` must cite `§…` of `oicp-ocpi-mapping.md`), an
//!   empty `loss` or `reason`;
//! * two rows for the same value in one direction (duplicate, or conflicting targets);
//! * a value both mapped and listed as unmappable in one direction;
//! * a spec value of either side that is neither mapped nor listed as unmappable.
//!
//! Startup code is to call [`Tables::load`] (not wired yet: the node's startup is outside this
//! module) so that a broken table stops the process with the message; pure mapping functions
//! call [`tables`], which parses once (`LazyLock`) and panics only if the embedded tables are
//! broken, which startup and the test suite (`tests/mapping_tables.rs`) rule out first.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;
use toml::Spanned;

use crate::ocpi::v221::locations::{
    Capability, ConnectorFormat, ConnectorType, ParkingRestriction, ParkingType,
    PowerType as OcpiPowerType, Status,
};
use crate::ocpi::v221::sessions::AuthMethod;
use crate::ocpi::v221::tokens::TokenType;
use crate::oicp::v23::common::RfidType;
use crate::oicp::v23::evse_data::{
    Accessibility, AccessibilityLocation, AuthenticationMode, PaymentOption, Plug,
    PowerType as OicpPowerType,
};
use crate::oicp::v23::evse_status::EvseStatus;

/// The embedded table files, by path relative to the crate root.
pub const SOURCES: &[(&str, &str)] = &[
    (
        EVSE_STATUS_FILE,
        include_str!("../../mappings/evse_status.toml"),
    ),
    (
        PLUG_TYPES_FILE,
        include_str!("../../mappings/plug_types.toml"),
    ),
    (
        AUTHENTICATION_MODES_FILE,
        include_str!("../../mappings/authentication_modes.toml"),
    ),
    (
        PAYMENT_OPTIONS_FILE,
        include_str!("../../mappings/payment_options.toml"),
    ),
    (
        ACCESSIBILITY_FILE,
        include_str!("../../mappings/accessibility.toml"),
    ),
    (
        IDENTIFICATION_TYPES_FILE,
        include_str!("../../mappings/identification_types.toml"),
    ),
];

const EVSE_STATUS_FILE: &str = "mappings/evse_status.toml";
const PLUG_TYPES_FILE: &str = "mappings/plug_types.toml";
const AUTHENTICATION_MODES_FILE: &str = "mappings/authentication_modes.toml";
const PAYMENT_OPTIONS_FILE: &str = "mappings/payment_options.toml";
const ACCESSIBILITY_FILE: &str = "mappings/accessibility.toml";
const IDENTIFICATION_TYPES_FILE: &str = "mappings/identification_types.toml";

// ---------------------------------------------------------------------------------------------
// Values a table column can hold

/// A closed set of wire values that can fill a table column.
pub trait TableValue: Clone + Ord + fmt::Debug + Send + Sync + 'static {
    /// What the values are, for error messages (`OICP Plug`).
    const KIND: &'static str;
    /// Every value the spec defines.
    fn all() -> &'static [Self];
    /// The wire string.
    fn wire(&self) -> &str;
    /// The value for a table string, `None` if the spec has no such value.
    fn from_table(s: &str) -> Option<Self>;
}

macro_rules! wire_table_value {
    ($($ty:ty => $kind:literal),* $(,)?) => {$(
        impl TableValue for $ty {
            const KIND: &'static str = $kind;
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn wire(&self) -> &str {
                self.as_str()
            }
            fn from_table(s: &str) -> Option<Self> {
                Some(Self::from_wire(s)).filter(Self::is_known)
            }
        }
    )*};
}

wire_table_value! {
    EvseStatus => "OICP EvseStatus",
    Plug => "OICP Plug",
    OicpPowerType => "OICP PowerType",
    AuthenticationMode => "OICP AuthenticationMode",
    PaymentOption => "OICP PaymentOption",
    Accessibility => "OICP Accessibility",
    AccessibilityLocation => "OICP AccessibilityLocation",
    RfidType => "OICP RFIDType",
    Status => "OCPI Status",
    ConnectorType => "OCPI ConnectorType",
    ConnectorFormat => "OCPI ConnectorFormat",
    OcpiPowerType => "OCPI PowerType",
    Capability => "OCPI Capability",
    ParkingRestriction => "OCPI ParkingRestriction",
    ParkingType => "OCPI ParkingType",
    TokenType => "OCPI TokenType",
    AuthMethod => "OCPI AuthMethod",
}

macro_rules! table_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The name used in the tables.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )*
                }
            }
        }

        impl TableValue for $name {
            const KIND: &'static str = $kind;
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn wire(&self) -> &str {
                self.as_str()
            }
            fn from_table(s: &str) -> Option<Self> {
                match s {
                    $( $wire => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

table_enum! {
    /// The member an OICP `Identification` carries (oicp-2.3.md §4.2). OICP has no enum for it
    /// (the members are keys of an exactly-one object), so the tables name the keys.
    pub enum IdentificationMember: "OICP Identification member" {
        /// `RFIDMifareFamilyIdentification`
        RfidMifareFamily = "RFIDMifareFamilyIdentification",
        /// `RFIDIdentification`
        Rfid = "RFIDIdentification",
        /// `QRCodeIdentification`
        QrCode = "QRCodeIdentification",
        /// `PlugAndChargeIdentification`
        PlugAndCharge = "PlugAndChargeIdentification",
        /// `RemoteIdentification`
        Remote = "RemoteIdentification",
    }
}

table_enum! {
    /// How an OICP session was authorized, named by the operation that did it
    /// (`oicp-ocpi-mapping.md` §3 `Identification` row): the OICP counterpart of OCPI
    /// `AuthMethod`.
    pub enum AuthorizationOrigin: "OICP authorization origin" {
        /// Online `eRoamingAuthorizeStart`.
        AuthorizeStart = "eRoamingAuthorizeStart",
        /// Offline, from data pushed with `eRoamingPushAuthenticationData`.
        PushedAuthenticationData = "eRoamingPushAuthenticationData",
        /// `eRoamingAuthorizeRemoteStart`.
        AuthorizeRemoteStart = "eRoamingAuthorizeRemoteStart",
    }
}

// ---------------------------------------------------------------------------------------------
// Typed tables

/// A mapped row: the target value, what the mapping loses (if anything) and the mapping-doc
/// section it follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<T> {
    /// The value on the other side.
    pub value: T,
    /// Why the row is lossy, `None` for an exact row.
    pub loss: Option<String>,
    /// Citation of `oicp-ocpi-mapping.md` (`§2.1`, `§9 P8`).
    pub source: String,
}

/// A value with no counterpart on the other side, with the reason and the citation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmappable {
    /// Why there is no counterpart and what callers do instead.
    pub reason: String,
    /// Citation of `oicp-ocpi-mapping.md`.
    pub source: String,
}

/// What a table says about one value in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a, T> {
    /// The value maps (perhaps lossily).
    Mapped(&'a Target<T>),
    /// The table lists the value as having no counterpart.
    Unmappable(&'a Unmappable),
    /// The table does not know the value (only for values outside the spec: loading proves
    /// every spec value is listed).
    NotListed,
}

impl<'a, T> Entry<'a, T> {
    fn of<K: Ord>(
        key: &K,
        mapped: &'a BTreeMap<K, Target<T>>,
        unmappable: &'a BTreeMap<K, Unmappable>,
    ) -> Self {
        if let Some(target) = mapped.get(key) {
            Self::Mapped(target)
        } else if let Some(u) = unmappable.get(key) {
            Self::Unmappable(u)
        } else {
            Self::NotListed
        }
    }

    /// Whether the table lists the value (mapped or unmappable).
    pub fn is_listed(&self) -> bool {
        !matches!(self, Self::NotListed)
    }
}

/// A two-way table between an OICP enum `O` and an OCPI enum `P`. The directions are separate:
/// a many-to-one row in one direction needs its own choice in the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairTable<O, P> {
    to_ocpi: BTreeMap<O, Target<P>>,
    to_oicp: BTreeMap<P, Target<O>>,
    oicp_unmappable: BTreeMap<O, Unmappable>,
    ocpi_unmappable: BTreeMap<P, Unmappable>,
}

impl<O: TableValue, P: TableValue> PairTable<O, P> {
    /// The OCPI value for an OICP value.
    pub fn to_ocpi(&self, value: &O) -> Entry<'_, P> {
        Entry::of(value, &self.to_ocpi, &self.oicp_unmappable)
    }

    /// The OICP value for an OCPI value.
    pub fn to_oicp(&self, value: &P) -> Entry<'_, O> {
        Entry::of(value, &self.to_oicp, &self.ocpi_unmappable)
    }
}

/// What an OICP plug becomes on an OCPI connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSpec {
    /// `Connector.standard`.
    pub standard: ConnectorType,
    /// `Connector.format`: socket or attached cable, encoded in the OICP plug name.
    pub format: ConnectorFormat,
    /// The power type the plug itself implies (`CHAdeMO`: DC), `None` when it depends on the
    /// charging facility (Type 2: AC 1- or 3-phase). The connector's `power_type` comes from
    /// the paired `ChargingFacility` (§1.1, P3); this is the fallback and cross-check.
    pub power_type: Option<OcpiPowerType>,
}

/// OICP `Plug` <-> OCPI connector standard and format (`mappings/plug_types.toml`, §1.3).
///
/// OCPI -> OICP rows key on the standard and optionally the format; a row without a format
/// applies to both formats (the more specific row wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlugTable {
    to_ocpi: BTreeMap<Plug, Target<ConnectorSpec>>,
    to_oicp: BTreeMap<ConnectorKey, Target<Plug>>,
    oicp_unmappable: BTreeMap<Plug, Unmappable>,
    ocpi_unmappable: BTreeMap<ConnectorType, Unmappable>,
}

impl PlugTable {
    /// The OCPI connector for an OICP plug.
    pub fn to_ocpi(&self, plug: &Plug) -> Entry<'_, ConnectorSpec> {
        Entry::of(plug, &self.to_ocpi, &self.oicp_unmappable)
    }

    /// The OICP plug for an OCPI connector standard and format.
    pub fn to_oicp(&self, standard: &ConnectorType, format: &ConnectorFormat) -> Entry<'_, Plug> {
        if let Some(target) = self
            .to_oicp
            .get(&(standard.clone(), Some(format.clone())))
            .or_else(|| self.to_oicp.get(&(standard.clone(), None)))
        {
            Entry::Mapped(target)
        } else if let Some(u) = self.ocpi_unmappable.get(standard) {
            Entry::Unmappable(u)
        } else {
            Entry::NotListed
        }
    }

    /// The loss when a connector of `format` becomes `plug`: OICP plug names fix socket or
    /// cable, so a connector whose format differs from the plug's loses its format.
    pub fn format_loss(&self, plug: &Plug, format: &ConnectorFormat) -> Option<String> {
        let spec = &self.to_ocpi.get(plug)?.value;
        (spec.format != *format).then(|| {
            format!(
                "OICP '{}' implies {}; the connector's format {} has no OICP form",
                plug.as_str(),
                spec.format.as_str(),
                format.as_str()
            )
        })
    }
}

/// Key of an OCPI -> OICP plug row: standard, and the format when the row names one.
type ConnectorKey = (ConnectorType, Option<ConnectorFormat>);

/// Every value table, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tables {
    /// `mappings/evse_status.toml` (§2).
    pub evse_status: PairTable<EvseStatus, Status>,
    /// `mappings/plug_types.toml` `[plugs]` (§1.3).
    pub plugs: PlugTable,
    /// `mappings/plug_types.toml` `[power_types]` (§1.2).
    pub power_types: PairTable<OicpPowerType, OcpiPowerType>,
    /// `mappings/authentication_modes.toml` (§1.2, P19).
    pub authentication_modes: PairTable<AuthenticationMode, Capability>,
    /// `mappings/payment_options.toml` (§1.2, P19).
    pub payment_options: PairTable<PaymentOption, Capability>,
    /// `mappings/accessibility.toml` `[accessibility]` (§1.2, P18).
    pub accessibility: PairTable<Accessibility, ParkingRestriction>,
    /// `mappings/accessibility.toml` `[accessibility_location]` (§1.2).
    pub accessibility_location: PairTable<AccessibilityLocation, ParkingType>,
    /// `mappings/identification_types.toml` `[identification]` (§0, §3, §4).
    pub identification: PairTable<IdentificationMember, TokenType>,
    /// `mappings/identification_types.toml` `[rfid_types]` (§3, §4.2).
    pub rfid_types: PairTable<RfidType, TokenType>,
    /// `mappings/identification_types.toml` `[auth_methods]` (§3).
    pub auth_methods: PairTable<AuthorizationOrigin, AuthMethod>,
}

impl Tables {
    /// Parses and checks every embedded table. Startup calls this and stops on an error.
    pub fn load() -> Result<Self, TableError> {
        Self::from_sources(|file| {
            SOURCES
                .iter()
                .find(|(f, _)| *f == file)
                .map_or("", |(_, text)| *text)
        })
    }

    /// Parses and checks tables whose text `text_of` gives for each file path.
    fn from_sources<'t>(text_of: impl Fn(&'static str) -> &'t str) -> Result<Self, TableError> {
        let status: EvseStatusFile = parse_file(EVSE_STATUS_FILE, text_of(EVSE_STATUS_FILE))?;
        let plugs: PlugTypesFile = parse_file(PLUG_TYPES_FILE, text_of(PLUG_TYPES_FILE))?;
        let auth: AuthenticationModesFile = parse_file(
            AUTHENTICATION_MODES_FILE,
            text_of(AUTHENTICATION_MODES_FILE),
        )?;
        let payment: PaymentOptionsFile =
            parse_file(PAYMENT_OPTIONS_FILE, text_of(PAYMENT_OPTIONS_FILE))?;
        let access: AccessibilityFile =
            parse_file(ACCESSIBILITY_FILE, text_of(ACCESSIBILITY_FILE))?;
        let ident: IdentificationTypesFile = parse_file(
            IDENTIFICATION_TYPES_FILE,
            text_of(IDENTIFICATION_TYPES_FILE),
        )?;

        let f = |file: &'static str, name: &'static str| Section {
            file,
            name,
            text: text_of(file),
        };
        Ok(Self {
            evse_status: f(EVSE_STATUS_FILE, "evse_status").pair(status.evse_status)?,
            plugs: f(PLUG_TYPES_FILE, "plugs").plugs(plugs.plugs)?,
            power_types: f(PLUG_TYPES_FILE, "power_types").pair(plugs.power_types)?,
            authentication_modes: f(AUTHENTICATION_MODES_FILE, "authentication_modes")
                .pair(auth.authentication_modes)?,
            payment_options: f(PAYMENT_OPTIONS_FILE, "payment_options")
                .pair(payment.payment_options)?,
            accessibility: f(ACCESSIBILITY_FILE, "accessibility").pair(access.accessibility)?,
            accessibility_location: f(ACCESSIBILITY_FILE, "accessibility_location")
                .pair(access.accessibility_location)?,
            identification: f(IDENTIFICATION_TYPES_FILE, "identification")
                .pair(ident.identification)?,
            rfid_types: f(IDENTIFICATION_TYPES_FILE, "rfid_types").pair(ident.rfid_types)?,
            auth_methods: f(IDENTIFICATION_TYPES_FILE, "auth_methods").pair(ident.auth_methods)?,
        })
    }
}

static TABLES: LazyLock<Result<Tables, TableError>> = LazyLock::new(Tables::load);

/// The parsed tables, for pure mapping functions.
///
/// # Errors
/// The load error when the embedded tables are broken. Startup runs [`Tables::load`] first and
/// stops with that error, and the test suite loads them, so a running node always gets the
/// tables.
pub fn tables() -> Result<&'static Tables, &'static TableError> {
    TABLES.as_ref()
}

/// A table that does not load: the file, and where known the row, its line and section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{reason}", Self::place(*.row, *.line, .section))]
pub struct TableError {
    /// Path of the table file (`mappings/plug_types.toml`).
    pub file: &'static str,
    /// The array the row is in (`plugs.to_ocpi`), empty for file-level errors.
    pub section: String,
    /// 1-based position of the row in its array.
    pub row: Option<usize>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl TableError {
    fn place(row: Option<usize>, line: Option<usize>, section: &str) -> String {
        match (row, line) {
            (Some(row), Some(line)) => format!("row {row} ([[{section}]], line {line}): "),
            (None, Some(line)) => format!("line {line}: "),
            (_, None) if !section.is_empty() => format!("[{section}]: "),
            _ => String::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw TOML

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvseStatusFile {
    evse_status: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlugTypesFile {
    plugs: RawPlugTable,
    power_types: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthenticationModesFile {
    authentication_modes: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentOptionsFile {
    payment_options: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessibilityFile {
    accessibility: RawPairTable,
    accessibility_location: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentificationTypesFile {
    identification: RawPairTable,
    rfid_types: RawPairTable,
    auth_methods: RawPairTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPairTable {
    #[serde(default)]
    to_ocpi: Vec<Spanned<RawRow>>,
    #[serde(default)]
    to_oicp: Vec<Spanned<RawRow>>,
    #[serde(default)]
    oicp_unmappable: Vec<Spanned<RawUnmappable>>,
    #[serde(default)]
    ocpi_unmappable: Vec<Spanned<RawUnmappable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    oicp: String,
    ocpi: String,
    source: String,
    loss: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnmappable {
    value: String,
    reason: String,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugTable {
    #[serde(default)]
    to_ocpi: Vec<Spanned<RawPlugRow>>,
    #[serde(default)]
    to_oicp: Vec<Spanned<RawConnectorRow>>,
    #[serde(default)]
    oicp_unmappable: Vec<Spanned<RawUnmappable>>,
    #[serde(default)]
    ocpi_unmappable: Vec<Spanned<RawUnmappable>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugRow {
    oicp: String,
    standard: String,
    format: String,
    power_type: Option<String>,
    source: String,
    loss: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectorRow {
    standard: String,
    format: Option<String>,
    oicp: String,
    source: String,
    loss: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |head| head.matches('\n').count())
        + 1
}

fn parse_file<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<T, TableError> {
    toml::from_str(text).map_err(|e| TableError {
        file,
        section: String::new(),
        row: None,
        line: e.span().map(|span| line_of(text, span.start)),
        reason: e.message().trim().to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Checking

/// One array of tables being checked, for error positions.
struct Section<'t> {
    file: &'static str,
    name: &'static str,
    text: &'t str,
}

/// A row position inside a section.
#[derive(Clone, Copy)]
struct At<'s, 't> {
    section: &'s Section<'t>,
    part: &'static str,
    row: usize,
    offset: usize,
}

impl At<'_, '_> {
    fn err(self, reason: impl Into<String>) -> TableError {
        TableError {
            file: self.section.file,
            section: format!("{}.{}", self.section.name, self.part),
            row: Some(self.row),
            line: Some(line_of(self.section.text, self.offset)),
            reason: reason.into(),
        }
    }

    fn value<T: TableValue>(self, s: &str) -> Result<T, TableError> {
        T::from_table(s).ok_or_else(|| self.err(format!("'{s}' is not an {} value", T::KIND)))
    }

    fn source(self, source: &str) -> Result<String, TableError> {
        if source.contains('§') {
            Ok(source.to_owned())
        } else {
            Err(self.err(format!(
                "source '{source}' does not cite a section of oicp-ocpi-mapping.md (e.g. '§2.1')"
            )))
        }
    }

    fn text(self, key: &str, text: Option<&str>) -> Result<Option<String>, TableError> {
        match text {
            Some(t) if t.trim().is_empty() => Err(self.err(format!("'{key}' is empty"))),
            other => Ok(other.map(str::to_owned)),
        }
    }
}

fn rows<'s, 't, T>(
    section: &'s Section<'t>,
    part: &'static str,
    raw: Vec<Spanned<T>>,
) -> impl Iterator<Item = (At<'s, 't>, T)> {
    raw.into_iter().enumerate().map(move |(i, spanned)| {
        let offset = spanned.span().start;
        (
            At {
                section,
                part,
                row: i + 1,
                offset,
            },
            spanned.into_inner(),
        )
    })
}

/// Inserts a row, refusing a second row for the same key.
fn insert_row<K: Ord, T: PartialEq>(
    map: &mut BTreeMap<K, (usize, Target<T>)>,
    at: At<'_, '_>,
    key: K,
    key_name: &str,
    target: Target<T>,
) -> Result<(), TableError> {
    if let Some((row, existing)) = map.get(&key) {
        let what = if existing.value == target.value {
            "duplicates"
        } else {
            "conflicts with"
        };
        return Err(at.err(format!("'{key_name}' {what} row {row}")));
    }
    map.insert(key, (at.row, target));
    Ok(())
}

fn strip<K: Ord, V>(map: BTreeMap<K, (usize, V)>) -> BTreeMap<K, V> {
    map.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

impl Section<'_> {
    fn gap_error(&self, what: &str, kind: &str, value: &str) -> TableError {
        TableError {
            file: self.file,
            section: self.name.to_owned(),
            row: None,
            line: None,
            reason: format!(
                "{kind} '{value}' is neither mapped {what} nor listed in {}.{}",
                self.name,
                if what == "to OCPI" {
                    "oicp_unmappable"
                } else {
                    "ocpi_unmappable"
                }
            ),
        }
    }

    fn unmappable_rows<K: TableValue>(
        &self,
        part: &'static str,
        raw: Vec<Spanned<RawUnmappable>>,
        is_mapped: impl Fn(&K) -> Option<usize>,
    ) -> Result<BTreeMap<K, Unmappable>, TableError> {
        let mut out: BTreeMap<K, (usize, Unmappable)> = BTreeMap::new();
        for (at, raw) in rows(self, part, raw) {
            let value: K = at.value(&raw.value)?;
            if let Some(row) = is_mapped(&value) {
                return Err(at.err(format!(
                    "'{}' is listed unmappable but mapped in row {row}",
                    raw.value
                )));
            }
            if let Some((row, _)) = out.get(&value) {
                return Err(at.err(format!("'{}' duplicates row {row}", raw.value)));
            }
            let reason = at.text("reason", Some(&raw.reason))?.unwrap_or_default();
            let source = at.source(&raw.source)?;
            out.insert(value, (at.row, Unmappable { reason, source }));
        }
        Ok(strip(out))
    }

    fn pair<O: TableValue, P: TableValue>(
        &self,
        raw: RawPairTable,
    ) -> Result<PairTable<O, P>, TableError> {
        let mut to_ocpi: BTreeMap<O, (usize, Target<P>)> = BTreeMap::new();
        for (at, row) in rows(self, "to_ocpi", raw.to_ocpi) {
            let key: O = at.value(&row.oicp)?;
            let target = Target {
                value: at.value(&row.ocpi)?,
                loss: at.text("loss", row.loss.as_deref())?,
                source: at.source(&row.source)?,
            };
            insert_row(&mut to_ocpi, at, key, &row.oicp, target)?;
        }
        let mut to_oicp: BTreeMap<P, (usize, Target<O>)> = BTreeMap::new();
        for (at, row) in rows(self, "to_oicp", raw.to_oicp) {
            let key: P = at.value(&row.ocpi)?;
            let target = Target {
                value: at.value(&row.oicp)?,
                loss: at.text("loss", row.loss.as_deref())?,
                source: at.source(&row.source)?,
            };
            insert_row(&mut to_oicp, at, key, &row.ocpi, target)?;
        }
        let oicp_unmappable =
            self.unmappable_rows("oicp_unmappable", raw.oicp_unmappable, |v| {
                to_ocpi.get(v).map(|(row, _)| *row)
            })?;
        let ocpi_unmappable =
            self.unmappable_rows("ocpi_unmappable", raw.ocpi_unmappable, |v| {
                to_oicp.get(v).map(|(row, _)| *row)
            })?;
        let table = PairTable {
            to_ocpi: strip(to_ocpi),
            to_oicp: strip(to_oicp),
            oicp_unmappable,
            ocpi_unmappable,
        };
        for v in O::all() {
            if !table.to_ocpi(v).is_listed() {
                return Err(self.gap_error("to OCPI", O::KIND, v.wire()));
            }
        }
        for v in P::all() {
            if !table.to_oicp(v).is_listed() {
                return Err(self.gap_error("to OICP", P::KIND, v.wire()));
            }
        }
        Ok(table)
    }

    fn plugs(&self, raw: RawPlugTable) -> Result<PlugTable, TableError> {
        let mut to_ocpi: BTreeMap<Plug, (usize, Target<ConnectorSpec>)> = BTreeMap::new();
        for (at, row) in rows(self, "to_ocpi", raw.to_ocpi) {
            let key: Plug = at.value(&row.oicp)?;
            let spec = ConnectorSpec {
                standard: at.value(&row.standard)?,
                format: at.value(&row.format)?,
                power_type: row.power_type.as_deref().map(|p| at.value(p)).transpose()?,
            };
            let target = Target {
                value: spec,
                loss: at.text("loss", row.loss.as_deref())?,
                source: at.source(&row.source)?,
            };
            insert_row(&mut to_ocpi, at, key, &row.oicp, target)?;
        }
        let mut to_oicp: BTreeMap<ConnectorKey, (usize, Target<Plug>)> = BTreeMap::new();
        for (at, row) in rows(self, "to_oicp", raw.to_oicp) {
            let key = (
                at.value(&row.standard)?,
                row.format.as_deref().map(|f| at.value(f)).transpose()?,
            );
            let name = match &row.format {
                Some(f) => format!("{} {f}", row.standard),
                None => row.standard.clone(),
            };
            let target = Target {
                value: at.value(&row.oicp)?,
                loss: at.text("loss", row.loss.as_deref())?,
                source: at.source(&row.source)?,
            };
            insert_row(&mut to_oicp, at, key, &name, target)?;
        }
        let oicp_unmappable =
            self.unmappable_rows("oicp_unmappable", raw.oicp_unmappable, |v| {
                to_ocpi.get(v).map(|(row, _)| *row)
            })?;
        let ocpi_unmappable = self.unmappable_rows(
            "ocpi_unmappable",
            raw.ocpi_unmappable,
            |v: &ConnectorType| {
                to_oicp
                    .iter()
                    .find(|((standard, _), _)| standard == v)
                    .map(|(_, (row, _))| *row)
            },
        )?;
        let table = PlugTable {
            to_ocpi: strip(to_ocpi),
            to_oicp: strip(to_oicp),
            oicp_unmappable,
            ocpi_unmappable,
        };
        for plug in Plug::ALL {
            if !table.to_ocpi(plug).is_listed() {
                return Err(self.gap_error("to OCPI", Plug::KIND, plug.as_str()));
            }
        }
        for standard in ConnectorType::ALL {
            for format in ConnectorFormat::ALL {
                if !table.to_oicp(standard, format).is_listed() {
                    let value = format!("{} {}", standard.as_str(), format.as_str());
                    return Err(self.gap_error("to OICP", ConnectorType::KIND, &value));
                }
            }
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: &'static str, text: &str) -> Result<Tables, TableError> {
        Tables::from_sources(|f| {
            if f == file {
                text
            } else {
                SOURCES
                    .iter()
                    .find(|(name, _)| *name == f)
                    .map_or("", |(_, t)| *t)
            }
        })
    }

    fn original(file: &str) -> &'static str {
        SOURCES
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, t)| *t)
            .expect("embedded")
    }

    /// Replaces the first occurrence of `from` in `file` and loads.
    fn load_edited(file: &'static str, from: &str, to: &str) -> TableError {
        let text = original(file);
        assert!(text.contains(from), "{from} not in {file}");
        let edited = text.replacen(from, to, 1);
        load_with(file, &edited).expect_err("edited table must not load")
    }

    #[test]
    fn embedded_tables_load() {
        Tables::load().expect("tables load");
        assert!(tables().is_ok());
    }

    #[test]
    fn unknown_enum_value_names_file_row_and_line() {
        let text = "[plugs]\n\
            [[plugs.to_ocpi]]\n\
            oicp = \"Type 2 Outlet\"\nstandard = \"IEC_62196_T2\"\nformat = \"SOCKET\"\n\
            source = \"§1.3\"\n\
            [[plugs.to_ocpi]]\n\
            oicp = \"Type 9\"\nstandard = \"IEC_62196_T2\"\nformat = \"SOCKET\"\n\
            source = \"§1.3\"\n\
            [power_types]\n";
        let err = load_with(PLUG_TYPES_FILE, text).expect_err("broken");
        assert_eq!(err.row, Some(2));
        assert_eq!(err.line, Some(7));
        assert_eq!(
            err.to_string(),
            "mappings/plug_types.toml: row 2 ([[plugs.to_ocpi]], line 7): \
             'Type 9' is not an OICP Plug value"
        );
    }

    #[test]
    fn unknown_ocpi_value_is_refused() {
        let err = load_edited(EVSE_STATUS_FILE, "ocpi = \"AVAILABLE\"", "ocpi = \"FREE\"");
        assert_eq!(err.file, EVSE_STATUS_FILE);
        assert!(
            err.to_string()
                .ends_with("'FREE' is not an OCPI Status value"),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = load_with(EVSE_STATUS_FILE, "[evse_status]\n[[evse_status.to_ocpi]\n")
            .expect_err("broken");
        assert_eq!(err.line, Some(2));
        assert!(
            err.to_string()
                .starts_with("mappings/evse_status.toml: line 2: "),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = load_edited(
            PAYMENT_OPTIONS_FILE,
            "source = ",
            "comment = \"x\"\nsource = ",
        );
        assert!(err.reason.contains("unknown field `comment`"), "{err}");
    }

    #[test]
    fn missing_section_is_refused() {
        let err = load_with(ACCESSIBILITY_FILE, "[accessibility]\n").expect_err("broken");
        assert!(err.reason.contains("accessibility_location"), "{err}");
    }

    #[test]
    fn duplicate_and_conflicting_rows_are_refused() {
        let row = "[[evse_status.to_ocpi]]\noicp = \"Available\"\nocpi = \"AVAILABLE\"\n\
                   source = \"§2.1\"\n\n";
        let text = format!("{row}{}", original(EVSE_STATUS_FILE));
        let err = load_with(EVSE_STATUS_FILE, &text).expect_err("dup");
        assert!(err.reason.contains("'Available' duplicates row 1"), "{err}");

        let conflicting = row.replace("\"AVAILABLE\"", "\"CHARGING\"");
        let text = format!("{conflicting}{}", original(EVSE_STATUS_FILE));
        let err = load_with(EVSE_STATUS_FILE, &text).expect_err("conflict");
        assert!(
            err.reason.contains("'Available' conflicts with row 1"),
            "{err}"
        );
    }

    #[test]
    fn mapped_and_unmappable_at_once_is_refused() {
        let row = "[[evse_status.oicp_unmappable]]\nvalue = \"Available\"\nreason = \"x\"\n\
                   source = \"§2.1\"\n\n";
        let text = format!("{}\n{row}", original(EVSE_STATUS_FILE));
        let err = load_with(EVSE_STATUS_FILE, &text).expect_err("both");
        assert!(
            err.reason
                .contains("'Available' is listed unmappable but mapped in row 1"),
            "{err}"
        );
    }

    #[test]
    fn missing_value_is_refused() {
        let text = "[evse_status]\n[[evse_status.to_ocpi]]\noicp = \"Available\"\n\
                    ocpi = \"AVAILABLE\"\nsource = \"§2.1\"\n";
        let err = load_with(EVSE_STATUS_FILE, text).expect_err("gaps");
        assert_eq!(
            err.to_string(),
            "mappings/evse_status.toml: [evse_status]: OICP EvseStatus 'Reserved' is neither \
             mapped to OCPI nor listed in evse_status.oicp_unmappable"
        );
    }

    #[test]
    fn rows_must_cite_a_section_and_explain_losses() {
        let err = load_edited(EVSE_STATUS_FILE, "source = \"§2.1", "source = \"2.1");
        assert!(err.reason.contains("does not cite a section"), "{err}");
        let err = load_edited(EVSE_STATUS_FILE, "loss = \"", "loss = \"\" #");
        assert!(err.reason.contains("'loss' is empty"), "{err}");
    }

    #[test]
    fn plug_lookups_prefer_the_format_row() {
        let t = tables().unwrap();
        let Entry::Mapped(socket) = t
            .plugs
            .to_oicp(&ConnectorType::Iec62196T2, &ConnectorFormat::Socket)
        else {
            panic!("mapped")
        };
        assert_eq!(socket.value, Plug::Type2Outlet);
        let Entry::Mapped(cable) = t
            .plugs
            .to_oicp(&ConnectorType::Iec62196T2, &ConnectorFormat::Cable)
        else {
            panic!("mapped")
        };
        assert_eq!(cable.value, Plug::Type2ConnectorCableAttached);
        assert!(
            t.plugs
                .format_loss(&Plug::TypeFSchuko, &ConnectorFormat::Cable)
                .is_some()
        );
        assert!(
            t.plugs
                .format_loss(&Plug::TypeFSchuko, &ConnectorFormat::Socket)
                .is_none()
        );
        assert_eq!(
            t.plugs.to_ocpi(&Plug::Unknown("x".to_owned())),
            Entry::NotListed
        );
    }
}
