//! Helpers shared by the black-box tests: run the real `tresor` binary on throwaway
//! vaults, never inheriting the developer's `TRESOR_*` settings, never waiting forever.
//!
//! `process` runs the binary, `vault` makes temporary vaults, `library_vault` one reached
//! through the library (the TUI tests), `screen` a drawn buffer as text, `npm_dotenv` is the
//! reference .env parser. (`shell.rs` beside them, an interactive bash in tmux, is
//! included by the tests that need it.)

#![allow(dead_code, unused_imports)]

mod library_vault;
mod npm_dotenv;
mod process;
mod screen;
mod vault;

pub use library_vault::*;
pub use npm_dotenv::*;
pub use process::*;
pub use screen::*;
pub use vault::*;
