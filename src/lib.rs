//! tresor: a keyboard-driven terminal secrets manager.
//!
//! `vault` is the domain and storage (no terminal code), `cli` the thin headless commands,
//! `tui` the Secrets screen.

pub mod cli;
pub mod tui;
pub mod vault;
