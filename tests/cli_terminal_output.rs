//! What tresor writes where: on a terminal, `get` and `export` refuse a value holding
//! control characters (escape sequences drive the terminal) unless `--raw`; a pipe gets
//! the bytes; `export --output FILE` creates a private (0600) file and never writes
//! through a symbolic link.

#![cfg(unix)]

mod common;
#[path = "common/shell.rs"]
mod shell;

use std::os::unix::process::CommandExt;

use common::{Cred, Vault, mode, output};
use shell::{Shell, tmux_available};

/// Colours the rest of the terminal red and rings the bell.
const HOSTILE: &[u8] = b"sk_live_\x1b[31mred\x07";

fn env_of(v: &Vault) -> Vec<(&'static str, &std::path::Path)> {
    let mut env = vec![("TRESOR_VAULT", v.path.as_path())];
    if let Cred::Keyfile(k) = &v.cred {
        env.push(("TRESOR_KEYFILE", k.as_path()));
    }
    env
}

#[test]
fn get_and_export_on_a_terminal_refuse_control_characters_unless_raw() {
    if !tmux_available() {
        return;
    }
    let v = Vault::new();
    v.add("HOSTILE", HOSTILE);
    v.add("PEM", b"-----BEGIN-----\n\tMIIB\n-----END-----");
    let sh = Shell::start("out", &env_of(&v));

    sh.line("$T get HOSTILE; echo EXIT=$?");
    let pane = sh.wait_for_exit(1);
    assert!(
        pane.contains("error: secret HOSTILE holds a control character (ESC) that a terminal would act on; pass --raw to print it anyway, or send it to a pipe or a file"),
        "{pane}"
    );
    assert!(
        pane.contains("EXIT=1") && !pane.contains("sk_live_"),
        "{pane}"
    );

    // Line breaks and tabs are fine (a PEM key is the common multi-line value).
    sh.line("$T get PEM; echo; echo EXIT=$?");
    let pane = sh.wait_for_exit(2);
    assert!(pane.contains("MIIB") && pane.contains("EXIT=0"), "{pane}");

    // A pipe gets every byte.
    sh.line("$T get HOSTILE | od -An -c | tr -s ' '; echo EXIT=$?");
    let pane = sh.wait_for_exit(3);
    assert!(pane.contains("033 [ 3 1 m r e d\n \\a"), "{pane}");

    sh.line("$T export; echo EXIT=$?");
    let pane = sh.wait_for_exit(4);
    assert!(
        pane.contains("error: secret HOSTILE holds a control character (ESC) that a terminal would act on; pass --raw to print it anyway, or write a file with --output FILE"),
        "{pane}"
    );
    assert_eq!(pane.matches("EXIT=1").count(), 2, "{pane}");

    // JSON escapes control characters itself.
    sh.line("$T export --format json; echo EXIT=$?");
    let pane = sh.wait_for_exit(5);
    assert!(
        pane.contains(r#""HOSTILE": "sk_live_\u001b[31mred\u0007""#),
        "{pane}"
    );

    // --raw prints it as it is.
    sh.line("$T get HOSTILE --raw; printf '\\033[0m\\n'; echo EXIT=$?");
    let pane = sh.wait_for_exit(6);
    assert!(pane.contains("sk_live_red"), "{pane}");
    assert_eq!(pane.matches("EXIT=0").count(), 4, "{pane}");
}

/// `tresor export --output PATH` under umask 022.
fn export_to(v: &Vault, path: &std::path::Path, extra: &[&str]) -> common::Output {
    let mut args = vec!["export", "--output", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut cmd = v.cmd(&args);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    output(cmd, None)
}

#[test]
fn export_output_creates_a_private_file_and_refuses_to_replace_one() {
    let v = Vault::new();
    v.add("API_KEY", b"k1");
    v.add("HOSTILE", HOSTILE);
    let file = v.dir.path().join("out.env");
    let out = export_to(&v, &file, &[]).success();
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        format!("wrote 2 secrets to {} (mode 0600)\n", file.display())
    );
    assert_eq!(mode(&file), 0o600, "umask 022 must not give 0644");
    let stdout = v.ok(&["export"], None).stdout;
    assert_eq!(std::fs::read(&file).unwrap(), stdout, "same as stdout");

    // An existing file is kept unless --force.
    std::fs::write(&file, "keep me").unwrap();
    common::chmod(&file, 0o644);
    let err = export_to(&v, &file, &[]).failure().error();
    assert_eq!(
        err,
        format!(
            "{} already exists: pass --force to replace it",
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    export_to(&v, &file, &["--force"]).success();
    assert_eq!(std::fs::read(&file).unwrap(), stdout);
    assert_eq!(mode(&file), 0o600, "--force makes a replaced file private");
}

#[test]
fn export_output_never_writes_through_a_symlink() {
    let v = Vault::new();
    v.add("API_KEY", b"k1");
    let target = v.dir.path().join("target.txt");
    std::fs::write(&target, "untouched").unwrap();
    common::chmod(&target, 0o644);
    let link = v.dir.path().join("link.env");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let err = export_to(&v, &link, extra).failure().error();
        assert_eq!(
            err,
            format!(
                "{} is a symbolic link: refusing to write through it",
                link.display()
            ),
            "{extra:?}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"untouched");
        assert_eq!(mode(&target), 0o644);
    }
    // A dangling link is refused too (it would create its target).
    let dangling = v.dir.path().join("dangling.env");
    std::os::unix::fs::symlink(v.dir.path().join("nowhere"), &dangling).unwrap();
    export_to(&v, &dangling, &["--force"]).failure();
    assert!(!v.dir.path().join("nowhere").exists());
}

#[test]
fn raw_is_accepted_off_a_terminal_and_changes_nothing() {
    let v = Vault::new();
    v.add("HOSTILE", HOSTILE);
    assert_eq!(v.ok(&["get", "HOSTILE", "--raw"], None).stdout, HOSTILE);
    assert_eq!(v.ok(&["get", "HOSTILE"], None).stdout, HOSTILE);
    v.ok(&["export", "--raw"], None);
}
