//! The clipboard in a real terminal: tmux with `set-clipboard on` takes OSC 52 from the
//! program in its pane into its paste buffer, as it would over SSH. `tresor get --copy`
//! and the TUI's `c` must put the exact value there, never on screen, and clear it when
//! the countdown ends (tmux ignores an empty OSC 52, so its buffer must be deleted). The
//! TUI's history rolls back to the exact bytes.

#![cfg(unix)]

#[path = "common/shell.rs"]
mod shell;

use std::path::Path;
use std::time::{Duration, Instant};

use shell::{Shell, tmux_available};
use tresor::vault::{Credential, NewCredential, NewSecret, SecretEdit, SecretValue, Vault};

const VALUE: &str = "clip-e2e-Value-4711";

/// A keyfile vault in `dir` holding TOKEN = VALUE.
fn vault(dir: &Path) -> Vault {
    let v = Vault::create(
        &dir.join("v.tresor"),
        NewCredential::Keyfile(dir.join("v.key")),
    )
    .expect("create");
    v.add(
        "default",
        "development",
        NewSecret {
            key: "TOKEN".into(),
            value: SecretValue::new(VALUE.as_bytes().to_vec()),
            description: String::new(),
            kind: None,
        },
    )
    .expect("add");
    v
}

fn shell(name: &str, dir: &Path) -> Shell {
    let state = dir.join("state");
    let s = Shell::start(
        name,
        &[
            ("TRESOR_VAULT", &dir.join("v.tresor")),
            ("TRESOR_KEYFILE", &dir.join("v.key")),
            ("XDG_STATE_HOME", &state),
            ("HOME", dir),
        ],
    );
    s.run(&["set", "-g", "set-clipboard", "on"]);
    s
}

/// Every paste buffer's content, newest first.
fn buffers(s: &Shell) -> Vec<String> {
    let names = s
        .cmd()
        .args(["list-buffers", "-F", "#{buffer_name}"])
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&names.stdout)
        .lines()
        .map(|name| {
            let out = s
                .cmd()
                .args(["show-buffer", "-b", name])
                .output()
                .expect("tmux");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

/// Waits until `check` holds for the paste buffers, for at most `secs`.
fn wait_buffers(s: &Shell, secs: u64, what: &str, check: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let now = buffers(s);
        if check(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; buffers: {now:?}\npane:\n{}",
            s.history()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn get_copy_reaches_tmuxs_buffer_and_is_cleared() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    vault(dir.path());
    let s = shell("clip-cli", dir.path());
    s.line("TRESOR_CLIP_SECONDS=2 $T get TOKEN --copy; echo EXIT=$?");
    let screen = s.wait_for_exit(1);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("copied TOKEN to the clipboard; it is cleared in 2 s"));
    // The newest buffer is the value, exactly.
    wait_buffers(&s, 5, "the value in the buffer", |b| {
        b.first().is_some_and(|v| v == VALUE)
    });
    // The prompt came back at once; the detached clearer deletes every copy later.
    wait_buffers(&s, 10, "the buffer cleared", |b| {
        !b.iter().any(|v| v.contains(VALUE))
    });
    assert!(!s.history().contains(VALUE), "the value was on screen");
    // A bad TRESOR_CLIP_SECONDS is an error before anything is copied.
    s.line("TRESOR_CLIP_SECONDS=soon $T get TOKEN --copy; echo EXIT=$?");
    let screen = s.wait_for_exit(2);
    assert!(screen.contains("TRESOR_CLIP_SECONDS must be a whole number"));
    assert!(screen.contains("EXIT=1"), "{screen}");
}

#[test]
fn c_in_the_tui_reaches_tmuxs_buffer_counts_down_and_clears() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    vault(dir.path());
    let s = shell("clip-tui", dir.path());
    s.line("TRESOR_CLIP_SECONDS=3 $T; echo EXIT=$?");
    s.wait_for("TOKEN");
    s.keys(&["c"]);
    wait_buffers(&s, 5, "the value in the buffer", |b| {
        b.first().is_some_and(|v| v == VALUE)
    });
    s.wait_for("TOKEN is on the clipboard: cleared in");
    s.wait_for("clipboard cleared (TOKEN)");
    wait_buffers(&s, 5, "the buffer cleared", |b| {
        !b.iter().any(|v| v.contains(VALUE))
    });
    // Copied again and quit at once: quitting clears it too.
    s.keys(&["c"]);
    wait_buffers(&s, 5, "the value in the buffer", |b| {
        b.first().is_some_and(|v| v == VALUE)
    });
    s.keys(&["q"]);
    let screen = s.wait_for_exit(1);
    assert!(screen.contains("EXIT=0"), "{screen}");
    wait_buffers(&s, 5, "the buffer cleared on quit", |b| {
        !b.iter().any(|v| v.contains(VALUE))
    });
    assert!(!s.history().contains(VALUE), "the value was on screen");
}

#[test]
fn history_in_the_tui_rolls_back_to_the_exact_bytes() {
    if !tmux_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = vault(dir.path());
    let original: &[u8] = b"pem\r\nline two\n\x00\xff end\n";
    v.edit(
        "default",
        "development",
        "TOKEN",
        SecretEdit {
            value: Some(SecretValue::new(original.to_vec())),
            ..Default::default()
        },
    )
    .expect("edit");
    v.edit(
        "default",
        "development",
        "TOKEN",
        SecretEdit {
            value: Some(SecretValue::new(b"rotated".to_vec())),
            ..Default::default()
        },
    )
    .expect("edit");
    drop(v);
    let s = shell("history-tui", dir.path());
    s.line("$T; echo EXIT=$?");
    s.wait_for("TOKEN");
    s.keys(&["h"]);
    s.wait_for("History of TOKEN");
    s.keys(&["j"]);
    s.keys(&["r"]);
    s.wait_for("Roll TOKEN back to version 2?");
    s.keys(&["y"]);
    s.wait_for("has the value of version 2 again, as version 4");
    s.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    s.keys(&["q"]);
    s.wait_for_exit(1);
    let v = Vault::unlock(
        &dir.path().join("v.tresor"),
        &Credential::Keyfile(dir.path().join("v.key")),
    )
    .expect("unlock");
    assert_eq!(
        &v.get("default", "development", "TOKEN").expect("get")[..],
        original
    );
}
