//! Wiring: commands built from the core and the adapters.

pub mod args;
pub mod clock;
pub mod config;
pub mod demo;
pub mod files;
pub mod generate;
pub mod lines;
pub mod process;
pub mod produce;
pub mod replay;
pub mod report;
pub mod run;
pub mod topics;
