//! The Secrets screen (placeholder: being written).

use std::path::PathBuf;
use std::time::Duration;

use crate::vault::Credential;

/// What `tresor` (no subcommand) hands the TUI.
pub struct TuiOptions {
    pub vault_path: PathBuf,
    pub project: String,
    pub env: String,
    /// From --keyfile/TRESOR_KEYFILE or TRESOR_PASSPHRASE: open straight on the table.
    pub credential: Option<Credential>,
    pub auto_lock: Duration,
}

pub fn run(_options: TuiOptions) -> color_eyre::Result<()> {
    Ok(())
}
