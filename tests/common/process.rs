//! Running the real `tresor` binary: a clean environment (no `TRESOR_*` setting of the
//! developer's, no home to write to), captured output, and a time limit on every command.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tresor");

/// No single command may take longer than this (a hang fails the test instead).
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub const BUSY: &str =
    "error: vault is busy: another tresor process is writing to it (waited 2 s); try again\n";
pub const WRONG_CREDENTIAL: &str =
    "error: wrong passphrase or keyfile: no key slot of this vault accepted it\n";

/// Cheap Argon2 for passphrase vaults in tests.
pub const CHEAP_KDF: [&str; 4] = ["--kdf-passes", "1", "--kdf-memory-mib", "8"];

/// What a finished `tresor` process left behind.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// stdout as text (panics on invalid UTF-8: use `.stdout` for bytes).
    pub fn text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    #[track_caller]
    pub fn success(self) -> Output {
        assert_eq!(
            self.code,
            0,
            "expected success, got exit {}\nstderr: {}\nstdout: {}",
            self.code,
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self.assert_no_panic();
        self
    }

    /// Exit status 1 with exactly one `error: …` line on stderr (nothing on stdout).
    #[track_caller]
    pub fn failure(self) -> Output {
        let out = self.failure_after_output();
        assert!(
            out.stdout.is_empty(),
            "stdout on failure: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        out
    }

    /// Like [`Output::failure`], for commands that report on stdout before failing
    /// (`audit` with a broken entry).
    #[track_caller]
    pub fn failure_after_output(self) -> Output {
        assert_eq!(
            self.code,
            1,
            "expected exit 1, got {}\nstderr: {}\nstdout: {}",
            self.code,
            self.stderr,
            String::from_utf8_lossy(&self.stdout)
        );
        self.assert_no_panic();
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected one `error:` line, stderr: {:?}",
            self.stderr
        );
        assert!(
            self.stderr.ends_with('\n')
                && self.stderr.lines().last().unwrap().starts_with("error: "),
            "the error line comes last: {:?}",
            self.stderr
        );
        self
    }

    /// The text of the single `error:` line, without the prefix.
    #[track_caller]
    pub fn error(&self) -> String {
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line in {:?}", self.stderr));
        line["error: ".len()..].to_string()
    }

    /// A clap usage error: status 2.
    #[track_caller]
    pub fn usage_error(self) -> Output {
        assert_eq!(
            self.code, 2,
            "expected a usage error (2), stderr: {}",
            self.stderr
        );
        self.assert_no_panic();
        self
    }

    #[track_caller]
    pub fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "tresor panicked: {}",
            self.stderr
        );
    }
}

/// `tresor` with a clean environment: no `TRESOR_*` variable from the developer's shell,
/// no agent (an unreachable runtime folder), and a HOME where nothing can be written,
/// even as root (a path under /dev/null): a test that forgets `--vault` fails, and
/// nothing is remembered between tests by accident.
pub fn tresor() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TRESOR_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", "/dev/null/tresor-test-home")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("XDG_CONFIG_HOME")
        // No agent of the developer's session: a test that wants one gives its own folder.
        .env("XDG_RUNTIME_DIR", "/dev/null/tresor-test-runtime")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    cmd
}

/// Runs a command to completion: stdin is `input` through a pipe, or /dev/null; stdout and
/// stderr are captured, so the binary never sees a terminal and never prompts.
#[track_caller]
pub fn output(mut cmd: Command, input: Option<&[u8]>) -> Output {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let writer = input.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        // A command that stops reading early (a refused oversized value) closes the pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {TIMEOUT:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let elapsed = start.elapsed();
    if let Some(w) = writer {
        w.join().unwrap();
    }
    let stdout = out.join().unwrap();
    let stderr = String::from_utf8(err.join().unwrap()).expect("stderr is UTF-8");
    let code = status.code().unwrap_or_else(|| {
        panic!(
            "tresor killed by signal {:?}; stderr: {stderr}",
            status.signal()
        )
    });
    Output {
        code,
        stdout,
        stderr,
        elapsed,
    }
}
