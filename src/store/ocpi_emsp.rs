//! What OCPI CPO partners push to the eMSP side (migration 0006): Locations (each with its
//! EVSEs and Connectors, one record), Sessions and CDRs, keyed by kind, the owner's
//! `country_code`/`party_id` and the object id, all upper case (they are `CiString`s,
//! ocpi-2.2.1.md §1.6), with the object's `last_updated` for ordering and date filters.
//!
//! The store only keeps records; the PUT/PATCH rules live in `node::ocpi::emsp`, which reads
//! and writes a record in one transaction through [`Store::ocpi_emsp_modify`].

use rusqlite::OptionalExtension as _;

use super::{Store, StoreError};

/// Which kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmspKind {
    /// A Location with its EVSEs and Connectors.
    Location,
    /// A Session.
    Session,
    /// A CDR.
    Cdr,
}

impl EmspKind {
    /// The `kind` column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Location => "location",
            Self::Session => "session",
            Self::Cdr => "cdr",
        }
    }
}

/// The key of one object: kind, owner and id (stored upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmspKey {
    /// Which kind.
    pub kind: EmspKind,
    /// The owner's country code.
    pub country_code: String,
    /// The owner's party id.
    pub party_id: String,
    /// The object id.
    pub id: String,
}

impl EmspKey {
    /// A key; the parts are upper-cased.
    pub fn new(kind: EmspKind, country_code: &str, party_id: &str, id: &str) -> Self {
        Self {
            kind,
            country_code: country_code.to_ascii_uppercase(),
            party_id: party_id.to_ascii_uppercase(),
            id: id.to_ascii_uppercase(),
        }
    }
}

/// One stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct EmspRecord {
    /// Its `last_updated` in UTC milliseconds.
    pub last_updated: i64,
    /// The object.
    pub json: serde_json::Value,
}

fn read_record(json: &str, last_updated: i64) -> Result<EmspRecord, StoreError> {
    Ok(EmspRecord {
        last_updated,
        json: serde_json::from_str(json)?,
    })
}

impl Store {
    /// The stored object with `key`.
    pub async fn ocpi_emsp_get(&self, key: EmspKey) -> Result<Option<EmspRecord>, StoreError> {
        self.run(move |conn| {
            let row = conn
                .prepare_cached(
                    "SELECT json, last_updated FROM ocpi_emsp_object
                     WHERE kind = ?1 AND country_code = ?2 AND party_id = ?3 AND id = ?4",
                )?
                .query_row(
                    (key.kind.as_str(), &key.country_code, &key.party_id, &key.id),
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()?;
            row.map(|(json, at)| read_record(&json, at)).transpose()
        })
        .await
    }

    /// Reads the object with `key` and lets `decide` say what to store in its place, in one
    /// transaction: `decide` gets the stored record (if any) and returns the record to write
    /// (`None`: leave it as it is) and its own answer.
    pub async fn ocpi_emsp_modify<T, F>(&self, key: EmspKey, decide: F) -> Result<T, StoreError>
    where
        F: FnOnce(Option<EmspRecord>) -> (Option<EmspRecord>, T) + Send + 'static,
        T: Send + 'static,
    {
        self.write(move |tx| {
            let params = (key.kind.as_str(), &key.country_code, &key.party_id, &key.id);
            let row = tx
                .prepare_cached(
                    "SELECT json, last_updated FROM ocpi_emsp_object
                     WHERE kind = ?1 AND country_code = ?2 AND party_id = ?3 AND id = ?4",
                )?
                .query_row(params, |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()?;
            let stored = row.map(|(json, at)| read_record(&json, at)).transpose()?;
            let (write, answer) = decide(stored);
            if let Some(record) = write {
                tx.prepare_cached(
                    "INSERT INTO ocpi_emsp_object
                         (kind, country_code, party_id, id, last_updated, json)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (kind, country_code, party_id, id)
                     DO UPDATE SET last_updated = excluded.last_updated, json = excluded.json",
                )?
                .execute((
                    key.kind.as_str(),
                    &key.country_code,
                    &key.party_id,
                    &key.id,
                    record.last_updated,
                    serde_json::to_string(&record.json)?,
                ))?;
            }
            Ok(answer)
        })
        .await
    }

    /// A page of objects of `kind` by `last_updated` then key, and how many there are.
    pub async fn ocpi_emsp_page(
        &self,
        kind: EmspKind,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<EmspRecord>, u64), StoreError> {
        self.run(move |conn| {
            let total: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM ocpi_emsp_object WHERE kind = ?1")?
                .query_row([kind.as_str()], |r| r.get(0))?;
            let mut stmt = conn.prepare_cached(
                "SELECT json, last_updated FROM ocpi_emsp_object WHERE kind = ?1
                 ORDER BY last_updated, country_code, party_id, id LIMIT ?2 OFFSET ?3",
            )?;
            let rows = stmt.query_map(
                (
                    kind.as_str(),
                    i64::from(limit),
                    i64::try_from(offset).unwrap_or(i64::MAX),
                ),
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )?;
            let mut out = Vec::new();
            for row in rows {
                let (json, at) = row?;
                out.push(read_record(&json, at)?);
            }
            Ok((out, u64::try_from(total).unwrap_or(0)))
        })
        .await
    }
}

/// Where an EVSE is in the Locations a CPO pushed to the eMSP side (for commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmspEvse {
    /// The Location's id, as stored.
    pub location_id: String,
    /// The EVSE's `uid`, as stored.
    pub evse_uid: String,
    /// Its `evse_id`, as stored.
    pub evse_id: String,
    /// Its connector ids, in order.
    pub connector_ids: Vec<String>,
}

impl Store {
    /// The EVSEs whose `evse_id` is `evse_id` without regard to case and to the separators
    /// `*`, `-` and `|` (`canonical` is the OICP canonical form: upper case, no separators), in
    /// the Locations of the CPO `country_code`/`party_id` (upper case). The caller checks the
    /// exact match; a full scan of that CPO's Locations (no index on EVSE ids).
    pub async fn ocpi_emsp_find_evse(
        &self,
        country_code: &str,
        party_id: &str,
        canonical: &str,
    ) -> Result<Vec<EmspEvse>, StoreError> {
        let (cc, pid, key) = (
            country_code.to_ascii_uppercase(),
            party_id.to_ascii_uppercase(),
            canonical.to_owned(),
        );
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT json_extract(o.json, '$.id'), json_extract(e.value, '$.uid'),
                        json_extract(e.value, '$.evse_id'),
                        COALESCE(json_extract(e.value, '$.connectors'), '[]')
                 FROM ocpi_emsp_object o, json_each(o.json, '$.evses') e
                 WHERE o.kind = 'location' AND o.country_code = ?1 AND o.party_id = ?2
                   AND replace(replace(replace(ltrim(upper(json_extract(e.value, '$.evse_id')),
                       '+'), '*', ''), '-', ''), '|', '') = ?3",
            )?;
            let rows = stmt.query_map((&cc, &pid, &key), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (location_id, uid, evse_id, connectors) = row?;
                let connectors: Vec<serde_json::Value> = serde_json::from_str(&connectors)?;
                out.push(EmspEvse {
                    location_id,
                    evse_uid: uid,
                    evse_id,
                    connector_ids: connectors
                        .iter()
                        .filter_map(|c| c.get("id")?.as_str().map(str::to_owned))
                        .collect(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// The ids of the Sessions of the CPO `country_code`/`party_id` whose
    /// `authorization_reference` is `reference` (without regard to case), newest first.
    pub async fn ocpi_emsp_sessions_by_reference(
        &self,
        country_code: &str,
        party_id: &str,
        reference: &str,
    ) -> Result<Vec<String>, StoreError> {
        let (cc, pid, reference) = (
            country_code.to_ascii_uppercase(),
            party_id.to_ascii_uppercase(),
            reference.to_ascii_uppercase(),
        );
        self.run(move |conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT json_extract(json, '$.id') FROM ocpi_emsp_object
                     WHERE kind = 'session' AND country_code = ?1 AND party_id = ?2
                       AND upper(json_extract(json, '$.authorization_reference')) = ?3
                     ORDER BY last_updated DESC",
                )?
                .query_map((&cc, &pid, &reference), |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids)
        })
        .await
    }
}

/// A page of one provider's pushed authentication data (for the OCPI Tokens SENDER): the
/// records as stored JSON with their change time (UTC milliseconds), by change time then
/// identification, within `[from, to)`, and how many match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthDataPage {
    /// `(AuthenticationDataRecord JSON, updated_at)`.
    pub records: Vec<(String, i64)>,
    /// How many records match the window.
    pub total: u64,
}

impl Store {
    /// See [`AuthDataPage`].
    pub async fn auth_data_page(
        &self,
        provider: &crate::oicp::v23::ids::ProviderId,
        window: (Option<i64>, Option<i64>),
        offset: u64,
        limit: u32,
    ) -> Result<AuthDataPage, StoreError> {
        let key = provider.canonical();
        let (from, to) = (window.0.unwrap_or(i64::MIN), window.1.unwrap_or(i64::MAX));
        self.run(move |conn| {
            let total: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM auth_data
                     WHERE provider_key = ?1 AND updated_at >= ?2 AND updated_at < ?3",
                )?
                .query_row((&key, from, to), |r| r.get(0))?;
            let mut stmt = conn.prepare_cached(
                "SELECT json, updated_at FROM auth_data
                 WHERE provider_key = ?1 AND updated_at >= ?2 AND updated_at < ?3
                 ORDER BY updated_at, ident_key LIMIT ?4 OFFSET ?5",
            )?;
            let rows = stmt.query_map(
                (
                    &key,
                    from,
                    to,
                    i64::from(limit),
                    i64::try_from(offset).unwrap_or(i64::MAX),
                ),
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )?;
            let records = rows.collect::<Result<Vec<_>, _>>()?;
            Ok(AuthDataPage {
                records,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn evses_are_found_by_canonical_id_and_sessions_by_reference() {
        let store = Store::open_in_memory().await.unwrap();
        let put = |kind, id: &str, json: serde_json::Value| {
            let store = store.clone();
            let key = EmspKey::new(kind, "DE", "GEF", id);
            async move {
                store
                    .ocpi_emsp_modify(key, move |_| {
                        (
                            Some(EmspRecord {
                                last_updated: 1,
                                json,
                            }),
                            (),
                        )
                    })
                    .await
                    .unwrap();
            }
        };
        put(
            EmspKind::Location,
            "L1",
            json!({"id": "L1", "evses": [
                {"uid": "E0", "evse_id": "DE*GEF*E0"},
                {"uid": "E1", "evse_id": "de*gef*e1", "connectors": [{"id": "2"}, {"id": "1"}]}]}),
        )
        .await;
        put(EmspKind::Location, "L2", json!({"id": "L2"})).await;
        put(
            EmspKind::Session,
            "S1",
            json!({"id": "S1", "authorization_reference": "abc"}),
        )
        .await;
        let found = store
            .ocpi_emsp_find_evse("de", "gef", "DEGEFE1")
            .await
            .unwrap();
        assert_eq!(
            found,
            [EmspEvse {
                location_id: "L1".into(),
                evse_uid: "E1".into(),
                evse_id: "de*gef*e1".into(),
                connector_ids: vec!["2".into(), "1".into()],
            }]
        );
        assert!(
            store
                .ocpi_emsp_find_evse("DE", "GEF", "DEGEFE9")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .ocpi_emsp_find_evse("NL", "GEF", "DEGEFE1")
                .await
                .unwrap()
                .is_empty()
        );
        let ids = store
            .ocpi_emsp_sessions_by_reference("DE", "GEF", "ABC")
            .await
            .unwrap();
        assert_eq!(ids, ["S1"]);
        assert!(
            store
                .ocpi_emsp_sessions_by_reference("DE", "GEF", "other")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn records_are_keyed_case_insensitively_and_replaced_in_place() {
        let store = Store::open_in_memory().await.unwrap();
        let key = EmspKey::new(EmspKind::Location, "nl", "tnm", "loc1");
        let created = store
            .ocpi_emsp_modify(key.clone(), |old| {
                let record = EmspRecord {
                    last_updated: 5,
                    json: json!({"id": "loc1"}),
                };
                (Some(record), old.is_none())
            })
            .await
            .unwrap();
        assert!(created);
        let upper = EmspKey::new(EmspKind::Location, "NL", "TNM", "LOC1");
        let got = store.ocpi_emsp_get(upper.clone()).await.unwrap().unwrap();
        assert_eq!((got.last_updated, got.json), (5, json!({"id": "loc1"})));
        // Deciding to write nothing leaves the record.
        let seen = store
            .ocpi_emsp_modify(upper.clone(), |old| (None, old.map(|r| r.last_updated)))
            .await
            .unwrap();
        assert_eq!(seen, Some(5));
        // Another kind with the same ids is another record.
        let session = EmspKey::new(EmspKind::Session, "NL", "TNM", "LOC1");
        assert!(store.ocpi_emsp_get(session).await.unwrap().is_none());
        let (page, total) = store
            .ocpi_emsp_page(EmspKind::Location, 0, 10)
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 1));
        let (empty, _) = store
            .ocpi_emsp_page(EmspKind::Location, 1, 10)
            .await
            .unwrap();
        assert!(empty.is_empty());
    }
}
