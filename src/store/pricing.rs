//! Dynamic pricing (oicp-2.3.md §2.3 "Pricing", §3.6): pricing products per operator and
//! `ProviderID` or `*`, and the assignment of products to EVSEs.
//!
//! # Deltas
//! The pricing pulls take a `LastCall`, but their records have no `deltaType`, so a deletion
//! cannot be expressed per record. The unit of change is therefore a *set*: the products of
//! one operator for one provider (or `*`), and the EVSE pricing of one operator for one
//! provider (or `*`). A pull with `LastCall` returns every set that changed at or after it
//! (deletions included) **in full**, and the puller replaces its copy of each returned set; a
//! set emptied by deletions comes back with an empty list.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::outbox::{self, OutboxEntry};
use super::{
    Action, OperatorRow, Store, StoreError, json_list, millis, operator_by_key,
    provider_or_all_key, wire_millis,
};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::ids::{OperatorId, ProviderId};
use crate::oicp::v23::pricing::{EvsePricing, OperatorEvsePricing, PricingProductData};
use crate::oicp::v23::scalars::{DateTime as WireDateTime, Text};
use crate::oicp::v23::wire::Extra;

/// The `what` of the pricing product errors.
const PRODUCT: &str = "pricing product";

/// The `what` of the EVSE pricing errors.
const EVSE_PRICING: &str = "EVSE pricing";

/// One pricing product, ready to store.
#[derive(Debug)]
struct ProductRow {
    product_id: String,
    json: String,
}

/// One EVSE pricing entry, ready to store.
#[derive(Debug)]
struct EvsePricingRow {
    evse_key: String,
    provider_key: String,
    /// `EvseID/ProviderID` as pushed, for error messages.
    label: String,
    json: String,
}

/// The `changed_at` bound of an optional `LastCall` (everything when absent).
fn since(last_call: Option<&WireDateTime>) -> i64 {
    last_call.map_or(i64::MIN, wire_millis)
}

/// The distinct canonical keys of `operators`, in order.
fn operator_keys(operators: &[OperatorId]) -> BTreeSet<String> {
    operators.iter().map(OperatorId::canonical).collect()
}

#[derive(Debug)]
struct ProductSet {
    operator: OperatorRow,
    provider_key: String,
    header: String,
    products: Vec<ProductRow>,
}

impl ProductSet {
    fn new(data: &PricingProductData) -> Result<Self, StoreError> {
        let mut header = data.clone();
        header.pricing_product_data_records = Vec::new();
        let products = data
            .pricing_product_data_records
            .iter()
            .map(|r| {
                Ok(ProductRow {
                    product_id: r.product_id.as_str().to_owned(),
                    json: serde_json::to_string(r)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self {
            operator: OperatorRow::new(
                &data.operator_id,
                data.operator_name.as_ref().map(Text::as_str),
            ),
            provider_key: provider_or_all_key(&data.provider_id),
            header: serde_json::to_string(&header)?,
            products,
        })
    }

    fn check(&self, tx: &Connection, action: Action) -> Result<(), StoreError> {
        if !matches!(action, Action::Insert | Action::Update) {
            return Ok(());
        }
        let mut stmt = tx.prepare_cached(
            "SELECT 1 FROM pricing_product
             WHERE operator_key = ?1 AND provider_key = ?2 AND product_id = ?3",
        )?;
        let mut ids = Vec::new();
        for p in &self.products {
            let exists = stmt.exists((&self.operator.key, &self.provider_key, &p.product_id))?;
            if exists == (action == Action::Insert) {
                ids.push(p.product_id.clone());
            }
        }
        match (ids.is_empty(), action) {
            (true, _) => Ok(()),
            (false, Action::Insert) => Err(StoreError::AlreadyExists { what: PRODUCT, ids }),
            (false, _) => Err(StoreError::NotFound { what: PRODUCT, ids }),
        }
    }

    fn apply(&self, tx: &Connection, action: Action, now: i64) -> Result<(), StoreError> {
        self.check(tx, action)?;
        self.operator.upsert(tx)?;
        // Every push carries the set's header (default price, currency, unit): the latest
        // wins, and the set's change time moves, whatever the action.
        tx.prepare_cached(
            "INSERT INTO pricing_product_set (operator_key, provider_key, header, changed_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (operator_key, provider_key) DO UPDATE SET
                 header = excluded.header, changed_at = excluded.changed_at",
        )?
        .execute((&self.operator.key, &self.provider_key, &self.header, now))?;
        if action == Action::FullLoad {
            tx.prepare_cached(
                "DELETE FROM pricing_product WHERE operator_key = ?1 AND provider_key = ?2",
            )?
            .execute((&self.operator.key, &self.provider_key))?;
        }
        if action == Action::Delete {
            let mut delete = tx.prepare_cached(
                "DELETE FROM pricing_product
                 WHERE operator_key = ?1 AND provider_key = ?2 AND product_id = ?3",
            )?;
            for p in &self.products {
                delete.execute((&self.operator.key, &self.provider_key, &p.product_id))?;
            }
            return Ok(());
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO pricing_product (operator_key, provider_key, product_id, json, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (operator_key, provider_key, product_id) DO UPDATE SET
                 json = excluded.json, updated_at = excluded.updated_at",
        )?;
        for p in &self.products {
            upsert.execute((
                &self.operator.key,
                &self.provider_key,
                &p.product_id,
                &p.json,
                now,
            ))?;
        }
        Ok(())
    }
}

/// The sets of `operator_keys` for `provider_key` and `*` changed at or after `since`.
fn read_product_sets(
    conn: &Connection,
    operator_keys: &str,
    provider_key: &str,
    since: i64,
) -> Result<Vec<PricingProductData>, StoreError> {
    let sets: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT operator_key, provider_key, header FROM pricing_product_set
             WHERE operator_key IN (SELECT value FROM json_each(?1))
               AND provider_key IN (?2, '*') AND changed_at >= ?3
             ORDER BY operator_key, provider_key",
        )?
        .query_map((operator_keys, provider_key, since), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut products = conn.prepare_cached(
        "SELECT json FROM pricing_product WHERE operator_key = ?1 AND provider_key = ?2
         ORDER BY product_id",
    )?;
    let mut out = Vec::with_capacity(sets.len());
    for (operator_key, set_provider, header) in sets {
        let mut data: PricingProductData = serde_json::from_str(&header)?;
        for json in products.query_map((&operator_key, &set_provider), |r| r.get::<_, String>(0))? {
            data.pricing_product_data_records
                .push(serde_json::from_str(&json?)?);
        }
        out.push(data);
    }
    Ok(out)
}

impl EvsePricingRow {
    fn new(entry: &EvsePricing) -> Result<Self, StoreError> {
        Ok(Self {
            evse_key: entry.evse_id.canonical(),
            provider_key: provider_or_all_key(&entry.provider_id),
            label: format!("{}/{}", entry.evse_id.as_str(), entry.provider_id.as_str()),
            json: serde_json::to_string(entry)?,
        })
    }
}

/// Refuses an `insert` of an existing (EVSE, provider) pair (of any operator) or an `update`
/// of a pair this operator has not, before anything is written.
fn check_evse_pricing(
    tx: &Connection,
    action: Action,
    operator_key: &str,
    rows: &[EvsePricingRow],
) -> Result<(), StoreError> {
    if !matches!(action, Action::Insert | Action::Update) {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "SELECT operator_key FROM evse_pricing WHERE evse_key = ?1 AND provider_key = ?2",
    )?;
    let mut ids = Vec::new();
    for row in rows {
        let owner: Option<String> = stmt
            .query_map((&row.evse_key, &row.provider_key), |r| r.get(0))?
            .next()
            .transpose()?;
        let refused = match action {
            Action::Insert => owner.is_some(),
            _ => owner.as_deref() != Some(operator_key),
        };
        if refused {
            ids.push(row.label.clone());
        }
    }
    match (ids.is_empty(), action) {
        (true, _) => Ok(()),
        (false, Action::Insert) => Err(StoreError::AlreadyExists {
            what: EVSE_PRICING,
            ids,
        }),
        (false, _) => Err(StoreError::NotFound {
            what: EVSE_PRICING,
            ids,
        }),
    }
}

fn apply_evse_pricing(
    tx: &Connection,
    action: Action,
    operator: &OperatorRow,
    rows: &[EvsePricingRow],
    now: i64,
) -> Result<(), StoreError> {
    check_evse_pricing(tx, action, &operator.key, rows)?;
    operator.upsert(tx)?;
    let mut changed: BTreeSet<String> = rows.iter().map(|r| r.provider_key.clone()).collect();
    if action == Action::FullLoad {
        let before: Vec<String> = tx
            .prepare_cached(
                "SELECT DISTINCT provider_key FROM evse_pricing WHERE operator_key = ?1",
            )?
            .query_map([&operator.key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        changed.extend(before);
        tx.prepare_cached("DELETE FROM evse_pricing WHERE operator_key = ?1")?
            .execute([&operator.key])?;
    }
    if action == Action::Delete {
        let mut delete = tx.prepare_cached(
            "DELETE FROM evse_pricing
             WHERE evse_key = ?1 AND provider_key = ?2 AND operator_key = ?3",
        )?;
        for row in rows {
            delete.execute((&row.evse_key, &row.provider_key, &operator.key))?;
        }
    } else {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO evse_pricing (evse_key, provider_key, operator_key, json, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (evse_key, provider_key) DO UPDATE SET
                 operator_key = excluded.operator_key, json = excluded.json,
                 updated_at = excluded.updated_at",
        )?;
        for row in rows {
            upsert.execute((
                &row.evse_key,
                &row.provider_key,
                &operator.key,
                &row.json,
                now,
            ))?;
        }
    }
    let mut touch = tx.prepare_cached(
        "INSERT INTO evse_pricing_change (operator_key, provider_key, changed_at)
         VALUES (?1, ?2, ?3)
         ON CONFLICT (operator_key, provider_key) DO UPDATE SET changed_at = excluded.changed_at",
    )?;
    for provider_key in &changed {
        touch.execute((&operator.key, provider_key, now))?;
    }
    Ok(())
}

/// The EVSE pricing of one operator for `provider_key` and `*`, if it is to be returned.
fn read_operator_evse_pricing(
    conn: &Connection,
    operator: &OperatorId,
    provider_key: &str,
    since: Option<i64>,
) -> Result<Option<OperatorEvsePricing>, StoreError> {
    let key = operator.canonical();
    if let Some(since) = since {
        let changed: Option<i64> = conn
            .prepare_cached(
                "SELECT MAX(changed_at) FROM evse_pricing_change
                 WHERE operator_key = ?1 AND provider_key IN (?2, '*')",
            )?
            .query_row((&key, provider_key), |r| r.get(0))?;
        if changed.is_none_or(|c| c < since) {
            return Ok(None);
        }
    }
    let mut entries = Vec::new();
    for json in conn
        .prepare_cached(
            "SELECT json FROM evse_pricing WHERE operator_key = ?1 AND provider_key IN (?2, '*')
             ORDER BY evse_key, provider_key",
        )?
        .query_map((&key, provider_key), |r| r.get::<_, String>(0))?
    {
        entries.push(serde_json::from_str::<EvsePricing>(&json?)?);
    }
    if entries.is_empty() && since.is_none() {
        return Ok(None);
    }
    let (operator_id, name) =
        operator_by_key(conn, &key)?.unwrap_or_else(|| (operator.clone(), None));
    Ok(Some(OperatorEvsePricing {
        operator_id,
        operator_name: name.as_deref().map(Text::truncated),
        evse_pricing: entries,
        extra: Extra::new(),
    }))
}

impl Store {
    /// Applies an `eRoamingPushPricingProductData` (oicp-2.3.md §3.6) to the set of its
    /// operator and `ProviderID` (or `*`), keyed per product by `ProductID`, in one
    /// transaction:
    ///
    /// * `fullLoad`: the products become the set's whole content.
    /// * `insert`: fails with [`StoreError::AlreadyExists`] (the `ProductID`s) if any product
    ///   of the set exists, and nothing is written.
    /// * `update`: fails with [`StoreError::NotFound`] if any product of the set is missing,
    ///   and nothing is written.
    /// * `delete`: removes the named products; unknown ones are ignored.
    ///
    /// The header of every push (`OperatorName`, `PricingDefaultPrice`,
    /// `PricingDefaultPriceCurrency`, `PricingDefaultReferenceUnit`, unknown members) replaces
    /// the set's header, and the set counts as changed at `now`.
    ///
    /// Queues `outbox` in the same transaction.
    pub async fn apply_pricing_products(
        &self,
        data: &PricingProductData,
        action: ActionType,
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let action = Action::try_from(action)?;
        let set = ProductSet::new(data)?;
        let now = millis(now);
        let outbox = outbox.to_vec();
        self.write(move |tx| {
            set.apply(tx, action, now)?;
            outbox::enqueue_in(tx, &outbox, now)
        })
        .await
    }

    /// The pricing products of `operators` for `provider`: the sets for that provider and the
    /// sets for `*` (offer-to-all), each in full, ordered by operator and provider (`*`
    /// first), products by `ProductID`. With `last_call`, only the sets changed at or after it
    /// (see the module documentation of the store's pricing part).
    pub async fn query_pricing_products(
        &self,
        operators: &[OperatorId],
        provider: &ProviderId,
        last_call: Option<&WireDateTime>,
    ) -> Result<Vec<PricingProductData>, StoreError> {
        let keys = json_list(operator_keys(operators))?;
        let provider_key = provider.canonical();
        let since = since(last_call);
        self.read(move |conn| read_product_sets(conn, &keys, &provider_key, since))
            .await
    }

    /// Applies an `eRoamingPushEVSEPricing` of `operator` (oicp-2.3.md §3.6), keyed by
    /// (`EvseID`, `ProviderID` or `*`), in one transaction:
    ///
    /// * `fullLoad`: the entries become the operator's whole EVSE pricing (all providers).
    /// * `insert`: fails with [`StoreError::AlreadyExists`] (`EvseID/ProviderID` as pushed)
    ///   if any pair exists, and nothing is written.
    /// * `update`: fails with [`StoreError::NotFound`] if any pair is not the operator's, and
    ///   nothing is written.
    /// * `delete`: removes the named pairs; unknown ones are ignored.
    ///
    /// Queues `outbox` in the same transaction.
    pub async fn apply_evse_pricing(
        &self,
        operator: &OperatorId,
        action: ActionType,
        entries: &[EvsePricing],
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let outbox = outbox.to_vec();
        let action = Action::try_from(action)?;
        let rows = entries
            .iter()
            .map(EvsePricingRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let operator = OperatorRow::new(operator, None);
        let now = millis(now);
        self.write(move |tx| {
            apply_evse_pricing(tx, action, &operator, &rows, now)?;
            outbox::enqueue_in(tx, &outbox, now)
        })
        .await
    }

    /// The EVSE pricing of `operators` for `provider`: per operator (in canonical order) its
    /// entries for that provider and for `*`, by `EvseID`. Without `last_call`, operators
    /// without entries are left out; with it, an operator's list is returned in full if any of
    /// it changed at or after `last_call`, possibly empty after deletions.
    pub async fn query_evse_pricing(
        &self,
        operators: &[OperatorId],
        provider: &ProviderId,
        last_call: Option<&WireDateTime>,
    ) -> Result<Vec<OperatorEvsePricing>, StoreError> {
        let mut operators = operators.to_vec();
        operators.sort();
        operators.dedup();
        let provider_key = provider.canonical();
        let since = last_call.map(wire_millis);
        self.read(move |conn| {
            let mut out = Vec::new();
            for operator in &operators {
                if let Some(list) =
                    read_operator_evse_pricing(conn, operator, &provider_key, since)?
                {
                    out.push(list);
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_support::*;
    use super::*;

    fn product(id: &str, price: f64) -> Value {
        json!({
            "ProductID": id, "ReferenceUnit": "KILOWATT_HOUR", "ProductPriceCurrency": "EUR",
            "PricePerReferenceUnit": price, "MaximumProductChargingPower": 22,
            "IsValid24hours": true, "ProductAvailabilityTimes": []
        })
    }

    fn products(
        operator: &str,
        provider: &str,
        default: f64,
        records: &[Value],
    ) -> PricingProductData {
        wire(&json!({
            "OperatorID": operator, "OperatorName": "GEF", "ProviderID": provider,
            "PricingDefaultPrice": default, "PricingDefaultPriceCurrency": "EUR",
            "PricingDefaultReferenceUnit": "KILOWATT_HOUR",
            "PricingProductDataRecords": records
        }))
    }

    fn product_ids(list: &[PricingProductData]) -> Vec<(String, Vec<String>)> {
        list.iter()
            .map(|d| {
                (
                    d.provider_id.as_str().to_owned(),
                    d.pricing_product_data_records
                        .iter()
                        .map(|r| r.product_id.as_str().to_owned())
                        .collect(),
                )
            })
            .collect()
    }

    fn set(provider: &str, ids: &[&str]) -> (String, Vec<String>) {
        (
            provider.to_owned(),
            ids.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    fn last_call(s: &str) -> WireDateTime {
        WireDateTime::parse(s).unwrap()
    }

    /// Sets of DE*GEF for `*` (AC, DC), for DE*GDF (AC) and for DE-XYZ (AC), all at 10:00.
    async fn product_fixture() -> Store {
        let store = Store::open_in_memory().await.unwrap();
        let all = products(
            "DE*GEF",
            "*",
            0.5,
            &[product("AC", 0.4), product("DC", 0.6)],
        );
        store
            .apply_pricing_products(&all, ActionType::FullLoad, at(0), &[])
            .await
            .unwrap();
        let own = products("DE*GEF", "DE*GDF", 0.45, &[product("AC", 0.35)]);
        store
            .apply_pricing_products(&own, ActionType::Insert, at(0), &[])
            .await
            .unwrap();
        // Another provider's set is not returned.
        let other = products("DE*GEF", "DE-XYZ", 0.1, &[product("AC", 0.1)]);
        store
            .apply_pricing_products(&other, ActionType::FullLoad, at(0), &[])
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn pricing_products_action_types_and_provider_or_all() {
        let store = product_fixture().await;
        let gdf = provider("DE-GDF");
        let got = store
            .query_pricing_products(&[op("DEGEF")], &gdf, None)
            .await
            .unwrap();
        assert_eq!(
            product_ids(&got),
            [set("*", &["AC", "DC"]), set("DE*GDF", &["AC"])]
        );
        assert_eq!(got[1].pricing_default_price.to_string(), "0.45");

        // insert of an existing product fails and writes nothing.
        let again = products(
            "DE*GEF",
            "DEGDF",
            0.9,
            &[product("HPC", 0.8), product("AC", 0.3)],
        );
        let err = store
            .apply_pricing_products(&again, ActionType::Insert, at(1), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::AlreadyExists { what: "pricing product", ids } if ids == &["AC"]),
            "{err:?}"
        );
        // update of a missing product fails and writes nothing.
        let err = store
            .apply_pricing_products(&again, ActionType::Update, at(1), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::NotFound { ids, .. } if ids == &["HPC"]),
            "{err:?}"
        );
        let got = store
            .query_pricing_products(&[op("DE*GEF")], &gdf, None)
            .await
            .unwrap();
        assert_eq!(
            product_ids(&got),
            [set("*", &["AC", "DC"]), set("DE*GDF", &["AC"])]
        );
        assert_eq!(got[1].pricing_default_price.to_string(), "0.45");

        // update and delete per product.
        let update = products("DE*GEF", "*", 0.55, &[product("DC", 0.65)]);
        store
            .apply_pricing_products(&update, ActionType::Update, at(2), &[])
            .await
            .unwrap();
        let delete = products(
            "DE*GEF",
            "*",
            0.55,
            &[product("AC", 0.0), product("XX", 0.0)],
        );
        store
            .apply_pricing_products(&delete, ActionType::Delete, at(3), &[])
            .await
            .unwrap();
        let got = store
            .query_pricing_products(&[op("DE*GEF")], &gdf, None)
            .await
            .unwrap();
        assert_eq!(
            product_ids(&got),
            [set("*", &["DC"]), set("DE*GDF", &["AC"])]
        );
        assert_eq!(
            got[0].pricing_product_data_records[0]
                .price_per_reference_unit
                .to_string(),
            "0.65"
        );
    }

    #[tokio::test]
    async fn pricing_products_delta_returns_changed_sets_in_full() {
        let store = product_fixture().await;
        let gdf = provider("DE-GDF");
        let update = products("DE*GEF", "*", 0.55, &[product("DC", 0.65)]);
        store
            .apply_pricing_products(&update, ActionType::Update, at(2), &[])
            .await
            .unwrap();
        // Delta: only the sets changed since LastCall (not DE*GDF's), each in full.
        let delta = store
            .query_pricing_products(
                &[op("DE*GEF")],
                &gdf,
                Some(&last_call("2024-05-01T10:00:01Z")),
            )
            .await
            .unwrap();
        assert_eq!(product_ids(&delta), [set("*", &["AC", "DC"])]);
        assert_eq!(delta[0].pricing_default_price.to_string(), "0.55");
        // fullLoad replaces the set; an unknown operator gives nothing.
        store
            .apply_pricing_products(
                &products("DE*GEF", "*", 0.5, &[]),
                ActionType::FullLoad,
                at(4),
                &[],
            )
            .await
            .unwrap();
        let delta = store
            .query_pricing_products(
                &[op("DE*GEF"), op("DE*ZZZ")],
                &gdf,
                Some(&last_call("2024-05-01T10:00:04Z")),
            )
            .await
            .unwrap();
        assert_eq!(product_ids(&delta), [set("*", &[])]);
        assert!(
            store
                .query_pricing_products(&[], &gdf, None)
                .await
                .unwrap()
                .is_empty()
        );
    }

    fn evse_pricing(evse: &str, provider: &str, products: &[&str]) -> EvsePricing {
        wire(&json!({"EvseID": evse, "ProviderID": provider, "EvseIDProductList": products}))
    }

    fn entries(list: &[OperatorEvsePricing]) -> Vec<(String, String, String)> {
        list.iter()
            .flat_map(|o| {
                o.evse_pricing.iter().map(|e| {
                    (
                        o.operator_id.as_str().to_owned(),
                        e.evse_id.as_str().to_owned(),
                        e.provider_id.as_str().to_owned(),
                    )
                })
            })
            .collect()
    }

    fn entry(o: &str, e: &str, p: &str) -> (String, String, String) {
        (o.to_owned(), e.to_owned(), p.to_owned())
    }

    #[tokio::test]
    async fn evse_pricing_action_types_and_provider_or_all() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let gdf = provider("DE*GDF");
        let load = [
            evse_pricing("DE*GEF*E1", "*", &["AC"]),
            evse_pricing("DE*GEF*E1", "DE-GDF", &["AC-GDF"]),
            evse_pricing("DE*GEF*E2", "DE-XYZ", &["AC"]),
        ];
        store
            .apply_evse_pricing(&gef, ActionType::FullLoad, &load, at(0), &[])
            .await
            .unwrap();
        let got = store
            .query_evse_pricing(&[op("DEGEF")], &gdf, None)
            .await
            .unwrap();
        assert_eq!(
            entries(&got),
            [
                entry("DE*GEF", "DE*GEF*E1", "*"),
                entry("DE*GEF", "DE*GEF*E1", "DE-GDF")
            ]
        );

        let err = store
            .apply_evse_pricing(
                &gef,
                ActionType::Insert,
                &[
                    evse_pricing("DE*GEF*E3", "*", &["AC"]),
                    evse_pricing("DEGEFE1", "DEGDF", &["X"]),
                ],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::AlreadyExists { what: "EVSE pricing", ids } if ids == &["DEGEFE1/DEGDF"]),
            "{err:?}"
        );
        let err = store
            .apply_evse_pricing(
                &gef,
                ActionType::Update,
                &[evse_pricing("DE*GEF*E2", "*", &["DC"])],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::NotFound { ids, .. } if ids == &["DE*GEF*E2/*"]),
            "{err:?}"
        );
        assert_eq!(
            store
                .query_evse_pricing(std::slice::from_ref(&gef), &gdf, None)
                .await
                .unwrap(),
            got
        );

        store
            .apply_evse_pricing(
                &gef,
                ActionType::Update,
                &[evse_pricing("DE*GEF*E1", "*", &["DC"])],
                at(2),
                &[],
            )
            .await
            .unwrap();
        let got = store
            .query_evse_pricing(std::slice::from_ref(&gef), &gdf, None)
            .await
            .unwrap();
        assert_eq!(
            got[0].evse_pricing[0].evse_id_product_list[0].as_str(),
            "DC"
        );

        // Delta: nothing changed for DE-GDF or * since 10:00:03.
        let since = last_call("2024-05-01T10:00:03Z");
        assert!(
            store
                .query_evse_pricing(std::slice::from_ref(&gef), &gdf, Some(&since))
                .await
                .unwrap()
                .is_empty()
        );
        // A deletion is a change: the list comes back in full.
        store
            .apply_evse_pricing(
                &gef,
                ActionType::Delete,
                &[evse_pricing("DE*GEF*E1", "DE-GDF", &["AC-GDF"])],
                at(4),
                &[],
            )
            .await
            .unwrap();
        let delta = store
            .query_evse_pricing(std::slice::from_ref(&gef), &gdf, Some(&since))
            .await
            .unwrap();
        assert_eq!(entries(&delta), [entry("DE*GEF", "DE*GEF*E1", "*")]);
        // A fullLoad without entries empties it; the delta reports an empty list.
        store
            .apply_evse_pricing(&gef, ActionType::FullLoad, &[], at(5), &[])
            .await
            .unwrap();
        let delta = store
            .query_evse_pricing(
                std::slice::from_ref(&gef),
                &gdf,
                Some(&last_call("2024-05-01T10:00:05Z")),
            )
            .await
            .unwrap();
        assert_eq!(delta.len(), 1);
        assert!(delta[0].evse_pricing.is_empty());
        assert!(
            store
                .query_evse_pricing(&[gef], &gdf, None)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
