//! Charge detail records (oicp-2.3.md §2.3 "`ChargeDetailRecord`", "`GetChargeDetailRecords`",
//! §3.3, §5.4): one per `SessionID` (matched without case), with the time the node received
//! it and whether it was forwarded to the EMP.

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::outbox::{self, OutboxEntry};
use super::{
    CdrInsert, Store, StoreError, count, json_list, millis, page_window, session_key, wire_millis,
};
use crate::oicp::v23::cdr::{ChargeDetailRecord, GetChargeDetailRecords, OperatorIdFilter};
use crate::oicp::v23::ids::{OperatorId, ProviderId, SessionId};

impl Store {
    /// Stores the CDR of a session, received at `now`, for `operator` and, if known, the EMP
    /// `provider` (a CDR without provider is only returned by [`Store::query_cdrs`] with
    /// `provider` `None`).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] naming the `SessionID` if the session already has a different
    /// CDR (compared as JSON values); the stored one is kept. An identical one is
    /// [`CdrInsert::Duplicate`], a partner's retry (style.md §3.2 item 18).
    ///
    /// Queues `outbox` in the same transaction when the CDR is new
    /// (a duplicate or a conflict queues nothing).
    pub async fn insert_cdr(
        &self,
        cdr: &ChargeDetailRecord,
        operator: &OperatorId,
        provider: Option<&ProviderId>,
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<CdrInsert, StoreError> {
        let outbox = outbox.to_vec();
        let key = session_key(&cdr.session_id);
        let session = cdr.session_id.as_str().to_owned();
        let value = serde_json::to_value(cdr)?;
        let json = serde_json::to_string(&value)?;
        let operator_key = operator.canonical();
        let provider_key = provider.map(ProviderId::canonical);
        let now = millis(now);
        self.write(move |tx| {
            let existing: Option<String> = tx
                .prepare_cached("SELECT json FROM cdr WHERE session_key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            if let Some(existing) = existing {
                let existing: serde_json::Value = serde_json::from_str(&existing)?;
                return if existing == value {
                    Ok(CdrInsert::Duplicate)
                } else {
                    Err(StoreError::Conflict(format!(
                        "session {session} already has a different charge detail record; \
                         one CDR per SessionID, the first one stays"
                    )))
                };
            }
            tx.prepare_cached(
                "INSERT INTO cdr (session_key, operator_key, provider_key, received_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((&key, &operator_key, &provider_key, now, &json))?;
            outbox::enqueue_in(tx, &outbox, now)?;
            Ok(CdrInsert::New)
        })
        .await
    }

    /// One page of CDRs for `eRoamingGetChargeDetailRecords` and the total number of matches
    /// (oicp-2.3.md §3.3, §5.4), ordered by the time received, then `SessionID`.
    ///
    /// * `provider`: the EMP's CDRs (`None`: all, including those without provider).
    /// * `operators`: visibility restriction by the node (`None`: all; empty: none).
    /// * `From`/`To` of the request bound the time **the node received** the CDR, both
    ///   inclusive: the spec's "all CDRs received in that range" (oicp-2.3.md §2.3), and the
    ///   only time a late or re-sent CDR cannot hide behind (a CDR's own session times may lie
    ///   days back).
    /// * `SessionID` (list), `OperatorID` (one or a list) and `CDRForwarded` filter further;
    ///   an empty list is no filter. `CDRForwarded` compares with the flag set by
    ///   [`Store::mark_cdr_forwarded`].
    /// * `page` is 0-based; `size` 0 means 20, more than 2000 is capped.
    pub async fn query_cdrs(
        &self,
        provider: Option<&ProviderId>,
        operators: Option<&[OperatorId]>,
        req: &GetChargeDetailRecords,
        page: u32,
        size: u32,
    ) -> Result<(Vec<ChargeDetailRecord>, u64), StoreError> {
        if operators.is_some_and(<[OperatorId]>::is_empty) {
            return Ok((Vec::new(), 0));
        }
        let mut conditions = vec!["received_at BETWEEN ? AND ?"];
        let mut params = vec![
            Value::Integer(wire_millis(&req.from)),
            Value::Integer(wire_millis(&req.to)),
        ];
        if let Some(p) = provider {
            conditions.push("provider_key = ?");
            params.push(Value::Text(p.canonical()));
        }
        let request_operators = req.operator_id.as_ref().map(OperatorIdFilter::as_slice);
        for ops in [operators, request_operators].into_iter().flatten() {
            if !ops.is_empty() {
                conditions.push("operator_key IN (SELECT value FROM json_each(?))");
                params.push(Value::Text(json_list(
                    ops.iter().map(OperatorId::canonical),
                )?));
            }
        }
        if let Some(sessions) = req.session_id.as_ref().filter(|s| !s.is_empty()) {
            conditions.push("session_key IN (SELECT value FROM json_each(?))");
            params.push(Value::Text(json_list(sessions.iter().map(session_key))?));
        }
        if let Some(forwarded) = req.cdr_forwarded {
            conditions.push("forwarded = ?");
            params.push(Value::Integer(i64::from(forwarded)));
        }
        let filter = conditions.join(" AND ");
        let (limit, offset) = page_window(page, size);
        self.read(move |conn| {
            let total: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) FROM cdr WHERE {filter}"))?
                .query_row(params_from_iter(&params), |r| r.get(0))?;
            params.push(Value::Integer(limit));
            params.push(Value::Integer(offset));
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT json FROM cdr WHERE {filter}
                 ORDER BY received_at, session_key LIMIT ? OFFSET ?"
            ))?;
            let mut records = Vec::new();
            for json in stmt.query_map(params_from_iter(&params), |r| r.get::<_, String>(0))? {
                records.push(serde_json::from_str(&json?)?);
            }
            Ok((records, count(total)))
        })
        .await
    }

    /// Marks the session's CDR as forwarded to the EMP; `false` if there is none.
    pub async fn mark_cdr_forwarded(&self, session_id: &SessionId) -> Result<bool, StoreError> {
        let key = session_key(session_id);
        self.write(move |tx| {
            let n = tx
                .prepare_cached("UPDATE cdr SET forwarded = 1 WHERE session_key = ?1")?
                .execute([&key])?;
            Ok(n > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_support::*;
    use super::*;

    fn session(n: u32) -> String {
        format!("{n:08x}-7f00-0002-6d8e-48d883f6abb6")
    }

    fn cdr(n: u32, patch: &Value) -> ChargeDetailRecord {
        let base = json!({
            "SessionID": session(n),
            "EvseID": "DE*GEF*E1",
            "Identification": {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}},
            "ChargingStart": "2024-05-01T08:00:00+02:00",
            "ChargingEnd": "2024-05-01T09:00:00+02:00",
            "SessionStart": "2024-05-01T07:59:00+02:00",
            "SessionEnd": "2024-05-01T09:01:00+02:00",
            "ConsumedEnergy": 12.345
        });
        wire(&patched(base, patch))
    }

    fn request(patch: &Value) -> GetChargeDetailRecords {
        let base = json!({
            "ProviderID": "DE-GDF",
            "From": "2024-05-01T10:00:00Z",
            "To": "2024-05-01T11:00:00Z"
        });
        wire(&patched(base, patch))
    }

    fn sessions(records: &[ChargeDetailRecord]) -> Vec<String> {
        records
            .iter()
            .map(|r| r.session_id.as_str().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn new_duplicate_conflict() {
        let store = Store::open_in_memory().await.unwrap();
        let (gef, gdf) = (op("DE*GEF"), provider("DE-GDF"));
        let first = cdr(1, &json!({}));
        assert_eq!(
            store
                .insert_cdr(&first, &gef, Some(&gdf), at(0), &[])
                .await
                .unwrap(),
            CdrInsert::New
        );
        // The identical CDR again: a retry.
        assert_eq!(
            store
                .insert_cdr(&first, &gef, Some(&gdf), at(5), &[])
                .await
                .unwrap(),
            CdrInsert::Duplicate
        );
        let changed = cdr(1, &json!({"ConsumedEnergy": 13}));
        let err = store
            .insert_cdr(&changed, &gef, Some(&gdf), at(6), &[])
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict(text) => assert!(text.contains(&session(1)), "{text}"),
            other => panic!("{other:?}"),
        }
        // The same session spelled in upper case, otherwise identical: the stored JSON differs
        // in the SessionID, so it is not a retry of the same message.
        let upper = cdr(1, &json!({"SessionID": session(1).to_ascii_uppercase()}));
        assert!(matches!(
            store.insert_cdr(&upper, &gef, Some(&gdf), at(7), &[]).await,
            Err(StoreError::Conflict(_))
        ));
        let (records, total) = store
            .query_cdrs(None, None, &request(&json!({})), 0, 20)
            .await
            .unwrap();
        assert_eq!(total, 1);
        assert_eq!(records, [first]);
    }

    /// Six CDRs of DE-GDF received at 10:00 + n minutes (n = 0..6, operators alternating
    /// DE*GEF and DE*ABC), one of DE-XYZ, one without provider, one outside the window.
    async fn cdr_fixture() -> Store {
        let store = Store::open_in_memory().await.unwrap();
        let (gef, abc, gdf, xyz) = (
            op("DE*GEF"),
            op("DE*ABC"),
            provider("DE-GDF"),
            provider("DE-XYZ"),
        );
        // Received at 10:00:00 + n minutes; n = 0..6 for DE-GDF, alternating operators.
        for n in 0..6_u32 {
            let operator = if n % 2 == 0 { &gef } else { &abc };
            store
                .insert_cdr(
                    &cdr(n, &json!({})),
                    operator,
                    Some(&gdf),
                    at(i64::from(n) * 60),
                    &[],
                )
                .await
                .unwrap();
        }
        store
            .insert_cdr(&cdr(10, &json!({})), &gef, Some(&xyz), at(30), &[])
            .await
            .unwrap();
        store
            .insert_cdr(&cdr(11, &json!({})), &gef, None, at(30), &[])
            .await
            .unwrap();
        // Outside the window.
        store
            .insert_cdr(&cdr(12, &json!({})), &gef, Some(&gdf), at(3601), &[])
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn query_filters() {
        let store = cdr_fixture().await;
        let (gef, gdf) = (op("DE*GEF"), provider("DE-GDF"));
        let all = |patch: Value| {
            let store = store.clone();
            let gdf = gdf.clone();
            async move {
                store
                    .query_cdrs(Some(&gdf), None, &request(&patch), 0, 100)
                    .await
                    .unwrap()
            }
        };
        let (records, total) = all(json!({})).await;
        assert_eq!(total, 6);
        assert_eq!(sessions(&records), (0..6).map(session).collect::<Vec<_>>());
        // From/To on the received time, inclusive.
        let (records, _) =
            all(json!({"From": "2024-05-01T12:01:00+02:00", "To": "2024-05-01T10:03:00Z"})).await;
        assert_eq!(sessions(&records), [session(1), session(2), session(3)]);
        // SessionID list, case-insensitive.
        let (records, _) =
            all(json!({"SessionID": [session(4).to_ascii_uppercase(), session(10)]})).await;
        assert_eq!(sessions(&records), [session(4)]);
        // OperatorID: one, or a list.
        let (records, _) = all(json!({"OperatorID": "DEABC"})).await;
        assert_eq!(sessions(&records), [session(1), session(3), session(5)]);
        let (_, total) = all(json!({"OperatorID": ["DE*ABC", "DE*GEF"]})).await;
        assert_eq!(total, 6);
        // Visibility restriction.
        let (records, _) = store
            .query_cdrs(
                Some(&gdf),
                Some(std::slice::from_ref(&gef)),
                &request(&json!({})),
                0,
                20,
            )
            .await
            .unwrap();
        assert_eq!(sessions(&records), [session(0), session(2), session(4)]);
        assert_eq!(
            store
                .query_cdrs(None, Some(&[]), &request(&json!({})), 0, 20)
                .await
                .unwrap(),
            (Vec::new(), 0)
        );
        // CDRForwarded.
        assert!(
            store
                .mark_cdr_forwarded(&SessionId::parse(&session(2).to_ascii_uppercase()).unwrap())
                .await
                .unwrap()
        );
        assert!(
            !store
                .mark_cdr_forwarded(&SessionId::parse(&session(99)).unwrap())
                .await
                .unwrap()
        );
        let (records, _) = all(json!({"CDRForwarded": true})).await;
        assert_eq!(sessions(&records), [session(2)]);
        let (_, total) = all(json!({"CDRForwarded": false})).await;
        assert_eq!(total, 5);
        // All providers: includes the CDR without provider and the other provider's.
        let (_, total) = store
            .query_cdrs(None, None, &request(&json!({})), 0, 20)
            .await
            .unwrap();
        assert_eq!(total, 8);
    }

    #[tokio::test]
    async fn query_paging() {
        let store = cdr_fixture().await;
        let gdf = provider("DE-GDF");
        let page = |page: u32, size: u32| {
            let store = store.clone();
            let gdf = gdf.clone();
            async move {
                store
                    .query_cdrs(Some(&gdf), None, &request(&json!({})), page, size)
                    .await
                    .unwrap()
            }
        };
        let (records, total) = page(1, 4).await;
        assert_eq!(
            (sessions(&records), total),
            (vec![session(4), session(5)], 6)
        );
        assert_eq!(page(2, 4).await, (Vec::new(), 6));
        assert_eq!(page(0, 0).await.0.len(), 6);
    }
}
