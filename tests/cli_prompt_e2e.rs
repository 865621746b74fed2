//! The hidden prompts of the CLI in a real terminal: an interactive bash inside a detached
//! tmux session (private socket) runs `tresor`, and values are pasted with tmux's
//! `paste-buffer` as a terminal pastes them. A multi-line paste must be stored whole,
//! never echoed, and nothing of it may reach the shell afterwards.

#![cfg(unix)]

mod common;
#[path = "common/shell.rs"]
mod shell;

use std::path::Path;
use std::time::Duration;

use common::{Cred, Vault};
use shell::{Shell, tmux_available};

/// A PEM key whose third line is a shell command: if any line reached the shell, the
/// marker file would exist.
fn pem_with_command(marker: &Path) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\ntouch {}\nAT8wggE7AgEAAkEAq7BFUpkGp3+PEM\n-----END PRIVATE KEY-----\n",
        marker.display()
    )
}

fn keyfile_vault() -> Vault {
    Vault::new()
}

fn env_of(v: &Vault) -> Vec<(&'static str, &Path)> {
    let mut env = vec![("TRESOR_VAULT", v.path.as_path())];
    if let Cred::Keyfile(k) = &v.cred {
        env.push(("TRESOR_KEYFILE", k.as_path()));
    }
    env
}

#[test]
fn a_pasted_pem_at_add_is_stored_whole_and_nothing_reaches_the_shell() {
    if !tmux_available() {
        return;
    }
    let v = keyfile_vault();
    let marker = v.dir.path().join("pasted-line-ran");
    let pem = pem_with_command(&marker);
    let sh = Shell::start("add", &env_of(&v));
    sh.line("$T add TLS_KEY; echo EXIT=$?");
    sh.wait_for("Value for TLS_KEY: ");
    sh.paste(&pem, true);
    std::thread::sleep(Duration::from_millis(300));
    sh.keys(&["Enter"]);
    sh.wait_for_exit(1);
    let pane = sh.settle(2);
    assert!(
        pane.contains("added TLS_KEY to default/development"),
        "{pane}"
    );
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(
        !pane.contains("MIIB") && !pane.contains("BEGIN PRIVATE") && !pane.contains("touch"),
        "the pasted value was shown:\n{pane}"
    );
    assert!(!marker.exists(), "a pasted line ran in the shell:\n{pane}");
    assert_eq!(v.get("TLS_KEY"), pem.as_bytes(), "every byte is stored");
}

#[test]
fn edit_value_stdin_on_a_terminal_prompts_hidden_after_checking_the_key() {
    if !tmux_available() {
        return;
    }
    let v = keyfile_vault();
    v.add("TLS_KEY", b"old");
    let marker = v.dir.path().join("pasted-line-ran");
    let pem = pem_with_command(&marker);
    let sh = Shell::start("edit", &env_of(&v));

    // A key that does not exist is refused before any value is asked for.
    sh.line("$T edit NO_SUCH_KEY --value-stdin; echo EXIT=$?");
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=1"), "{pane}");
    assert!(
        pane.contains("error: no secret `NO_SUCH_KEY` in default/development"),
        "the missing key is named first:\n{pane}"
    );
    assert!(!pane.contains("New value for"), "{pane}");
    sh.settle(2);

    sh.line("$T edit TLS_KEY --value-stdin; echo EXIT=$?");
    sh.wait_for("New value for TLS_KEY: ");
    sh.paste(&pem, true);
    std::thread::sleep(Duration::from_millis(300));
    sh.keys(&["Enter"]);
    sh.wait_for_exit(2);
    let pane = sh.settle(3);
    assert!(pane.contains("updated TLS_KEY value"), "{pane}");
    assert!(!pane.contains("MIIB") && !pane.contains("touch"), "{pane}");
    assert!(!marker.exists(), "a pasted line ran in the shell:\n{pane}");
    assert_eq!(v.get("TLS_KEY"), pem.as_bytes());
}

#[test]
fn a_pasted_passphrase_unlocks_and_a_multi_line_one_is_refused() {
    if !tmux_available() {
        return;
    }
    let v = Vault::with_passphrase("pasted passphrase 42");
    v.add("K", b"v");
    let marker = v.dir.path().join("pasted-line-ran");
    let sh = Shell::start("pass", &env_of(&v));

    // Copied with its line break (a triple-click copies the newline too).
    sh.line("$T list; echo EXIT=$?");
    sh.wait_for("Passphrase: ");
    sh.paste("pasted passphrase 42\n", true);
    std::thread::sleep(Duration::from_millis(300));
    sh.keys(&["Enter"]);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");
    sh.settle(2);

    sh.line("$T list; echo EXIT=$?");
    sh.wait_for_nth("Passphrase: ", 2);
    sh.paste(
        &format!("pasted passphrase 42\ntouch {}\n", marker.display()),
        true,
    );
    std::thread::sleep(Duration::from_millis(300));
    sh.keys(&["Enter"]);
    sh.wait_for_exit(2);
    let pane = sh.settle(3);
    assert!(pane.contains("EXIT=1"), "{pane}");
    assert!(
        pane.contains("error: the passphrase holds a line break"),
        "{pane}"
    );
    assert!(!pane.contains("pasted passphrase 42"), "{pane}");
    assert!(!marker.exists(), "a pasted line ran in the shell:\n{pane}");
}

#[test]
fn an_unmarked_multi_line_paste_is_refused_and_never_reaches_the_shell() {
    if !tmux_available() {
        return;
    }
    let v = keyfile_vault();
    let marker = v.dir.path().join("pasted-line-ran");
    let sh = Shell::start("unmarked", &env_of(&v));
    sh.line("$T add TLS_KEY; echo EXIT=$?");
    sh.wait_for("Value for TLS_KEY: ");
    // A terminal without bracketed paste sends the lines as if typed.
    sh.paste(&pem_with_command(&marker), false);
    sh.wait_for_exit(1);
    let pane = sh.settle(2);
    assert!(pane.contains("EXIT=1"), "{pane}");
    assert!(
        pane.contains("error: more lines arrived after Enter"),
        "{pane}"
    );
    assert!(!pane.contains("MIIB") && !pane.contains("touch"), "{pane}");
    assert!(!marker.exists(), "a pasted line ran in the shell:\n{pane}");
    assert!(v.keys("development").is_empty(), "nothing stored");
}

#[test]
fn ctrl_c_at_the_value_prompt_stores_nothing_and_restores_the_terminal() {
    if !tmux_available() {
        return;
    }
    let v = keyfile_vault();
    let sh = Shell::start("ctrlc", &env_of(&v));
    sh.line(r#"S=$(stty -g); $T add K; echo EXIT=$?; [ "$S" = "$(stty -g)" ] && echo SAME_TTY"#);
    sh.wait_for("Value for K: ");
    sh.run(&["send-keys", "-t", "t", "-l", "half typed"]);
    std::thread::sleep(Duration::from_millis(200));
    sh.keys(&["C-c"]);
    let pane = sh.settle(2);
    assert!(pane.contains("EXIT=1"), "{pane}");
    assert!(
        pane.contains("error: cancelled at the prompt: nothing was stored"),
        "{pane}"
    );
    assert!(
        pane.contains("SAME_TTY"),
        "terminal settings restored:\n{pane}"
    );
    assert!(!pane.contains("half typed"), "{pane}");
    assert!(v.keys("development").is_empty());
}

#[test]
fn typing_with_backspace_at_the_value_prompt() {
    if !tmux_available() {
        return;
    }
    let v = keyfile_vault();
    let sh = Shell::start("typed", &env_of(&v));
    sh.line("$T add TYPED; echo EXIT=$?");
    sh.wait_for("Value for TYPED: ");
    sh.run(&["send-keys", "-t", "t", "-l", "s3cretX"]);
    sh.keys(&["BSpace", "Left"]);
    sh.run(&["send-keys", "-t", "t", "-l", "ä"]);
    sh.keys(&["BSpace", "Enter"]);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(!pane.contains("s3cret"), "{pane}");
    // Arrow keys are ignored (there is no cursor to move); Backspace removes a character.
    assert_eq!(v.get("TYPED"), b"s3cret");
}
