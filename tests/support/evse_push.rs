//! Generated `eRoamingPushEvseData` bodies for the OCPI CPO tests and the locations load
//! example: `locations` charging pools of operator `DE*GEF`, `per_pool` EVSEs each.

#![allow(dead_code)]

use serde_json::{Value, json};

/// The `EvseID` of EVSE `e` (1-based) of pool `pool`.
pub fn evse_id(pool: usize, e: usize) -> String {
    format!("DE*GEF*E{pool:06}*{e}")
}

/// One EVSE data record of pool `pool`.
#[expect(clippy::cast_precision_loss, reason = "coordinates from small indices")]
pub fn record(pool: usize, e: usize) -> Value {
    let lat = 48.0 + (pool % 1000) as f64 * 0.001;
    let lon = 9.0 + (pool / 1000) as f64 * 0.001;
    json!({
        "EvseID": evse_id(pool, e),
        "ChargingPoolID": format!("DE*GEF*P{pool:06}"),
        "ChargingStationNames": [{"lang": "de", "value": format!("Ladepark {pool}")}],
        "Address": {"Country": "DEU", "City": "Stuttgart", "Street": "Hauptstrasse",
                    "PostalCode": "70173", "HouseNum": format!("{}", pool % 300 + 1)},
        "GeoCoordinates": {"Google": {"Coordinates": format!("{lat:.6} {lon:.6}")}},
        "Plugs": ["Type 2 Outlet"],
        "ChargingFacilities": [{"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 32,
                                "Power": 22}],
        "RenewableEnergy": true,
        "CalibrationLawDataAvailability": "Local",
        "AuthenticationModes": ["NFC RFID Classic", "REMOTE"],
        "PaymentOptions": ["Contract"],
        "ValueAddedServices": ["Reservation"],
        "Accessibility": "Free publicly accessible",
        "HotlinePhoneNumber": "+4971112345678",
        "IsOpen24Hours": true,
        "IsHubjectCompatible": true,
        "DynamicInfoAvailable": "auto"
    })
}

/// A `fullLoad` of `locations` pools with `per_pool` EVSEs each.
pub fn full_load(locations: usize, per_pool: usize) -> Value {
    let records: Vec<Value> = (0..locations)
        .flat_map(|p| (1..=per_pool).map(move |e| record(p, e)))
        .collect();
    json!({
        "ActionType": "fullLoad",
        "OperatorEvseData": {"OperatorID": "DE*GEF", "OperatorName": "GEF Charging",
                             "EvseDataRecord": records}
    })
}

/// A status `update` of the EVSEs `(pool, e)` to `status`.
pub fn status_update(evses: &[(usize, usize)], status: &str) -> Value {
    let records: Vec<Value> = evses
        .iter()
        .map(|(p, e)| json!({"EvseID": evse_id(*p, *e), "EvseStatus": status}))
        .collect();
    json!({
        "ActionType": "update",
        "OperatorEvseStatus": {"OperatorID": "DE*GEF", "OperatorName": "GEF Charging",
                               "EvseStatusRecord": records}
    })
}
