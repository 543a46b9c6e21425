//! Wiring: commands built from the core and the adapters.

pub mod replay;
