//! roambridge: a peer-to-peer OICP 2.3 roaming gateway for EV charging, with a translation
//! layer to OCPI 2.2.1.
//!
//! # Layout
//! * [`oicp`]: the OICP wire model. `oicp::v23` has one type per message and nested type of
//!   OICP 2.3, validated ID newtypes, status codes, the rules the spec states beyond types, and
//!   the table of operations. It knows nothing of HTTP or SQL.
//! * [`ocpi`]: the OCPI 2.2.1 wire model (`ocpi::v221`): module objects, IDs and their rules.
//! * [`config`]: the node's TOML configuration, checked into typed values at startup.
//! * [`peer`]: the outbound OICP client and the registry of own parties and peers.
//! * [`routing`]: route rules (direct, clearing house, fallback, both) resolved by operation and
//!   partner.
//! * [`clearing_house`] and [`tls`]: the hub's mutual-TLS client and recognition, PEM loading.
//! * [`node`]: the actix-web node: OICP routes, operation logic, delivery worker, admin API.
//! * [`store`]: `SQLite` (rusqlite, WAL, migrations) with the durable outbox, off the executor.
//! * [`mapping`]: pure OICP <-> OCPI mapping functions and the value tables in `mappings/`.
//! * [`translate`]: whole documents OICP <-> OCPI for `roambridge translate`, streamed.
//! * [`cli`]: the command line (`run`, `oicp validate|operations`, `routes explain`, `outbox`).
//!
//! Still to come with the same dependency rule (wire types and mappings do no IO): the rest of
//! the OICP <-> OCPI mapping functions and the OCPI endpoints.

pub mod clearing_house;
pub mod cli;
pub mod config;
pub mod mapping;
pub mod node;
pub mod ocpi;
pub mod oicp;
pub mod peer;
pub mod routing;
pub mod store;
pub mod tls;
pub mod translate;
