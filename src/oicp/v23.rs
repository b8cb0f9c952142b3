//! OICP 2.3 (REST/JSON) as published by Hubject, summarised in `../shared/docs/oicp-2.3.md`.
//!
//! * [`ids`]: identifiers as validated newtypes (`EvseID`, `OperatorID`, `ProviderID`, `EvcoID`, UID,
//!   `SessionID`, …) with format-insensitive comparison.
//! * [`scalars`], [`common`], [`status`]: date-times, decimals, bounded texts; Identification,
//!   `GeoCoordinates`, Address and the other shared types; `StatusCode`.
//! * One module per service: [`evse_data`], [`evse_status`], [`authorization`], [`cdr`],
//!   [`notifications`], [`pricing`], [`auth_data`], and [`acknowledgement`].
//! * [`operations`]: the table of operations (method, path, direction, body types) and
//!   validation by operation name.
//! * [`wire`] and [`validate`]: how every type parses leniently but checked, keeps unknown
//!   members, and reports every error with its JSON path.

pub mod wire;

pub mod acknowledgement;
pub mod auth_data;
pub mod authorization;
pub mod cdr;
pub mod common;
pub mod evse_data;
pub mod evse_status;
pub mod ids;
pub mod notifications;
pub mod operations;
pub mod pricing;
pub mod scalars;
pub mod status;
pub mod validate;
