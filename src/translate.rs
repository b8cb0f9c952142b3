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
//! # Kinds (see each module for its forms)
//! * [`Kind::EvseData`] (`evse-data`, also spelled `locations`): OICP EVSE data <-> OCPI
//!   Locations ([`evse_data`]); OICP -> OCPI is available.
//! * [`Kind::EvseStatus`] (`evse-status`): both directions ([`evse_status`]).
//! * [`Kind::Cdr`] (`cdr`), [`Kind::Tokens`] (`tokens`), [`Kind::Tariffs`] (`tariffs`): not
//!   available yet.

pub mod evse_data;
pub mod evse_status;
pub mod io;

use std::fmt;
use std::io::Write;

use crate::mapping::{LossNote, MappingCtx};
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

/// One translation: the input bytes, the mapping context, the output and the loss sink.
pub type TranslateFn = fn(
    input: &[u8],
    ctx: &MappingCtx,
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
        oicp_to_ocpi: Some(evse_data::oicp_to_ocpi),
        ocpi_to_oicp: None,
    },
    KindSpec {
        kind: Kind::EvseStatus,
        oicp_to_ocpi: Some(evse_status::oicp_to_ocpi),
        ocpi_to_oicp: Some(evse_status::ocpi_to_oicp),
    },
    KindSpec {
        kind: Kind::Cdr,
        oicp_to_ocpi: None,
        ocpi_to_oicp: None,
    },
    KindSpec {
        kind: Kind::Tokens,
        oicp_to_ocpi: None,
        ocpi_to_oicp: None,
    },
    KindSpec {
        kind: Kind::Tariffs,
        oicp_to_ocpi: None,
        ocpi_to_oicp: None,
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

/// Translates one document (see the module documentation).
pub fn translate(
    direction: Direction,
    kind: Kind,
    input: &[u8],
    ctx: &MappingCtx,
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
    fn missing_mappings_say_so() {
        let ctx = MappingCtx::new(chrono::DateTime::UNIX_EPOCH);
        let err = translate(
            Direction::OcpiToOicp,
            Kind::Cdr,
            b"[]",
            &ctx,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("translate ocpi-to-oicp cdr is not available yet")
        );
    }
}
