//! Builders for the store's tests: records parsed from small JSON literals with the same
//! parser the node uses, so every test record is a valid OICP record.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::RawPeer;
use crate::oicp::v23::evse_data::{EvseDataRecord, PullEvseData};
use crate::oicp::v23::ids::{OperatorId, ProviderId};
use crate::oicp::v23::validate::Validate;
use crate::oicp::v23::wire::parse;

/// 2024-05-01T10:00:00Z plus `secs` seconds.
pub(super) fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

pub(super) fn op(s: &str) -> OperatorId {
    OperatorId::parse(s).unwrap()
}

pub(super) fn provider(s: &str) -> ProviderId {
    ProviderId::parse(s).unwrap()
}

/// Parses and validates `value` as `T`.
pub(super) fn wire<T: DeserializeOwned + Validate>(value: &Value) -> T {
    parse::<T>(&serde_json::to_vec(value).unwrap()).unwrap_or_else(|e| panic!("{e:#?}"))
}

/// `base` with the members of `patch` set (a `null` removes the member).
pub(super) fn patched(mut base: Value, patch: &Value) -> Value {
    if let (Some(target), Some(patch)) = (base.as_object_mut(), patch.as_object()) {
        for (k, v) in patch {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

/// A valid EVSE data record in Berlin (a Google coordinate), with `patch` applied.
pub(super) fn evse(evse_id: &str, patch: &Value) -> EvseDataRecord {
    let base = json!({
        "EvseID": evse_id,
        "ChargingStationNames": [{"lang": "de", "value": "Ladepunkt"}],
        "Address": {"Country": "DEU", "City": "Berlin", "Street": "Hauptstraße", "PostalCode": "10827", "HouseNum": "5"},
        "GeoCoordinates": {"Google": {"Coordinates": "52.480495 13.356465"}},
        "Plugs": ["Type 2 Outlet"],
        "ChargingFacilities": [{"PowerType": "AC_3_PHASE", "Power": 22}],
        "RenewableEnergy": false,
        "CalibrationLawDataAvailability": "Local",
        "AuthenticationModes": ["NFC RFID Classic"],
        "PaymentOptions": ["Contract"],
        "ValueAddedServices": ["None"],
        "Accessibility": "Free publicly accessible",
        "HotlinePhoneNumber": "+49301234567",
        "IsOpen24Hours": true,
        "IsHubjectCompatible": true,
        "DynamicInfoAvailable": "auto"
    });
    wire(&patched(base, patch))
}

/// A `PullEvseData` of provider DE-GDF asking for Google coordinates, with `patch` applied.
pub(super) fn pull_request(patch: &Value) -> PullEvseData {
    let base = json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"});
    wire(&patched(base, patch))
}

pub(super) fn raw_peer(role: &str, id: &str) -> RawPeer {
    RawPeer {
        role: role.to_owned(),
        id: id.to_owned(),
        url: "https://peer.example/api/oicp".to_owned(),
        timeout_ms: None,
        token: None,
        inbound_token: None,
        protocol: None,
        ocpi: None,
    }
}

/// A fresh directory under the system temp directory, unique to this process and `name`.
pub(super) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "roambridge-store-{}-{name}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Holds the store thread until the returned sender is used (or dropped), so that the work
/// sent meanwhile queues up and is taken at once: status updates sent meanwhile are written
/// as one batch.
pub(super) fn hold(store: &super::Store) -> std::sync::mpsc::Sender<()> {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    store
        .send(super::worker::Job::Run(Box::new(move |_| {
            let _ = wait.recv();
        })))
        .unwrap();
    release
}

/// Releases a held store thread once the futures polled before this one have sent their work.
pub(super) async fn released(release: std::sync::mpsc::Sender<()>) {
    tokio::task::yield_now().await;
    release.send(()).unwrap();
}

/// Makes the store refuse to insert the status of the EVSE `key` (canonical `EvseID`), inside
/// `SQLite`, so that a write fails there.
pub(super) async fn refuse_status_of(store: &super::Store, key: &'static str) {
    store
        .run(move |c| {
            c.execute_batch(&format!(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON evse_status
                 WHEN NEW.evse_key = '{key}'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
            ))?;
            Ok(())
        })
        .await
        .unwrap();
}
