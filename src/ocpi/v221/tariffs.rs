//! Tariffs module (`tariffs`, data owner CPO): Tariff, its elements, price components and
//! restrictions (ocpi-2.2.1.md §4.4, §5).

use super::ids::{CountryCode, PartyId, TariffId};
use super::types::{
    Date, DateTime, DisplayText, EnergyMix, Number, OcpiString, Price, TimeOfDay, Url,
};
use super::{Validate, Validator, no_cross_member_rules};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `TariffType` (ocpi-2.2.1.md §5): when a Tariff applies.
    pub enum TariffType {
        AdHocPayment = "AD_HOC_PAYMENT",
        ProfileCheap = "PROFILE_CHEAP",
        ProfileFast = "PROFILE_FAST",
        ProfileGreen = "PROFILE_GREEN",
        Regular = "REGULAR",
    }
}

wire_enum! {
    /// `TariffDimensionType` (ocpi-2.2.1.md §5): what a price component prices. `ENERGY` per
    /// kWh (step 1 Wh), `FLAT` per session, `TIME`/`PARKING_TIME` per hour (step 1 s).
    pub enum TariffDimensionType {
        Energy = "ENERGY",
        Flat = "FLAT",
        ParkingTime = "PARKING_TIME",
        Time = "TIME",
    }
}

wire_enum! {
    /// `DayOfWeek` of a tariff restriction (ocpi-2.2.1.md §5).
    pub enum DayOfWeek {
        Monday = "MONDAY",
        Tuesday = "TUESDAY",
        Wednesday = "WEDNESDAY",
        Thursday = "THURSDAY",
        Friday = "FRIDAY",
        Saturday = "SATURDAY",
        Sunday = "SUNDAY",
    }
}

wire_enum! {
    /// `ReservationRestrictionType` (ocpi-2.2.1.md §5): the element prices a reservation, or
    /// an expired one.
    pub enum ReservationRestrictionType {
        Reservation = "RESERVATION",
        ReservationExpires = "RESERVATION_EXPIRES",
    }
}

wire_struct! {
    /// `PriceComponent` (ocpi-2.2.1.md §5): the price of one dimension.
    pub struct PriceComponent {
        /// The dimension priced (wire key `type`).
        req "type" => dimension_type: TariffDimensionType,
        /// Price per unit, excluding VAT.
        req "price" => price: Number,
        /// VAT percentage; absent means no VAT applies, which is not 0 %.
        opt "vat" => vat: Number,
        /// Billing step in the dimension's step unit.
        req "step_size" => step_size: i64,
    }
}

wire_struct! {
    /// `TariffRestrictions` (ocpi-2.2.1.md §5): when an element is active; all given
    /// restrictions must hold. Times and dates are local to the Location's `time_zone`; an
    /// `end_time` before `start_time` wraps past midnight, `end_date` is exclusive.
    pub struct TariffRestrictions {
        /// Active from this time of day.
        opt "start_time" => start_time: TimeOfDay,
        /// Active until this time of day (`00:00` for the end of the day).
        opt "end_time" => end_time: TimeOfDay,
        /// Active from this date (inclusive).
        opt "start_date" => start_date: Date,
        /// Active until this date (exclusive).
        opt "end_date" => end_date: Date,
        /// Active from this energy, kWh (inclusive).
        opt "min_kwh" => min_kwh: Number,
        /// Active until this energy, kWh (exclusive).
        opt "max_kwh" => max_kwh: Number,
        /// Active while the current (sum over phases, A) is at least this.
        opt "min_current" => min_current: Number,
        /// Active while the current (sum over phases, A) is below this.
        opt "max_current" => max_current: Number,
        /// Active while the power (kW) is at least this.
        opt "min_power" => min_power: Number,
        /// Active while the power (kW) is below this.
        opt "max_power" => max_power: Number,
        /// Active once the session lasted this many seconds (inclusive).
        opt "min_duration" => min_duration: i64,
        /// Active until the session lasted this many seconds (exclusive).
        opt "max_duration" => max_duration: i64,
        /// Active on these days.
        optlist "day_of_week" => day_of_week: DayOfWeek,
        /// The element prices a reservation.
        opt "reservation" => reservation: ReservationRestrictionType,
    }
}

wire_struct! {
    /// `TariffElement` (ocpi-2.2.1.md §5): price components sharing restrictions.
    pub struct TariffElement {
        /// Price components, at least one.
        nelist "price_components" => price_components: PriceComponent,
        /// When the components apply.
        opt "restrictions" => restrictions: TariffRestrictions,
    }
}

wire_struct! {
    /// `Tariff` (ocpi-2.2.1.md §5, §4.4): how a CPO prices sessions at the connectors that
    /// reference it.
    pub struct Tariff {
        /// ISO 3166-1 alpha-2 code of the owning CPO.
        req "country_code" => country_code: CountryCode,
        /// Party id of the owning CPO.
        req "party_id" => party_id: PartyId,
        /// Tariff id, unique per CPO.
        req "id" => id: TariffId,
        /// ISO 4217 currency, `string(3)`.
        req "currency" => currency: OcpiString<3>,
        /// When the tariff applies (wire key `type`).
        opt "type" => tariff_type: TariffType,
        /// Human-readable description.
        optlist "tariff_alt_text" => tariff_alt_text: DisplayText,
        /// Web page describing the tariff.
        opt "tariff_alt_url" => tariff_alt_url: Url,
        /// Minimum price of a session.
        opt "min_price" => min_price: Price,
        /// Maximum price of a session.
        opt "max_price" => max_price: Price,
        /// Elements, at least one; the first matching one per dimension wins.
        nelist "elements" => elements: TariffElement,
        /// Valid from.
        opt "start_date_time" => start_date_time: DateTime,
        /// Valid until.
        opt "end_date_time" => end_date_time: DateTime,
        /// Energy mix of the tariff.
        opt "energy_mix" => energy_mix: EnergyMix,
        /// Last change.
        req "last_updated" => last_updated: DateTime,
    }
}

impl Validate for Tariff {
    fn validate(&self, v: &mut Validator) {
        v.each("elements", &self.elements);
        v.nested_opt("energy_mix", self.energy_mix.as_ref());
    }
}

impl Validate for TariffElement {
    /// ocpi-2.2.1.md §5 `TariffRestrictions.reservation`: a reservation element has only
    /// `FLAT` and `TIME` components.
    fn validate(&self, v: &mut Validator) {
        let reservation = self
            .restrictions
            .as_ref()
            .and_then(|r| r.reservation.as_ref());
        if let Some(reservation) = reservation {
            v.at("price_components", |v| {
                for (i, c) in self.price_components.iter().enumerate() {
                    if !matches!(
                        c.dimension_type,
                        TariffDimensionType::Flat | TariffDimensionType::Time
                    ) {
                        v.at_index(i, |v| {
                            v.error_at(
                                "type",
                                format!(
                                    "an element restricted to {reservation} may only price FLAT and TIME, not {}",
                                    c.dimension_type
                                ),
                            );
                        });
                    }
                }
            });
        }
    }
}

no_cross_member_rules!(
    PriceComponent,
    TariffRestrictions,
    TariffType,
    TariffDimensionType,
    DayOfWeek,
    ReservationRestrictionType,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::{ValidationError, parse};

    fn sorted_paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn tariff() -> serde_json::Value {
        serde_json::json!({
            "country_code": "DE", "party_id": "RBG", "id": "AC-STD", "currency": "EUR",
            "type": "REGULAR",
            "tariff_alt_text": [{"language": "de", "text": "0,39 EUR/kWh, ab 4 h 0,10 EUR/min"}],
            "elements": [
                {"price_components": [{"type": "PARKING_TIME", "price": 6, "vat": 19, "step_size": 60}],
                 "restrictions": {"min_duration": 14400, "day_of_week": ["MONDAY", "FRIDAY"],
                                  "start_time": "22:00", "end_time": "06:00",
                                  "start_date": "2024-01-01"}},
                {"price_components": [{"type": "ENERGY", "price": 0.3277, "vat": 19, "step_size": 1}]}
            ],
            "last_updated": "2024-01-01T00:00:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn a_valid_tariff_round_trips() {
        let v = tariff();
        let t: Tariff = parse(&bytes(&v)).unwrap();
        assert_eq!(t.elements.len(), 2);
        assert_eq!(serde_json::to_value(&t).unwrap(), v);
    }

    #[test]
    fn elements_are_mandatory_and_not_empty() {
        let mut v = tariff();
        v["elements"] = serde_json::json!([]);
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.elements"]);
        assert!(
            errors[0].message.contains("must not be empty"),
            "{errors:?}"
        );
        v["elements"] = serde_json::json!([{"price_components": []}]);
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.elements[0].price_components"]);
    }

    #[test]
    fn restriction_formats_and_enums() {
        let mut v = tariff();
        v["elements"][0]["restrictions"]["start_time"] = "22:00:00".into();
        v["elements"][0]["restrictions"]["day_of_week"] = serde_json::json!(["MONDAY", "MON"]);
        v["elements"][1]["price_components"][0]["step_size"] = serde_json::json!(1.5);
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            [
                "$.elements[0].restrictions.day_of_week[1]",
                "$.elements[0].restrictions.start_time",
                "$.elements[1].price_components[0].step_size"
            ]
        );
    }

    #[test]
    fn reservation_elements_price_flat_and_time_only() {
        let mut v = tariff();
        v["elements"][0]["restrictions"] = serde_json::json!({"reservation": "RESERVATION"});
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            ["$.elements[0].price_components[0].type"]
        );
        v["elements"][0]["price_components"][0]["type"] = "TIME".into();
        assert!(parse::<Tariff>(&bytes(&v)).is_ok());
    }

    #[test]
    fn ids() {
        let mut v = tariff();
        v["id"] = "T".repeat(37).into();
        v["party_id"] = "RB".into();
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.id", "$.party_id"]);
        let t: Tariff = parse(&bytes(&tariff())).unwrap();
        assert_eq!(t.id, TariffId::parse("ac-std").unwrap());
    }

    #[test]
    fn last_updated_is_mandatory() {
        let mut v = tariff();
        v.as_object_mut().unwrap().remove("last_updated");
        let errors = parse::<Tariff>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.last_updated"]);
    }
}
