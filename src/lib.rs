//! tresor: a keyboard-driven terminal secrets manager.
//!
//! `vault` is the domain and storage (no terminal code), `cli` the thin headless commands,
//! `tui` the Secrets screen; `clipboard` the terminal's clipboard (OSC 52), for both.

pub mod cli;
pub mod clipboard;
pub mod tui;
pub mod vault;
