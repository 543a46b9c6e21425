//! chiso
pub mod app;
pub mod config;
pub mod core;
pub mod wire;
