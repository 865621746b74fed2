//! The agent as a user meets it: `tresor unlock` once, then commands that ask nothing;
//! `tresor lock`; the idle timeout; a key made stale by `rekey`; sockets and folders
//! that are not the user's alone. Each test has its own agent folder (its own
//! XDG_RUNTIME_DIR) and stops its agent when it ends, whatever happens.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Cred, Output, Vault, chmod, output, tresor};

const PASS: &str = "correct horse battery";

/// One user session: its own runtime folder, so its own agent. Dropping it stops the
/// agent and waits until the process is gone.
struct Session {
    runtime: tempfile::TempDir,
}

impl Session {
    fn new() -> Session {
        let runtime = tempfile::tempdir().expect("temp dir");
        chmod(runtime.path(), 0o700);
        Session { runtime }
    }

    fn dir(&self) -> PathBuf {
        self.runtime.path().join("tresor")
    }

    fn socket(&self) -> PathBuf {
        self.dir().join("agent.sock")
    }

    /// `tresor --vault V ARGS` in this session, with no credential at all.
    fn bare(&self, v: &Vault, args: &[&str]) -> Command {
        let mut c = tresor();
        c.env("XDG_STATE_HOME", v.state_dir())
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .arg("--vault")
            .arg(&v.path)
            .args(args);
        c
    }

    /// Like `bare`, with the vault's own credential.
    fn with_credential(&self, v: &Vault, args: &[&str]) -> Command {
        let mut c = v.cmd(args);
        c.env("XDG_RUNTIME_DIR", self.runtime.path());
        c
    }

    /// (keys held, pid) of the running agent.
    fn status(&self) -> Option<(u32, u32)> {
        let mut c = tresor();
        c.env("XDG_RUNTIME_DIR", self.runtime.path())
            .args(["agent", "status"]);
        let out = output(c, None);
        if out.code != 0 {
            return None;
        }
        let text = out.text();
        let field = |name: &str| -> u32 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}\t")))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {text:?}"))
        };
        Some((field("keys"), field("pid")))
    }

    fn unlock(&self, v: &Vault) -> Output {
        output(self.with_credential(v, &["unlock"]), None).success()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let pid = self.status().map(|(_, pid)| pid);
        let mut c = tresor();
        c.env("XDG_RUNTIME_DIR", self.runtime.path())
            .args(["lock", "--all"]);
        let _ = output(c, None);
        if let Some(pid) = pid {
            assert!(
                wait_until(Duration::from_secs(5), || !alive(pid)),
                "the agent {pid} is still running after `tresor lock --all`"
            );
        }
    }
}

/// A process that exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            !matches!(state, Some(Some('Z')) | Some(Some('X')))
        })
        .unwrap_or(false)
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn passphrase_vault() -> Vault {
    let v = Vault::with_passphrase(PASS);
    v.add("API_KEY", b"v1");
    v
}

const NO_CREDENTIAL: &str = "no way to ask for a passphrase";

#[test]
fn after_unlock_commands_ask_nothing_until_lock() {
    let v = passphrase_vault();
    let s = Session::new();
    let out = s.unlock(&v);
    assert!(out.stderr.contains("unlocked"), "{}", out.stderr);
    assert!(out.stderr.contains("15 min"), "{}", out.stderr);

    // No credential anywhere: the agent's key opens the vault, to read and to write.
    let got = output(s.bare(&v, &["get", "API_KEY"]), None).success();
    assert_eq!(got.stdout, b"v1");
    output(s.bare(&v, &["add", "NEW_KEY"]), Some(b"v2")).success();
    assert_eq!(v.get("NEW_KEY"), b"v2");
    assert_eq!(s.status().expect("running").0, 1);

    let out = output(s.bare(&v, &["lock"]), None).success();
    assert!(out.stderr.contains("forgot its key"), "{}", out.stderr);
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(out.error().contains(NO_CREDENTIAL), "{}", out.stderr);
    // The agent still runs (the next prompt hands it the key again), holding nothing.
    assert_eq!(s.status().expect("still running").0, 0);

    let out = output(s.bare(&v, &["lock", "--all"]), None).success();
    assert!(out.stderr.contains("stopped"), "{}", out.stderr);
    assert!(s.status().is_none());
    assert!(
        !s.socket().exists(),
        "the socket is removed when the agent stops"
    );
}

#[test]
fn the_agent_folder_and_socket_are_private() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    assert_eq!(common::mode(&s.dir()), 0o700);
    assert_eq!(common::mode(&s.socket()), 0o600);
    // Nothing but the socket: no key, no log, nothing on disk.
    let entries: Vec<_> = std::fs::read_dir(s.dir()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

/// The page that holds the keys is locked in memory (never swapped out).
#[cfg(target_os = "linux")]
#[test]
fn the_agents_key_memory_is_locked() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    let (_, pid) = s.status().expect("running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmLck in {status}"));
    assert!(locked_kb >= 4, "VmLck: {locked_kb} kB");
}

#[test]
fn the_audit_log_names_the_key_slot_that_unlocked_the_agent() {
    let v = Vault::new();
    let second = v.dir.path().join("second.key");
    v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    v.add("API_KEY", b"v1");
    let by_second = Vault {
        dir: tempfile::tempdir().unwrap(),
        path: v.path.clone(),
        cred: Cred::Keyfile(second),
    };
    let s = Session::new();
    let mut unlock = s.with_credential(&by_second, &["unlock"]);
    unlock.env("XDG_STATE_HOME", v.state_dir());
    output(unlock, None).success();
    output(s.bare(&v, &["get", "API_KEY"]), None).success();

    let audit = v.ok(&["audit"], None).text();
    let via = |action: &str| -> String {
        audit
            .lines()
            .rev()
            .map(|l| l.split("  ").collect::<Vec<_>>())
            .find(|r| r.get(3) == Some(&action))
            .map(|r| r[2].to_string())
            .unwrap_or_else(|| panic!("no {action} in {audit}"))
    };
    assert_eq!(via("agent hold"), "cli/slot 1 (keyfile)");
    assert_eq!(via("get"), "cli/slot 1 (keyfile)");
}

#[test]
fn an_unused_key_is_forgotten_after_the_idle_timeout_and_the_agent_exits() {
    let v = passphrase_vault();
    let s = Session::new();
    let mut unlock = s.with_credential(&v, &["unlock"]);
    unlock.env("TRESOR_AGENT_TIMEOUT", "2s");
    let out = output(unlock, None).success();
    assert!(out.stderr.contains("2 s"), "{}", out.stderr);
    let (_, pid) = s.status().expect("running");
    output(s.bare(&v, &["get", "API_KEY"]), None).success();

    std::thread::sleep(Duration::from_millis(2500));
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(out.error().contains(NO_CREDENTIAL), "{}", out.stderr);
    // Holding nothing for another timeout, it exits and removes its socket. (Asking for
    // its status would count as use: watch the process instead.)
    assert!(
        wait_until(Duration::from_secs(6), || !alive(pid)),
        "the idle agent did not exit"
    );
    assert!(!s.socket().exists());
}

#[test]
fn an_unreadable_timeout_is_an_error_naming_the_variable() {
    let v = passphrase_vault();
    let s = Session::new();
    let mut unlock = s.with_credential(&v, &["unlock"]);
    unlock.env("TRESOR_AGENT_TIMEOUT", "soon");
    let out = output(unlock, None).failure();
    assert!(
        out.error().contains("TRESOR_AGENT_TIMEOUT=soon"),
        "{}",
        out.stderr
    );
    assert!(s.status().is_none(), "no agent was started");
}

#[test]
fn a_key_made_stale_by_rekey_is_forgotten_and_the_command_asks_again() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    // A rekey from somewhere the agent cannot hear (another session, another machine).
    v.ok(&["rekey"], None);
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(
        out.stderr
            .contains("warning: the key the agent holds for this vault no longer opens it"),
        "{}",
        out.stderr
    );
    assert!(out.error().contains(NO_CREDENTIAL), "{}", out.stderr);
    assert_eq!(
        s.status().expect("running").0,
        0,
        "the stale key was forgotten"
    );
    // The credential still works, and unlocking again makes the agent useful again.
    s.unlock(&v);
    assert_eq!(
        output(s.bare(&v, &["get", "API_KEY"]), None)
            .success()
            .stdout,
        b"v1"
    );
}

#[test]
fn a_key_whose_key_slot_was_replaced_is_stale() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    // passwd without --rekey keeps the data key but gives the passphrase a new slot.
    let mut passwd = v.cmd(&["passwd", "--kdf-passes", "1", "--kdf-memory-mib", "8"]);
    passwd.env("TRESOR_NEW_PASSPHRASE", "another horse battery");
    output(passwd, None).success();
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(out.stderr.contains("no longer opens it"), "{}", out.stderr);
}

#[test]
fn changing_who_can_open_the_vault_asks_for_the_credential_not_the_agent() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    for args in [&["rekey"][..], &["passwd"][..], &["keyfile", "rm", "0"][..]] {
        let out = output(s.bare(&v, args), None).failure();
        assert!(
            out.error().contains(NO_CREDENTIAL),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Done with the credential in this session, a rekey tells the agent to forget.
    output(s.with_credential(&v, &["rekey"]), None).success();
    assert_eq!(s.status().expect("running").0, 0);
}

#[test]
fn a_credential_given_for_the_command_wins_over_the_agent() {
    let v = Vault::new();
    let second = v.dir.path().join("second.key");
    v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    v.add("API_KEY", b"v1");
    let s = Session::new();
    s.unlock(&v);
    // The agent holds slot 0's key; this command names slot 1's keyfile.
    let mut c = s.bare(&v, &["get", "API_KEY"]);
    c.arg("--keyfile").arg(&second);
    output(c, None).success();
    let audit = v.ok(&["audit", "--last", "1"], None).text();
    assert!(audit.contains("cli/slot 1 (keyfile)  get"), "{audit}");
}

#[test]
fn tresor_agent_0_never_asks_the_agent() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    let mut c = s.bare(&v, &["get", "API_KEY"]);
    c.env("TRESOR_AGENT", "0");
    let out = output(c, None).failure();
    assert!(out.error().contains(NO_CREDENTIAL), "{}", out.stderr);
}

/// A folder open to others, a socket of another user, a socket others can reach: the
/// client hands no key to it and takes none from it.
#[test]
fn a_socket_or_folder_that_is_not_the_users_alone_is_refused() {
    let v = passphrase_vault();
    let s = Session::new();

    std::fs::create_dir(s.dir()).unwrap();
    chmod(&s.dir(), 0o755);
    let out = output(s.with_credential(&v, &["unlock"]), None).failure();
    assert!(out.error().contains("mode 755"), "{}", out.stderr);
    chmod(&s.dir(), 0o700);

    // A socket planted in the folder: someone listening for keys.
    let planted = std::os::unix::net::UnixListener::bind(s.socket()).unwrap();
    planted.set_nonblocking(true).unwrap();
    let no_connection = |planted: &std::os::unix::net::UnixListener| {
        assert!(
            matches!(planted.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "tresor connected to a socket it should have refused"
        );
    };

    chmod(&s.socket(), 0o666);
    let out = output(s.with_credential(&v, &["unlock"]), None).failure();
    assert!(out.error().contains("mode 666"), "{}", out.stderr);
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(
        out.stderr.contains("warning: not using the agent's socket"),
        "{}",
        out.stderr
    );
    no_connection(&planted);
    chmod(&s.socket(), 0o600);

    if !is_root() {
        eprintln!("NOTE: not root: the socket-of-another-user case is SKIPPED");
        return;
    }
    std::os::unix::fs::chown(s.socket(), Some(65534), Some(65534)).unwrap();
    let out = output(s.with_credential(&v, &["unlock"]), None).failure();
    assert!(
        out.error().contains("belongs to another user"),
        "{}",
        out.stderr
    );
    let out = output(s.bare(&v, &["get", "API_KEY"]), None).failure();
    assert!(
        out.stderr.contains("belongs to another user"),
        "{}",
        out.stderr
    );
    no_connection(&planted);
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Changes the uid of the calling thread only (the raw syscall, not libc's wrapper that
/// changes every thread): the rest of the test keeps running as root.
#[cfg(target_os = "linux")]
fn become_nobody_in_this_thread() {
    // SAFETY: a raw setresuid on this thread; the thread ends right after its work.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) };
    assert_eq!(rc, 0, "setresuid");
}

/// A process of another user that can reach the socket (its modes loosened by hand)
/// gets no answer: the agent checks the peer's uid on every connection.
#[cfg(target_os = "linux")]
#[test]
fn a_peer_of_another_uid_gets_nothing_from_the_agent() {
    if !is_root() {
        eprintln!("NOTE: not root: SKIPPED");
        return;
    }
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    chmod(s.runtime.path(), 0o711);
    chmod(&s.dir(), 0o711);
    chmod(&s.socket(), 0o666);
    let socket = s.socket();
    let answer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        become_nobody_in_this_thread();
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // A status request: tag `?`, padded to the request's fixed size.
        let mut request = vec![0u8; 1 + 16 + 4 + 32];
        request[0] = b'?';
        let _ = stream.write_all(&request);
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        got
    })
    .join()
    .unwrap();
    assert!(answer.is_empty(), "another uid got an answer: {answer:?}");
    chmod(&s.dir(), 0o700);
    chmod(&s.socket(), 0o600);
    // The agent is unharmed and still serves its user.
    assert_eq!(
        output(s.bare(&v, &["get", "API_KEY"]), None)
            .success()
            .stdout,
        b"v1"
    );
}

/// An "agent" running as another user behind a socket that looks like ours: its answer
/// is not trusted and no key goes to it.
#[cfg(target_os = "linux")]
#[test]
fn an_agent_of_another_uid_is_refused() {
    if !is_root() {
        eprintln!("NOTE: not root: SKIPPED");
        return;
    }
    let v = passphrase_vault();
    let s = Session::new();
    std::fs::create_dir(s.dir()).unwrap();
    chmod(&s.dir(), 0o700);
    let path = s.socket();
    // The socket is bound as root (so it is ours), then listened on as uid 65534: the
    // kernel reports the listener's uid to whoever connects.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let fake = std::thread::spawn(move || {
        let fd = bound_socket(&path);
        become_nobody_in_this_thread();
        // SAFETY: listen on the socket made above.
        assert_eq!(unsafe { libc::listen(fd, 8) }, 0);
        ready_tx.send(()).unwrap();
        let _ = done_rx.recv_timeout(Duration::from_secs(30));
        // SAFETY: closing the socket made above.
        unsafe { libc::close(fd) };
    });
    ready_rx.recv().unwrap();
    let out = output(s.with_credential(&v, &["unlock"]), None).failure();
    assert!(out.error().contains("runs as uid 65534"), "{}", out.stderr);
    done_tx.send(()).unwrap();
    fake.join().unwrap();
}

/// A unix stream socket bound at `path`, not yet listening.
#[cfg(target_os = "linux")]
fn bound_socket(path: &Path) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain socket calls with a zeroed, filled-in sockaddr_un.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        assert!(bytes.len() < addr.sun_path.len());
        for (i, b) in bytes.iter().enumerate() {
            addr.sun_path[i] = *b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&raw const addr).cast(), len),
            0,
            "bind {}",
            path.display()
        );
        libc::chmod(std::ffi::CString::new(bytes).unwrap().as_ptr(), 0o600);
        fd
    }
}

/// A private copy of a committed fixture vault (see tests/fixtures/*/README.txt).
fn fixture(name: &str, cred: Option<&str>) -> Vault {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let v = Vault::uninit();
    std::fs::copy(src.join("vault.tresor"), &v.path).unwrap();
    let keyfile = v.dir.path().join("vault.key");
    std::fs::copy(src.join("vault.key"), &keyfile).unwrap();
    chmod(&v.path, 0o600);
    chmod(&keyfile, 0o600);
    let cred = match cred {
        Some(pass) => Cred::Passphrase(pass.into()),
        None => Cred::Keyfile(keyfile),
    };
    Vault { cred, ..v }
}

#[test]
fn a_format_2_vault_from_an_earlier_build_is_held_by_the_agent() {
    let v = fixture("v2-vault", Some("golden fixture passphrase"));
    let s = Session::new();
    s.unlock(&v);
    let got = output(s.bare(&v, &["get", "DATABASE_URL"]), None).success();
    assert_eq!(got.stdout, b"postgres://app:g0lden@db.internal:5432/app");
    let projects = output(s.bare(&v, &["project", "list"]), None).success();
    assert_eq!(
        projects.text(),
        "billing\t1 environment\t1 secret\ndefault\t3 environments\t5 secrets\n"
    );
}

#[test]
fn a_format_1_vault_is_never_held_and_opens_as_before() {
    let v = fixture("v1-vault", None);
    let s = Session::new();
    let out = output(s.with_credential(&v, &["unlock"]), None).failure();
    assert!(out.error().contains("tresor upgrade"), "{}", out.stderr);
    // With an agent running (for another vault), its own credential still opens it.
    let other = passphrase_vault();
    s.unlock(&other);
    let got = output(s.with_credential(&v, &["get", "DATABASE_URL"]), None).success();
    assert_eq!(got.stdout, b"postgres://app:g0lden@db.internal:5432/app");
    assert_eq!(s.status().expect("running").0, 1);
}

#[test]
fn the_agent_exits_when_its_socket_is_removed() {
    let v = passphrase_vault();
    let s = Session::new();
    s.unlock(&v);
    let (_, pid) = s.status().expect("running");
    // A logout that clears the runtime folder: nobody could reach the agent any more.
    std::fs::remove_dir_all(s.dir()).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || !alive(pid)),
        "the agent outlived its socket"
    );
}
