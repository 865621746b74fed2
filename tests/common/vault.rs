//! Throwaway vaults in their own temporary folders (with their own high-water mark), and
//! small file helpers.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::{CHEAP_KDF, Output, output, tresor};

/// How a test vault is unlocked.
#[derive(Debug, Clone)]
pub enum Cred {
    Keyfile(PathBuf),
    Passphrase(String),
}

/// A vault in its own temporary directory.
pub struct Vault {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub cred: Cred,
}

impl Vault {
    /// A keyfile vault made by `tresor init` (fast to unlock).
    pub fn new() -> Vault {
        let v = Vault::uninit();
        let keyfile = v.dir.path().join("vault.key");
        let out = output(
            {
                let mut c = tresor();
                c.env("XDG_STATE_HOME", v.state_dir())
                    .arg("--vault")
                    .arg(&v.path)
                    .arg("--keyfile")
                    .arg(&keyfile)
                    .arg("init");
                c
            },
            None,
        )
        .success();
        assert!(out.stdout.is_empty());
        Vault {
            cred: Cred::Keyfile(keyfile),
            ..v
        }
    }

    /// A passphrase vault with cheap Argon2 parameters.
    pub fn with_passphrase(pass: &str) -> Vault {
        let v = Vault {
            cred: Cred::Passphrase(pass.into()),
            ..Vault::uninit()
        };
        let mut args = vec!["init"];
        args.extend(CHEAP_KDF);
        v.ok(&args, None);
        v
    }

    /// Paths only: no vault file yet. Commands get no credential.
    pub fn uninit() -> Vault {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vault.tresor");
        Vault {
            dir,
            path,
            cred: Cred::Passphrase(String::new()),
        }
    }

    /// The same vault file, opened with another passphrase.
    pub fn clone_with(&self, pass: &str) -> Vault {
        Vault {
            dir: tempfile::tempdir().expect("temp dir"),
            path: self.path.clone(),
            cred: Cred::Passphrase(pass.into()),
        }
    }

    pub fn keyfile(&self) -> &Path {
        match &self.cred {
            Cred::Keyfile(k) => k,
            Cred::Passphrase(_) => panic!("not a keyfile vault"),
        }
    }

    pub fn audit_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".audit");
        PathBuf::from(p)
    }

    /// Where this vault's high-water mark (what "this machine" has seen) is kept.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Forgets what "this machine" has seen of the vault, as a user deleting the state
    /// folder would (or an attacker who cannot reach it).
    pub fn forget_seen(&self) {
        let _ = std::fs::remove_dir_all(self.state_dir());
    }

    /// `tresor --vault V [--keyfile K] ARGS…` (a passphrase goes in TRESOR_PASSPHRASE).
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = tresor();
        c.env("XDG_STATE_HOME", self.state_dir());
        c.arg("--vault").arg(&self.path);
        match &self.cred {
            Cred::Keyfile(k) => {
                c.arg("--keyfile").arg(k);
            }
            Cred::Passphrase(p) if !p.is_empty() => {
                c.env("TRESOR_PASSPHRASE", p);
            }
            Cred::Passphrase(_) => {}
        }
        c.args(args);
        c
    }

    #[track_caller]
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], input: Option<&[u8]>) -> Output {
        output(self.cmd(args), input)
    }

    #[track_caller]
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S], input: Option<&[u8]>) -> Output {
        self.run(args, input).success()
    }

    /// The single error line of a command that must fail with exit 1.
    #[track_caller]
    pub fn err<S: AsRef<OsStr>>(&self, args: &[S], input: Option<&[u8]>) -> String {
        self.run(args, input).failure().error()
    }

    #[track_caller]
    pub fn add(&self, key: &str, value: &[u8]) {
        self.ok(&["add", key], Some(value));
    }

    #[track_caller]
    pub fn add_in(&self, env: &str, key: &str, value: &[u8]) {
        self.ok(&["-e", env, "add", key], Some(value));
    }

    #[track_caller]
    pub fn get(&self, key: &str) -> Vec<u8> {
        self.ok(&["get", key], None).stdout
    }

    #[track_caller]
    pub fn get_in(&self, env: &str, key: &str) -> Vec<u8> {
        self.ok(&["-e", env, "get", key], None).stdout
    }

    /// `list --json` of an environment.
    #[track_caller]
    pub fn list(&self, env: &str) -> Vec<serde_json::Value> {
        let out = self.ok(&["-e", env, "list", "--json"], None);
        serde_json::from_slice(&out.stdout).expect("list --json is JSON")
    }

    #[track_caller]
    pub fn keys(&self, env: &str) -> Vec<String> {
        self.list(env)
            .iter()
            .map(|s| s["key"].as_str().unwrap().to_string())
            .collect()
    }

    /// `export --format json` of an environment, as a map.
    #[track_caller]
    pub fn export_json(&self, env: &str) -> BTreeMap<String, String> {
        let out = self.ok(&["-e", env, "export", "--format", "json"], None);
        serde_json::from_slice(&out.stdout)
            .expect("export --format json is a JSON object of strings")
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read vault file")
    }

    pub fn audit_bytes(&self) -> Vec<u8> {
        std::fs::read(self.audit_path()).unwrap_or_default()
    }
}

pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
