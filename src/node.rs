//! The node: an actix-web server that hosts own parties and routes OICP directly between them
//! and registered peers.
//!
//! * [`http`]: the routes (all OICP 2.3 paths under `/api/oicp`, the admin API), caller
//!   identification, the `Process-ID` header, request spans.
//! * [`ops`]: what each operation does for a backend caller and for a peer caller.
//! * [`delivery`]: the background sender of the durable outbox (fan-out pushes, CDRs,
//!   notifications), in order per target, with retries and dead letters.
//! * [`failure`]: the one mapping from failures to OICP codes and negative responses.
//! * [`ocpi`]: the OCPI 2.2.1 server under `/ocpi`, its client and credentials handshakes.

pub mod delivery;
pub mod failure;
pub mod http;
pub mod ocpi;
pub mod ops;
pub mod routes;

use std::net::TcpListener;
use std::sync::Arc;

use crate::config::{Config, Peer, RawPeer};
use crate::peer::registry::Registry;
use crate::store::{Store, StoreError};
use delivery::Delivery;

/// Everything the handlers share.
#[derive(Debug)]
pub struct NodeState {
    /// The configuration the node started with.
    pub config: Config,
    /// Parties and peers.
    pub registry: Registry,
    /// The `SQLite` store.
    pub store: Store,
    /// The background sender.
    pub delivery: Delivery,
    /// The clearing house connection settings, if one is configured.
    pub hub: Option<crate::clearing_house::ClearingHouseClient>,
    /// The route every request took.
    pub routes: routes::RouteLog,
    /// The OCPI side: public URLs, own OCPI parties, credentials.
    pub ocpi: ocpi::OcpiState,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error("cannot open the database {path}: {source}")]
    Store {
        /// The database path.
        path: String,
        /// The cause.
        source: StoreError,
    },
    /// A peer stored in the database is no longer valid.
    #[error("peer {id} stored in the database is invalid: {problem}")]
    StoredPeer {
        /// The peer ID.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// A value table in `mappings/` is broken.
    #[error("{0}")]
    Tables(crate::mapping::tables::TableError),
    /// The clearing house's TLS material could not be loaded.
    #[error("{0}")]
    Tls(crate::config::ConfigError),
    /// Binding the listener or starting threads failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A built node, bound to its port, not yet serving.
pub struct Application {
    port: u16,
    state: Arc<NodeState>,
    server: actix_web::dev::Server,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the store, registers the peers (those stored by the admin API, then those of the
    /// configuration file, which win for the IDs they name) and binds the listener.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = match config.database_path() {
            Some(path) => Store::open(&path)
                .await
                .map_err(|source| StartError::Store {
                    path: path.display().to_string(),
                    source,
                })?,
            None => Store::open_in_memory()
                .await
                .map_err(|source| StartError::Store {
                    path: ":memory:".to_owned(),
                    source,
                })?,
        };
        let registry = Registry::new(config.parties.clone(), config.node.request_timeout);
        let stored = store
            .list_peers()
            .await
            .map_err(|source| StartError::Store {
                path: config.node.database.clone(),
                source,
            })?;
        for raw in stored {
            let peer =
                Peer::from_raw(&raw, config.node.request_timeout).map_err(|(key, problem)| {
                    StartError::StoredPeer {
                        id: raw.id.clone(),
                        problem: format!("{key}: {problem}"),
                    }
                })?;
            if let Err(e) = registry.upsert(peer) {
                tracing::warn!(peer = %raw.id, error = %e, "stored peer skipped");
            }
        }
        for peer in &config.peers {
            let raw: RawPeer = peer.to_raw();
            registry
                .upsert(peer.clone())
                .map_err(|e| StartError::StoredPeer {
                    id: raw.id.clone(),
                    problem: e.to_string(),
                })?;
            store
                .upsert_peer(&raw)
                .await
                .map_err(|source| StartError::Store {
                    path: config.node.database.clone(),
                    source,
                })?;
        }
        // The OICP <-> OCPI value tables: a broken table stops startup (file, row, reason).
        crate::mapping::tables::Tables::load().map_err(StartError::Tables)?;
        let hub = match &config.clearing_house {
            Some(c) => Some(
                crate::clearing_house::ClearingHouseClient::new(c).map_err(|e| {
                    StartError::Tls(
                        e.into_config_error(&config.source, "clearing_house.client_cert"),
                    )
                })?,
            ),
            None => None,
        };
        let delivery = Delivery::new(config.delivery.clone());
        let listener = TcpListener::bind(config.node.listen)?;
        let port = listener.local_addr()?.port();
        let ocpi = ocpi::OcpiState::load(&config, &store, port)
            .await
            .map_err(|source| StartError::Store {
                path: config.node.database.clone(),
                source,
            })?;
        let state = Arc::new(NodeState {
            config,
            registry,
            store,
            delivery,
            hub,
            routes: routes::RouteLog::default(),
            ocpi,
        });
        // Resumes whatever the outbox holds (left by a previous run or a crash).
        state.delivery.start(Arc::downgrade(&state))?;
        let server = http::serve(Arc::clone(&state), listener)?;
        Ok(Self {
            port,
            state,
            server,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests inspect the store and the delivery log through it).
    pub fn state(&self) -> Arc<NodeState> {
        Arc::clone(&self.state)
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (Ctrl-C, SIGTERM or [`actix_web::dev::ServerHandle::stop`]).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
