//! Registered peers (admin API and configuration file), stored as [`RawPeer`] JSON and keyed
//! by role and canonical ID, so that `DE*GEF` and `DEGEF` are the same peer.

use super::{Store, StoreError};
use crate::config::{PartnerId, RawPeer, Role};

impl Store {
    /// Every stored peer, ordered by role and canonical ID.
    pub async fn list_peers(&self) -> Result<Vec<RawPeer>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached("SELECT json FROM peer ORDER BY role, peer_key")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut peers = Vec::new();
            for json in rows {
                peers.push(serde_json::from_str(&json?)?);
            }
            Ok(peers)
        })
        .await
    }

    /// Stores a peer, replacing the one with the same role and canonical ID.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] if the role is not `cpo`/`emp` or the ID is not an
    /// `OperatorID`/`ProviderID` (the node checks peers with `Peer::from_raw` first).
    pub async fn upsert_peer(&self, peer: &RawPeer) -> Result<(), StoreError> {
        let role = Role::parse(&peer.role).ok_or_else(|| {
            StoreError::InvalidInput(format!("'{}' is not a role (cpo or emp)", peer.role))
        })?;
        let key = PartnerId::parse(role, &peer.id)
            .map_err(StoreError::InvalidInput)?
            .canonical();
        let json = serde_json::to_string(peer)?;
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO peer (role, peer_key, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (role, peer_key) DO UPDATE SET json = excluded.json",
            )?
            .execute((role.as_str(), &key, &json))?;
            Ok(())
        })
        .await
    }

    /// Removes a peer; `true` if it was stored. `canonical_key` should be the canonical ID
    /// (`PartnerId::canonical`); another spelling of a valid ID is canonicalised here.
    pub async fn delete_peer(&self, role: Role, canonical_key: &str) -> Result<bool, StoreError> {
        let key = PartnerId::parse(role, canonical_key)
            .map_or_else(|_| canonical_key.to_owned(), |id| id.canonical());
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM peer WHERE role = ?1 AND peer_key = ?2")?
                .execute((role.as_str(), &key))?;
            Ok(n > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::raw_peer;
    use super::*;

    #[tokio::test]
    async fn peers_are_keyed_by_role_and_canonical_id() {
        let store = Store::open_in_memory().await.unwrap();
        store.upsert_peer(&raw_peer("cpo", "DE*ABC")).await.unwrap();
        let mut renamed = raw_peer("cpo", "DEABC");
        renamed.url = "https://other.example/api/oicp".to_owned();
        store.upsert_peer(&renamed).await.unwrap();
        store.upsert_peer(&raw_peer("emp", "DE-GDF")).await.unwrap();
        // The same letters as an EMP are another peer.
        store.upsert_peer(&raw_peer("emp", "DE*ABC")).await.unwrap();

        let peers = store.list_peers().await.unwrap();
        assert_eq!(peers.len(), 3);
        assert_eq!(peers[0], renamed);
        assert_eq!(peers[1].id, "DE*ABC");
        assert_eq!(peers[2].id, "DE-GDF");

        assert!(store.delete_peer(Role::Cpo, "DEABC").await.unwrap());
        assert!(!store.delete_peer(Role::Cpo, "DEABC").await.unwrap());
        assert!(store.delete_peer(Role::Emp, "DE-GDF").await.unwrap());
        assert_eq!(store.list_peers().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn invalid_peers_are_refused() {
        let store = Store::open_in_memory().await.unwrap();
        let err = store
            .upsert_peer(&raw_peer("hub", "DE*ABC"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
        let err = store
            .upsert_peer(&raw_peer("emp", "not an id"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
        assert!(store.list_peers().await.unwrap().is_empty());
    }
}
