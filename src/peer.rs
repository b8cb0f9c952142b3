//! Peers and parties: who the node talks to, and how.
//!
//! * [`client`]: the outbound OICP HTTP client and its error values.
//! * [`registry`]: own parties and registered peers, looked up format-insensitively and by
//!   credential.

pub mod client;
pub mod registry;
