//! Small helpers shared by the OCPI -> OICP mappings and the token, authorization and command
//! mappings: loss notes under a path prefix and value-table lookups that note their losses.

use super::tables::{Entry, TableValue};
use super::{LossNote, MappingError};

/// Loss notes collected under one path prefix (`Location[0].evses[1]`).
#[derive(Debug)]
pub(super) struct Notes {
    pub(super) prefix: String,
    pub(super) losses: Vec<LossNote>,
}

impl Notes {
    pub(super) fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            losses: Vec::new(),
        }
    }

    /// The path of `field` under the prefix.
    pub(super) fn path(&self, field: &str) -> String {
        match (self.prefix.is_empty(), field.is_empty()) {
            (true, _) => field.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{field}", self.prefix),
        }
    }

    /// Notes a loss at `field` (relative to the prefix; empty for the prefix itself).
    pub(super) fn add(&mut self, field: &str, reason: impl Into<String>) {
        let path = self.path(field);
        self.losses.push(LossNote::new(path, reason));
    }

    /// Notes a loss at `field` when `lost` holds.
    pub(super) fn add_if(&mut self, lost: bool, field: &str, reason: &str) {
        if lost {
            self.add(field, reason);
        }
    }

    /// An error at `field`.
    pub(super) fn error(&self, field: &str, reason: impl Into<String>) -> MappingError {
        MappingError::new(self.path(field), reason)
    }

    /// Looks a value up in one direction of a table: the mapped value (noting the row's loss),
    /// or `None` with the table's reason (unmappable) or "not a spec value" noted.
    pub(super) fn lookup<T: Clone, V: TableValue>(
        &mut self,
        entry: &Entry<'_, T>,
        value: &V,
        field: &str,
    ) -> Option<T> {
        match entry {
            Entry::Mapped(target) => {
                if let Some(loss) = &target.loss {
                    self.add(field, loss.clone());
                }
                Some(target.value.clone())
            }
            Entry::Unmappable(u) => {
                self.add(field, format!("'{}': {}", value.wire(), u.reason));
                None
            }
            Entry::NotListed => {
                self.add(
                    field,
                    format!("'{}' is not a {} value; not carried", value.wire(), V::KIND),
                );
                None
            }
        }
    }
}

/// The value tables, or an error at `path` when they are broken.
pub(super) fn loaded(path: &str) -> Result<&'static super::tables::Tables, MappingError> {
    super::tables::tables()
        .map_err(|e| MappingError::new(path, format!("the mapping tables are broken: {e}")))
}

/// A value our own code built that the target type refused: a bug, reported as an error.
pub(super) fn built<T, E: std::fmt::Display>(
    path: &str,
    r: Result<T, E>,
) -> Result<T, MappingError> {
    r.map_err(|e| MappingError::new(path, format!("built an invalid value: {e}")))
}

/// The OICP `SessionID` for an OCPI `authorization_reference`: the reference itself when it is
/// a GUID, else (noted) `minted`, the GUID the caller made (§0, P6); the caller keeps the pair.
pub(super) fn session_from_reference(
    reference: Option<&crate::ocpi::v221::ids::AuthorizationReference>,
    minted: &crate::oicp::v23::ids::SessionId,
    notes: &mut Notes,
) -> crate::oicp::v23::ids::SessionId {
    match reference.map(|r| crate::oicp::v23::ids::SessionId::parse(r.as_str())) {
        Some(Ok(id)) => id,
        Some(Err(_)) => {
            notes.add(
                "authorization_reference",
                "not a GUID, which an OICP SessionID must be: the bridge's own SessionID is used and the pair kept",
            );
            minted.clone()
        }
        None => minted.clone(),
    }
}
