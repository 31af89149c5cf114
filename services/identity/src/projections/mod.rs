//! The service's read models. Each is a `match` over events with one SQL statement per
//! arm, applied by the shared projection runner in the transaction of its checkpoint.

pub mod care;
pub mod register;
