//! roambridge: a peer-to-peer OICP 2.3 roaming gateway for EV charging, with a translation
//! layer to OCPI 2.2.1.
//!
//! # Layout
//! * [`oicp`]: the OICP wire model. `oicp::v23` has one type per message and nested type of
//!   OICP 2.3, validated ID newtypes, status codes, the rules the spec states beyond types, and
//!   the table of operations. It knows nothing of HTTP or SQL.
//! * [`ocpi`]: the OCPI 2.2.1 wire model (`ocpi::v221`): module objects, IDs and their rules.
//! * [`cli`]: the command line (`roambridge oicp validate|operations`).
//!
//! Still to come, each as a sibling module with the same dependency rule (wire types and
//! mappings do no IO): `peer` (own parties, registered peers, routing), `clearing_house` (the
//! Hubject client), `mapping` (pure OICP <-> OCPI functions with the value tables in
//! `mappings/`), `ocpi` (OCPI 2.2.1 wire types and endpoints) and `store` (`SQLite`, off the async
//! executor).

pub mod clearing_house;
pub mod cli;
pub mod config;
pub mod node;
pub mod ocpi;

pub mod oicp;
pub mod peer;
pub mod routing;
pub mod store;
pub mod tls;
