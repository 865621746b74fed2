//! An interactive bash in a detached tmux session (private socket), for end-to-end
//! tests of what a user sees at a shell prompt: `$T` is the tresor binary, and the
//! shell prompt is `READY$ `, so a test can count finished commands.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TMUX: &str = "/usr/bin/tmux";
const BIN: &str = env!("CARGO_BIN_EXE_tresor");

pub fn tmux_available() -> bool {
    let found = Command::new(TMUX)
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux not found at {TMUX} in CI: the end-to-end prompt tests cannot be skipped there"
        );
        eprintln!("NOTE: tmux not found at {TMUX}: the end-to-end prompt test is SKIPPED");
    }
    found
}

pub struct Shell {
    socket: String,
}

impl Shell {
    /// An interactive bash (no rc files, no history file) in a 120x40 pane. `env` is
    /// added to its environment; `$T` is the tresor binary.
    pub fn start(name: &str, env: &[(&str, &Path)]) -> Shell {
        let s = Shell {
            socket: format!("tresor-prompt-{name}-{}", std::process::id()),
        };
        let mut args: Vec<String> = [
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "40",
            "-e",
            "TERM=xterm-256color",
        ]
        .map(String::from)
        .to_vec();
        let mut shell = format!(
            "env -u TRESOR_PASSPHRASE -u TRESOR_KEYFILE -u TRESOR_VAULT XDG_RUNTIME_DIR=/dev/null/tresor-test-runtime HISTFILE=/dev/null 'PS1=READY$ ' T='{BIN}'"
        );
        for (k, v) in env {
            shell.push_str(&format!(" {k}='{}'", v.display()));
        }
        shell.push_str(" bash --norc --noprofile -i");
        args.push(shell);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.run(&args);
        s.run(&["set", "-t", "t", "status", "off"]);
        s.wait_for("READY$");
        s
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(TMUX);
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types a command line and presses Enter.
    pub fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "t", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// A paste: `bracketed` marks it (if the program asked for that, as terminals do);
    /// line breaks arrive as CR, as a terminal sends them.
    pub fn paste(&self, text: &str, bracketed: bool) {
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
        let mut args = vec!["paste-buffer", "-d", "-b", "p", "-t", "t"];
        if bracketed {
            args.push("-p");
        }
        self.run(&args);
    }

    /// The screen plus everything scrolled off it, wrapped lines joined.
    pub fn history(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until `needle` shows `count` times in the pane's history.
    pub fn wait_for_nth(&self, needle: &str, count: usize) -> String {
        // capture-pane drops trailing spaces.
        let needle = needle.trim_end();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.history();
            if screen.matches(needle).count() >= count {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?} ×{count}; pane:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the `nth` "EXIT=<status>" line (not the typed `echo EXIT=$?`).
    pub fn wait_for_exit(&self, nth: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.history();
            let exits = screen
                .lines()
                .map(str::trim_end)
                .filter(|l| l.starts_with("EXIT=") && l[5..].bytes().all(|b| b.is_ascii_digit()));
            if exits.count() >= nth {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for exit #{nth}; pane:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_nth(needle, 1)
    }

    /// Waits for the shell's next prompt after a command, then gives the shell time to
    /// read anything left in the terminal's input (which it would then run).
    pub fn settle(&self, prompts: usize) -> String {
        self.wait_for_nth("READY$", prompts);
        std::thread::sleep(Duration::from_millis(700));
        self.history()
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}
