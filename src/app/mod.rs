//! Wiring: commands built from the core and the adapters.

pub mod demo;
pub mod generate;
pub mod replay;
pub mod run;
