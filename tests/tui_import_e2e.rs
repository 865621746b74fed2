//! End to end in tmux: a `.env` block pasted into the Secrets screen's import popup as a
//! real terminal sends it (bracketed paste, CR line breaks), previewed, confirmed, and
//! found in the vault byte for byte; no value ever on screen.

#![cfg(unix)]

#[path = "common/shell.rs"]
mod shell;

use shell::{Shell, tmux_available};
use tresor::vault::{Credential, NewCredential, Vault};

const BLOCK: &str = "# from the team wiki\nexport STRIPE_API_KEY=sk_live_E2E_SECRET\nDATABASE_URL=\"postgres://app:E2E_PW@db/app\"\nMULTI='line one\nline two'\n";

#[test]
fn a_pasted_env_block_is_previewed_then_imported() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, keyfile) = (tmp.path().join("v.tresor"), tmp.path().join("v.key"));
    Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create");
    let state = tmp.path().join("state");
    let sh = Shell::start(
        "import",
        &[
            ("TRESOR_VAULT", &vault),
            ("TRESOR_KEYFILE", &keyfile),
            ("XDG_STATE_HOME", &state),
        ],
    );
    sh.line("$T; echo EXIT=$?");
    sh.wait_for("No secrets in default/development yet");
    sh.keys(&["i"]);
    sh.wait_for("Import into default/development");
    // As a terminal pastes: bracketed, line breaks as CR.
    sh.paste(BLOCK, true);
    sh.wait_for("5 lines");
    sh.keys(&["Enter"]);
    sh.wait_for("3 new");
    let kept = open(&vault, &keyfile)
        .list("default", "development")
        .expect("list");
    assert!(kept.is_empty(), "written before the confirmation");
    sh.keys(&["Enter"]);
    sh.wait_for("Imported 3 new and 0 updated into default/development");
    sh.keys(&["q"]);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");
    for value in ["E2E_SECRET", "E2E_PW", "line two"] {
        assert!(!pane.contains(value), "{value} was on screen:\n{pane}");
    }

    let v = open(&vault, &keyfile);
    let get = |key: &str| v.get("default", "development", key).expect("get").to_vec();
    assert_eq!(get("STRIPE_API_KEY"), b"sk_live_E2E_SECRET");
    assert_eq!(get("DATABASE_URL"), b"postgres://app:E2E_PW@db/app");
    assert_eq!(get("MULTI"), b"line one\nline two");
}

fn open(vault: &std::path::Path, keyfile: &std::path::Path) -> Vault {
    Vault::unlock(vault, &Credential::Keyfile(keyfile.to_path_buf())).expect("unlock")
}
