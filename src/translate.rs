//! `roambridge translate`: whole documents from OICP 2.3 to OCPI 2.2.1 and back, with every
//! loss reported.
//!
//! # Shape
//! A *kind* ([`Kind`]) names a pair of document forms, one per side. Each kind has at most one
//! [`TranslateFn`] per [`Direction`] in the table [`KINDS`]; a kind whose mapping functions do
//! not exist yet has `None` there and answers [`TranslateError::NotAvailable`]. Plugging a new
//! mapping in is one function with the [`TranslateFn`] signature (the helpers in [`io`] parse
//! input with JSON-path errors and write arrays element by element) and one table entry.
//!
//! # Input, output, losses
//! * Input is the whole document as bytes (a file or standard input). Invalid input is
//!   [`TranslateError::Invalid`] with the JSON path of each error (`$.OperatorEvseData.
//!   EvseDataRecord[3].Plugs[0]`, `$[3].status`).
//! * Output is JSON written to a [`Write`] as it is produced: arrays element by element, never
//!   one big string (see [`io::JsonArray`]). A failed translation may have written part of it;
//!   the CLI exits non-zero then.
//! * Loss notes go to a [`LossSink`] as they arise: the CLI writes them to standard error as
//!   `path: reason` lines ([`io::NoteLines`]) or to a JSON report ([`io::JsonReport`]). Paths
//!   are those of the mapping functions (`EvseDataRecord[n].…` counts the records of the input
//!   in order, whatever envelope holds them).
//!
//! # Context the documents do not carry
//! Some mappings need values neither input has (the hotline of an EVSE, the Location of a CDR,
//! the issuer of a Token, the action of a push). They come from [`Options`] (CLI options); a
//! value taken by default is always reported as a loss note, never filled in silently.
//!
//! # Kinds (see each module for its forms)
//! * [`Kind::EvseData`] (`evse-data`, also spelled `locations`): OICP EVSE data -> OCPI
//!   Locations ([`evse_data`]), OCPI Locations -> OICP EVSE data records ([`locations`]).
//! * [`Kind::EvseStatus`] (`evse-status`): both directions ([`evse_status`]).
//! * [`Kind::Cdr`] (`cdr`): both directions ([`cdr`]).
//! * [`Kind::Tokens`] (`tokens`): authentication data <-> Tokens ([`tokens`]).
//! * [`Kind::Tariffs`] (`tariffs`): pricing products / EVSE pricing <-> Tariffs ([`tariffs`]).
//!
//! # Push bodies or records (OCPI -> OICP)
//! Output is a JSON array of records when OICP records carry their party (pulled
//! `EvseDataRecord`s carry `OperatorID`, status records and CDRs their `EvseID`), and push
//! bodies when only the envelope does: a JSON array of `eRoamingPushAuthenticationData`
//! bodies, one per eMSP (`ProviderID`), for `tokens`; one pricing push body for `tariffs` (one
//! operator per body). Every such output is accepted back as input of the other direction.

pub mod cdr;
mod compact;
pub mod evse_data;
pub mod evse_status;
mod forms;
pub mod io;
pub mod locations;
pub mod tariffs;
pub mod tokens;

use std::fmt;
use std::io::Write;

use crate::mapping::cdr::{CostPolicy, MissingLocation};
use crate::mapping::{LossNote, MappingCtx};
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::tariffs::Tariff;
use crate::ocpi::v221::tokens::WhitelistType;
use crate::ocpi::v221::types::OcpiString;
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::ids::{PhoneNumber, ProviderIdOrAll};
use crate::oicp::v23::validate::ValidationError;

/// Which way a document is translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// OICP 2.3 in, OCPI 2.2.1 out.
    OicpToOcpi,
    /// OCPI 2.2.1 in, OICP 2.3 out.
    OcpiToOicp,
}

impl Direction {
    /// The CLI name (`oicp-to-ocpi`, `ocpi-to-oicp`).
    pub fn name(self) -> &'static str {
        match self {
            Self::OicpToOcpi => "oicp-to-ocpi",
            Self::OcpiToOicp => "ocpi-to-oicp",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OICP EVSE data <-> OCPI Locations.
    EvseData,
    /// EVSE status records.
    EvseStatus,
    /// Charge detail records.
    Cdr,
    /// Authentication data <-> Tokens.
    Tokens,
    /// Pricing <-> Tariffs.
    Tariffs,
}

impl Kind {
    /// Every kind, in the order the CLI lists them.
    pub const ALL: &'static [Self] = &[
        Self::EvseData,
        Self::EvseStatus,
        Self::Cdr,
        Self::Tokens,
        Self::Tariffs,
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EvseData => "evse-data",
            Self::EvseStatus => "evse-status",
            Self::Cdr => "cdr",
            Self::Tokens => "tokens",
            Self::Tariffs => "tariffs",
        }
    }

    /// The kind for a CLI name; `locations` is the OCPI name of `evse-data` and accepted in
    /// either direction.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "locations" => Some(Self::EvseData),
            _ => Self::ALL.iter().copied().find(|k| k.name() == name),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where loss notes go as they arise.
pub trait LossSink {
    /// Takes one note.
    fn note(&mut self, note: &LossNote) -> std::io::Result<()>;

    /// Takes several notes.
    fn notes(&mut self, notes: &[LossNote]) -> std::io::Result<()> {
        notes.iter().try_for_each(|n| self.note(n))
    }
}

/// Collects the notes (tests, benchmarks, small documents).
impl LossSink for Vec<LossNote> {
    fn note(&mut self, note: &LossNote) -> std::io::Result<()> {
        self.push(note.clone());
        Ok(())
    }
}

/// Values a translation needs that its input does not carry (module documentation). Every
/// `None` is a documented default, reported as a loss note when it is used.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// `HotlinePhoneNumber` of EVSE data made from OCPI Locations (mandatory in OICP, absent in
    /// OCPI 2.2.1). Without it `ocpi-to-oicp locations` is refused.
    pub hotline: Option<PhoneNumber>,
    /// Send unpublished Locations as `Test Station` instead of leaving them out.
    pub unpublished_as_test_station: bool,
    /// `issuer` of Tokens made from authentication data (default: the `ProviderID`).
    pub issuer: Option<String>,
    /// `whitelist` of Tokens made from authentication data (default `ALWAYS`).
    pub whitelist: Option<WhitelistType>,
    /// `ActionType` of push bodies made from OCPI (default `fullLoad`: the array is the whole
    /// set).
    pub action: Option<ActionType>,
    /// `ProviderID` of EVSE pricing made from OCPI (default `*`, all providers).
    pub provider: Option<ProviderIdOrAll>,
    /// Locations to find the EVSE of an OICP CDR in (from `--evse-data` or `--locations`).
    pub locations: Vec<Location>,
    /// Tariffs to price OICP CDRs with (from `--tariffs`).
    pub tariffs: Vec<Tariff>,
    /// A CDR whose EVSE is not in [`Options::locations`]: refused (default) or placeholder.
    pub missing_location: MissingLocation,
    /// Cost of OICP CDRs: computed from the tariff (default) or 0 with a remark.
    pub cost_policy: CostPolicy,
    /// Currency of CDRs without a tariff (default: `XXX`, noted by the mapping).
    pub currency: Option<OcpiString<3>>,
}

/// What a translation gets besides its input: "now" and partner settings, and the [`Options`].
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// "Now", time zone, partner settings.
    pub mapping: &'a MappingCtx,
    /// Values from outside the input.
    pub options: &'a Options,
}

/// One translation: the input bytes, the context, the output and the loss sink.
pub type TranslateFn = fn(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError>;

/// What is available for one kind, per direction.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// The kind.
    pub kind: Kind,
    /// OICP -> OCPI, when the mapping exists.
    pub oicp_to_ocpi: Option<TranslateFn>,
    /// OCPI -> OICP, when the mapping exists.
    pub ocpi_to_oicp: Option<TranslateFn>,
}

/// The translations, one row per kind. A `None` is a mapping still to come: give it a
/// [`TranslateFn`] and it is on the command line.
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        kind: Kind::EvseData,
        // Needs no options.
        oicp_to_ocpi: Some(|input, ctx, out, losses| {
            evse_data::oicp_to_ocpi(input, ctx.mapping, out, losses)
        }),
        ocpi_to_oicp: Some(locations::ocpi_to_oicp),
    },
    KindSpec {
        kind: Kind::EvseStatus,
        // Needs no options.
        oicp_to_ocpi: Some(|input, ctx, out, losses| {
            evse_status::oicp_to_ocpi(input, ctx.mapping, out, losses)
        }),
        ocpi_to_oicp: Some(|input, ctx, out, losses| {
            evse_status::ocpi_to_oicp(input, ctx.mapping, out, losses)
        }),
    },
    KindSpec {
        kind: Kind::Cdr,
        oicp_to_ocpi: Some(cdr::oicp_to_ocpi),
        ocpi_to_oicp: Some(cdr::ocpi_to_oicp),
    },
    KindSpec {
        kind: Kind::Tokens,
        oicp_to_ocpi: Some(tokens::oicp_to_ocpi),
        ocpi_to_oicp: Some(tokens::ocpi_to_oicp),
    },
    KindSpec {
        kind: Kind::Tariffs,
        oicp_to_ocpi: Some(tariffs::oicp_to_ocpi),
        ocpi_to_oicp: Some(tariffs::ocpi_to_oicp),
    },
];

/// The translation for a direction and kind, if it exists yet.
pub fn translator(direction: Direction, kind: Kind) -> Option<TranslateFn> {
    let spec = KINDS.iter().find(|s| s.kind == kind)?;
    match direction {
        Direction::OicpToOcpi => spec.oicp_to_ocpi,
        Direction::OcpiToOicp => spec.ocpi_to_oicp,
    }
}

/// Translates one document with the default [`Options`] (see the module documentation).
pub fn translate(
    direction: Direction,
    kind: Kind,
    input: &[u8],
    ctx: &MappingCtx,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let options = Options::default();
    let ctx = Context {
        mapping: ctx,
        options: &options,
    };
    translate_with(direction, kind, input, &ctx, out, losses)
}

/// Translates one document with options.
pub fn translate_with(
    direction: Direction,
    kind: Kind,
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let f = translator(direction, kind).ok_or(TranslateError::NotAvailable { direction, kind })?;
    f(input, ctx, out, losses)
}

/// One defect of the input: its JSON path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// JSON path (`$` is the document).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<ValidationError> for InputError {
    fn from(e: ValidationError) -> Self {
        Self {
            path: e.path,
            message: e.message,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a translation failed.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The input is not a valid document of the kind (CLI exit code 1).
    #[error("invalid input: {} error(s)", .0.len())]
    Invalid(Vec<InputError>),
    /// The mapping cannot produce a value (the value tables are broken, or a mapping built an
    /// OCPI/OICP value its own type refuses: a bug). CLI exit code 1.
    #[error("mapping failed: {0}")]
    Mapping(#[from] crate::mapping::MappingError),
    /// The translation needs a value from outside the input that was not given (e.g.
    /// `--hotline`); CLI exit code 2.
    #[error("{0}")]
    Missing(String),
    /// The kind has no mapping in this direction yet (CLI exit code 2).
    #[error("translate {direction} {kind} is not available yet")]
    NotAvailable {
        /// The direction asked for.
        direction: Direction,
        /// The kind asked for.
        kind: Kind,
    },
    /// Writing the output or the notes failed (CLI exit code 2).
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
}

impl TranslateError {
    /// An invalid input with one error.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![InputError::new(path, message)])
    }
}

impl From<Vec<ValidationError>> for TranslateError {
    fn from(errors: Vec<ValidationError>) -> Self {
        Self::Invalid(errors.into_iter().map(InputError::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_names_and_one_row_each() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(*kind));
            assert_eq!(KINDS.iter().filter(|s| s.kind == *kind).count(), 1);
        }
        assert_eq!(Kind::from_name("locations"), Some(Kind::EvseData));
        assert_eq!(Kind::from_name("sessions"), None);
    }

    #[test]
    fn every_kind_has_both_directions() {
        for kind in Kind::ALL {
            for direction in [Direction::OicpToOcpi, Direction::OcpiToOicp] {
                assert!(translator(direction, *kind).is_some(), "{direction} {kind}");
            }
        }
    }

    #[test]
    fn missing_context_is_its_own_error() {
        let ctx = MappingCtx::new(chrono::DateTime::UNIX_EPOCH);
        let err = translate(
            Direction::OcpiToOicp,
            Kind::EvseData,
            b"[]",
            &ctx,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .err();
        assert!(
            matches!(&err, Some(TranslateError::Missing(m)) if m.contains("--hotline")),
            "{err:?}"
        );
    }
}
