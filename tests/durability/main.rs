//! Durability of the node (issue 5): everything acknowledged is delivered, after a crash, a
//! peer outage or a refusal, in order per target; status updates are coalesced; dead letters
//! are listed and retried through the admin API and the CLI.
//!
//! `crash` runs the real `roambridge` binary with a file database and kills it with SIGKILL;
//! `outages` runs nodes in this process.

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod harness;

mod crash;
mod outages;
