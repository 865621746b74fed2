//! The prompts, on a real pseudo-terminal: the passphrase typed twice at `init`, the
//! unlock prompt, the hidden value prompt of `add`, and the confirmations of `rm` and
//! `env rm`. Typed secrets must not be echoed.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{CHEAP_KDF, Cred, Vault};

const DEADLINE: Duration = Duration::from_secs(15);

/// A `tresor` process whose stdin, stderr and controlling terminal are a pty; stdout is
/// a pipe, so data and prompts stay apart.
struct Term {
    master: File,
    child: Child,
    screen: Vec<u8>,
    /// How much of `screen` earlier `expect`s consumed.
    seen: usize,
    stdout: std::thread::JoinHandle<Vec<u8>>,
}

impl Term {
    fn spawn(vault: &Vault, args: &[&str]) -> Term {
        Term::spawn_with(vault, args, None)
    }

    /// With `piped`, stdin is a pipe carrying those bytes (stderr stays the terminal).
    fn spawn_with(vault: &Vault, args: &[&str], piped: Option<&[u8]>) -> Term {
        let (master, slave) = openpty();
        let mut cmd = vault.cmd(args);
        match piped {
            Some(_) => cmd.stdin(Stdio::piped()),
            None => cmd.stdin(Stdio::from(slave.try_clone().unwrap())),
        };
        cmd.stderr(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // fd 2 is the terminal's slave side in every case.
                if libc::setsid() < 0 || libc::ioctl(2, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        drop(slave);
        if let Some(bytes) = piped {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(bytes).unwrap();
        }
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            buf
        });
        Term {
            master: File::from(master),
            child,
            screen: Vec::new(),
            seen: 0,
            stdout,
        }
    }

    /// Reads what is available within `wait`; false once the terminal is closed.
    fn pump(&mut self, wait: Duration) -> bool {
        let mut fds = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut fds, 1, wait.as_millis() as i32) };
        if ready <= 0 {
            return true;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) | Err(_) => false, // EIO: the last holder of the slave side exited
            Ok(n) => {
                self.screen.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// Waits until `text` appears on the terminal after what was already seen.
    #[track_caller]
    fn expect(&mut self, text: &str) {
        let start = Instant::now();
        loop {
            let screen = &self.screen[self.seen..];
            if let Some(at) = screen
                .windows(text.len())
                .position(|w| w == text.as_bytes())
            {
                self.seen += at + text.len();
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {text:?} on the terminal; it shows {:?}",
                self.text()
            );
            if !self.pump(Duration::from_millis(50)) {
                panic!(
                    "terminal closed before {text:?}; it showed {:?}",
                    self.text()
                );
            }
        }
    }

    /// Types a line, after a pause that lets the prompt switch echo off first.
    fn type_line(&mut self, line: &str) {
        std::thread::sleep(Duration::from_millis(200));
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\r").unwrap();
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }

    /// Waits for the exit; returns (status, stdout, everything shown on the terminal).
    fn finish(mut self) -> (i32, Vec<u8>, String) {
        let start = Instant::now();
        let status = loop {
            self.pump(Duration::from_millis(20));
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("tresor did not exit; the terminal shows {:?}", self.text());
            }
        };
        let drain_until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < drain_until && self.pump(Duration::from_millis(20)) {}
        let screen = self.text();
        let stdout = self.stdout.join().unwrap();
        (status.code().expect("exit code"), stdout, screen)
    }
}

fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: out-pointers to two ints; no name, default termios and size.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh descriptors that we now own.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The same vault, but with no credential given (so tresor must prompt).
fn without_credential(v: &Vault) -> Vault {
    Vault {
        cred: Cred::Passphrase(String::new()),
        path: v.path.clone(),
        dir: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn init_asks_twice_and_never_echoes() {
    let v = Vault::uninit();
    let mut args = vec!["init"];
    args.extend(CHEAP_KDF);
    let mut t = Term::spawn(&v, &args);
    t.expect("New passphrase: ");
    t.type_line("typed on the terminal");
    t.expect("New passphrase (again): ");
    t.type_line("typed on the terminal");
    let (code, stdout, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(stdout.is_empty());
    assert!(screen.contains("created vault"), "{screen}");
    assert!(
        !screen.contains("typed on the terminal"),
        "the passphrase was echoed: {screen:?}"
    );
    let opened = Vault {
        cred: Cred::Passphrase("typed on the terminal".into()),
        ..Vault::uninit()
    };
    let mut cmd = opened.cmd(&["env", "list"]);
    cmd.arg("--vault").arg(&v.path);
    common::output(cmd, None).success();
}

#[test]
fn init_refuses_passphrases_that_differ() {
    let v = Vault::uninit();
    let mut args = vec!["init"];
    args.extend(CHEAP_KDF);
    let mut t = Term::spawn(&v, &args);
    t.expect("New passphrase: ");
    t.type_line("first version 1");
    t.expect("New passphrase (again): ");
    t.type_line("first version 2");
    let (code, _, screen) = t.finish();
    assert_eq!(code, 1);
    assert!(
        screen.contains("error: passphrases do not match"),
        "{screen}"
    );
    assert!(!v.path.exists());
}

#[test]
fn a_locked_vault_asks_for_the_passphrase() {
    let v = Vault::with_passphrase("the terminal passphrase");
    v.add("DATABASE_URL", b"postgres://typed");
    let bare = without_credential(&v);

    let mut t = Term::spawn(&bare, &["get", "DATABASE_URL"]);
    t.expect("Passphrase: ");
    t.type_line("the terminal passphrase");
    let (code, stdout, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert_eq!(
        stdout, b"postgres://typed",
        "the value goes to stdout, not the terminal"
    );
    assert!(!screen.contains("the terminal passphrase"), "{screen:?}");
    assert!(!screen.contains("postgres://typed"), "{screen:?}");

    let mut t = Term::spawn(&bare, &["get", "DATABASE_URL"]);
    t.expect("Passphrase: ");
    t.type_line("not the passphrase");
    let (code, stdout, screen) = t.finish();
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        screen
            .contains("error: wrong passphrase or keyfile: no key slot of this vault accepted it"),
        "{screen}"
    );
}

#[test]
fn add_asks_for_the_value_without_echo() {
    let v = Vault::new();
    let mut t = Term::spawn(&v, &["add", "TYPED_SECRET", "-d", "typed in"]);
    t.expect("Value for TYPED_SECRET: ");
    t.type_line("s3cret typed value");
    let (code, _, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("s3cret typed value"),
        "the value was echoed: {screen:?}"
    );
    assert_eq!(v.get("TYPED_SECRET"), b"s3cret typed value");
}

#[test]
fn rm_asks_on_a_terminal() {
    let v = Vault::new();
    v.add("OLD_TOKEN", b"t");
    let question = "Delete secret OLD_TOKEN from default/development? Deleting is permanent: the value and its history go. [y/N] ";

    for answer in ["n", "", "yes please"] {
        let mut t = Term::spawn(&v, &["rm", "OLD_TOKEN"]);
        t.expect(question);
        t.type_line(answer);
        let (code, _, screen) = t.finish();
        assert_eq!(code, 1, "{answer:?}: {screen}");
        assert!(screen.contains("nothing deleted"), "{screen}");
        assert_eq!(v.get("OLD_TOKEN"), b"t", "{answer:?}");
    }

    let mut t = Term::spawn(&v, &["rm", "OLD_TOKEN"]);
    t.expect(question);
    t.type_line("y");
    let (code, _, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("deleted OLD_TOKEN from default/development"),
        "{screen}"
    );
    assert!(v.list("development").is_empty());
}

#[test]
fn env_rm_asks_on_a_terminal() {
    let v = Vault::new();
    v.ok(&["env", "add", "preview"], None);
    v.add_in("preview", "P", b"p");
    let question = "Environment default/preview holds 1 secret. Delete it with all of them? [y/N] ";

    let mut t = Term::spawn(&v, &["env", "rm", "preview"]);
    t.expect(question);
    t.type_line("N");
    let (code, _, _) = t.finish();
    assert_eq!(code, 1);
    assert_eq!(v.get_in("preview", "P"), b"p");

    let mut t = Term::spawn(&v, &["env", "rm", "preview"]);
    t.expect(question);
    t.type_line("Y");
    let (code, _, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        v.run(&["-e", "preview", "list"], None)
            .failure()
            .error()
            .starts_with("no environment `preview`")
    );
}

#[test]
fn a_piped_value_with_a_prompted_passphrase() {
    // `printf %s "$URL" | tresor add DATABASE_URL` on a passphrase vault: the value comes
    // from the pipe, the passphrase from the terminal.
    let v = Vault::with_passphrase("piped flow passphrase");
    let bare = without_credential(&v);
    let mut t = Term::spawn_with(&bare, &["add", "DATABASE_URL"], Some(b"postgres://piped\n"));
    t.expect("Passphrase: ");
    t.type_line("piped flow passphrase");
    let (code, _, screen) = t.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("added DATABASE_URL to default/development"),
        "{screen}"
    );
    assert!(!screen.contains("piped flow passphrase"), "{screen:?}");
    assert_eq!(v.get("DATABASE_URL"), b"postgres://piped");
}

#[test]
fn add_of_an_existing_key_says_so_before_asking_for_the_value() {
    let v = Vault::new();
    v.add("TAKEN", b"first");
    let t = Term::spawn(&v, &["add", "TAKEN"]);
    let (code, _, screen) = t.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("error: secret `TAKEN` already exists in default/development"),
        "{screen}"
    );
    assert!(
        !screen.contains("Value for"),
        "asked for a value first: {screen}"
    );
    assert_eq!(v.get("TAKEN"), b"first");
}
