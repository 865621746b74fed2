//! End to end in a real pseudo-terminal: the `tresor` binary runs inside a detached tmux
//! session (private socket), driven with `send-keys` / `paste-buffer` and read back with
//! `capture-pane`. Checks what only a real terminal shows: raw mode, bracketed paste,
//! the alternate screen left clean, the exit status, and a second `tresor` process
//! working while the TUI is open.

#![cfg(unix)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use tresor::vault::crypto::KdfParams;
use tresor::vault::{Credential, NewCredential, Vault};

const TMUX: &str = "/usr/bin/tmux";
const BIN: &str = env!("CARGO_BIN_EXE_tresor");
const PASS: &str = "e2e correct horse";
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASC\nAT8wggE7AgEAAkEAq7BFUpkGp3+PEM\n-----END PRIVATE KEY-----\n";

/// Whether the end-to-end tests can run. Without tmux they are skipped with a note,
/// except in CI (`CI` set), where a missing tmux is a failure: `.ci/run` installs it.
fn tmux_available() -> bool {
    let found = Command::new(TMUX)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux not found at {TMUX} in CI: the end-to-end TUI tests cannot be skipped there"
        );
        eprintln!("NOTE: tmux not found at {TMUX}: the end-to-end TUI test is SKIPPED");
    }
    found
}

/// A vault unlocked by a keyfile, both in `dir`.
fn keyfile_vault(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let vault = dir.join("k.tresor");
    let keyfile = dir.join("k.key");
    Vault::create(&vault, NewCredential::Keyfile(keyfile.clone())).expect("create");
    (vault, keyfile)
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new(TMUX);
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts `shell` in a 100x30 session; its output stays for 5 s after it exits.
    fn start(name: &str, shell: &str) -> Tmux {
        let t = Tmux {
            socket: format!("tresor-e2e-{name}-{}", std::process::id()),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            "-e",
            "TERM=xterm-256color",
            shell,
        ]);
        t.run(&["set", "-t", "t", "status", "off"]);
        t
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "t", "-l", text]);
    }

    /// A bracketed paste. `raw`: keep LF (`-r`); otherwise tmux sends CR, as xterm does.
    fn paste(&self, text: &str, raw: bool) {
        let mut load = self
            .cmd()
            .args(["load-buffer", "-b", "p", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("tmux");
        load.stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
        assert!(load.wait().expect("wait").success());
        let mut args = vec!["paste-buffer", "-p", "-d", "-b", "p", "-t", "t"];
        if raw {
            args.push("-r");
        }
        self.run(&args);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// The screen plus everything scrolled off it.
    fn history(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-S", "-", "-t", "t"])
                .stdout,
        )
        .into_owned()
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

fn tresor(vault: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("TRESOR_VAULT", vault)
        .env("TRESOR_PASSPHRASE", PASS)
        .env_remove("TRESOR_KEYFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tresor");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("stdin");
    child.wait_with_output().expect("tresor")
}

fn make_vault(dir: &Path) -> PathBuf {
    let path = dir.join("e2e.tresor");
    // A cheap Argon2 setting keeps the test fast; the default is exercised by the CLI tests.
    let kdf = KdfParams {
        passes: 1,
        memory_kib: KdfParams::MIN_MEMORY_KIB,
        lanes: 1,
    };
    Vault::create(
        &path,
        NewCredential::Passphrase(SecretString::from(PASS), kdf),
    )
    .expect("create vault");
    path
}

#[test]
fn unlock_add_paste_edit_delete_and_quit_in_a_real_terminal() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let vault = make_vault(tmp.path());
    let shell = format!(
        "env -u TRESOR_PASSPHRASE -u TRESOR_KEYFILE -u TRESOR_PROJECT -u TRESOR_ENV TRESOR_VAULT={} {BIN}; echo EXIT=$?; sleep 5",
        quote(&vault)
    );
    let t = Tmux::start("flow", &shell);

    // Unlock with the passphrase typed on the unlock screen.
    t.wait_for("Passphrase");
    t.text(PASS);
    let screen = t.screen();
    assert!(
        !screen.contains(PASS),
        "the passphrase is masked:\n{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("No secrets in default/development yet");

    // Add a PEM value pasted with LF line breaks (bracketed paste).
    t.keys(&["a"]);
    t.wait_for("Add Secret");
    t.text("TLS_KEY");
    t.keys(&["Tab"]);
    t.paste(PEM, true);
    let screen = t.wait_for("(4 lines)");
    assert!(
        !screen.contains("MIIB") && !screen.contains("BEGIN"),
        "value hidden:\n{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("Created secret TLS_KEY");

    // The same with CR line breaks, as terminals paste: stored with LF.
    t.keys(&["a"]);
    t.wait_for("Add Secret");
    t.text("GCP_CREDENTIALS");
    t.keys(&["Tab"]);
    t.paste("{\n  \"private_key\": \"x\"\n}", false);
    t.wait_for("(3 lines)");
    t.keys(&["Enter"]);
    t.wait_for("Created secret GCP_CREDENTIALS");

    // Another process reads the vault while the TUI is open.
    let got = tresor(&vault, &["get", "TLS_KEY"], b"");
    assert!(
        got.status.success(),
        "tresor get: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.stdout, PEM.as_bytes());
    // And writes to it: the table picks the change up by itself.
    let added = tresor(
        &vault,
        &["add", "FROM_CLI", "-d", "added in another terminal"],
        b"v",
    );
    assert!(
        added.status.success(),
        "tresor add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    t.wait_for("added in another terminal");

    // Edit TLS_KEY: keep the value, change the description. Rows: FROM_CLI, GCP_…, TLS_KEY.
    t.keys(&["G"]);
    t.keys(&["e"]);
    t.wait_for("Edit Secret");
    t.keys(&["Tab"]);
    t.text("rotate yearly");
    t.keys(&["Enter"]);
    t.wait_for("Updated secret TLS_KEY");

    // Delete GCP_CREDENTIALS: focus starts on Cancel, Left then Enter deletes.
    t.keys(&["g", "j", "d"]);
    t.wait_for("Delete Secret");
    t.keys(&["Left", "Enter"]);
    t.wait_for("Deleted secret GCP_CREDENTIALS");

    t.keys(&["q"]);
    let screen = t.wait_for("EXIT=0");
    for leaked in ["TLS_KEY", "MIIB", "private_key", "Secrets"] {
        assert!(
            !screen.contains(leaked),
            "{leaked:?} left on the screen after quitting:\n{screen}"
        );
        assert!(
            !t.history().contains(leaked),
            "{leaked:?} reached the scrollback"
        );
    }

    let v =
        Vault::unlock(&vault, &Credential::Passphrase(SecretString::from(PASS))).expect("unlock");
    assert_eq!(
        &v.get("default", "development", "TLS_KEY").expect("get")[..],
        PEM.as_bytes()
    );
    let list = v.list("default", "development").expect("list");
    let keys: Vec<&str> = list.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["FROM_CLI", "TLS_KEY"]);
    assert_eq!(list[1].description, "rotate yearly");
}

#[test]
fn ctrl_c_quits_cleanly_with_a_preset_keyfile() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, keyfile) = keyfile_vault(tmp.path());
    let shell = format!(
        "env -u TRESOR_PASSPHRASE TRESOR_VAULT={} TRESOR_KEYFILE={} {BIN}; echo EXIT=$?; sleep 5",
        quote(&vault),
        quote(&keyfile)
    );
    let t = Tmux::start("ctrlc", &shell);
    t.wait_for("development (0)");
    t.keys(&["a"]);
    t.wait_for("Add Secret");
    t.keys(&["C-c"]);
    t.wait_for("EXIT=0");
}

#[test]
fn too_small_terminal_gets_a_message_not_a_panic() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let vault = make_vault(tmp.path());
    let shell = format!(
        "env -u TRESOR_PASSPHRASE -u TRESOR_KEYFILE TRESOR_VAULT={} {BIN}; echo EXIT=$?; sleep 5",
        quote(&vault)
    );
    let t = Tmux::start("small", &shell);
    t.wait_for("Passphrase");
    t.run(&["resize-window", "-t", "t", "-x", "50", "-y", "12"]);
    t.wait_for("terminal too small (need 60x15)");
    t.run(&["resize-window", "-t", "t", "-x", "100", "-y", "30"]);
    t.wait_for("Passphrase");
    t.keys(&["Escape"]);
    t.wait_for("EXIT=0");
}

#[test]
fn auto_lock_returns_to_the_unlock_screen() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, keyfile) = keyfile_vault(tmp.path());
    let shell = format!(
        "env -u TRESOR_PASSPHRASE TRESOR_AUTO_LOCK=1 TRESOR_VAULT={} TRESOR_KEYFILE={} {BIN}; echo EXIT=$?; sleep 5",
        quote(&vault),
        quote(&keyfile)
    );
    let t = Tmux::start("lock", &shell);
    t.wait_for("development (0)");
    let screen = t.wait_for("locked after 1 s without a key press");
    assert!(
        screen.contains("Keyfile") && !screen.contains("development (0)"),
        "{screen}"
    );
    // The unlock screen offers the keyfile given at start: Enter unlocks again.
    t.keys(&["Enter"]);
    t.wait_for("development (0)");
    t.keys(&["C-c"]);
    t.wait_for("EXIT=0");
}

#[test]
fn a_vault_created_with_a_keyfile_opens_again_with_it() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let vault = tmp.path().join("data/new.tresor");
    let shell = format!(
        "env -u TRESOR_PASSPHRASE -u TRESOR_KEYFILE -u TRESOR_PROJECT -u TRESOR_ENV XDG_STATE_HOME={state} XDG_CONFIG_HOME={config} TRESOR_VAULT={vault} {BIN}; echo EXIT=$?; read _; \
         env -u TRESOR_PASSPHRASE -u TRESOR_KEYFILE XDG_STATE_HOME={state} XDG_CONFIG_HOME={config} TRESOR_VAULT={vault} {BIN}; echo EXIT2=$?; sleep 5",
        state = quote(&tmp.path().join("state")),
        config = quote(&tmp.path().join("config")),
        vault = quote(&vault),
    );
    let t = Tmux::start("keyfile", &shell);
    t.wait_for("create a new vault");
    t.keys(&["C-k"]);
    let keyfile = tmp.path().join("config/tresor/new.key");
    let screen = t.wait_for("Keyfile");
    assert!(
        screen.contains("away") && screen.contains("config/tresor/new.key"),
        "says where the keyfile goes:\n{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("development (0)");
    t.keys(&["q"]);
    t.wait_for("EXIT=0");
    t.keys(&["Enter"]);

    // The second start offers the keyfile: no passphrase field, Enter unlocks.
    let screen = t.wait_for("· unlock");
    assert!(
        screen.contains("Keyfile") && screen.contains("new.key"),
        "{screen}"
    );
    t.keys(&["Enter"]);
    t.wait_for("development (0)");
    t.keys(&["q"]);
    t.wait_for("EXIT2=0");
    assert!(Vault::unlock(&vault, &Credential::Keyfile(keyfile)).is_ok());
}

#[test]
fn no_color_draws_the_selected_row_in_reverse_video() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, keyfile) = keyfile_vault(tmp.path());
    let v = Vault::unlock(&vault, &Credential::Keyfile(keyfile.clone())).expect("unlock");
    for key in ["ALPHA_KEY", "BETA_KEY"] {
        v.add(
            "default",
            "development",
            tresor::vault::NewSecret {
                key: key.into(),
                value: tresor::vault::SecretValue::new(b"v".to_vec()),
                description: String::new(),
                kind: None,
            },
        )
        .expect("add");
    }
    drop(v);
    let shell = format!(
        "env -u TRESOR_PASSPHRASE NO_COLOR=1 TRESOR_VAULT={} TRESOR_KEYFILE={} {BIN}; echo EXIT=$?; sleep 5",
        quote(&vault),
        quote(&keyfile)
    );
    let t = Tmux::start("nocolor", &shell);
    t.wait_for("development (2)");
    let styled = String::from_utf8_lossy(&t.run(&["capture-pane", "-e", "-p", "-t", "t"]).stdout)
        .into_owned();
    let row = styled
        .lines()
        .find(|l| l.contains("ALPHA_KEY"))
        .expect("row drawn");
    assert!(
        row.contains("\x1b[7m") || row.contains(";7m"),
        "reverse video on the selected row: {row:?}"
    );
    // Every SGR parameter: 39/49 (default colours) are fine, a colour is not.
    let colours: Vec<&str> = styled
        .split("\x1b[")
        .skip(1)
        .filter_map(|s| s.split_once('m').map(|(p, _)| p))
        .flat_map(|p| p.split(';'))
        .filter(|n| {
            n.parse::<u16>()
                .is_ok_and(|n| matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107))
        })
        .collect();
    assert!(colours.is_empty(), "colour under NO_COLOR: {colours:?}");
    t.keys(&["q"]);
    t.wait_for("EXIT=0");
}

#[test]
fn quitting_and_reopening_lands_on_the_last_project_and_environment() {
    if !tmux_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, keyfile) = keyfile_vault(tmp.path());
    Vault::unlock(&vault, &Credential::Keyfile(keyfile.clone()))
        .expect("unlock")
        .add_project("billing")
        .expect("project");
    // HOME is the test's folder: the header shows the vault under `~`.
    let run = format!(
        "env -u TRESOR_PASSPHRASE -u TRESOR_PROJECT -u TRESOR_ENV HOME={home} XDG_STATE_HOME={state} TRESOR_VAULT={vault} TRESOR_KEYFILE={keyfile} {BIN}",
        home = quote(tmp.path()),
        state = quote(&tmp.path().join("state")),
        vault = quote(&vault),
        keyfile = quote(&keyfile),
    );
    let shell = format!("{run}; echo EXIT=$?; read _; {run}; echo EXIT2=$?; sleep 5");
    let t = Tmux::start("place", &shell);
    let screen = t.wait_for("Secrets · default/development");
    assert!(screen.contains("vault ~/k.tresor"), "{screen}");
    // The picker lists billing before default: up one, open it, then its staging tab.
    t.keys(&["p"]);
    t.wait_for("Projects");
    t.keys(&["k", "Enter"]);
    t.wait_for("Secrets · billing/development");
    t.keys(&["Tab"]);
    t.wait_for("Secrets · billing/staging");
    t.keys(&["q"]);
    t.wait_for("EXIT=0");
    t.keys(&["Enter"]);
    let screen = t.wait_for("Secrets · billing/staging");
    assert!(
        !screen.contains('⚠'),
        "no warning for a place found:\n{screen}"
    );
    t.keys(&["q"]);
    t.wait_for("EXIT2=0");
}
