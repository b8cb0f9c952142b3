//! EVSE status in both directions (`oicp-ocpi-mapping.md` §2, table
//! `mappings/evse_status.toml`).
//!
//! Both functions are partial: a value the table lists as unmappable (OICP `EvseNotFound`,
//! OCPI `PLANNED` and `REMOVED`) is not a status on the other side and comes back as a
//! [`MappingError`] carrying the table's reason, which says what the caller does instead (keep
//! the last status; do not push; delete). Values outside the spec (`Unknown(String)` from
//! forwarding parsers) are errors too. Lossy rows (`Occupied`, `OutOfService`, `BLOCKED`,
//! `INOPERATIVE`, `OUTOFORDER`) return a [`LossNote`] with the table's reason.
//!
//! Paths are the field names (`EvseStatus`, `status`); callers prefix them with the record's
//! path ([`Mapped::prefixed`], [`MappingError::prefixed`]).

use super::tables::{Entry, tables};
use super::{LossNote, Mapped, MappingCtx, MappingError};
use crate::ocpi::v221::locations::Status;
use crate::oicp::v23::evse_status::EvseStatus;

/// Path of the OICP field.
const OICP_PATH: &str = "EvseStatus";
/// Path of the OCPI field.
const OCPI_PATH: &str = "status";

/// OICP `EvseStatus` -> OCPI EVSE `status`.
///
/// `OutOfService` uses the partner's setting ([`super::PartnerMapping::out_of_service_status`])
/// when there is one, else the table's `OUTOFORDER` (§9 P8); it is lossy either way.
pub fn oicp_to_ocpi_status(
    status: &EvseStatus,
    ctx: &MappingCtx,
) -> Result<Mapped<Status>, MappingError> {
    match loaded(OICP_PATH)?.evse_status.to_ocpi(status) {
        Entry::Mapped(target) => {
            let value = match (status, &ctx.partner.out_of_service_status) {
                (EvseStatus::OutOfService, Some(chosen)) => chosen.clone(),
                _ => target.value.clone(),
            };
            Ok(with_loss(value, OICP_PATH, target.loss.as_deref()))
        }
        Entry::Unmappable(u) => Err(MappingError::new(
            OICP_PATH,
            format!("'{}' has no OCPI status: {}", status.as_str(), u.reason),
        )),
        Entry::NotListed => Err(not_in_spec(OICP_PATH, status.as_str(), "OICP EvseStatus")),
    }
}

/// OCPI EVSE `status` -> OICP `EvseStatus`.
pub fn ocpi_to_oicp_status(
    status: &Status,
    _ctx: &MappingCtx,
) -> Result<Mapped<EvseStatus>, MappingError> {
    match loaded(OCPI_PATH)?.evse_status.to_oicp(status) {
        Entry::Mapped(target) => Ok(with_loss(
            target.value.clone(),
            OCPI_PATH,
            target.loss.as_deref(),
        )),
        Entry::Unmappable(u) => Err(MappingError::new(
            OCPI_PATH,
            format!("'{}' has no OICP status: {}", status.as_str(), u.reason),
        )),
        Entry::NotListed => Err(not_in_spec(OCPI_PATH, status.as_str(), "OCPI Status")),
    }
}

/// The value tables, or the reason they are missing as a mapping error.
fn loaded(path: &str) -> Result<&'static super::tables::Tables, MappingError> {
    tables().map_err(|e| MappingError::new(path, format!("the mapping tables are broken: {e}")))
}

fn with_loss<T>(value: T, path: &str, loss: Option<&str>) -> Mapped<T> {
    Mapped {
        value,
        losses: loss
            .map(|l| LossNote::new(path, l.to_owned()))
            .into_iter()
            .collect(),
    }
}

fn not_in_spec(path: &str, value: &str, kind: &str) -> MappingError {
    MappingError::new(path, format!("'{value}' is not an {kind} value"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::mapping::PartnerMapping;

    fn ctx() -> MappingCtx {
        MappingCtx::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
    }

    #[test]
    fn every_oicp_status_to_ocpi() {
        let expected: &[(EvseStatus, Option<Status>, bool)] = &[
            (EvseStatus::Available, Some(Status::Available), false),
            (EvseStatus::Reserved, Some(Status::Reserved), false),
            (EvseStatus::Occupied, Some(Status::Charging), true),
            (EvseStatus::OutOfService, Some(Status::OutOfOrder), true),
            (EvseStatus::EvseNotFound, None, false),
            (
                EvseStatus::UnknownStatus,
                Some(Status::StatusUnknown),
                false,
            ),
        ];
        assert_eq!(expected.len(), EvseStatus::ALL.len());
        for (oicp, ocpi, lossy) in expected {
            let got = oicp_to_ocpi_status(oicp, &ctx());
            if let Some(ocpi) = ocpi {
                let mapped = got.unwrap_or_else(|e| panic!("{oicp}: {e}"));
                assert_eq!(&mapped.value, ocpi, "{oicp}");
                assert_eq!(mapped.losses.len(), usize::from(*lossy), "{oicp}");
                assert!(mapped.losses.iter().all(|l| l.path == "EvseStatus"));
            } else {
                let err = got.expect_err("unmappable");
                assert_eq!(err.path, "EvseStatus");
                assert!(err.reason.contains("grace period"), "{err}");
            }
        }
    }

    #[test]
    fn every_ocpi_status_to_oicp() {
        let expected: &[(Status, Option<EvseStatus>, bool)] = &[
            (Status::Available, Some(EvseStatus::Available), false),
            (Status::Blocked, Some(EvseStatus::Occupied), true),
            (Status::Charging, Some(EvseStatus::Occupied), false),
            (Status::Inoperative, Some(EvseStatus::OutOfService), true),
            (Status::OutOfOrder, Some(EvseStatus::OutOfService), true),
            (Status::Planned, None, false),
            (Status::Removed, None, false),
            (Status::Reserved, Some(EvseStatus::Reserved), false),
            (
                Status::StatusUnknown,
                Some(EvseStatus::UnknownStatus),
                false,
            ),
        ];
        assert_eq!(expected.len(), Status::ALL.len());
        for (ocpi, oicp, lossy) in expected {
            let got = ocpi_to_oicp_status(ocpi, &ctx());
            if let Some(oicp) = oicp {
                let mapped = got.unwrap_or_else(|e| panic!("{ocpi}: {e}"));
                assert_eq!(&mapped.value, oicp, "{ocpi}");
                assert_eq!(mapped.losses.len(), usize::from(*lossy), "{ocpi}");
                assert!(mapped.losses.iter().all(|l| l.path == "status"));
            } else {
                let err = got.expect_err("unmappable");
                assert_eq!(err.path, "status");
                assert!(
                    err.reason
                        .starts_with(&format!("'{ocpi}' has no OICP status: "))
                );
            }
        }
    }

    #[test]
    fn partner_setting_chooses_out_of_service_target() {
        let ctx = ctx().with_partner(
            PartnerMapping::default().with_out_of_service_status(Status::Inoperative),
        );
        let mapped = oicp_to_ocpi_status(&EvseStatus::OutOfService, &ctx).unwrap();
        assert_eq!(mapped.value, Status::Inoperative);
        assert_eq!(mapped.losses.len(), 1);
        // Other values ignore the setting.
        let mapped = oicp_to_ocpi_status(&EvseStatus::Available, &ctx).unwrap();
        assert_eq!(mapped.value, Status::Available);
    }

    #[test]
    fn values_outside_the_spec_are_errors() {
        let err = oicp_to_ocpi_status(&EvseStatus::Unknown("Broken".to_owned()), &ctx())
            .expect_err("not in spec");
        assert_eq!(
            err.to_string(),
            "EvseStatus: 'Broken' is not an OICP EvseStatus value"
        );
        let err = ocpi_to_oicp_status(&Status::Unknown("GONE".to_owned()), &ctx())
            .expect_err("not in spec");
        assert_eq!(
            err.to_string(),
            "status: 'GONE' is not an OCPI Status value"
        );
    }

    #[test]
    fn round_trips_of_exact_rows_are_stable() {
        for oicp in EvseStatus::ALL {
            let Ok(there) = oicp_to_ocpi_status(oicp, &ctx()) else {
                continue;
            };
            let back = ocpi_to_oicp_status(&there.value, &ctx()).unwrap();
            assert_eq!(&back.value, oicp, "{oicp} -> {} -> back", there.value);
        }
    }
}
