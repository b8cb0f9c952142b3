//! The OCPI CPO side, part 2 (migration 0007): the Sessions, CDRs and Tariffs the node serves
//! to OCPI eMSP partners, and what it remembers of each session an OCPI eMSP authorized.
//!
//! # Objects
//! One row per object (`kind` `session`, `cdr` or `tariff`, key `CC/PID/ID` of the owning CPO)
//! and audience: the eMSP party it is for (`CC/PID`), or `*` for a Tariff meant for every eMSP.
//! A Sender GET reads the rows of the caller's parties and of `*` through the
//! `(kind, audience, last_updated, object_key)` index. A write stores the object and commits the
//! outbox entries of its push in the same transaction, as the OICP pushes do.
//!
//! # Session references
//! Keyed by the OICP `SessionID` (lower case): the eMSP peer, the token's party, the OCPI Token
//! of the authorization, its `authorization_reference`, and the Location and EVSE asked for.

use rusqlite::OptionalExtension as _;

use super::outbox::enqueue_in;
use super::{OutboxEntry, Store, StoreError};

/// Which module an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A Session.
    Session,
    /// A CDR.
    Cdr,
    /// A Tariff.
    Tariff,
}

impl ObjectKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Cdr => "cdr",
            Self::Tariff => "tariff",
        }
    }
}

/// The audience of an object meant for every eMSP.
pub const EVERY_EMSP: &str = "*";

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpoObject {
    /// Its module.
    pub kind: ObjectKind,
    /// `CC/PID/ID` of the owning CPO, upper case.
    pub key: String,
    /// `CC/PID` of the eMSP, upper case, or [`EVERY_EMSP`].
    pub audience: String,
    /// UTC milliseconds.
    pub last_updated: i64,
    /// The OCPI object.
    pub json: String,
}

/// What one page request reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPage {
    /// The module.
    pub kind: ObjectKind,
    /// The audiences admitted (`CC/PID`, upper case; add [`EVERY_EMSP`] for shared objects).
    pub audiences: Vec<String>,
    /// `last_updated >= from` (milliseconds).
    pub from: Option<i64>,
    /// `last_updated < to` (milliseconds).
    pub to: Option<i64>,
    /// First row.
    pub offset: u64,
    /// Rows wanted.
    pub limit: u32,
}

/// What the node remembers of a session an OCPI eMSP authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// The OICP `SessionID`, lower case.
    pub session_id: String,
    /// The eMSP peer's `ProviderID`.
    pub peer: String,
    /// `CC/PID` of the token's eMSP, upper case.
    pub emsp: String,
    /// The OCPI Token (JSON).
    pub token: String,
    /// The OICP Identification (JSON) that started the session.
    pub identification: String,
    /// The OICP Identifications (a JSON list) that may stop it.
    pub stop_identifications: String,
    /// The eMSP's authorization reference.
    pub authorization_reference: Option<String>,
    /// The Location asked for.
    pub location_id: Option<String>,
    /// The EVSE asked for.
    pub evse_uid: Option<String>,
    /// Whether energy has flowed.
    pub charging_started: bool,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `?1, ?2, …` for `n` parameters starting at `first`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Stores (inserts or replaces) objects and commits `entries` with them.
    pub async fn ocpi_cpo_put_objects(
        &self,
        objects: Vec<CpoObject>,
        entries: &[OutboxEntry],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        self.write(move |tx| {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO ocpi_cpo_object (kind, object_key, audience, last_updated, json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for o in &objects {
                put.execute((
                    o.kind.as_str(),
                    &o.key,
                    &o.audience,
                    o.last_updated,
                    &o.json,
                ))?;
            }
            enqueue_in(tx, &entries, now.timestamp_millis())
        })
        .await
    }

    /// One object by kind, key and audience.
    pub async fn ocpi_cpo_object(
        &self,
        kind: ObjectKind,
        key: &str,
        audiences: &[String],
    ) -> Result<Option<CpoObject>, StoreError> {
        let key = key.to_owned();
        let audiences = audiences.to_vec();
        self.run(move |conn| {
            let sql = format!(
                "SELECT audience, last_updated, json FROM ocpi_cpo_object
                 WHERE kind = ?1 AND object_key = ?2 AND audience IN ({})
                 ORDER BY audience DESC LIMIT 1",
                placeholders(3, audiences.len())
            );
            let kind_text = kind.as_str();
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&kind_text, &key];
            for a in &audiences {
                params.push(a);
            }
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params.as_slice(), |r| {
                    Ok(CpoObject {
                        kind,
                        key: key.clone(),
                        audience: r.get(0)?,
                        last_updated: r.get(1)?,
                        json: r.get(2)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// One page of objects (their JSON, in `last_updated` then key order) and the number the
    /// filters admit.
    pub async fn ocpi_cpo_object_page(
        &self,
        page: ObjectPage,
    ) -> Result<(Vec<String>, u64), StoreError> {
        self.run(move |conn| {
            let from = page.from.unwrap_or(i64::MIN);
            let to = page.to.unwrap_or(i64::MAX);
            let n = page.audiences.len();
            let filter = format!(
                "kind = ?1 AND last_updated >= ?2 AND last_updated < ?3 AND audience IN ({})",
                placeholders(4, n)
            );
            let kind = page.kind.as_str();
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&kind, &from, &to];
            for a in &page.audiences {
                params.push(a);
            }
            let total: i64 = conn
                .prepare_cached(&format!(
                    "SELECT COUNT(*) FROM ocpi_cpo_object WHERE {filter}"
                ))?
                .query_row(params.as_slice(), |r| r.get(0))?;
            let limit = i64::from(page.limit);
            let offset = to_i64(page.offset);
            params.push(&limit);
            params.push(&offset);
            let items = conn
                .prepare_cached(&format!(
                    "SELECT json FROM ocpi_cpo_object WHERE {filter}
                     ORDER BY last_updated, object_key LIMIT ?{} OFFSET ?{}",
                    n + 4,
                    n + 5
                ))?
                .query_map(params.as_slice(), |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok((items, u64::try_from(total).unwrap_or(0)))
        })
        .await
    }

    /// Every object of a kind whose key starts with `prefix` (e.g. the Tariffs of one CPO).
    pub async fn ocpi_cpo_objects_with_prefix(
        &self,
        kind: ObjectKind,
        prefix: &str,
    ) -> Result<Vec<CpoObject>, StoreError> {
        let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT object_key, audience, last_updated, json FROM ocpi_cpo_object
                     WHERE kind = ?1 AND object_key LIKE ?2 ESCAPE '\\'
                     ORDER BY object_key, audience",
                )?
                .query_map((kind.as_str(), &pattern), |r| {
                    Ok(CpoObject {
                        kind,
                        key: r.get(0)?,
                        audience: r.get(1)?,
                        last_updated: r.get(2)?,
                        json: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Records (inserts or replaces) a session reference.
    pub async fn ocpi_cpo_put_session_ref(&self, r: SessionRef) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO ocpi_cpo_session_ref (session_id, peer, emsp, token,
                     identification, stop_identifications, authorization_reference, location_id,
                     evse_uid, charging_started)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute((
                &r.session_id,
                &r.peer,
                &r.emsp,
                &r.token,
                &r.identification,
                &r.stop_identifications,
                &r.authorization_reference,
                &r.location_id,
                &r.evse_uid,
                r.charging_started,
            ))?;
            Ok(())
        })
        .await
    }

    /// The reference of a session (`SessionID` lower case).
    pub async fn ocpi_cpo_session_ref(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionRef>, StoreError> {
        let id = session_id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT session_id, peer, emsp, token, identification, stop_identifications,
                         authorization_reference, location_id, evse_uid, charging_started
                     FROM ocpi_cpo_session_ref WHERE session_id = ?1",
                )?
                .query_row([&id], |r| {
                    Ok(SessionRef {
                        session_id: r.get(0)?,
                        peer: r.get(1)?,
                        emsp: r.get(2)?,
                        token: r.get(3)?,
                        identification: r.get(4)?,
                        stop_identifications: r.get(5)?,
                        authorization_reference: r.get(6)?,
                        location_id: r.get(7)?,
                        evse_uid: r.get(8)?,
                        charging_started: r.get(9)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// Where the view holds an EVSE (canonical `EvseID`): the Location's id, the EVSE's uid and
    /// the Location's JSON.
    pub async fn ocpi_cpo_evse_location(
        &self,
        evse_key: &str,
    ) -> Result<Option<(String, String, String)>, StoreError> {
        let key = evse_key.to_owned();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT l.location_id, e.uid, l.json FROM ocpi_cpo_evse e
                     JOIN ocpi_cpo_location l ON l.location_key = e.location_key
                     WHERE e.evse_key = ?1",
                )?
                .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(kind: ObjectKind, id: &str, audience: &str, at: i64) -> CpoObject {
        CpoObject {
            kind,
            key: format!("DE/GEF/{id}"),
            audience: audience.into(),
            last_updated: at,
            json: format!(r#"{{"id":"{id}"}}"#),
        }
    }

    #[tokio::test]
    async fn pages_hold_the_objects_of_the_audiences_asked_for() {
        let store = Store::open_in_memory().await.unwrap();
        let now = chrono::Utc::now();
        store
            .ocpi_cpo_put_objects(
                vec![
                    object(ObjectKind::Session, "S1", "NL/XYZ", 10),
                    object(ObjectKind::Session, "S2", "NL/XYZ", 20),
                    object(ObjectKind::Session, "S3", "DE/GDF", 15),
                    object(ObjectKind::Tariff, "T1", EVERY_EMSP, 5),
                    object(ObjectKind::Tariff, "T2", "DE/GDF", 6),
                ],
                &[],
                now,
            )
            .await
            .unwrap();
        let page = |kind, audiences: &[&str], from, offset, limit| ObjectPage {
            kind,
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            from,
            to: None,
            offset,
            limit,
        };
        let (items, total) = store
            .ocpi_cpo_object_page(page(ObjectKind::Session, &["NL/XYZ"], None, 0, 1))
            .await
            .unwrap();
        assert_eq!((items, total), (vec![r#"{"id":"S1"}"#.to_owned()], 2));
        let (items, total) = store
            .ocpi_cpo_object_page(page(ObjectKind::Session, &["NL/XYZ"], Some(11), 0, 5))
            .await
            .unwrap();
        assert_eq!((items.len(), total), (1, 1));
        let (_, total) = store
            .ocpi_cpo_object_page(page(ObjectKind::Tariff, &["NL/XYZ", "*"], None, 0, 5))
            .await
            .unwrap();
        assert_eq!(total, 1);
        let (_, total) = store
            .ocpi_cpo_object_page(page(ObjectKind::Tariff, &["DE/GDF", "*"], None, 0, 5))
            .await
            .unwrap();
        assert_eq!(total, 2);
        let own = ["DE/GDF".to_owned(), EVERY_EMSP.to_owned()];
        assert!(
            store
                .ocpi_cpo_object(ObjectKind::Session, "DE/GEF/S1", &own)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .ocpi_cpo_object(ObjectKind::Tariff, "DE/GEF/T1", &own)
                .await
                .unwrap()
                .is_some()
        );
        let tariffs = store
            .ocpi_cpo_objects_with_prefix(ObjectKind::Tariff, "DE/GEF/")
            .await
            .unwrap();
        assert_eq!(tariffs.len(), 2);
    }

    #[tokio::test]
    async fn session_references_are_kept() {
        let store = Store::open_in_memory().await.unwrap();
        let r = SessionRef {
            session_id: "b2c3".into(),
            peer: "NL-XYZ".into(),
            emsp: "NL/XYZ".into(),
            token: "{}".into(),
            identification: "{}".into(),
            stop_identifications: "[]".into(),
            authorization_reference: Some("ref".into()),
            location_id: Some("L1".into()),
            evse_uid: None,
            charging_started: false,
        };
        store.ocpi_cpo_put_session_ref(r.clone()).await.unwrap();
        assert_eq!(store.ocpi_cpo_session_ref("b2c3").await.unwrap(), Some(r));
        assert!(store.ocpi_cpo_session_ref("x").await.unwrap().is_none());
    }
}
