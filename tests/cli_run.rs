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
fn a_missing_command_exits_127_and_one_not_executable_126_like_a_shell() {
    let v = Vault::new();
    v.add("X", b"1");
    let out = v.run(&["run", "--", "tresor-no-such-command-xyz"], None);
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert_eq!(
        out.stderr,
        "error: cannot run tresor-no-such-command-xyz: command not found (not in PATH)\n"
    );
    let missing = v.dir.path().join("no-such-script");
    let out = v.run(&["run", "--", missing.to_str().unwrap()], None);
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("error: cannot run {}: no such file\n", missing.display())
    );
    // A directory, and a file without the execute bit: found, but not runnable.
    let dir = v.dir.path().to_str().unwrap().to_string();
    let out = v.run(&["run", "--", &dir], None);
    assert_eq!(out.code, 126, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("error: cannot run {dir}: permission denied (not an executable file)\n")
    );
    let script = v.dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    common::chmod(&script, 0o644);
    let out = v.run(&["run", "--", script.to_str().unwrap()], None);
    assert_eq!(out.code, 126, "{}", out.stderr);
    assert!(out.stdout.is_empty());
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
    let out = v.run(&["run", "--", "true"], None);
    assert_eq!(out.code, 126, "found but not run, like a shell");
    assert_eq!(
        out.stderr,
        "error: cannot run true: Argument list too long (os error 7); the secrets together are too large for the environment: pass fewer with --only\n"
    );
    v.ok(&["run", "--only", "PART_00,PART_01", "--", "true"], None);
}

#[test]
fn dangerous_names_are_refused_unless_allowed_by_name() {
    let v = Vault::new();
    v.add("API_KEY", b"k");
    // A PATH of three spaces: every command would be "not found".
    v.add("PATH", b"   ");
    v.add("BASH_ENV", b"/tmp/evil.sh");
    v.add("LD_PRELOAD", b"/tmp/evil.so");
    let out = v
        .run(&["run", "--", "/bin/sh", "-c", "echo ran"], None)
        .failure();
    assert_eq!(
        out.error(),
        "refusing to pass BASH_ENV (a shell runs the file it names at start), LD_PRELOAD (the dynamic loader loads code it names into every program), PATH (it chooses which program every command name runs) to the command: whoever can add a secret would run code as you. Leave them out with --only, or pass --allow-name BASH_ENV,LD_PRELOAD,PATH if these values are yours"
    );
    // Allowing some is not enough.
    let err = v.err(
        &[
            "run",
            "--allow-name",
            "PATH,BASH_ENV",
            "--",
            "/bin/sh",
            "-c",
            "echo ran",
        ],
        None,
    );
    assert!(err.starts_with("refusing to pass LD_PRELOAD ("), "{err}");
    // --only without them runs.
    let out = v.ok(
        &[
            "run",
            "--only",
            "API_KEY",
            "--",
            "/bin/sh",
            "-c",
            "printf %s \"$API_KEY\"",
        ],
        None,
    );
    assert_eq!(out.stdout, b"k");
    // Every one allowed by name (repeated or comma-separated) runs.
    v.ok(&["rm", "LD_PRELOAD", "--yes"], None);
    let out = v.ok(
        &[
            "run",
            "--allow-name",
            "PATH",
            "--allow-name",
            "BASH_ENV",
            "--",
            "/usr/bin/env",
        ],
        None,
    );
    assert!(out.text().contains("PATH=   \n"), "{}", out.text());
}

#[test]
fn the_deny_list_covers_loaders_shells_and_interpreters() {
    let v = Vault::new();
    let names = [
        "PATH",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "DYLD_INSERT_LIBRARIES",
        "ENV",
        "IFS",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "PROMPT_COMMAND",
        "CDPATH",
        "GLOBIGNORE",
        "NODE_OPTIONS",
        "NODE_PATH",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "RUBYOPT",
        "RUBYLIB",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "GIT_SSH_COMMAND",
        "GIT_EXEC_PATH",
        "GCONV_PATH",
        "HOME",
        "SHELL",
        "TMPDIR",
        "MALLOC_CHECK_",
        "GLIBC_TUNABLES",
    ];
    for name in names {
        v.add(name, b"x");
        let err = v.err(&["run", "--", "true"], None);
        assert!(
            err.starts_with(&format!("refusing to pass {name} (")),
            "{err}"
        );
        v.ok(&["run", "--allow-name", name, "--", "/bin/true"], None);
        v.ok(&["rm", name, "--yes"], None);
    }
    // Ordinary names, and names that only look alike, pass.
    for name in [
        "DATABASE_URL",
        "PATH_PREFIX",
        "MY_PATH",
        "HOMEPAGE",
        "ENVIRONMENT",
    ] {
        v.add(name, b"x");
    }
    v.ok(&["run", "--", "/bin/true"], None);
}

#[test]
fn adding_or_importing_a_dangerous_name_warns() {
    let v = Vault::new();
    let out = v.ok(&["add", "LD_PRELOAD"], Some(b"/tmp/x.so"));
    assert_eq!(
        out.stderr,
        "warning: `tresor run` refuses to pass LD_PRELOAD unless run with --allow-name LD_PRELOAD: the dynamic loader loads code it names into every program\n\
         added LD_PRELOAD to default/development (Other)\n"
    );
    let out = v.ok(
        &["import", "-"],
        Some(b"NODE_OPTIONS=--require x\nPATH=/x\nOK=1\n"),
    );
    assert!(
        out.stderr.starts_with(
            "warning: `tresor run` refuses to pass these 2 keys unless run with --allow-name: NODE_OPTIONS, PATH\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_help_example_is_not_expanded_by_the_outer_shell() {
    let out = common::output(
        {
            let mut c = common::tresor();
            c.args(["run", "--help"]);
            c
        },
        None,
    )
    .success();
    let help = out.text();
    assert!(
        help.contains(r#"run --only DATABASE_URL -- sh -c 'psql "$DATABASE_URL"'"#),
        "{help}"
    );
    assert!(!help.contains(r#"-- psql "$DATABASE_URL""#), "{help}");
}
