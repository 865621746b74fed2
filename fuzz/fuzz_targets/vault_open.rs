//! Arbitrary bytes as a vault file, unlocked with the keyfile the seed vaults in
//! `corpus/vault_open` were made with (format 1 and format 2), then read the way the CLI
//! reads. Every call must
//! return `Ok` or `Err`: never panic, abort, hang or run out of memory.
//!
//! redb may panic on a damaged file; the vault fences every redb call with `catch_unwind`
//! and turns such a panic into a "vault file is damaged" error, as the `tresor` binary
//! does. libFuzzer's panic hook aborts on any panic, so the hook installed below lets a
//! panic inside a fenced storage call unwind to that fence (exactly what happens in
//! `tresor`), and still aborts on every other panic.

#![no_main]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tresor::vault::{Credential, Vault, store};

/// The keyfile of the seed vaults (a test key: it protects nothing).
const KEYFILE: &str = "tresor-keyfile-v1:18b653e308bbd51f2828e48da6d697b457a6a03f41312c9eb4924f8739344349\n";

struct Paths {
    vault: PathBuf,
    audit: PathBuf,
    keyfile: PathBuf,
    /// The high-water marks: forgotten before every input, so that one input's mark
    /// never turns the next into an "older copy" and hides the code behind that check.
    state: PathBuf,
}

fn private_file(path: &PathBuf, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("write a scratch file");
    f.write_all(bytes).expect("write a scratch file");
}

fn setup() -> &'static Paths {
    static PATHS: OnceLock<Paths> = OnceLock::new();
    PATHS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tresor-fuzz-vault-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let keyfile = dir.join("fuzz.key");
        private_file(&keyfile, KEYFILE.as_bytes());
        let state = dir.join("state");
        // SAFETY: set once, before any other thread of this process reads the environment.
        unsafe { std::env::set_var("XDG_STATE_HOME", &state) };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !store::in_storage() {
                previous(info);
            }
        }));
        Paths {
            audit: dir.join("vault.tresor.audit"),
            vault: dir.join("vault.tresor"),
            keyfile,
            state,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let paths = setup();
    private_file(&paths.vault, data);
    let _ = std::fs::remove_file(&paths.audit);
    let _ = std::fs::remove_dir_all(&paths.state);
    let Ok(vault) = Vault::unlock(&paths.vault, &Credential::Keyfile(paths.keyfile.clone())) else {
        return;
    };
    let Ok(envs) = vault.environments() else {
        return;
    };
    for env in envs.iter().take(4) {
        if let Ok(secrets) = vault.list(&env.project, &env.name) {
            for secret in secrets.iter().take(4) {
                let _ = vault.get(&env.project, &env.name, &secret.key);
            }
        }
        let _ = vault.reveal_all(&env.project, &env.name, "export");
    }
});
