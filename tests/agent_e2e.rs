//! The agent and completions at a real shell prompt: an interactive bash in tmux. A
//! second command after `tresor unlock` does not prompt; `tresor lock` makes the next
//! one prompt again; Tab completes keys from the vault and never prompts.

#![cfg(unix)]

mod common;
#[path = "common/shell.rs"]
mod shell;

use std::path::Path;

use common::{Vault, chmod, output, tresor};
use shell::{Shell, tmux_available};

const PASS: &str = "correct horse battery";

/// A runtime folder of its own; its agent is stopped on drop.
struct Runtime(tempfile::TempDir);

impl Runtime {
    fn new() -> Runtime {
        let dir = tempfile::tempdir().unwrap();
        chmod(dir.path(), 0o700);
        Runtime(dir)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let mut c = tresor();
        c.env("XDG_RUNTIME_DIR", self.0.path())
            .args(["lock", "--all"]);
        let _ = output(c, None);
    }
}

/// A shell whose tresor uses this vault, its own agent folder and its own state.
fn shell_for(name: &str, v: &Vault, runtime: &Runtime, extra: &[(&str, &Path)]) -> Shell {
    let state = v.state_dir();
    let mut env = vec![
        ("TRESOR_VAULT", v.path.as_path()),
        ("XDG_RUNTIME_DIR", runtime.0.path()),
        ("XDG_STATE_HOME", state.as_path()),
    ];
    env.extend_from_slice(extra);
    Shell::start(name, &env)
}

#[test]
fn after_unlock_a_second_command_does_not_prompt_and_lock_makes_it_prompt_again() {
    if !tmux_available() {
        return;
    }
    let v = Vault::with_passphrase(PASS);
    v.add("API_KEY", b"value-one");
    let runtime = Runtime::new();
    let sh = shell_for("agent", &v, &runtime, &[]);

    sh.line("$T unlock; echo EXIT=$?");
    sh.wait_for("Passphrase: ");
    sh.line(PASS);
    let pane = sh.wait_for_exit(1);
    assert!(pane.contains("unlocked"), "{pane}");

    sh.line("$T get API_KEY; echo; echo EXIT=$?");
    let pane = sh.wait_for_exit(2);
    assert!(pane.contains("value-one"), "{pane}");
    assert_eq!(
        pane.matches("Passphrase:").count(),
        1,
        "it prompted again:\n{pane}"
    );

    sh.line("$T lock; echo EXIT=$?");
    sh.wait_for_exit(3);
    sh.line("$T get API_KEY; echo; echo EXIT=$?");
    sh.wait_for_nth("Passphrase: ", 2);
    // The agent still runs: this prompt hands it the key again.
    sh.line(PASS);
    sh.wait_for_exit(4);
    sh.line("$T get API_KEY; echo; echo EXIT=$?");
    let pane = sh.wait_for_exit(5);
    assert_eq!(pane.matches("Passphrase:").count(), 2, "{pane}");
    assert_eq!(pane.matches("value-one").count(), 3, "{pane}");

    // Stopped, the agent is no longer there to receive keys; TRESOR_AGENT=1 starts it
    // at the next prompt.
    sh.line("$T lock --all; echo EXIT=$?");
    sh.wait_for_exit(6);
    sh.line("TRESOR_AGENT=1 $T get API_KEY; echo; echo EXIT=$?");
    sh.wait_for_nth("Passphrase: ", 3);
    sh.line(PASS);
    sh.wait_for_exit(7);
    sh.line("$T get API_KEY; echo; echo EXIT=$?");
    let pane = sh.settle(9);
    assert_eq!(pane.matches("Passphrase:").count(), 3, "{pane}");
    assert_eq!(pane.matches("value-one").count(), 5, "{pane}");
    assert!(!pane.contains("EXIT=1"), "{pane}");
}

#[test]
fn tab_completes_keys_from_the_vault_and_never_prompts() {
    if !tmux_available() {
        return;
    }
    let v = Vault::with_passphrase(PASS);
    v.add("DATABASE_URL", b"postgres://x");
    let runtime = Runtime::new();
    // `tresor` on the PATH, as an installed one would be.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(common::BIN, bin.path().join("tresor")).unwrap();
    let sh = shell_for("complete", &v, &runtime, &[("BIN_DIR", bin.path())]);
    sh.line("export PATH=\"$BIN_DIR:$PATH\"; source <(tresor completions bash); echo EXIT=$?");
    sh.wait_for_exit(1);

    // Cold: no candidate, no prompt, the shell is back at once.
    sh.run(&["send-keys", "-t", "t", "-l", "tresor get DATA"]);
    sh.keys(&["Tab"]);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let pane = sh.history();
    assert!(
        !pane.contains("Passphrase"),
        "a completion prompted:\n{pane}"
    );
    assert!(!pane.contains("DATABASE_URL"), "{pane}");
    sh.keys(&["C-u"]);

    sh.line("tresor unlock; echo EXIT=$?");
    sh.wait_for("Passphrase: ");
    sh.line(PASS);
    sh.wait_for_exit(2);
    sh.run(&["send-keys", "-t", "t", "-l", "tresor get DATA"]);
    sh.keys(&["Tab"]);
    sh.wait_for("tresor get DATABASE_URL");
    sh.keys(&["C-u"]);
}

#[test]
fn the_secrets_screen_uses_the_agent_and_hands_it_a_typed_passphrase() {
    if !tmux_available() {
        return;
    }
    let v = Vault::with_passphrase(PASS);
    v.add("API_KEY", b"value-one");
    let runtime = Runtime::new();
    let sh = shell_for("tui", &v, &runtime, &[]);
    // An agent that runs but holds nothing.
    sh.line("$T unlock && $T lock; echo EXIT=$?");
    sh.wait_for("Passphrase: ");
    sh.line(PASS);
    sh.wait_for_exit(1);

    // The screen asks; the passphrase typed there goes to the agent.
    sh.line("$T; echo EXIT=$?");
    sh.wait_for("The passphrase is never stored");
    sh.run(&["send-keys", "-t", "t", "-l", PASS]);
    sh.keys(&["Enter"]);
    sh.wait_for("API_KEY");
    sh.keys(&["q"]);
    sh.wait_for_exit(2);
    sh.line("$T get API_KEY; echo; echo EXIT=$?");
    let pane = sh.wait_for_exit(3);
    assert!(pane.contains("value-one"), "{pane}");
    assert_eq!(pane.matches("Passphrase:").count(), 1, "{pane}");

    // Warm, the screen opens on the table with nothing typed: were it waiting for a
    // passphrase, the table would never show.
    sh.run(&["send-keys", "-t", "t", "C-l"]);
    sh.run(&["clear-history", "-t", "t"]);
    sh.line("$T; echo EXIT=$?");
    sh.wait_for("API_KEY");
    sh.keys(&["q"]);
    sh.wait_for_exit(1);
}
