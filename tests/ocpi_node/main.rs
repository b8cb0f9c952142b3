//! Two-node OCPI tests over HTTP on 127.0.0.1: our OCPI side against our OCPI side (the
//! credentials handshake both ways, update and rotation, unregistering, authentication,
//! envelope, headers and error paths), plus a scripted partner for what our own side never
//! does (no 2.2.1, missing endpoints, 403, lower-case ids, pages with `Link`).

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod harness;
/// Nodes come from the OICP node tests' harness (its doubles are not used here).
#[allow(dead_code)]
#[path = "../node/harness.rs"]
mod oicp_harness;

mod client;
mod commands;
mod cpo_authorize;
mod cpo_locations;
mod cpo_push;
mod cpo_sessions;
mod cpo_tokens;
mod emsp_pull;
mod emsp_receiver;
mod emsp_tokens;
#[path = "../support/evse_push.rs"]
mod evse_push;
mod handshake;
mod tolerance;
mod transport;
