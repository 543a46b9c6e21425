//! chiso
pub mod app;
pub mod config;
pub mod core;
pub mod live;
pub mod wire;
