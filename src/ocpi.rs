//! OCPI (Open Charge Point Interface) wire model, one module per protocol version.

pub mod v221;
