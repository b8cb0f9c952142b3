//! End-to-end tests of the P2P node through real HTTP on 127.0.0.1: CPO and EMP nodes, and
//! doubles for the parties' own backends (the only systems we cannot run).

mod harness;
mod topology;

mod smoke;
