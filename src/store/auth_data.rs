//! Authentication data of offline EMPs (`eRoamingPushAuthenticationData`, oicp-2.3.md §3.5)
//! and the offline authorization lookup of `eRoamingAuthorizeStart` (§2.3, routing step 1).
//!
//! # Keys
//! A record is keyed by its provider and its identification: `uid:<UID>` for both RFID
//! identifications (a card is a card, whichever member carried it), and
//! `qr:`/`pnc:`/`remote:` plus the canonical `EvcoID` for the three `EvcoID` based kinds,
//! which are distinct identifications (the wire validation of the push treats them alike).
//! A lookup matches the same medium: a card by UID, a QR code against QR code records, and so
//! on.
//!
//! # PINs
//! A QR code record with a clear `PIN` only matches an authorization carrying the same PIN.
//! A record with a `HashedPIN` matches on the `EvcoID` alone: verifying the PIN would need the
//! EMP's hash function (Bcrypt) and its legacy variants, which the node does not have. Such a
//! record therefore authorizes any PIN for its `EvcoID`; an EMP that needs the PIN checked
//! must not push hashed QR codes for offline use and answer the authorization itself.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::outbox::{self, OutboxEntry};
use super::{Action, Store, StoreError, millis, stored};
use crate::oicp::v23::auth_data::AuthenticationDataRecord;
use crate::oicp::v23::common::{ActionType, Identification, IdentificationKind};
use crate::oicp::v23::ids::{EvcoId, ProviderId, Uid};

/// The `what` of this module's errors.
const WHAT: &str = "authentication data record";

/// The store key of an identification and its readable form for error messages.
fn identification_key(identification: &Identification) -> Option<(String, String)> {
    Some(match identification.kind()? {
        IdentificationKind::RfidMifareFamily(m) => uid_key(&m.uid),
        IdentificationKind::Rfid(m) => uid_key(&m.uid),
        IdentificationKind::QrCode(m) => evco_key("qr", &m.evco_id),
        IdentificationKind::PlugAndCharge(m) => evco_key("pnc", &m.evco_id),
        IdentificationKind::Remote(m) => evco_key("remote", &m.evco_id),
    })
}

fn uid_key(uid: &Uid) -> (String, String) {
    // UIDs are upper-case hex by definition; upper-casing only guards the key.
    (
        format!("uid:{}", uid.as_str().to_ascii_uppercase()),
        uid.as_str().to_owned(),
    )
}

fn evco_key(prefix: &str, evco: &EvcoId) -> (String, String) {
    (
        format!("{prefix}:{}", evco.canonical()),
        evco.as_str().to_owned(),
    )
}

/// One pushed record, ready to store.
#[derive(Debug)]
struct Row {
    key: String,
    shown: String,
    json: String,
}

impl Row {
    fn new(record: &AuthenticationDataRecord) -> Result<Self, StoreError> {
        let (key, shown) = identification_key(&record.identification).ok_or_else(|| {
            StoreError::InvalidInput(
                "an authentication data record has no identification".to_owned(),
            )
        })?;
        Ok(Self {
            key,
            shown,
            json: serde_json::to_string(record)?,
        })
    }
}

fn apply(
    tx: &Connection,
    action: Action,
    provider: &ProviderId,
    rows: &[Row],
    now: i64,
) -> Result<(), StoreError> {
    let provider_key = provider.canonical();
    if matches!(action, Action::Insert | Action::Update) {
        let mut exists = tx
            .prepare_cached("SELECT 1 FROM auth_data WHERE provider_key = ?1 AND ident_key = ?2")?;
        let mut ids = Vec::new();
        for row in rows {
            if exists.exists((&provider_key, &row.key))? == (action == Action::Insert) {
                ids.push(row.shown.clone());
            }
        }
        if !ids.is_empty() {
            return Err(if action == Action::Insert {
                StoreError::AlreadyExists { what: WHAT, ids }
            } else {
                StoreError::NotFound { what: WHAT, ids }
            });
        }
    }
    if action == Action::FullLoad {
        tx.prepare_cached("DELETE FROM auth_data WHERE provider_key = ?1")?
            .execute([&provider_key])?;
    }
    if action == Action::Delete {
        let mut delete =
            tx.prepare_cached("DELETE FROM auth_data WHERE provider_key = ?1 AND ident_key = ?2")?;
        for row in rows {
            delete.execute((&provider_key, &row.key))?;
        }
        return Ok(());
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO auth_data (provider_key, provider_id, ident_key, json, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (provider_key, ident_key) DO UPDATE SET
             provider_id = excluded.provider_id, json = excluded.json,
             updated_at = excluded.updated_at",
    )?;
    for row in rows {
        upsert.execute((&provider_key, provider.as_str(), &row.key, &row.json, now))?;
    }
    Ok(())
}

/// Whether a stored record authorizes `request` (same key already matched): only a clear PIN
/// is compared; see the module documentation.
fn pin_matches(stored: &AuthenticationDataRecord, request: &Identification) -> bool {
    let Some(stored_qr) = &stored.identification.qr_code else {
        return true;
    };
    match &stored_qr.pin {
        Some(pin) => request
            .qr_code
            .as_ref()
            .and_then(|qr| qr.pin.as_ref())
            .is_some_and(|given| given.as_str() == pin.as_str()),
        None => true,
    }
}

impl Store {
    /// Applies an `eRoamingPushAuthenticationData` of `provider` (oicp-2.3.md §3.5) in one
    /// transaction, keyed per identification (see the module documentation):
    ///
    /// * `fullLoad`: the records become the provider's whole set.
    /// * `insert`: fails with [`StoreError::AlreadyExists`] (UIDs / `EvcoID`s as pushed) if any
    ///   record exists, and nothing is written.
    /// * `update`: fails with [`StoreError::NotFound`] if any record is missing, and nothing is
    ///   written.
    /// * `delete`: removes the named records; unknown ones are ignored.
    ///
    /// Queues `outbox` in the same transaction.
    pub async fn apply_auth_data(
        &self,
        provider: &ProviderId,
        action: ActionType,
        records: &[AuthenticationDataRecord],
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let outbox = outbox.to_vec();
        let action = Action::try_from(action)?;
        let rows = records
            .iter()
            .map(Row::new)
            .collect::<Result<Vec<_>, _>>()?;
        let provider = provider.clone();
        let now = millis(now);
        self.write(move |tx| {
            apply(tx, action, &provider, &rows, now)?;
            outbox::enqueue_in(tx, &outbox, now)
        })
        .await
    }

    /// The provider whose pushed authentication data authorizes `identification` offline, if
    /// any (oicp-2.3.md §2.3, `AuthorizeStart` step 1): a card by its UID, an `EvcoID` based
    /// identification by its `EvcoID` and kind. A QR code is checked against a pushed clear
    /// PIN; against a pushed `HashedPIN` the PIN is **not** verified (see the module
    /// documentation). If several providers pushed the same identification, the first in
    /// canonical `ProviderID` order wins.
    pub async fn find_authorization(
        &self,
        identification: &Identification,
    ) -> Result<Option<ProviderId>, StoreError> {
        let Some((key, _)) = identification_key(identification) else {
            return Ok(None);
        };
        let request = identification.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT provider_id, json FROM auth_data WHERE ident_key = ?1
                 ORDER BY provider_key",
            )?;
            let candidates: Vec<(String, String)> = stmt
                .query_map([&key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (provider, json) in candidates {
                let record: AuthenticationDataRecord = serde_json::from_str(&json)?;
                if pin_matches(&record, &request) {
                    return Ok(Some(stored(&provider, "auth_data.provider_id")?));
                }
            }
            Ok(None)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_support::*;
    use super::*;

    fn record(identification: &Value) -> AuthenticationDataRecord {
        wire(&json!({ "Identification": identification }))
    }

    fn ident(value: &Value) -> Identification {
        wire(value)
    }

    fn card(uid: &str) -> Value {
        json!({"RFIDMifareFamilyIdentification": {"UID": uid}})
    }

    #[tokio::test]
    async fn action_types() {
        let store = Store::open_in_memory().await.unwrap();
        let gdf = provider("DE-GDF");
        let first = [record(&card("1234ABCD")), record(&card("AABBCCDD"))];
        store
            .apply_auth_data(&gdf, ActionType::FullLoad, &first, at(0), &[])
            .await
            .unwrap();
        let err = store
            .apply_auth_data(
                &gdf,
                ActionType::Insert,
                &[
                    record(&card("11111111")),
                    record(
                        &json!({"RFIDIdentification": {"UID": "1234ABCD", "RFID": "mifareCls"}}),
                    ),
                ],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::AlreadyExists { what: "authentication data record", ids } if ids == &["1234ABCD"]),
            "{err:?}"
        );
        assert!(
            store
                .find_authorization(&ident(&card("11111111")))
                .await
                .unwrap()
                .is_none()
        );
        let err = store
            .apply_auth_data(
                &gdf,
                ActionType::Update,
                &[record(&card("22222222"))],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::NotFound { ids, .. } if ids == &["22222222"]),
            "{err:?}"
        );
        store
            .apply_auth_data(
                &gdf,
                ActionType::Delete,
                &[record(&card("AABBCCDD")), record(&card("99999999"))],
                at(2),
                &[],
            )
            .await
            .unwrap();
        assert!(
            store
                .find_authorization(&ident(&card("AABBCCDD")))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .find_authorization(&ident(&card("1234ABCD")))
                .await
                .unwrap(),
            Some(gdf.clone())
        );
        // fullLoad replaces the provider's set.
        store
            .apply_auth_data(
                &gdf,
                ActionType::FullLoad,
                &[record(&card("33333333"))],
                at(3),
                &[],
            )
            .await
            .unwrap();
        assert!(
            store
                .find_authorization(&ident(&card("1234ABCD")))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find_authorization(&ident(&card("33333333")))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn lookup_by_uid_and_evco_id() {
        let store = Store::open_in_memory().await.unwrap();
        let gdf = provider("DE*GDF");
        let records = [
            record(
                &json!({"RFIDIdentification": {"UID": "1234ABCD", "RFID": "mifareCls", "EvcoID": "DE-GDF-C12345678-X"}}),
            ),
            record(&json!({"PlugAndChargeIdentification": {"EvcoID": "DE-GDF-CPNC00001-2"}})),
            record(&json!({"RemoteIdentification": {"EvcoID": "DEGDFCREMOTE001"}})),
            record(
                &json!({"QRCodeIdentification": {"EvcoID": "DE-GDF-CQRCLEAR1-4", "PIN": "1234"}}),
            ),
            record(
                &json!({"QRCodeIdentification": {"EvcoID": "DE-GDF-CQRHASH01-5", "HashedPIN": {"Value": "$2a$10$abcdefghijk", "Function": "Bcrypt"}}}),
            ),
        ];
        store
            .apply_auth_data(&gdf, ActionType::FullLoad, &records, at(0), &[])
            .await
            .unwrap();
        let found = |v: Value| {
            let store = store.clone();
            async move { store.find_authorization(&ident(&v)).await.unwrap() }
        };
        // The card, whichever member carries it.
        assert_eq!(found(card("1234ABCD")).await.unwrap().as_str(), "DE*GDF");
        // EvcoIDs, format-insensitive, same medium only.
        assert!(
            found(json!({"PlugAndChargeIdentification": {"EvcoID": "DEGDFCPNC000012"}}))
                .await
                .is_some()
        );
        assert!(
            found(json!({"RemoteIdentification": {"EvcoID": "DE-GDF-CREMOTE00-1"}}))
                .await
                .is_some()
        );
        assert!(
            found(json!({"RemoteIdentification": {"EvcoID": "DE-GDF-CPNC00001-2"}}))
                .await
                .is_none()
        );
        // The card's EvcoID is not a remote identification.
        assert!(
            found(json!({"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}))
                .await
                .is_none()
        );
        // Clear PIN: must match.
        assert!(
            found(json!({"QRCodeIdentification": {"EvcoID": "DE-GDF-CQRCLEAR1-4", "PIN": "1234"}}))
                .await
                .is_some()
        );
        assert!(
            found(json!({"QRCodeIdentification": {"EvcoID": "DE-GDF-CQRCLEAR1-4", "PIN": "9999"}}))
                .await
                .is_none()
        );
        // Hashed PIN: matched on the EvcoID alone.
        assert!(
            found(json!({"QRCodeIdentification": {"EvcoID": "DE-GDF-CQRHASH01-5", "PIN": "0000"}}))
                .await
                .is_some()
        );
        assert!(found(card("FFFFFFFF")).await.is_none());
    }
}
