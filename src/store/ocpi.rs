//! OCPI credentials (migration 0004): the tokens A we issued and the registered connections,
//! one per peer (ocpi-2.2.1.md §3.2 "persistent per-peer state").
//!
//! A connection is stored as one JSON record keyed by the peer's role and canonical ID, with
//! the token the partner presents to us in its own unique column. The node keeps a copy of
//! everything here in memory (`node::ocpi::OcpiState`) and writes here first.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::config::{PartnerId, Role};
use crate::ocpi::v221::versions::{CredentialsRole, Endpoint};

/// A token A we issued: who it is for, if we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenA {
    /// The token.
    pub token: String,
    /// The peer it was issued for, if one was named.
    pub peer: Option<PartnerId>,
    /// When it was issued (UTC milliseconds).
    pub created_at: i64,
}

/// A registered OCPI connection with one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcpiConnection {
    /// `cpo` or `emp`: the role of the peer ID that keys the connection.
    pub peer_role: Role,
    /// The peer's `OperatorID` or `ProviderID`, as spelled.
    pub peer_id: String,
    /// The partner's versions URL (from its credentials).
    pub versions_url: String,
    /// The version in use (`2.2.1`).
    pub version: String,
    /// The partner's endpoints of that version, as its version details listed them.
    pub endpoints: Vec<Endpoint>,
    /// The partner's parties (its credentials `roles`).
    pub roles: Vec<CredentialsRole>,
    /// The token we present to the partner.
    pub token_out: String,
    /// The token the partner presents to us.
    pub token_in: String,
    /// Whether we registered with the partner (we used its token A), rather than it with us.
    pub registered_by_us: bool,
    /// When the credentials were last exchanged (UTC milliseconds).
    pub updated_at: i64,
}

impl OcpiConnection {
    /// The peer ID keying the connection.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored ID does not parse.
    pub fn peer(&self) -> Result<PartnerId, StoreError> {
        PartnerId::parse(self.peer_role, &self.peer_id)
            .map_err(|e| StoreError::Corrupt(format!("OCPI connection {}: {e}", self.peer_id)))
    }
}

impl Store {
    /// Stores a new token A, optionally bound to a peer.
    pub async fn ocpi_add_token_a(&self, token: TokenA) -> Result<(), StoreError> {
        self.write(move |tx| {
            let (role, id) = token
                .peer
                .as_ref()
                .map(|p| (p.role().as_str(), p.as_str().to_owned()))
                .unzip();
            tx.prepare_cached(
                "INSERT INTO ocpi_token_a (token, peer_role, peer_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute((&token.token, role, id, token.created_at))?;
            Ok(())
        })
        .await
    }

    /// Every token A still unused.
    pub async fn ocpi_tokens_a(&self) -> Result<Vec<TokenA>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT token, peer_role, peer_id, created_at FROM ocpi_token_a ORDER BY created_at",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (token, role, id, created_at) = row?;
                let peer = match (role, id) {
                    (Some(role), Some(id)) => {
                        let role = Role::parse(&role).ok_or_else(|| {
                            StoreError::Corrupt(format!("token A role '{role}'"))
                        })?;
                        Some(PartnerId::parse(role, &id).map_err(StoreError::Corrupt)?)
                    }
                    _ => None,
                };
                out.push(TokenA {
                    token,
                    peer,
                    created_at,
                });
            }
            Ok(out)
        })
        .await
    }

    /// Deletes a token A; `true` if it existed.
    pub async fn ocpi_delete_token_a(&self, token: &str) -> Result<bool, StoreError> {
        let token = token.to_owned();
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM ocpi_token_a WHERE token = ?1")?
                .execute([&token])?;
            Ok(n > 0)
        })
        .await
    }

    /// Stores a connection (replacing the peer's previous one) and, in the same transaction,
    /// deletes the token A that opened it, if any: a token A dies with its registration.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if `used_token_a` was already used (or never issued): two
    /// registrations raced for it and this one lost.
    pub async fn ocpi_save_connection(
        &self,
        connection: OcpiConnection,
        used_token_a: Option<String>,
    ) -> Result<(), StoreError> {
        let key = connection.peer()?.canonical();
        let json = serde_json::to_string(&connection)?;
        self.write(move |tx| {
            if let Some(token) = used_token_a {
                let n = tx
                    .prepare_cached("DELETE FROM ocpi_token_a WHERE token = ?1")?
                    .execute([&token])?;
                if n == 0 {
                    return Err(StoreError::Conflict(
                        "the token A was used by another registration".to_owned(),
                    ));
                }
            }
            tx.prepare_cached(
                "INSERT INTO ocpi_connection (peer_role, peer_key, token_in, json)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (peer_role, peer_key)
                 DO UPDATE SET token_in = excluded.token_in, json = excluded.json",
            )?
            .execute((
                connection.peer_role.as_str(),
                &key,
                &connection.token_in,
                &json,
            ))?;
            Ok(())
        })
        .await
    }

    /// Every registered connection, by role and canonical peer ID.
    pub async fn ocpi_connections(&self) -> Result<Vec<OcpiConnection>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT json FROM ocpi_connection ORDER BY peer_role, peer_key")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for json in rows {
                out.push(serde_json::from_str(&json?)?);
            }
            Ok(out)
        })
        .await
    }

    /// Forgets a peer's connection; `true` if there was one.
    pub async fn ocpi_delete_connection(&self, peer: &PartnerId) -> Result<bool, StoreError> {
        let (role, key) = (peer.role(), peer.canonical());
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "DELETE FROM ocpi_connection WHERE peer_role = ?1 AND peer_key = ?2",
                )?
                .execute((role.as_str(), &key))?;
            Ok(n > 0)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(id: &str, token_in: &str) -> OcpiConnection {
        let roles = crate::ocpi::v221::parse_value(&serde_json::json!({
            "role": "CPO", "business_details": {"name": "X"}, "party_id": "abc", "country_code": "de"
        }))
        .unwrap();
        let endpoint = crate::ocpi::v221::parse_value(&serde_json::json!({
            "identifier": "credentials", "role": "SENDER", "url": "http://x/ocpi/2.2.1/credentials"
        }))
        .unwrap();
        OcpiConnection {
            peer_role: Role::Cpo,
            peer_id: id.to_owned(),
            versions_url: "http://x/ocpi/versions".to_owned(),
            version: "2.2.1".to_owned(),
            endpoints: vec![endpoint],
            roles: vec![roles],
            token_out: "out".to_owned(),
            token_in: token_in.to_owned(),
            registered_by_us: false,
            updated_at: 1,
        }
    }

    #[tokio::test]
    async fn a_token_a_dies_with_the_registration_it_opens() {
        let store = Store::open_in_memory().await.unwrap();
        let peer = PartnerId::parse(Role::Cpo, "DE*ABC").unwrap();
        store
            .ocpi_add_token_a(TokenA {
                token: "a1".into(),
                peer: Some(peer.clone()),
                created_at: 5,
            })
            .await
            .unwrap();
        let tokens = store.ocpi_tokens_a().await.unwrap();
        assert_eq!(tokens[0].peer.as_ref(), Some(&peer));
        store
            .ocpi_save_connection(connection("DE*ABC", "in1"), Some("a1".into()))
            .await
            .unwrap();
        assert!(store.ocpi_tokens_a().await.unwrap().is_empty());
        // The same token A cannot open a second registration.
        let again = store
            .ocpi_save_connection(connection("DE*XYZ", "in2"), Some("a1".into()))
            .await
            .unwrap_err();
        assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");
        // Another spelling of the ID replaces the connection.
        store
            .ocpi_save_connection(connection("DEABC", "in3"), None)
            .await
            .unwrap();
        let all = store.ocpi_connections().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].token_in, "in3");
        assert_eq!(all[0].roles[0].party_id.as_str(), "abc");
        assert!(store.ocpi_delete_connection(&peer).await.unwrap());
        assert!(!store.ocpi_delete_connection(&peer).await.unwrap());
    }

    #[tokio::test]
    async fn an_incoming_token_belongs_to_one_connection() {
        let store = Store::open_in_memory().await.unwrap();
        store
            .ocpi_save_connection(connection("DE*ABC", "same"), None)
            .await
            .unwrap();
        assert!(
            store
                .ocpi_save_connection(connection("DE*XYZ", "same"), None)
                .await
                .is_err()
        );
    }
}
