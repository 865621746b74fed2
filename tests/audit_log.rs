//! The audit log file as an attacker or a crash leaves it: a symlink, a file other users
//! can write or own, something that is not a file, a huge line, a torn last line. Each
//! time the operation still happens, the log is never written through the bad file, and
//! `doctor` names the condition. Also what an entry says: the OS user, the key slot, the
//! TUI, and `audit -e`/`-p`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Cred, Output, Vault, chmod};

/// Audit rows, split on the two-space separator: time, user@host, via, action, place, keys.
fn rows(out: &Output) -> Vec<Vec<String>> {
    out.text()
        .lines()
        .filter(|l| !l.starts_with("line "))
        .map(|l| l.split("  ").map(String::from).collect())
        .collect()
}

fn actions(out: &Output) -> Vec<(String, String, String)> {
    rows(out)
        .into_iter()
        .map(|r| {
            (
                r[3].clone(),
                r[4].clone(),
                r.get(5).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

fn doctor(v: &Vault) -> Output {
    v.run(&["doctor"], None)
}

fn lines_starting(out: &Output, prefix: &str) -> Vec<String> {
    out.text()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(String::from)
        .collect()
}

#[test]
fn a_symlink_at_the_audit_path_is_not_followed() {
    let v = Vault::new();
    std::fs::remove_file(v.audit_path()).unwrap();
    let target = v.dir.path().join("victim.txt");
    std::fs::write(&target, b"someone else's file\n").unwrap();
    chmod(&target, 0o600);
    std::os::unix::fs::symlink(&target, v.audit_path()).unwrap();

    let out = v.run(&["add", "KEPT"], Some(b"kept")).success();
    assert!(
        out.stderr
            .contains("warning: the audit log could not record this: ")
            && out.stderr.contains("symbolic link"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&v.audit_path().display().to_string()),
        "names the file: {}",
        out.stderr
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"someone else's file\n");
    assert_eq!(v.get("KEPT"), b"kept", "the operation still stands");

    let out = doctor(&v).failure_after_output();
    let problems = lines_starting(&out, "PROBLEM");
    assert!(
        problems.iter().any(|l| l.contains("symbolic link")),
        "{}",
        out.text()
    );
}

#[test]
fn an_audit_log_open_to_other_users_is_refused() {
    let v = Vault::new();
    v.add("A", b"1");
    chmod(&v.audit_path(), 0o666);
    let before = v.audit_bytes();

    let out = v.run(&["get", "A"], None).success();
    assert_eq!(out.stdout, b"1");
    assert!(
        out.stderr.contains("could not record this")
            && out.stderr.contains("0666")
            && out.stderr.contains("chmod 600"),
        "{}",
        out.stderr
    );
    assert_eq!(v.audit_bytes(), before, "nothing appended");

    let out = doctor(&v).failure_after_output();
    assert!(
        lines_starting(&out, "PROBLEM")
            .iter()
            .any(|l| l.contains("audit log") && l.contains("0666")),
        "{}",
        out.text()
    );
    chmod(&v.audit_path(), 0o600);
    v.ok(&["doctor"], None);
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn an_audit_log_owned_by_another_user_is_refused_even_for_root() {
    if !running_as_root() {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    let v = Vault::new();
    v.add("A", b"1");
    std::os::unix::fs::chown(v.audit_path(), Some(65534), Some(65534)).unwrap();
    let before = v.audit_bytes();

    let out = v.run(&["get", "A"], None).success();
    assert!(
        out.stderr.contains("could not record this") && out.stderr.contains("uid 65534"),
        "{}",
        out.stderr
    );
    assert_eq!(v.audit_bytes(), before, "nothing appended");
    let out = doctor(&v).failure_after_output();
    assert!(
        lines_starting(&out, "PROBLEM")
            .iter()
            .any(|l| l.contains("audit log") && l.contains("uid 65534")),
        "{}",
        out.text()
    );
}

#[test]
fn an_audit_path_that_is_not_a_file_is_refused_without_hanging() {
    let v = Vault::new();
    std::fs::remove_file(v.audit_path()).unwrap();
    let status = Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(v.audit_path())
        .status()
        .unwrap();
    assert!(status.success());

    let out = v.run(&["add", "KEPT"], Some(b"kept")).success();
    assert!(
        out.stderr.contains("could not record this") && out.stderr.contains("not a regular file"),
        "{}",
        out.stderr
    );
    let out = doctor(&v).failure_after_output();
    assert!(
        lines_starting(&out, "PROBLEM")
            .iter()
            .any(|l| l.contains("not a regular file")),
        "{}",
        out.text()
    );
}

/// A 16 MiB line (no entry comes near that) used to make every `get` re-copy the tail per
/// 16 KiB chunk: 14 s. Now the last entry is found reading backwards once, at most a
/// bounded length; the huge line is treated as damage, not as an entry.
#[test]
fn a_huge_one_line_audit_log_keeps_get_fast() {
    let v = Vault::new();
    v.add("A", b"1");
    std::fs::write(v.audit_path(), vec![b'a'; 16 << 20]).unwrap();

    let out = v.run(&["get", "A"], None).success();
    eprintln!("get with a 16 MiB one-line audit log: {:?}", out.elapsed);
    assert_eq!(out.stdout, b"1");
    assert_eq!(out.stderr, "", "the entry is recorded after the huge line");
    let out = v.run(&["get", "A"], None).success();
    eprintln!("and once more (huge line now complete): {:?}", out.elapsed);

    let out = v.run(&["audit"], None).failure_after_output();
    assert_eq!(
        actions(&out),
        [
            ("get".into(), "default/development".into(), "A".into()),
            ("get".into(), "default/development".into(), "A".into())
        ]
    );
    assert!(out.text().contains("line 1: "), "{}", out.text());

    let out = doctor(&v).failure_after_output();
    assert!(
        lines_starting(&out, "PROBLEM")
            .iter()
            .any(|l| l.contains("line 1") && l.contains("16 MiB")),
        "{}",
        out.text()
    );
}

/// A crash (or a full disk) in the middle of an append leaves a torn last line. The next
/// entry goes on its own line, chained past the fragment: only the interrupted entry is
/// lost, and `doctor`/`audit` call it a warning, not tampering.
#[test]
fn a_torn_tail_loses_only_the_entry_being_written() {
    let v = Vault::new();
    v.add("A", b"1");
    v.get("A");
    let full = v.audit_bytes();
    let torn = &full[..full.len() - 40];
    std::fs::write(v.audit_path(), torn).unwrap();

    let out = v.ok(&["audit"], None);
    assert!(
        out.text().contains("line 3: an entry was interrupted"),
        "{}",
        out.text()
    );
    let out = doctor(&v).success();
    assert!(
        lines_starting(&out, "warning")
            .iter()
            .any(|l| l.contains("interrupted")),
        "{}",
        out.text()
    );

    v.add("B", b"2");
    v.get("B");
    let log = v.audit_bytes();
    assert!(log.starts_with(torn), "the fragment is kept as it was");
    assert_eq!(log[torn.len()], b'\n', "the next entry starts a new line");

    let out = v.ok(&["audit"], None);
    assert_eq!(
        actions(&out),
        [
            ("init".into(), "-".into(), String::new()),
            ("add".into(), "default/development".into(), "A".into()),
            ("add".into(), "default/development".into(), "B".into()),
            ("get".into(), "default/development".into(), "B".into()),
        ]
    );
    assert!(
        out.text().contains("line 3: an entry was interrupted"),
        "{}",
        out.text()
    );
    let out = doctor(&v).success();
    assert!(
        lines_starting(&out, "warning")
            .iter()
            .any(|l| l.contains("line 3") && l.contains("interrupted")),
        "{}",
        out.text()
    );

    // A fragment in the middle that nothing chains past is still tampering.
    let mut edited = log.clone();
    let last_line_start = edited[..edited.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    edited[last_line_start + 10] ^= 1;
    std::fs::write(v.audit_path(), &edited).unwrap();
    let out = doctor(&v).failure_after_output();
    assert!(
        lines_starting(&out, "PROBLEM")
            .iter()
            .any(|l| l.contains("[5]")),
        "{}",
        out.text()
    );
}

#[test]
fn the_user_comes_from_the_os_not_from_user() {
    let v = Vault::new();
    let mut cmd = v.cmd(&["add", "A"]);
    cmd.env("USER", "mallory").env("LOGNAME", "mallory");
    common::output(cmd, Some(b"1")).success();
    let me = Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_string();
    assert_ne!(me, "mallory");
    let out = v.ok(&["audit"], None);
    for row in rows(&out) {
        let (who, _) = row[1].split_once('@').unwrap();
        assert_eq!(who, me, "{row:?}");
    }
}

#[test]
fn audit_shows_which_key_slot_was_used() {
    let v = Vault::new();
    let second = v.dir.path().join("second.key");
    v.ok(&["keyfile", "add", second.to_str().unwrap()], None);
    let with_second = Vault {
        dir: tempfile::tempdir().unwrap(),
        path: v.path.clone(),
        cred: Cred::Keyfile(second.clone()),
    };
    with_second.add("VIA_SECOND", b"2");

    let out = v.ok(&["audit"], None);
    let via: Vec<(String, String)> = rows(&out)
        .into_iter()
        .map(|r| (r[3].clone(), r[2].clone()))
        .collect();
    assert_eq!(via[0], ("init".into(), "cli/slot 0 (keyfile)".into()));
    let add = via.iter().find(|(a, _)| a == "add").unwrap();
    assert_eq!(add.1, "cli/slot 1 (keyfile)");

    let p = Vault::with_passphrase("correct horse battery");
    let out = p.ok(&["audit"], None);
    assert_eq!(rows(&out)[0][2], "cli/slot 0 (passphrase)");
}

#[test]
fn audit_filters_by_environment_and_project_when_asked() {
    let v = Vault::new();
    v.add("DEV_KEY", b"1");
    v.add_in("production", "PROD_KEY", b"2");
    v.ok(&["-p", "billing", "env", "add", "production"], None);
    v.ok(
        &["-p", "billing", "-e", "production", "add", "BILL_KEY"],
        Some(b"3"),
    );

    let all = actions(&v.ok(&["audit"], None));
    assert_eq!(all.len(), 5, "{all:?}");

    let prod = actions(&v.ok(&["audit", "-e", "production"], None));
    assert_eq!(
        prod,
        [
            ("add".into(), "default/production".into(), "PROD_KEY".into()),
            ("env add".into(), "billing/production".into(), String::new()),
            ("add".into(), "billing/production".into(), "BILL_KEY".into()),
        ]
    );
    let billing = actions(&v.ok(&["-p", "billing", "audit"], None));
    assert!(
        billing
            .iter()
            .all(|(_, place, _)| place.starts_with("billing")),
        "{billing:?}"
    );
    assert_eq!(billing.len(), 2, "{billing:?}");
    let both = actions(&v.ok(&["audit", "-p", "default", "-e", "production"], None));
    assert_eq!(both.len(), 1, "{both:?}");

    // TRESOR_ENV is a standing default for commands, not a filter for the log.
    let mut cmd = v.cmd(&["audit"]);
    cmd.env("TRESOR_ENV", "production");
    let out = common::output(cmd, None).success();
    assert_eq!(actions(&out).len(), 5);
}

/// Lines written before entries recorded the key slot still read (tests/fixtures/v1-audit).
#[test]
fn an_audit_log_from_before_slots_still_reads() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: PathBuf, name: &str| {
        let to = dir.path().join(name);
        std::fs::copy(from, &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    copy(fixtures.join("v1-vault/vault.tresor"), "vault.tresor");
    copy(fixtures.join("v1-vault/vault.key"), "vault.key");
    copy(
        fixtures.join("v1-audit/vault.tresor.audit"),
        "vault.tresor.audit",
    );
    let v = Vault {
        path: dir.path().join("vault.tresor"),
        cred: Cred::Keyfile(dir.path().join("vault.key")),
        dir,
    };
    v.get("DATABASE_URL");
    let out = v.ok(&["audit"], None);
    let rows = rows(&out);
    assert_eq!(rows.len(), 3, "{}", out.text());
    assert_eq!(rows[0][1], "root@vm");
    assert_eq!(rows[0][2], "cli", "no slot recorded then");
    assert_eq!(rows[1][5], "STRIPE_API_KEY");
    assert_eq!(rows[2][2], "cli/slot 0 (keyfile)");
}

#[test]
fn a_vault_created_in_the_tui_is_logged_as_tui() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tresor::tui::action::Action;
    use tresor::tui::app::{App, Screen};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.tresor");
    let mut app = App::start(
        tresor::tui::places::Places::none(),
        path.clone(),
        "default".into(),
        "development".into(),
        None,
        std::time::Duration::from_secs(300),
    );
    let press = |app: &mut App, code| app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    for round in 0..2 {
        for c in "tui made this vault".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        press(
            &mut app,
            if round == 0 {
                KeyCode::Tab
            } else {
                KeyCode::Enter
            },
        );
    }
    app.update(Action::SlowStep);
    assert!(matches!(app.screen, Screen::Secrets), "created and open");
    drop(app);

    let v = Vault {
        path: path.clone(),
        cred: Cred::Passphrase("tui made this vault".into()),
        dir,
    };
    let out = v.ok(&["audit"], None);
    let rows = rows(&out);
    assert_eq!(rows[0][3], "init");
    assert_eq!(rows[0][2], "tui/slot 0 (passphrase)");
}

/// A rekey changes the audit key: entries from before it still verify, and the chain
/// continues across it.
#[test]
fn entries_from_before_a_rekey_still_verify() {
    let v = Vault::new();
    v.add("A", b"1");
    v.ok(&["rekey"], None);
    v.get("A");
    let out = v.ok(&["audit"], None);
    let done: Vec<String> = rows(&out).into_iter().map(|r| r[3].clone()).collect();
    assert_eq!(done, ["init", "add", "rekey", "get"], "{}", out.text());
    v.ok(&["doctor"], None);
}

/// `audit` of a vault file that fails its checks (here an older copy) still shows the
/// log, says why slot kinds are missing, and never calls a slot "removed".
#[test]
fn audit_of_a_vault_that_fails_its_checks_warns_and_names_no_slot_removed() {
    let v = Vault::new();
    v.add("A", b"1");
    let older = v.bytes();
    v.ok(&["edit", "A", "--value-stdin"], Some(b"2"));
    std::fs::write(&v.path, &older).unwrap();
    let out = v.ok(&["audit"], None);
    assert!(
        out.stderr.contains("did not pass its checks") && out.stderr.contains("older"),
        "{}",
        out.stderr
    );
    let text = out.text();
    assert!(text.contains("cli/slot 0  "), "{text}");
    assert!(!text.contains("removed"), "{text}");
}
