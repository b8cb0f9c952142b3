//! End-to-end tests of the P2P node through real HTTP on 127.0.0.1: CPO and EMP nodes, and
//! doubles for the parties' own backends (the only systems we cannot run).

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod harness;
mod support;
mod topology;

mod admin_api;
mod binary;
mod cpo_to_emp;
mod dual_role;
mod emp_to_cpo;
mod errors;
mod fan_out;
mod live_pull;
mod process_id;
mod smoke;
mod visibility;
