//! OICP (Open `InterCharge` Protocol) wire model, one module per protocol version.

pub mod v23;
