//! tresor: a keyboard-driven terminal secrets manager.
//!
//! `vault` is the domain and storage (no terminal code), `cli` the thin headless commands,
//! `tui` the Secrets screen; `agent` the process that keeps unlocked keys for a session;
//! `clipboard` the terminal's clipboard (OSC 52), for both.

pub mod agent;
pub mod cli;
pub mod clipboard;
pub mod detached;
pub mod tui;
pub mod vault;
