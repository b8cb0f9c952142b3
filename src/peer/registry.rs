//! Own parties (from the configuration) and registered peers (configuration plus the admin
//! API), looked up by ID, format-insensitively (`DE*GDF` finds `DE-GDF`), and by the bearer
//! token a caller presents.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::client::{Target, TargetKind};
use crate::config::{PartnerId, Party, Peer, Role};
use crate::oicp::v23::ids::{OperatorId, ProviderId};

/// Who sent a request, from its credential.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The backend of one or more own parties (parties sharing a backend share its token).
    Backend(Vec<PartnerId>),
    /// A registered peer.
    Peer(Arc<Peer>),
    /// The clearing house (identified by its client certificate or its configured token). It
    /// forwards calls for every partner, like a peer acting for all IDs.
    Hub,
}

impl Caller {
    /// For spans: `backend:DE*GEF` or `peer:DE-GDF`.
    pub fn describe(&self) -> String {
        match self {
            Self::Backend(ids) => {
                let ids: Vec<&str> = ids.iter().map(PartnerId::as_str).collect();
                format!("backend:{}", ids.join(","))
            }
            Self::Peer(p) => format!("peer:{}", p.id),
            Self::Hub => "hub".to_owned(),
        }
    }

    /// Whether the caller may act for `id`.
    pub fn may_act_for(&self, id: &PartnerId) -> bool {
        match self {
            Self::Backend(ids) => ids.contains(id),
            Self::Peer(p) => p.id == *id,
            Self::Hub => true,
        }
    }
}

/// Why a peer cannot be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// The ID is an own party.
    #[error("{0} is an own party of this node, not a peer")]
    OwnParty(String),
    /// Another caller already presents this inbound token.
    #[error("the inbound token of {0} is already used by another caller")]
    TokenInUse(String),
}

#[derive(Debug, Default)]
struct Peers {
    by_id: BTreeMap<PartnerId, Arc<Peer>>,
    by_token: HashMap<String, PartnerId>,
}

/// Parties and peers of a node.
#[derive(Debug)]
pub struct Registry {
    parties: Vec<Party>,
    backend_tokens: HashMap<String, Vec<PartnerId>>,
    peers: RwLock<Peers>,
    default_timeout: Duration,
}

impl Registry {
    /// A registry with the configured parties and no peers yet.
    pub fn new(parties: Vec<Party>, default_timeout: Duration) -> Self {
        let mut backend_tokens: HashMap<String, Vec<PartnerId>> = HashMap::new();
        for p in &parties {
            if let Some(t) = &p.backend_token {
                backend_tokens
                    .entry(t.clone())
                    .or_default()
                    .push(p.id.clone());
            }
        }
        Self {
            parties,
            backend_tokens,
            peers: RwLock::new(Peers::default()),
            default_timeout,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Peers> {
        self.peers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Peers> {
        self.peers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Identifies a caller by its bearer token.
    pub fn identify(&self, token: &str) -> Option<Caller> {
        if let Some(ids) = self.backend_tokens.get(token) {
            return Some(Caller::Backend(ids.clone()));
        }
        let peers = self.read();
        let id = peers.by_token.get(token)?;
        peers.by_id.get(id).cloned().map(Caller::Peer)
    }

    /// All own parties.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }

    /// The own party with this ID.
    pub fn party(&self, id: &PartnerId) -> Option<&Party> {
        self.parties.iter().find(|p| p.id == *id)
    }

    /// The own CPO with this `OperatorID`.
    pub fn own_cpo(&self, operator: &OperatorId) -> Option<&Party> {
        self.party(&PartnerId::Operator(operator.clone()))
    }

    /// The own EMP with this `ProviderID`.
    pub fn own_emp(&self, provider: &ProviderId) -> Option<&Party> {
        self.party(&PartnerId::Provider(provider.clone()))
    }

    /// Own parties of a role.
    pub fn own(&self, role: Role) -> impl Iterator<Item = &Party> {
        self.parties.iter().filter(move |p| p.id.role() == role)
    }

    /// Whether the node hosts a party of this role.
    pub fn hosts(&self, role: Role) -> bool {
        self.own(role).next().is_some()
    }

    /// The peer with this ID.
    pub fn peer(&self, id: &PartnerId) -> Option<Arc<Peer>> {
        self.read().by_id.get(id).cloned()
    }

    /// All OICP peers of a role, in ID order (OCPI peers are reached through `node::ocpi`,
    /// never with OICP messages).
    pub fn peers(&self, role: Role) -> Vec<Arc<Peer>> {
        self.read()
            .by_id
            .values()
            .filter(|p| p.id.role() == role && p.ocpi.is_none())
            .cloned()
            .collect()
    }

    /// All peers.
    pub fn all_peers(&self) -> Vec<Arc<Peer>> {
        self.read().by_id.values().cloned().collect()
    }

    /// Adds or replaces a peer; returns whether it is new.
    pub fn upsert(&self, peer: Peer) -> Result<bool, RegistryError> {
        if self.party(&peer.id).is_some() {
            return Err(RegistryError::OwnParty(peer.id.to_string()));
        }
        let mut peers = self.write();
        if let Some(t) = &peer.inbound_token {
            let taken_by_peer = peers.by_token.get(t).is_some_and(|owner| *owner != peer.id);
            if taken_by_peer || self.backend_tokens.contains_key(t) {
                return Err(RegistryError::TokenInUse(peer.id.to_string()));
            }
        }
        let (id, token) = (peer.id.clone(), peer.inbound_token.clone());
        let old = peers.by_id.insert(id.clone(), Arc::new(peer));
        if let Some(old_token) = old.as_ref().and_then(|o| o.inbound_token.clone()) {
            peers.by_token.remove(&old_token);
        }
        if let Some(t) = token {
            peers.by_token.insert(t, id);
        }
        Ok(old.is_none())
    }

    /// Removes a peer; returns it if it was there.
    pub fn remove(&self, id: &PartnerId) -> Option<Arc<Peer>> {
        let mut peers = self.write();
        let old = peers.by_id.remove(id)?;
        if let Some(t) = &old.inbound_token {
            peers.by_token.remove(t);
        }
        Some(old)
    }

    /// How to call a peer.
    pub fn peer_target(peer: &Peer) -> Target {
        Target {
            kind: TargetKind::Peer,
            id: peer.id.clone(),
            base_url: peer.url.clone(),
            token: peer.token.clone(),
            timeout: peer.timeout,
        }
    }

    /// How to call an own party's backend, if it has one.
    pub fn backend_target(&self, party: &Party) -> Option<Target> {
        party.backend.as_ref().map(|url| Target {
            kind: TargetKind::Backend,
            id: party.id.clone(),
            base_url: url.clone(),
            token: None,
            timeout: self.default_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(role: Role, id: &str, inbound: &str) -> Peer {
        Peer {
            id: PartnerId::parse(role, id).unwrap(),
            url: "http://127.0.0.1:1/api/oicp".into(),
            timeout: Duration::from_secs(1),
            token: None,
            inbound_token: Some(inbound.into()),
            ocpi: None,
        }
    }

    fn registry() -> Registry {
        let party = Party {
            id: PartnerId::parse(Role::Cpo, "DE*GEF").unwrap(),
            name: None,
            backend: Some("http://127.0.0.1:2/api/oicp".into()),
            backend_token: Some("backend".into()),
            ocpi: None,
        };
        Registry::new(vec![party], Duration::from_secs(10))
    }

    #[test]
    fn lookups_ignore_the_id_format() {
        let r = registry();
        assert!(r.upsert(peer(Role::Emp, "DE-GDF", "t1")).unwrap());
        assert!(
            r.peer(&PartnerId::parse(Role::Emp, "DE*GDF").unwrap())
                .is_some()
        );
        assert!(
            r.peer(&PartnerId::parse(Role::Emp, "degdf").unwrap())
                .is_some()
        );
        assert!(r.own_cpo(&OperatorId::parse("DEGEF").unwrap()).is_some());
        // Updating under another spelling replaces, it does not add.
        assert!(!r.upsert(peer(Role::Emp, "DE*GDF", "t2")).unwrap());
        assert_eq!(r.peers(Role::Emp).len(), 1);
        assert!(r.identify("t1").is_none());
        assert!(matches!(r.identify("t2"), Some(Caller::Peer(_))));
    }

    #[test]
    fn callers_are_bound_to_their_ids() {
        let r = registry();
        r.upsert(peer(Role::Cpo, "DE*ABC", "abc")).unwrap();
        let caller = r.identify("abc").unwrap();
        assert!(caller.may_act_for(&PartnerId::parse(Role::Cpo, "DEABC").unwrap()));
        assert!(!caller.may_act_for(&PartnerId::parse(Role::Cpo, "DE*XYZ").unwrap()));
        let backend = r.identify("backend").unwrap();
        assert!(backend.may_act_for(&PartnerId::parse(Role::Cpo, "DE*GEF").unwrap()));
        assert!(r.identify("nobody").is_none());
    }

    #[test]
    fn tokens_and_own_ids_are_protected() {
        let r = registry();
        assert_eq!(
            r.upsert(peer(Role::Cpo, "DE*GEF", "x")),
            Err(RegistryError::OwnParty("DE*GEF".into()))
        );
        assert_eq!(
            r.upsert(peer(Role::Emp, "DE-AAA", "backend")),
            Err(RegistryError::TokenInUse("DE-AAA".into()))
        );
        r.upsert(peer(Role::Emp, "DE-AAA", "a")).unwrap();
        assert_eq!(
            r.upsert(peer(Role::Emp, "DE-BBB", "a")),
            Err(RegistryError::TokenInUse("DE-BBB".into()))
        );
        assert!(
            r.remove(&PartnerId::parse(Role::Emp, "DE*AAA").unwrap())
                .is_some()
        );
        assert!(r.identify("a").is_none());
    }
}
