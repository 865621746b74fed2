//! env, audit, completions, help texts and usage errors.

mod common;

use common::{Vault, output, tresor};

#[test]
fn env_add_list_rm() {
    let v = Vault::new();
    let out = v.ok(&["env", "add", "preview"], None);
    assert_eq!(out.stderr, "added environment default/preview\n");
    v.add_in("preview", "PREVIEW_TOKEN", b"p");
    v.add_in("preview", "OTHER", b"o");
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "development\t0 secrets\nstaging\t0 secrets\nproduction\t0 secrets\npreview\t2 secrets\n"
    );
    assert_eq!(
        v.err(&["env", "add", "preview"], None),
        "environment `preview` already exists in project `default`"
    );
    // A non-empty environment needs --yes without a terminal, and keeps its secrets.
    assert_eq!(
        v.err(&["env", "rm", "preview"], None),
        "environment `default/preview` holds 2 secrets: pass --yes to delete it with them"
    );
    assert_eq!(v.get_in("preview", "PREVIEW_TOKEN"), b"p");
    let out = v.ok(&["env", "rm", "preview", "--yes"], None);
    assert_eq!(
        out.stderr,
        "removed environment default/preview and its 2 secrets\n"
    );
    assert_eq!(
        v.err(&["-e", "preview", "get", "PREVIEW_TOKEN"], None),
        "no environment `preview` in project `default` (see `tresor env list`)"
    );
    // Re-created, it is empty: the old secrets are gone for good.
    v.ok(&["env", "add", "preview"], None);
    assert!(v.list("preview").is_empty());
    // An empty environment goes without --yes.
    let out = v.ok(&["env", "rm", "preview"], None);
    assert_eq!(
        out.stderr,
        "removed environment default/preview and its 0 secrets\n"
    );
    assert_eq!(
        v.err(&["env", "rm", "nonexistent", "--yes"], None),
        "no environment `nonexistent` in project `default` (see `tresor env list`)"
    );
}

#[test]
fn projects_and_the_last_environment() {
    let v = Vault::new();
    assert_eq!(
        v.err(&["-p", "billing", "env", "list"], None),
        "no project `billing` in this vault (create it with `tresor -p billing env add development`)"
    );
    v.ok(&["-p", "billing", "env", "add", "production"], None);
    v.ok(
        &["-p", "billing", "-e", "production", "add", "INVOICE_TOKEN"],
        Some(b"inv"),
    );
    assert_eq!(
        v.ok(&["-p", "billing", "env", "list"], None).text(),
        "production\t1 secret\n"
    );
    assert_eq!(
        v.err(&["-p", "billing", "env", "rm", "production", "--yes"], None),
        "cannot remove `production`: it is the last environment of project `billing`"
    );
    assert_eq!(
        v.ok(
            &["-p", "billing", "-e", "production", "get", "INVOICE_TOKEN"],
            None
        )
        .stdout,
        b"inv"
    );
    // The default project is unaffected; names are per project.
    assert_eq!(
        v.err(&["-e", "production", "get", "INVOICE_TOKEN"], None),
        "no secret `INVOICE_TOKEN` in default/production"
    );
    for env in ["development", "staging"] {
        v.ok(&["env", "rm", env], None);
    }
    assert_eq!(
        v.err(&["env", "rm", "production", "--yes"], None),
        "cannot remove `production`: it is the last environment of project `default`"
    );
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "production\t0 secrets\n"
    );
}

#[test]
fn environment_names_are_checked() {
    let v = Vault::new();
    let cases: &[(&str, &str)] = &[
        ("bad name", "a space is not allowed"),
        ("-leading", "it must start with a letter or digit"),
        ("a/b", "character `/` is not allowed"),
    ];
    for (name, reason) in cases {
        let err = v.err(&["env", "add", "--", name], None);
        assert!(
            err.starts_with(&format!("invalid environment name `{name}`")),
            "{err}"
        );
        assert!(err.contains(reason), "{err}");
    }
    let long = "e".repeat(65);
    assert!(
        v.err(&["env", "add", &long], None)
            .contains("longer than 64 bytes")
    );
    v.ok(&["env", "add", "qa-2.eu_west"], None);
    assert!(
        v.err(&["-p", "bad project", "env", "add", "x"], None)
            .starts_with("invalid project name")
    );
}

/// Audit lines: time, user@host, via, action, place, key (separated by two spaces).
fn audit_rows(v: &Vault) -> Vec<Vec<String>> {
    v.ok(&["audit"], None)
        .text()
        .lines()
        .map(|l| l.split("  ").map(String::from).collect())
        .collect()
}

#[test]
fn audit_records_reads_and_changes_but_never_values() {
    let v = Vault::new();
    v.add("STRIPE_API_KEY", b"sk_live_AUDIT_CANARY");
    v.get("STRIPE_API_KEY");
    v.ok(&["run", "--", "true"], None);
    v.ok(&["export"], None);
    v.ok(&["edit", "STRIPE_API_KEY", "-d", "rotated"], None);
    v.ok(
        &["edit", "STRIPE_API_KEY", "--value-stdin"],
        Some(b"sk_live_AUDIT_CANARY_2"),
    );
    v.ok(&["rm", "STRIPE_API_KEY", "--yes"], None);
    v.ok(
        &["-e", "staging", "import", "-"],
        Some(b"IMPORTED=imported_AUDIT_CANARY\n"),
    );
    v.ok(&["env", "add", "qa"], None);
    v.ok(&["list"], None);

    let rows = audit_rows(&v);
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty());
    let actions: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 6, "{r:?}");
            assert_eq!(r[0].len(), "2026-01-01T00:00:00Z".len(), "{r:?}");
            let (who, host) = r[1].split_once('@').expect("user@host");
            if let Some(u) = &user {
                assert_eq!(who, u);
            }
            assert!(!host.is_empty());
            assert_eq!(r[2], "cli/slot 0 (keyfile)", "{r:?}");
            (r[3].clone(), r[4].clone(), r[5].clone())
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("init", "-", ""),
        ("add", "default/development", "STRIPE_API_KEY"),
        ("get", "default/development", "STRIPE_API_KEY"),
        ("run", "default/development", "STRIPE_API_KEY"),
        ("export", "default/development", "STRIPE_API_KEY"),
        ("edit", "default/development", "STRIPE_API_KEY"),
        ("edit value", "default/development", "STRIPE_API_KEY"),
        ("delete", "default/development", "STRIPE_API_KEY"),
        ("import", "default/staging", "IMPORTED"),
        ("env add", "default/qa", ""),
    ]
    .iter()
    .map(|(a, p, k)| (a.to_string(), p.to_string(), k.to_string()))
    .collect();
    assert_eq!(
        actions, want,
        "listing is not audited; everything else is, in order"
    );

    let text = v.ok(&["audit"], None).text();
    assert!(!text.contains("AUDIT_CANARY"), "{text}");
    let raw = v.audit_bytes();
    assert!(
        !common::contains(&raw, b"AUDIT_CANARY"),
        "the audit file holds a value"
    );
    assert!(
        !common::contains(&raw, b"STRIPE_API_KEY"),
        "the audit file holds a key name in clear"
    );

    let last = v.ok(&["audit", "--last", "2"], None).text();
    assert_eq!(last.lines().count(), 2);
    assert!(
        last.lines()
            .next()
            .unwrap()
            .contains("  import  default/staging  IMPORTED"),
        "{last}"
    );
}

#[test]
fn an_edited_audit_line_fails_verification() {
    let v = Vault::new();
    v.add("A", b"1");
    v.get("A");
    v.get("A");
    v.get("A");
    let path = v.audit_path();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 5);
    // Flip one hex digit in the third line.
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut chars: Vec<char> = lines[2].chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    lines[2] = chars.into_iter().collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = v.run(&["audit"], None).failure_after_output();
    let stdout = out.text();
    assert!(
        stdout.contains("line 3: entry failed verification (edited, reordered or damaged)\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("line 1:") && !stdout.contains("line 2:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  init  "),
        "entries before the edit still show: {stdout}"
    );
    assert!(
        out.error().starts_with("the audit log has "),
        "{}",
        out.error()
    );
    assert!(
        out.error().ends_with(" entries that failed verification"),
        "{}",
        out.error()
    );
}

#[test]
fn a_removed_or_reordered_audit_line_fails_verification() {
    let v = Vault::new();
    v.add("A", b"1");
    v.get("A");
    v.get("A");
    let path = v.audit_path();
    let original = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    assert_eq!(lines.len(), 4);

    let removed = [lines[0], lines[2], lines[3]].join("\n") + "\n";
    std::fs::write(&path, removed).unwrap();
    let out = v.run(&["audit"], None).failure_after_output();
    assert!(
        out.text().contains("line 2: entry failed verification"),
        "{}",
        out.text()
    );

    let swapped = [lines[0], lines[2], lines[1], lines[3]].join("\n") + "\n";
    std::fs::write(&path, swapped).unwrap();
    let out = v.run(&["audit"], None).failure_after_output();
    assert!(
        out.text().contains("line 2: entry failed verification"),
        "{}",
        out.text()
    );

    // A line from another vault's log does not verify either.
    let other = Vault::new();
    let foreign = std::fs::read_to_string(other.audit_path()).unwrap();
    std::fs::write(&path, format!("{}\n{}", lines[0], foreign)).unwrap();
    let out = v.run(&["audit"], None).failure_after_output();
    assert!(
        out.text().contains("line 2: entry failed verification"),
        "{}",
        out.text()
    );

    std::fs::write(&path, &original).unwrap();
    v.ok(&["audit"], None);
}

#[test]
fn completions_cover_the_subcommands() {
    // The script for each shell asks tresor at each Tab (`COMPLETE=<shell> tresor -- …`).
    for shell in ["bash", "zsh", "fish"] {
        let mut c = tresor();
        c.args(["completions", shell]);
        let text = output(c, None).success().text();
        assert!(text.contains("COMPLETE="), "{shell}: {text}");
    }
    // What it answers for the first word: every subcommand.
    let mut c = tresor();
    c.env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "1")
        .args(["--", "tresor", ""]);
    let out = output(c, None).success();
    let candidates: Vec<String> = out.text().lines().map(String::from).collect();
    for sub in [
        "init", "add", "edit", "get", "list", "run", "import", "export", "passwd", "audit",
        "keyfile", "unlock", "lock", "project",
    ] {
        assert!(
            candidates.iter().any(|c| c == sub),
            "completions lack {sub}: {candidates:?}"
        );
    }
    assert!(
        !candidates.iter().any(|c| c == "agent"),
        "the hidden agent is offered"
    );
    let mut c = tresor();
    c.args(["completions", "powershell-9000"]);
    output(c, None).usage_error();
}

/// Every subcommand, found from the parser itself so new ones are covered too.
fn subcommand_paths() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, path, out);
        }
    }
    let mut out = Vec::new();
    walk(&tresor::cli::Cli::command(), Vec::new(), &mut out);
    out
}

#[test]
fn every_subcommand_help_has_an_example() {
    let paths = subcommand_paths();
    assert!(paths.len() >= 18, "{paths:?}");
    let mut top = vec![vec![]];
    top.extend(paths);
    for path in top {
        let mut c = tresor();
        c.args(&path).arg("--help");
        let out = output(c, None).success();
        let text = out.text();
        assert!(
            text.contains("Example"),
            "`tresor {} --help` has no example:\n{text}",
            path.join(" ")
        );
        assert!(text.contains("Usage: tresor"), "{text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let v = Vault::new();
    let cases: &[&[&str]] = &[
        &["no-such-command"],
        &["add"],
        &["get"],
        &["add", "K", "--no-such-flag"],
        &["export", "--format", "yaml"],
        &["add", "K", "--type", "nonsense"],
        &["add", "K", "--generate=abc"],
        &["edit", "K", "--value-stdin", "--generate"],
        &["env"],
        &["env", "frobnicate"],
        &["keyfile"],
        &["completions"],
        &["audit", "--last", "minus-one"],
        &["init", "--kdf-passes", "many"],
    ];
    for args in cases {
        let out = v.run(args, None).usage_error();
        assert!(out.stdout.is_empty(), "{args:?}");
        // clap explains (or, for a bare group like `env`, shows the group's help).
        assert!(
            out.stderr.starts_with("error: ") || out.stderr.contains("Usage: tresor"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let mut c = tresor();
    c.arg("--version");
    assert_eq!(
        output(c, None).success().text(),
        format!("tresor {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_value_is_never_taken_from_the_command_line() {
    let v = Vault::new();
    // There is no --value flag and no second positional argument.
    v.run(&["add", "K", "--value", "secret"], None)
        .usage_error();
    v.run(&["add", "K", "secret"], None).usage_error();
    assert!(v.list("development").is_empty());
}

#[test]
fn the_screen_without_a_terminal_fails_instead_of_hanging() {
    let v = Vault::new();
    let out = v.run::<&str>(&[], None).failure();
    assert!(
        out.elapsed < std::time::Duration::from_secs(5),
        "{:?}",
        out.elapsed
    );
    assert!(
        out.stdout.is_empty(),
        "escape sequences written to a non-terminal"
    );
}

#[test]
fn doctor_and_compact_keep_the_vault_private_and_intact() {
    let v = Vault::new();
    for i in 0..30 {
        v.add(
            &format!("KEY_{i:02}"),
            format!("doctor-value-canary-{i}").as_bytes(),
        );
    }
    for i in 0..25 {
        v.ok(&["rm", &format!("KEY_{i:02}"), "--yes"], None);
    }
    let out = v.ok(&["doctor"], None);
    let text = out.text();
    assert!(!text.is_empty() && !text.contains("PROBLEM"), "{text}");
    assert!(
        !text.contains("doctor-value-canary"),
        "doctor shows a value: {text}"
    );

    let before = v.bytes().len();
    let out = v.ok(&["compact"], None);
    assert!(out.stderr.starts_with("compacted "), "{}", out.stderr);
    assert!(v.bytes().len() <= before);
    assert_eq!(
        common::mode(&v.path),
        0o600,
        "compact must keep the file private"
    );
    assert_eq!(
        v.keys("development"),
        ["KEY_25", "KEY_26", "KEY_27", "KEY_28", "KEY_29"]
    );
    assert_eq!(v.get("KEY_27"), b"doctor-value-canary-27");
    v.ok(&["doctor"], None);
    for i in 0..30 {
        let canary = format!("doctor-value-canary-{i}");
        assert!(!common::contains(&v.bytes(), canary.as_bytes()));
    }
}

/// The audit log is accountability, not a lock: when it cannot be written (here a folder
/// stands where the file should be; a full disk does the same), the operation still
/// happens and the user is told what the log missed.
#[test]
fn an_unwritable_audit_log_warns_and_loses_nothing() {
    let v = Vault::new();
    std::fs::remove_file(v.audit_path()).ok();
    std::fs::create_dir(v.audit_path()).unwrap();
    let out = v.run(&["add", "KEPT"], Some(b"kept value")).success();
    assert!(
        out.stderr.starts_with("added KEPT to default/development")
            && out
                .stderr
                .contains("warning: the audit log could not record this: "),
        "{}",
        out.stderr
    );
    let out = v.run(&["get", "KEPT"], None).success();
    assert_eq!(out.stdout, b"kept value");
    assert!(
        out.stderr
            .contains("warning: the audit log could not record this"),
        "{}",
        out.stderr
    );
    std::fs::remove_dir(v.audit_path()).unwrap();
    let out = v.run(&["get", "KEPT"], None).success();
    assert_eq!(out.stderr, "", "a writable log again: no warning");
}

/// The characters RFC 3986 leaves unreserved, minus `.` and `~`: safe in every part of a
/// URL, unquoted in a shell and bare in a .env file.
fn url_safe(value: &[u8]) -> bool {
    value
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
}

#[test]
fn generated_values_go_into_a_url_unchanged() {
    let v = Vault::new();
    for i in 0..20 {
        let key = format!("DB_PASSWORD_{i}");
        v.ok(&["add", &key, "--generate"], None);
        let value = v.get(&key);
        assert_eq!(value.len(), 32);
        assert!(url_safe(&value), "{}", String::from_utf8_lossy(&value));
        // What the shell and a .env file read back too.
        let export = v.ok(&["export"], None).text();
        let line = format!("{key}={}\n", String::from_utf8_lossy(&value));
        assert!(export.contains(&line), "{export}");
    }
}

#[test]
fn generate_takes_a_length_and_a_charset() {
    let v = Vault::new();
    let out = v.ok(
        &[
            "add",
            "HEX_KEY",
            "--generate",
            "--charset",
            "hex",
            "--length",
            "40",
        ],
        None,
    );
    assert_eq!(
        out.stderr,
        "added HEX_KEY to default/development (Credential, generated 40 hex characters)\n"
    );
    let hex = v.get("HEX_KEY");
    assert_eq!(hex.len(), 40);
    assert!(hex.iter().all(|c| b"0123456789abcdef".contains(c)));

    v.ok(&["add", "ALNUM", "--generate=20", "--charset=alnum"], None);
    let alnum = v.get("ALNUM");
    assert_eq!(alnum.len(), 20);
    assert!(alnum.iter().all(u8::is_ascii_alphanumeric));

    v.ok(
        &["add", "SYMBOLS", "--generate", "--charset", "symbols"],
        None,
    );
    let symbols = v.get("SYMBOLS");
    assert_eq!(symbols.len(), 32);
    assert!(
        symbols
            .iter()
            .all(|c| c.is_ascii_graphic() && !b"'\"`\\".contains(c))
    );

    // edit rotates with the same options.
    v.ok(
        &[
            "edit",
            "HEX_KEY",
            "--generate",
            "--length",
            "64",
            "--charset",
            "hex",
        ],
        None,
    );
    let rotated = v.get("HEX_KEY");
    assert_eq!(rotated.len(), 64);
    assert!(rotated.iter().all(|c| b"0123456789abcdef".contains(c)));

    // Mistakes are usage errors that name the choices, and nothing is stored.
    let out = v
        .run(&["add", "X", "--generate", "--charset", "emoji"], None)
        .usage_error();
    assert!(
        out.stderr.contains("urlsafe") && out.stderr.contains("hex"),
        "{}",
        out.stderr
    );
    v.run(&["add", "X", "--generate", "--length", "4"], None)
        .usage_error();
    v.run(&["add", "X", "--length", "40"], None).usage_error();
    v.run(&["add", "X", "--generate=40", "--length", "50"], None)
        .usage_error();
    assert!(!v.keys("development").contains(&"X".to_string()));
}

#[test]
fn doctor_lists_environments_like_env_list() {
    let v = Vault::new();
    for env in ["zeta", "alpha", "mid"] {
        v.ok(&["env", "add", env], None);
    }
    v.ok(&["-p", "other", "env", "add", "qa"], None);
    v.add_in("staging", "ONLY", b"1");
    let report = v.ok(&["doctor"], None).text();
    let envs: Vec<&str> = report
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(head, _)| head))
        .filter_map(|head| head.strip_prefix("ok       "))
        .filter(|head| head.contains('/') && !head.starts_with('/'))
        .collect();
    assert_eq!(
        envs,
        [
            "default/development",
            "default/staging",
            "default/production",
            "default/alpha",
            "default/mid",
            "default/zeta",
            "other/qa",
        ],
        "{report}"
    );
}

#[test]
fn counts_of_one_are_singular() {
    let v = Vault::new();
    v.ok(&["env", "add", "preview"], None);
    v.add_in("preview", "ONLY", b"1");
    assert_eq!(
        v.ok(&["env", "list"], None).text(),
        "development\t0 secrets\nstaging\t0 secrets\nproduction\t0 secrets\npreview\t1 secret\n"
    );
    assert_eq!(
        v.err(&["env", "rm", "preview"], None),
        "environment `default/preview` holds 1 secret: pass --yes to delete it with it"
    );
    let report = v.ok(&["doctor"], None).text();
    for line in [
        "default/preview: 1 secret decrypts and matches its digest",
        "default/staging: 0 secrets decrypt and match their digest",
        "1 key slot: 0 passphrase, 1 keyfile",
        "4 environments and the key slots match the vault digest",
    ] {
        assert!(report.contains(line), "{line:?} in:\n{report}");
    }
    assert_eq!(
        v.ok(&["env", "rm", "preview", "--yes"], None).stderr,
        "removed environment default/preview and its 1 secret\n"
    );

    // One audit entry, one broken line, one problem.
    let fresh = Vault::new();
    let report = fresh.ok(&["doctor"], None).text();
    assert!(
        report.contains("audit log: 1 entry, chain intact"),
        "{report}"
    );
    let audit = fresh.audit_path();
    let text = std::fs::read_to_string(&audit).unwrap();
    let mut chars: Vec<char> = text.trim_end().chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == '0' { '1' } else { '0' };
    std::fs::write(&audit, chars.into_iter().collect::<String>() + "\n").unwrap();
    let out = fresh.run(&["doctor"], None).failure_after_output();
    assert_eq!(out.error(), "doctor found 1 problem");
    let out = fresh.run(&["audit"], None).failure_after_output();
    assert!(
        out.error()
            .ends_with("has 1 entry that failed verification"),
        "{}",
        out.error()
    );
}

#[test]
fn key_messages_are_complete_and_never_show_a_value() {
    let v = Vault::new();
    let err = v.err(&["add", "MY KEY"], Some(b"v"));
    assert_eq!(
        err,
        "invalid secret key `MY KEY`: a space is not allowed; use letters, digits and `_` (e.g. MY_KEY)"
    );
    let err = v.err(&["add", "TAB\tKEY"], Some(b"v"));
    assert!(err.contains(": a tab is not allowed;"), "{err}");

    // A pasted KEY=value line or block: the key is named, the value never shown.
    for (pasted, key) in [
        ("DATABASE_URL=postgres://app:hunter2@db/app", "DATABASE_URL"),
        ("export STRIPE_KEY=sk_live_hunter2", "STRIPE_KEY"),
        ("A=hunter2\nB=hunter2", "A"),
        ("db.url = hunter2", "DB_URL"),
    ] {
        let err = v.err(&["add", pasted], Some(b"v"));
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err == format!("looks like KEY=value: the key is `{key}`; the value goes separately"),
            "{err}"
        );
    }

    // A long pasted key: the message stays short enough to read whole, suggestion included.
    let long = format!("{} X", "K".repeat(200));
    let err = v.err(&["add", &long], Some(b"v"));
    assert!(err.len() < 140, "{} bytes: {err}", err.len());
    assert!(
        err.contains("…") && err.ends_with("letters, digits and `_`"),
        "{err}"
    );
    assert!(v.list("development").is_empty());
}

/// The terminal columns `text` takes: 2 for CJK and emoji, 1 for the rest used here.
fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if (c as u32) >= 0x1100 && c != '…' {
                2
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn list_columns_line_up_with_wide_characters() {
    let v = Vault::new();
    for (key, description) in [
        ("A_KEY", "鍵の説明 🔑 wide".to_string()),
        ("B_KEY", "plain text".to_string()),
        ("C_KEY", "長い説明".repeat(10)),
    ] {
        v.ok(
            &["add", key, "-d", &description, "--type", "other"],
            Some(b"1"),
        );
    }
    let out = v.ok(&["list"], None).text();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    // The TYPE column starts at the same terminal column on every line.
    let type_at = |line: &str| {
        let cut = line
            .find("Other")
            .or_else(|| line.find("TYPE"))
            .unwrap_or_else(|| panic!("no type in {line:?}"));
        columns(&line[..cut])
    };
    let header = type_at(lines[0]);
    for line in &lines[1..] {
        assert_eq!(type_at(line), header, "{out}");
    }
    // A long description is cut by width, with an ellipsis, at most 50 columns.
    let c_line = lines[3];
    let desc = c_line["C_KEY".len()..].trim_start();
    let desc = &desc[..desc.find("  ").unwrap()];
    assert!(desc.ends_with('…'), "{out}");
    assert!(columns(desc) <= 50, "{} columns: {out}", columns(desc));
}

#[test]
fn doctor_says_1_pass() {
    let v = Vault::with_passphrase("correct horse battery");
    let report = v.ok(&["doctor"], None).text();
    assert!(
        report.contains("cheap Argon2id setting (1 pass, 8 MiB)"),
        "{report}"
    );
}

#[test]
fn tresor_offline_takes_the_usual_yes_and_no_words() {
    let v = Vault::new();
    for value in ["1", "yes", "true", "", "0", "no", "false"] {
        let out = v
            .cmd(&["list"])
            .env("TRESOR_OFFLINE", value)
            .output()
            .expect("run tresor");
        assert!(
            out.status.success(),
            "TRESOR_OFFLINE={value:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
