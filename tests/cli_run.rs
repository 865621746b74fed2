//! `tresor run`: secrets as environment variables, the child's exit status, and what the
//! child must not inherit.

mod common;

use common::{Vault, output};

#[test]
fn secrets_reach_the_child_byte_for_byte() {
    let v = Vault::new();
    v.add("DATABASE_URL", b"postgres://app:pw@db/app");
    v.add("MULTI_LINE", b"line one\nline two\n\n");
    v.add("QUOTES", br#"it's "quoted" $HOME `x` \n"#);
    v.add("UNICODE", "pässwörd ✓".as_bytes());
    v.add_in("staging", "STAGING_ONLY", b"s");
    let out = v.ok(
        &["run", "--", "sh", "-c", r#"printf '%s|%s|%s|%s|%s' "$DATABASE_URL" "$MULTI_LINE" "$QUOTES" "$UNICODE" "${STAGING_ONLY-unset}""#],
        None,
    );
    assert_eq!(
        out.stdout,
        "postgres://app:pw@db/app|line one\nline two\n|it's \"quoted\" $HOME `x` \\n|pässwörd ✓|unset".as_bytes()
    );
    // Another environment gives its own secrets.
    let out = v.ok(
        &[
            "-e",
            "staging",
            "run",
            "--",
            "sh",
            "-c",
            r#"printf %s "${STAGING_ONLY}${DATABASE_URL-unset}""#,
        ],
        None,
    );
    assert_eq!(out.stdout, b"sunset");
}

#[test]
fn a_non_utf8_value_reaches_the_child_exactly() {
    let v = Vault::new();
    v.add("BLOB", &[0xff, 0xfe, b'a', 0x80, b'z']);
    let out = v.ok(&["run", "--", "sh", "-c", r#"printf %s "$BLOB""#], None);
    assert_eq!(out.stdout, [0xff, 0xfe, b'a', 0x80, b'z']);
}

#[test]
fn the_exit_status_is_the_childs() {
    let v = Vault::new();
    v.add("X", b"1");
    for code in [0, 1, 2, 7, 42, 255] {
        let out = v.run(&["run", "--", "sh", "-c", &format!("exit {code}")], None);
        assert_eq!(out.code, code);
        assert!(out.stderr.is_empty(), "{}", out.stderr);
    }
    // Arguments pass through untouched, including ones that look like options.
    let out = v.ok(
        &["run", "--", "printf", "%s,", "--help", "-e", "$X", ""],
        None,
    );
    assert_eq!(out.stdout, b"--help,-e,$X,,");
    // stdin is the child's.
    let out = v.ok(&["run", "--", "cat"], Some(b"piped through"));
    assert_eq!(out.stdout, b"piped through");
}

#[test]
fn a_child_killed_by_a_signal_is_not_reported_as_success() {
    let v = Vault::new();
    v.add("X", b"1");
    let mut cmd = v.cmd(&["run", "--", "sh", "-c", "kill -TERM $$"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let status = cmd.status().unwrap();
    assert!(!status.success());
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "exec keeps the signal visible"
    );
}

#[test]
fn only_limits_the_secrets() {
    let v = Vault::new();
    v.add("A", b"a");
    v.add("B", b"b");
    v.add("C", b"c");
    let script = r#"printf '%s%s%s' "${A-_}" "${B-_}" "${C-_}""#;
    assert_eq!(
        v.ok(&["run", "--only", "A,C", "--", "sh", "-c", script], None)
            .stdout,
        b"a_c"
    );
    assert_eq!(
        v.ok(&["run", "--only", "B", "--", "sh", "-c", script], None)
            .stdout,
        b"_b_"
    );
    assert_eq!(
        v.ok(
            &[
                "run", "--only", "A", "--only", "B", "--", "sh", "-c", script
            ],
            None
        )
        .stdout,
        b"ab_"
    );
    assert_eq!(
        v.ok(&["run", "--", "sh", "-c", script], None).stdout,
        b"abc"
    );
    assert_eq!(
        v.err(&["run", "--only", "A,NOPE", "--", "sh", "-c", script], None),
        "--only names `NOPE`, which is not in default/development"
    );
}

#[test]
fn secrets_override_the_inherited_environment() {
    let v = Vault::new();
    v.add("HOME_PAGE", b"from vault");
    let mut cmd = v.cmd(&[
        "run",
        "--",
        "sh",
        "-c",
        r#"printf '%s|%s' "$HOME_PAGE" "$KEEP_ME""#,
    ]);
    cmd.env("HOME_PAGE", "from shell").env("KEEP_ME", "kept");
    assert_eq!(output(cmd, None).success().stdout, b"from vault|kept");
}

#[test]
fn credentials_are_not_passed_to_the_child() {
    let v = Vault::new();
    v.add("X", b"1");
    let script = r#"printf '%s|%s|%s|%s' "${TRESOR_PASSPHRASE-unset}" "${TRESOR_KEYFILE-unset}" "${TRESOR_NEW_PASSPHRASE-unset}" "$X""#;
    // Keyfile from the environment (not the flag), and passphrases set too.
    let mut cmd = common::tresor();
    cmd.arg("--vault")
        .arg(&v.path)
        .args(["run", "--", "sh", "-c", script])
        .env("TRESOR_KEYFILE", v.keyfile())
        .env("TRESOR_PASSPHRASE", "do not leak me")
        .env("TRESOR_NEW_PASSPHRASE", "nor me");
    assert_eq!(output(cmd, None).success().stdout, b"unset|unset|unset|1");
    // A passphrase vault unlocked from TRESOR_PASSPHRASE.
    let p = Vault::with_passphrase("passphrase for run");
    p.add("Y", b"2");
    let out = p.ok(
        &[
            "run",
            "--",
            "sh",
            "-c",
            r#"env | grep -c '^TRESOR_PASS' ; printf %s "$Y""#,
        ],
        None,
    );
    assert_eq!(out.text(), "0\n2");
}

#[test]
fn a_nul_byte_is_a_clear_error_naming_the_key() {
    let v = Vault::new();
    v.add("GOOD", b"fine");
    v.add("WITH_NUL", b"a\0b");
    let out = v
        .run(&["run", "--", "sh", "-c", "echo ran"], None)
        .failure();
    assert_eq!(
        out.error(),
        "secret WITH_NUL contains a NUL byte, which an environment variable cannot hold"
    );
    assert!(out.stdout.is_empty(), "the command must not run");
    // Leaving it out with --only works.
    assert_eq!(
        v.ok(
            &[
                "run",
                "--only",
                "GOOD",
                "--",
                "sh",
                "-c",
                "printf %s \"$GOOD\""
            ],
            None
        )
        .stdout,
        b"fine"
    );
}

#[test]
fn a_missing_command_is_an_error() {
    let v = Vault::new();
    v.add("X", b"1");
    assert_eq!(
        v.err(&["run", "--", "tresor-no-such-command-xyz"], None),
        "cannot run tresor-no-such-command-xyz: No such file or directory (os error 2)"
    );
    let dir = v.dir.path().to_str().unwrap().to_string();
    let err = v.err(&["run", "--", &dir], None);
    assert!(err.starts_with(&format!("cannot run {dir}: ")), "{err}");
    // No command at all is a usage error.
    v.run(&["run"], None).usage_error();
    v.run(&["run", "--"], None).usage_error();
}

#[test]
fn run_works_with_an_empty_environment() {
    let v = Vault::new();
    let out = v.ok(&["run", "--", "sh", "-c", "printf ok"], None);
    assert_eq!(out.stdout, b"ok");
}

#[test]
fn no_core_dumps_in_the_child() {
    let v = Vault::new();
    v.add("X", b"1");
    // RLIMIT_CORE=0 (soft and hard) is set at start and survives exec.
    let out = v.ok(&["run", "--", "sh", "-c", "ulimit -c; ulimit -H -c"], None);
    assert_eq!(out.text(), "0\n0\n");
}

#[test]
fn a_value_too_large_for_an_environment_variable_is_named() {
    // Linux caps one `KEY=value` string at 128 KiB (MAX_ARG_STRLEN); values may be 1 MiB.
    let v = Vault::new();
    let fits = vec![b'x'; 128 * 1024 - 3]; // "K=" + value + NUL = 131072
    v.add("K", &fits);
    let out = v.ok(&["run", "--", "sh", "-c", "printf %s \"$K\" | wc -c"], None);
    assert_eq!(out.text().trim(), (128 * 1024 - 3).to_string());

    v.add("BIG", &vec![b'x'; 128 * 1024 - 2]);
    assert_eq!(
        v.err(&["run", "--", "true"], None),
        "secret BIG is 131070 bytes, more than an environment variable can hold (128 KiB); leave it out with --only, or read it with `tresor get BIG`"
    );
    v.ok(&["run", "--only", "K", "--", "true"], None);
}

#[test]
fn secrets_too_large_together_get_a_hint() {
    // Each fits in a variable, but together they pass the system's limit for exec.
    let v = Vault::new();
    let value = vec![b'x'; 120 * 1024];
    // 56 × 120 KiB is past 6 MiB, the most Linux allows whatever the stack limit.
    let names: Vec<String> = (0..56).map(|i| format!("PART_{i:02}")).collect();
    let text: String = names
        .iter()
        .map(|n| format!("{n}={}\n", String::from_utf8_lossy(&value)))
        .collect();
    v.ok(&["import", "-"], Some(text.as_bytes()));
    let err = v.err(&["run", "--", "true"], None);
    assert_eq!(
        err,
        "cannot run true: Argument list too long (os error 7); the secrets together are too large for the environment: pass fewer with --only"
    );
    v.ok(&["run", "--only", "PART_00,PART_01", "--", "true"], None);
}
