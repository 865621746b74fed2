//! Where the TUI keeps its own small files, outside the vault:
//!
//! - the last keyfile *path* that unlocked each vault (never the key), in a state file
//!   under the user's state directory, so the unlock screen can offer it again;
//! - the environment last open in the TUI for each vault, so it reopens there. Project
//!   and environment names are sealed in the vault, so they are not written here: only
//!   the environment's blind id (`Vault::environment_ref`), which the vault file already
//!   shows as a row key and which names nothing without the vault's key;
//! - new keyfiles made on the create screen, under the user's config directory: not beside
//!   the vault, where one backup of that folder would hold both the vault and its key.
//!
//! Both folders come from `directories` (`XDG_STATE_HOME` / `XDG_CONFIG_HOME` on Linux).
//! Folders are created 0700 and files 0600. The state file is a convenience: a missing,
//! unreadable or foreign one is ignored, and failing to write it never blocks unlocking.

use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file's name in the state folder.
const STATE_FILE: &str = "keyfiles.json";
/// A state file larger than this is not ours: ignore it.
const MAX_STATE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// Holds the state file. `None`: nothing is remembered.
    pub state_dir: Option<PathBuf>,
    /// Where new keyfiles go. `None`: beside the vault, as the last resort.
    pub config_dir: Option<PathBuf>,
}

#[derive(Serialize, Deserialize, Default)]
struct State {
    /// Canonical vault path → absolute keyfile path.
    #[serde(default)]
    keyfiles: BTreeMap<String, String>,
    /// Canonical vault path → the environment last open in the TUI, by reference.
    #[serde(default)]
    places: BTreeMap<String, String>,
}

impl Places {
    /// The user's folders: `state_dir()` (Linux), else `data_local_dir()`; `config_dir()`.
    pub fn from_env() -> Places {
        match directories::ProjectDirs::from("", "", "tresor") {
            Some(d) => Places {
                state_dir: Some(
                    d.state_dir()
                        .unwrap_or_else(|| d.data_local_dir())
                        .to_path_buf(),
                ),
                config_dir: Some(d.config_dir().to_path_buf()),
            },
            None => Places::default(),
        }
    }

    /// Remembers nothing and suggests keyfiles beside the vault (tests, benches).
    pub fn none() -> Places {
        Places::default()
    }

    fn state_file(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join(STATE_FILE))
    }

    /// The keyfile path that last unlocked this vault, if any was remembered.
    pub fn remembered_keyfile(&self, vault: &Path) -> Option<PathBuf> {
        let state = read_state(&self.state_file()?)?;
        state.keyfiles.get(&vault_key(vault)?).map(PathBuf::from)
    }

    /// Remembers which keyfile opened this vault. Only the path is written.
    pub fn remember_keyfile(&self, vault: &Path, keyfile: &Path) -> std::io::Result<()> {
        let Some(keyfile) = absolute(keyfile) else {
            return Ok(()); // A path that is not UTF-8 is not remembered.
        };
        self.change_state(vault, |state, vault| {
            if state.keyfiles.get(&vault) == Some(&keyfile) {
                return false;
            }
            state.keyfiles.insert(vault, keyfile);
            true
        })
    }

    /// The environment last open in the TUI for this vault (an opaque reference).
    pub fn remembered_place(&self, vault: &Path) -> Option<String> {
        let state = read_state(&self.state_file()?)?;
        state.places.get(&vault_key(vault)?).cloned()
    }

    /// Remembers the environment open in the TUI, by reference only (no names).
    pub fn remember_place(&self, vault: &Path, reference: &str) -> std::io::Result<()> {
        self.change_state(vault, |state, vault| {
            if state.places.get(&vault).map(String::as_str) == Some(reference) {
                return false;
            }
            state.places.insert(vault, reference.to_string());
            true
        })
    }

    /// Reads the state file, lets `change` edit this vault's entries (it says whether
    /// it changed anything) and writes the file back whole.
    fn change_state(
        &self,
        vault: &Path,
        change: impl FnOnce(&mut State, String) -> bool,
    ) -> std::io::Result<()> {
        let (Some(dir), Some(file)) = (&self.state_dir, self.state_file()) else {
            return Ok(());
        };
        let Some(vault) = vault_key(vault) else {
            return Ok(()); // A path that is not UTF-8 is not remembered.
        };
        let mut state = read_state(&file).unwrap_or_default();
        if !change(&mut state, vault) {
            return Ok(());
        }
        let text = serde_json::to_vec_pretty(&state).map_err(std::io::Error::other)?;
        private_dir(dir)?;
        // A new file renamed over the old one: a crash leaves the old state or the new.
        let tmp = dir.join(format!(".{STATE_FILE}.{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let written = out.write_all(&text).and_then(|()| out.sync_all());
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, &file)) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(())
    }

    /// Where the create screen suggests a new keyfile: `<config>/<vault name>.key`, the
    /// first such name not taken (two vaults may share a file name).
    pub fn new_keyfile(&self, vault: &Path) -> PathBuf {
        let stem = vault
            .file_stem()
            .filter(|s| !s.is_empty())
            .map_or_else(|| "vault".into(), |s| s.to_os_string());
        let Some(dir) = &self.config_dir else {
            let mut name = vault
                .file_name()
                .map_or_else(|| "vault".into(), |n| n.to_os_string());
            name.push(".key");
            return vault.with_file_name(name);
        };
        (1..1000)
            .map(|i| {
                let mut name = stem.clone();
                if i > 1 {
                    name.push(format!("-{i}"));
                }
                name.push(".key");
                dir.join(name)
            })
            .find(|p| fs::symlink_metadata(p).is_err())
            .unwrap_or_else(|| dir.join("vault.key"))
    }
}

/// A vault's entry in the state file: its canonical path, so `./v.tresor` and
/// `/home/ada/v.tresor` are the same vault.
fn vault_key(vault: &Path) -> Option<String> {
    let path = fs::canonicalize(vault).ok()?;
    path.to_str().map(str::to_string)
}

fn absolute(path: &Path) -> Option<String> {
    let path = std::path::absolute(path).ok()?;
    path.to_str().map(str::to_string)
}

/// Creates the folder 0700 when missing (its parents too).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Reads the state file: never through a symlink, only a regular file of this user.
fn read_state(path: &Path) -> Option<State> {
    let mut file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != uid || meta.len() > MAX_STATE_BYTES {
        return None;
    }
    let mut text = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_STATE_BYTES)
        .read_to_end(&mut text)
        .ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn places(dir: &Path) -> Places {
        Places {
            state_dir: Some(dir.join("state/tresor")),
            config_dir: Some(dir.join("config/tresor")),
        }
    }

    #[test]
    fn remembers_a_path_per_vault_in_a_private_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = places(tmp.path());
        let vault = tmp.path().join("v.tresor");
        fs::write(&vault, b"").unwrap();
        assert_eq!(p.remembered_keyfile(&vault), None);
        p.remember_keyfile(&vault, &tmp.path().join("k.key"))
            .unwrap();
        // The same vault through another spelling of its path.
        let other = tmp.path().join(".").join("v.tresor");
        assert_eq!(p.remembered_keyfile(&other), Some(tmp.path().join("k.key")));
        let dir = fs::metadata(tmp.path().join("state/tresor")).unwrap();
        assert_eq!(dir.permissions().mode() & 0o777, 0o700);
        let file = fs::metadata(tmp.path().join("state/tresor/keyfiles.json")).unwrap();
        assert_eq!(file.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn remembers_a_place_per_vault_beside_the_keyfile_and_reads_older_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = places(tmp.path());
        let vault = tmp.path().join("v.tresor");
        fs::write(&vault, b"").unwrap();
        // A state file from before places were remembered.
        fs::create_dir_all(tmp.path().join("state/tresor")).unwrap();
        let key = fs::canonicalize(&vault).unwrap();
        fs::write(
            tmp.path().join("state/tresor/keyfiles.json"),
            format!(r#"{{"keyfiles":{{"{}":"/x.key"}}}}"#, key.display()),
        )
        .unwrap();
        assert_eq!(p.remembered_place(&vault), None);
        p.remember_place(&vault, "00ff").unwrap();
        assert_eq!(p.remembered_place(&vault).as_deref(), Some("00ff"));
        assert_eq!(p.remembered_keyfile(&vault), Some(PathBuf::from("/x.key")));
        p.remember_keyfile(&vault, Path::new("/y.key")).unwrap();
        assert_eq!(p.remembered_place(&vault).as_deref(), Some("00ff"));
    }

    #[test]
    fn a_symlinked_state_file_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let p = places(tmp.path());
        let vault = tmp.path().join("v.tresor");
        fs::write(&vault, b"").unwrap();
        let elsewhere = tmp.path().join("elsewhere.json");
        let key = fs::canonicalize(&vault).unwrap();
        fs::write(
            &elsewhere,
            format!(r#"{{"keyfiles":{{"{}":"/x.key"}}}}"#, key.display()),
        )
        .unwrap();
        fs::create_dir_all(tmp.path().join("state/tresor")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join("state/tresor/keyfiles.json"))
            .unwrap();
        assert_eq!(p.remembered_keyfile(&vault), None);
    }

    #[test]
    fn new_keyfiles_go_to_the_config_folder_under_a_free_name() {
        let tmp = tempfile::tempdir().unwrap();
        let p = places(tmp.path());
        let vault = tmp.path().join("data/work.tresor");
        let first = p.new_keyfile(&vault);
        assert_eq!(first, tmp.path().join("config/tresor/work.key"));
        fs::create_dir_all(first.parent().unwrap()).unwrap();
        fs::write(&first, b"taken").unwrap();
        assert_eq!(
            p.new_keyfile(&vault),
            tmp.path().join("config/tresor/work-2.key")
        );
    }
}
