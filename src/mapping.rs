//! Pure OICP 2.3 <-> OCPI 2.2.1 mapping functions and their value tables
//! (`shared/docs/oicp-ocpi-mapping.md`, style.md §3.2 items 11-12).
//!
//! * [`tables`]: the value tables in `mappings/*.toml`, embedded at build time, parsed and checked
//!   once. Startup calls [`tables::Tables::load`] to fail fast on a broken table; mapping
//!   functions read the parsed copy through [`tables::tables`].
//! * [`status`]: EVSE status in both directions.
//!
//! # Rules
//! * Mapping code does no IO, reads no clock and uses no store: what it needs from outside
//!   (partner settings, "now", the station's time zone) comes in through [`MappingCtx`].
//! * A conversion that loses information returns [`Mapped`] with one [`LossNote`] per lost
//!   piece; the caller logs them. Nothing is dropped silently.
//! * A conversion that cannot produce a value returns [`MappingError`] with the field path and
//!   the reason (from the table where the table lists the value as unmappable).

pub mod authorize;
pub mod cdr;
pub mod command;
pub mod evse_location;
pub mod location_evse;
mod notes;
pub mod session;
pub mod status;
pub mod tables;
pub mod tariff;
pub mod token;

use chrono::{DateTime, FixedOffset, Utc};

use crate::ocpi::v221::locations::Status;

/// One piece of information a conversion lost: the field path (JSON path of the source field,
/// e.g. `EvseStatus` or `EVSEDataRecord[3].Plugs[0]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossNote {
    /// JSON path of the source field whose information was (partly) lost.
    pub path: String,
    /// What was lost and why.
    pub reason: String,
}

impl LossNote {
    /// A note for `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The result of a conversion that may lose information: the value plus every loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped<T> {
    /// The converted value.
    pub value: T,
    /// What the conversion lost; empty for an exact conversion.
    pub losses: Vec<LossNote>,
}

impl<T> Mapped<T> {
    /// An exact conversion.
    pub fn exact(value: T) -> Self {
        Self {
            value,
            losses: Vec::new(),
        }
    }

    /// Whether nothing was lost.
    pub fn is_exact(&self) -> bool {
        self.losses.is_empty()
    }

    /// Prefixes every loss path with `prefix` (`prefix.path`), for callers that map a field
    /// nested in a larger record.
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        for loss in &mut self.losses {
            loss.path = join_path(prefix, &loss.path);
        }
        self
    }
}

/// A conversion that cannot produce a value: the field path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct MappingError {
    /// JSON path of the source field that failed.
    pub path: String,
    /// Why it cannot be mapped.
    pub reason: String,
}

impl MappingError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Prefixes the path with `prefix` (`prefix.path`).
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        prefix.to_owned()
    } else {
        format!("{prefix}.{path}")
    }
}

/// What a mapping function may know about the world: passed in, never looked up.
///
/// It holds only what the mappings built so far need and grows with them (grouping policy,
/// tariff lookups, … as they arrive). Built with [`MappingCtx::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MappingCtx {
    /// "Now", for `last_updated` stamps and grace periods.
    pub now: DateTime<Utc>,
    /// The station's UTC offset, when known (OICP `Address.TimeZone` carries only an offset).
    pub utc_offset: Option<FixedOffset>,
    /// Per-partner mapping settings.
    pub partner: PartnerMapping,
}

impl MappingCtx {
    /// A context at `now` with default partner settings and no time zone.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            utc_offset: None,
            partner: PartnerMapping::default(),
        }
    }

    /// Sets the station's UTC offset.
    #[must_use]
    pub fn with_utc_offset(mut self, offset: FixedOffset) -> Self {
        self.utc_offset = Some(offset);
        self
    }

    /// Sets the partner settings.
    #[must_use]
    pub fn with_partner(mut self, partner: PartnerMapping) -> Self {
        self.partner = partner;
        self
    }
}

/// Per-partner mapping settings (`oicp-ocpi-mapping.md` §9). Grows with the mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartnerMapping {
    /// The OCPI status for OICP `OutOfService` (§2.1, P8). `None` uses the table's row
    /// (`OUTOFORDER`); a partner that reads `INOPERATIVE` as "unavailable" can set it.
    pub out_of_service_status: Option<Status>,
}

impl PartnerMapping {
    /// Sets the OCPI status for OICP `OutOfService`.
    #[must_use]
    pub fn with_out_of_service_status(mut self, status: Status) -> Self {
        self.out_of_service_status = Some(status);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_join_with_a_dot() {
        let mapped = Mapped {
            value: 1,
            losses: vec![LossNote::new("EvseStatus", "x")],
        }
        .prefixed("EvseStatusRecord[2]");
        assert_eq!(mapped.losses[0].path, "EvseStatusRecord[2].EvseStatus");
        assert!(!mapped.is_exact());
        let err = MappingError::new("status", "no").prefixed("");
        assert_eq!(err.to_string(), "status: no");
        assert!(Mapped::exact(()).is_exact());
    }
}
