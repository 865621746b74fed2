//! Helpers shared by the black-box tests: run the real `tresor` binary on throwaway
//! vaults, never inheriting the developer's `TRESOR_*` settings, never waiting forever.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
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
/// and a HOME where nothing can be written, even as root (a path under /dev/null): a test
/// that forgets `--vault` fails, and nothing is remembered between tests by accident.
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

/// npm `dotenv`'s `parse` (lib/main.js), transcribed: the reference every exported .env
/// file must satisfy. Same LINE regex (JS backtracking and Rust's leftmost-first pick the
/// same match; `\w` is ASCII in JS), CR/CRLF normalised, quotes stripped, `\n` and `\r`
/// expanded only in double quotes, later keys win.
pub fn npm_dotenv_parse(src: &str) -> BTreeMap<String, String> {
    let line = regex::Regex::new(
        r#"(?m)(?:^|^)\s*(?:export\s+)?([A-Za-z0-9_.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)"#,
    )
    .unwrap();
    let normalised = src.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = BTreeMap::new();
    for caps in line.captures_iter(&normalised) {
        let key = caps[1].to_string();
        let raw = caps.get(2).map_or("", |m| m.as_str()).trim();
        let first = raw.chars().next();
        let mut value = raw.to_string();
        if let Some(q @ ('\'' | '"' | '`')) = first
            && raw.len() >= 2
            && raw.ends_with(q)
        {
            value = raw[1..raw.len() - 1].to_string();
        }
        if first == Some('"') {
            value = value.replace("\\n", "\n").replace("\\r", "\r");
        }
        out.insert(key, value);
    }
    out
}
