//! Sessions the node took part in ([`SessionRecord`]), keyed by the lower-cased `SessionID`.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Row};

use super::{SessionRecord, Store, StoreError, session_key, stored};
use crate::oicp::v23::ids::SessionId;

/// The stored text of a session time: RFC 3339 in UTC with nanoseconds, which sorts.
fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn time_value(s: &str, column: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{column} '{s}': {e}")))
}

/// The session columns, as read.
#[derive(Debug)]
struct RawSession {
    session_id: String,
    cpo_partner_session_id: Option<String>,
    emp_partner_session_id: Option<String>,
    operator_id: Option<String>,
    provider_id: Option<String>,
    evse_id: Option<String>,
    state: String,
    created_at: String,
    updated_at: String,
}

const SELECT_SESSION: &str = "SELECT session_id, cpo_partner_session_id, emp_partner_session_id, \
     operator_id, provider_id, evse_id, state, created_at, updated_at FROM session";

impl RawSession {
    fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            session_id: r.get(0)?,
            cpo_partner_session_id: r.get(1)?,
            emp_partner_session_id: r.get(2)?,
            operator_id: r.get(3)?,
            provider_id: r.get(4)?,
            evse_id: r.get(5)?,
            state: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    }

    fn into_record(self) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            session_id: stored(&self.session_id, "session.session_id")?,
            cpo_partner_session_id: self.cpo_partner_session_id,
            emp_partner_session_id: self.emp_partner_session_id,
            operator_id: self
                .operator_id
                .map(|s| stored(&s, "session.operator_id"))
                .transpose()?,
            provider_id: self
                .provider_id
                .map(|s| stored(&s, "session.provider_id"))
                .transpose()?,
            evse_id: self
                .evse_id
                .map(|s| stored(&s, "session.evse_id"))
                .transpose()?,
            state: self.state,
            created_at: time_value(&self.created_at, "session.created_at")?,
            updated_at: time_value(&self.updated_at, "session.updated_at")?,
        })
    }
}

impl Store {
    /// Records a session, merging with what is known (see [`SessionRecord`]): a `None` never
    /// overwrites a known value, `state` and `updated_at` take the new values, the first
    /// `created_at` and `SessionID` spelling stay.
    pub async fn upsert_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let key = session_key(&record.session_id);
        let id = record.session_id.as_str().to_owned();
        let cpo = record.cpo_partner_session_id.clone();
        let emp = record.emp_partner_session_id.clone();
        let operator = record.operator_id.as_ref().map(|o| o.as_str().to_owned());
        let provider = record.provider_id.as_ref().map(|p| p.as_str().to_owned());
        let evse = record.evse_id.as_ref().map(|e| e.as_str().to_owned());
        let state = record.state.clone();
        let (created, updated) = (time_text(record.created_at), time_text(record.updated_at));
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO session (session_key, session_id, cpo_partner_session_id,
                     emp_partner_session_id, operator_id, provider_id, evse_id, state,
                     created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (session_key) DO UPDATE SET
                     cpo_partner_session_id =
                         COALESCE(excluded.cpo_partner_session_id, session.cpo_partner_session_id),
                     emp_partner_session_id =
                         COALESCE(excluded.emp_partner_session_id, session.emp_partner_session_id),
                     operator_id = COALESCE(excluded.operator_id, session.operator_id),
                     provider_id = COALESCE(excluded.provider_id, session.provider_id),
                     evse_id = COALESCE(excluded.evse_id, session.evse_id),
                     state = excluded.state,
                     updated_at = excluded.updated_at",
            )?
            .execute((
                &key, &id, &cpo, &emp, &operator, &provider, &evse, &state, &created, &updated,
            ))?;
            Ok(())
        })
        .await
    }

    /// The session with this `SessionID`, matched without regard to case.
    pub async fn session(
        &self,
        session_id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let key = session_key(session_id);
        self.run(move |conn| {
            conn.prepare_cached(&format!("{SELECT_SESSION} WHERE session_key = ?1"))?
                .query_row([&key], RawSession::read)
                .optional()?
                .map(RawSession::into_record)
                .transpose()
        })
        .await
    }

    /// The most recently updated session with this `CPOPartnerSessionID` (compared exactly:
    /// it is the CPO's free-form string).
    pub async fn session_by_partner_id(
        &self,
        cpo_partner_session_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let psid = cpo_partner_session_id.to_owned();
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "{SELECT_SESSION} WHERE cpo_partner_session_id = ?1
                 ORDER BY updated_at DESC, session_key LIMIT 1"
            ))?
            .query_row([&psid], RawSession::read)
            .optional()?
            .map(RawSession::into_record)
            .transpose()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::oicp::v23::ids::EvseId;

    fn sid(s: &str) -> SessionId {
        SessionId::parse(s).unwrap()
    }

    fn record(id: &str, state: &str, secs: i64) -> SessionRecord {
        SessionRecord {
            session_id: sid(id),
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            operator_id: None,
            provider_id: None,
            evse_id: None,
            state: state.to_owned(),
            created_at: at(secs),
            updated_at: at(secs),
        }
    }

    #[tokio::test]
    async fn merge_never_forgets_known_values() {
        let store = Store::open_in_memory().await.unwrap();
        let id = "b2688855-7f00-0002-6d8e-48d883f6abb6";
        let mut first = record(id, "authorized", 0);
        first.cpo_partner_session_id = Some("cpo-42".to_owned());
        first.operator_id = Some(op("DE*GEF"));
        first.provider_id = Some(provider("DE-GDF"));
        store.upsert_session(&first).await.unwrap();

        let mut second = record(&id.to_ascii_uppercase(), "started", 10);
        second.evse_id = Some(EvseId::parse("DE*GEF*E1").unwrap());
        second.emp_partner_session_id = Some("emp-7".to_owned());
        store.upsert_session(&second).await.unwrap();

        let got = store.session(&sid(id)).await.unwrap().unwrap();
        assert_eq!(got.session_id.as_str(), id);
        assert_eq!(got.cpo_partner_session_id.as_deref(), Some("cpo-42"));
        assert_eq!(got.emp_partner_session_id.as_deref(), Some("emp-7"));
        assert_eq!(got.operator_id.unwrap().as_str(), "DE*GEF");
        assert_eq!(got.provider_id.unwrap().as_str(), "DE-GDF");
        assert_eq!(got.evse_id.unwrap().as_str(), "DE*GEF*E1");
        assert_eq!(got.state, "started");
        assert_eq!((got.created_at, got.updated_at), (at(0), at(10)));

        // Case-insensitive lookup.
        let upper = store.session(&sid(&id.to_ascii_uppercase())).await.unwrap();
        assert!(upper.is_some());
        assert!(
            store
                .session(&sid("00000000-0000-0000-0000-000000000000"))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn lookup_by_cpo_partner_session_id() {
        let store = Store::open_in_memory().await.unwrap();
        let mut older = record("aaaaaaaa-0000-0000-0000-000000000001", "ended", 0);
        older.cpo_partner_session_id = Some("p-1".to_owned());
        let mut newer = record("aaaaaaaa-0000-0000-0000-000000000002", "started", 5);
        newer.cpo_partner_session_id = Some("p-1".to_owned());
        store.upsert_session(&older).await.unwrap();
        store.upsert_session(&newer).await.unwrap();
        let got = store.session_by_partner_id("p-1").await.unwrap().unwrap();
        assert_eq!(got, newer);
        assert!(store.session_by_partner_id("P-1").await.unwrap().is_none());
    }
}
