//! OCPI 2.2.1 wire types for the objects the OICP mapping needs, summarised in
//! `../shared/docs/ocpi-2.2.1.md` (section numbers below refer to that file).
//!
//! * [`ids`]: `CiString(n)` and the identifier newtypes (`country_code`, `party_id`, Location,
//!   EVSE, Connector, Token, Session, CDR and Tariff ids, …), compared case-insensitively.
//! * [`types`]: the shared types of §1.6 and §5 (`DateTime`, `string(n)`, `number`, `Price`,
//!   `DisplayText`, `GeoLocation`, `BusinessDetails`, `Image`, `EnergyMix`, `Hours`, …).
//! * One module per functional module: [`locations`], [`sessions`], [`cdrs`], [`tariffs`],
//!   [`tokens`], [`commands`].
//!
//! Every object is built with the same machinery as the OICP model
//! ([`wire_struct!`](crate::wire_struct), [`wire_enum!`](crate::wire_enum)) and parsed with
//! [`parse`], [`parse_forwarding`] or [`parse_value`], which report every broken rule with its
//! JSON path.
//!
//! # Decisions
//! * **Members.** Keys are the spec's `snake_case` names, listed explicitly. `null` counts as
//!   absent; a mandatory member that is absent or `null` is an error (the textbook OCPI 2001
//!   case, §2). Unknown members are kept verbatim in `extra` and written back: OCPI 2.3 tells
//!   receivers not to reject payloads for unknown fields (§7.3), and a forwarded object should
//!   lose nothing. Cardinality `*` is an optional list (absent and `[]` both round-trip as sent),
//!   `+` a mandatory non-empty list.
//! * **Wire key `type`** becomes a field named after what it types (`token_type`,
//!   `dimension_type`, `tariff_type`, `image_type`).
//! * **Enums are closed** as in §5: [`parse`] rejects a value outside the spec's list and names
//!   the allowed values; [`parse_forwarding`] keeps it as `Unknown(String)` (§7.3 opens many of
//!   them in 2.3.0, so a message that is only passed on should not die on a newer value).
//! * **`last_updated`** is mandatory on every module object (Location, EVSE, Connector, Session,
//!   CDR, Tariff, Token) and on every PATCH body ([`locations::LocationPatch`],
//!   [`locations::EvsePatch`], [`locations::ConnectorPatch`], [`sessions::SessionPatch`],
//!   [`tokens::TokenPatch`]), §1.10–§1.11. That a parent's `last_updated` is not older than
//!   its children's follows from the update rule of §1.11 but is not checked: it describes how
//!   to update, and a receiver rejecting a Location for it would gain nothing.
//! * **Rules between members** are [`Validate`] impls and only the ones the spec states (each
//!   cites its section). Deliberately *not* rules: Connector `max_electric_power` versus
//!   voltage × amperage (advice, §5), and the swapped coordinates of the spec's CDR example
//!   (still regex-valid, §4.3).
//! * **Errors** are the shared [`ValidationError`]s. Their `code` is the OICP code of the shared
//!   machinery (022); at the OCPI edge every one of them answers OCPI status 2001 ("invalid or
//!   missing parameters", §2) with HTTP 200.

pub mod cdrs;
pub mod commands;
pub mod ids;
pub mod locations;
pub mod sessions;
pub mod tariffs;
pub mod tokens;
pub mod types;
pub mod versions;

pub use crate::oicp::v23::validate::{Validate, ValidationError, Validator};
pub use crate::oicp::v23::wire::{Extra, parse, parse_forwarding, parse_value};

/// Validates every element of an optional list at `key`.
pub(crate) fn each_opt<T: Validate>(v: &mut Validator, key: &str, items: Option<&Vec<T>>) {
    if let Some(items) = items {
        v.each(key, items);
    }
}

/// Implements [`Validate`] for types whose every rule is checked while parsing.
macro_rules! no_cross_member_rules {
    ($($t:ty),* $(,)?) => {
        $(
            impl $crate::ocpi::v221::Validate for $t {
                fn validate(&self, _: &mut $crate::ocpi::v221::Validator) {}
            }
        )*
    };
}
pub(crate) use no_cross_member_rules;
